"""What a TFLite bundle holds besides the model: `model.json` (the facts a board needs to
prepare its inputs exactly as the SavedModel does), and the bundle's zip."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bert_keras.convert.tfhub_export import HANDLE_FILE, word_length_unit
from bert_keras.export.saved_model import ExportError, model_facts
from bert_keras.layers.normalizing_tokenizer import MAX_CHARS_PER_WORD
from bert_keras.lite.classifier import BUNDLE_FORMAT
from bert_keras.lite.long_text import default_stride
from bert_keras.lite.wordpiece import INPUT_NAMES, SPECIAL_TOKENS, load_vocab

if TYPE_CHECKING:
    from bert_keras.models.classifier import Classifier


def bundle_facts(model: Classifier, run_dir: Path, vocab: Path, seq_length: int,
                 quantize: str, report: dict[str, Any]) -> dict[str, Any]:
    """The contents of `model.json`: what `bert_keras.lite` needs to repeat the
    SavedModel's preprocessing (casing, word length limit, special tokens, long-text
    strategy, aspect filter) and to read the model (inputs, outputs, labels).

    Args:
        model: the exported classifier.
        run_dir: its run directory (metrics, name).
        vocab: the handle's vocabulary file.
        seq_length: the bundle's fixed sequence length.
        quantize: the quantisation.
        report: the export report (accuracy and size measured).
    """
    facts = model_facts(model, run_dir, name=run_dir.resolve().name, version=1, threshold=0.5)
    for key in ("version", "signatures", "tensorflow_text_version", "preprocessor"):
        facts.pop(key, None)
    handle = model.resolved_handle
    do_lower_case = handle.do_lower_case
    handle_file = Path(handle.encoder).parent / HANDLE_FILE
    if do_lower_case is None and handle_file.exists():
        do_lower_case = json.loads(handle_file.read_text(encoding="utf-8")).get("do_lower_case")
    vocab_size = len(load_vocab(vocab))
    encoder_vocab = model.encoder_config.get("vocab_size")
    if encoder_vocab and int(encoder_vocab) != vocab_size:
        raise ExportError(f"{vocab} has {vocab_size} tokens but the encoder embeds "
                          f"{encoder_vocab}: the handle's vocabulary is not the encoder's")
    measured = {key: report.get(key) for key in ("eval_split", "eval_examples", "keras",
                                                 "tflite", "max_abs_probability_diff")}
    preprocessor = model.preprocessor
    chunked = preprocessor.long_text == "chunks"
    output = {"dtype": "float32", "shape": [1, len(model.labels)]}
    activation = "sigmoid" if model.settings["multi_label"] else "softmax"
    facts.update(
        format=BUNDLE_FORMAT, seq_length=seq_length, do_lower_case=do_lower_case,
        vocab_size=vocab_size, special_token_ids=special_token_ids(vocab),
        max_word_length=MAX_CHARS_PER_WORD, word_length_unit=word_length_unit(handle.info),
        long_text=preprocessor.long_text, head_ratio=preprocessor.head_ratio,
        chunk_stride=(preprocessor.chunk_stride or default_stride(
            seq_length, 1 + model.settings["pair"])) if chunked else None,
        max_chunks=preprocessor.max_chunks if chunked else None,
        chunk_aggregate=model.settings.get("chunk_aggregate", "mean") if chunked else None,
        aspect=preprocessor.aspect,
        quantization=quantize, threshold=0.5 if model.settings["multi_label"] else None,
        signature="serving_default",
        inputs={name: {"dtype": "int32", "shape": [1, seq_length]} for name in INPUT_NAMES},
        # A chunked model's outputs are one window's: the board pools the windows' logits.
        outputs={"probabilities": {**output, "activation": activation}, "logits": output},
        accuracy=measured, tflite_bytes=report["tflite_bytes"],
    )
    return facts


def special_token_ids(vocab_file: Path) -> dict[str, int]:
    """The ids of [CLS], [SEP], [PAD] and [UNK] in a WordPiece vocabulary file.

    Args:
        vocab_file: one token a line, the line number being the id.

    Examples:

        special_token_ids(Path("vocab.txt"))  # {'cls': 101, 'sep': 102, 'pad': 0, 'unk': 100}
    """
    index = load_vocab(vocab_file)
    missing = [token for token in SPECIAL_TOKENS.values() if token not in index]
    if missing:
        raise ExportError(f"{vocab_file}: special tokens {missing} are not in the vocabulary")
    return {key: index[token] for key, token in SPECIAL_TOKENS.items()}


def write_zip(bundle: Path) -> Path:
    """Zips `bundle` as `<bundle>.zip` beside it (files under a folder of the bundle's
    name), atomically.

    Args:
        bundle: the bundle directory.

    Examples:

        write_zip(Path("runs/x/tflite-int8"))  # runs/x/tflite-int8.zip
    """
    target = bundle.with_name(bundle.name + ".zip")
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=bundle.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(bundle.iterdir()):
                archive.write(path, f"{bundle.name}/{path.name}")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def make_readable(bundle: Path) -> None:
    """Temporary directories are private (0700); a bundle is meant to be copied around."""
    os.chmod(bundle, 0o777 & ~_umask())
    for path in bundle.iterdir():
        os.chmod(path, 0o666 & ~_umask())
