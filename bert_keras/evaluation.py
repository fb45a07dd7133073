"""Classification metrics, a terminal table, and plots, all computed with scikit-learn.

`evaluate_predictions` turns true labels and predicted probabilities into an `EvaluationReport`.
Every report carries a majority baseline (always predicting the most frequent true label of the
evaluated data): an accuracy means little until it is compared with that number.

Macro and weighted averages run over the classes that occur in the true labels or in the
predictions; a class with neither has no evidence either way and is left out of the averages
(its per-class row shows zeros). Figures are drawn on the Agg canvas directly, without pyplot, so
importing this module never changes the matplotlib backend of a notebook.
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn import metrics

from bert_keras.errors import BertKerasError

# Tried in order after DejaVu Sans for characters it lacks (Linux, Windows, macOS names).
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
              "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei",
              "PingFang SC", "Heiti SC", "Arial Unicode MS")


@dataclass
class EvaluationReport:
    """Metrics of one evaluation.

    Attributes:
        labels: the class (or label) names, in id order.
        num_examples: how many examples were evaluated.
        accuracy: fraction of examples predicted exactly right (multi-label: subset accuracy).
        macro_f1: unweighted mean F1 over the classes present in truth or predictions.
        weighted_f1: mean F1 weighted by each class's support.
        per_class: for each label name, its precision, recall, f1 and support.
        confusion_matrix: counts, rows true and columns predicted; None for multi-label.
        majority_baseline: what the baseline always predicts (a label, or for multi-label the
            most frequent label set joined with "+", "(none)" when empty).
        majority_baseline_accuracy: accuracy of always predicting `majority_baseline`.
        majority_baseline_macro_f1: macro F1 of that constant prediction.
        multi_label: whether targets were multi-hot.
        micro_f1: F1 over all label decisions pooled (multi-label only).
        threshold: the probability at or above which a label is predicted (multi-label only).
        y_true, probabilities: the inputs, kept for the precision-recall plot; not serialized.
    """

    labels: list[str]
    num_examples: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]] | None
    majority_baseline: str
    majority_baseline_accuracy: float
    majority_baseline_macro_f1: float
    multi_label: bool = False
    micro_f1: float | None = None
    threshold: float | None = None
    y_true: np.ndarray | None = field(default=None, repr=False, compare=False)
    probabilities: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def subset_accuracy(self) -> float:
        """Multi-label: the fraction of examples with every label right (same as `accuracy`)."""
        return self.accuracy

    def to_dict(self) -> dict[str, Any]:
        """The metrics as JSON-ready Python values (without the raw inputs)."""
        skip = {"y_true", "probabilities"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def save(self, output_dir: str | os.PathLike) -> dict[str, Path]:
        """Writes metrics.json, confusion_matrix.png and precision_recall.png.

        The confusion matrix is skipped for multi-label reports, the precision-recall plot when
        the report holds no inputs. Each file is written to a temporary name and renamed, so a
        reader never sees half a file.

        Args:
            output_dir: the directory (created if missing).

        Returns:
            The written paths by kind: "metrics", "confusion_matrix", "precision_recall".
        """
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"metrics": out / "metrics.json"}
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        _atomic_write(paths["metrics"], lambda f: f.write(text.encode("utf-8")))
        if self.confusion_matrix is not None:
            paths["confusion_matrix"] = out / "confusion_matrix.png"
            _save_figure(self._confusion_figure, paths["confusion_matrix"])
        if self.y_true is not None and self.probabilities is not None:
            paths["precision_recall"] = out / "precision_recall.png"
            _save_figure(self._precision_recall_figure, paths["precision_recall"])
        return paths

    def format_table(self) -> str:
        """A fixed-width table for the terminal: per-class rows, then the summary metrics."""
        width = max(_display_width(name) for name in [*self.labels, "majority baseline"]) + 2
        header = _pad("label", width) + f"{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"
        lines = [header, "-" * _display_width(header)]
        for name in self.labels:
            row = self.per_class[name]
            lines.append(_pad(name, width) + f"{row['precision']:>10.3f}{row['recall']:>10.3f}"
                         f"{row['f1']:>10.3f}{row['support']:>10d}")
        lines.append("-" * _display_width(header))
        blank = " " * 20
        accuracy_name = "subset accuracy" if self.multi_label else "accuracy"
        lines.append(_pad(accuracy_name, width) + blank
                     + f"{self.accuracy:>10.3f}{self.num_examples:>10d}")
        if self.micro_f1 is not None:
            lines.append(_pad("micro F1", width) + blank + f"{self.micro_f1:>10.3f}")
        lines.append(_pad("macro F1", width) + blank + f"{self.macro_f1:>10.3f}")
        lines.append(_pad("weighted F1", width) + blank + f"{self.weighted_f1:>10.3f}")
        lines.append(f"majority baseline (always {self.majority_baseline!r}): "
                     f"{accuracy_name} {self.majority_baseline_accuracy:.3f}, "
                     f"macro F1 {self.majority_baseline_macro_f1:.3f}")
        return "\n".join(lines)

    def _confusion_figure(self) -> Figure:
        counts = np.asarray(self.confusion_matrix)
        k = len(self.labels)
        size = max(4.0, 0.6 * k + 2.0)
        fig = Figure(figsize=(size + 1.0, size), layout="constrained")
        ax = fig.add_subplot()
        image = ax.imshow(counts, cmap="Blues")
        fig.colorbar(image, ax=ax)
        ticks = np.arange(k)
        ax.set_xticks(ticks, self.labels, rotation=45, ha="right")
        ax.set_yticks(ticks, self.labels)
        ax.set_xlabel("Predicted")
        ax.set_ylabel("True")
        ax.set_title(f"Confusion matrix (n={self.num_examples})")
        half = counts.max() / 2.0 if counts.size else 0.0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                        color="white" if counts[i, j] > half else "black")
        return fig

    def _precision_recall_figure(self) -> Figure:
        y_true = _as_indicator(self.y_true, len(self.labels), self.multi_label)
        fig = Figure(figsize=(7.0, 5.5), layout="constrained")
        ax = fig.add_subplot()
        for c, name in enumerate(self.labels):
            if not y_true[:, c].any():  # AP is undefined without a positive example
                continue
            scores = self.probabilities[:, c]
            precision, recall, _ = metrics.precision_recall_curve(y_true[:, c], scores)
            ap = metrics.average_precision_score(y_true[:, c], scores)
            ax.plot(recall, precision, drawstyle="steps-post", label=f"{name} (AP={ap:.3f})")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.05)
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_title("Precision-recall per label" if self.multi_label
                     else "Precision-recall, one class vs rest")
        if ax.lines:
            ax.legend(loc="lower left", fontsize="small")
        return fig


def evaluate_predictions(
    y_true: Sequence | np.ndarray,
    probabilities: Sequence | np.ndarray,
    labels: Sequence[str],
    *,
    multi_label: bool = False,
    threshold: float = 0.5,
) -> EvaluationReport:
    """Computes an `EvaluationReport` from true labels and predicted probabilities.

    Args:
        y_true: integer class ids, shape [n]; or multi-hot 0/1 values, shape [n, k], when
            `multi_label`.
        probabilities: predicted probabilities (or any scores), shape [n, k]. Single-label
            predictions are the argmax.
        labels: the k class names, in id order.
        multi_label: whether targets are multi-hot.
        threshold: multi-label only: a label is predicted when its probability is >= this.

    Returns:
        The report.

    Examples:
    >>> report = evaluate_predictions([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], ["a", "b"])
    >>> round(report.accuracy, 4), report.confusion_matrix
    (0.6667, [[1, 0], [1, 1]])
    >>> report.majority_baseline, round(report.majority_baseline_accuracy, 4)
    ('b', 0.6667)
    """
    labels = [str(name) for name in labels]
    k = len(labels)
    scores = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(y_true)
    if scores.ndim != 2 or scores.shape[1] != k:
        raise BertKerasError(f"probabilities must have shape [n, {k}], got {scores.shape}")
    if scores.shape[0] == 0:
        raise BertKerasError("cannot evaluate zero examples")
    if multi_label:
        if truth.shape != scores.shape or not np.isin(truth, (0, 1)).all():
            raise BertKerasError(f"multi-label y_true must be 0/1 of shape {scores.shape}")
        truth = truth.astype(np.int64)
        predicted = (scores >= threshold).astype(np.int64)
        # The most frequent label set is the constant prediction with the best subset accuracy.
        rows, counts = np.unique(truth, axis=0, return_counts=True)
        baseline = np.broadcast_to(rows[np.argmax(counts)], truth.shape)
        baseline_name = "+".join(labels[c] for c in np.flatnonzero(baseline[0])) or "(none)"
    else:
        truth = truth.reshape(-1)
        if truth.shape[0] != scores.shape[0]:
            raise BertKerasError(f"{truth.shape[0]} labels for {scores.shape[0]} predictions")
        if not np.issubdtype(truth.dtype, np.integer) or truth.min() < 0 or truth.max() >= k:
            raise BertKerasError(f"y_true must be integer class ids in [0, {k})")
        predicted = scores.argmax(axis=1)
        majority = int(np.bincount(truth, minlength=k).argmax())
        baseline = np.full_like(truth, majority)
        baseline_name = labels[majority]

    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        truth, predicted, labels=np.arange(k), average=None, zero_division=0
    )
    return EvaluationReport(
        labels=labels,
        num_examples=int(scores.shape[0]),
        accuracy=float(metrics.accuracy_score(truth, predicted)),
        macro_f1=_average_f1(truth, predicted, "macro", multi_label),
        weighted_f1=_average_f1(truth, predicted, "weighted", multi_label),
        per_class={
            name: {"precision": float(precision[c]), "recall": float(recall[c]),
                   "f1": float(f1[c]), "support": int(support[c])}
            for c, name in enumerate(labels)
        },
        confusion_matrix=None if multi_label else
        metrics.confusion_matrix(truth, predicted, labels=np.arange(k)).tolist(),
        majority_baseline=baseline_name,
        majority_baseline_accuracy=float(metrics.accuracy_score(truth, baseline)),
        majority_baseline_macro_f1=_average_f1(truth, baseline, "macro", multi_label),
        multi_label=multi_label,
        micro_f1=_average_f1(truth, predicted, "micro", True) if multi_label else None,
        threshold=float(threshold) if multi_label else None,
        y_true=truth,
        probabilities=scores,
    )


def _average_f1(truth: np.ndarray, predicted: np.ndarray, average: str, multi_label: bool) -> float:
    # Average over the classes seen in truth or predictions (see the module docstring).
    if multi_label:
        present = np.flatnonzero(truth.any(axis=0) | predicted.any(axis=0))
    else:
        present = np.union1d(truth, predicted)
    if present.size == 0:  # multi-label with no positive anywhere: nothing to get wrong
        return 1.0
    return float(metrics.f1_score(truth, predicted, labels=present, average=average,
                                  zero_division=0))


def _as_indicator(y_true: np.ndarray, k: int, multi_label: bool) -> np.ndarray:
    return y_true if multi_label else np.eye(k, dtype=np.int64)[y_true]


def _display_width(text: str) -> int:
    # CJK characters take two terminal columns; combining marks take none.
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _display_width(text), 1)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _save_figure(build: Callable[[], Figure], path: Path) -> None:
    # Labels may be Chinese: let matplotlib fall back glyph by glyph to an installed CJK font,
    # and say once, not once per glyph, when none has the characters.
    installed = {font.name for font in font_manager.fontManager.ttflist}
    family = ["DejaVu Sans", *(name for name in _CJK_FONTS if name in installed)]
    fonts = matplotlib.rc_context({"font.family": family})
    with fonts, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fig = build()
        FigureCanvasAgg(fig)
        _atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    missing = False
    for warning in seen:
        if "missing from font" in str(warning.message):
            missing = True
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    if missing:
        warnings.warn(f"{path.name}: some label characters have no installed font and show as "
                      "boxes; install a CJK font such as fonts-noto-cjk", stacklevel=3)
