"""Splits labelled data into training and validation sets, stratified by label."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
from sklearn.model_selection import train_test_split

from bert_keras.data.examples import LabelledTexts
from bert_keras.errors import DataError


def train_validation_split(
    examples: LabelledTexts, validation_fraction: float = 0.1, seed: int = 0
) -> tuple[LabelledTexts, LabelledTexts]:
    """Holds out a stratified validation set.

    Rows are stratified by their label (the first label of a multi-label row). A class with a
    single example cannot be in both sets, so it goes to training. When the validation set is
    too small to hold every class, the split falls back to a plain random one. The result
    depends only on the data and `seed`; both sets keep the original row order.

    Args:
        examples: labelled data.
        validation_fraction: the share of all rows to hold out, in (0, 1).
        seed: the random seed.

    Returns:
        (train, validation). Bad rows of the read stay in `train.skipped` only, so that they
        are counted once.

    Examples:
    >>> data = LabelledTexts([f"t{i}" for i in range(10)], labels=[["a"], ["b"]] * 5)
    >>> train, validation = train_validation_split(data, validation_fraction=0.2)
    >>> len(train), sorted(label for row in validation.labels for label in row)
    (8, ['a', 'b'])
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction}")
    if examples.labels is None:
        raise DataError("cannot stratify a split of examples without labels")
    strata = np.array([row[0] if row else "" for row in examples.labels], dtype=object)
    counts = Counter(strata)
    eligible = np.array([i for i, s in enumerate(strata) if counts[s] >= 2], dtype=int)
    rare = [i for i, s in enumerate(strata) if counts[s] < 2]
    n_validation = max(1, math.ceil(validation_fraction * len(examples)))
    if n_validation >= len(eligible):
        raise DataError(f"cannot hold out {n_validation} of {len(examples)} examples for "
                        f"validation: only {len(eligible)} belong to classes with 2 or more")
    n_classes = len({strata[i] for i in eligible})
    stratify = None
    if n_validation >= n_classes and len(eligible) - n_validation >= n_classes:
        stratify = strata[eligible]
    else:
        warnings.warn(f"{n_validation} validation examples cannot cover {n_classes} classes; "
                      "splitting without stratification", stacklevel=2)
    train, validation = train_test_split(
        eligible, test_size=n_validation, random_state=seed, stratify=stratify)
    train = sorted([*train.tolist(), *rare])
    validation = sorted(validation.tolist())
    held_out = examples.subset(validation)
    held_out.skipped = []
    return examples.subset(train), held_out
