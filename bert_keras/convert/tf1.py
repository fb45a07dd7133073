"""Converts Google's original TF1 BERT checkpoint into a bert_keras (TF-Hub format) handle."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bert_keras.convert.hf import write_checkpoint_handle
from bert_keras.convert.tf1_checkpoint import CONFIG_FILE, read_tf1_checkpoint


def convert_tf1(ckpt_dir: str | Path, out_dir: str | Path, *, do_lower_case: bool | None = None,
                gelu: str = "exact", info: dict[str, Any] | None = None,
                overwrite: bool = False, quiet: bool = False) -> Path:
    """Converts a TF1 BERT release (e.g. `chinese_L-12_H-768_A-12`) to a TF-Hub handle.

    The `cls/` pre-training heads and optimizer slots, when present, are left out; the
    handle holds the encoder (with the pooler when the checkpoint has one) and a
    preprocessor for its vocabulary.

    Args:
        ckpt_dir: directory with `bert_config.json`, `vocab.txt` and `bert_model.ckpt.index`
            + `.data-*` shards, or the checkpoint prefix (`.../bert_model.ckpt`).
        out_dir: the handle directory to write (atomically).
        do_lower_case: whether the vocabulary is uncased. TF1 releases do not record it;
            `None` infers it from the vocabulary (Chinese vocabularies come out uncased).
        gelu: what `hidden_act: "gelu"` is built as: "exact" (erf GELU, the default, as
            transformers reads these checkpoints) or "tanh" (the approximation Google's
            TF1 BERT code computes, ~1e-3 apart per activation); the handle's config
            records "gelu" or "gelu_new".
        info: extra facts recorded in the handle file.
        overwrite: replace an existing `out_dir`.
        quiet: do not print the inferred casing to stderr.

    Returns:
        `out_dir`, usable as `load_encoder(out_dir)`.

    Examples:

        handle = convert_tf1("chinese_L-12_H-768_A-12", "handles/bert-base-chinese")
        preprocessor, encoder, _ = load_encoder(handle)
    """
    release = read_tf1_checkpoint(ckpt_dir, do_lower_case=do_lower_case, gelu=gelu)
    ckpt = release.checkpoint
    if do_lower_case is None and not quiet:
        print(f"{ckpt.vocab_file}: {release.casing}", file=sys.stderr, flush=True)
    record = {"source": {"format": "tf1", "path": str(release.prefix.resolve())},
              "do_lower_case_from": release.casing, **(info or {})}
    return write_checkpoint_handle(ckpt, out_dir, ckpt_dir, record, overwrite=overwrite)


def looks_like_tf1(src: str | Path) -> bool:
    """Whether `src` looks like a TF1 BERT release rather than a Hugging Face directory.

    A file test only: true for a directory with `bert_config.json` or a checkpoint
    `.index` file, or for a checkpoint prefix. Hugging Face directories have neither.
    """
    src = Path(src)
    if not src.is_dir():
        return Path(f"{src}.index").exists()
    return (src / CONFIG_FILE).exists() or any(src.glob("*.index"))
