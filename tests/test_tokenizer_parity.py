"""The TF-Hub preprocessor's ids equal Hugging Face's BertTokenizerFast ids."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401
import transformers
from tokenizer_cases import SINGLE_TEXTS, TEXT_PAIRS, random_texts

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
