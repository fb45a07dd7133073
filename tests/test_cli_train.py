"""The `train`, `evaluate` and `predict` subcommands, run as `python -m bert_keras.cli`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_training import LABEL_WORDS, labelled_rows, write_csv

LABELS = sorted(LABEL_WORDS)
TEXTS = ["great good drug", "terrible bad pain", "okay fine day", "the doctor", "it helps"]


def cli(*args: str, stdin: str | None = None, timeout: float = 300,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "bert_keras.cli", *map(str, args)],
                          input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("cli-data")
    write_csv(directory / "train.csv", labelled_rows(90, seed=0))
    write_csv(directory / "test.csv", labelled_rows(30, seed=1))
    write_csv(directory / "holdout.csv", labelled_rows(12, seed=5))
    write_csv(directory / "texts.csv", [(t,) for t in TEXTS], header=("text",))
    return directory


@pytest.fixture(scope="module")
def run(tiny_handle, data, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("cli-run") / "run"
    # Data named relative to the working directory, as users type it.
    result = _ok(cli("train", "--encoder", tiny_handle, "--train", "train.csv",
                     "--test", "test.csv", "--epochs", "2", "--batch-size", "8",
                     "--max-seq-length", "32", "--learning-rate", "5e-3",
                     "--early-stopping-patience", "0", "--pooler", "mean",
                     "--output", output, cwd=data))
    assert "test results:" in result.stdout and f"run directory: {output}" in result.stdout
    return output


def test_train_writes_the_run(run):
    for name in ("config.yaml", "labels.json", "metrics.json", "model/classifier.json",
                 "checkpoints/best.json", "eval-test/metrics.json"):
        assert (run / name).exists(), name
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["test"]["num_examples"] == 30
    assert json.loads((run / "labels.json").read_text())["labels"] == LABELS


def test_the_run_finds_its_data_from_another_directory(run, data):
    """config.yaml stores absolute data paths: exports read the run's texts from anywhere."""
    from bert_keras.config import TrainConfig
    from bert_keras.export.tflite_report import read_export_data

    saved = TrainConfig.from_yaml(run / "config.yaml")
    assert (saved.train, saved.test) == (str(data / "train.csv"), str(data / "test.csv"))
    assert Path.cwd() != data
    export_data = read_export_data(run)
    assert export_data.note is None
    assert (export_data.eval_name, len(export_data.eval_texts)) == ("test", 30)


def test_evaluate_writes_metrics_and_plots(run, data):
    result = _ok(cli("evaluate", "--model", run, "--data", data / "holdout.csv"))
    out = run / "eval-holdout"
    for name in ("metrics.json", "confusion_matrix.png", "precision_recall.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_examples"] == 12 and metrics["labels"] == LABELS
    assert "accuracy" in result.stdout
    assert f"{metrics['accuracy']:.3f}" in result.stdout
    assert str(out / "metrics.json") in result.stdout


def _check_prediction(row: dict, source: str, text: str) -> None:
    assert row["source"] == source and row["text"] == text
    assert row["label"] in LABELS and row["label_id"] == LABELS.index(row["label"])
    probabilities = row["probabilities"]
    assert list(probabilities) == LABELS
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert max(probabilities, key=probabilities.get) == row["label"]


def test_predict_writes_json_lines_with_top_k(run, data, tmp_path):
    output = tmp_path / "out.jsonl"
    result = _ok(cli("predict", "--model", run, "--input", data / "texts.csv",
                     "--output", output, "--top-k", "2"))
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == len(TEXTS)
    for i, (row, text) in enumerate(zip(rows, TEXTS, strict=True)):
        _check_prediction(row, f"{data / 'texts.csv'}:{i + 2}", text)
        (first, p1), (second, p2) = row["top_k"]
        assert first == row["label"] and second != first and p1 >= p2
        assert p2 == pytest.approx(row["probabilities"][second])
    assert f"wrote {len(TEXTS)} predictions" in result.stderr


def test_predict_reads_stdin_and_writes_csv(run, tmp_path):
    output = tmp_path / "out.csv"
    _ok(cli("predict", "--model", run, "--input", "-", "--output", output,
            stdin="".join(text + "\n" for text in TEXTS)))
    with output.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(TEXTS)
    assert list(rows[0]) == ["source", "text", "label", "label_id",
                             *[f"p_{label}" for label in LABELS]]
    for i, (row, text) in enumerate(zip(rows, TEXTS, strict=True)):
        assert row["source"] == f"<list>:{i}" and row["text"] == text
        assert row["label"] in LABELS and int(row["label_id"]) == LABELS.index(row["label"])
        assert sum(float(row[f"p_{label}"]) for label in LABELS) == pytest.approx(1, abs=1e-4)


@pytest.mark.parametrize("command, flags", [
    (None, ["prepare", "train", "evaluate", "predict", "convert", "presets", "--version"]),
    ("train", ["--config", "--encoder", "--train", "--validation", "--test", "--epochs",
               "--batch-size", "--loss", "--pooler", "--output", "--skip-bad-rows",
               "--freeze-encoder", "--text-column"]),
    ("evaluate", ["--model", "--data", "--output", "--batch-size"]),
    ("predict", ["--model", "--input", "--output", "--top-k", "--batch-size"]),
    ("prepare", ["--force"]),
    ("convert", ["--out", "--overwrite"]),
    ("presets", []),
])
def test_help(command, flags):
    result = _ok(cli(*([command] if command else []), "--help", timeout=60))
    for flag in flags:
        assert flag in result.stdout, flag


def test_bad_data_is_one_line_error(tiny_handle, tmp_path):
    path = write_csv(tmp_path / "train.csv", labelled_rows(10) + [("", "positive")])
    output = tmp_path / "run"
    result = cli("train", "--encoder", tiny_handle, "--train", path, "--output", output,
                 "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bert-keras train: error: ")
    assert f"{path}:12: empty text" in lines[0]
    assert not output.exists()


@pytest.mark.parametrize("command, flag", [("predict", "--input"), ("evaluate", "--data")])
def test_unreadable_input_fails_before_the_model_loads(command, flag, tmp_path):
    """The input is checked first: the model path here does not even exist."""
    texts = tmp_path / "reviews.txt"
    texts.write_text("great drug\n", encoding="utf-8")
    result = cli(command, "--model", tmp_path / "no-such-run", flag, texts, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"bert-keras {command}: error: {texts}: cannot tell the format from the suffix "
        "'.txt'; name a .csv, .tsv, .tab, .jsonl, .ndjson, .json file or a folder of class "
        "sub-folders (Python callers can pass file_format: csv, tsv, jsonl, folder)")


@pytest.mark.parametrize("user_value, keras3_loaded", [(None, False), ("0", True)])
def test_command_process_starts_tensorflow_without_keras_3(user_value, keras3_loaded):
    """`bert-keras` (cli.run) asks TensorFlow for tf_keras, so Keras 3 is never imported
    in its process; a value the user set wins."""
    probe = ("import atexit, sys\n"
             "from bert_keras import cli\n"
             "atexit.register(lambda: print('keras3' if 'keras.src' in sys.modules else "
             "'no-keras3'))\n"
             "cli.main = lambda: __import__('tensorflow') and 0\n"
             "cli.run()\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    if user_value is not None:
        env["TF_USE_LEGACY_KERAS"] = user_value
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == ("keras3" if keras3_loaded else "no-keras3")
