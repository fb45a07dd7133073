"""Writes TF-Hub-format encoder and preprocessing SavedModels: a bert_keras handle.

A handle directory holds:

    bert_keras_handle.json   what it is (architecture, casing, source, licence)
    vocab.txt                the WordPiece vocabulary
    masked_lm.npz            (optional) masked-LM head weights, for further pre-training
    encoder/                 TF-Hub encoder SavedModel (input_word_ids/mask/type_ids in;
                             pooled_output, sequence_output, encoder_outputs, default out)
    preprocessor/            TF-Hub preprocessing SavedModel (callable on strings;
                             `tokenize` and `bert_pack_inputs` subobjects)

The layout follows `official.nlp.tools.export_tfhub_lib`; the encoder is built here
rather than by its `export_model`, whose config path resolves "gelu" to the tanh
approximation, the tokenizer normalises text as the original BERT does, and pairs are
truncated longest-first as Hugging Face's tokenizers do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tensorflow as tf
import tf_keras as keras
from official.nlp.modeling import layers as nlp_layers

from bert_keras.cache import atomic_directory
from bert_keras.convert.encoder_config import EncoderConfig
from bert_keras.layers.normalizing_tokenizer import NormalizingBertTokenizer
from bert_keras.layers.pack_inputs import PackInputsSavedModelWrapper

HANDLE_FILE = "bert_keras_handle.json"
# The masked-LM head's weights (transform dense, layer norm, output bias), when known.
MASKED_LM_FILE = "masked_lm.npz"
# 2: dropout ops carry fixed seeds (reproducible fine-tuning); 3: the preprocessor turns
# words of more than 100 characters (not UTF-8 bytes) into [UNK], as Hugging Face does.
HANDLE_FORMAT = 3
_CHARACTER_WORD_LIMIT = 3  # the first format whose word limit counts characters
# What tf_keras's legacy `save_model` logs for any model that was never compiled: it
# tries to build the compiled loss and metrics, fails on `None`, and says so as if a
# loaded model had been compiled. Nothing here is compiled or loaded.
_UNCOMPILED_SAVE_WARNING = "Compiled the loaded model, but the compiled metrics"


def _not_the_uncompiled_save_warning(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(_UNCOMPILED_SAVE_WARNING)


@contextlib.contextmanager
def _quiet_uncompiled_save() -> Iterator[None]:
    """Drops only that misleading warning from TensorFlow's logger while it lasts."""
    logger = tf.get_logger()
    logger.addFilter(_not_the_uncompiled_save_warning)
    try:
        yield
    finally:
        logger.removeFilter(_not_the_uncompiled_save_warning)


def word_length_unit(handle_info: dict[str, Any]) -> str:
    """How a handle's preprocessor counts a word's length against its 100-unit [UNK]
    limit: "characters" (format 3 on), or "bytes" (older handles: tf-text's UTF-8 bytes).

    Examples:
    >>> word_length_unit({"format": HANDLE_FORMAT}), word_length_unit({"format": 2})
    ('characters', 'bytes')
    """
    return "characters" if int(handle_info.get("format") or 0) >= _CHARACTER_WORD_LIMIT \
        else "bytes"


def export_encoder(encoder, export_dir: str | Path, *, vocab_file: str | Path,
                   do_lower_case: bool) -> None:
    """Saves a built `BertEncoder` as a TF-Hub encoder SavedModel.

    Args:
        encoder: a `networks.BertEncoder` with dict outputs.
        export_dir: where to write the SavedModel.
        vocab_file: vocabulary stored as the `vocab_file` asset (older TF-Hub API).
        do_lower_case: stored as the `do_lower_case` variable (older TF-Hub API).
    """
    inputs = {x.name.split(":")[0]: x for x in encoder.inputs}
    outputs = dict(encoder(inputs))
    outputs["default"] = outputs["pooled_output"]
    core_model = keras.Model(inputs=inputs, outputs=outputs)
    core_model.vocab_file = tf.saved_model.Asset(str(vocab_file))
    core_model.do_lower_case = tf.Variable(do_lower_case, trainable=False)
    with _quiet_uncompiled_save():
        core_model.save(str(export_dir), include_optimizer=False, save_format="tf")


def create_preprocessing(*, vocab_file: str, do_lower_case: bool,
                         default_seq_length: int = 128) -> keras.Model:
    """Builds the preprocessing model (the TF-Hub Preprocessor API) for saving.

    Args:
        vocab_file: path of the WordPiece vocabulary.
        do_lower_case: whether the vocabulary is uncased.
        default_seq_length: sequence length of the root callable and default of
            `bert_pack_inputs`.
    """
    tokenize = NormalizingBertTokenizer(vocab_file=vocab_file, lower_case=do_lower_case)
    sentences = keras.layers.Input(shape=(), dtype=tf.string, name="sentences")
    tokens = tokenize(sentences)
    pack = nlp_layers.BertPackInputs(
        seq_length=default_seq_length, special_tokens_dict=tokenize.get_special_tokens_dict()
    )
    preprocessing = keras.Model(sentences, pack(tokens))
    preprocessing.tokenize = keras.Model(sentences, tokens)
    preprocessing.tokenize.get_special_tokens_dict = tf.train.Checkpoint()
    # A plain dict copy: the layer's tracked _DictWrapper breaks tf.function tracing
    # with current typing_extensions (export_tfhub_lib.export_preprocessing fails so).
    special_tokens = dict(tokenize.get_special_tokens_dict())
    preprocessing.tokenize.get_special_tokens_dict.__call__ = tf.function(
        lambda: special_tokens, input_signature=[]
    )
    preprocessing.bert_pack_inputs = PackInputsSavedModelWrapper(
        special_tokens, default_seq_length
    )
    return preprocessing


def export_preprocessor(export_dir: str | Path, *, vocab_file: str | Path,
                        do_lower_case: bool, default_seq_length: int = 128) -> None:
    """Saves the preprocessing SavedModel for `vocab_file`."""
    preprocessing = create_preprocessing(
        vocab_file=str(vocab_file),
        do_lower_case=do_lower_case,
        default_seq_length=default_seq_length,
    )
    with _quiet_uncompiled_save():
        preprocessing.save(str(export_dir), include_optimizer=False, save_format="tf")


def write_handle(out_dir: str | Path, *, encoder, config: EncoderConfig,
                 vocab_file: str | Path, do_lower_case: bool,
                 info: dict[str, Any] | None = None, overwrite: bool = False,
                 masked_lm: dict[str, Any] | None = None,
                 preprocessor: str | Path | None = None) -> Path:
    """Writes a complete handle directory atomically (all of it or nothing).

    Args:
        out_dir: the handle directory to create.
        encoder: the `BertEncoder` holding the weights.
        config: its architecture, recorded in the handle file.
        vocab_file: the WordPiece vocabulary.
        do_lower_case: whether the vocabulary is uncased.
        info: extra facts to record (source, licence, ...).
        overwrite: replace an existing directory.
        masked_lm: the masked-LM head's weights by name (`transform/dense/kernel`, ...),
            stored as `masked_lm.npz` for further pre-training (None: no head).
        preprocessor: an existing preprocessing SavedModel of this same vocabulary and
            casing, copied instead of exported again (saving it costs 10-15 s); None
            exports one.

    Returns:
        The handle directory.
    """
    out_dir = Path(out_dir)
    # Random ops traced into the SavedModel (the encoder's dropout) take their seeds from
    # the global seed at export time; unseeded, fine-tuning could not be reproduced.
    tf.random.set_seed(0)
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        shutil.copyfile(vocab_file, tmp / "vocab.txt")
        vocab = tmp / "vocab.txt"
        export_encoder(encoder, tmp / "encoder", vocab_file=vocab, do_lower_case=do_lower_case)
        if preprocessor is not None:
            shutil.copytree(preprocessor, tmp / "preprocessor")
        else:
            export_preprocessor(tmp / "preprocessor", vocab_file=vocab,
                                do_lower_case=do_lower_case)
        if masked_lm:
            import numpy as np

            np.savez(tmp / MASKED_LM_FILE, **{k: np.asarray(v) for k, v in masked_lm.items()})
        record = {
            "format": HANDLE_FORMAT,
            "do_lower_case": do_lower_case,
            "config": config.to_dict(),
            **(info or {}),
        }
        (tmp / HANDLE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return out_dir
