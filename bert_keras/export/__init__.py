"""Exports of trained runs: `saved_model(...)` for TF Serving (`bert-keras export`).

Examples:

    from bert_keras import export
    result = export.saved_model("runs/drug-reviews-minilm-l6-uncased", name="reviews")
    result.path  # saved_models/reviews/1
"""

from __future__ import annotations

from bert_keras.export.saved_model import ExportError, ExportResult, export_saved_model

# `bert_keras.export.saved_model` is the function; the module stays importable by its
# full name (`from bert_keras.export.saved_model import export_saved_model`).
saved_model = export_saved_model

__all__ = ["ExportError", "ExportResult", "export_saved_model", "saved_model"]
