"""The exported models every inference runtime loads, written by bert_keras's own exporters.

    run directory (Classifier("minilm-l6-uncased") saved untrained + config.yaml naming the
    drug-review files) --export_saved_model--> saved_models/bench/1 (float32) and /2 (the
    fastest precision on this machine) --export_tflite--> tflite-{none,float16,dynamic,int8}

The head is untrained: speed does not depend on the head's values (int8 calibrates on the
training texts either way). Exports are cached under the work directory, keyed by the
package's source files and the settings, so a rerun after a package change re-exports.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from speed.common import PRESET, log

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")


def source_key(package_dir: Path, settings: dict) -> str:
    """A digest of the package's .py files and the export settings.

    Examples:
    >>> len(source_key(Path("/nonexistent"), {"max_seq_length": 128}))
    16
    """
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def export_all(job: dict, plan: dict) -> dict:
    """Writes (or finds, for the same key) the run directory and every export.

    The exports are independent and each mostly runs on one core (graph conversion), so
    they run side by side in a pool of processes, one per core (at most 4, for memory).
    """
    from bert_keras.config import TrainConfig
    from bert_keras.data.datasets import prepare_dataset
    from bert_keras.models.classifier import Classifier
    from bert_keras.precision import resolve_precision

    settings = plan["settings"]
    root = Path(job["exports"])
    done = root / "exports.json"
    if done.exists():
        cached = json.loads(done.read_text())
        paths = [cached["run_dir"], *cached["saved_models"].values(),
                 *(b["path"] for b in cached["tflite"].values())]
        if all(Path(p).exists() for p in paths):
            return cached
    shutil.rmtree(root, ignore_errors=True)
    run_dir = root / "run"
    data = prepare_dataset("drug-reviews")
    config = TrainConfig(train=str(data / "train.csv"), test=str(data / "test.csv"),
                         encoder=PRESET, max_seq_length=settings["max_seq_length"],
                         output=str(run_dir))
    run_dir.mkdir(parents=True)
    config.save(run_dir / "config.yaml")
    Classifier(PRESET, plan["label_names"], seq_length=settings["max_seq_length"],
               precision="float32").save_to(run_dir / "model")
    fastest = resolve_precision("auto")
    precisions = list(dict.fromkeys(["float32", fastest]))
    workers = max(1, min(4, os.cpu_count() or 1))
    context = multiprocessing.get_context("spawn")  # a fresh TensorFlow in each worker
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # int8 first: its calibration makes it the longest
        bundles = {q: pool.submit(_tflite, run_dir, root, q, settings)
                   for q in sorted(QUANTIZATIONS, key=lambda q: q != "int8")}
        saved = {precision: pool.submit(_saved_model, run_dir, root, version, precision)
                 for version, precision in enumerate(precisions, start=1)}
        saved = {precision: future.result() for precision, future in saved.items()}
        bundles = {q: bundles[q].result() for q in QUANTIZATIONS}
    summary = {"run_dir": str(run_dir), "saved_models": saved, "tflite": bundles,
               "fastest_precision": fastest}
    done.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _saved_model(run_dir: Path, root: Path, version: int, precision: str) -> str:
    from bert_keras.export.saved_model import export_saved_model

    started = time.monotonic()
    result = export_saved_model(run_dir, name="bench", version=version,
                                base_dir=root / "saved_models", precision=precision,
                                quiet=True)
    log(f"exported the SavedModel ({precision}) in {time.monotonic() - started:.0f} s")
    return str(result.path)


def _tflite(run_dir: Path, root: Path, quantize: str, settings: dict) -> dict:
    from bert_keras.export.tflite import export_tflite

    started = time.monotonic()
    result = export_tflite(run_dir, output=root / f"tflite-{quantize}", quantize=quantize,
                           representative_texts=settings["int8_calibration_texts"],
                           eval_limit=settings["tflite_eval_texts"], quiet=True)
    log(f"exported TFLite ({quantize}) in {time.monotonic() - started:.0f} s")
    return {"path": str(result.path), "bytes": result.report["tflite_bytes"],
            "max_abs_probability_diff": result.report.get("max_abs_probability_diff"),
            "same_label_share": result.report.get("same_label_share")}
