"""The pre-training input pipeline: corpus files to masked, packed, batched sequences.

    files --iter_documents--> lines --tokenize (the handle's preprocessor, 256 at a time)-->
    word pieces + word index --SequencePacker--> fixed-length sequences (from_generator)
    --[repeat, shuffle]--> enumerate --mask_sequence (seed: the stream index)--> batch

The corpus is streamed (never read into memory at once); only the shuffle buffer of
packed sequences is held.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from bert_keras.errors import HandleError
from bert_keras.pretraining.corpus import iter_documents
from bert_keras.pretraining.masking import MaskingSettings, mask_sequence
from bert_keras.pretraining.packing import SequencePacker

TOKENIZE_BATCH = 256
FEATURES = ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions")


@dataclasses.dataclass(frozen=True)
class Tokens:
    """The special token ids of a vocabulary, as the TF-Hub preprocessor reports them.

    Args:
        cls_id: [CLS] (`start_of_sequence_id`).
        sep_id: [SEP] (`end_of_segment_id`).
        pad_id: [PAD] (`padding_id`).
        mask_id: [MASK] (`mask_id`).
        vocab_size: number of tokens.
        unk_id: [UNK], if the vocabulary has one.
    """

    cls_id: int
    sep_id: int
    pad_id: int
    mask_id: int
    vocab_size: int
    unk_id: int | None = None

    @property
    def special_ids(self) -> tuple[int, ...]:
        ids = (self.cls_id, self.sep_id, self.pad_id, self.mask_id, self.unk_id)
        return tuple(i for i in ids if i is not None)


class CorpusTokenizer:
    """Word-piece tokenisation of documents with a handle's TF-Hub preprocessor.

    Args:
        preprocessor: path of the preprocessing SavedModel (its `tokenize` subobject
            gives `[batch, words, pieces]`; the word level marks whole words).
        vocab_file: the handle's vocab.txt (to find [UNK]; the preprocessor names the rest).
    """

    def __init__(self, preprocessor: str | Path, vocab_file: str | Path):
        import tensorflow_text  # noqa: F401  (registers the ops the preprocessor uses)

        self._loaded = tf.saved_model.load(str(preprocessor))
        self._tokenize = self._loaded.tokenize
        special = {k: int(v) for k, v in self._loaded.tokenize.get_special_tokens_dict().items()}
        if "mask_id" not in special:
            raise HandleError(f"{preprocessor}: the vocabulary has no [MASK] token; masked-LM "
                              "pre-training needs one")
        with open(vocab_file, encoding="utf-8", newline="\n") as f:
            unk = next((i for i, line in enumerate(f) if line.rstrip("\r\n") == "[UNK]"), None)
        self.tokens = Tokens(cls_id=special["start_of_sequence_id"],
                             sep_id=special["end_of_segment_id"], pad_id=special["padding_id"],
                             mask_id=special["mask_id"], vocab_size=special["vocab_size"],
                             unk_id=unk)

    def __call__(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Tokenises `texts`: per text, its word-piece ids and each piece's word index."""
        ragged = self._tokenize(tf.constant(list(texts), tf.string))
        pieces = ragged.flat_values.numpy().astype(np.int32)
        words = ragged.values.value_rowids().numpy()  # word index, counted over the batch
        bounds = ragged.values.row_splits.numpy()[ragged.row_splits.numpy()]
        return [(pieces[a:b], words[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def packed_sequences(files: Sequence[str | Path], tokenizer: CorpusTokenizer,
                     seq_length: int) -> Iterator[dict[str, np.ndarray]]:
    """Streams the packed sequences of `files` (one pass, in corpus order)."""
    t = tokenizer.tokens
    packer = SequencePacker(seq_length, cls_id=t.cls_id, sep_id=t.sep_id, pad_id=t.pad_id)
    batch: list[str] = []

    def drain(texts: list[str]) -> Iterator[dict[str, np.ndarray]]:
        for pieces, words in tokenizer(texts):
            if len(pieces):
                for sequence in packer.add(pieces, words):
                    yield dataclasses.asdict(sequence)

    for document in iter_documents(files):
        batch.append(document)
        if len(batch) == TOKENIZE_BATCH:
            yield from drain(batch)
            batch = []
    if batch:
        yield from drain(batch)
    for sequence in packer.flush():
        yield dataclasses.asdict(sequence)


def masking_settings(tokenizer: CorpusTokenizer, seq_length: int, mask_rate: float,
                     whole_word: bool) -> MaskingSettings:
    t = tokenizer.tokens
    return MaskingSettings(mask_id=t.mask_id, vocab_size=t.vocab_size,
                           special_ids=t.special_ids, seq_length=seq_length,
                           mask_rate=mask_rate, whole_word=whole_word, pad_id=t.pad_id)


def pretraining_dataset(files: Sequence[str | Path], tokenizer: CorpusTokenizer, *,
                        seq_length: int, batch_size: int, mask_rate: float = 0.15,
                        whole_word: bool = False, seed: int = 42, repeat: bool = True,
                        shuffle_buffer: int = 2048) -> tf.data.Dataset:
    """Batches of `(features, masked_lm_ids, masked_lm_weights)` for `BertPretrainerV2`.

    Args:
        files: corpus files (one document a line).
        tokenizer: the handle's tokenizer.
        seq_length: tokens per packed sequence.
        batch_size: sequences per batch.
        mask_rate: share of word pieces to predict.
        whole_word: whole-word masking.
        seed: seeds the shuffle and the masks.
        repeat: repeat (and shuffle) forever, masking anew on every pass (training);
            False: one pass in corpus order with reproducible masks (evaluation).
        shuffle_buffer: packed sequences the shuffle draws from.

    Returns:
        A dataset of `(features, masked_lm_ids, masked_lm_weights)`: `features` holds
        `input_word_ids`, `input_mask`, `input_type_ids` and `masked_lm_positions`.
    """
    files = [str(f) for f in files]
    signature = {name: tf.TensorSpec([seq_length], tf.int32)
                 for name in ("input_word_ids", "word_groups")}
    ds = tf.data.Dataset.from_generator(
        lambda: packed_sequences(files, tokenizer, seq_length), output_signature=signature)
    if repeat:
        ds = ds.repeat().shuffle(shuffle_buffer, seed=seed)
    settings = masking_settings(tokenizer, seq_length, mask_rate, whole_word)

    def mask(index, example):
        masked = mask_sequence(example["input_word_ids"], example["word_groups"],
                               tf.stack([tf.constant(seed, tf.int64), index]), settings)
        features = {name: masked[name] for name in FEATURES}
        return features, masked["masked_lm_ids"], masked["masked_lm_weights"]

    ds = ds.enumerate().map(mask, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)
