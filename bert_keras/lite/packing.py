"""Packing token ids into BERT inputs without TensorFlow: pair truncation, special tokens,
padding (as the TF-Hub preprocessor's `bert_pack_inputs` and `layers.pack_inputs`)."""

from __future__ import annotations

import numpy as np


def trim_longest_first(n1: int, n2: int, budget: int) -> tuple[int, int]:
    """How many tokens each segment of a pair keeps (Hugging Face's `longest_first`).

    The longer segment loses tokens first; when both exceed half the budget each keeps
    half and an odd token goes to the longer one (the second on ties).

    Args:
        n1: tokens in the first segment.
        n2: tokens in the second segment.
        budget: tokens to keep in total (special tokens excluded).

    Returns:
        `(keep1, keep2)`.

    Examples:
    >>> trim_longest_first(3, 50, 10), trim_longest_first(20, 20, 9)
    ((3, 7), (4, 5))
    """
    if n1 + n2 <= budget:
        return n1, n2
    short = min(n1, n2)
    short_keep = short
    long_keep = short if short > budget else max(short, budget - short)
    if short_keep + long_keep > budget:
        short_keep, long_keep = budget // 2, budget // 2 + budget % 2
    keep1, keep2 = (long_keep, short_keep) if n1 > n2 else (short_keep, long_keep)
    return min(n1, keep1), min(n2, keep2)


def pack_row(first: list[int], second: list[int] | None, cls_id: int, sep_id: int
             ) -> tuple[list[int], int]:
    """`[CLS] first [SEP] (second [SEP])`, and where the second segment starts.

    Examples:
    >>> pack_row([5, 6], [7], cls_id=2, sep_id=3)
    ([2, 5, 6, 3, 7, 3], 4)
    """
    tokens = [cls_id, *first, sep_id]
    first_length = len(tokens)
    if second is not None:
        tokens += [*second, sep_id]
    return tokens, first_length


def stack_rows(rows: list[tuple[list[int], int]], seq_length: int, pad_id: int
               ) -> dict[str, np.ndarray]:
    """Rows from `pack_row` as int32 `input_word_ids`, `input_mask`, `input_type_ids`
    `[len(rows), seq_length]`, padded with `pad_id` (ids) and zeros."""
    word_ids = np.full((len(rows), seq_length), pad_id, dtype=np.int32)
    mask = np.zeros((len(rows), seq_length), dtype=np.int32)
    type_ids = np.zeros((len(rows), seq_length), dtype=np.int32)
    for row, (tokens, first_length) in enumerate(rows):
        word_ids[row, :len(tokens)] = tokens
        mask[row, :len(tokens)] = 1
        type_ids[row, first_length:len(tokens)] = 1
    return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids}
