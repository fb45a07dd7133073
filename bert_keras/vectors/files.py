"""`embed_file`: a text file (one text a line) streamed into vector files."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from bert_keras.errors import BertKerasError, DataError
from bert_keras.vectors.embedding import iter_sentence_vectors, iter_token_vectors
from bert_keras.vectors.encoder import DEFAULT_MODEL, TextEncoder
from bert_keras.vectors.outputs import VectorWriter

# Texts read ahead of the encoder: bounds memory whatever the file's size.
_READ_AHEAD = 1024


def check_inputs(paths) -> None:
    """Fails early (before a model loads) on a missing or empty input file."""
    for path in map(Path, paths):
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")


def read_lines(path: str | Path, *, progress: bool = True) -> Iterator[tuple[int, str]]:
    """Yields `(line number, text)` for each non-empty line of a UTF-8 file, lazily.

    Empty and whitespace-only lines are skipped; line numbers (from 1) still count them,
    so every vector can be traced to its source line.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with open(path, "rb") as handle, tqdm(total=path.stat().st_size, unit="B",
                                          unit_scale=True, desc=path.name,
                                          disable=not progress) as bar:
        for number, raw in enumerate(handle, start=1):
            bar.update(len(raw))
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise DataError(f"{path}:{number}: not UTF-8 ({error.reason})") from None
            if text.strip():
                yield number, text


def embed_file(input_path: str | Path, output: str | Path, *,
               model: str | Path | TextEncoder = DEFAULT_MODEL, tokens: bool = False,
               fmt: str = "npy", projector: bool = False, pooling: str = "mean",
               normalize: bool = True, batch_size: int = 32, seq_length: int | None = None,
               layer: int = -1, last_layers: int | None = None, overwrite: bool = False,
               progress: bool = True) -> dict[str, Any]:
    """Embeds every non-empty line of a text file into an output directory.

    The input is read lazily and the vectors are written batch by batch, so memory stays
    bounded for any file size. The directory appears only when complete (written to a
    hidden sibling, then renamed): an interrupted run leaves no half-written output.

    Args:
        input_path: a UTF-8 text file, one text a line (empty lines are skipped; the
            index records source line numbers).
        output: the directory to write (see `bert_keras.vectors.outputs`).
        model: encoder handle, run directory or `TextEncoder`.
        tokens: per-token vectors (rows: line, position, token) instead of sentences.
        fmt: "npy" (+ index.tsv), "parquet" or "csv".
        projector: also write TensorBoard projector files.
        pooling, normalize, batch_size, seq_length, layer, last_layers: as in `embed`.
        overwrite: replace an existing output directory.
        progress: show a progress bar (bytes read).

    Returns:
        The output's metadata (also in `OUTPUT/meta.json`).

    Examples:

        embed_file("reviews.txt", "reviews-vectors", fmt="parquet", projector=True)
    """
    from bert_keras.cache import atomic_directory

    input_path, output = Path(input_path), Path(output)
    check_inputs([input_path])
    if output.exists() and not overwrite:
        raise BertKerasError(f"{output} already exists (use --overwrite to replace it)")
    encoder = model if isinstance(model, TextEncoder) else TextEncoder(
        model, seq_length=seq_length, layer=layer, last_layers=last_layers)
    lines = read_lines(input_path, progress=progress)
    with atomic_directory(output, overwrite=True) as tmp:
        writer = VectorWriter(tmp, fmt, "tokens" if tokens else "sentences", projector)
        while chunk := list(islice(lines, _READ_AHEAD)):
            numbers, texts = zip(*chunk, strict=True)
            if tokens:
                _write_tokens(writer, encoder, numbers, texts, batch_size)
            else:
                start = 0
                for vectors in iter_sentence_vectors(encoder, texts, pooling=pooling,
                                                     normalize=normalize,
                                                     batch_size=batch_size):
                    end = start + len(vectors)
                    writer.write(chunk[start:end], vectors)
                    start = end
        if writer.count == 0:
            raise DataError(f"{input_path}: no text (every line is empty)")
        meta = {"model": encoder.model, "input": str(input_path),
                "seq_length": encoder.seq_length, "layer": encoder.layer,
                "last_layers": encoder.last_layers}
        if not tokens:
            meta.update(pooling=pooling, normalize=normalize)
        return writer.close(meta)


def _write_tokens(writer: VectorWriter, encoder: TextEncoder, numbers, texts,
                  batch_size: int) -> None:
    rows, vectors = [], []
    results = iter_token_vectors(encoder, texts, batch_size=batch_size)
    for count, (number, result) in enumerate(zip(numbers, results, strict=True), start=1):
        rows += [(number, position, token) for position, token in enumerate(result.tokens)]
        vectors.append(result.vectors)
        if count % batch_size == 0 or count == len(texts):  # one write per encoder batch
            if rows:
                writer.write(rows, np.concatenate(vectors))
            rows, vectors = [], []
