"""Runs an exported TFLite bundle on LiteRT with the NumPy tokenizer: no TensorFlow.

    bundle/ (from `bert-keras export --format tflite`)
        model.json  -> sequence length, casing, labels, vocabulary size, activation,
                       long-text strategy, aspect filter settings
        vocab.txt   -> LitePreprocessor (aspect filter, WordPiece, long-text strategy)
                       -> int32 ids [1, seq_length] (chunks: one row per window)
        model.tflite -> ai_edge_litert Interpreter -> probabilities [1, num_labels]
                       (chunks: the windows' logits, pooled by mean or max, activated)
        labels.txt  -> label names, in the model's output order
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bert_keras.errors import BertKerasError
from bert_keras.lite.long_text import activate, pool_logits
from bert_keras.lite.preprocessor import LitePreprocessor
from bert_keras.lite.wordpiece import INPUT_NAMES, WordPieceTokenizer, load_vocab

BUNDLE_FORMAT = "bert_keras.tflite"
MODEL_FILE = "model.tflite"
MODEL_JSON = "model.json"
VOCAB_FILE = "vocab.txt"
LABELS_FILE = "labels.txt"
REQUIRED_FILES = (MODEL_FILE, MODEL_JSON, VOCAB_FILE, LABELS_FILE)
_LOOKUP_OPS = ("GATHER", "EMBEDDING_LOOKUP")


class BundleError(BertKerasError):
    """A TFLite bundle is incomplete or its files disagree with each other."""


class LiteClassifier:
    """Classifies texts with a TFLite bundle on a board: LiteRT plus NumPy, no TensorFlow.

    Everything the SavedModel does to a text before its encoder is repeated, as
    `model.json` records it: a text longer than the sequence length keeps its head, its
    tail or both, or (`long_text="chunks"`) is read in windows, each classified by the
    batch-1 model, whose logits are pooled by mean or max; an aspect model filters the
    text down to the sentences that mention the aspect and phrases the aspect with its
    template. An empty text is classified from `[CLS] [SEP]` alone, as the SavedModel
    does, so both give the same probabilities.

    Args:
        bundle_dir: a directory written by `bert-keras export --format tflite`.
        num_threads: LiteRT's CPU threads (default: LiteRT's choice).

    Examples:

        classifier = LiteClassifier("runs/drug-reviews-minilm-l6-uncased/tflite-int8")
        classifier.predict(["Worked well, no side effects."])  # array([[0.02, 0.05, 0.93]])
        classifier.predict_labels(["Worked well, no side effects."])  # ['positive']
    """

    def __init__(self, bundle_dir: str | os.PathLike, num_threads: int | None = None):
        self.bundle_dir = Path(bundle_dir)
        self.facts = read_bundle_facts(self.bundle_dir)
        self.labels = _read_labels(self.bundle_dir / LABELS_FILE, self.facts)
        self.seq_length = int(self.facts["seq_length"])
        self.multi_label = bool(self.facts.get("multi_label", False))
        self.threshold = float(self.facts.get("threshold") or 0.5)
        self.pair = bool(self.facts.get("pair", False))
        vocab_file = self.bundle_dir / VOCAB_FILE
        vocab_size = len(load_vocab(vocab_file))
        if vocab_size != int(self.facts["vocab_size"]):
            raise BundleError(
                f"{vocab_file} has {vocab_size} tokens but the model was exported with a "
                f"{self.facts['vocab_size']}-token vocabulary ({self.bundle_dir / MODEL_JSON}): "
                "the vocabulary belongs to another model")
        self.long_text = self.facts.get("long_text", "head")
        try:
            # Bundles written before the word length was recorded counted UTF-8 bytes.
            self.tokenizer = WordPieceTokenizer(
                vocab_file, self.facts["do_lower_case"],
                max_word_length=int(self.facts.get("max_word_length", 100)),
                word_length_unit=self.facts.get("word_length_unit", "bytes"))
            self.preprocessor = LitePreprocessor.from_facts(self.tokenizer, self.facts)
        except ValueError as error:
            raise BundleError(f"{self.bundle_dir / MODEL_JSON}: {error}") from error
        self._interpreter = _interpreter(self.bundle_dir / MODEL_FILE, num_threads)
        self._runner = self._interpreter.get_signature_runner(
            self.facts.get("signature", "serving_default"))
        self._check_model(vocab_size)

    def _check_model(self, vocab_size: int) -> None:
        model_file = self.bundle_dir / MODEL_FILE
        inputs = self._runner.get_input_details()
        expected = {name: [1, self.seq_length] for name in INPUT_NAMES}
        found = {name: [int(d) for d in detail["shape"]] for name, detail in inputs.items()}
        if found != expected:
            raise BundleError(f"{model_file} takes inputs {found}, but {MODEL_JSON} "
                              f"describes {expected}")
        outputs = self._runner.get_output_details()
        shape = [int(d) for d in outputs["probabilities"]["shape"]] \
            if "probabilities" in outputs else None
        if shape != [1, len(self.labels)]:
            raise BundleError(f"{model_file} outputs {shape}, but {LABELS_FILE} has "
                              f"{len(self.labels)} labels")
        if self.long_text == "chunks" and "logits" not in outputs:
            raise BundleError(f"{model_file} has no logits output, which a chunked model "
                              "needs to pool its windows; export the bundle again")
        rows = _embedding_rows(self._interpreter)
        if vocab_size not in rows:
            raise BundleError(f"{model_file} has embedding tables of {sorted(rows)} rows, "
                              f"none of the vocabulary's {vocab_size}")

    def encode(self, texts: str | Sequence[str],
               pairs: str | Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The model inputs for `texts`: int32 arrays `[len(texts), seq_length]`, or
        `[len(texts), windows, seq_length]` for chunked models (missing windows all zeros),
        equal to the SavedModel preprocessor's.

        Args:
            texts: strings (or UTF-8 bytes); a single string is a batch of one.
            pairs: second segments (the aspects of an aspect model), for pair models.
        """
        texts = _as_strings(texts, "texts")
        if self.pair != (pairs is not None):
            raise ValueError("this model classifies text pairs: pass pairs=" if self.pair
                             else "this model classifies single texts; it takes no pairs")
        if pairs is not None:
            pairs = _as_strings(pairs, "pairs")
            if len(pairs) != len(texts):
                raise ValueError(f"got {len(texts)} texts but {len(pairs)} pairs")
        return self.preprocessor(texts, pairs)

    def predict(self, texts: str | Sequence[str],
                pairs: str | Sequence[str] | None = None) -> np.ndarray:
        """Probabilities `[len(texts), num_labels]`, one model call per text (chunked
        models: one per window).

        Args:
            texts: strings (or UTF-8 bytes); a single string is a batch of one.
            pairs: second segments (the aspects of an aspect model), for pair models.

        Returns:
            float32 probabilities, columns in `self.labels` order (softmax, or independent
            sigmoids for multi-label models).
        """
        ids = self.encode(texts, pairs)
        count = len(ids[INPUT_NAMES[0]])
        if not count:
            return np.zeros((0, len(self.labels)), np.float32)
        if self.long_text != "chunks":
            return np.concatenate([self._run(ids, i)["probabilities"]
                                   for i in range(count)]).astype(np.float32)
        aggregate = self.facts.get("chunk_aggregate", "mean")
        rows = []
        for i in range(count):
            windows = np.flatnonzero(ids["input_mask"][i, :, 0])  # real windows hold [CLS]
            logits = np.concatenate([self._run(ids, (i, w))["logits"] for w in windows])
            rows.append(pool_logits(logits, aggregate))
        return activate(np.stack(rows), self.multi_label).astype(np.float32)

    def _run(self, ids: dict[str, np.ndarray], index) -> dict[str, np.ndarray]:
        """The model on one row (`index` i) or one window (`(i, window)`) of `ids`."""
        return self._runner(**{name: ids[name][index].reshape(1, self.seq_length)
                               for name in INPUT_NAMES})

    def predict_labels(self, texts: str | Sequence[str],
                       pairs: str | Sequence[str] | None = None) -> list:
        """The predicted label of each text (a list of labels for multi-label models,
        those whose probability reaches the threshold)."""
        probabilities = self.predict(texts, pairs)
        if self.multi_label:
            return [[lab for lab, p in zip(self.labels, row, strict=True) if p >= self.threshold]
                    for row in probabilities]
        return [self.labels[i] for i in probabilities.argmax(axis=1)]


def read_bundle_facts(bundle_dir: Path) -> dict[str, Any]:
    """Checks that `bundle_dir` is a complete bundle and returns its `model.json`.

    Raises:
        BundleError: naming the missing file or the missing / malformed field.
    """
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is not a directory (a TFLite bundle from "
                          "`bert-keras export --format tflite`)")
    missing = [name for name in REQUIRED_FILES if not (bundle_dir / name).is_file()]
    if missing:
        raise BundleError(f"{bundle_dir} is not a complete TFLite bundle: "
                          f"{', '.join(missing)} missing")
    facts_file = bundle_dir / MODEL_JSON
    try:
        facts = json.loads(facts_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{facts_file}: not valid JSON ({error})") from error
    if not isinstance(facts, dict) or facts.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{facts_file}: not a bert_keras TFLite bundle "
                          f"(format is not {BUNDLE_FORMAT!r})")
    absent = [key for key in ("seq_length", "do_lower_case", "vocab_size", "labels")
              if facts.get(key) is None]
    if absent:
        raise BundleError(f"{facts_file}: missing {', '.join(absent)}")
    return facts


def _read_labels(labels_file: Path, facts: dict[str, Any]) -> list[str]:
    labels = [line.rstrip("\r") for line in
              labels_file.read_text(encoding="utf-8").split("\n") if line.rstrip("\r")]
    if labels != list(facts["labels"]):
        raise BundleError(f"{labels_file} lists {labels}, but {MODEL_JSON} says "
                          f"{facts['labels']}")
    return labels


def _interpreter(model_file: Path, num_threads: int | None) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise BertKerasError("LiteClassifier needs LiteRT: pip install ai-edge-litert "
                             "(or bert_keras[lite])") from error
    try:
        interpreter = Interpreter(model_path=str(model_file), num_threads=num_threads)
    except ValueError as error:
        raise BundleError(f"{model_file}: LiteRT cannot load it ({error})") from error
    return interpreter


def _embedding_rows(interpreter: Any) -> set[int]:
    """Row counts of the tables the model looks ids up in (word and type embeddings)."""
    rows = set()
    for op in interpreter._get_ops_details():
        if op["op_name"] in _LOOKUP_OPS:
            for index in op["inputs"]:
                shape = interpreter._get_tensor_details(index, 0)["shape"]
                if len(shape) == 2:
                    rows.add(int(shape[0]))
    return rows


def _as_strings(values: str | bytes | Sequence[str | bytes], name: str) -> list[str]:
    if isinstance(values, (str, bytes)):
        values = [values]
    strings = []
    for i, value in enumerate(values):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{name}[{i}] is not valid UTF-8 ({error})") from error
        if not isinstance(value, str):
            raise TypeError(f"{name}[{i}] is {type(value).__name__}, not a string")
        strings.append(value)
    return strings
