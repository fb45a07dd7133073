"""TensorFlow-free inference helpers for ARM boards and phones.

Nothing under `bert_keras.lite` imports TensorFlow: a board needs only NumPy (and
`ai-edge-litert` to run a `.tflite` model).

Examples:
>>> from bert_keras.lite import LiteClassifier, LitePreprocessor, WordPieceTokenizer
>>> LiteClassifier.__name__, LitePreprocessor.__name__, WordPieceTokenizer.__name__
('LiteClassifier', 'LitePreprocessor', 'WordPieceTokenizer')
"""

from __future__ import annotations

from bert_keras.lite.classifier import BundleError, LiteClassifier
from bert_keras.lite.preprocessor import LitePreprocessor
from bert_keras.lite.wordpiece import WordPieceTokenizer

__all__ = ["BundleError", "LiteClassifier", "LitePreprocessor", "WordPieceTokenizer"]
