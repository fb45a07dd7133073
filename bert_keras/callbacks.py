"""Callbacks that keep a run's best model across interruptions."""

from __future__ import annotations

import json
import math
from pathlib import Path

import tf_keras as keras


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the weights whenever a validation metric improves, remembering the best value
    on disk, so a resumed run does not overwrite a better checkpoint with a worse one.

    Args:
        directory: where `best` weights and `best.json` are written.
        monitor: the logged metric, e.g. "val_macro_f1" or "val_loss".
        mode: "max" or "min" ("auto": min for losses, max otherwise).
    """

    def __init__(self, directory: str | Path, monitor: str = "val_macro_f1", mode: str = "auto"):
        super().__init__()
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = ("min" if "loss" in monitor else "max") if mode == "auto" else mode
        self.record = self.directory / "best.json"

    @property
    def weights_path(self) -> str:
        return str(self.directory / "best")

    def best(self) -> dict | None:
        if self.record.exists():
            return json.loads(self.record.read_text())
        return None

    def _improves(self, value: float) -> bool:
        best = self.best()
        if best is None:
            return True
        return value > best["value"] if self.mode == "max" else value < best["value"]

    def on_epoch_end(self, epoch: int, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or math.isnan(value):
            return
        if self._improves(float(value)):
            self.directory.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(self.weights_path)
            # The record is written after the weights: a kill in between keeps the old pair.
            tmp = self.record.with_suffix(".tmp")
            tmp.write_text(json.dumps({"epoch": epoch + 1, "monitor": self.monitor,
                                       "value": float(value)}))
            tmp.replace(self.record)
