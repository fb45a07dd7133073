"""Tests for bert_keras.data.splits."""

from collections import Counter

import pytest

from bert_keras.data.examples import BadRow, LabelledTexts
from bert_keras.data.splits import train_validation_split
from bert_keras.errors import DataError


def examples(labels, skipped=()):
    return LabelledTexts([f"t{i}" for i in range(len(labels))], labels=labels,
                         skipped=list(skipped))


def test_stratified():
    data = examples([["a"]] * 80 + [["b"]] * 15 + [["c"]] * 5)
    train, validation = train_validation_split(data, validation_fraction=0.2, seed=3)
    assert len(train) == 80 and len(validation) == 20
    assert Counter(row[0] for row in validation.labels) == {"a": 16, "b": 3, "c": 1}
    assert sorted(train.texts + validation.texts) == sorted(data.texts)
    assert train.sources == sorted(train.sources, key=lambda s: int(s.split(":")[1]))


def test_deterministic_for_a_seed():
    data = examples([["a"], ["b"]] * 50)
    first = train_validation_split(data, seed=7)
    assert train_validation_split(data, seed=7)[1].texts == first[1].texts
    assert train_validation_split(data, seed=8)[1].texts != first[1].texts


def test_singleton_classes_go_to_train():
    data = examples([["a"]] * 10 + [["b"]] * 10 + [["rare"]])
    for seed in range(5):
        train, validation = train_validation_split(data, validation_fraction=0.3, seed=seed)
        assert ["rare"] in train.labels and ["rare"] not in validation.labels


def test_multi_label_stratifies_by_first_label():
    data = examples([["a", "x"]] * 10 + [["b", "x"]] * 10)
    _, validation = train_validation_split(data, validation_fraction=0.2)
    assert Counter(row[0] for row in validation.labels) == {"a": 2, "b": 2}


def test_too_few_for_stratification_falls_back():
    data = examples([["a"], ["b"], ["c"], ["d"]] * 2)
    with pytest.warns(UserWarning, match="without stratification"):
        train, validation = train_validation_split(data, validation_fraction=0.25)
    assert len(train) == 6 and len(validation) == 2


def test_errors():
    with pytest.raises(ValueError, match="validation_fraction"):
        train_validation_split(examples([["a"]] * 4), validation_fraction=1.0)
    with pytest.raises(DataError, match="without labels"):
        train_validation_split(LabelledTexts(["a", "b"]))
    with pytest.raises(DataError, match="cannot hold out"):
        train_validation_split(examples([["a"], ["b"], ["c"]]))


def test_skipped_rows_counted_once():
    data = examples([["a"], ["b"]] * 5, skipped=[BadRow("f.csv", 3, "empty text")])
    train, validation = train_validation_split(data, validation_fraction=0.2)
    assert train.skipped == data.skipped and validation.skipped == []
