"""A TF-IDF + logistic regression baseline, to put next to BERT on the same split.

A fine-tuned encoder is worth its cost only by its margin over a linear model on bag-of-n-gram
features, which trains in seconds. Chinese, Japanese and Korean text has no spaces between
words, so it gets character n-grams; other text gets word unigrams and bigrams.

Run `python -m bert_keras.baselines [NAME ...] [--out FILE]` to measure it on prepared datasets.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bert_keras.errors import BertKerasError
from bert_keras.evaluation import evaluate_predictions

LANGUAGES = ("auto", "cjk", "western")
# Han, kana, Hangul and CJK compatibility ideographs.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_SHARE = 0.3


def cjk_share(texts: Sequence[str]) -> float:
    """The fraction of non-space characters in `texts` that are CJK.

    Examples:
    >>> cjk_share(["很好 ok"])
    0.5
    """
    chars = sum(len(t) - t.count(" ") for t in texts)
    return sum(len(_CJK.findall(t)) for t in texts) / chars if chars else 0.0


def tfidf_baseline(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    *,
    language: str = "auto",
) -> dict:
    """Fits TF-IDF + logistic regression on the training rows and scores the test rows.

    Args:
        train_texts, train_labels: the training data (labels as strings).
        test_texts, test_labels: the test data; a label absent from training is never predicted.
        language: "cjk" (character 1-3-grams), "western" (word 1-2-grams) or "auto" (cjk when
            at least 30% of the training characters are CJK).

    Returns:
        A dict with `language`, `train_size`, `test_size`, `accuracy`, `macro_f1`,
        `majority_accuracy` (always predicting the most frequent test label), `features`
        and `seconds` (fit and predict).

    Examples:
    >>> texts = ["good film", "great fun", "bad film", "awful plot"] * 5
    >>> labels = ["pos", "pos", "neg", "neg"] * 5
    >>> tfidf_baseline(texts, labels, texts, labels)["accuracy"]
    1.0
    """
    if language not in LANGUAGES:
        raise BertKerasError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    if len(train_texts) != len(train_labels) or len(test_texts) != len(test_labels):
        raise BertKerasError("texts and labels differ in length")
    if len(set(train_labels)) < 2:
        raise BertKerasError("the baseline needs at least two classes in the training labels")
    if language == "auto":
        language = "cjk" if cjk_share(train_texts) >= _CJK_SHARE else "western"
    start = time.perf_counter()
    if language == "cjk":
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2,
                                     sublinear_tf=True)
    else:
        vectorizer = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2,
                                     sublinear_tf=True, lowercase=True)
    features = vectorizer.fit_transform(train_texts)
    model = LogisticRegression(C=10.0, max_iter=2000).fit(features, list(train_labels))
    probabilities = model.predict_proba(vectorizer.transform(test_texts))
    seconds = time.perf_counter() - start
    # Test labels unseen in training get a column of zeros.
    names = sorted(set(model.classes_) | set(test_labels))
    scores = np.zeros((len(test_texts), len(names)))
    scores[:, [names.index(c) for c in model.classes_]] = probabilities
    report = evaluate_predictions([names.index(y) for y in test_labels], scores, names)
    return {
        "language": language,
        "train_size": len(train_texts),
        "test_size": len(test_texts),
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        "majority_accuracy": round(report.majority_baseline_accuracy, 4),
        "features": len(vectorizer.vocabulary_),
        "seconds": round(seconds, 2),
    }


def _read_split(path: Path) -> tuple[list[str], list[str]]:
    # The aspect (entity) of a pair dataset is prepended, so the model can condition on it.
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [f"{r['aspect']} | {r['text']}" if "aspect" in r else r["text"] for r in rows]
    return texts, [r["label"] for r in rows]


def main(argv: Sequence[str] | None = None) -> None:
    from bert_keras.data.datasets import datasets, prepare_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="datasets (default: all)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = {}
    for name in args.names or [d.name for d in datasets()]:
        directory = prepare_dataset(name)
        test = _read_split(directory / "test.csv")
        for train_file in sorted(directory.glob("train*.csv")):
            key = name if train_file.stem == "train" else f"{name}/{train_file.stem}"
            results[key] = tfidf_baseline(*_read_split(train_file), *test)
            print(key, results[key])
    if args.out:
        record = {"date": datetime.date.today().isoformat(), "cpu_count": os.cpu_count(),
                  "method": "TF-IDF (cjk: char 1-3-grams; else word 1-2-grams; min_df 2, "
                            "sublinear tf) + logistic regression (C=10); pair datasets as "
                            "'aspect | text'; scored on each dataset's test.csv",
                  "results": results}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
