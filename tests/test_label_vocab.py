"""Tests for bert_keras.data.label_vocab."""

import json

import numpy as np
import pytest

from bert_keras.data.examples import LabelledTexts
from bert_keras.data.label_vocab import LabelVocabulary
from bert_keras.errors import DataError


def examples(labels):
    return LabelledTexts([f"t{i}" for i in range(len(labels))], labels=labels)


def test_from_examples_sorts_labels():
    vocab = LabelVocabulary.from_examples(examples([["pos"], ["neg"], ["neutral"], ["pos"]]))
    assert vocab.labels == ["neg", "neutral", "pos"]
    assert len(vocab) == 3 and not vocab.multi_label
    assert LabelVocabulary.from_examples(examples([["b"], ["a"]])).labels == ["a", "b"]


def test_single_label_encode_decode():
    vocab = LabelVocabulary(["neg", "pos"])
    ids = vocab.encode([["pos"], ["neg"], ["pos"]])
    assert ids.dtype == np.int32 and ids.tolist() == [1, 0, 1]
    assert vocab.decode(ids) == [["pos"], ["neg"], ["pos"]]
    assert vocab.decode(np.array([], dtype=np.int32)) == []
    with pytest.raises(DataError, match="unknown label 'meh'; known labels: neg, pos"):
        vocab.encode([["meh"]])
    with pytest.raises(DataError, match="row 0 has 2 labels"):
        vocab.encode([["neg", "pos"]])
    with pytest.raises(ValueError, match="ids must lie in"):
        vocab.decode([2])


def test_multi_label_encode_decode():
    vocab = LabelVocabulary.from_examples(examples([["food", "service"], ["price"]]))
    assert vocab.multi_label and vocab.labels == ["food", "price", "service"]
    hot = vocab.encode([["service", "food"], ["price"], []])
    assert hot.dtype == np.float32 and hot.shape == (3, 3)
    assert hot.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0]]
    assert vocab.decode(hot) == [["food", "service"], ["price"], []]
    assert vocab.decode([[0.2, 0.6, 0.4]], threshold=0.3) == [["price", "service"]]
    with pytest.raises(ValueError, match=r"shape \[n, 3\]"):
        vocab.decode([0, 1])


def test_multi_label_can_be_forced():
    vocab = LabelVocabulary.from_examples(examples([["a"], ["b"]]), multi_label=True)
    assert vocab.encode([["b"]]).tolist() == [[0.0, 1.0]]


def test_round_trip(tmp_path):
    path = tmp_path / "labels.json"
    vocab = LabelVocabulary(["负面", "正面"], multi_label=True)
    vocab.save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "labels": ["负面", "正面"], "multi_label": True}
    assert LabelVocabulary.load(path) == vocab
    assert [p.name for p in tmp_path.iterdir()] == ["labels.json"]  # no temp file left
    LabelVocabulary(["x"]).save(path)  # overwrites in place
    assert LabelVocabulary.load(path).labels == ["x"]


def test_load_errors(tmp_path):
    with pytest.raises(DataError, match="not a readable label vocabulary"):
        LabelVocabulary.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"labels": ["a", "a"], "multi_label": false}')
    with pytest.raises(DataError, match="bad.json"):
        LabelVocabulary.load(tmp_path / "bad.json")


def test_invalid_vocabularies():
    with pytest.raises(DataError):
        LabelVocabulary([])
    with pytest.raises(DataError):
        LabelVocabulary(["a", ""])
    with pytest.raises(DataError, match="no labels"):
        LabelVocabulary.from_examples(LabelledTexts(["a"]))
