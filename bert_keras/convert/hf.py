"""Converts a Hugging Face BERT directory into a bert_keras (TF-Hub format) handle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bert_keras.convert.encoder_config import build_bert_encoder
from bert_keras.convert.hf_checkpoint import assign_weights, encoder_weights, read_hf_checkpoint
from bert_keras.convert.tfhub_export import write_handle
from bert_keras.errors import ConversionError


def convert_hf(src_dir: str | Path, out_dir: str | Path, *,
               info: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Converts a Hugging Face BERT checkpoint to a TF-Hub encoder + preprocessor.

    Args:
        src_dir: directory with config.json, model.safetensors (or pytorch_model.bin)
            and vocab.txt; cased or uncased, with or without pooler weights.
        out_dir: the handle directory to write (atomically).
        info: extra facts recorded in the handle file.
        overwrite: replace an existing `out_dir`.

    Returns:
        `out_dir`, usable as `load_encoder(out_dir)`.
    """
    ckpt = read_hf_checkpoint(src_dir)
    encoder = build_bert_encoder(ckpt.config)
    unassigned = assign_weights(encoder, encoder_weights(ckpt))
    missing = [name for name in unassigned if not name.startswith("pooler_transform/")]
    if missing:
        raise ConversionError(f"{src_dir}: no weights for {missing[:5]}.")
    record = {
        "source": {"format": "huggingface", "path": str(Path(src_dir).resolve())},
        # A checkpoint without pooler weights keeps a randomly initialised pooler:
        # classifiers here pool sequence_output themselves.
        "pooler_weights": not unassigned,
        **(info or {}),
    }
    return write_handle(
        out_dir,
        encoder=encoder,
        config=ckpt.config,
        vocab_file=ckpt.vocab_file,
        do_lower_case=ckpt.do_lower_case,
        info=record,
        overwrite=overwrite,
    )
