"""Aspect-level sentiment: (text, aspect) data, in-graph text filtering by aspect mention,
the BERT-Pair-ATT head, and predictions that follow the aspect when one text praises one
aspect and criticises another."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import tensorflow as tf
from test_training import FILLER, write_csv

from bert_keras.config import TrainConfig
from bert_keras.errors import BertKerasError, DataError
from bert_keras.export import ExportError
from bert_keras.export.saved_model import export_saved_model
from bert_keras.export.tflite import export_tflite
from bert_keras.layers.aspect_attention import AspectAttentionPooler
from bert_keras.layers.aspect_input import AspectInput, split_sentences
from bert_keras.layers.preprocessor import BertPreprocessor
from bert_keras.models.classifier import Classifier
from bert_keras.training import train

POSITIVE = ["great", "good", "excellent", "best", "love"]
NEGATIVE = ["terrible", "bad", "awful", "worst", "hate"]
ASPECTS = ["food", "price", "service"]


def _decode(tensor) -> list[str]:
    return [s.decode() for s in tensor.numpy()]


def test_sentences_split_on_chinese_and_western_punctuation():
    text = "Food was great. Price? Too high!\n服务很好。环境差！价格还行；就这样"
    got = [s.decode() for s in split_sentences(tf.constant([text])).to_list()[0]]
    assert got == ["Food was great. ", "Price? ", "Too high!\n", "服务很好。", "环境差！",
                   "价格还行；", "就这样"]
    assert "".join(got) == text
    assert split_sentences(tf.constant(["", "no end"])).to_list() == [[b""], [b"no end"]]


def test_filter_keeps_mentions_and_neighbours_in_order():
    text = "A one. B two. The PRICE is high. C three. D four. Cost again. E five."
    layer = AspectInput(lexicon={"price": ["cost"]}, window=1)
    kept, aspect, mentioned = layer([tf.constant([text, text, "x. y."]),
                                     tf.constant(["price", "service", "c++"])])
    assert _decode(kept) == ["B two. The PRICE is high. C three. D four. Cost again. E five.",
                             text, "x. y."]
    assert mentioned.numpy().tolist() == [True, False, False]
    assert _decode(aspect) == ["price", "service", "c++"]  # no template: unchanged
    narrow = AspectInput(lexicon={"price": ["cost"]}, window=0)
    assert _decode(narrow([tf.constant([text]), tf.constant(["Price"])])[0]) == [
        "The PRICE is high. Cost again. "]
    chinese = AspectInput(lexicon={"价格": ["贵"]}, window=0,
                          template="What do you think of the {aspect}?")
    kept, aspect, _ = chinese([tf.constant(["服务很好。就是太贵了！环境一般。"]),
                               tf.constant(["价格"])])
    assert _decode(kept) == ["就是太贵了！"]
    assert _decode(aspect) == ["What do you think of the 价格?"]


def test_unmentioned_long_text_keeps_head_and_tail(tiny_handle):
    words = " ".join(["drug"] * 40)
    text = f"pain day. {words}. week sleep."
    layer = BertPreprocessor(str(tiny_handle / "preprocessor"), 16, head_ratio=0.5,
                             aspect={"filter_text": True, "window": 0})
    plain = BertPreprocessor(str(tiny_handle / "preprocessor"), 16, long_text="head+tail",
                             head_ratio=0.5)
    ids = layer([tf.constant([text, text]), tf.constant(["food", "week"])])["input_word_ids"]
    unmentioned = plain([tf.constant([text]), tf.constant(["food"])])["input_word_ids"]
    np.testing.assert_array_equal(ids[0], unmentioned[0])  # head and tail of the whole text
    only_sentence = plain([tf.constant(["week sleep."]), tf.constant(["week"])])
    np.testing.assert_array_equal(ids[1], only_sentence["input_word_ids"][0])


def test_bad_aspect_settings_are_clear(tmp_path):
    with pytest.raises(ValueError, match="lacks {aspect}"):
        AspectInput(template="What about it?")
    with pytest.raises(BertKerasError, match="need task='aspect'"):
        TrainConfig(aspect_filter=True)
    bad = tmp_path / "lexicon.json"
    bad.write_text('{"price": "cost"}')
    with pytest.raises(BertKerasError, match=r"lexicon\.json: expected"):
        TrainConfig(task="aspect", aspect_lexicon=str(bad)).aspect_settings()
    assert TrainConfig(task="aspect").pooler == "aspect_attention"
    assert TrainConfig(task="aspect").text_pair_column == "aspect"


def test_pair_att_pooler_attends_only_to_the_text():
    sequence = tf.constant([[[1.0, 0.0], [0.0, 9.0], [5.0, 5.0], [7.0, 7.0]]])
    inputs = {"sequence_output": sequence, "input_mask": tf.constant([[1, 1, 1, 0]]),
              "input_type_ids": tf.constant([[0, 0, 1, 1]])}
    pooled = AspectAttentionPooler()(inputs).numpy()[0]
    attended, cls = pooled[:2], pooled[2:]
    np.testing.assert_allclose(cls, [1.0, 0.0])
    # A convex mix of the two text tokens only (the aspect and the padding get no weight).
    weight = attended[1] / 9.0
    np.testing.assert_allclose(attended, [1.0 - weight, 9.0 * weight], atol=1e-6)


def opposite_rows(n: int, seed: int) -> list[tuple[str, str, str]]:
    """Two aspects a text, one praised and one criticised, in random order."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        good, bad = rng.sample(ASPECTS, 2)
        sentences = [f"the {good} was {rng.choice(POSITIVE)} {rng.choice(FILLER)}.",
                     f"the {bad} was {rng.choice(NEGATIVE)} {rng.choice(FILLER)}."]
        rng.shuffle(sentences)
        text = " ".join(sentences)
        rows += [(text, good, "positive"), (text, bad, "negative")]
    return rows


@pytest.fixture(scope="module")
def aspect_run(tiny_handle, tmp_path_factory):
    root = tmp_path_factory.mktemp("aspect")
    write_csv(root / "train.csv", opposite_rows(90, seed=0), header=("text", "aspect", "label"))
    lines = [{"text": text, "aspects": {aspect: label}}
             for text, aspect, label in opposite_rows(20, seed=1)]
    (root / "test.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = train(TrainConfig(
        train=str(root / "train.csv"), test=str(root / "test.jsonl"), task="aspect",
        aspect_filter=True, aspect_window=0, encoder=str(tiny_handle), epochs=6,
        batch_size=16, max_seq_length=24, learning_rate=3e-3, early_stopping_patience=0,
        backup_every_steps=0, output=str(root / "run")))
    return root, result


def test_prediction_follows_the_aspect(aspect_run):
    _, result = aspect_run
    model = result.model
    assert model.settings["pooler"] == "aspect_attention" and model.settings["pair"]
    assert result.test.to_dict()["accuracy"] >= 0.9, result.test.format_table()
    text = "the food was excellent today. the service was awful sleep."
    predicted = model.predict_labels([text, text], pairs=["food", "service"])
    assert [p["label"] for p in predicted] == ["positive", "negative"]
    flipped = "the food was worst today. the service was love sleep."
    predicted = model.predict_labels([flipped, flipped], pairs=["food", "service"])
    assert [p["label"] for p in predicted] == ["negative", "positive"]


def test_aspect_model_reloads_and_serves_text_and_aspect(aspect_run):
    root, result = aspect_run
    reloaded = Classifier.load(result.run_dir)
    assert reloaded.preprocessor.aspect == {"filter_text": True, "lexicon": {}, "window": 0,
                                            "template": None}
    texts = [t for t, _, _ in opposite_rows(4, seed=7)]
    aspects = [a for _, a, _ in opposite_rows(4, seed=7)]
    exact = Classifier.load(result.run_dir, precision="float32")  # as exported
    expected = exact.probabilities(exact.predict(texts, pairs=aspects, verbose=0))
    exported = export_saved_model(result.run_dir, name="aspect", base_dir=root / "saved",
                                  quiet=True)
    served = tf.saved_model.load(str(exported.path)).signatures["serving_default"](
        text=tf.constant(texts), text_pair=tf.constant(aspects))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
    with pytest.raises(ExportError, match="filters texts by aspect mention"):
        export_tflite(result.run_dir, root / "board", quiet=True)


def test_jsonl_aspects_expand_and_an_empty_aspect_names_the_line(tmp_path):
    from bert_keras.data.readers import read_examples

    good = tmp_path / "reviews.jsonl"
    good.write_text(json.dumps({"text": "cheap but slow", "aspects": {"price": "positive",
                                                                    "service": "negative"}})
                    + "\n" + json.dumps({"text": "fine", "aspects": ["food"]}) + "\n")
    examples = read_examples(good, text_pair_column="aspect", require_labels=False)
    assert examples.texts == ["cheap but slow", "cheap but slow", "fine"]
    assert examples.pairs == ["price", "service", "food"]
    csv_file = write_csv(tmp_path / "bad.csv", [("good food", "food", "positive"),
                                                ("slow", "", "negative")],
                         header=("text", "aspect", "label"))
    with pytest.raises(DataError, match=r"bad\.csv:3: empty text in 'aspect'"):
        read_examples(csv_file, text_pair_column="aspect")


def test_cli_predicts_one_label_per_text_and_aspect(aspect_run, tmp_path):
    import subprocess
    import sys

    _, result = aspect_run
    text = "the food was excellent today. the service was awful sleep."
    source = tmp_path / "new.jsonl"
    source.write_text(json.dumps({"text": text, "aspects": ["food", "service"]}) + "\n")
    done = subprocess.run([sys.executable, "-m", "bert_keras.cli", "predict", "--model",
                           str(result.run_dir), "--input", str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["text_pair"], r["label"]) for r in rows] == [("food", "positive"),
                                                           ("service", "negative")]
