"""TensorFlow-free inference helpers for ARM boards and phones.

Nothing under `bert_keras.lite` imports TensorFlow: a board needs only NumPy (and
`ai-edge-litert` to run a `.tflite` model).

Examples:
>>> from bert_keras.lite import WordPieceTokenizer
>>> WordPieceTokenizer.__name__
'WordPieceTokenizer'
"""

from __future__ import annotations

from bert_keras.lite.wordpiece import WordPieceTokenizer

__all__ = ["WordPieceTokenizer"]
