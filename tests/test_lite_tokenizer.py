"""`bert_keras.lite.WordPieceTokenizer` gives the TF-Hub preprocessor's ids, without TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from tokenizer_cases import (
    LONG_ACCENTED_WORD,
    LONG_ASCII_WORD,
    LONG_CYRILLIC_WORD,
    LONG_PARAGRAPH,
    LONG_URL,
    SINGLE_TEXTS,
    TEXT_PAIRS,
    random_texts,
)

from bert_keras.lite import WordPieceTokenizer

KEYS = ("input_word_ids", "input_mask", "input_type_ids")
REPO_ROOT = Path(__file__).resolve().parents[1]

# Words around the 100-character limit (and tf-text's own 100-byte one: multi-byte
# characters count 2 or 3 bytes), very long texts and empty or invisible-only strings.
EDGE_TEXTS = [
    "", " ", "\t\n", "\u200b", "\x00\ufeff", "\u3000",
    "a" * 100, "a" * 101, "ж" * 49, "ж" * 50, "ж" * 51, "Ж" * 60, "é" * 60, "中" * 300,
    "\u0915" * 33, "\u0915" * 34, "e\u0301" * 40,
    LONG_PARAGRAPH, LONG_ASCII_WORD, LONG_ACCENTED_WORD, LONG_CYRILLIC_WORD, LONG_URL,
    "word " * 10_000, "Σ" * 20 + " ΣΑΣ",
    # Unicode 15.0 additions (Python 3.11's unicodedata is 14.0): a mark, punctuation, a
    # format character.
    "ka\u0eceb x\U00011b00y \U00011f43z a\U00013439b \U0001e4ecq",
]


def _tiny_vocab(directory: Path, tokens: list[str]) -> Path:
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return vocab


def _reference(preprocessor, first, second=None, seq_length=128) -> dict[str, np.ndarray]:
    import tensorflow as tf

    segments = [preprocessor.tokenize(tf.constant(first))]
    if second is not None:
        segments.append(preprocessor.tokenize(tf.constant(second)))
    packed = preprocessor.bert_pack_inputs(segments, seq_length=tf.constant(seq_length))
    return {key: packed[key].numpy() for key in KEYS}


def _assert_parity(tokenizer, preprocessor, first, second=None, seq_length=128) -> None:
    ours = tokenizer.encode(first, second, seq_length=seq_length)
    reference = _reference(preprocessor, first, second, seq_length)
    for key in KEYS:
        assert ours[key].dtype == np.int32 and ours[key].shape == (len(first), seq_length)
        bad = [i for i in range(len(first)) if not np.array_equal(ours[key][i],
                                                                 reference[key][i])]
        details = [f"{first[i][:60]!r}: ours {ours[key][i][:24].tolist()} "
                   f"reference {reference[key][i][:24].tolist()}" for i in bad[:3]]
        assert not bad, f"{key}: {len(bad)} of {len(first)} differ:\n" + "\n".join(details)


@pytest.fixture(scope="module")
def uncased(minilm_handle):
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)

    return (WordPieceTokenizer(minilm_handle / "vocab.txt", lower_case=True),
            hub.load(str(minilm_handle / "preprocessor")))


@pytest.fixture(scope="module")
def cased(cased_vocab_and_preprocessor):
    """The shared cased vocabulary (conftest) and its exported preprocessor."""
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401

    vocab, preprocessor = cased_vocab_and_preprocessor
    return WordPieceTokenizer(vocab, lower_case=False), hub.load(str(preprocessor))


def _pairs() -> tuple[list[str], list[str]]:
    first, second = (list(side) for side in zip(*TEXT_PAIRS, strict=True))
    shuffled = random_texts(300, seed=1)
    return first + shuffled[:150], second + shuffled[150:]


@pytest.mark.slow
def test_uncased_single_texts_match_preprocessor(uncased):
    texts = SINGLE_TEXTS + random_texts(1000) + EDGE_TEXTS
    assert len(texts) >= 1000
    _assert_parity(*uncased, texts)
    _assert_parity(*uncased, texts, seq_length=16)


@pytest.mark.slow
@pytest.mark.parametrize("seq_length", [16, 33, 128])
def test_uncased_pairs_with_truncation_match_preprocessor(uncased, seq_length):
    first, second = _pairs()
    _assert_parity(*uncased, first + EDGE_TEXTS, second + EDGE_TEXTS[::-1], seq_length)


@pytest.mark.slow
def test_cased_vocabulary_matches_preprocessor(cased):
    texts = SINGLE_TEXTS + random_texts(1000, seed=2) + EDGE_TEXTS
    _assert_parity(*cased, texts)
    first, second = _pairs()
    for seq_length in (16, 33, 128):
        _assert_parity(*cased, first, second, seq_length)


@pytest.mark.slow
def test_tokenize_matches_preprocessor_tokenize(uncased):
    tokenizer, preprocessor = uncased
    import tensorflow as tf

    texts = SINGLE_TEXTS[:50]
    reference = preprocessor.tokenize(tf.constant(texts)).merge_dims(1, -1).to_list()
    assert [tokenizer.tokenize(text) for text in texts] == reference


def test_empty_and_long_texts(tmp_path):
    vocab = _tiny_vocab(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "word", "a", "##a"])
    tokenizer = WordPieceTokenizer(vocab, lower_case=True)
    batch = tokenizer.encode(["", "word " * 5000, "a" * 100, "a" * 101], seq_length=6)
    assert batch["input_word_ids"].tolist() == [[2, 3, 0, 0, 0, 0], [2, 4, 4, 4, 4, 3],
                                               [2, 5, 6, 6, 6, 3], [2, 1, 3, 0, 0, 0]]
    assert batch["input_mask"].tolist()[0] == [1, 1, 0, 0, 0, 0]
    pair = tokenizer.encode("", pairs="", seq_length=4)
    assert pair["input_word_ids"].tolist() == [[2, 3, 3, 0]]
    assert pair["input_type_ids"].tolist() == [[0, 0, 1, 0]]
    with pytest.raises(ValueError, match="pairs"):
        tokenizer.encode(["a", "b"], pairs=["a"])


def test_word_length_counts_characters_or_bytes(tmp_path):
    vocab = _tiny_vocab(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ж", "##ж"])
    characters = WordPieceTokenizer(vocab, lower_case=False)
    assert characters.tokenize("ж" * 100) == [4] + [5] * 99
    assert characters.tokenize("ж" * 101) == [1]
    # Bundles from handles older than format 3 (tf-text's 100 UTF-8 bytes): 50 letters.
    legacy = WordPieceTokenizer(vocab, lower_case=False, word_length_unit="bytes")
    assert legacy.tokenize("ж" * 50) == [4] + [5] * 49 and legacy.tokenize("ж" * 51) == [1]
    with pytest.raises(ValueError, match="word_length_unit"):
        WordPieceTokenizer(vocab, lower_case=False, word_length_unit="runes")


def test_vocab_without_special_tokens_is_rejected(tmp_path):
    vocab = _tiny_vocab(tmp_path, ["[PAD]", "[CLS]", "hello"])
    with pytest.raises(ValueError, match=r"vocab\.txt.*\[SEP\], \[UNK\]"):
        WordPieceTokenizer(vocab, lower_case=True)


def test_imports_and_tokenizes_without_tensorflow(tmp_path):
    blocker = tmp_path / "blocker"
    for name in ("tensorflow", "tensorflow_text", "tensorflow_hub", "tf_keras", "official"):
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(
            f"raise ImportError('{name} is blocked in this test')\n")
    vocab = _tiny_vocab(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "!"])
    script = textwrap.dedent(f"""
        import sys
        import bert_keras.lite
        tokenizer = bert_keras.lite.WordPieceTokenizer({str(vocab)!r}, lower_case=True)
        ids = tokenizer.encode(["Héllo!"], seq_length=6)["input_word_ids"].tolist()
        assert ids == [[2, 4, 5, 3, 0, 0]], ids
        assert not any(m.split(".")[0] in ("tensorflow", "tf_keras") for m in sys.modules)
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(REPO_ROOT)]))
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
