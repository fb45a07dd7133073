"""Vector files: written batch by batch (bounded memory), read back for `similar`.

An output is a directory:

    meta.json                 model, pooling, kind ("sentences" | "tokens"), format, count, dim
    vectors.npy + index.tsv   --format npy: float32 [count, dim]; index rows (line, text) or
                              (line, position, token), a header first, tab-separated, quoted
                              as CSV where needed
    vectors.parquet           --format parquet: the index columns plus `vector` (float32 list)
    vectors.csv               --format csv: the index columns plus v0 .. v{dim-1}
    projector/                --projector: vectors.tsv, metadata.tsv, projector_config.pbtxt
                              (TensorBoard's projector: `tensorboard --logdir OUT/projector`)
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bert_keras.errors import BertKerasError

FORMATS = ("npy", "parquet", "csv")
META_FILE = "meta.json"
COLUMNS = {"sentences": ("line", "text"), "tokens": ("line", "position", "token")}
_PROJECTOR_CONFIG = """embeddings {{
  tensor_name: "{name}"
  tensor_path: "vectors.tsv"
  metadata_path: "metadata.tsv"
}}
"""


def _flat(value: object) -> str:
    # TensorBoard's metadata.tsv has no quoting: a tab or newline would shift columns.
    return " ".join(str(value).split())


class VectorWriter:
    """Appends (index row, vector) batches to an output directory's files.

    Args:
        directory: an existing (temporary) directory to write into.
        fmt: "npy", "parquet" or "csv".
        kind: "sentences" or "tokens" (chooses the index columns).
        projector: also write TensorBoard projector files.

    Examples:

        writer = VectorWriter(tmp, "npy", "sentences")
        writer.write([(1, "a text")], vectors)
        writer.close({"model": "minilm-l6-uncased"})
    """

    def __init__(self, directory: Path, fmt: str = "npy", kind: str = "sentences",
                 projector: bool = False):
        if fmt not in FORMATS:
            raise BertKerasError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        self.directory, self.fmt, self.kind = Path(directory), fmt, kind
        self.columns = COLUMNS[kind]
        self.count, self.dim = 0, None
        self._files: list = []
        self._parquet = None
        if fmt == "npy":
            self._raw = self._open("vectors.f32", "wb")
            self._index = csv.writer(self._open("index.tsv", "w"), delimiter="\t")
            self._index.writerow(self.columns)
        elif fmt == "csv":
            self._csv = csv.writer(self._open("vectors.csv", "w"))
        self.projector = projector
        if projector:
            (self.directory / "projector").mkdir()
            self._tsv = self._open("projector/vectors.tsv", "w")
            self._metadata = self._open("projector/metadata.tsv", "w")
            self._metadata.write("\t".join(self.columns) + "\n")

    def _open(self, name: str, mode: str):
        handle = open(self.directory / name, mode,  # noqa: SIM115 - closed in close()
                      **({} if "b" in mode else {"encoding": "utf-8", "newline": ""}))
        self._files.append(handle)
        return handle

    def write(self, rows: Sequence[tuple], vectors: np.ndarray) -> None:
        """Appends one batch: `rows[i]` is the index row of `vectors[i]`."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        if self.dim is None:
            self.dim = int(vectors.shape[1])
            if self.fmt == "csv":
                self._csv.writerow([*self.columns, *(f"v{i}" for i in range(self.dim))])
        if self.fmt == "npy":
            self._raw.write(vectors.tobytes())
            self._index.writerows(rows)
        elif self.fmt == "csv":
            self._csv.writerows([*row, *(f"{x:.7g}" for x in vec)]
                                for row, vec in zip(rows, vectors, strict=True))
        else:
            self._write_parquet(rows, vectors)
        if self.projector:
            self._tsv.writelines("\t".join(f"{x:.7g}" for x in vec) + "\n" for vec in vectors)
            self._metadata.writelines("\t".join(_flat(v) for v in row) + "\n" for row in rows)
        self.count += len(rows)

    def _write_parquet(self, rows: Sequence[tuple], vectors: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [row[i] for row in rows] for i, name in enumerate(self.columns)}
        columns["vector"] = pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1), pa.float32()), self.dim)
        table = pa.table(columns)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.directory / "vectors.parquet", table.schema)
        self._parquet.write_table(table)

    def close(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Finishes the files and writes meta.json; returns the full metadata."""
        for handle in self._files:
            handle.close()
        if self._parquet is not None:
            self._parquet.close()
        if self.fmt == "npy":
            _raw_to_npy(self.directory / "vectors.f32", self.directory / "vectors.npy",
                        self.count, self.dim or 0)
        if self.projector:
            name = f"{meta.get('model', 'bert_keras')} {self.kind}"
            (self.directory / "projector" / "projector_config.pbtxt").write_text(
                _PROJECTOR_CONFIG.format(name=_flat(name).replace('"', "'")), encoding="utf-8")
        meta = {**meta, "kind": self.kind, "format": self.fmt, "count": self.count,
                "dim": self.dim, "projector": self.projector}
        (self.directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n",
                                                encoding="utf-8")
        return meta


def _raw_to_npy(raw: Path, target: Path, count: int, dim: int) -> None:
    # The row count is known only at the end: stream the raw floats behind an .npy header.
    with open(target, "wb") as out, open(raw, "rb") as source:
        np.lib.format.write_array_header_1_0(
            out, {"descr": "<f4", "fortran_order": False, "shape": (count, dim)})
        shutil.copyfileobj(source, out, length=1 << 22)
    raw.unlink()


def read_meta(directory: str | Path) -> dict[str, Any]:
    """The metadata of an output directory written by `bert-keras embed`."""
    path = Path(directory) / META_FILE
    if not path.exists():
        raise BertKerasError(f"{directory}: no {META_FILE}; not an output of bert-keras embed")
    return json.loads(path.read_text(encoding="utf-8"))


def iter_vectors(directory: str | Path, chunk: int = 4096) -> Iterator[np.ndarray]:
    """Yields the stored vectors in order, `chunk` rows at a time."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta["format"] == "npy":
        vectors = np.load(directory / "vectors.npy", mmap_mode="r")
        for start in range(0, len(vectors), chunk):
            yield np.asarray(vectors[start:start + chunk], np.float32)
    elif meta["format"] == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(directory / "vectors.parquet").iter_batches(
                batch_size=chunk, columns=["vector"]):
            values = batch.column(0).flatten().to_numpy(zero_copy_only=False)
            yield values.reshape(-1, meta["dim"]).astype(np.float32)
    else:
        import pandas as pd

        skip = len(COLUMNS[meta["kind"]])
        for frame in pd.read_csv(directory / "vectors.csv", chunksize=chunk,
                                 keep_default_na=False):
            yield frame.iloc[:, skip:].to_numpy(np.float32)


def index_rows(directory: str | Path, wanted: Sequence[int]) -> dict[int, tuple]:
    """The index rows (line, text / line, position, token) at the positions `wanted`."""
    directory = Path(directory)
    meta = read_meta(directory)
    wanted_set, found = set(wanted), {}
    width = len(COLUMNS[meta["kind"]])
    if meta["format"] == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(directory / "vectors.parquet", columns=list(COLUMNS[meta["kind"]]))
        return {i: tuple(table.column(c)[i].as_py() for c in range(width)) for i in wanted_set}
    name = "index.tsv" if meta["format"] == "npy" else "vectors.csv"
    with open(directory / name, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t" if name == "index.tsv" else ",")
        next(reader)  # the header
        for position, row in enumerate(reader):
            if position in wanted_set:
                # line and position are integers; the last column is the text / token
                found[position] = (*map(int, row[:width - 1]), row[width - 1])
                if len(found) == len(wanted_set):
                    break
    return found
