"""`scripts/check_arm64.sh`: LiteClassifier under an emulated arm64 board equals x86_64.

Exports the tiny random BERT as a float32 and an int8 bundle and runs the script on both:
it builds (or reuses, from `$BERT_KERAS_HOME/arm64`) an arm64 Debian Python under
qemu-user with the board requirement set, and compares token ids, probabilities (float32)
and labels (int8) with the host's run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_training import labelled_rows, write_csv

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_arm64.sh"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(platform.machine() != "x86_64" or shutil.which("apt-get") is None,
                       reason="the arm64 check needs an x86_64 Debian-family host"),
]


def tiny_bundles(handle: Path, root: Path) -> dict[str, Path]:
    """The tiny BERT trained for one epoch (32 tokens), exported float32 and int8."""
    from bert_keras.config import TrainConfig
    from bert_keras.export.tflite import export_tflite
    from bert_keras.training import train

    write_csv(root / "train.csv", labelled_rows(48, seed=0))
    write_csv(root / "test.csv", labelled_rows(24, seed=5))
    train(TrainConfig(train=str(root / "train.csv"), test=str(root / "test.csv"),
                      output=str(root / "run"), encoder=str(handle), epochs=1,
                      batch_size=8, max_seq_length=32, learning_rate=5e-3,
                      early_stopping_patience=0, backup_every_steps=10))
    return {q: export_tflite(root / "run", root / f"tiny-{q}", quantize=q, quiet=True).path
            for q in ("none", "int8")}


def test_arm64_lite_classifier_matches_x86(tiny_handle, tmp_path):
    bundles = tiny_bundles(tiny_handle, tmp_path)
    record_file = tmp_path / "arm64_check.json"
    result = subprocess.run(
        [str(SCRIPT), "--record", str(record_file), str(bundles["none"]),
         str(bundles["int8"])],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "arm64 check passed" in result.stdout
    record = json.loads(record_file.read_text(encoding="utf-8"))
    assert record["passed"] is True
    assert record["arm64"]["machine"] == "aarch64" and record["x86"]["machine"] == "x86_64"
    assert record["qemu"].startswith("qemu-aarch64 version 10.")
    float32 = record["bundles"][str(bundles["none"].resolve())]
    int8 = record["bundles"][str(bundles["int8"].resolve())]
    assert float32["quantization"] == "none" and int8["quantization"] == "int8"
    assert float32["ids_identical"] and int8["ids_identical"]
    assert float32["max_abs_prob_diff"] <= 1e-4
    assert int8["labels_equal"]
    assert float32["texts"] == int8["texts"] >= 8
