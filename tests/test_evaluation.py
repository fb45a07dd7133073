"""Tests for bert_keras.evaluation on small inputs with hand-checked numbers."""

import json
import warnings

import numpy as np
import pytest
from matplotlib.image import imread

from bert_keras.errors import BertKerasError
from bert_keras.evaluation import _display_width, evaluate_predictions

LABELS = ["neg", "neu", "pos"]
Y_TRUE = [0, 0, 1, 2, 2, 2]
# Predicted classes: 0, 2, 1, 2, 2, 0.
PROBS = [
    [0.7, 0.2, 0.1],
    [0.3, 0.1, 0.6],
    [0.1, 0.8, 0.1],
    [0.2, 0.2, 0.6],
    [0.1, 0.1, 0.8],
    [0.5, 0.1, 0.4],
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report():
    return evaluate_predictions(Y_TRUE, PROBS, LABELS)


def test_single_label_metrics(report):
    assert report.num_examples == 6
    assert report.confusion_matrix == [[1, 0, 1], [0, 1, 0], [1, 0, 2]]
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.per_class["neg"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert report.per_class["neu"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1})
    assert report.per_class["pos"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert report.macro_f1 == pytest.approx((0.5 + 1.0 + 2 / 3) / 3)
    assert report.weighted_f1 == pytest.approx((2 * 0.5 + 1.0 + 3 * 2 / 3) / 6)
    assert report.micro_f1 is None and report.threshold is None


def test_majority_baseline(report):
    # Always "pos": 3 of 6 right; F1 of pos = 2/3 (precision 1/2, recall 1), others 0.
    assert report.majority_baseline == "pos"
    assert report.majority_baseline_accuracy == pytest.approx(0.5)
    assert report.majority_baseline_macro_f1 == pytest.approx((2 / 3) / 3)


def test_save_writes_json_and_png(report, tmp_path):
    paths = report.save(tmp_path / "eval")
    assert set(paths) == {"metrics", "confusion_matrix", "precision_recall"}
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == [
        "confusion_matrix.png", "metrics.json", "precision_recall.png"]
    saved = json.loads(paths["metrics"].read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(report.to_dict()))
    assert saved["majority_baseline_accuracy"] == pytest.approx(0.5)
    assert "y_true" not in saved and "probabilities" not in saved
    for key in ("confusion_matrix", "precision_recall"):
        assert paths[key].read_bytes()[:8] == PNG_SIGNATURE
        assert imread(paths[key]).ndim == 3


def test_format_table(report):
    table = report.format_table()
    for text in [*LABELS, "precision", "recall", "support", "accuracy", "macro F1",
                 "0.667", "0.722", "majority baseline", "'pos'", "0.500", "0.222"]:
        assert text in table, text
    neg_row = next(line for line in table.splitlines() if line.startswith("neg "))
    assert neg_row.split() == ["neg", "0.500", "0.500", "0.500", "2"]


def test_wide_characters_align_and_warn_at_most_once_per_plot(tmp_path):
    report = evaluate_predictions([0, 1], [[0.9, 0.1], [0.2, 0.8]], ["正面", "negative"])
    rows = report.format_table().splitlines()[:4]
    assert len({_display_width(row) for row in rows}) == 1
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        report.save(tmp_path)
    # Without a CJK font matplotlib would warn once per missing glyph and figure.
    assert len(seen) <= 2 and all("fonts-noto-cjk" in str(w.message) for w in seen)


def test_absent_classes_do_not_warn_or_crash(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # "c" is neither true nor predicted: it is left out of the averages.
        report = evaluate_predictions([0, 0, 1, 1], [[0.9, 0.1, 0.0], [0.4, 0.6, 0.0],
                                                     [0.2, 0.8, 0.0], [0.3, 0.7, 0.0]],
                                      ["a", "b", "c"])
        assert report.per_class["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                         "support": 0}
        assert report.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
        # "c" is predicted but never true: its F1 of 0 counts.
        report = evaluate_predictions([0, 0], [[0.9, 0.1, 0.0], [0.1, 0.1, 0.8]],
                                      ["a", "b", "c"])
        assert report.macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)
        assert report.majority_baseline_macro_f1 == pytest.approx(1.0)
        paths = report.save(tmp_path)
        assert paths["precision_recall"].read_bytes()[:8] == PNG_SIGNATURE


def test_multi_label(tmp_path):
    y_true = [[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]]
    probs = [[0.9, 0.1, 0.2], [0.8, 0.4, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.3]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluate_predictions(y_true, probs, ["x", "y", "z"], multi_label=True)
    # Predicted sets: {x}, {x}, {z}, {x}; rows 0 and 3 are exactly right.
    assert report.accuracy == report.subset_accuracy == pytest.approx(0.5)
    assert report.micro_f1 == pytest.approx(0.75)  # tp 3, fp 1, fn 1
    assert report.macro_f1 == pytest.approx(1 / 3)  # x 1.0, y 0.0, z 0.0
    assert report.weighted_f1 == pytest.approx(0.75)  # supports 3, 1, 0
    assert report.per_class["z"]["support"] == 0
    assert report.confusion_matrix is None and report.threshold == 0.5
    # Baseline: the most frequent label set {x} on every row.
    assert report.majority_baseline == "x"
    assert report.majority_baseline_accuracy == pytest.approx(0.5)
    assert report.majority_baseline_macro_f1 == pytest.approx((6 / 7) / 2)
    assert "subset accuracy" in report.format_table()
    assert "micro F1" in report.format_table()
    paths = report.save(tmp_path)
    assert set(paths) == {"metrics", "precision_recall"}
    assert json.loads(paths["metrics"].read_text())["confusion_matrix"] is None


def test_multi_label_threshold():
    report = evaluate_predictions([[1, 0]], [[0.3, 0.1]], ["x", "y"], multi_label=True,
                                  threshold=0.3)
    assert report.accuracy == 1.0


@pytest.mark.parametrize("y_true, probs, kwargs", [
    ([0, 1], [[0.5, 0.5]], {}),
    ([0, 2], [[0.5, 0.5], [0.5, 0.5]], {}),
    ([0.0, 1.0], [[0.5, 0.5], [0.5, 0.5]], {}),
    ([0], [[0.2, 0.3, 0.5]], {}),
    ([], np.zeros((0, 2)), {}),
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], {"multi_label": True}),
    ([[2, 0]], [[0.5, 0.5]], {"multi_label": True}),
])
def test_bad_inputs(y_true, probs, kwargs):
    with pytest.raises(BertKerasError):
        evaluate_predictions(y_true, probs, ["a", "b"], **kwargs)
