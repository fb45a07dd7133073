"""Long texts without TensorFlow: which tokens a long text keeps, the windows a chunked
model reads, and how their logits pool. The NumPy twin of `bert_keras.layers.long_text`
and `bert_keras.layers.chunk_pooling`, so a board classifies exactly as the SavedModel.

    tokens (n) --head_tail_counts--> head + tail tokens            (head, tail, head+tail)
    tokens (n) --chunk_starts(window, stride, max_chunks)--> windows --model--> logits
        [windows, labels] --pool_logits(mean|max)--> logits [labels]           (chunks)
"""

from __future__ import annotations

import numpy as np

AGGREGATIONS = ("mean", "max")


def head_tail_counts(length: int, keep: int, strategy: str, head_ratio: float = 0.25
                     ) -> tuple[int, int]:
    """How many leading and trailing tokens a text keeps (as
    `bert_keras.layers.long_text.head_tail_counts`; `round` halves to even like `tf.round`).

    Examples:
    >>> head_tail_counts(10, 4, "head+tail", 0.5), head_tail_counts(3, 4, "tail")
    ((2, 2), (3, 0))
    """
    if length <= keep:
        return length, 0
    if strategy == "head":
        return keep, 0
    if strategy == "tail":
        return 0, keep
    if strategy == "head+tail":
        head = round(keep * float(head_ratio))
        return head, keep - head
    raise ValueError(f"long_text must be head, tail or head+tail here, got {strategy!r}")


def chunk_starts(length: int, window: int, stride: int, max_chunks: int) -> list[int]:
    """Where each window of a text of `length` tokens starts (as
    `bert_keras.layers.long_text.split_chunks`).

    The windows start every `stride` tokens until one reaches the end; at most
    `max_chunks` windows are taken, from the start. An empty text has one empty window.

    Examples:
    >>> chunk_starts(10, 4, 3, 8), chunk_starts(3, 4, 2, 8), chunk_starts(100, 4, 4, 3)
    ([0, 3, 6], [0], [0, 4, 8])
    """
    count = 1 + max(0, -(-(length - window) // stride))
    return [i * stride for i in range(min(count, max_chunks))]


def default_stride(seq_length: int, num_segments: int) -> int:
    """The stride of a chunked model given none: half the token budget of a window."""
    return max(1, (seq_length - num_segments - 1) // 2)


def pool_logits(logits: np.ndarray, aggregate: str) -> np.ndarray:
    """One text's logits from its windows' `[windows, labels]`, as `ChunkLogitPooling`.

    Examples:
    >>> pool_logits(np.array([[1.0, 0.0], [3.0, -1.0]], np.float32), "max").tolist()
    [3.0, 0.0]
    >>> pool_logits(np.array([[1.0, 0.0], [3.0, -1.0]], np.float32), "mean").tolist()
    [2.0, -0.5]
    """
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"chunk_aggregate must be one of {', '.join(AGGREGATIONS)}, "
                         f"got {aggregate!r}")
    logits = np.asarray(logits, np.float32)
    if aggregate == "max":
        return logits.max(axis=0)
    # unsorted_segment_mean: the sum in float32, then divided by the count.
    return (logits.sum(axis=0, dtype=np.float32) / np.float32(len(logits))).astype(np.float32)


def activate(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Probabilities (float64) from logits `[..., labels]`: softmax, or sigmoids for
    multi-label models.

    Examples:
    >>> activate(np.array([0.0, 0.0]), False).tolist(), activate(np.array([0.0]), True).tolist()
    ([0.5, 0.5], [0.5])
    """
    logits = np.asarray(logits, np.float64)
    if multi_label:
        return 1.0 / (1.0 + np.exp(-logits))
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
