"""The TF-Hub preprocessor's ids equal Hugging Face's BertTokenizerFast ids (and the NumPy
tokenizer's, for the word length limit)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401
import transformers
from conftest import SPECIALS
from tokenizer_cases import (
    SINGLE_TEXTS,
    TEXT_PAIRS,
    WORD_LENGTH_CASES,
    WORD_LENGTH_LETTERS,
    WORD_LENGTH_PIECES,
    random_texts,
)

from bert_keras.convert.tfhub_export import create_preprocessing
from bert_keras.lite import WordPieceTokenizer

KEYS = (("input_word_ids", "input_ids"), ("input_mask", "attention_mask"),
        ("input_type_ids", "token_type_ids"))


def _compare(preprocessor_dir, vocab, lower_case, first, second=None, seq_length=128):
    preprocessor = hub.load(str(preprocessor_dir))
    segments = [preprocessor.tokenize(tf.constant(first))]
    if second is not None:
        segments.append(preprocessor.tokenize(tf.constant(second)))
    ours = preprocessor.bert_pack_inputs(segments, seq_length=tf.constant(seq_length))
    reference_tokenizer = transformers.BertTokenizerFast(vocab=str(vocab),
                                                         do_lower_case=lower_case)
    reference = reference_tokenizer(first, second, truncation=True, max_length=seq_length,
                                    padding="max_length", return_tensors="np")
    for ours_key, ref_key in KEYS:
        got, want = ours[ours_key].numpy(), reference[ref_key]
        bad = [i for i in range(len(first)) if not np.array_equal(got[i], want[i])]
        details = [
            f"{first[i]!r}: ours {reference_tokenizer.convert_ids_to_tokens(got[i][:40])} "
            f"reference {reference_tokenizer.convert_ids_to_tokens(want[i][:40])}"
            for i in bad[:3]
        ]
        assert not bad, f"{ours_key}: {len(bad)} of {len(first)} differ:\n" + "\n".join(details)


@pytest.mark.slow
def test_uncased_single_texts(minilm_handle):
    texts = SINGLE_TEXTS + random_texts(1000)
    _compare(minilm_handle / "preprocessor", minilm_handle / "vocab.txt", True, texts)


@pytest.mark.slow
def test_uncased_pairs_with_truncation(minilm_handle):
    first, second = [list(x) for x in zip(*TEXT_PAIRS, strict=False)]
    shuffled = random_texts(300, seed=1)
    first, second = first + shuffled[:150], second + shuffled[150:]
    for seq_length in (16, 33, 128):
        _compare(minilm_handle / "preprocessor", minilm_handle / "vocab.txt", True,
                 first, second, seq_length)


@pytest.mark.slow
def test_cased_single_texts_and_pairs(cased_vocab_and_preprocessor):
    vocab, preprocessor = cased_vocab_and_preprocessor
    _compare(preprocessor, vocab, False, SINGLE_TEXTS + random_texts(500, seed=2))
    first, second = [list(x) for x in zip(*TEXT_PAIRS, strict=False)]
    _compare(preprocessor, vocab, False, first, second, seq_length=24)


@pytest.fixture(scope="module", params=[True, False], ids=["uncased", "cased"])
def word_length_vocab(request, tmp_path_factory):
    """A vocabulary spelling out every word of WORD_LENGTH_CASES, and its preprocessing
    model (in memory: the handles' SavedModels are tested above and in test_preset_zh)."""
    vocab = tmp_path_factory.mktemp("word-length") / "vocab.txt"
    vocab.write_text("\n".join(SPECIALS + WORD_LENGTH_PIECES) + "\n", encoding="utf-8")
    return vocab, create_preprocessing(vocab_file=str(vocab), do_lower_case=request.param), \
        request.param


def test_words_over_100_characters_are_unk_whatever_their_bytes(word_length_vocab):
    vocab, preprocessing, lower_case = word_length_vocab
    ours = preprocessing(tf.constant(WORD_LENGTH_CASES))  # packed to 128, as the handles
    reference = transformers.BertTokenizerFast(vocab=str(vocab), do_lower_case=lower_case)(
        WORD_LENGTH_CASES, truncation=True, max_length=128, padding="max_length",
        return_tensors="np")
    board = WordPieceTokenizer(vocab, lower_case).encode(WORD_LENGTH_CASES, seq_length=128)
    for key, ref_key in KEYS:
        np.testing.assert_array_equal(ours[key].numpy(), reference[ref_key], err_msg=key)
        np.testing.assert_array_equal(board[key], reference[ref_key], err_msg=key)
    lite = WordPieceTokenizer(vocab, lower_case)
    whole = preprocessing.tokenize(tf.constant(WORD_LENGTH_CASES)).merge_dims(1, -1).to_list()
    assert [lite.tokenize(text) for text in WORD_LENGTH_CASES] == whole  # past 128 tokens too
    for width, letter in WORD_LENGTH_LETTERS.items():  # 100 characters: 100 to 400 bytes
        first, rest = lite.vocab[letter], lite.vocab["##" + letter]
        assert lite.tokenize(letter * 100) == [first] + [rest] * 99, width
        assert lite.tokenize(letter * 101) == [lite.unk_id], width
        assert lite.tokenize(letter * 101 + "," + letter) == [lite.unk_id, lite.vocab[","],
                                                             first], width
