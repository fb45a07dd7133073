"""`bert-keras export --format tflite`: builtin-ops .tflite bundles for ARM boards.

One single-text run trains once for the session (1 epoch, 32 tokens, with a test file); each
of the four quantisations is exported once and shared by the tests (see conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from bert_keras.cli import main as cli_main
from bert_keras.export import ExportError
from bert_keras.export.tflite import (
    BUNDLE_FILES,
    QUANTIZATIONS,
    check_builtin_only,
    convert,
    export_tflite,
    tflite_ops,
)
from bert_keras.export.tflite_report import TFLiteRunner, token_ids
from bert_keras.models.classifier import Classifier

LONG = ("great drug " * 2_000)[:20_000]  # truncated to 32 tokens
TEXTS = ["great good excellent drug", "terrible bad awful pain", "", LONG, "okay fine day",
         "the doctor said it works", "worst nausea and headache", "neutral week"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
MODEL_JSON_FIELDS = {
    "format", "name", "seq_length", "do_lower_case", "special_token_ids", "labels",
    "multi_label", "pair", "quantization", "accuracy", "vocab_size", "inputs", "outputs",
    "signature", "tflite_bytes", "encoder", "metrics", "max_word_length", "word_length_unit",
    "long_text", "head_ratio", "chunk_stride", "max_chunks", "chunk_aggregate", "aspect",
}


@pytest.fixture(scope="module")
def run(tflite_run) -> Path:
    return tflite_run


@pytest.fixture(scope="module")
def bundles(tflite_bundles) -> dict:
    return tflite_bundles


@pytest.fixture(scope="module")
def reference(run) -> dict:
    """The Keras model's probabilities on TEXTS, and the ids they were computed from."""
    model = Classifier.load(run, precision="float32")  # as exported
    ids = token_ids(model.preprocessor, TEXTS, None)
    logits = model.predict({k: tf.constant(v) for k, v in ids.items()}, verbose=0)
    return {"ids": ids, "probabilities": model.probabilities(logits)}


@pytest.mark.parametrize("quantize", QUANTIZATIONS)
def test_each_quantisation_converts_with_builtin_ops_only(bundles, quantize):
    result = bundles[quantize]
    content = result.model_file.read_bytes()
    assert result.path.name == f"tflite-{quantize}" and result.quantize == quantize
    assert list(result.ops) == check_builtin_only(content) == tflite_ops(content)
    interpreter = tf.lite.Interpreter(model_content=content)  # an independent listing
    listed = {d["op_name"] for d in interpreter._get_ops_details()}
    assert listed == set(result.ops)
    assert not any(op.startswith("Flex") or op == "CUSTOM" or ">" in op for op in listed)
    assert {"FULLY_CONNECTED", "SOFTMAX"} <= listed
    signature = interpreter.get_signature_list()["serving_default"]
    assert sorted(signature["inputs"]) == ["input_mask", "input_type_ids", "input_word_ids"]
    assert sorted(signature["outputs"]) == ["logits", "probabilities"]
    for detail in interpreter.get_input_details():
        assert detail["dtype"] == np.int32 and list(detail["shape"]) == [1, 32]


def test_float32_tflite_equals_keras_within_1e_4(bundles, reference):
    runner = TFLiteRunner(bundles["none"].model_file.read_bytes())
    probabilities, _ = runner.run(reference["ids"])
    assert probabilities.shape == (len(TEXTS), 3)
    assert np.abs(probabilities - reference["probabilities"]).max() <= 1e-4
    logits = runner.runner(**{k: v[:1] for k, v in reference["ids"].items()})["logits"]
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities[:1], atol=1e-6)
    for quantize, tolerance in (("float16", 1e-2), ("dynamic", 5e-2)):
        got, _ = TFLiteRunner(bundles[quantize].model_file.read_bytes()).run(reference["ids"])
        assert np.abs(got - reference["probabilities"]).max() <= tolerance, quantize


def test_int8_is_full_integer_and_keeps_most_labels(bundles, reference):
    """Asserted: the int8 model holds int8 tensors, takes int32 ids, and gives the Keras
    argmax on at least 7 of the 8 TEXTS with probabilities within 0.1."""
    content = bundles["int8"].model_file.read_bytes()
    interpreter = tf.lite.Interpreter(model_content=content)
    assert any(d["dtype"] == np.int8 for d in interpreter.get_tensor_details())
    assert {"QUANTIZE", "DEQUANTIZE"} & set(bundles["int8"].ops)
    got, _ = TFLiteRunner(content).run(reference["ids"])
    same = got.argmax(1) == reference["probabilities"].argmax(1)
    assert same.sum() >= 7, (got, reference["probabilities"])
    assert np.abs(got - reference["probabilities"]).max() <= 0.1
    report = bundles["int8"].report
    assert report["representative_texts"] == 43  # all training texts (48 less validation)
    # Two conversions of the same model may differ by a few bytes of flatbuffer alignment.
    assert report["float32_tflite_bytes"] == pytest.approx(bundles["none"].report["tflite_bytes"],
                                                           rel=0.01)
    assert report["tflite_bytes"] < report["float32_tflite_bytes"]
    assert set(report["targets"]) >= {"size_met", "accuracy_met", "size_share_of_float32",
                                      "accuracy_drop_points", "summary"}


def test_bundle_holds_exactly_the_board_files(bundles, tiny_handle, run):
    result = bundles["dynamic"]
    assert sorted(p.name for p in result.path.iterdir()) == sorted(BUNDLE_FILES)
    assert (result.path / "vocab.txt").read_text() == (tiny_handle / "vocab.txt").read_text()
    model = Classifier.load(run)
    assert (result.path / "labels.txt").read_text().splitlines() == model.labels
    facts = json.loads((result.path / "model.json").read_text())
    assert facts == result.facts and set(facts) >= MODEL_JSON_FIELDS
    vocab = (tiny_handle / "vocab.txt").read_text().splitlines()
    assert facts["special_token_ids"] == {"cls": vocab.index("[CLS]"),
                                          "sep": vocab.index("[SEP]"),
                                          "pad": vocab.index("[PAD]"),
                                          "unk": vocab.index("[UNK]")}
    assert facts["seq_length"] == 32 and facts["do_lower_case"] is True
    assert facts["vocab_size"] == len(vocab) and facts["labels"] == model.labels
    assert facts["multi_label"] is False and facts["pair"] is False
    assert facts["quantization"] == "dynamic" and facts["long_text"] == "head"
    assert (facts["max_word_length"], facts["word_length_unit"]) == (100, "characters")
    assert facts["chunk_stride"] is None and facts["aspect"] is None
    assert facts["tflite_bytes"] == result.model_file.stat().st_size
    accuracy = facts["accuracy"]
    assert accuracy["eval_split"] == "test" and accuracy["eval_examples"] == 24
    for key in ("keras", "tflite"):
        assert 0 <= accuracy[key]["accuracy"] <= 1 and 0 <= accuracy[key]["macro_f1"] <= 1
        assert accuracy[key]["latency_s"] > 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert accuracy["keras"]["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    report = json.loads((result.path / "report.json").read_text())
    assert report == result.report and report["quantize"] == "dynamic"
    assert report["tflite_bytes"] == facts["tflite_bytes"]


def test_zip_sits_beside_the_bundle_with_the_same_files(bundles):
    for result in bundles.values():
        assert result.zip_file == result.path.with_name(result.path.name + ".zip")
        with zipfile.ZipFile(result.zip_file) as archive:
            names = sorted(archive.namelist())
            assert names == sorted(f"{result.path.name}/{f}" for f in BUNDLE_FILES)
            assert archive.read(f"{result.path.name}/model.tflite") == \
                result.model_file.read_bytes()
    leftovers = [p.name for p in result.path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_converter_fails_rather_than_use_flex():
    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def needs_flex(x):
        return {"y": tf.math.erf(x)}  # TFLite has no builtin Erf; Flex has FlexErf

    with pytest.raises(ExportError, match="builtin ops only failed"):
        convert([], needs_flex.get_concrete_function(), "none")
    flex = tf.lite.TFLiteConverter.from_concrete_functions([needs_flex.get_concrete_function()])
    flex.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                      tf.lite.OpsSet.SELECT_TF_OPS]
    content = flex.convert()
    assert tflite_ops(content) == ["FlexErf"]
    with pytest.raises(ExportError, match="non-builtin ops"):
        check_builtin_only(content)


def test_bad_exports_are_clear_errors(run, bundles, tmp_path):
    (tmp_path / "not-a-run").mkdir()
    with pytest.raises(ExportError, match="not a trained bert_keras model"):
        export_tflite(tmp_path / "not-a-run")
    with pytest.raises(ExportError, match="no such run directory"):
        export_tflite(tmp_path / "missing")
    with pytest.raises(ExportError, match="quantize must be one of"):
        export_tflite(run, quantize="int4")
    with pytest.raises(ExportError, match="already exists; pass --overwrite"):
        export_tflite(run, quantize="none")
    with pytest.raises(ExportError, match="seq_length 4096 is outside"):
        export_tflite(run, tmp_path / "long", seq_length=4096)
    assert not (tmp_path / "long").exists()
    assert cli_main(["export", "--model", str(run), "--quantize", "int8"]) == 2


def test_cli_exports_a_dynamic_bundle(run, tmp_path):
    bundle = tmp_path / "board"
    result = subprocess.run(
        [sys.executable, "-m", "bert_keras.cli", "export", "--model", str(run), "--format",
         "tflite", "--quantize", "dynamic", "--output", str(bundle)],
        capture_output=True, text=True, timeout=300, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "export report (dynamic, test, 24 examples)" in result.stdout
    assert f"exported {bundle}" in result.stdout and f"zip: {bundle}.zip" in result.stdout
    assert sorted(p.name for p in bundle.iterdir()) == sorted(BUNDLE_FILES)
    assert json.loads((bundle / "model.json").read_text())["quantization"] == "dynamic"
    assert (tmp_path / "board.zip").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "bert_keras.cli", "export", "--model", str(tmp_path),
         "--format", "tflite"], capture_output=True, text=True, timeout=300, env=ENV)
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1, bad.stderr
    assert "not a trained bert_keras model" in lines[0]
