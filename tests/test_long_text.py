"""Long texts: head / tail / head+tail / chunks, the same in the TF preprocessor, the NumPy
tokenizer, training, evaluation, prediction and the exported SavedModel and TFLite bundle
(whose chunked models classify each window on the board and pool the logits there)."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from test_training import FILLER, LABEL_WORDS, write_csv

from bert_keras.config import TrainConfig
from bert_keras.export.saved_model import export_saved_model
from bert_keras.export.tflite import export_tflite
from bert_keras.export.tflite_report import TFLiteRunner
from bert_keras.layers.long_text import select_tokens, split_chunks
from bert_keras.layers.preprocessor import INPUT_NAMES, BertPreprocessor
from bert_keras.lite import LiteClassifier, WordPieceTokenizer
from bert_keras.lite.long_text import chunk_starts
from bert_keras.lite.preprocessor import LitePreprocessor
from bert_keras.models.classifier import Classifier
from bert_keras.training import train

SEQ = 16


def long_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Texts of 5-40 words whose sentiment words sit near the end (past 16 tokens when
    long), so a head-only model cannot see them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = list(LABEL_WORDS)[i % 3]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 38))]
        words += rng.sample(LABEL_WORDS[label], 2)
        rows.append((" ".join(words), label))
    return rows


def _reference_select(tokens: list[int], keep: int, strategy: str, ratio: float) -> list[int]:
    if len(tokens) <= keep:
        return tokens
    head = {"head": keep, "tail": 0, "head+tail": round(keep * ratio)}[strategy]
    tail = keep - head
    return tokens[:head] + (tokens[len(tokens) - tail:] if tail else [])


def test_select_and_split_match_a_python_reference():
    rng = random.Random(0)
    rows = [[rng.randint(1, 99) for _ in range(rng.randint(0, 60))] for _ in range(200)]
    ragged = tf.ragged.constant(rows, dtype=tf.int32)
    for strategy in ("head", "tail", "head+tail"):
        for ratio in (0.0, 0.25, 0.5, 1.0):
            got = select_tokens(ragged, 13, strategy, ratio).to_list()
            assert got == [_reference_select(r, 13, strategy, ratio) for r in rows]
    for window, stride, most in ((10, 5, 8), (10, 10, 3), (7, 3, 100)):
        chunks, counts = split_chunks(ragged, window, stride, most)
        expected = [[r[s:s + window] for s in chunk_starts(len(r), window, stride, most)]
                    for r in rows]
        assert counts.numpy().tolist() == [len(e) for e in expected]
        assert chunks.to_list() == [c for e in expected for c in e]


@pytest.mark.parametrize(("strategy", "options"), [
    ("tail", {}), ("head+tail", {"head_ratio": 0.3}),
    ("chunks", {}), ("chunks", {"chunk_stride": 5, "max_chunks": 3}),
    ("chunks", {"chunk_stride": 40, "max_chunks": 20}),
])
def test_numpy_tokenizer_matches_the_tf_preprocessor(minilm_handle, strategy, options):
    rng = random.Random(1)
    words = (minilm_handle / "vocab.txt").read_text(encoding="utf-8").splitlines()[2000:6000]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 60))) for _ in range(150)]
    texts += ["", "Ünïcödé façade — 很好 👍 " * 9, "很长的中文评论，" * 30]
    pairs = [" ".join(rng.choices(words, k=rng.randint(0, 20))) for _ in texts]
    lite = WordPieceTokenizer(minilm_handle / "vocab.txt", lower_case=True)
    for seq_length in (16, 33):
        layer = BertPreprocessor(str(minilm_handle / "preprocessor"), seq_length,
                                 long_text=strategy, **options)
        board = LitePreprocessor(lite, seq_length, long_text=strategy, **options)
        for segments in ([texts], [texts, pairs]):
            expected = layer([tf.constant(s) for s in segments])
            got = board(texts, segments[1] if len(segments) == 2 else None)
            for name in INPUT_NAMES:  # the same windows, in the same (padded) shape
                np.testing.assert_array_equal(got[name], expected[name].numpy(), err_msg=name)


def test_chunked_pairs_repeat_the_second_segment(tiny_handle):
    layer = BertPreprocessor(str(tiny_handle / "preprocessor"), SEQ, long_text="chunks",
                             chunk_stride=4, max_chunks=3)
    text = " ".join(["drug pain"] * 20)  # 40 tokens: more than 3 windows
    out = layer([tf.constant([text, "day"]), tf.constant(["price", "price"])])
    ids, mask, types = (out[name].numpy() for name in INPUT_NAMES)
    assert ids.shape == (2, 3, SEQ)
    assert mask[0].sum(axis=1).tolist() == [SEQ] * 3  # full windows
    assert mask[1, 0].sum() == 5 and mask[1, 1:].sum() == 0  # one window, two empty ones
    for window in range(3):  # each window ends with the aspect as its second segment
        row = ids[0, window]
        assert types[0, window].sum() == 2 and row[-2] == ids[1, 0, 3]  # "price" ... [SEP]
    assert ids[0, 1, 1] == ids[0, 0, 5]  # stride 4: window 2 starts at token 4


@pytest.fixture(scope="module")
def long_runs(tiny_handle, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("long-text")
    write_csv(root / "train.csv", long_rows(48, seed=3))
    write_csv(root / "test.csv", long_rows(15, seed=4))
    common = dict(train=str(root / "train.csv"), test=str(root / "test.csv"),
                  encoder=str(tiny_handle), epochs=1, batch_size=8, max_seq_length=SEQ,
                  learning_rate=5e-3, early_stopping_patience=0, backup_every_steps=0)
    runs = {}
    for name, options in {"head+tail": dict(long_text="head+tail", head_ratio=0.5),
                          "chunks": dict(long_text="chunks", chunk_stride=6, max_chunks=5,
                                         chunk_aggregate="max")}.items():
        result = train(TrainConfig(output=str(root / name.replace("+", "_")), **options,
                                   **common))
        runs[name] = result
    runs["root"] = root
    return runs


def test_chunked_model_pools_the_logits_of_its_windows(long_runs):
    model = long_runs["chunks"].model
    assert model.settings["long_text"] == "chunks"
    text = long_rows(1, seed=9)[0][0] + " " + " ".join(["pain"] * 30)
    ids = model.preprocessor([tf.constant([text, "good day"])])
    logits = model(ids, training=False).numpy()
    windows = ids["input_mask"].numpy()[:, :, 0].sum(axis=1)
    assert windows.tolist() == [5, 1]  # capped at max_chunks; a short text is one window
    for row in range(2):
        per_window = model({n: ids[n][row, :windows[row]][None] for n in INPUT_NAMES},
                           training=False).numpy()[0]
        np.testing.assert_allclose(logits[row], per_window, atol=1e-5)
    # Each window alone, as a batch of one-window texts, and the max over them.
    singles = model({n: tf.reshape(ids[n][0, :5], [5, 1, SEQ]) for n in INPUT_NAMES},
                    training=False).numpy()
    np.testing.assert_allclose(logits[0], singles.max(axis=0), atol=1e-5)


def test_long_text_settings_survive_reload_and_evaluation(long_runs):
    for name, result in long_runs.items():
        if name == "root":
            continue
        reloaded = Classifier.load(result.run_dir)
        assert reloaded.preprocessor.long_text == name
        texts = [t for t, _ in long_rows(6, seed=11)]
        np.testing.assert_allclose(reloaded.predict(texts, verbose=0),
                                   result.model.predict(texts, verbose=0), atol=1e-5)
        assert result.test is not None and result.test.to_dict()["num_examples"] == 15


@pytest.fixture(scope="module")
def saved_models(long_runs) -> dict:
    """Each run exported as a SavedModel, loaded: {strategy: loaded SavedModel}."""
    loaded = {}
    for name in ("head+tail", "chunks"):
        exported = export_saved_model(long_runs[name].run_dir, name=name.replace("+", "_"),
                                      base_dir=long_runs["root"] / "saved", quiet=True)
        loaded[name] = tf.saved_model.load(str(exported.path))
    return loaded


def test_saved_model_serves_the_same_strategy(long_runs, saved_models):
    texts = [t for t, _ in long_rows(8, seed=12)] + ["", " ".join(["drug"] * 80)]
    for name in ("head+tail", "chunks"):
        model = Classifier.load(long_runs[name].run_dir, precision="float32")  # as exported
        loaded = saved_models[name]
        served = loaded.signatures["serving_default"](text=tf.constant(texts))
        expected = model.probabilities(model.predict(texts, verbose=0))
        np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
        ids = model.preprocessor([tf.constant(texts)])
        by_ids = loaded.signatures["predict_ids"](**ids)["probabilities"].numpy()
        np.testing.assert_allclose(by_ids, expected, atol=1e-5)


def _board_texts() -> list[str]:
    """Long and short texts, an empty one, Chinese, and one past max_chunks windows."""
    return ([t for t, _ in long_rows(10, seed=13)]
            + ["", "pain", " ".join(["drug"] * 80), "很好，但是太贵了。" * 6,
               long_rows(1, seed=9)[0][0] + " " + " ".join(["pain"] * 30)])


def test_tflite_bundle_keeps_head_and_tail(long_runs, saved_models, tmp_path):
    run = long_runs["head+tail"].run_dir
    bundle = export_tflite(run, tmp_path / "bundle", quiet=True).path
    lite = LiteClassifier(bundle)
    assert lite.facts["long_text"] == "head+tail" and lite.facts["head_ratio"] == 0.5
    texts = _board_texts()
    served = saved_models["head+tail"].signatures["serving_default"](text=tf.constant(texts))
    assert np.abs(lite.predict(texts) - served["probabilities"].numpy()).max() <= 1e-4


@pytest.mark.parametrize("quantize", ["none", "int8"])
def test_tflite_bundle_classifies_chunks_window_by_window(long_runs, saved_models, tmp_path,
                                                          quantize):
    result = export_tflite(long_runs["chunks"].run_dir, tmp_path / "chunks",
                           quantize=quantize, quiet=True)
    lite = LiteClassifier(result.path)
    facts = lite.facts
    assert (facts["long_text"], facts["chunk_stride"], facts["max_chunks"],
            facts["chunk_aggregate"]) == ("chunks", 6, 5, "max")
    assert set(facts["outputs"]) == {"probabilities", "logits"}
    texts = _board_texts()
    model = long_runs["chunks"].model
    expected_ids = model.preprocessor([tf.constant(texts)])
    ids = lite.encode(texts)
    for name in INPUT_NAMES:  # the same windows
        np.testing.assert_array_equal(ids[name], expected_ids[name].numpy(), err_msg=name)
    assert ids["input_mask"][:, :, 0].sum(axis=1).max() == 5  # capped at max_chunks
    served = saved_models["chunks"].signatures["serving_default"](text=tf.constant(texts))
    expected = served["probabilities"].numpy()
    probabilities = lite.predict(texts)
    if quantize == "none":
        assert np.abs(probabilities - expected).max() <= 1e-4
        assert result.report["max_abs_probability_diff"] <= 1e-4  # measured at export
    else:  # int8: the board pools as the export's own TFLite run did
        runner = TFLiteRunner(result.model_file.read_bytes())
        pooled, _ = runner.run({k: v.numpy() for k, v in expected_ids.items()}, "max")
        np.testing.assert_allclose(probabilities, pooled, atol=1e-5)
    assert result.report["eval_examples"] == 15


def test_cli_rejects_an_unknown_strategy(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bert_keras.cli", "train", "--long-text", "middle",
         "--output", str(tmp_path / "x")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "long_text must be one of head, tail, head+tail, chunks" in result.stderr
