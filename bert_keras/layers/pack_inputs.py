"""Packs tokenized segments into BERT inputs, truncating as the original tokenizers do."""

from __future__ import annotations

import tensorflow as tf
from official.nlp.modeling import layers as nlp_layers


def keep_first(tokens: tf.RaggedTensor, counts: tf.Tensor) -> tf.RaggedTensor:
    """The first `counts[i]` tokens of each row of `tokens` `[batch, (n)]`."""
    positions = tf.ragged.range(tokens.row_lengths())
    return tf.ragged.boolean_mask(tokens, positions < tf.expand_dims(counts, 1))


def longest_first_counts(n1: tf.Tensor, n2: tf.Tensor, budget) -> tuple[tf.Tensor, tf.Tensor]:
    """How many tokens each segment of a pair keeps under Hugging Face's `longest_first`.

    The longer segment loses tokens first; when both exceed half the budget each keeps
    half, and an odd token goes to the longer one (the second on ties). tf-text's
    round-robin trimmer gives it to the first, which shifts one token at the boundary of
    long pairs.

    Args:
        n1: tokens in the first segments, int64 `[batch]`.
        n2: tokens in the second segments, int64 `[batch]`.
        budget: tokens to keep per pair (without special tokens).

    Returns:
        `(keep1, keep2)`, int64 `[batch]`.
    """
    budget = tf.cast(budget, n1.dtype)
    short = tf.minimum(n1, n2)
    long_keep = tf.where(short > budget, short, tf.maximum(short, budget - short))
    short_keep = short
    both_cut = short_keep + long_keep > budget
    short_keep = tf.where(both_cut, budget // 2, short_keep)
    long_keep = tf.where(both_cut, budget // 2 + budget % 2, long_keep)
    first_is_longer = n1 > n2
    keep1 = tf.where(first_is_longer, long_keep, short_keep)
    keep2 = tf.where(first_is_longer, short_keep, long_keep)
    fits = n1 + n2 <= budget
    return tf.where(fits, n1, tf.minimum(n1, keep1)), tf.where(fits, n2, tf.minimum(n2, keep2))


def trim_longest_first(segments: list[tf.RaggedTensor], budget) -> list[tf.RaggedTensor]:
    """Truncates one or two `[batch, (tokens)]` segments to `budget` tokens in total,
    pairs by `longest_first_counts`.

    Args:
        segments: one or two ragged token id tensors.
        budget: the number of tokens to keep per example (without special tokens).

    Returns:
        The trimmed segments.
    """
    if len(segments) == 1:
        lengths = segments[0].row_lengths()
        return [keep_first(segments[0], tf.minimum(lengths, tf.cast(budget, lengths.dtype)))]
    if len(segments) != 2:
        raise ValueError(f"one or two segments can be packed, got {len(segments)}")
    first, second = segments
    keep1, keep2 = longest_first_counts(first.row_lengths(), second.row_lengths(), budget)
    return [keep_first(first, keep1), keep_first(second, keep2)]


def bert_pack_inputs(segments, seq_length, *, start_of_sequence_id, end_of_segment_id,
                     padding_id) -> dict[str, tf.Tensor]:
    """Truncates (longest first), adds [CLS]/[SEP] and pads to `seq_length`.

    Args:
        segments: a ragged tensor or a list of one or two, `[batch, (words), (pieces)]`
            or `[batch, (tokens)]`.
        seq_length: the padded length, special tokens included.
        start_of_sequence_id: id of [CLS].
        end_of_segment_id: id of [SEP].
        padding_id: id of [PAD].

    Returns:
        `input_word_ids`, `input_mask` and `input_type_ids`, each `[batch, seq_length]`.
    """
    if not isinstance(segments, (list, tuple)):
        segments = [segments]
    segments = [s.merge_dims(1, -1) if s.shape.rank > 2 else s for s in segments]
    trimmed = trim_longest_first(list(segments), seq_length - len(segments) - 1)
    return nlp_layers.BertPackInputs.bert_pack_inputs(
        trimmed,
        seq_length=seq_length,
        start_of_sequence_id=start_of_sequence_id,
        end_of_segment_id=end_of_segment_id,
        padding_id=padding_id,
    )


class PackInputsSavedModelWrapper(tf.train.Checkpoint):
    """The `bert_pack_inputs` subobject of a TF-Hub preprocessor SavedModel.

    Callable with a list of one or two ragged token tensors (ragged rank 1 or 2) and an
    optional `seq_length=` that overrides the default, like the TF-Hub Preprocessor API.

    Args:
        special_tokens: the tokenizer's special token ids.
        default_seq_length: the sequence length when none is given.
    """

    def __init__(self, special_tokens: dict[str, int], default_seq_length: int):
        super().__init__()

        @tf.function(autograph=False)
        def call(inputs, seq_length=default_seq_length):
            return bert_pack_inputs(
                inputs,
                seq_length,
                start_of_sequence_id=special_tokens["start_of_sequence_id"],
                end_of_segment_id=special_tokens["end_of_segment_id"],
                padding_id=special_tokens["padding_id"],
            )

        self.__call__ = call
        for ragged_rank in (1, 2):
            for num_segments in (1, 2):
                spec = [tf.RaggedTensorSpec([None] * (ragged_rank + 1), dtype=tf.int32)
                        for _ in range(num_segments)]
                self.__call__.get_concrete_function(spec, seq_length=tf.TensorSpec([], tf.int32))
