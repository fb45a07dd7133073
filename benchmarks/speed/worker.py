"""Runs one measuring job in this process: `python -m speed.worker JOB.json`.

The job file names the kind of job, its settings, the plan file and where the result goes;
`run_all.py` starts each job in its own process, so that each reports its own peak memory
and no framework's threads or caches leak into another's timing.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

# kind: (module, function, module whose versions() the result records)
KINDS = {
    "prepare": ("speed.bert_keras_worker", "prepare", "speed.bert_keras_worker"),
    "export": ("speed.exports", "export_all", "speed.bert_keras_worker"),
    "bert_keras_train": ("speed.bert_keras_worker", "train", "speed.bert_keras_worker"),
    "bert_keras_predict": ("speed.bert_keras_worker", "classifier_predict",
                           "speed.bert_keras_worker"),
    "saved_model": ("speed.bert_keras_worker", "saved_model", "speed.bert_keras_worker"),
    "sweep": ("speed.bert_keras_worker", "sweep", "speed.bert_keras_worker"),
    "pytorch_train": ("speed.torch_worker", "train", "speed.torch_worker"),
    "pytorch_infer": ("speed.torch_worker", "infer", "speed.torch_worker"),
    "keras_hub_train": ("speed.keras_hub_worker", "train", "speed.keras_hub_worker"),
    "keras_hub_infer": ("speed.keras_hub_worker", "infer", "speed.keras_hub_worker"),
    "onnx_convert": ("speed.runtime_worker", "onnx_convert", "speed.runtime_worker"),
    "onnx_infer": ("speed.runtime_worker", "onnx_infer", "speed.runtime_worker"),
    "tflite_infer": ("speed.runtime_worker", "tflite_infer", "speed.runtime_worker"),
    "tflite_in_turns": ("speed.runtime_worker", "tflite_in_turns", "speed.runtime_worker"),
}


def run(job: dict) -> dict:
    """Runs `job`; returns what it measured (or made) with the framework versions."""
    module, function, versions = KINDS[job["kind"]]
    plan = None
    if job["kind"] != "prepare":
        plan = json.loads(Path(job["plan"]).read_text(encoding="utf-8"))
    started = time.monotonic()
    output = getattr(importlib.import_module(module), function)(job, plan)
    result = {"job": job["name"], "kind": job["kind"],
              "seconds": round(time.monotonic() - started, 1),
              "versions": importlib.import_module(versions).versions()}
    result["measurements" if isinstance(output, list) else "output"] = output
    return result


def partial_file(out: str | Path) -> Path:
    """Where a job keeps the rows it finished while it still runs."""
    return Path(f"{out}.partial")


def main(argv: list[str]) -> int:
    from speed.results import on_measurement

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    finished = []

    def keep(row: dict) -> None:
        finished.append(row)
        partial_file(job["out"]).write_text(json.dumps(finished), encoding="utf-8")

    on_measurement(keep)
    result = run(job)
    Path(job["out"]).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    partial_file(job["out"]).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
