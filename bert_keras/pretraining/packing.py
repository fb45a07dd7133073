"""Packs tokenised documents into fixed-length pre-training sequences.

A sequence is `[CLS] doc_1 [SEP] doc_2 [SEP] ... [PAD]...`: documents are appended while
they fit in `seq_length`. A document longer than `seq_length - 2` word pieces is split
(at a word boundary where one exists) into pieces that each fill a sequence of their
own, so no text is dropped. Every position also carries a word group id (the same for
all word pieces of one word, -1 on [CLS], [SEP] and padding), which whole-word masking
uses and which keeps special tokens from ever being masked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import numpy as np


@dataclasses.dataclass(frozen=True)
class PackedSequence:
    """One packed sequence.

    Args:
        input_word_ids: int32 `[seq_length]` word-piece ids, 0-padded.
        word_groups: int32 `[seq_length]`: 0, 1, 2, ... per word (its pieces share one),
            -1 on special tokens and padding.
    """

    input_word_ids: np.ndarray
    word_groups: np.ndarray


def split_document(pieces: np.ndarray, words: np.ndarray, max_len: int
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Splits a document into parts of at most `max_len` word pieces.

    Args:
        pieces: the document's word-piece ids.
        words: the word index of every piece (non-decreasing).
        max_len: the longest part.

    Returns:
        `(pieces, words)` parts in order; a part ends at a word boundary unless a single
        word is longer than `max_len`.

    Examples:
    >>> parts = split_document(np.arange(5), np.array([0, 0, 1, 1, 1]), 3)
    >>> [p.tolist() for p, _ in parts]
    [[0, 1], [2, 3, 4]]
    """
    parts, start, n = [], 0, len(pieces)
    while start < n:
        end = min(start + max_len, n)
        if end < n and words[end] == words[end - 1]:
            word_start = end - 1
            while word_start > start and words[word_start - 1] == words[end]:
                word_start -= 1
            if word_start > start:
                end = word_start
        parts.append((pieces[start:end], words[start:end]))
        start = end
    return parts


class SequencePacker:
    """Greedily packs documents into sequences of `seq_length`.

    Args:
        seq_length: tokens per sequence, specials and padding included (at least 3).
        cls_id: id of [CLS].
        sep_id: id of [SEP].
        pad_id: id of [PAD].

    Examples:
    >>> packer = SequencePacker(8, cls_id=2, sep_id=3, pad_id=0)
    >>> out = packer.pack([(np.array([10, 11]), np.array([0, 1])),
    ...                    (np.array([12, 13]), np.array([0, 0]))])
    >>> [s.input_word_ids.tolist() for s in out]
    [[2, 10, 11, 3, 12, 13, 3, 0]]
    >>> out[0].word_groups.tolist()
    [-1, 0, 1, -1, 2, 2, -1, -1]
    """

    def __init__(self, seq_length: int, *, cls_id: int, sep_id: int, pad_id: int = 0):
        if seq_length < 3:
            raise ValueError(f"seq_length {seq_length}: needs at least 3 tokens")
        self.seq_length = seq_length
        self.cls_id, self.sep_id, self.pad_id = cls_id, sep_id, pad_id
        self._ids: list[int] = []
        self._groups: list[int] = []

    def add(self, pieces: np.ndarray, words: np.ndarray) -> Iterator[PackedSequence]:
        """Adds one document; yields the sequences it completes."""
        for part, part_words in split_document(pieces, words, self.seq_length - 2):
            if self._ids and len(self._ids) + len(part) + 1 > self.seq_length:
                yield self._emit()
            if not self._ids:
                self._ids, self._groups = [self.cls_id], [-1]
            next_group = max(self._groups) + 1
            # Word indices restart at 0 in each part; groups number the words of a sequence.
            relabelled = np.unique(part_words, return_inverse=True)[1] + next_group
            self._ids.extend(int(i) for i in part)
            self._groups.extend(int(g) for g in relabelled)
            self._ids.append(self.sep_id)
            self._groups.append(-1)

    def flush(self) -> Iterator[PackedSequence]:
        """Yields the last, partly filled sequence (if any)."""
        if self._ids:
            yield self._emit()

    def pack(self, documents: Iterable[tuple[np.ndarray, np.ndarray]]) -> list[PackedSequence]:
        """Packs all `documents` ((pieces, words) pairs) at once."""
        out = [s for pieces, words in documents for s in self.add(pieces, words)]
        return out + list(self.flush())

    def _emit(self) -> PackedSequence:
        padding = self.seq_length - len(self._ids)
        ids = np.array(self._ids + [self.pad_id] * padding, np.int32)
        groups = np.array(self._groups + [-1] * padding, np.int32)
        self._ids, self._groups = [], []
        return PackedSequence(ids, groups)
