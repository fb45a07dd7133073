"""Dynamic masking for masked-LM pre-training, as tf.data map functions.

Masks are drawn inside the input pipeline with stateless random ops seeded by the
example's index in the (repeated) stream, so every pass over the corpus masks other
tokens (dynamic masking, as RoBERTa) while a fixed seed reproduces them exactly (which
held-out evaluation relies on).

Per sequence, `round(n * mask_rate)` of its `n` maskable word pieces are chosen (at
least one); special tokens and padding are never chosen. A chosen piece becomes [MASK]
with probability 0.8, a random non-special token with 0.1 and stays unchanged with 0.1.
With whole-word masking words are chosen instead of pieces, in random order, until the
next word would exceed the budget: all word pieces of a word ("play ##ing") are masked
together, and a sequence gets at most `round(n * mask_rate)` predictions (a little fewer
on average).
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

MASK_PROBABILITY = 0.8
RANDOM_PROBABILITY = 0.1


def max_predictions(seq_length: int, mask_rate: float) -> int:
    """The most masked positions a sequence of `seq_length` gets (the padded width of
    `masked_lm_positions`).

    Examples:
    >>> max_predictions(128, 0.15)
    19
    """
    return max(1, math.floor(seq_length * mask_rate + 0.5))


@dataclasses.dataclass(frozen=True)
class MaskingSettings:
    """How sequences are masked.

    Args:
        mask_id: id of [MASK].
        vocab_size: number of tokens in the vocabulary.
        special_ids: ids never used as random replacements ([PAD], [CLS], [SEP], [MASK],
            [UNK]).
        seq_length: the packed sequence length.
        mask_rate: share of maskable word pieces to predict (0.15 as in BERT).
        whole_word: mask whole words (all of their word pieces) instead of pieces.
        pad_id: id of [PAD] (the input mask is 0 there).
    """

    mask_id: int
    vocab_size: int
    special_ids: tuple[int, ...]
    seq_length: int
    mask_rate: float = 0.15
    whole_word: bool = False
    pad_id: int = 0

    def __post_init__(self):
        if not 0.0 < self.mask_rate < 1.0:
            raise ValueError(f"mask_rate must be in (0, 1), got {self.mask_rate}")

    @property
    def max_predictions(self) -> int:
        return max_predictions(self.seq_length, self.mask_rate)


def mask_sequence(input_word_ids: tf.Tensor, word_groups: tf.Tensor, seed: tf.Tensor,
                  settings: MaskingSettings) -> dict[str, tf.Tensor]:
    """Masks one packed sequence.

    Args:
        input_word_ids: int32 `[seq_length]`.
        word_groups: int32 `[seq_length]`, a word's id on each of its pieces, -1 on
            special tokens and padding (see `packing.SequencePacker`).
        seed: int `[2]` seed of the stateless random ops.
        settings: the masking settings.

    Returns:
        `input_word_ids` (masked), `input_mask`, `input_type_ids` and, padded with zeros
        to `settings.max_predictions`, `masked_lm_positions`, `masked_lm_ids` (the
        original ids) and float32 `masked_lm_weights` (1.0 on real predictions): the
        inputs and targets of `official.nlp.models.BertPretrainerV2`.
    """
    ids = tf.cast(input_word_ids, tf.int32)
    length = tf.shape(ids)[0]
    choose_seed, kind_seed, token_seed = tf.unstack(
        tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3))
    maskable = word_groups >= 0
    groups = word_groups if settings.whole_word else tf.range(length)
    groups = tf.where(maskable, groups, length)  # index `length` collects the specials
    sizes = tf.math.unsorted_segment_sum(tf.ones_like(ids), groups, length + 1)[:length]
    n = tf.reduce_sum(tf.cast(maskable, tf.int32))
    budget = tf.cast(tf.floor(tf.cast(n, tf.float32) * settings.mask_rate + 0.5), tf.int32)
    budget = tf.minimum(tf.maximum(budget, tf.minimum(n, 1)), settings.max_predictions)

    scores = tf.random.stateless_uniform([length], choose_seed)
    order = tf.argsort(tf.where(sizes > 0, scores, 2.0))  # real groups in random order
    ordered_sizes = tf.gather(sizes, order)
    taken = (tf.cumsum(ordered_sizes) <= budget) & (ordered_sizes > 0)
    chosen_group = tf.scatter_nd(order[:, None], taken, [length])
    selected = maskable & tf.gather(chosen_group, tf.minimum(groups, length - 1))

    positions = tf.cast(tf.where(selected)[:, 0], tf.int32)[:settings.max_predictions]
    kind = tf.random.stateless_uniform([length], kind_seed)
    replacements = _random_tokens(length, token_seed, settings)
    masked = tf.where(kind < MASK_PROBABILITY, settings.mask_id,
                      tf.where(kind < MASK_PROBABILITY + RANDOM_PROBABILITY, replacements, ids))
    new_ids = tf.where(selected, masked, ids)
    padding = [[0, settings.max_predictions - tf.shape(positions)[0]]]
    return {
        "input_word_ids": new_ids,
        "input_mask": tf.cast(tf.not_equal(ids, settings.pad_id), tf.int32),
        "input_type_ids": tf.zeros_like(ids),
        "masked_lm_positions": tf.ensure_shape(tf.pad(positions, padding),
                                               [settings.max_predictions]),
        "masked_lm_ids": tf.ensure_shape(tf.pad(tf.gather(ids, positions), padding),
                                         [settings.max_predictions]),
        "masked_lm_weights": tf.ensure_shape(
            tf.pad(tf.ones_like(positions, tf.float32), padding), [settings.max_predictions]),
    }


def _random_tokens(length: tf.Tensor, seed: tf.Tensor, settings: MaskingSettings) -> tf.Tensor:
    """Uniformly drawn non-special token ids, one per position."""
    special = set(settings.special_ids)
    allowed = tf.constant([i for i in range(settings.vocab_size) if i not in special],
                          tf.int32)
    index = tf.random.stateless_uniform([length], seed, maxval=tf.shape(allowed)[0],
                                        dtype=tf.int32)
    return tf.gather(allowed, index)
