"""Batch plans: which examples each step of a measurement runs, and at which padded length.

A plan is a list of batches `{"indices": [...], "length": L}`; every framework that is given
the same plan computes on the same examples padded to the same shapes. `prepare` (in
`bert_keras_worker`) records the plans once per run into `plan.json`:

    train/natural/identical    bert_keras's length-bucketed training batches (its pipeline,
                               replayed from a replica that carries example indices)
    train/natural/random       shuffled batches without bucketing (HF's and keras-hub's own
                               pipelines pad them to the longest member / a fixed length)
    train/fixed/identical      every example padded to max_seq_length
    infer/<table>/<batch size> batches in input order, padded to their longest member
                               (batch 1: each example at its own length)
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def random_batches(count: int, batch_size: int, num_batches: int, seed: int) -> list[list[int]]:
    """`num_batches` batches of example indices, epoch after epoch of seeded shuffles.

    Examples:
    >>> random_batches(4, 2, 3, seed=0)
    [[2, 0], [1, 3], [0, 1]]
    """
    rng, batches, order = random.Random(seed), [], []
    while len(batches) < num_batches:
        if len(order) < batch_size:
            order = list(range(count))
            rng.shuffle(order)
        batches.append(order[:batch_size])
        order = order[batch_size:]
    return batches


def ordered_batches(count: int, batch_size: int, num_batches: int) -> list[list[int]]:
    """`num_batches` batches of consecutive examples in input order, wrapping around.

    Examples:
    >>> ordered_batches(5, 2, 4)
    [[0, 1], [2, 3], [4, 0], [1, 2]]
    """
    return [[(b * batch_size + i) % count for i in range(batch_size)]
            for b in range(num_batches)]


def with_lengths(batches: Sequence[Sequence[int]], ids: Sequence[Sequence[int]],
                 fixed: int | None = None) -> list[dict]:
    """Plan batches: each padded to its longest member (or to `fixed`)."""
    return [{"indices": list(b), "length": fixed or max(len(ids[i]) for i in b)}
            for b in batches]


def pad(ids: Sequence[Sequence[int]], indices: Sequence[int], length: int) -> dict:
    """int32 `[batch, length]` word ids, mask and type ids of some examples (truncated).

    Examples:
    >>> pad([[101, 7, 102], [101, 102]], [1, 0], 3)["input_mask"].tolist()
    [[1, 1, 0], [1, 1, 1]]
    """
    words = np.zeros((len(indices), length), np.int32)
    for row, i in enumerate(indices):
        seq = ids[i][:length]
        words[row, :len(seq)] = seq
    return {"input_word_ids": words, "input_mask": (words != 0).astype(np.int32),
            "input_type_ids": np.zeros_like(words)}


def inference_cases(batch_sizes: Sequence[int], tables: Sequence[str]) -> list[tuple]:
    """(table, batch size, input) of an inference job, smallest batch first (peak memory
    so far then rises with the batch): strings on the natural texts, ids on every table.

    Examples:
    >>> inference_cases([1, 32], ["natural"])
    [('natural', 1, 'strings'), ('natural', 1, 'ids'), ('natural', 32, 'strings'), \
('natural', 32, 'ids')]
    """
    cases = [("natural", b, "strings") for b in batch_sizes]
    cases += [(t, b, "ids") for t in tables for b in batch_sizes]
    return sorted(cases, key=lambda case: case[1])


def mean_length(batches: Sequence[dict]) -> float:
    """The mean padded length of a plan's batches."""
    return float(np.mean([b["length"] for b in batches])) if batches else 0.0
