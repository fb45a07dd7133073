"""Strings to encoder inputs without TensorFlow: the NumPy twin of
`bert_keras.layers.preprocessor.BertPreprocessor`, so that a board feeds its `.tflite`
model exactly the ids the SavedModel computes in its graph.

    text, aspect --AspectFilter (aspect models)--> kept sentences, phrased aspect
        --WordPieceTokenizer--> ids [n, seq]: head / tail / head+tail
                                 or [n, windows, seq]: chunks
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bert_keras.lite.aspect import AspectFilter
from bert_keras.lite.long_text import default_stride
from bert_keras.lite.wordpiece import WordPieceTokenizer

STRATEGIES = ("head", "tail", "head+tail", "chunks")


class LitePreprocessor:
    """Tokenizes one text or a text pair per example and packs it, as `BertPreprocessor`.

    Args:
        tokenizer: the vocabulary's `WordPieceTokenizer`.
        seq_length: the packed length, [CLS] and [SEP] included.
        long_text: "head", "tail", "head+tail" or "chunks" (see `BertPreprocessor`).
        head_ratio: "head+tail": the share of the token budget taken from the start.
        chunk_stride: "chunks": tokens between window starts (None: half a window).
        max_chunks: "chunks": the most windows a text yields.
        aspect: aspect models: the `AspectInput` settings (filter_text, lexicon, window,
            template). A filtered text keeps its head; one that never mentions the aspect
            keeps its head and tail (`head_ratio`).

    Examples:

        preprocess = LitePreprocessor(WordPieceTokenizer("vocab.txt", True), 128,
                                      long_text="chunks", chunk_stride=64, max_chunks=4)
        preprocess(["a long review ..."])["input_word_ids"].shape  # (1, windows, 128)
    """

    def __init__(self, tokenizer: WordPieceTokenizer, seq_length: int = 128,
                 long_text: str = "head", head_ratio: float = 0.25,
                 chunk_stride: int | None = None, max_chunks: int = 8,
                 aspect: Mapping[str, Any] | None = None):
        if long_text not in STRATEGIES:
            raise ValueError(f"long_text must be one of {', '.join(STRATEGIES)}, "
                             f"got {long_text!r}")
        self.tokenizer = tokenizer
        self.seq_length = int(seq_length)
        self.long_text = long_text
        self.head_ratio = float(head_ratio)
        self.chunk_stride = int(chunk_stride) if chunk_stride else None
        self.max_chunks = int(max_chunks)
        self.aspect_filter = AspectFilter.from_settings(aspect) if aspect is not None else None
        self._filters = bool(self.aspect_filter and self.aspect_filter.filter_text)
        if self._filters and long_text == "chunks":
            raise ValueError("aspect text filtering and long_text='chunks' exclude each other")

    @classmethod
    def from_facts(cls, tokenizer: WordPieceTokenizer, facts: Mapping[str, Any]
                   ) -> LitePreprocessor:
        """From a bundle's `model.json` (bundles before chunks and aspects: head-only)."""
        return cls(tokenizer, int(facts["seq_length"]), facts.get("long_text", "head"),
                   facts.get("head_ratio", 0.25), facts.get("chunk_stride"),
                   facts.get("max_chunks") or 8, facts.get("aspect"))

    def __call__(self, texts: Sequence[str], pairs: Sequence[str] | None = None
                 ) -> dict[str, np.ndarray]:
        """int32 `input_word_ids`, `input_mask`, `input_type_ids`: `[n, seq_length]`, or
        `[n, windows, seq_length]` with "chunks" (missing windows all zeros)."""
        texts = list(texts)
        pairs = list(pairs) if pairs is not None else None
        if self.aspect_filter is not None and pairs is None:
            raise ValueError("an aspect model takes texts and aspects (pairs=)")
        strategy, ratios = self.long_text, [self.head_ratio] * len(texts)
        if self.aspect_filter is not None:
            filtered = [self.aspect_filter(t, a) for t, a in zip(texts, pairs, strict=True)]
            texts, pairs = [f[0] for f in filtered], [f[1] for f in filtered]
            if self._filters:  # the kept sentences from the start, else head and tail
                strategy = "head+tail"
                ratios = [1.0 if mentioned else self.head_ratio for _, _, mentioned in filtered]
        if strategy != "chunks":
            return self.tokenizer.encode(texts, pairs, seq_length=self.seq_length,
                                         long_text=strategy, head_ratio=ratios)
        stride = self.chunk_stride or default_stride(self.seq_length, 1 + (pairs is not None))
        return self.tokenizer.encode_chunks(texts, pairs, seq_length=self.seq_length,
                                            chunk_stride=stride, max_chunks=self.max_chunks)
