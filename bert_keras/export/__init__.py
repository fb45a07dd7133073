"""Exports of trained runs: `saved_model(...)` for TF Serving and `tflite(...)` for phones
and ARM boards (`bert-keras export [--format tflite]`).

Examples:

    from bert_keras import export
    result = export.saved_model("runs/drug-reviews-minilm-l6-uncased", name="reviews")
    result.path  # saved_models/reviews/1
    bundle = export.tflite("runs/drug-reviews-minilm-l6-uncased", quantize="int8")
    bundle.path  # runs/drug-reviews-minilm-l6-uncased/tflite-int8
"""

from __future__ import annotations

from bert_keras.export.saved_model import ExportError, ExportResult, export_saved_model
from bert_keras.export.tflite import TFLiteResult, export_tflite

# `bert_keras.export.saved_model` is the function; the module stays importable by its
# full name (`from bert_keras.export.saved_model import export_saved_model`).
saved_model = export_saved_model
tflite = export_tflite

__all__ = ["ExportError", "ExportResult", "TFLiteResult", "export_saved_model", "export_tflite",
           "saved_model", "tflite"]
