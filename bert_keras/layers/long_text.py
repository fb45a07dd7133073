"""Which tokens of a long text reach the encoder: head, tail, head+tail, or chunks.

Sun et al. (2019, "How to Fine-Tune BERT for Text Classification") found that keeping the
start and the end of a long review beats keeping only its start; `chunks` instead reads the
whole text in overlapping windows and lets the model aggregate the window logits.

    tokens [batch, (n)] --select_tokens(keep, strategy)--> [batch, (<= keep)]
    tokens [batch, (n)] --split_chunks(window, stride, max_chunks)--> [chunks, (<= window)]
                                                                     + chunks per text

`bert_keras.lite.long_text` is the NumPy twin (for boards, and the reference in tests).
"""

from __future__ import annotations

import tensorflow as tf

STRATEGIES = ("head", "tail", "head+tail", "chunks")
AGGREGATIONS = ("mean", "max")


def check_strategy(strategy: str, head_ratio: float = 0.25) -> None:
    """Raises `ValueError` for an unknown strategy or a head ratio outside [0, 1]."""
    if strategy not in STRATEGIES:
        raise ValueError(f"long_text must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not 0.0 <= float(head_ratio) <= 1.0:
        raise ValueError(f"head_ratio must lie in [0, 1], got {head_ratio}")


def head_tail_counts(lengths: tf.Tensor, keep: tf.Tensor, strategy: str,
                     head_ratio: float = 0.25) -> tuple[tf.Tensor, tf.Tensor]:
    """How many leading and trailing tokens each text keeps.

    Args:
        lengths: tokens per text, int64 `[batch]`.
        keep: the token budget per text, `[batch]` or a scalar.
        strategy: "head", "tail" or "head+tail".
        head_ratio: head+tail: the share of the budget taken from the start (rounded), a
            float or a float `[batch]` (one per text).

    Returns:
        `(head, tail)`, int64 `[batch]`; a text within budget is kept whole as its head.
    """
    keep = tf.broadcast_to(tf.cast(keep, tf.int64), tf.shape(lengths))
    fits = lengths <= keep
    if strategy == "head":
        head = keep
    elif strategy == "tail":
        head = tf.zeros_like(keep)
    elif strategy == "head+tail":
        # Not tf.cast(0.3, tf.float64): that goes through float32 (0.30000001192...) and
        # rounds differently from the NumPy tokenizer at halves.
        ratio = tf.cast(head_ratio, tf.float64) if isinstance(head_ratio, tf.Tensor) \
            else tf.constant(float(head_ratio), tf.float64)
        head = tf.cast(tf.round(tf.cast(keep, tf.float64) * ratio), tf.int64)
    else:
        raise ValueError(f"no head/tail split for long_text={strategy!r}")
    head = tf.where(fits, lengths, head)
    tail = tf.where(fits, tf.zeros_like(keep), keep - head)
    return head, tail


def select_tokens(tokens: tf.RaggedTensor, keep: tf.Tensor, strategy: str,
                  head_ratio: float = 0.25) -> tf.RaggedTensor:
    """Keeps at most `keep` tokens of each text: its head, its tail, or both.

    Args:
        tokens: token ids `[batch, (n)]`.
        keep: the token budget per text, `[batch]` or a scalar.
        strategy: "head", "tail" or "head+tail".
        head_ratio: head+tail: the share of the budget taken from the start.

    Examples:
    >>> tokens = tf.ragged.constant([[1, 2, 3, 4, 5, 6, 7, 8], [1, 2]])
    >>> select_tokens(tokens, 4, "head+tail", 0.5).to_list()
    [[1, 2, 7, 8], [1, 2]]
    >>> select_tokens(tokens, 3, "tail").to_list()
    [[6, 7, 8], [1, 2]]
    """
    lengths = tokens.row_lengths()
    head, tail = head_tail_counts(lengths, keep, strategy, head_ratio)
    positions = tf.ragged.range(lengths)
    wanted = ((positions < tf.expand_dims(head, 1))
              | (positions >= tf.expand_dims(lengths - tail, 1)))
    return tf.ragged.boolean_mask(tokens, wanted)


def split_chunks(tokens: tf.RaggedTensor, window: tf.Tensor, stride: int, max_chunks: int
                 ) -> tuple[tf.RaggedTensor, tf.Tensor]:
    """Splits each text into overlapping windows of at most `window` tokens.

    Args:
        tokens: token ids `[batch, (n)]`.
        window: tokens per window, `[batch]` or a scalar (pairs leave less room).
        stride: tokens between window starts (`stride < window` overlaps them).
        max_chunks: the most windows a text yields (the rest of a longer text is dropped).

    Returns:
        `(chunks, chunks_per_text)`: windows `[sum(chunks_per_text), (<= window)]` in text
        order, and int64 `[batch]`.

    Examples:
    >>> chunks, counts = split_chunks(tf.ragged.constant([[1, 2, 3, 4, 5], []]), 3, 2, 8)
    >>> chunks.to_list(), counts.numpy().tolist()
    ([[1, 2, 3], [3, 4, 5], []], [2, 1])
    """
    lengths = tokens.row_lengths()
    window = tf.broadcast_to(tf.cast(window, tf.int64), tf.shape(lengths))
    stride = tf.constant(int(stride), tf.int64)
    excess = tf.maximum(lengths - window, 0)
    counts = tf.minimum(1 + (excess + stride - 1) // stride, int(max_chunks))
    text_of_chunk = tf.repeat(tf.range(tf.size(lengths, out_type=tf.int64)), counts)
    index_in_text = tf.ragged.range(counts).flat_values
    starts = index_in_text * stride
    ends = tf.minimum(starts + tf.gather(window, text_of_chunk),
                      tf.gather(lengths, text_of_chunk))
    offsets = tf.gather(tokens.row_starts(), text_of_chunk)
    positions = tf.ragged.range(offsets + starts, offsets + ends)
    chunks = tf.RaggedTensor.from_row_splits(
        tf.gather(tokens.flat_values, positions.flat_values), positions.row_splits)
    return chunks, counts
