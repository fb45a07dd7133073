"""`bert-keras export --format saved_model`: versioned, self-contained SavedModels for TF
Serving, checked as TF Serving would use them (fresh process, saved_model_cli, warm-up).

One single-text and one text-pair run train once for the module (1 epoch, 32 tokens).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_training import _pair_rows, labelled_rows, write_csv

from bert_keras.config import TrainConfig
from bert_keras.export import ExportError, saved_model
from bert_keras.export.ops_check import UnsupportedOpsError, check_ops
from bert_keras.export.saved_model import _pick_version, versions
from bert_keras.export.serving_module import ServingModule
from bert_keras.export.warmup import read_warmup, replay
from bert_keras.models.classifier import Classifier
from bert_keras.training import train

LONG = ("great drug " * 10_000)[:100_000]  # 100 KB: truncated to 32 tokens
TEXTS = ["great good excellent drug", "terrible bad awful pain", "", LONG, "okay fine day"]
PAIRS = ["food", "price", "service", "", LONG]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def cli(*args, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bert_keras.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=ENV, cwd=cwd)


@pytest.fixture(scope="module")
def runs(tiny_handle, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export-runs")
    write_csv(root / "train.csv", labelled_rows(32, seed=0))
    write_csv(root / "pairs.csv", _pair_rows(32), header=("text", "aspect", "label"))
    common = dict(encoder=str(tiny_handle), epochs=1, batch_size=8, max_seq_length=32,
                  learning_rate=5e-3, early_stopping_patience=0, backup_every_steps=10)
    train(TrainConfig(train=str(root / "train.csv"), output=str(root / "single"), **common))
    train(TrainConfig(train=str(root / "pairs.csv"), text_pair_column="aspect",
                      output=str(root / "pair"), **common))
    return {"single": root / "single", "pair": root / "pair", "root": root}


@pytest.fixture(scope="module")
def exported(runs) -> dict:
    """The single model exported by the CLI after a killed attempt; the pair model by the API."""
    base = runs["root"] / "saved_models"
    command = [sys.executable, "-m", "bert_keras.cli", "export", "--model", str(runs["single"]),
               "--name", "single", "--base-dir", str(base)]
    killed = _kill_midway(command, base / "single")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr
    pair = saved_model(runs["pair"], name="pair", version=5, base_dir=base, quiet=True)
    return {"base": base, "single": base / "single" / "1", "pair": pair.path,
            "killed": killed, "cli": done, "pair_result": pair}


def _kill_midway(command: list[str], model_dir: Path) -> dict:
    """Starts an export, SIGKILLs it once its temporary version folder exists."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=ENV)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            temporaries = list(model_dir.glob(".1.tmp-*")) if model_dir.exists() else []
            if any(_has_files(p) for p in temporaries):  # saving has begun
                process.kill()
                process.wait(timeout=60)
                return {"temporaries": temporaries,
                        "after": sorted(p.name for p in model_dir.iterdir())}
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
    pytest.fail(f"export ended (rc {process.returncode}) before it could be killed midway")


def _has_files(directory: Path) -> bool:
    try:
        return any(True for _ in directory.iterdir())
    except FileNotFoundError:
        return False


def test_killed_export_leaves_no_version_and_the_rerun_completes(exported):
    killed = exported["killed"]
    assert "1" not in killed["after"], killed  # no half-written version is visible
    assert all(name.startswith(".1.tmp-") for name in killed["after"])
    model_dir = exported["base"] / "single"
    assert sorted(p.name for p in model_dir.iterdir()) == ["1"]  # the rerun cleaned up
    assert versions(model_dir) == [1]


def test_cli_export_prints_docker_and_curl_commands(exported):
    out = exported["cli"].stdout
    base = exported["base"].resolve()
    assert f"exported {exported['base'] / 'single' / '1'}" in out
    assert (f"docker run --rm -p 8500:8500 -p 8501:8501 -v {base}:/models "
            f"tensorflow/serving:{tf.__version__}") in out
    assert "--model_config_file=/models/models.config" in out
    assert "curl -s -X POST http://localhost:8501/v1/models/single:predict" in out
    assert "WordpieceTokenizeWithOffsets" in out
    config = (exported["base"] / "models.config").read_text()
    for name in ("single", "pair"):
        assert f'name: "{name}"' in config and f'base_path: "/models/{name}"' in config
    assert "model_version_policy { latest { num_versions: 1 } }" in config


_FRESH = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # noqa: F401
    job = json.load(open(sys.argv[1]))
    answers = {}
    for name, spec in job.items():
        model = tf.saved_model.load(spec["dir"])
        texts = {k: tf.constant(v) for k, v in spec["texts"].items()}
        served = model.signatures["serving_default"](**texts)
        ids = {k: tf.constant(v, tf.int32) for k, v in spec["ids"].items()}
        by_ids = model.signatures["predict_ids"](**ids)
        examples = []
        for i in range(len(spec["texts"]["text"])):
            feature = {k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v[i].encode()]))
                       for k, v in spec["texts"].items()}
            examples.append(tf.train.Example(features=tf.train.Features(feature=feature))
                            .SerializeToString())
        classified = model.signatures["classify"](inputs=tf.constant(examples))
        answers[name] = {
            "probabilities": served["probabilities"].numpy().tolist(),
            "label": [s.decode() for s in served["label"].numpy()],
            "label_id": served["label_id"].numpy().tolist(),
            "ids_probabilities": by_ids["probabilities"].numpy().tolist(),
            "classes": [[s.decode() for s in row] for row in classified["classes"].numpy()],
            "scores": classified["scores"].numpy().tolist(),
        }
    answers["modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "bert_keras")
    print(json.dumps(answers))
""")


def test_fresh_tensorflow_process_matches_classifier_predict(runs, exported, tmp_path):
    job, expected = {}, {}
    for name, pairs in (("single", None), ("pair", PAIRS)):
        copy = shutil.copytree(exported[name], tmp_path / name)  # the folder alone suffices
        model = Classifier.load(runs[name], precision="float32")  # as exported
        expected[name] = (model, model.probabilities(model.predict(TEXTS, pairs=pairs,
                                                                    verbose=0)))
        segments = [tf.constant(TEXTS)] + ([tf.constant(pairs)] if pairs else [])
        texts = {"text": TEXTS, **({"text_pair": pairs} if pairs else {})}
        ids = {k: v.numpy().tolist() for k, v in model.preprocessor(segments).items()}
        job[name] = {"dir": str(copy), "texts": texts, "ids": ids}
    (tmp_path / "job.json").write_text(json.dumps(job))
    result = subprocess.run([sys.executable, "-c", _FRESH, str(tmp_path / "job.json")],
                            capture_output=True, text=True, timeout=300, env=ENV,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["modules"] == []  # neither bert_keras nor its layers were needed
    for name, (model, probabilities) in expected.items():
        got = answers[name]
        assert np.abs(np.array(got["probabilities"]) - probabilities).max() <= 1e-5
        assert np.abs(np.array(got["ids_probabilities"]) - probabilities).max() <= 1e-5
        assert np.abs(np.array(got["scores"]) - probabilities).max() <= 1e-5
        best = probabilities.argmax(axis=1)
        assert got["label_id"] == best.tolist()
        assert got["label"] == [model.labels[i] for i in best]
        assert got["classes"] == [model.labels] * len(TEXTS)


def test_saved_model_cli_lists_the_three_signatures(exported):
    result = subprocess.run(["saved_model_cli", "show", "--dir", str(exported["pair"]),
                             "--all"], capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    blocks = {b.split("']", 1)[0]: b for b in result.stdout.split("signature_def['")[1:]}
    assert {"serving_default", "predict_ids", "classify"} <= set(blocks)
    expected = {
        "serving_default": (["text", "text_pair"],
                            ["label", "label_id", "logits", "probabilities"]),
        "predict_ids": (["input_mask", "input_type_ids", "input_word_ids"],
                        ["label", "label_id", "logits", "probabilities"]),
        "classify": (["inputs"], ["classes", "scores"]),
    }
    for name, (inputs, outputs) in expected.items():
        inputs_part, outputs_part = blocks[name].split("following output(s):")
        assert sorted(_keys(inputs_part, "inputs")) == inputs, name
        assert sorted(_keys(outputs_part, "outputs")) == outputs, name
    assert "Method name is: tensorflow/serving/classify" in blocks["classify"]
    assert "Method name is: tensorflow/serving/predict" in blocks["serving_default"]


def _keys(text: str, kind: str) -> list[str]:
    return [part.split("']", 1)[0] for part in text.split(f"{kind}['")[1:]]


def test_assets_hold_vocab_labels_and_facts(runs, exported, tiny_handle):
    assets = exported["pair"] / "assets"
    assert (assets / "vocab.txt").read_text() == (tiny_handle / "vocab.txt").read_text()
    model = Classifier.load(runs["pair"])
    assert (assets / "labels.txt").read_text().splitlines() == model.labels
    facts = json.loads((assets / "model_facts.json").read_text())
    metrics = json.loads((runs["pair"] / "metrics.json").read_text())
    assert facts["encoder"] == str(tiny_handle) and facts["seq_length"] == 32
    assert facts["labels"] == model.labels and facts["pooler"] == "cls"
    assert facts["pair"] is True and facts["version"] == 5 and facts["name"] == "pair"
    assert facts["metrics"]["validation"] == metrics["validation"]
    assert facts["bert_keras_version"] and facts["tensorflow_version"] == tf.__version__
    assert "WordpieceTokenizeWithOffsets" in facts["tensorflow_text_ops"]
    assert facts["signatures"]["serving_default"]["inputs"] == ["text", "text_pair"]


def test_bfloat16_export_stores_the_encoder_weights_in_bfloat16(runs, exported, tmp_path):
    result = saved_model(runs["single"], name="bf16", base_dir=tmp_path, precision="bfloat16",
                         quiet=True)
    facts = json.loads((result.path / "assets" / "model_facts.json").read_text())
    assert facts["compute_precision"] == "bfloat16"
    assert facts["encoder_weights_dtype"] == "bfloat16"
    float32_facts = json.loads((exported["single"] / "assets" / "model_facts.json").read_text())
    assert float32_facts["encoder_weights_dtype"] == "float32"
    in_process = Classifier.load(runs["single"], precision="bfloat16")
    in_process.store_variables_in_compute_dtype()
    want = sum(w.dtype == tf.bfloat16 for w in in_process.weights)
    assert want > 0

    def saved_dtypes(directory: Path) -> list:
        reader = tf.train.load_checkpoint(str(directory / "variables" / "variables"))
        return list(reader.get_variable_to_dtype_map().values())

    assert saved_dtypes(result.path).count(tf.bfloat16) == want
    assert tf.bfloat16 not in saved_dtypes(exported["single"])

    def size(directory: Path) -> int:
        return sum(p.stat().st_size for p in (directory / "variables").iterdir())

    assert size(result.path) < 0.75 * size(exported["single"])
    loaded = tf.saved_model.load(str(result.path))
    served = loaded.signatures["serving_default"](text=tf.constant(TEXTS))["probabilities"]
    expected = in_process.probabilities(in_process.predict(TEXTS, verbose=0))
    np.testing.assert_allclose(served.numpy(), expected, atol=1e-3)  # same bf16 arithmetic


def test_ops_are_core_or_tensorflow_text(exported, tmp_path):
    report = exported["pair_result"].ops
    assert report.unknown == ()
    assert "WordpieceTokenizeWithOffsets" in report.text and "MatMul" not in report.text
    assert {"StatefulPartitionedCall", "Softmax"} <= set(report.core)
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.meta_graphs.add().graph_def.node.add(name="x", op="MyCustomZeroOp")
    (tmp_path / "saved_model.pb").write_bytes(proto.SerializeToString())
    with pytest.raises(UnsupportedOpsError, match="MyCustomZeroOp"):
        check_ops(tmp_path)


def test_warmup_records_parse_and_run(exported):
    records = read_warmup(exported["pair"])
    kinds = [(r.WhichOneof("log_type"), r.predict_log.request.model_spec.signature_name
              or r.classify_log.request.model_spec.signature_name) for r in records]
    assert kinds == [("predict_log", "serving_default"), ("predict_log", "serving_default"),
                     ("predict_log", "predict_ids"), ("classify_log", "classify")]
    first = records[1].predict_log.request.inputs
    texts = [t.decode() for t in tf.make_ndarray(first["text"])]
    assert texts == [row[0] for row in _pair_rows(32)][:4]  # real texts of the run's data
    assert records[0].predict_log.request.model_spec.name == "pair"
    loaded = tf.saved_model.load(str(exported["pair"]))
    for record, size in zip(records, [1, 4, 4, 4], strict=True):
        outputs = replay(loaded, record)
        key = "scores" if "scores" in outputs else "probabilities"
        assert outputs[key].shape == (size, 3)


def test_multi_label_outputs_follow_the_stored_threshold(tiny_handle):
    labels = ["food", "price", "service"]
    model = Classifier(str(tiny_handle), labels, multi_label=True, seq_length=32)
    texts = ["the food price", "service"]
    probabilities = model.probabilities(model.predict(texts, verbose=0))
    threshold = float(np.median(probabilities))
    module = ServingModule(model, threshold=threshold)
    outputs = module.signatures()["serving_default"](text=tf.constant(texts))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), probabilities, atol=1e-5)
    above = probabilities >= threshold
    assert (outputs["above_threshold"].numpy() == above).all()
    got = [[s.decode() for s in row if s] for row in outputs["labels"].numpy()]
    assert got == [[lab for lab, keep in zip(labels, row, strict=True) if keep] for row in above]


def test_bad_exports_are_clear_errors(runs, exported, tmp_path):
    (tmp_path / "not-a-run").mkdir()
    with pytest.raises(ExportError, match="not a trained bert_keras model"):
        saved_model(tmp_path / "not-a-run", base_dir=tmp_path / "out")
    with pytest.raises(ExportError, match="no such run directory"):
        saved_model(tmp_path / "missing", base_dir=tmp_path / "out")
    for name in ("a/b", "../up", "a\\b", "", ".."):
        with pytest.raises(ExportError, match="bad model name"):
            saved_model(runs["single"], name=name, base_dir=tmp_path / "out")
    with pytest.raises(ExportError, match="already exists"):
        saved_model(runs["pair"], name="pair", version=5, base_dir=exported["base"])
    assert not (tmp_path / "out").exists()
    result = cli("export", "--model", runs["pair"], "--name", "pair", "--version", "5",
                 "--base-dir", exported["base"], timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bert-keras export: error: "), result.stderr
    assert "--overwrite" in lines[0]


def test_default_version_is_one_more_than_the_highest(tmp_path):
    for name in ("1", "3", ".4.tmp-x", "notes"):
        (tmp_path / name).mkdir()
    assert versions(tmp_path) == [1, 3]
    assert _pick_version(tmp_path, None, False) == 4
    assert _pick_version(tmp_path, 3, True) == 3
    assert _pick_version(tmp_path / "new", None, False) == 1


def test_help_lists_export_and_serve_check():
    result = cli("export", "--help", timeout=60)
    for flag in ("--model", "--format", "--name", "--version", "--base-dir", "--overwrite"):
        assert flag in result.stdout, flag
    assert "{saved_model,tflite}" in result.stdout
    result = cli("serve-check", "--help", timeout=60)
    for flag in ("--model", "--version", "--text", "--text-pair", "--columnar"):
        assert flag in result.stdout, flag
