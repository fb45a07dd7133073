"""The mapping between label strings and the ids or multi-hot rows a model is trained on."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bert_keras.data.examples import LabelledTexts
from bert_keras.errors import DataError


class LabelVocabulary:
    """An ordered set of labels; the position of a label is its id.

    Args:
        labels: the labels in id order (unique, non-empty strings).
        multi_label: whether a row may carry several labels (multi-hot encoding).

    Examples:
    >>> vocab = LabelVocabulary(["neg", "pos"])
    >>> vocab.encode([["pos"], ["neg"]])
    array([1, 0], dtype=int32)
    >>> vocab.decode([1, 0])
    [['pos'], ['neg']]
    >>> multi = LabelVocabulary(["food", "price", "service"], multi_label=True)
    >>> multi.encode([["food", "service"]])
    array([[1., 0., 1.]], dtype=float32)
    >>> multi.decode([[0.9, 0.2, 0.7]])
    [['food', 'service']]
    """

    def __init__(self, labels: Sequence[str], multi_label: bool = False) -> None:
        labels = [str(label) for label in labels]
        if not labels:
            raise DataError("a label vocabulary needs at least one label")
        if len(set(labels)) != len(labels) or not all(labels):
            raise DataError(f"labels must be unique and non-empty, got {labels}")
        self._labels = labels
        self._ids = {label: i for i, label in enumerate(labels)}
        self.multi_label = bool(multi_label)

    @classmethod
    def from_examples(
        cls, examples: LabelledTexts, multi_label: bool | None = None
    ) -> LabelVocabulary:
        """Collects the labels of `examples`, sorted so that ids do not depend on row order.

        Args:
            examples: labelled data (usually the training set).
            multi_label: force the encoding; by default multi-label when any row has several
                labels.

        Returns:
            The vocabulary.
        """
        if examples.labels is None:
            raise DataError("the examples have no labels to build a label vocabulary from")
        labels = sorted({label for row in examples.labels for label in row})
        if multi_label is None:
            multi_label = examples.is_multi_label
        return cls(labels, multi_label=multi_label)

    @property
    def labels(self) -> list[str]:
        """The labels in id order."""
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"LabelVocabulary({self._labels!r}, multi_label={self.multi_label})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LabelVocabulary) and self._labels == other._labels
                and self.multi_label == other.multi_label)

    def _id(self, label: str) -> int:
        try:
            return self._ids[label]
        except KeyError:
            raise DataError(f"unknown label {label!r}; known labels: "
                            f"{', '.join(self._labels)}") from None

    def encode(self, label_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Encodes one list of labels per row.

        Args:
            label_lists: e.g. `LabelledTexts.labels`.

        Returns:
            int32 ids of shape [n] (single-label) or float32 multi-hot rows of shape [n, k].
        """
        if self.multi_label:
            encoded = np.zeros((len(label_lists), len(self)), dtype=np.float32)
            for row, labels in enumerate(label_lists):
                encoded[row, [self._id(label) for label in labels]] = 1.0
            return encoded
        ids = np.zeros(len(label_lists), dtype=np.int32)
        for row, labels in enumerate(label_lists):
            if len(labels) != 1:
                raise DataError(f"row {row} has {len(labels)} labels {list(labels)}; a "
                                "single-label vocabulary needs exactly one")
            ids[row] = self._id(labels[0])
        return ids

    def decode(self, ids: Sequence | np.ndarray, threshold: float = 0.5) -> list[list[str]]:
        """Turns ids (single-label) or multi-hot/probability rows (multi-label) into labels.

        Args:
            ids: shape [n] of ids, or shape [n, k] of scores for a multi-label vocabulary.
            threshold: the score at which a multi-label row takes a label.

        Returns:
            One list of labels per row.
        """
        ids = np.asarray(ids)
        if self.multi_label:
            if ids.ndim != 2 or ids.shape[1] != len(self):
                raise ValueError(f"expected shape [n, {len(self)}], got {list(ids.shape)}")
            return [[self._labels[j] for j in np.flatnonzero(row >= threshold)] for row in ids]
        if ids.ndim != 1:
            raise ValueError(f"expected ids of shape [n], got {list(ids.shape)}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self)}), got {ids.min()}..{ids.max()}")
        return [[self._labels[int(i)]] for i in ids]

    def save(self, path: str | os.PathLike) -> None:
        """Writes `{"labels": [...], "multi_label": bool}` as JSON, atomically."""
        path = Path(path)
        text = json.dumps({"labels": self._labels, "multi_label": self.multi_label},
                          ensure_ascii=False, indent=2)
        # A temporary file in the same folder plus os.replace: readers never see half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a served model is read by others
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> LabelVocabulary:
        """Reads a vocabulary written by `save`.

        Raises:
            DataError: the file is missing or does not hold a label vocabulary.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(data["labels"], multi_label=data["multi_label"])
        except (OSError, ValueError, KeyError, TypeError, DataError) as exc:
            raise DataError(f"{path}: not a readable label vocabulary ({exc})") from exc
