"""BERT-Pair-ATT: attention over a text's tokens with a query made from the aspect.

For a pair input `[CLS] text [SEP] aspect [SEP]`, the aspect's tokens (type id 1) form the
query; the text's tokens (type id 0) are attended to; the attended text vector joins the
[CLS] vector. One review that praises the food and criticises the price then yields two
different vectors, one per aspect.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.saving.register_keras_serializable(package="bert_keras")
class AspectAttentionPooler(keras.layers.Layer):
    """Pools a text pair into `[attended text ; CLS]`, attention queried by the aspect.

    query = W_q mean(aspect tokens); score_t = (query . W_k h_t) / sqrt(d) over the text
    tokens (padding and the aspect excluded); output = concat(sum_t softmax(score)_t h_t,
    h_CLS). A single text (no type-1 tokens) uses its [CLS] vector as the query.

    Args:
        key_units: width of the query and key projections (default: the encoder width).

    Call arguments:
        inputs: `sequence_output` `[batch, seq, d]`, `input_mask` and `input_type_ids`
            `[batch, seq]`.

    Returns:
        `[batch, 2 * d]`.

    Examples:
    >>> x = {"sequence_output": tf.ones((2, 6, 4)), "input_mask": tf.ones((2, 6), tf.int32),
    ...      "input_type_ids": tf.constant([[0, 0, 0, 0, 1, 1]] * 2)}
    >>> AspectAttentionPooler(key_units=8)(x).shape
    TensorShape([2, 8])
    """

    def __init__(self, key_units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.key_units = key_units

    def build(self, input_shape):
        units = self.key_units or input_shape["sequence_output"][-1]
        def init():
            return keras.initializers.TruncatedNormal(stddev=0.02)

        self.query = keras.layers.Dense(units, name="query", kernel_initializer=init())
        self.key = keras.layers.Dense(units, name="key", kernel_initializer=init())
        super().build(input_shape)

    def call(self, inputs: dict) -> tf.Tensor:
        sequence = inputs["sequence_output"]
        mask = tf.cast(inputs["input_mask"], tf.bool)
        aspect = mask & tf.equal(inputs["input_type_ids"], 1)
        text = mask & ~aspect
        weights = tf.cast(aspect, sequence.dtype)[:, :, tf.newaxis]
        count = tf.reduce_sum(weights, axis=1)
        aspect_mean = tf.reduce_sum(sequence * weights, axis=1) / tf.maximum(
            count, tf.cast(1.0, sequence.dtype))
        cls = sequence[:, 0, :]
        query = self.query(tf.where(count > 0, aspect_mean, cls))
        keys = self.key(sequence)
        scores = tf.einsum("bd,btd->bt", query, keys) / tf.sqrt(
            tf.cast(tf.shape(keys)[-1], keys.dtype))
        scores = tf.where(text, tf.cast(scores, tf.float32), -1e4)
        attention = tf.cast(tf.nn.softmax(scores, axis=-1), sequence.dtype)
        attended = tf.einsum("bt,btd->bd", attention, sequence)
        return tf.concat([attended, cls], axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "key_units": self.key_units}
