"""Classifier inference on strings: tokenize in bulk, run batches of similar length.

Sorting texts by their number of word pieces before batching removes almost all padding
(a batch is cut to its longest member), and two traced functions (pack strings, compute
logits) serve every call, so a call costs no tf.data pipeline and no retracing:

    strings --pack (traced once, [n, seq_length])--> ids, lengths
    ids --sort by length, cut each batch to its longest--> logits (traced once) --unsort-->
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from bert_keras.layers.preprocessor import INPUT_NAMES

if TYPE_CHECKING:
    from bert_keras.models.classifier import Classifier

PACK_CHUNK = 2048  # texts packed at a time: bounds memory on large inputs


def trim_padding(features: dict) -> dict:
    """Cuts the padding columns every example of a batch has (`[batch, seq]` or
    `[batch, chunks, seq]`); under the attention mask they change nothing."""
    mask = features["input_mask"]
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(mask, axis=-1)), 1)  # 1 if empty
    return {name: features[name][..., :length] for name in INPUT_NAMES}


def _functions(model: Classifier):
    cached = getattr(model._untracked, "inference", None)
    if cached is None:
        segments = 2 if model.settings["pair"] else 1
        rank = 3 if model.settings.get("long_text") == "chunks" else 2
        pack = tf.function(lambda s: model.preprocessor(list(s)), input_signature=[
            [tf.TensorSpec([None], tf.string)] * segments])
        logits = tf.function(lambda ids: model(ids, training=False), input_signature=[
            {name: tf.TensorSpec([None] * rank, tf.int32) for name in INPUT_NAMES}])
        cached = model._untracked.inference = (pack, logits)
    return cached


def predict_texts(model: Classifier, texts: list[str], pairs: list[str] | None = None, *,
                  batch_size: int = 32, verbose: int = 0) -> np.ndarray:
    """Logits `[len(texts), labels]` for strings (and their pairs), in input order.

    Args:
        model: the classifier.
        texts: the texts.
        pairs: the second segments of a pair model.
        batch_size: texts per forward pass.
        verbose: show a progress bar over the batches.
    """
    pack, logits = _functions(model)
    outputs = np.zeros((len(texts), len(model.labels)), np.float32)
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(texts), unit="text", desc="predict")
    for start in range(0, len(texts), PACK_CHUNK):
        segments = [tf.constant(texts[start:start + PACK_CHUNK], tf.string)]
        if pairs is not None:
            segments.append(tf.constant(pairs[start:start + PACK_CHUNK], tf.string))
        packed = {name: value.numpy() for name, value in pack(segments).items()}
        mask = packed["input_mask"]
        order = np.argsort(mask.reshape(len(mask), -1).sum(axis=1), kind="stable")
        for first in range(0, len(order), batch_size):
            rows = order[first:first + batch_size]
            batch = trim_padding({name: tf.constant(packed[name][rows]) for name in packed})
            outputs[start + rows] = logits(batch).numpy()
            if progress is not None:
                progress.update(len(rows))
    if progress is not None:
        progress.close()
    return outputs
