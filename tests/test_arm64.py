"""`scripts/check_arm64.sh`: LiteClassifier under an emulated arm64 board equals x86_64.

Takes the tiny random BERT's float32 and int8 bundles (conftest) and runs the script on both:
it builds (or reuses, from `$BERT_KERAS_HOME/arm64`) an arm64 Debian Python under
qemu-user with the board requirement set, and compares token ids, probabilities (float32)
and labels (int8) with the host's run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_arm64.sh"

# Needs an x86_64 Debian-family host with apt (the CI machine is one); elsewhere the script
# stops with a message saying so.
pytestmark = pytest.mark.slow


def test_arm64_lite_classifier_matches_x86(tflite_bundles, tmp_path):
    bundles = {q: tflite_bundles[q].path for q in ("none", "int8")}
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
