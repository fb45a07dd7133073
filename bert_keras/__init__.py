"""bert_keras: fine-tune TF-Hub BERT encoders for text classification with tf_keras.

The public API is imported lazily so that `import bert_keras` stays fast and the
TensorFlow stack loads only when a function that needs it is called.
"""

from __future__ import annotations

import importlib
from typing import Any

from bert_keras.board_install import install_hook_if_board
from bert_keras.version import __version__

install_hook_if_board()

_EXPORTS = {
    "load_encoder": "bert_keras.hub.loader",
    "EncoderLayers": "bert_keras.hub.loader",
    "resolve_handle": "bert_keras.hub.handles",
    "presets": "bert_keras.hub.presets",
    "Preset": "bert_keras.hub.presets",
    "prepare_preset": "bert_keras.hub.prepare",
    "prepare_dataset": "bert_keras.data.datasets",
    "convert_hf": "bert_keras.convert.hf",
    "BertKerasError": "bert_keras.errors",
    "Classifier": "bert_keras.models.classifier",
    "TrainConfig": "bert_keras.config",
    "train": "bert_keras.training",
    "evaluate": "bert_keras.training",
    "get_loss": "bert_keras.losses",
    "export_saved_model": "bert_keras.export.saved_model",
    "embed": "bert_keras.vectors.embedding",
    "pretrain": "bert_keras.pretraining.run",
    "PretrainConfig": "bert_keras.pretraining.run",
    "masked_lm_loss": "bert_keras.pretraining.run",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bert_keras' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
