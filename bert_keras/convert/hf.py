"""Converts a Hugging Face BERT directory into a bert_keras (TF-Hub format) handle."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bert_keras.convert.encoder_config import build_bert_encoder
from bert_keras.convert.hf_checkpoint import (
    HFCheckpoint,
    assign_weights,
    encoder_weights,
    read_hf_checkpoint,
)
from bert_keras.convert.pytorch_bin import is_zip_checkpoint, read_pytorch_bin
from bert_keras.convert.tfhub_export import write_handle
from bert_keras.errors import ConversionError


def convert_hf(src_dir: str | Path, out_dir: str | Path, *,
               info: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Converts a Hugging Face BERT checkpoint to a TF-Hub encoder + preprocessor.

    Args:
        src_dir: directory with config.json, model.safetensors (or pytorch_model.bin)
            and vocab.txt (or a WordPiece tokenizer.json, whose normaliser then decides
            the casing); cased or uncased, with or without pooler weights.
        out_dir: the handle directory to write (atomically).
        info: extra facts recorded in the handle file.
        overwrite: replace an existing `out_dir`.

    Returns:
        `out_dir`, usable as `load_encoder(out_dir)`.
    """
    src = Path(src_dir)
    with tempfile.TemporaryDirectory(prefix="bert-keras-hf-") as tmp:
        readable, lower_case = _readable_copy(src, Path(tmp))
        ckpt = read_hf_checkpoint(readable)
        if lower_case is not None:
            ckpt = dataclasses.replace(ckpt, do_lower_case=lower_case)
        record = {"source": {"format": "huggingface", "path": str(src.resolve())},
                  **({"vocab_source": "tokenizer.json"} if lower_case is not None else {}),
                  **(info or {})}
        return write_checkpoint_handle(ckpt, out_dir, src, record, overwrite=overwrite)


def write_checkpoint_handle(ckpt: HFCheckpoint, out_dir: str | Path, src: str | Path,
                            record: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Builds `networks.BertEncoder`, loads the checkpoint's weights and writes the handle.

    Args:
        ckpt: the checkpoint, in Hugging Face names (TF1 releases are renamed to them).
        out_dir: the handle directory to write (atomically).
        src: where the checkpoint came from, for error messages.
        record: facts for the handle file (source, casing, ...).
        overwrite: replace an existing `out_dir`.
    """
    encoder = build_bert_encoder(ckpt.config)
    unassigned = assign_weights(encoder, encoder_weights(ckpt))
    missing = [name for name in unassigned if not name.startswith("pooler_transform/")]
    if missing:
        raise ConversionError(f"{src}: no weights for {missing[:5]}.")
    # A checkpoint without pooler weights keeps a randomly initialised pooler: classifiers
    # here pool sequence_output themselves.
    head = masked_lm_weights(ckpt)
    return write_handle(out_dir, encoder=encoder, config=ckpt.config,
                        vocab_file=ckpt.vocab_file, do_lower_case=ckpt.do_lower_case,
                        info={**record, "pooler_weights": not unassigned,
                              "masked_lm_head": head is not None},
                        overwrite=overwrite, masked_lm=head)


def masked_lm_weights(ckpt: HFCheckpoint) -> dict[str, Any] | None:
    """The checkpoint's masked-LM head (`cls.predictions`, as BertForMaskedLM and
    BertForPreTraining save it) in `layers.MaskedLM` names, or None when it has none.

    The output projection is tied to the word embeddings, as in BERT, so only the
    transform, its layer norm and the output bias are taken.
    """
    w, prefix = ckpt.weights, "cls.predictions."
    names = {"transform/dense/bias": "transform.dense.bias",
             "transform/LayerNorm/gamma": "transform.LayerNorm.weight",
             "transform/LayerNorm/beta": "transform.LayerNorm.bias",
             "output_bias/bias": "bias"}
    if prefix + "transform.dense.weight" not in w or any(prefix + n not in w
                                                         for n in names.values()):
        return None
    head = {key: w[prefix + name] for key, name in names.items()}
    head["transform/dense/kernel"] = w[prefix + "transform.dense.weight"].T
    return head


def read_tokenizer_json(path: str | Path) -> tuple[list[str], bool]:
    """Reads the WordPiece vocabulary and casing of a Hugging Face `tokenizer.json`.

    Only what our preprocessor reproduces is accepted: a `BertNormalizer` that cleans
    text and splits CJK characters, strips accents exactly when it lower-cases, and a
    WordPiece model with "##" continuations and "[UNK]".

    Args:
        path: the tokenizer.json file.

    Returns:
        The tokens in id order (ids 0..n-1, no gaps, no duplicates) and `do_lower_case`.
    """
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ConversionError(f"{path}: a vocabulary token appears twice.")
        return dict(pairs)

    spec = json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)
    model, normalizer = spec.get("model") or {}, spec.get("normalizer") or {}
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix") != "##":
        raise ConversionError(f"{path}: not a BERT WordPiece tokenizer ({model.get('type')}).")
    if model.get("unk_token") != "[UNK]" or model.get("max_input_chars_per_word", 100) != 100:
        raise ConversionError(f"{path}: unk token / word length differ from BERT's.")
    if normalizer.get("type") != "BertNormalizer":
        raise ConversionError(f"{path}: normalizer {normalizer.get('type')!r}; "
                              "only BertNormalizer is reproduced.")
    lower_case = bool(normalizer.get("lowercase"))
    strip_accents = normalizer.get("strip_accents")
    # Our preprocessor strips accents if and only if it lower-cases (strip_accents=None).
    if (strip_accents is not None and strip_accents != lower_case) or not (
            normalizer.get("clean_text", True) and normalizer.get("handle_chinese_chars", True)):
        raise ConversionError(f"{path}: normalizer settings {normalizer} are not reproduced.")
    by_id = {index: token for token, index in model["vocab"].items()}
    if sorted(by_id) != list(range(len(model["vocab"]))):
        raise ConversionError(f"{path}: vocabulary ids are not 0..{len(model['vocab']) - 1}.")
    tokens = [by_id[i] for i in range(len(by_id))]
    # vocab.txt holds one token a line: a token with a line break cannot be written.
    if any(not t or "\n" in t or "\r" in t for t in tokens):
        raise ConversionError(f"{path}: a token is empty or holds a line break.")
    return tokens, lower_case


def _readable_copy(src: Path, tmp: Path) -> tuple[Path, bool | None]:
    """`src`, or a copy in `tmp` that `read_hf_checkpoint` reads without torch.

    A copy gets vocab.txt rebuilt from tokenizer.json (when vocab.txt is missing) and
    model.safetensors from a zip-format pytorch_model.bin; other files are linked.

    Returns:
        The directory to read and, when the vocabulary came from tokenizer.json, its casing.
    """
    vocab_from_json = not (src / "vocab.txt").exists() and (src / "tokenizer.json").exists()
    bin_path = src / "pytorch_model.bin"
    bin_only = not (src / "model.safetensors").exists() and bin_path.exists()
    read_bin = bin_only and is_zip_checkpoint(bin_path)
    if not (vocab_from_json or read_bin):
        return src, None
    lower_case = None
    for item in src.iterdir():
        if item.is_file() and not (read_bin and item == bin_path):
            _link(item, tmp / item.name)
    if vocab_from_json:
        tokens, lower_case = read_tokenizer_json(src / "tokenizer.json")
        with open(tmp / "vocab.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(tokens) + "\n")
    if read_bin:
        from safetensors.numpy import save_file

        save_file(read_pytorch_bin(bin_path), str(tmp / "model.safetensors"))
    return tmp, lower_case


def _link(source: Path, target: Path) -> None:
    try:
        os.symlink(source.resolve(), target)
    except OSError:  # file systems (or Windows accounts) without symlinks
        shutil.copyfile(source, target)
