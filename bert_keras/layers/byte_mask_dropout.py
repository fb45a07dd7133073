"""`ByteMaskDropout`: dropout whose keep mask is drawn one random byte per element.

`tf.nn.dropout` draws one float per element; on the attention probabilities of a BERT
(`[batch, heads, seq, seq]`) that sampling costs more than the softmax it follows, and in
bfloat16 more again (bf16 uniform sampling is slower than float32 on CPU). Drawing 32-bit
words and reading each as four bytes needs a quarter of the random numbers: on a 2-core
AVX-512 machine a `[32, 12, 128, 128]` dropout took 10.5 ms instead of 23.1 ms in bfloat16
and 9.0 instead of 16.4 in float32 (`benchmarks/dropout_cost.py`; on a whole training step
the gain is within that machine's noise). The price is a rate rounded to a multiple of 1/256
(0.1 -> 26/256 = 0.1016); the kept values are scaled by the rounded rate, so the
expectation is unchanged.

`use_byte_mask_dropout` switches the plain `Dropout` layers of a built network (e.g.
`networks.BertEncoder`, whose blocks create their own) to this class in place: their
weights, names and configs stay what they were, so checkpoints load either way.
"""

from __future__ import annotations

import numbers

import tensorflow as tf
import tf_keras as keras

from bert_keras.layers.switch import switch_layers

_LEVELS = 256  # one byte per element


def byte_mask_dropout(inputs: tf.Tensor, rate: float, seed: int | None = None) -> tf.Tensor:
    """Zeroes `round(rate * 256) / 256` of `inputs` at random and scales the rest up.

    Args:
        inputs: a floating tensor of any shape.
        rate: the fraction to drop, in [0, 255/256].
        seed: the op seed (with the global seed it makes the masks reproducible).

    Examples:
    >>> tf.random.set_seed(0)
    >>> y = byte_mask_dropout(tf.ones([4096]), 0.5)
    >>> sorted(set(y.numpy().tolist()))
    [0.0, 2.0]
    """
    threshold = round(rate * _LEVELS)
    if not 0 <= threshold < _LEVELS:
        raise ValueError(f"dropout rate {rate} rounds to {threshold}/{_LEVELS}: "
                         f"it must stay below 1")
    if threshold == 0:
        return tf.identity(inputs)
    size = tf.size(inputs)
    words = tf.random.uniform([(size + 3) // 4], minval=tf.int32.min, maxval=tf.int32.max,
                              dtype=tf.int32, seed=seed)
    random_bytes = tf.reshape(tf.bitcast(words, tf.uint8), [-1])[:size]
    keep = tf.reshape(random_bytes, tf.shape(inputs)) >= tf.constant(threshold, tf.uint8)
    scale = tf.cast(_LEVELS / (_LEVELS - threshold), inputs.dtype)
    return tf.where(keep, inputs * scale, tf.zeros_like(inputs))


@keras.saving.register_keras_serializable(package="bert_keras")
class ByteMaskDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with its mask drawn by `byte_mask_dropout`.

    Same arguments and config as `Dropout`; a `noise_shape` falls back to `Dropout`'s own
    sampling (the mask is broadcast there, so its cost is small anyway).

    Examples:
    >>> layer = ByteMaskDropout(0.1)
    >>> bool(tf.reduce_all(layer(tf.ones([2, 3]), training=False) == 1.0))
    True
    """

    def call(self, inputs: tf.Tensor, training=None) -> tf.Tensor:
        if self.noise_shape is not None:
            return super().call(inputs, training=training)
        if isinstance(self.rate, numbers.Real) and self.rate == 0:
            return tf.identity(inputs)
        if training is None:
            training = keras.backend.learning_phase()
        return tf.__internal__.smart_cond.smart_cond(
            training, lambda: byte_mask_dropout(inputs, self.rate, self.seed),
            lambda: tf.identity(inputs))


def use_byte_mask_dropout(network: tf.Module) -> int:
    """Switches every plain `keras.layers.Dropout` inside `network` to `ByteMaskDropout`.

    Args:
        network: a built Keras layer or model.

    Returns:
        How many layers were switched.
    """
    return switch_layers(network, keras.layers.Dropout, ByteMaskDropout)
