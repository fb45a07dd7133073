"""Reads pre-training corpora: UTF-8 text files holding one document a line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from bert_keras.errors import DataError


def check_corpus(files: Iterable[str | Path]) -> list[Path]:
    """Checks that every corpus file exists and holds at least one non-blank line.

    Only the start of each file is read (up to its first non-blank line), so a large
    corpus costs nothing here.

    Args:
        files: the corpus files.

    Returns:
        The files as paths.

    Raises:
        DataError: no files, a file is missing or unreadable, or holds no text.
    """
    paths = [Path(f) for f in files]
    if not paths:
        raise DataError("no corpus files given")
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: corpus file not found")
        try:
            has_text = any(line.strip() for line in _lines(path))
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte "
                            f"{error.start})") from None
        if not has_text:
            raise DataError(f"{path}: the corpus file is empty (no non-blank line); "
                            "a corpus holds one document a line")
    return paths


def iter_documents(files: Iterable[str | Path]) -> Iterator[str]:
    """Yields the documents of `files` in order: every non-blank line, stripped.

    Streams the files line by line (bounded memory whatever their size). Blank lines
    are skipped; a document is never longer than its line (a line longer than the
    sequence length is split later, by the packer, not dropped).

    Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "corpus.txt"
    >>> _ = path.write_text("first document\\n\\n  second one  \\n", encoding="utf-8")
    >>> list(iter_documents([path]))
    ['first document', 'second one']
    """
    for path in files:
        for line in _lines(Path(path)):
            text = line.strip()
            if text:
                yield text


def _lines(path: Path) -> Iterator[str]:
    # newline="\n": only line feeds end a document (not U+2028 or lone carriage returns).
    with open(path, encoding="utf-8", newline="\n") as f:
        yield from f
