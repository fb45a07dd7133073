"""One measurement as the workers record it, and the keys the report finds it by."""

from __future__ import annotations

from speed.common import peak_rss_mb, summary

FIELDS = ("task", "table", "regime", "framework", "path", "precision", "input", "batch")
_LISTENERS = []


def on_measurement(callback) -> None:
    """Calls `callback(row)` for every measurement made from now on in this process (the
    worker saves each at once, so a job killed later keeps its finished rows)."""
    _LISTENERS.append(callback)


def measurement(*, task: str, table: str, regime: str, framework: str, path: str,
                precision: str, input: str, batch: int, seq: float, runs: list[float],
                requested: str | None = None, note: str | None = None) -> dict:
    """A measured row: examples/s of each repetition (median, min, max) and the process's
    peak resident memory when it finished (measurements run smallest first, so the peak
    so far is this measurement's own or an earlier, smaller one's).

    Args:
        task: "train" or "infer".
        table: "natural" (the texts' own lengths), "fixed" (max_seq_length) or "sweep".
        regime: "identical" (the same batches for every framework: pure compute) or
            "standard" (each framework's own pipeline), or "random ids" (sweep).
        framework: "bert_keras", "pytorch", "keras_hub", "onnxruntime" or "tflite".
        path: what was called (e.g. "SavedModel predict_ids").
        precision: the precision it computed in; requested: the setting asked for.
        input: "ids" or "strings".
        batch: examples per call; seq: the mean padded length it computed at.
        runs: examples/s of each repetition.
        note: what a reader must know to read the row.

    Examples:
    >>> row = measurement(task="infer", table="fixed", regime="identical", framework="x",
    ...                   path="p", precision="float32", input="ids", batch=1, seq=128,
    ...                   runs=[3.0, 1.0, 2.0])
    >>> row["median"], row["min"], row["max"]
    (2.0, 1.0, 3.0)
    """
    row = {"task": task, "table": table, "regime": regime, "framework": framework,
           "path": path, "precision": precision, "requested": requested or precision,
           "input": input, "batch": int(batch), "seq": round(float(seq), 1),
           **summary(runs), "peak_rss_mb": round(peak_rss_mb(), 1), "note": note}
    for callback in _LISTENERS:
        callback(row)
    return row
