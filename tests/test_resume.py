"""A training run killed with SIGKILL resumes from its backup when the same command reruns."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_training import labelled_rows, write_csv

EPOCHS = 6


def _wait_for(process: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    """Reads the process's output lines until one contains `marker`; returns them all."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            pytest.fail(f"no {marker!r} within {timeout} s; output:\n{''.join(seen)}")
        if line is None:
            pytest.fail(f"train ended (rc {process.wait()}) before {marker!r}; "
                        f"output:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return seen


def test_killed_run_resumes_from_backup(tiny_handle, tmp_path):
    data = write_csv(tmp_path / "train.csv", labelled_rows(300, seed=7))
    config = tmp_path / "run.yaml"
    config.write_text("backup_every_steps: 5\nmax_seq_length: 32\nepochs: 2\n", encoding="utf-8")
    output = tmp_path / "run"
    command = [sys.executable, "-m", "bert_keras.cli", "train", "--config", str(config),
               "--encoder", str(tiny_handle), "--train", str(data), "--epochs", str(EPOCHS),
               "--batch-size", "8", "--early-stopping-patience", "0", "--output", str(output)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, cwd=tmp_path)
    try:
        first = _wait_for(process, f"Epoch 3/{EPOCHS}", timeout=300)
        process.kill()  # SIGKILL: no callback, no cleanup runs
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
    assert f"Epoch 1/{EPOCHS}" in "".join(first)
    assert any(p.is_file() for p in (output / "backup").rglob("*"))
    assert not (output / "model").exists()
    assert not (output / "metrics.json").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=300)
    log = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, log
    assert f"Epoch 1/{EPOCHS}" not in log  # it did not start over
    assert f"Epoch {EPOCHS}/{EPOCHS}" in log
    assert (output / "model" / "classifier.json").exists()
    assert (output / "metrics.json").exists()
    assert not any(p.is_file() for p in (output / "backup").rglob("*"))


def test_different_settings_do_not_resume(tiny_handle, tmp_path):
    """An interrupted run refuses a command with other settings instead of mixing them."""
    from bert_keras.config import TrainConfig
    from bert_keras.errors import BertKerasError
    from bert_keras.training import train

    data = write_csv(tmp_path / "train.csv", labelled_rows(30))
    output = Path(tmp_path / "run")
    config = TrainConfig(train=str(data), encoder=str(tiny_handle), output=str(output))
    (output / "backup" / "chief").mkdir(parents=True)
    config.save(output / "config.yaml")
    other = TrainConfig(**{**config.to_dict(), "learning_rate": 1e-3})
    with pytest.raises(BertKerasError, match="interrupted run with other settings"):
        train(other)


def test_config_paths_are_stored_absolute(tmp_path, monkeypatch):
    """Data files and local handles become absolute; preset names and URLs stay."""
    from bert_keras.config import TrainConfig

    monkeypatch.chdir(tmp_path)
    (tmp_path / "encoder").mkdir()
    config = TrainConfig(train="data/train.csv", test="../test.csv", encoder="encoder")
    absolute = config.with_absolute_paths()
    assert absolute.train == str(tmp_path / "data" / "train.csv")
    assert absolute.test == str(tmp_path.parent / "test.csv")
    assert absolute.encoder == str(tmp_path / "encoder")
    assert absolute.with_absolute_paths() == absolute
    url = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"
    for handle in ("minilm-l6-uncased", url):
        assert TrainConfig(encoder=handle).with_absolute_paths().encoder == handle
    # A run saved with relative paths (before they were stored absolute) still resumes
    # from the directory it was started in.
    config.save(tmp_path / "config.yaml")
    assert TrainConfig.from_yaml(tmp_path / "config.yaml").with_absolute_paths() == absolute
