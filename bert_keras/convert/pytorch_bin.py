"""Reads `pytorch_model.bin` (PyTorch's zip format) into NumPy without importing torch.

torch is a development dependency only; a preset that ships `pytorch_model.bin` must still
prepare on a machine without it. The pickle inside is read with an unpickler that admits
only tensors, storages and `OrderedDict`, so a weights file cannot run code.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path

import numpy as np

from bert_keras.errors import ConversionError

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


def is_zip_checkpoint(path: str | Path) -> bool:
    """Whether `path` is a PyTorch >= 1.6 zip checkpoint (older pickles need torch)."""
    return zipfile.is_zipfile(path)


def read_pytorch_bin(path: str | Path) -> dict[str, np.ndarray]:
    """Reads a state dict saved by `torch.save` as float32 / integer NumPy arrays.

    Args:
        path: a zip-format `pytorch_model.bin`.

    Returns:
        The tensors by name; bfloat16 tensors are widened to float32.

    Examples:
    >>> import pathlib, tempfile
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "pytorch_model.bin"
    >>> _ = bad.write_bytes(b"not a zip")
    >>> read_pytorch_bin(bad)
    Traceback (most recent call last):
    ...
    bert_keras.errors.ConversionError: ...: not a zip-format PyTorch checkpoint ...
    """
    path = Path(path)
    if not is_zip_checkpoint(path):
        raise ConversionError(f"{path}: not a zip-format PyTorch checkpoint (torch.save "
                              "before PyTorch 1.6?); load it with torch instead.")
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ConversionError(f"{path}: expected one data.pkl, found {len(pickles)}.")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in archive.namelist() and archive.read(byteorder) != b"little":
            raise ConversionError(f"{path}: big-endian checkpoints are not supported.")
        with archive.open(pickles[0]) as f:
            state = _Unpickler(f, archive, prefix).load()
    if not isinstance(state, dict):
        raise ConversionError(f"{path}: holds a {type(state).__name__}, not a state dict.")
    return dict(state)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return lambda data, *_: data
        if module == "torch" and name in _DTYPES:
            return name  # a storage type: persistent_load maps it to a dtype
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, _numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        if key not in self._storages:
            data = np.frombuffer(self._archive.read(f"{self._prefix}data/{key}"),
                                 dtype=_DTYPES[storage_type])
            if storage_type == "BFloat16Storage":  # bfloat16 is float32's upper half
                data = (data.astype(np.uint32) << 16).view(np.float32)
            self._storages[key] = data
        return self._storages[key]


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple,
                    *_unused) -> np.ndarray:
    strides = tuple(s * storage.itemsize for s in stride)
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size), strides=strides)
    return np.array(view)  # a copy: as_strided views may overlap and are read-only
