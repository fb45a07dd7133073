"""`bert_keras.lite.LiteClassifier`: TFLite bundles on LiteRT with the NumPy tokenizer,
checked against the float SavedModel, on bad bundles, and in a board install
(`BERT_KERAS_LITE_ONLY=1 pip install .`, no TensorFlow)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from bert_keras.export.saved_model import export_saved_model
from bert_keras.lite import BundleError, LiteClassifier
from bert_keras.models.classifier import Classifier

REPO_ROOT = Path(__file__).resolve().parents[1]
LONG = ("great drug " * 2_000)[:20_000]  # far past 32 tokens
TEXTS = ["great good excellent drug", "terrible bad awful pain", "", "   \t\n", LONG,
         "okay fine day", "Ça marche très bien — 很好 👍", "the doctor said it works"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def served(tflite_run, tmp_path_factory) -> dict:
    """The float SavedModel's probabilities and the preprocessor's ids on TEXTS."""
    base = tmp_path_factory.mktemp("lite-saved-models")
    exported = export_saved_model(tflite_run, name="tiny", base_dir=base, quiet=True)
    serving = tf.saved_model.load(str(exported.path)).signatures["serving_default"]
    probabilities = serving(text=tf.constant(TEXTS))["probabilities"].numpy()
    ids = Classifier.load(tflite_run).preprocessor([tf.constant(TEXTS)])
    return {"probabilities": probabilities, "ids": {k: v.numpy() for k, v in ids.items()}}


@pytest.fixture
def bundle_copy(tflite_bundles, tmp_path) -> Path:
    """A writable copy of the float32 bundle, to break."""
    return Path(shutil.copytree(tflite_bundles["none"].path, tmp_path / "bundle"))


def test_float32_matches_the_saved_model_within_1e_4(tflite_bundles, served):
    classifier = LiteClassifier(tflite_bundles["none"].path)
    ids = classifier.encode(TEXTS)
    for name, expected in served["ids"].items():
        np.testing.assert_array_equal(ids[name], expected)
    probabilities = classifier.predict(TEXTS)
    assert probabilities.shape == (len(TEXTS), 3) and probabilities.dtype == np.float32
    assert np.abs(probabilities - served["probabilities"]).max() <= 1e-4
    assert classifier.predict_labels(TEXTS) == [
        classifier.labels[i] for i in served["probabilities"].argmax(axis=1)]


@pytest.mark.parametrize("quantize", ["float16", "dynamic", "int8"])
def test_quantised_bundles_predict_distributions(tflite_bundles, served, quantize):
    classifier = LiteClassifier(tflite_bundles[quantize].path, num_threads=1)
    assert classifier.facts["quantization"] == quantize
    probabilities = classifier.predict(TEXTS)
    assert probabilities.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=0.02)
    assert np.abs(probabilities - served["probabilities"]).max() < 0.2


def test_long_text_is_truncated_and_empty_text_is_cls_sep(tflite_bundles):
    classifier = LiteClassifier(tflite_bundles["none"].path)
    ids = classifier.encode([LONG, "", "  "])
    words, mask = ids["input_word_ids"], ids["input_mask"]
    special = classifier.tokenizer
    assert mask[0].sum() == classifier.seq_length == 32
    assert words[0, 0] == special.cls_id and words[0, -1] == special.sep_id
    for row in (1, 2):
        assert words[row, :3].tolist() == [special.cls_id, special.sep_id, special.pad_id]
        assert mask[row].sum() == 2
    cut = " ".join(["great drug"] * 40)  # 80 words: truncated to the same 30 tokens
    np.testing.assert_array_equal(classifier.predict(cut), classifier.predict(LONG[:400]))


def test_inputs_are_checked(tflite_bundles):
    classifier = LiteClassifier(tflite_bundles["none"].path)
    assert classifier.predict([]).shape == (0, 3)
    np.testing.assert_array_equal(classifier.predict(b"great drug"),
                                  classifier.predict(["great drug"]))
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType"):
        classifier.predict(["fine", None])
    with pytest.raises(ValueError, match=r"texts\[0\] is not valid UTF-8"):
        classifier.predict([b"\xff\xfe"])
    with pytest.raises(ValueError, match="takes no pairs"):
        classifier.predict(["a"], pairs=["b"])


@pytest.mark.parametrize("missing", ["model.tflite", "vocab.txt", "labels.txt", "model.json"])
def test_bundle_missing_a_file_names_it(bundle_copy, missing):
    (bundle_copy / missing).unlink()
    with pytest.raises(BundleError, match=rf"not a complete TFLite bundle: {missing} missing"):
        LiteClassifier(bundle_copy)


def test_vocab_of_another_model_is_rejected(bundle_copy):
    vocab = bundle_copy / "vocab.txt"
    vocab.write_text(vocab.read_text(encoding="utf-8") + "extra\ntokens\n", encoding="utf-8")
    with pytest.raises(BundleError, match=r"vocab\.txt has \d+ tokens but the model was "
                                          r"exported with a \d+-token vocabulary"):
        LiteClassifier(bundle_copy)


def test_model_facts_that_disagree_with_the_model_are_rejected(bundle_copy):
    facts_file = bundle_copy / "model.json"
    facts = json.loads(facts_file.read_text())
    vocab = bundle_copy / "vocab.txt"
    tokens = vocab.read_text(encoding="utf-8").splitlines()
    # A vocabulary and model.json that agree with each other but not with the .tflite.
    vocab.write_text("\n".join(tokens + ["extra"]) + "\n", encoding="utf-8")
    facts_file.write_text(json.dumps({**facts, "vocab_size": len(tokens) + 1}))
    with pytest.raises(BundleError, match=r"embedding tables of \[.*\] rows, none of the "
                                          rf"vocabulary's {len(tokens) + 1}"):
        LiteClassifier(bundle_copy)
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    facts_file.write_text(json.dumps({**facts, "seq_length": 64}))
    with pytest.raises(BundleError, match=r"takes inputs .*32.* describes .*64"):
        LiteClassifier(bundle_copy)
    facts_file.write_text(json.dumps({**facts, "labels": ["a", "b", "c"]}))
    with pytest.raises(BundleError, match=r"labels\.txt lists .* but model\.json says"):
        LiteClassifier(bundle_copy)
    facts_file.write_text("{broken")
    with pytest.raises(BundleError, match=r"model\.json: not valid JSON"):
        LiteClassifier(bundle_copy)
    facts_file.write_text(json.dumps({**facts, "format": "other"}))
    with pytest.raises(BundleError, match="not a bert_keras TFLite bundle"):
        LiteClassifier(bundle_copy)


def test_bundles_written_before_the_word_length_was_recorded_count_bytes(bundle_copy):
    facts_file = bundle_copy / "model.json"
    facts = json.loads(facts_file.read_text())
    assert LiteClassifier(bundle_copy).tokenizer.word_length_unit == "characters"
    for key in ("max_word_length", "word_length_unit", "chunk_stride", "max_chunks",
                "chunk_aggregate", "aspect"):
        facts.pop(key)
    facts_file.write_text(json.dumps(facts))
    legacy = LiteClassifier(bundle_copy)  # as their handles' tf-text WordPiece did
    assert legacy.tokenizer.word_length_unit == "bytes"
    assert legacy.predict(["great drug"]).shape == (1, 3)
    facts_file.write_text(json.dumps({**facts, "word_length_unit": "runes"}))
    with pytest.raises(BundleError, match=r"model\.json: word_length_unit must be"):
        LiteClassifier(bundle_copy)


def test_corrupt_model_is_a_bundle_error(bundle_copy):
    (bundle_copy / "model.tflite").write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(BundleError, match=r"model\.tflite: LiteRT cannot load it"):
        LiteClassifier(bundle_copy)


def test_command_line_prints_json_lines(tflite_bundles, tmp_path):
    bundle = tflite_bundles["none"].path
    command = [sys.executable, "-m", "bert_keras.lite", str(bundle)]
    result = subprocess.run(command + ["great drug", ""], capture_output=True, text=True,
                            timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = LiteClassifier(bundle).predict(["great drug", ""])
    assert [r["text"] for r in rows] == ["great drug", ""]
    for row, probabilities in zip(rows, expected, strict=True):
        assert list(row["probabilities"]) == ["negative", "neutral", "positive"]
        np.testing.assert_allclose(list(row["probabilities"].values()), probabilities,
                                   atol=1e-6)
        assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)
    bad = subprocess.run([sys.executable, "-m", "bert_keras.lite", str(tmp_path), "x"],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert bad.returncode == 2 and "not a complete TFLite bundle" in bad.stderr


_BOARD_SCRIPT = textwrap.dedent("""
    import json, sys
    import bert_keras
    from bert_keras.lite import LiteClassifier
    classifier = LiteClassifier(sys.argv[1])
    texts = json.loads(sys.argv[2])
    answer = {"probabilities": classifier.predict(texts).tolist()}
    for statement in ("import bert_keras.training", "from bert_keras import Classifier"):
        try:
            exec(statement)
        except ModuleNotFoundError as error:
            answer[statement] = str(error)
    answer["tensorflow_loaded"] = any(m.split(".")[0] in ("tensorflow", "tf_keras")
                                      for m in sys.modules)
    print(json.dumps(answer))
""")


@pytest.mark.slow
def test_board_install_has_no_tensorflow_and_predicts(tflite_bundles, tmp_path):
    """`BERT_KERAS_LITE_ONLY=1 pip install .` in a fresh venv: numpy + LiteRT only."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "bert_keras", source / "bert_keras",
                    ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(source)], capture_output=True, text=True, timeout=900,
        env={**ENV, "BERT_KERAS_LITE_ONLY": "1"})
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, timeout=120, check=True)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"bert-keras", "numpy", "ai-edge-litert"} <= installed
    assert not installed & {"tensorflow", "tf-keras", "tensorflow-text", "tensorflow-hub",
                            "tf-models-official"}, installed

    bundle = tflite_bundles["none"].path
    result = subprocess.run([str(python), "-c", _BOARD_SCRIPT, str(bundle),
                             json.dumps(TEXTS)], capture_output=True, text=True,
                            timeout=300, env=ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    expected = LiteClassifier(bundle).predict(TEXTS)
    assert np.abs(np.array(answer["probabilities"]) - expected).max() <= 1e-6
    assert not answer["tensorflow_loaded"]
    for statement in ("import bert_keras.training", "from bert_keras import Classifier"):
        message = answer[statement]
        assert "is not installed, so only bert_keras.lite works here" in message, message
        assert "BERT_KERAS_LITE_ONLY" in message and "\n" not in message
