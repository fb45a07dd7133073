"""Poolers: turn the encoder's token vectors into one vector per text."""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from bert_keras.layers.aspect_attention import AspectAttentionPooler

_SERIALIZABLE = keras.saving.register_keras_serializable(package="bert_keras")


def _float_mask(inputs: dict, like: tf.Tensor) -> tf.Tensor:
    return tf.cast(inputs["input_mask"], like.dtype)[:, :, tf.newaxis]


@_SERIALIZABLE
class ClsPooler(keras.layers.Layer):
    """Takes the vector of the first ([CLS]) token.

    It reads `sequence_output`, not the encoder's `pooled_output`, whose dense layer is
    untrained in checkpoints that ship no pooler weights (e.g. sentence-transformers).

    Examples:
    >>> x = {"sequence_output": tf.ones((2, 5, 4)), "input_mask": tf.ones((2, 5), tf.int32)}
    >>> ClsPooler()(x).shape
    TensorShape([2, 4])
    """

    def call(self, inputs: dict) -> tf.Tensor:
        return inputs["sequence_output"][:, 0, :]


@_SERIALIZABLE
class MeanPooler(keras.layers.Layer):
    """Averages the token vectors where `input_mask` is 1 (padding excluded).

    Examples:
    >>> seq = tf.constant([[[1.0], [3.0], [100.0]]])
    >>> MeanPooler()({"sequence_output": seq, "input_mask": tf.constant([[1, 1, 0]])})
    <tf.Tensor: shape=(1, 1), dtype=float32, numpy=array([[2.]], dtype=float32)>
    """

    def call(self, inputs: dict) -> tf.Tensor:
        sequence = inputs["sequence_output"]
        mask = _float_mask(inputs, sequence)
        total = tf.reduce_sum(sequence * mask, axis=1)
        return total / tf.maximum(tf.reduce_sum(mask, axis=1), tf.cast(1.0, sequence.dtype))


@_SERIALIZABLE
class AttentionPooler(keras.layers.Layer):
    """A learned weighted average: score_t = v . tanh(W h_t), softmax over real tokens.

    Args:
        hidden_units: width of the scoring layer (default: the encoder width).

    Examples:
    >>> x = {"sequence_output": tf.ones((2, 5, 4)), "input_mask": tf.ones((2, 5), tf.int32)}
    >>> AttentionPooler(hidden_units=8)(x).shape
    TensorShape([2, 4])
    """

    def __init__(self, hidden_units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units

    def build(self, input_shape):
        width = input_shape["sequence_output"][-1]
        self.projection = keras.layers.Dense(
            self.hidden_units or width, activation="tanh", name="projection",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        self.score = keras.layers.Dense(
            1, use_bias=False, name="score",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        super().build(input_shape)

    def call(self, inputs: dict) -> tf.Tensor:
        sequence = inputs["sequence_output"]
        scores = tf.squeeze(self.score(self.projection(sequence)), axis=-1)
        mask = tf.cast(inputs["input_mask"], tf.bool)
        scores = tf.where(mask, scores, tf.cast(-1e4, scores.dtype))
        weights = tf.nn.softmax(tf.cast(scores, tf.float32), axis=-1)
        weights = tf.cast(weights, sequence.dtype)[:, :, tf.newaxis]
        return tf.reduce_sum(sequence * weights, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "hidden_units": self.hidden_units}


POOLERS = {"cls": ClsPooler, "mean": MeanPooler, "attention": AttentionPooler,
           "aspect_attention": AspectAttentionPooler}


def get_pooler(name: str, **kwargs) -> keras.layers.Layer:
    """Returns a new pooler layer by name: "cls", "mean", "attention" or "aspect_attention"
    (BERT-Pair-ATT, for text pairs)."""
    if name not in POOLERS:
        from bert_keras.errors import BertKerasError

        raise BertKerasError(f"unknown pooler {name!r}; known: {', '.join(POOLERS)}")
    return POOLERS[name](name=f"{name}_pooler", **kwargs)
