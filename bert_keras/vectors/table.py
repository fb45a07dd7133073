"""Token vector tables: one vector per word piece (per character for Chinese) of a corpus.

A table is a word2vec text file: a header line `count dim`, then `token v1 ... vdim` per
token, in vocabulary order. gensim's `KeyedVectors.load_word2vec_format` reads it too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from bert_keras.errors import BertKerasError, DataError
from bert_keras.vectors.embedding import batches
from bert_keras.vectors.encoder import DEFAULT_MODEL, TextEncoder


def build_table(corpus: str | Path | Sequence[str | Path], output: str | Path, *,
                model: str | Path | TextEncoder = DEFAULT_MODEL, contextual: bool = False,
                batch_size: int = 32, seq_length: int | None = None, layer: int = -1,
                last_layers: int | None = None, text_column: str = "text",
                overwrite: bool = False, progress: bool = True) -> dict[str, Any]:
    """Writes the vector of every word piece that occurs in `corpus`.

    Args:
        corpus: text files, one text a line (empty lines skipped), or CSV / TSV / JSON
            Lines files whose `text_column` is read.
        output: the table file to write (atomically: a temporary file, then renamed).
        model: encoder handle, run directory or `TextEncoder` (needs a vocab.txt).
        contextual: the average of the token's contextual vectors over the corpus
            (`layer` / `last_layers` choose the block; texts longer than `seq_length` are
            read up to it). Otherwise the encoder's input embedding row (static).
        batch_size, seq_length, layer, last_layers: as in `embed`.
        text_column: the column (JSON key) of table or JSON Lines files.
        overwrite: replace an existing table.
        progress: show a progress bar.

    Returns:
        {"tokens": distinct tokens written, "dim": vector size, "occurrences": tokens read}.

    Examples:

        build_table("reviews.txt", "chars.txt", model="zh-m3e-small", contextual=True)
        table = load_table("chars.txt")
    """
    from bert_keras.vectors.files import check_inputs, read_lines

    files = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    output = Path(output)
    if not files:
        raise DataError("no corpus file given")
    if output.exists() and not overwrite:
        raise BertKerasError(f"{output} already exists (use --overwrite to replace it)")
    check_inputs(files)
    encoder = model if isinstance(model, TextEncoder) else TextEncoder(
        model, seq_length=seq_length, layer=layer, last_layers=last_layers)
    vocabulary = encoder.vocabulary  # fails early for handles without one
    texts = (text for _, text in chain.from_iterable(
        read_lines(p, text_column=text_column, progress=progress) for p in files))
    size = len(vocabulary)
    counts = np.zeros(size, np.int64)
    sums = None
    for batch in batches(texts, batch_size):
        if contextual:
            encoded = encoder.encode(batch)
            keep = (encoded.mask == 1) & ~np.isin(encoded.ids, encoder.special_ids())
            ids, vectors = encoded.ids[keep], encoded.vectors[keep].astype(np.float64)
            if sums is None:
                sums = np.zeros((size, vectors.shape[1]), np.float64)
            np.add.at(sums, ids, vectors)
        else:
            pieces = encoder.preprocessor.tokenize(tf.constant(batch, tf.string))
            ids = pieces.flat_values.numpy()
        counts += np.bincount(ids, minlength=size)[:size]
    present = np.flatnonzero(counts)
    if len(present) == 0:
        raise DataError(f"{', '.join(map(str, files))}: no text (every line is empty)")
    if contextual:
        matrix = (sums[present] / counts[present, None]).astype(np.float32)
    else:
        matrix = encoder.input_embeddings()[present]
    save_table(output, [vocabulary[i] for i in present], matrix)
    return {"tokens": len(present), "dim": int(matrix.shape[1]),
            "occurrences": int(counts.sum())}


def save_table(path: str | Path, tokens: Sequence[str], vectors: np.ndarray) -> Path:
    """Writes a word2vec text file atomically (temporary file in the same folder, renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"{len(tokens)} {vectors.shape[1]}\n")
            for token, vector in zip(tokens, vectors, strict=True):
                out.write(token + " " + " ".join(f"{x:.7g}" for x in vector) + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_table(path: str | Path) -> dict[str, np.ndarray]:
    """Reads a table written by `build_table` (or any word2vec text file).

    Returns:
        {token: float32 vector}.

    Examples:

        table = load_table("chars.txt")
        table["好"].shape  # (512,)
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such table file")
    table: dict[str, np.ndarray] = {}
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise DataError(f"{path}:1: expected a 'count dim' header line")
        dim = int(header[1])
        for number, line in enumerate(handle, start=2):
            token, *values = line.rstrip("\n").split(" ")
            if len(values) != dim:
                raise DataError(f"{path}:{number}: {len(values)} values, expected {dim}")
            table[token] = np.asarray(values, np.float32)
    return table


def embedding_matrix(table: dict[str, np.ndarray], vocabulary: Sequence[str], *,
                     missing: str = "random", seed: int = 0) -> np.ndarray:
    """A `[len(vocabulary), dim]` matrix: row i is `table[vocabulary[i]]`.

    Args:
        table: from `load_table`.
        vocabulary: the tokens of the model that uses the matrix, in id order.
        missing: rows of tokens absent from the table: "random" (normal, the table's
            standard deviation) or "zeros".
        seed: for "random".
    """
    if not table:
        raise DataError("the table is empty")
    dim = len(next(iter(table.values())))
    if missing == "zeros":
        matrix = np.zeros((len(vocabulary), dim), np.float32)
    elif missing == "random":
        scale = float(np.std(np.stack(list(table.values()))))
        matrix = np.random.default_rng(seed).normal(0.0, scale, (len(vocabulary), dim))
    else:
        raise BertKerasError(f"missing={missing!r}: use 'random' or 'zeros'")
    matrix = matrix.astype(np.float32)
    for i, token in enumerate(vocabulary):
        if token in table:
            matrix[i] = table[token]
    return matrix


def embedding_initializer(table: dict[str, np.ndarray] | str | Path,
                          vocabulary: Sequence[str], **kwargs):
    """A Keras initializer that fills an `Embedding` with the table's vectors.

    Args:
        table: a table dict or the path of a table file.
        vocabulary: the Embedding's tokens in id order (its `input_dim` is their count).
        **kwargs: `missing` and `seed`, as in `embedding_matrix`.

    Examples:

        vocab = ["[PAD]", "好", "坏"]
        layer = tf_keras.layers.Embedding(
            len(vocab), 512, embeddings_initializer=embedding_initializer("chars.txt", vocab))
    """
    import tf_keras as keras

    if not isinstance(table, dict):
        table = load_table(table)
    return keras.initializers.Constant(embedding_matrix(table, vocabulary, **kwargs))
