"""Nearest neighbours by cosine over an output of `bert-keras embed`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bert_keras.errors import BertKerasError
from bert_keras.vectors.embedding import embed
from bert_keras.vectors.outputs import index_rows, iter_vectors, read_meta


@dataclass
class Neighbour:
    """One hit: its cosine similarity to the query, its position and its index row."""

    score: float
    position: int
    row: tuple


def nearest(index: str | Path, query: str, k: int = 10, *, model=None) -> list[Neighbour]:
    """The `k` stored sentence vectors closest to `query` by cosine similarity.

    The query is embedded with the model, pooling and sequence length recorded in the
    output's meta.json; the stored vectors are read a chunk at a time (bounded memory).

    Args:
        index: a directory written by `bert-keras embed` (sentence vectors).
        query: the text to look up.
        k: how many neighbours.
        model: a `TextEncoder` to reuse (default: load the recorded model).

    Examples:

        for hit in nearest("reviews-vectors", "made me dizzy", k=5):
            print(f"{hit.score:.3f}", *hit.row)
    """
    meta = read_meta(index)
    if meta["kind"] != "sentences":
        raise BertKerasError(f"{index}: holds token vectors; `similar` needs sentence vectors")
    if k < 1:
        raise BertKerasError(f"k must be positive, got {k}")
    if model is None:
        from bert_keras.vectors.encoder import TextEncoder

        model = TextEncoder(meta["model"], seq_length=meta["seq_length"], layer=meta["layer"],
                            last_layers=meta["last_layers"])
    [vector] = embed([query], model, pooling=meta["pooling"], normalize=True)
    scores, positions, offset = np.zeros(0, np.float32), np.zeros(0, np.int64), 0
    for chunk in iter_vectors(index):
        norms = np.maximum(np.linalg.norm(chunk, axis=1), 1e-12)
        scores = np.concatenate([scores, chunk @ vector / norms])
        positions = np.concatenate([positions, np.arange(offset, offset + len(chunk))])
        offset += len(chunk)
        if len(scores) > k:  # keep only the best k so far
            best = np.argpartition(-scores, k)[:k]
            scores, positions = scores[best], positions[best]
    order = np.argsort(-scores, kind="stable")
    rows = index_rows(index, positions[order].tolist())
    return [Neighbour(float(scores[i]), int(positions[i]), rows[int(positions[i])])
            for i in order]
