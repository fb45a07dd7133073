"""The local cache ($BERT_KERAS_HOME) and atomic writes into it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

HOME_ENV = "BERT_KERAS_HOME"


def home() -> Path:
    """Returns the cache root: `$BERT_KERAS_HOME`, default `~/.cache/bert_keras`."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "bert_keras").expanduser()


def sha256_of(path: str | os.PathLike) -> str:
    """Returns the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_directory(final: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yields a temporary directory that becomes `final` only if the block succeeds.

    The temporary directory is a hidden sibling of `final` (same file system, so the
    rename is atomic); a killed process leaves only that hidden directory, which no
    reader trusts and the next run removes.

    Args:
        final: the directory to create.
        overwrite: replace `final` if it exists; otherwise an existing `final` is an error.

    Examples:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "model") as tmp:
    ...     _ = (tmp / "weights").write_text("ok")
    >>> sorted(p.name for p in root.iterdir())
    ['model']
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists")
    remove_stale_temporaries(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temporaries(final: Path) -> None:
    """Removes temporaries that killed runs left beside `final`."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
