"""Parses the file formats that `readers.read_examples` accepts into raw, unvalidated records.

CSV/TSV with a header row, JSON Lines and folders of class sub-folders each become a list of
`Record`s that keep their file and 1-based physical line; rows that cannot even be parsed carry
an `error`. Checking the values (texts, labels) is `readers`' job.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bert_keras.errors import DataError

_BOM = b"\xef\xbb\xbf"
FORMATS = ("csv", "tsv", "jsonl", "folder")
# JSON Lines rows of aspect data: {"text": ..., "aspects": {"price": "negative", ...}}
ASPECTS_KEY = "aspects"
_SUFFIX_FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "jsonl",
}
_MAX_LISTED = 20  # longer label or column lists are cut in messages


@dataclass
class Record:
    """One raw row before validation; `error` is set when it could not even be parsed."""

    path: str
    line: int
    text: object = None
    pair: object = None
    label: object = None
    error: str | None = None


@dataclass(frozen=True)
class Options:
    """What to read and how; built and checked by `readers`."""

    text_column: str
    text_pair_column: str | None
    label_column: str | None
    label_separator: str | None
    clean: bool
    require_labels: bool
    known_labels: frozenset[str] | None


def detect_format(path: Path) -> str:
    """Returns the format for a path: "folder" for a directory, else from the suffix."""
    if path.is_dir():
        return "folder"
    fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
                        f"name a {', '.join(_SUFFIX_FORMATS)} file or a folder of class "
                        f"sub-folders (Python callers can pass file_format: "
                        f"{', '.join(FORMATS)})")
    return fmt


def listing(items: Iterable[str]) -> str:
    """Quotes and joins names for a message, cut after the first few."""
    items = list(items)
    shown = ", ".join(repr(i) for i in items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def check_columns(name: str, found: Sequence[str], opts: Options, what: str) -> bool:
    """Raises on a missing text, pair or (required) label column; returns whether labels exist."""
    has_labels = bool(opts.label_column) and opts.label_column in found
    wanted = [opts.text_column, opts.text_pair_column]
    wanted += [opts.label_column] if opts.require_labels else []
    missing = [c for c in wanted if c and c not in found]
    if missing:
        raise DataError(f"{name}: no {listing(missing)} in the {what}; "
                        f"{what} found: {listing(found) or 'none'}")
    return has_labels


def _decode(raw: bytes, offset: int) -> tuple[str, str | None]:
    """Decodes UTF-8; on failure keeps bad bytes as surrogates and says where (file offset)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return raw.decode("utf-8", "surrogateescape"), (
            f"invalid UTF-8 at byte offset {offset + exc.start} (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8")


def _read_lines(path: Path) -> tuple[list[str], list[str | None]]:
    """Decodes a file line by line; returns the lines and, per line, a UTF-8 error or None.

    Invalid bytes are kept as surrogates so that the line count stays right; rows holding them
    are reported, never used.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    offset = len(_BOM) if raw.startswith(_BOM) else 0
    lines, errors = [], []
    # Lines end at b"\n" only, as grep -n and sed count them; a lone b"\r" stays inside.
    for line in io.BytesIO(raw[offset:]):
        text, error = _decode(line, offset)
        lines.append(text)
        errors.append(error)
        offset += len(line)
    if not any(line.strip() for line in lines):
        raise DataError(f"{path}: the file is empty")
    return lines, errors


def csv_records(path: Path, delimiter: str, opts: Options) -> tuple[list[Record], bool]:
    """Parses a CSV/TSV file with a header row; returns the records and whether labels exist."""
    name = str(path)
    lines, errors = _read_lines(path)
    consumed = 0  # physical lines handed to the csv reader so far

    def feed() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    # strict: a stray quote is reported as a bad row instead of silently merging fields.
    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    records: list[Record] = []
    has_labels, index = False, {}
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is None:
                raise DataError(f"{name}:{start}: cannot parse the header ({exc})") from exc
            records.append(Record(name, start, error=_csv_error(str(exc), consumed)))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line holds no example
        bad_bytes = next((e for e in errors[start - 1:consumed] if e), None)
        if header is None:
            if bad_bytes:
                raise DataError(f"{name}:{start}: header row: {bad_bytes}")
            header = [h.strip() for h in row]
            has_labels = check_columns(name, header, opts, "header")
            index = {c: header.index(c) for c in header}  # the first of duplicate names wins
        elif bad_bytes:
            records.append(Record(name, start, error=bad_bytes))
        elif len(row) != len(header):
            records.append(Record(name, start, error=f"expected {len(header)} fields as in the "
                                  f"header, found {len(row)}"))
        else:
            records.append(Record(
                name, start, row[index[opts.text_column]],
                row[index[opts.text_pair_column]] if opts.text_pair_column else None,
                row[index[opts.label_column]] if has_labels else None))
    return records, has_labels


def _csv_error(message: str, last_line: int) -> str:
    if "unexpected end of data" in message:
        return f"unclosed quote: the field runs to the end of the file (line {last_line})"
    if "expected after" in message:
        return (f"malformed quoting ({message}): quote the whole field and double any "
                "quote inside it")
    if "new-line character" in message:
        return "a carriage return (\\r) inside an unquoted field; quote the field"
    return f"cannot parse the row ({message})"


def jsonl_records(path: Path, opts: Options) -> tuple[list[Record], bool]:
    """Parses a JSON Lines file; returns the records and whether labels exist."""
    name = str(path)
    lines, errors = _read_lines(path)
    if "".join(lines).lstrip().startswith("["):
        raise DataError(f"{name}: holds a JSON array; expected JSON Lines (one object per line)")
    records: list[Record] = []
    keys: set[str] = set()
    for number, (line, error) in enumerate(zip(lines, errors, strict=True), start=1):
        if not line.strip():
            continue
        if error:
            records.append(Record(name, number, error=error))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            records.append(Record(name, number, error=f"invalid JSON ({exc.msg}, column "
                                  f"{exc.colno})"))
            continue
        if not isinstance(obj, dict):
            records.append(Record(name, number, error="expected a JSON object, found "
                                  f"{type(obj).__name__}"))
            continue
        keys.update(obj)
        if opts.text_pair_column and opts.text_pair_column not in obj and ASPECTS_KEY in obj:
            records += _aspect_records(name, number, obj, opts)
            keys.update({opts.text_pair_column, opts.label_column})
            continue
        records.append(Record(name, number, obj.get(opts.text_column),
                              obj.get(opts.text_pair_column) if opts.text_pair_column else None,
                              obj.get(opts.label_column) if opts.label_column else None))
    if not keys:  # no row parsed: let the bad rows speak
        return records, False
    # A key that no row has is a wrong column name, not a bad row on every line.
    return records, check_columns(name, sorted(keys), opts, "keys")


def _aspect_records(name: str, number: int, obj: dict, opts: Options) -> list[Record]:
    """One record per aspect of `{"text": ..., "aspects": {"price": "negative", ...}}`
    (or, to predict, `"aspects": ["price", ...]`)."""
    aspects = obj[ASPECTS_KEY]
    if isinstance(aspects, list):
        aspects = dict.fromkeys(aspects)
    if not isinstance(aspects, dict) or not aspects:
        return [Record(name, number, error=f"{ASPECTS_KEY!r} must be a non-empty object "
                       "of aspect: label (or a list of aspects)")]
    return [Record(name, number, obj.get(opts.text_column), aspect, label)
            for aspect, label in aspects.items()]


def folder_records(path: Path) -> list[Record]:
    """Reads CLASS/*.txt files under path, one record a file, labelled by its folder."""
    records = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if file.is_dir() or any(part.startswith(".") for part in relative.parts):
            continue  # hidden files (.DS_Store, .git) are not data
        name = str(file)
        if len(relative.parts) == 1:
            records.append(Record(name, 1, error="not inside a class folder"))
        elif file.suffix.lower() != ".txt":
            records.append(Record(name, 1, error="not a .txt file"))
        else:
            raw = file.read_bytes()
            offset = len(_BOM) if raw.startswith(_BOM) else 0
            text, error = _decode(raw[offset:], offset)
            records.append(Record(name, 1, text, None, relative.parts[0], error))
    if not records:
        raise DataError(f"{path}: no class folders with .txt files")
    return records
