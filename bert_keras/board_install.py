"""Clear errors on a board install (`BERT_KERAS_LITE_ONLY=1 pip install .`).

A board install has NumPy and LiteRT but not the TensorFlow stack, so only
`bert_keras.lite` works there. Without this hook, importing `bert_keras.training` on a
board ends in a bare "No module named 'tensorflow'"; with it the error says why and what to
install. The hook sits last on `sys.meta_path`, so it only answers for a module that no
other finder found: it never hides an installed package.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

TENSORFLOW_STACK = ("tensorflow", "tensorflow_text", "tensorflow_hub", "tf_keras", "official")
MESSAGE = ("{module!r} is not installed, so only bert_keras.lite works here (a board install, "
           "BERT_KERAS_LITE_ONLY=1, has NumPy and LiteRT only); for training and export "
           "install bert_keras without BERT_KERAS_LITE_ONLY")


class MissingStackFinder(importlib.abc.MetaPathFinder):
    """Turns the import of a missing TensorFlow-stack module into a one-line reason."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in TENSORFLOW_STACK:
            raise ModuleNotFoundError(MESSAGE.format(module=top), name=top)
        return None


def install_hook_if_board() -> bool:
    """Adds `MissingStackFinder` when TensorFlow is not installed; returns whether it did."""
    if importlib.util.find_spec("tensorflow") is not None:
        return False
    if not any(isinstance(f, MissingStackFinder) for f in sys.meta_path):
        sys.meta_path.append(MissingStackFinder())
    return True
