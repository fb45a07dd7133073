"""Sentence vectors (pooled) and per-token vectors for lists of strings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bert_keras.errors import BertKerasError
from bert_keras.vectors.encoder import DEFAULT_MODEL, EncodedBatch, TextEncoder

POOLINGS = ("mean", "cls")


@dataclass
class TokenVectors:
    """The vectors of one text's word pieces ([CLS], [SEP] and padding left out).

    For a Chinese vocabulary (bert-base-chinese style) every CJK character is its own
    word piece, so this is one vector per character.

    Args:
        tokens: the word pieces, e.g. ["play", "##ing"].
        vectors: float32 `[len(tokens), hidden]`.
    """

    tokens: list[str]
    vectors: np.ndarray


def pool(batch: EncodedBatch, pooling: str = "mean", normalize: bool = True) -> np.ndarray:
    """Pools one encoded batch to float32 `[batch, hidden]` sentence vectors.

    Args:
        batch: token vectors and mask.
        pooling: "mean" (average over real tokens, [CLS] and [SEP] included, as
            sentence-transformers does) or "cls" (the first token).
        normalize: scale each vector to unit length (cosine = dot product).

    Examples:
    >>> b = EncodedBatch(np.zeros((1, 3)), np.array([[1, 1, 0]]),
    ...                  np.array([[[3.0, 0.0], [1.0, 0.0], [9.0, 9.0]]], np.float32))
    >>> pool(b, "mean", normalize=False)
    array([[2., 0.]], dtype=float32)
    """
    if pooling == "cls":
        vectors = batch.vectors[:, 0, :].astype(np.float64)
    elif pooling == "mean":
        mask = batch.mask[:, :, None].astype(np.float64)
        vectors = (batch.vectors * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
    else:
        raise BertKerasError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
    if normalize:
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float32)


def batches(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    """Groups an iterable of strings into lists of `size` (the last may be shorter)."""
    if size < 1:
        raise BertKerasError(f"batch_size must be positive, got {size}")
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_sentence_vectors(encoder: TextEncoder, texts: Iterable[str], *, pooling: str = "mean",
                          normalize: bool = True, batch_size: int = 32) -> Iterator[np.ndarray]:
    """Yields `[batch, hidden]` sentence vectors batch by batch (bounded memory)."""
    if pooling not in POOLINGS:
        raise BertKerasError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
    for batch in batches(texts, batch_size):
        yield pool(encoder.encode(batch), pooling, normalize)


def iter_token_vectors(encoder: TextEncoder, texts: Iterable[str], *,
                       batch_size: int = 32) -> Iterator[TokenVectors]:
    """Yields each text's `TokenVectors`, in order."""
    vocabulary = encoder.vocabulary  # fails early for handles without one
    special = encoder.special_ids()
    for batch in batches(texts, batch_size):
        encoded = encoder.encode(batch)
        keep = (encoded.mask == 1) & ~np.isin(encoded.ids, special)
        for row in range(len(batch)):
            ids = encoded.ids[row][keep[row]]
            yield TokenVectors([vocabulary[i] for i in ids], encoded.vectors[row][keep[row]])


def embed(texts: str | Iterable[str], model: str | Path | TextEncoder = DEFAULT_MODEL, *,
          pooling: str = "mean", normalize: bool = True, batch_size: int = 32,
          seq_length: int | None = None, layer: int = -1,
          last_layers: int | None = None) -> np.ndarray:
    """Embeds texts as sentence vectors.

    Args:
        texts: a string or strings. An empty string is embedded as [CLS] [SEP].
        model: an encoder handle (preset name, TF-Hub handle directory, hub URL), a
            trained run directory (its fine-tuned encoder), or a `TextEncoder`.
        pooling: "mean" or "cls".
        normalize: unit-length vectors.
        batch_size: texts per encoder call.
        seq_length: word pieces per text; longer texts keep their start (default: 256,
            or the run's length).
        layer: the transformer block whose outputs are pooled (-1: the last).
        last_layers: pool the average of the last N blocks instead.

    Returns:
        float32 `[len(texts), hidden]`.

    Examples:

        vectors = bert_keras.embed(["a cat sat", "a dog ran"])
        float(vectors[0] @ vectors[1])  # cosine similarity
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    encoder = model if isinstance(model, TextEncoder) else TextEncoder(
        model, seq_length=seq_length, layer=layer, last_layers=last_layers)
    chunks = list(iter_sentence_vectors(encoder, texts, pooling=pooling, normalize=normalize,
                                        batch_size=batch_size))
    if not chunks:
        return np.zeros((0, encoder.hidden_size), np.float32)
    return np.concatenate(chunks)


def embed_tokens(texts: str | Iterable[str], model: str | Path | TextEncoder = DEFAULT_MODEL,
                 *, batch_size: int = 32, seq_length: int | None = None, layer: int = -1,
                 last_layers: int | None = None) -> list[TokenVectors]:
    """Per-token vectors of each text, with the word-piece strings.

    Args:
        texts: a string or strings.
        model: as in `embed`; needs a vocabulary (vocab.txt) for the token strings.
        batch_size, seq_length: as in `embed`.
        layer: which block's outputs (`encoder_outputs[layer]`, -1: the last).
        last_layers: the average of the last N blocks instead.

    Returns:
        One `TokenVectors` a text.

    Examples:

        [result] = bert_keras.vectors.embed_tokens("我喜欢", model="zh-m3e-small")
        result.tokens  # ['我', '喜', '欢'], result.vectors.shape == (3, 512)
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    encoder = model if isinstance(model, TextEncoder) else TextEncoder(
        model, seq_length=seq_length, layer=layer, last_layers=last_layers)
    return list(iter_token_vectors(encoder, texts, batch_size=batch_size))
