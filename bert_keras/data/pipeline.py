"""tf.data input pipelines: tokenize in graph, cache, shuffle, bucket by length, prefetch."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from bert_keras.data.examples import LabelledTexts
from bert_keras.layers.preprocessor import INPUT_NAMES

_TOKENIZE_CHUNK = 256
_GATHER = 4096  # examples gathered per step when sorting by length


def tokenize(examples: LabelledTexts, preprocessor, labels: np.ndarray | None = None
             ) -> tf.data.Dataset:
    """Tokenizes examples with the encoder's own preprocessor, without padding.

    Args:
        examples: texts (and pairs) to tokenize.
        preprocessor: a `BertPreprocessor` layer (strings to packed ids).
        labels: encoded labels (ids, or multi-hot rows), or None.

    Returns:
        A dataset of `(features, label)` (or `features`) with each feature trimmed to the
        example's own length, so batches pad only to their longest member.
    """
    segments = [examples.texts] + ([examples.pairs] if examples.pairs is not None else [])
    dataset = tf.data.Dataset.from_tensor_slices(tuple(tf.constant(s, tf.string)
                                                       for s in segments))
    # Tokenizing a chunk at a time keeps tf-text's ops vectorised.
    dataset = dataset.batch(_TOKENIZE_CHUNK).map(
        lambda *s: preprocessor(list(s)), num_parallel_calls=tf.data.AUTOTUNE
    ).unbatch()
    dataset = dataset.map(_trim_padding, num_parallel_calls=tf.data.AUTOTUNE)
    if labels is not None:
        dataset = tf.data.Dataset.zip((dataset, tf.data.Dataset.from_tensor_slices(labels)))
    return dataset


def _trim_padding(features: dict) -> dict:
    """Cuts the padding of `[seq]` features, or of `[chunks, seq]` ones (long_text="chunks",
    to the longest window)."""
    mask = features["input_mask"]
    length = tf.reduce_max(tf.reduce_sum(mask, axis=-1))
    if mask.shape.rank == 2:  # drop the all-padding windows a batch of texts left
        windows = tf.reduce_sum(tf.cast(mask[:, 0] > 0, tf.int32))
        return {name: features[name][:windows, :length] for name in INPUT_NAMES}
    return {name: features[name][:length] for name in INPUT_NAMES}


def _length(features: dict, *_) -> tf.Tensor:
    return tf.shape(features["input_word_ids"])[-1]


def token_lengths(dataset: tf.data.Dataset) -> np.ndarray:
    """The number of tokens of every example of a `tokenize` dataset (of its longest window
    with long_text="chunks")."""
    lengths = dataset.map(_length)
    return np.fromiter(lengths.as_numpy_iterator(), dtype=np.int64)


def bucket_boundaries(max_seq_length: int, width: int = 16) -> list[int]:
    """Upper bounds of the length buckets (a bucket holds lengths below its bound)."""
    return list(range(width + 1, max_seq_length + 1, width))


def batches_per_epoch(lengths: np.ndarray, batch_size: int, boundaries: list[int]) -> int:
    """How many batches `bucket_by_sequence_length` emits for these lengths."""
    bucket_of = np.searchsorted(boundaries, lengths, side="right")
    counts = np.bincount(bucket_of, minlength=len(boundaries) + 1)
    return int(sum(math.ceil(c / batch_size) for c in counts))


def training_dataset(tokenized: tf.data.Dataset, lengths: np.ndarray, *, batch_size: int,
                     max_seq_length: int, seed: int) -> tf.data.Dataset:
    """Cached, reshuffled every epoch, batched by similar length, prefetched.

    The result declares its exact number of batches, so progress bars and
    learning-rate schedules know the epoch length.
    """
    boundaries = bucket_boundaries(max_seq_length)
    dataset = tokenized.cache().shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=_length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    )
    steps = batches_per_epoch(lengths, batch_size, boundaries)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _dense(*structure):
    dense = tf.nest.map_structure(
        lambda t: t.to_tensor() if isinstance(t, tf.RaggedTensor) else t, structure)
    return dense if len(dense) > 1 else dense[0]


def length_sorted(tokenized: tf.data.Dataset, *, batch_size: int) -> tf.data.Dataset:
    """All examples sorted by their number of tokens, in batches padded to their longest.

    For validation, where the order of labelled examples is free: sorting before batching
    removes almost all padding.

    Args:
        tokenized: a `tokenize` dataset (labels, if any, travel with their features).
        batch_size: examples per batch.
    """
    parts = list(tokenized.ragged_batch(_GATHER))  # one tokenizing pass
    if not parts:
        return tokenized.padded_batch(batch_size)
    everything = tf.nest.map_structure(lambda *t: tf.concat(t, axis=0), *parts)
    ids = (everything[0] if isinstance(everything, tuple) else everything)["input_word_ids"]
    tokens = tf.reduce_sum(tf.ones_like(ids), axis=list(range(1, ids.shape.rank)))
    order = np.argsort(tokens.numpy(), kind="stable")
    ordered = tf.nest.map_structure(lambda t: tf.gather(t, order), everything)
    dataset = tf.data.Dataset.from_tensor_slices(ordered).batch(batch_size).map(_dense)
    return dataset.prefetch(tf.data.AUTOTUNE)
