"""The `bert-keras pretrain` subcommand (registered by cli.py)."""

from __future__ import annotations

import argparse

_FLAGS = {
    "--steps": ("steps", int, "optimiser steps (default: 1000; rounded up to a multiple of "
                "--save-every-steps)"),
    "--batch-size": ("batch_size", int, "packed sequences per step (default: 32)"),
    "--seq-length": ("seq_length", int, "word pieces per packed sequence, [CLS] and [SEP] "
                     "included (default: 128)"),
    "--learning-rate": ("learning_rate", float, "peak AdamW learning rate, linear warm-up "
                        "and decay (default: 5e-5)"),
    "--mask-rate": ("mask_rate", float, "share of word pieces masked and predicted per "
                    "sequence (default: 0.15; 80%% [MASK], 10%% random, 10%% unchanged)"),
    "--warmup-fraction": ("warmup_fraction", float, "share of warm-up steps (default: 0.1)"),
    "--weight-decay": ("weight_decay", float, "AdamW weight decay (default: 0.01)"),
    "--clip-norm": ("clip_norm", float, "gradient clipping by global norm (default: 1.0)"),
    "--precision": ("precision", str, "compute precision: auto | float32 | bfloat16 | float16 "
                    "(default: auto)"),
    "--save-every-steps": ("save_every_steps", int, "steps between resumable backups and "
                           "TensorBoard points (default: 100)"),
    "--run-dir": ("run_dir", str, "run directory: backup, logs, metrics (default: OUT-run)"),
    "--seed": ("seed", int, "seeds shuffling and masking (default: 42)"),
}


def _pretrain(args: argparse.Namespace) -> None:
    from bert_keras.pretraining.run import PretrainConfig, pretrain

    values = {dest: getattr(args, dest) for dest, _, _ in _FLAGS.values()}
    values = {k: v for k, v in values.items() if v is not None}
    config = PretrainConfig(encoder=args.encoder, corpus=args.corpus, out=args.out,
                            whole_word_masking=args.whole_word_masking,
                            train_encoder=not args.head_only,
                            validation_corpus=args.validation_corpus or [],
                            overwrite=args.overwrite, **values)
    result = pretrain(config)
    print(f"wrote {result.handle} ({result.metrics['steps']} steps, final masked-LM loss "
          f"{result.metrics['final_loss']:.4f}); use it as a handle: bert-keras train "
          f"--encoder {result.handle}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds `pretrain` to the `bert-keras` subcommands."""
    p = sub.add_parser(
        "pretrain",
        help="continue masked-LM pre-training of an encoder on domain text (writes a handle)",
        description="Continue masked-language-model pre-training of an encoder handle on "
        "unlabelled text, and write the adapted encoder as a new handle (TF-Hub encoder + "
        "preprocessor + vocab.txt + MLM head) that train, embed and every other command "
        "accept. Corpus files are UTF-8, ONE DOCUMENT A LINE (blank lines skipped); short "
        "lines are packed into sequences of --seq-length ([CLS] a [SEP] b [SEP] ...), a "
        "line longer than that is split into several sequences, never dropped. Masks are "
        "drawn anew on every pass (dynamic masking). The MLM head is reused when the handle "
        "has one (masked_lm.npz), else created, tied to the word embeddings. Rerun the same "
        "command to resume an interrupted run.",
    )
    p.add_argument("--encoder", default="minilm-l6-uncased", metavar="HANDLE",
                   help="handle to start from: preset or handle directory with a vocab.txt "
                   "(default: minilm-l6-uncased)")
    p.add_argument("--corpus", required=True, nargs="+", metavar="FILE",
                   help="text files, one document a line")
    p.add_argument("--out", required=True, metavar="DIR", help="the handle directory to write "
                   "(atomically, when training has finished)")
    for flag, (dest, kind, text) in _FLAGS.items():
        p.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    p.add_argument("--whole-word-masking", action="store_true",
                   help="mask all word pieces of a word together (play ##ing)")
    p.add_argument("--validation-corpus", nargs="+", metavar="FILE", default=None,
                   help="held-out text files: masked-LM loss logged at every backup; the "
                   "lowest picks the weights written")
    p.add_argument("--head-only", action="store_true",
                   help="train the MLM head alone, the encoder (word embeddings included) "
                   "frozen: for a handle without a head, fit one this way first, then "
                   "pre-train from the result")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DIR")
    p.set_defaults(func=_pretrain)
