"""The in-memory result of reading a data set: texts, optional pairs and labels, and bad rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class BadRow:
    """A row that could not be used, and why.

    Args:
        path: the file it came from (or "<dataframe>" / "<list>").
        line: the 1-based physical line where the record starts (a row or list index for
            in-memory sources).
        reason: what is wrong with it, in words a user can act on.

    Examples:
    >>> str(BadRow("train.csv", 7, "empty text in column 'text'"))
    "train.csv:7: empty text in column 'text'"
    """

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class LabelledTexts:
    """Texts with their optional second segments and labels, one entry per usable row.

    Args:
        texts: the (first-segment) texts.
        pairs: the second segments (an aspect, a question), or None for single-segment data.
        labels: a list of label strings per row (length 1 for single-label data), or None when
            the data has no labels (e.g. for prediction).
        sources: "path:line" for each row, to trace a prediction or an error back to its input.
        skipped: the bad rows left out of the read (empty unless bad rows were skipped). It
            describes the read, so `subset` keeps it.

    Examples:
    >>> data = LabelledTexts(["good", "bad"], None, [["pos"], ["neg"]], ["a:2", "a:3"])
    >>> len(data), data.is_multi_label
    (2, False)
    >>> data.subset([1]).labels
    [['neg']]
    """

    texts: list[str]
    pairs: list[str] | None = None
    labels: list[list[str]] | None = None
    sources: list[str] = field(default_factory=list)
    skipped: list[BadRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.texts)
        for name in ("pairs", "labels"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ValueError(f"{name} has {len(values)} entries but texts has {n}")
        if not self.sources:
            self.sources = [f"<list>:{i}" for i in range(n)]
        elif len(self.sources) != n:
            raise ValueError(f"sources has {len(self.sources)} entries but texts has {n}")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def is_multi_label(self) -> bool:
        """True when any row carries more than one label."""
        return self.labels is not None and any(len(row) > 1 for row in self.labels)

    def subset(self, indices: Sequence[int]) -> LabelledTexts:
        """Returns the rows at `indices`, in that order.

        Args:
            indices: row positions (any sequence of ints, e.g. a NumPy array).

        Returns:
            A new LabelledTexts with the same `skipped` list.
        """
        indices = [int(i) for i in indices]
        return LabelledTexts(
            texts=[self.texts[i] for i in indices],
            pairs=None if self.pairs is None else [self.pairs[i] for i in indices],
            labels=None if self.labels is None else [list(self.labels[i]) for i in indices],
            sources=[self.sources[i] for i in indices],
            skipped=list(self.skipped),
        )
