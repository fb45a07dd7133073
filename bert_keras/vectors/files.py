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


# Suffixes read as tables (a text column) rather than as one text a line.
_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}


def read_lines(path: str | Path, *, text_column: str = "text",
               progress: bool = True) -> Iterator[tuple[int, str]]:
    """Yields `(line number, text)` for each non-empty text of a UTF-8 file, lazily.

    A .csv / .tsv / .tab file (header row) or a .jsonl / .ndjson file (one object a line)
    gives its `text_column`; any other file is one text a line. Empty and whitespace-only
    texts are skipped; line numbers (from 1, the physical line where a record starts) still
    count them, so every vector can be traced to its source.

    Raises:
        DataError: not UTF-8, a missing text column, or a JSON line that is not an object,
            naming the file and line.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    with open(path, "rb") as handle, tqdm(total=path.stat().st_size, unit="B",
                                          unit_scale=True, desc=path.name,
                                          disable=not progress) as bar:
        lines = _decoded_lines(path, handle, bar)
        if suffix in _TABLE_SUFFIXES:
            records = _table_texts(path, lines, _TABLE_SUFFIXES[suffix], text_column)
        elif suffix in _JSONL_SUFFIXES:
            records = _jsonl_texts(path, lines, text_column)
        else:
            records = ((number, line.rstrip("\r\n")) for number, line in lines)
        for number, text in records:
            if text.strip():
                yield number, text


def _decoded_lines(path: Path, handle, bar) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(handle, start=1):
        bar.update(len(raw))
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"{path}:{number}: not UTF-8 ({error.reason})") from None


def _table_texts(path: Path, lines: Iterator[tuple[int, str]], delimiter: str,
                 column: str) -> Iterator[tuple[int, str]]:
    import csv

    # csv reads quoted fields across line breaks and counts the physical lines it took
    # (`line_num`), so a record starts on the line after the previous record's last.
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}: the file is empty")
    if column not in header:
        raise DataError(f"{path}:1: no column {column!r} (columns: {', '.join(header)}); "
                        "pick one with --text-column")
    index = header.index(column)
    consumed = reader.line_num
    for row in reader:
        first, consumed = consumed + 1, reader.line_num
        if not row:
            continue
        if index >= len(row):
            raise DataError(f"{path}:{first}: {len(row)} fields, no {column!r} value")
        yield first, row[index]


def _jsonl_texts(path: Path, lines: Iterator[tuple[int, str]],
                 column: str) -> Iterator[tuple[int, str]]:
    import json

    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict) or column not in record:
            raise DataError(f"{path}:{number}: no {column!r} key; pick one with "
                            "--text-column")
        yield number, str(record[column] or "")


def embed_file(input_path: str | Path, output: str | Path, *,
               model: str | Path | TextEncoder = DEFAULT_MODEL, tokens: bool = False,
               fmt: str = "npy", projector: bool = False, pooling: str = "mean",
               normalize: bool = True, batch_size: int = 32, seq_length: int | None = None,
               layer: int = -1, last_layers: int | None = None, text_column: str = "text",
               overwrite: bool = False, progress: bool = True) -> dict[str, Any]:
    """Embeds every non-empty text of a file into an output directory.

    The input is read lazily and the vectors are written batch by batch, so memory stays
    bounded for any file size. The directory appears only when complete (written to a
    hidden sibling, then renamed): an interrupted run leaves no half-written output.

    Args:
        input_path: a UTF-8 text file, one text a line, or a CSV / TSV / JSON Lines file
            whose `text_column` is read (empty texts are skipped; the index records source
            line numbers).
        output: the directory to write (see `bert_keras.vectors.outputs`).
        model: encoder handle, run directory or `TextEncoder`.
        tokens: per-token vectors (rows: line, position, token) instead of sentences.
        fmt: "npy" (+ index.tsv), "parquet" or "csv".
        projector: also write TensorBoard projector files.
        pooling, normalize, batch_size, seq_length, layer, last_layers: as in `embed`.
        text_column: the column (JSON key) of a table or JSON Lines input.
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
    lines = read_lines(input_path, text_column=text_column, progress=progress)
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
