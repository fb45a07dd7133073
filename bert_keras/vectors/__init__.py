"""Sentence, token and token-table vectors from a BERT encoder.

Modules: `encoder` (strings to token vectors), `embedding` (pooling, per-token vectors),
`files` (a text file streamed to vector files), `outputs` (the file formats), `table`
(token vector tables), `similar` (nearest neighbours). Imported lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TextEncoder": "bert_keras.vectors.encoder",
    "embed": "bert_keras.vectors.embedding",
    "embed_tokens": "bert_keras.vectors.embedding",
    "TokenVectors": "bert_keras.vectors.embedding",
    "embed_file": "bert_keras.vectors.files",
    "build_table": "bert_keras.vectors.table",
    "load_table": "bert_keras.vectors.table",
    "embedding_matrix": "bert_keras.vectors.table",
    "embedding_initializer": "bert_keras.vectors.table",
    "nearest": "bert_keras.vectors.similar",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bert_keras.vectors' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
