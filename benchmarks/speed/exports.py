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
import shutil
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
    """Writes (or finds, for the same key) the run directory and every export."""
    from bert_keras.config import TrainConfig
    from bert_keras.data.datasets import prepare_dataset
    from bert_keras.export.saved_model import export_saved_model
    from bert_keras.export.tflite import export_tflite
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
    saved = {}
    for version, precision in enumerate(dict.fromkeys(["float32", fastest]), start=1):
        log(f"exporting the SavedModel ({precision})")
        result = export_saved_model(run_dir, name="bench", version=version,
                                    base_dir=root / "saved_models", precision=precision,
                                    quiet=True)
        saved[precision] = str(result.path)
    bundles = {}
    for quantize in QUANTIZATIONS:
        log(f"exporting TFLite ({quantize})")
        result = export_tflite(run_dir, output=root / f"tflite-{quantize}", quantize=quantize,
                               representative_texts=settings["int8_calibration_texts"],
                               eval_limit=settings["tflite_eval_texts"], quiet=True)
        bundles[quantize] = {"path": str(result.path), "bytes": result.report["tflite_bytes"],
                             "max_abs_probability_diff":
                                 result.report.get("max_abs_probability_diff"),
                             "same_label_share": result.report.get("same_label_share")}
    summary = {"run_dir": str(run_dir), "saved_models": saved, "tflite": bundles,
               "fastest_precision": fastest}
    done.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
