"""Classifying a long text from its windows: flatten the windows, then pool their logits.

    ids [batch, chunks, seq] --ChunkFlatten--> ids [windows, seq] (empty windows dropped)
                                               + the text of each window
    ... encoder, pooler, head: logits [windows, labels] ...
    logits [windows, labels] --ChunkLogitPooling(mean|max)--> logits [batch, labels]
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from bert_keras.layers.long_text import AGGREGATIONS
from bert_keras.layers.preprocessor import INPUT_NAMES


@keras.saving.register_keras_serializable(package="bert_keras")
class ChunkFlatten(keras.layers.Layer):
    """Turns `[batch, chunks, seq]` encoder inputs into `[windows, seq]`, keeping only real
    windows (those with a [CLS] token, i.e. `input_mask[..., 0] == 1`), so padding windows
    cost no encoder time.

    Call arguments:
        inputs: `input_word_ids`, `input_mask`, `input_type_ids`, each `[batch, chunks, seq]`.

    Returns:
        The three inputs as `[windows, seq]`, plus `text_index` (int32 `[windows]`, the
        row of `inputs` each window belongs to) and `num_texts` (int32 scalar).

    Examples:

        flat = ChunkFlatten()(ids)  # windows of all texts, in text order
    """

    def call(self, inputs: dict) -> dict:
        real = inputs["input_mask"][:, :, 0] > 0
        flat = {name: tf.boolean_mask(inputs[name], real) for name in INPUT_NAMES}
        flat["text_index"] = tf.cast(tf.where(real)[:, 0], tf.int32)
        flat["num_texts"] = tf.shape(real)[0]
        return flat


@keras.saving.register_keras_serializable(package="bert_keras")
class ChunkLogitPooling(keras.layers.Layer):
    """Pools window logits into one row per text, by mean or max over its windows.

    Args:
        aggregate: "mean" or "max".

    Call arguments:
        inputs: `[logits, text_index, num_texts]` as `ChunkFlatten` and the head give them.

    Returns:
        Logits `[num_texts, labels]`.

    Examples:
    >>> pool = ChunkLogitPooling("max")
    >>> pool([tf.constant([[1.0, 0.0], [3.0, -1.0], [0.0, 2.0]]),
    ...       tf.constant([0, 0, 1]), tf.constant(2)]).numpy().tolist()
    [[3.0, 0.0], [0.0, 2.0]]
    """

    def __init__(self, aggregate: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if aggregate not in AGGREGATIONS:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATIONS)}, "
                             f"got {aggregate!r}")
        self.aggregate = aggregate

    def call(self, inputs) -> tf.Tensor:
        logits, text_index, num_texts = inputs
        pool = (tf.math.unsorted_segment_mean if self.aggregate == "mean"
                else tf.math.unsorted_segment_max)
        return pool(logits, text_index, num_texts)

    def get_config(self) -> dict:
        return {**super().get_config(), "aggregate": self.aggregate}
