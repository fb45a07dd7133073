"""Aspect-level sentiment: (text, aspect) data, in-graph text filtering by aspect mention,
the BERT-Pair-ATT head, predictions that follow the aspect when one text praises one
aspect and criticises another, and the NumPy filter boards run (`bert_keras.lite`), which
must equal the graph's."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import tensorflow as tf
from test_training import FILLER, write_csv

from bert_keras.config import TrainConfig
from bert_keras.errors import BertKerasError, DataError
from bert_keras.export.saved_model import export_saved_model
from bert_keras.export.tflite import export_tflite
from bert_keras.layers.aspect_attention import AspectAttentionPooler
from bert_keras.layers.aspect_input import AspectInput, split_sentences
from bert_keras.layers.preprocessor import INPUT_NAMES, BertPreprocessor
from bert_keras.lite import LiteClassifier, WordPieceTokenizer
from bert_keras.lite.aspect import AspectFilter, lower_like_tf
from bert_keras.lite.aspect import split_sentences as board_split_sentences
from bert_keras.lite.preprocessor import LitePreprocessor
from bert_keras.models.classifier import Classifier
from bert_keras.training import train

POSITIVE = ["great", "good", "excellent", "best", "love"]
NEGATIVE = ["terrible", "bad", "awful", "worst", "hate"]
ASPECTS = ["food", "price", "service"]
LEXICON = {"price": ["cost", "贵", "Expensive", ""], "价格": ["贵", "价钱"],
           "food": ["菜", "dish"], "c++": ["\\", "a(b"], "": ["x"]}
# Sentence ends, every whitespace RE2's and Python's \s disagree on, quotes, NUL (where
# TensorFlow's lower-casing stops), Greek sigma, a Unicode 14 capital, regex metacharacters.
PIECES = ["price", "Price", "PRICE", "cost", "价格", "贵", "服务", "food", "Food", " ", "  ",
          "\t", "\n", "\n\n", "\v", "\f", "\r", "\x1e", "\x1c", "\x85", "\xa0", "\u3000",
          ".", "..", "...", "!", "?", ";", "。", "！", "？", "；", "…", "”", "’", "」", "』",
          "）", ")", '"', "'", "，", ",", "x", "abc", "Σ", "ΑΣ", "ς", "İ", "ß", "\x00", "Ⱟ",
          "\U00010570", "很好", "太贵了", "e\u0301", "😂", "a.b", "c++", "(", "[", "\\", "$",
          "^", "dish"]
ASPECT_NAMES = ["price", "Price ", " price", "food", "价格", "服务", "", " ", "c++", "a.b",
                "ΑΣ", "\tprice\n", "x", "(", "e\u0301", "\x00price", "price\v"]


def generated_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    """`n` random (text, aspect) strings built from PIECES and ASPECT_NAMES."""
    rng = random.Random(seed)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30))) for _ in range(n)]
    return texts, [rng.choice(ASPECT_NAMES) for _ in texts]


def _decode(tensor) -> list[str]:
    return [s.decode() for s in tensor.numpy()]


def test_sentences_split_on_chinese_and_western_punctuation():
    text = "Food was great. Price? Too high!\n服务很好。环境差！价格还行；就这样"
    got = [s.decode() for s in split_sentences(tf.constant([text])).to_list()[0]]
    assert got == ["Food was great. ", "Price? ", "Too high!\n", "服务很好。", "环境差！",
                   "价格还行；", "就这样"]
    assert "".join(got) == text
    assert split_sentences(tf.constant(["", "no end"])).to_list() == [[b""], [b"no end"]]


def test_numpy_filter_equals_the_graph_filter_on_generated_strings():
    texts, aspects = generated_pairs(800, seed=0)
    graph = split_sentences(tf.constant(texts)).to_list()
    assert [[s.decode() for s in row] for row in graph] == [board_split_sentences(t)
                                                           for t in texts]
    lowered = tf.strings.lower(tf.constant(texts), encoding="utf-8").numpy()
    assert [s.decode() for s in lowered] == [lower_like_tf(t) for t in texts]
    hits = 0
    for settings in ({"lexicon": LEXICON, "window": 0},
                     {"lexicon": LEXICON, "window": 1, "template": "What about the {aspect}?"},
                     {"lexicon": {}, "window": 2},
                     {"filter_text": False, "template": "{aspect} ?"}):
        layer = AspectInput(**settings)
        kept, phrased, mentioned = tf.function(layer)([tf.constant(texts), tf.constant(aspects)])
        board = AspectFilter.from_settings(layer.get_config())
        expected = list(zip(_decode(kept), _decode(phrased), mentioned.numpy().tolist(),
                            strict=True))
        got = [board(t, a) for t, a in zip(texts, aspects, strict=True)]
        bad = [(texts[i], aspects[i], expected[i], got[i]) for i in range(len(texts))
               if got[i] != expected[i]]
        assert not bad, f"{settings}: {len(bad)} differ, e.g. {bad[:2]}"
        hits += sum(mentioned.numpy())
    assert 0 < hits < 3 * len(texts)  # mentions and misses both occur


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


def _serving(run_dir, root, name):
    """`run_dir` exported as a SavedModel: its `serving_default` signature."""
    exported = export_saved_model(run_dir, name=name, base_dir=root / "saved", quiet=True)
    return tf.saved_model.load(str(exported.path)).signatures["serving_default"]


@pytest.fixture(scope="module")
def aspect_serving(aspect_run):
    return _serving(aspect_run[1].run_dir, aspect_run[0], "aspect")


def test_aspect_model_reloads_and_serves_text_and_aspect(aspect_run, aspect_serving):
    _, result = aspect_run
    reloaded = Classifier.load(result.run_dir)
    assert reloaded.preprocessor.aspect == {"filter_text": True, "lexicon": {}, "window": 0,
                                            "template": None}
    texts = [t for t, _, _ in opposite_rows(4, seed=7)]
    aspects = [a for _, a, _ in opposite_rows(4, seed=7)]
    exact = Classifier.load(result.run_dir, precision="float32")  # as exported
    expected = exact.probabilities(exact.predict(texts, pairs=aspects, verbose=0))
    served = aspect_serving(text=tf.constant(texts), text_pair=tf.constant(aspects))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)


# Reviews for the board checks: Chinese punctuation, no mention, empty texts, synonyms
# (from LEXICON), over-long texts whose mention sits late, several sentences a text.
BOARD_PAIRS = [
    ("the food was great today. the service was awful sleep.", "food"),
    ("the food was great today. the service was awful sleep.", "service"),
    ("菜很好吃。服务太差了！价钱也贵；下次不来了", "价格"),
    ("菜很好吃。服务太差了！价钱也贵；下次不来了", "food"),
    ("the dish was awful. day day day. the bill? good.", "food"),
    ("it was expensive! but the service was good.", "price"),
    ("nothing about it here. just words and more words.", "price"),
    ("", "food"), ("", ""), ("the price.", ""), ("   ", "service"),
    (" ".join(["day"] * 40) + ". the price was terrible. " + " ".join(["week"] * 40), "price"),
    (" ".join(["day"] * 40) + ". " + " ".join(["week"] * 40) + ".", "price"),
    ("The PRICE was bad.\nThe FOOD was good.\n\nThe service, meh", "Food "),
    ("“价格还行。”服务一般……环境很好！", "价格"),
]


def _board_matches_the_saved_model(run_dir, root, name, serving, pairs) -> LiteClassifier:
    """Exports `run_dir` as a float32 bundle: its ids equal the graph's and its
    probabilities those of `serving` (a SavedModel's `serving_default` signature, or the
    Keras model's, which the SavedModel equals) within 1e-4."""
    texts, aspects = [list(x) for x in zip(*pairs, strict=True)]
    bundle = LiteClassifier(export_tflite(run_dir, root / f"{name}-board", quiet=True).path)
    model = Classifier.load(run_dir)
    assert bundle.facts["aspect"] == model.settings["aspect"]
    expected_ids = model.preprocessor([tf.constant(texts), tf.constant(aspects)])
    ids = bundle.encode(texts, aspects)
    for key in INPUT_NAMES:
        np.testing.assert_array_equal(ids[key], expected_ids[key].numpy(), err_msg=key)
    served = serving(text=tf.constant(texts), text_pair=tf.constant(aspects))
    assert np.abs(bundle.predict(texts, aspects) - served["probabilities"].numpy()).max() <= 1e-4
    return bundle


def test_filtered_aspect_model_runs_on_the_board(aspect_run, aspect_serving):
    root, result = aspect_run
    bundle = _board_matches_the_saved_model(result.run_dir, root, "filtered", aspect_serving,
                                            BOARD_PAIRS)
    text = "the food was excellent today. the service was awful sleep."
    assert bundle.predict_labels([text, text], pairs=["food", "service"]) == [
        "positive", "negative"]


@pytest.fixture(scope="module")
def templated_run(tiny_handle, tmp_path_factory):
    """An aspect model with a lexicon, a window of 1 and an aspect template (one epoch)."""
    root = tmp_path_factory.mktemp("templated")
    write_csv(root / "train.csv", opposite_rows(24, seed=2), header=("text", "aspect", "label"))
    (root / "lexicon.json").write_text(json.dumps(LEXICON), encoding="utf-8")
    result = train(TrainConfig(
        train=str(root / "train.csv"), task="aspect", aspect_filter=True,
        aspect_lexicon=str(root / "lexicon.json"), aspect_window=1,
        aspect_template="what about the {aspect} ?", encoder=str(tiny_handle), epochs=1,
        batch_size=16, max_seq_length=24, early_stopping_patience=0, backup_every_steps=0,
        output=str(root / "run")))
    return root, result


def test_templated_aspect_model_with_synonyms_runs_on_the_board(templated_run):
    root, result = templated_run
    assert result.model.settings["aspect"]["template"] == "what about the {aspect} ?"
    model = Classifier.load(result.run_dir, precision="float32")  # as exported

    def keras_serving(text, text_pair):  # spares a second SavedModel export
        ids = model.preprocessor([text, text_pair])
        return {"probabilities": tf.constant(model.probabilities(model(ids, training=False)))}

    bundle = _board_matches_the_saved_model(result.run_dir, root, "templated", keras_serving,
                                            BOARD_PAIRS)
    assert bundle.facts["aspect"]["lexicon"]["price"] == LEXICON["price"]


@pytest.mark.parametrize(("long_text", "aspect"), [
    ("head", {"filter_text": True, "lexicon": LEXICON, "window": 1,
              "template": "what about the {aspect} ?"}),
    ("head+tail", {"filter_text": True, "lexicon": {}, "window": 0, "template": None}),
    ("chunks", {"filter_text": False, "lexicon": {}, "window": 1, "template": "the {aspect}"}),
    ("tail", {"filter_text": False, "lexicon": LEXICON, "window": 1, "template": None}),
])
def test_board_preprocessor_equals_the_graph_for_aspects(minilm_handle, long_text, aspect):
    texts, aspects = generated_pairs(150, seed=4)
    texts += [t for t, _ in BOARD_PAIRS] + [t + " " + t for t, _, _ in opposite_rows(20, seed=5)]
    aspects += [a for _, a in BOARD_PAIRS] + [a for _, a, _ in opposite_rows(20, seed=5)]
    layer = BertPreprocessor(str(minilm_handle / "preprocessor"), 24, long_text=long_text,
                             head_ratio=0.4, chunk_stride=7, max_chunks=3, aspect=aspect)
    board = LitePreprocessor(WordPieceTokenizer(minilm_handle / "vocab.txt", True), 24,
                             long_text=long_text, head_ratio=0.4, chunk_stride=7,
                             max_chunks=3, aspect=aspect)
    expected = layer([tf.constant(texts), tf.constant(aspects)])
    got = board(texts, aspects)
    for key in INPUT_NAMES:
        np.testing.assert_array_equal(got[key], expected[key].numpy(), err_msg=key)


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
