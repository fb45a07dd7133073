"""A BERT WordPiece tokenizer in pure Python + NumPy (no TensorFlow).

It reproduces the TF-Hub preprocessor that bert_keras exports (see
`bert_keras.layers.normalizing_tokenizer` and `bert_keras.layers.pack_inputs`) id for id:

1. cleaning: tab, newline and carriage return become spaces; control, format, private-use
   and surrogate characters (Unicode Cc, Cf, Co, Cs) and U+FFFD are dropped; space
   separators (Zs) and the line / paragraph separators become spaces;
2. uncased vocabularies only: capital sigma becomes small sigma, then NFD, combining marks
   (Mn) dropped, lower-casing;
3. splitting (tf-text `BasicTokenizer`): on whitespace, and around every punctuation
   character (the ASCII punctuation ranges and Unicode category P*) and every CJK ideograph;
4. WordPiece: greedy longest match first with "##" continuations; a word of more than 100
   characters (as Hugging Face counts; handles written before format 3 counted 100 UTF-8
   bytes, as tf-text does), or one with no match, becomes a single [UNK];
5. packing: longest-first truncation, [CLS] a [SEP] (b [SEP]), zero padding with [PAD];
   a long first segment keeps its head, tail or both, or is read in windows (chunks).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bert_keras.lite.long_text import chunk_starts, default_stride, head_tail_counts
from bert_keras.lite.packing import pack_row, stack_rows, trim_longest_first

SUFFIX = "##"
INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
WORD_LENGTH_UNITS = ("characters", "bytes")
SPECIAL_TOKENS = {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]"}

# tf-text's BertTokenizer splits off each of these ideographs as a word of its own.
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
# RE2's `\s`, which tf-text's `BasicTokenizer` splits on.
_SPLIT_WHITESPACE = frozenset("\t\n\x0c\r ")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
# Characters new in Unicode 15.0, which TensorFlow's regex tables know and Python 3.11's
# `unicodedata` (Unicode 14.0) reports as unassigned (Cn): only the categories that
# tokenization looks at. Found by sweeping every code point through the TF preprocessor.
_UNICODE_15_CATEGORIES = (
    (0x0ECE, 0x0ECE, "Mn"), (0x10EFD, 0x10EFF, "Mn"), (0x11241, 0x11241, "Mn"),
    (0x11B00, 0x11B09, "Po"), (0x11F00, 0x11F01, "Mn"), (0x11F36, 0x11F3A, "Mn"),
    (0x11F40, 0x11F40, "Mn"), (0x11F42, 0x11F42, "Mn"), (0x11F43, 0x11F4F, "Po"),
    (0x13439, 0x1343F, "Cf"), (0x13440, 0x13440, "Mn"), (0x13447, 0x13455, "Mn"),
    (0x1E08F, 0x1E08F, "Mn"), (0x1E4EC, 0x1E4EF, "Mn"),
)


def _category(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cn":
        code = ord(char)
        for lo, hi, newer in _UNICODE_15_CATEGORIES:
            if lo <= code <= hi:
                return newer
    return category


class _CharTable(dict):
    """A `str.translate` table that computes (and caches) each code point's mapping."""

    def __init__(self, rule):
        super().__init__()
        self._rule = rule

    def __missing__(self, code_point: int) -> str | None:
        value = self._rule(chr(code_point))
        self[code_point] = value
        return value


def _clean_char(char: str) -> str | None:
    if char in "\t\n\r":
        return " "
    if char == "\ufffd" or _category(char) in _DROPPED_CATEGORIES:
        return None
    if char in "\u2028\u2029" or _category(char) == "Zs":
        return " "
    return char


def _strip_mark(char: str) -> str | None:
    return None if _category(char) == "Mn" else char


def _is_split_char(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    if _category(char).startswith("P"):
        return True
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


_CLEAN = _CharTable(_clean_char)
_STRIP_MARKS = _CharTable(_strip_mark)


class _SplitCache(dict):
    def __missing__(self, char: str) -> bool:
        value = _is_split_char(char)
        self[char] = value
        return value


_IS_SPLIT = _SplitCache()


def normalize(text: str, lower_case: bool) -> str:
    """Cleans `text` (and lower-cases and strips accents for uncased vocabularies).

    Args:
        text: the raw text.
        lower_case: apply the uncased steps (sigma, NFD, drop Mn, lower-case).

    Returns:
        The normalised text.

    Examples:
    >>> normalize("Caf\\u00e9\\tNa\\u00efve\\u200b!", lower_case=True)
    'cafe naive!'
    >>> normalize("Caf\\u00e9\\tNa\\u00efve\\u200b!", lower_case=False)
    'Caf\\xe9 Na\\xefve!'
    """
    text = text.translate(_CLEAN)
    if lower_case:
        # ICU would turn a word-final capital sigma into final sigma; BERT does not.
        text = text.replace("\u03a3", "\u03c3")
        text = unicodedata.normalize("NFD", text).translate(_STRIP_MARKS).lower()
    return text


def split_words(text: str) -> list[str]:
    """Splits normalised text on whitespace and around punctuation and CJK ideographs.

    Args:
        text: normalised text (see `normalize`).

    Returns:
        The words, in order.

    Examples:
    >>> split_words("Hello,world! \\u4f60\\u597d  it's")
    ['Hello', ',', 'world', '!', '你', '好', 'it', "'", 's']
    """
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char in _SPLIT_WHITESPACE:
            if current:
                words.append("".join(current))
                current = []
        elif _IS_SPLIT[char]:
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def load_vocab(vocab_file: str | Path) -> dict[str, int]:
    """Reads a WordPiece vocabulary: one token a line, the id is the line number.

    Lines are split on "\\n" only (a trailing "\\r" is removed), as TensorFlow's
    `TextFileInitializer` reads them; the first occurrence of a repeated token wins.

    Args:
        vocab_file: path of `vocab.txt`.

    Returns:
        The token -> id mapping.
    """
    content = Path(vocab_file).read_text(encoding="utf-8")
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab: dict[str, int] = {}
    for index, line in enumerate(lines):
        vocab.setdefault(line.removesuffix("\r"), index)
    return vocab


class WordPieceTokenizer:
    """BERT tokenization and input packing without TensorFlow.

    Args:
        vocab_file: the WordPiece vocabulary (`vocab.txt`); it must hold [CLS], [SEP],
            [PAD] and [UNK].
        lower_case: whether the vocabulary is uncased (lower-case and strip accents).
        max_word_length: the longest word that is split into pieces; longer words
            become [UNK].
        word_length_unit: how a word's length counts: "characters", as Hugging Face and
            the preprocessor of handles in format 3 or later do, or "bytes" (UTF-8), as
            tf-text's `BertTokenizer` and so older handles do.

    Examples:
    >>> import pathlib, tempfile
    >>> vocab = pathlib.Path(tempfile.mkdtemp()) / "vocab.txt"
    >>> _ = vocab.write_text("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...                                   "cafe", ",", "fi", "play", "##ing"]) + "\\n")
    >>> tokenizer = WordPieceTokenizer(vocab, lower_case=True)
    >>> tokenizer.tokenize("Café, PLAYING \\ufb01")
    [5, 6, 8, 9, 1]
    >>> batch = tokenizer.encode(["playing"], pairs=["cafe"], seq_length=8)
    >>> batch["input_word_ids"].tolist(), batch["input_type_ids"].tolist()
    ([[2, 8, 9, 3, 5, 3, 0, 0]], [[0, 0, 0, 0, 1, 1, 0, 0]])
    >>> batch["input_mask"].tolist()
    [[1, 1, 1, 1, 1, 1, 0, 0]]
    """

    def __init__(self, vocab_file: str | Path, lower_case: bool, max_word_length: int = 100,
                 word_length_unit: str = "characters"):
        if word_length_unit not in WORD_LENGTH_UNITS:
            raise ValueError(f"word_length_unit must be one of {', '.join(WORD_LENGTH_UNITS)}, "
                             f"got {word_length_unit!r}")
        self.vocab_file = Path(vocab_file)
        self.lower_case = bool(lower_case)
        self.max_word_length = int(max_word_length)
        self.word_length_unit = word_length_unit
        self.vocab = load_vocab(self.vocab_file)
        missing = [token for token in SPECIAL_TOKENS.values() if token not in self.vocab]
        if missing:
            raise ValueError(f"vocabulary {self.vocab_file} lacks the special token(s) "
                             f"{', '.join(missing)}: not a BERT WordPiece vocabulary")
        self.cls_id = self.vocab[SPECIAL_TOKENS["cls"]]
        self.sep_id = self.vocab[SPECIAL_TOKENS["sep"]]
        self.pad_id = self.vocab[SPECIAL_TOKENS["pad"]]
        self.unk_id = self.vocab[SPECIAL_TOKENS["unk"]]
        self._word_cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """One past the largest token id (the number of lines of the vocabulary)."""
        return max(self.vocab.values()) + 1

    def special_tokens(self) -> dict[str, int]:
        """The special token ids, named as the TF-Hub preprocessor names them."""
        return {"start_of_sequence_id": self.cls_id, "end_of_segment_id": self.sep_id,
                "padding_id": self.pad_id, "unknown_id": self.unk_id}

    def _word_pieces(self, word: str) -> list[int]:
        length = len(word) if self.word_length_unit == "characters" else \
            len(word.encode("utf-8"))
        if length > self.max_word_length:
            return [self.unk_id]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            prefix = SUFFIX if start else ""
            for end in range(len(word), start, -1):
                piece_id = self.vocab.get(prefix + word[start:end])
                if piece_id is not None:
                    pieces.append(piece_id)
                    start = end
                    break
            else:
                return [self.unk_id]
        return pieces

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text`, without special tokens.

        Args:
            text: one string.

        Returns:
            The WordPiece ids.
        """
        ids: list[int] = []
        cache = self._word_cache
        for word in split_words(normalize(text, self.lower_case)):
            pieces = cache.get(word)
            if pieces is None:
                pieces = self._word_pieces(word)
                if len(cache) < 100_000:
                    cache[word] = pieces
            ids.extend(pieces)
        return ids

    def encode(self, texts: str | Sequence[str], pairs: str | Sequence[str] | None = None,
               seq_length: int = 128, long_text: str = "head",
               head_ratio: float | Sequence[float] = 0.25) -> dict[str, np.ndarray]:
        """Tokenizes and packs texts (or text pairs) into BERT encoder inputs.

        Args:
            texts: the first segments (a single string counts as a batch of one).
            pairs: optional second segments, one per text.
            seq_length: the padded length, special tokens included.
            long_text: what a longer first segment keeps: "head", "tail" or "head+tail"
                (`head_ratio` of its budget from the start), as the model was trained.
            head_ratio: "head+tail": the share of the budget taken from the start, one
                for all texts or one per text.

        Returns:
            int32 `input_word_ids`, `input_mask` and `input_type_ids`, each
            `[len(texts), seq_length]`, as the TF-Hub preprocessor's `bert_pack_inputs`.
        """
        texts, pairs, budget = self._batch(texts, pairs, seq_length)
        ratios = [head_ratio] * len(texts) if isinstance(head_ratio, (int, float)) \
            else list(head_ratio)
        if len(ratios) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(ratios)} head ratios")
        rows = []
        for row, text in enumerate(texts):
            first = self.tokenize(text)
            second = self.tokenize(pairs[row]) if pairs is not None else None
            keep1, keep2 = trim_longest_first(len(first), len(second), budget) \
                if second is not None else (budget, 0)
            head, tail = head_tail_counts(len(first), keep1, long_text, ratios[row])
            kept = first[:head] + first[len(first) - tail:] if tail else first[:head]
            rows.append(self._pack(kept, second[:keep2] if second is not None else None))
        return stack_rows(rows, seq_length, self.pad_id)

    def encode_chunks(self, texts: str | Sequence[str],
                      pairs: str | Sequence[str] | None = None, seq_length: int = 128,
                      chunk_stride: int | None = None, max_chunks: int = 8
                      ) -> dict[str, np.ndarray]:
        """Packs each text as the windows a `long_text="chunks"` model reads.

        A window holds `seq_length` tokens with its special tokens (a pair's second
        segment, repeated in every window, takes its share first); windows start every
        `chunk_stride` tokens, at most `max_chunks` of them, as `BertPreprocessor` does.

        Args:
            texts: the first segments (a single string counts as a batch of one).
            pairs: optional second segments, one per text.
            seq_length: the padded length of a window, special tokens included.
            chunk_stride: tokens between window starts (None: half a window's budget).
            max_chunks: the most windows a text yields.

        Returns:
            int32 arrays `[len(texts), chunks, seq_length]` (chunks: the most windows of
            any text; a text's missing windows are all zeros), as the preprocessor's.
        """
        texts, pairs, budget = self._batch(texts, pairs, seq_length)
        stride = chunk_stride or default_stride(seq_length, 1 if pairs is None else 2)
        windows: list[list[tuple[list[int], int]]] = []
        for row, text in enumerate(texts):
            first = self.tokenize(text)
            second = self.tokenize(pairs[row]) if pairs is not None else None
            # Every window is full-length: only the second segment limits it.
            window, keep2 = trim_longest_first(budget, len(second), budget) \
                if second is not None else (budget, 0)
            rest = second[:keep2] if second is not None else None
            windows.append([self._pack(first[start:start + window], rest)
                            for start in chunk_starts(len(first), window, stride, max_chunks)])
        most = max((len(w) for w in windows), default=0)
        shape = (len(texts), most, seq_length)
        packed = {name: np.zeros(shape, np.int32) for name in INPUT_NAMES}
        for row, text_windows in enumerate(windows):
            for name, array in stack_rows(text_windows, seq_length, self.pad_id).items():
                packed[name][row, :len(text_windows)] = array
        return packed

    def _batch(self, texts, pairs, seq_length: int) -> tuple[list[str], list[str] | None, int]:
        """The texts and pairs as lists, and the token budget of one row."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else list(pairs)
            if len(pairs) != len(texts):
                raise ValueError(f"got {len(texts)} texts but {len(pairs)} pairs")
        num_segments = 1 if pairs is None else 2
        if seq_length < num_segments + 1:
            raise ValueError(f"seq_length {seq_length} leaves no room for the special tokens")
        return texts, pairs, seq_length - num_segments - 1

    def _pack(self, first: list[int], second: list[int] | None) -> tuple[list[int], int]:
        return pack_row(first, second, self.cls_id, self.sep_id)

