"""Reads labelled texts from CSV, TSV, JSON Lines, class folders, DataFrames and lists.

Every reader returns `LabelledTexts` and applies the same row checks. A bad row either raises a
`DataError` that names its file and line (and counts the other bad rows), or, with
`skip_bad_rows=True`, lands in `LabelledTexts.skipped`. Nothing is dropped silently.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from bert_keras.data.cleaning import clean_text
from bert_keras.data.examples import BadRow, LabelledTexts
from bert_keras.data.file_formats import (
    FORMATS,
    Options,
    Record,
    check_columns,
    csv_records,
    detect_format,
    folder_records,
    jsonl_records,
    listing,
)
from bert_keras.errors import DataError


def read_examples(
    source: str | os.PathLike,
    *,
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str | None = "label",
    label_separator: str | None = None,
    clean: bool = False,
    skip_bad_rows: bool = False,
    require_labels: bool = True,
    known_labels: Iterable[str] | None = None,
    file_format: str | None = None,
) -> LabelledTexts:
    """Reads a data file or a folder of class sub-folders.

    Args:
        source: a .csv, .tsv/.tab, .jsonl/.ndjson/.json (one object per line) file with a header
            row (CSV/TSV), or a directory with one sub-folder per class holding .txt files.
        text_column: the column (JSON key) holding the text.
        text_pair_column: the column holding the second segment (an aspect, a question), if any.
        label_column: the column holding the label(s); None for unlabelled data.
        label_separator: splits a label cell into several labels (multi-label), e.g. "|".
        clean: apply `clean_text` to texts and pairs (HTML entities, wrapping quotes, spaces).
        skip_bad_rows: put bad rows in `skipped` instead of raising.
        require_labels: a missing label column or an empty label is an error. When False and
            the label column is absent, `labels` is None.
        known_labels: the allowed labels (e.g. the training vocabulary); others are bad rows.
        file_format: "csv", "tsv", "jsonl" or "folder"; overrides detection from the suffix.

    Returns:
        The usable rows, with "path:line" sources (1-based physical lines where a record starts).

    Raises:
        DataError: a missing or empty file, a missing column, or a bad row when not skipping.
    """
    path = Path(source)
    name = str(path)
    fmt = check_source(path, file_format)
    opts = _options(text_column, text_pair_column, label_column, label_separator, clean,
                    require_labels, known_labels)
    if fmt == "folder":
        # The label is the folder name, which no separator splits.
        opts = replace(opts, label_separator=None)
        records, has_labels = folder_records(path), True
    elif fmt == "jsonl":
        records, has_labels = jsonl_records(path, opts)
    else:
        records, has_labels = csv_records(path, "," if fmt == "csv" else "\t", opts)
    return _collect(name, records, has_labels, opts, skip_bad_rows)


def check_source(source: str | os.PathLike, file_format: str | None = None) -> str:
    """The format `read_examples` would read `source` as; raises `DataError` if it cannot.

    Cheap (no row is read): commands call it before loading a model, so a mistyped path
    fails at once.

    Examples:
    >>> check_source("reviews.txt")
    Traceback (most recent call last):
    ...
    bert_keras.errors.DataError: reviews.txt: no such file or directory
    """
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise DataError(f"{name}: no such file or directory")
    fmt = file_format or detect_format(path)
    if fmt not in FORMATS:
        raise DataError(f"{name}: unknown file format {fmt!r}; use one of {', '.join(FORMATS)}")
    if (fmt == "folder") != path.is_dir():
        kind = "a directory" if path.is_dir() else "a file"
        raise DataError(f"{name}: is {kind}, which the {fmt!r} format cannot read")
    return fmt


def from_dataframe(
    df: pd.DataFrame,
    *,
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str | None = "label",
    label_separator: str | None = None,
    clean: bool = False,
    skip_bad_rows: bool = False,
    require_labels: bool = True,
    known_labels: Iterable[str] | None = None,
) -> LabelledTexts:
    """Reads a pandas DataFrame with the same checks as `read_examples`.

    Sources are "<dataframe>:ROW" with ROW the 0-based position (as for `df.iloc`). A label cell
    may also hold a list of labels. Arguments are those of `read_examples`.

    Examples:
    >>> df = pd.DataFrame({"text": ["fine", "awful"], "label": ["pos", "neg"]})
    >>> from_dataframe(df).labels
    [['pos'], ['neg']]
    """
    opts = _options(text_column, text_pair_column, label_column, label_separator, clean,
                    require_labels, known_labels)
    columns = [str(c) for c in df.columns]
    has_labels = check_columns("<dataframe>", columns, opts, "columns")
    def column(name: str | None) -> list:
        return [_plain(v) for v in df[name].tolist()] if name else [None] * len(df)

    rows = zip(column(opts.text_column), column(opts.text_pair_column),
               column(opts.label_column if has_labels else None), strict=True)
    records = [Record("<dataframe>", i, *row) for i, row in enumerate(rows)]
    return _collect("<dataframe>", records, has_labels, opts, skip_bad_rows)


def from_lists(
    texts: Sequence[str],
    labels: Sequence[str | Sequence[str]] | None = None,
    pairs: Sequence[str] | None = None,
    *,
    label_separator: str | None = None,
    clean: bool = False,
    skip_bad_rows: bool = False,
    known_labels: Iterable[str] | None = None,
) -> LabelledTexts:
    """Builds LabelledTexts from Python lists with the same checks as `read_examples`.

    Args:
        texts: the texts.
        labels: one label or a list of labels per text, or None for unlabelled data.
        pairs: the second segments, or None.
        label_separator, clean, skip_bad_rows, known_labels: as in `read_examples`.

    Returns:
        The usable rows, with "<list>:INDEX" sources (0-based).

    Examples:
    >>> from_lists(["fine", "awful"], ["pos", "neg"]).labels
    [['pos'], ['neg']]
    """
    for what, values in (("labels", labels), ("pairs", pairs)):
        if values is not None and len(values) != len(texts):
            raise DataError(f"<list>: {len(texts)} texts but {len(values)} {what}")
    opts = _options("text", "pair" if pairs is not None else None, "label", label_separator,
                    clean, labels is not None, known_labels)
    records = [
        Record("<list>", i, text, None if pairs is None else pairs[i],
               None if labels is None else labels[i])
        for i, text in enumerate(texts)
    ]
    return _collect("<list>", records, labels is not None, opts, skip_bad_rows)


def _options(text_column, text_pair_column, label_column, label_separator, clean,
             require_labels, known_labels) -> Options:
    if require_labels and not label_column:
        raise DataError("require_labels is set but no label column is given")
    known = None if known_labels is None else frozenset(known_labels)
    return Options(text_column, text_pair_column, label_column, label_separator, clean,
                   require_labels, known)


def _plain(value: object) -> object:
    """Turns a pandas cell into a plain Python value; missing cells become None."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return _plain(value.tolist())
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        # A label column with a gap becomes float in pandas: 1.0 means label "1".
        return None if math.isnan(value) else int(value) if value.is_integer() else value
    return value


def _labels(value: object, separator: str | None) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    labels: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ValueError(f"label {item!r} is not a string or an integer")
        parts = str(item).split(separator) if separator else [str(item)]
        labels += [p.strip() for p in parts if p.strip()]
    return list(dict.fromkeys(labels))  # "a|a" is one label


def _segment(value: object, column: str, clean: bool) -> str:
    if value is None:
        raise ValueError(f"missing {column!r}")
    if not isinstance(value, str):
        raise ValueError(f"{column!r} is not a string (got {type(value).__name__})")
    value = clean_text(value) if clean else value
    if not value.strip():
        raise ValueError(f"empty text in {column!r}" + (" after cleaning" if clean else ""))
    return value


def _validate(
    record: Record, opts: Options, has_labels: bool
) -> tuple[str, str | None, list[str] | None]:
    """Returns (text, pair, labels) for a good record; raises ValueError with the reason."""
    if record.error:
        raise ValueError(record.error)
    text = _segment(record.text, opts.text_column, opts.clean)
    pair = (_segment(record.pair, opts.text_pair_column, opts.clean)
            if opts.text_pair_column else None)
    labels = _labels(record.label, opts.label_separator) if has_labels else None
    if opts.require_labels and not labels:
        raise ValueError(f"missing label in {opts.label_column!r}")
    unknown = [x for x in labels or [] if opts.known_labels is not None
               and x not in opts.known_labels]
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; known labels: "
                         f"{listing(sorted(opts.known_labels))}")
    return text, pair, labels


def _collect(name: str, records: list[Record], has_labels: bool, opts: Options,
             skip_bad_rows: bool) -> LabelledTexts:
    if not records:
        raise DataError(f"{name}: no rows")
    data = LabelledTexts([], [] if opts.text_pair_column else None, [] if has_labels else None)
    for record in records:
        try:
            text, pair, labels = _validate(record, opts, has_labels)
        except ValueError as exc:
            data.skipped.append(BadRow(record.path, record.line, str(exc)))
            continue
        data.texts.append(text)
        data.sources.append(f"{record.path}:{record.line}")
        if data.pairs is not None:
            data.pairs.append(pair)
        if data.labels is not None:
            data.labels.append(labels)
    bad = data.skipped
    if bad and not skip_bad_rows:
        more = len(bad) - 1
        hint = (f"{more} more bad row{'s' if more > 1 else ''}; use --skip-bad-rows to skip them"
                if more else "use --skip-bad-rows to skip it")
        raise DataError(f"{bad[0]} ({hint})")
    if not data.texts:
        raise DataError(f"{name}: no usable rows; all {len(bad)} were bad, the first: {bad[0]}")
    return data
