"""`bert-keras prepare`: idempotent, verified and atomic."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from bert_keras.errors import BertKerasError


def _cli(*args, home, **kwargs):
    env = dict(os.environ, BERT_KERAS_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "bert_keras.cli", *args], env=env,
                          capture_output=True, text=True, **kwargs)


def test_default_dataset_is_clean_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("BERT_KERAS_HOME", str(tmp_path))
    from bert_keras.data.datasets import prepare_dataset

    directory = prepare_dataset("drug-reviews")
    with open(directory / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 600
    assert {r["label"] for r in rows} == {"positive", "negative", "neutral"}
    assert sum(r["label"] == "positive" for r in rows) == 385
    texts = " ".join(r["text"] for r in rows)
    assert "&#039;" not in texts and '"""' not in texts and "&amp;" not in texts
    assert not any(r["text"].startswith('"') for r in rows)


def test_tampered_download_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BERT_KERAS_HOME", str(tmp_path))
    from bert_keras.data import datasets

    original = datasets.get_dataset("drug-reviews")
    tampered = type(original)(**{**original.__dict__, "sha256": "0" * 64})
    monkeypatch.setattr(datasets, "_DATASETS", (tampered,))
    with pytest.raises(BertKerasError, match="sha256"):
        datasets.prepare_dataset("drug-reviews")
    assert not (tmp_path / "datasets" / "drug-reviews").exists()


def test_unknown_name_lists_presets_and_datasets(tmp_path):
    out = _cli("prepare", "no-such-model", home=tmp_path)
    assert out.returncode == 2
    assert "minilm-l6-uncased" in out.stderr and "drug-reviews" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_interrupted_prepare_leaves_nothing_then_completes(tmp_path):
    env = dict(os.environ, BERT_KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, "-m", "bert_keras.cli", "prepare", "minilm-l6-uncased"],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    # Kill it once conversion (the SavedModel writing) has started.
    for line in process.stderr:
        if "[3/3]" in line:
            time.sleep(4)
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    preset = tmp_path / "presets" / "minilm-l6-uncased"
    assert not preset.exists()
    out = _cli("prepare", "minilm-l6-uncased", home=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    assert (preset / "bert_keras_handle.json").exists()
    assert not list((tmp_path / "presets").glob(".*tmp*"))  # stale temporaries removed
    again = _cli("prepare", "minilm-l6-uncased", home=tmp_path, timeout=600)
    assert "already prepared" in again.stderr
