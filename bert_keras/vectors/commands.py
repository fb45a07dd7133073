"""The `bert-keras embed` and `bert-keras similar` subcommands (registered by cli.py).

They live here, beside the code they drive, to keep cli.py within its size budget.
"""

from __future__ import annotations

import argparse

from bert_keras.errors import BertKerasError

_MODEL_HELP = ("encoder handle (preset, TF-Hub handle directory, hub URL) or a trained run "
               "directory, whose fine-tuned encoder is used (default: minilm-l6-uncased)")


def _embed(args: argparse.Namespace) -> None:
    from bert_keras.vectors.encoder import TextEncoder
    from bert_keras.vectors.files import check_inputs

    if not args.input:
        args.input = [_default_input()]
    if len(args.input) > 1 and not args.table:
        raise BertKerasError("several --input files are read only with --table")
    if args.table and (args.tokens or args.projector or args.format):
        raise BertKerasError("--table writes one table file: --tokens, --projector and "
                             "--format do not apply")
    if args.contextual and not args.table:
        raise BertKerasError("--contextual applies to --table only")
    check_inputs(args.input)
    encoder = TextEncoder(args.model, seq_length=args.seq_length, layer=args.layer,
                          last_layers=args.last_layers)
    if args.table:
        from bert_keras.vectors.table import build_table

        result = build_table(args.input, args.output, model=encoder, contextual=args.contextual,
                             batch_size=args.batch_size, text_column=args.text_column,
                             overwrite=args.overwrite)
        kind = "contextual (mean over the corpus)" if args.contextual else "static (input " \
            "embedding table)"
        print(f"wrote {args.output}: {result['tokens']} tokens x {result['dim']}, {kind}, "
              f"from {result['occurrences']} token occurrences")
        return
    from bert_keras.vectors.files import embed_file

    meta = embed_file(args.input[0], args.output, model=encoder, tokens=args.tokens,
                      fmt=args.format or "npy", projector=args.projector,
                      pooling=args.pooling, normalize=args.normalize,
                      batch_size=args.batch_size, text_column=args.text_column,
                      overwrite=args.overwrite)
    print(f"wrote {args.output}: {meta['count']} {meta['kind'][:-1]} vectors x {meta['dim']} "
          f"({meta['format']})")
    if args.projector:
        print(f"look at them: tensorboard --logdir {args.output}/projector  (Projector tab)")


def _default_input() -> str:
    """The default dataset's training texts (prepared on first use)."""
    from bert_keras.data.datasets import DEFAULT_DATASET, prepare_dataset

    path = prepare_dataset(DEFAULT_DATASET) / "train.csv"
    print(f"no --input: embedding the texts of {DEFAULT_DATASET} ({path})")
    return str(path)


def _similar(args: argparse.Namespace) -> None:
    from bert_keras.vectors.similar import nearest

    for hit in nearest(args.index, args.query, k=args.k):
        print(f"{hit.score:.4f}\tline {hit.row[0]}\t{hit.row[-1]}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Adds `embed` and `similar` to the `bert-keras` subcommands."""
    p = sub.add_parser(
        "embed",
        help="sentence or token vectors of a text file; token vector tables",
        description="Embed every non-empty text of a UTF-8 file: one text a line, or the "
        "--text-column of a .csv/.tsv/.jsonl file (empty texts are skipped; the index keeps "
        "source line numbers). Without --input, the default dataset's training texts "
        "(drug reviews, prepared on first use). Streams the file (bounded memory) "
        "and writes OUT atomically: a directory with meta.json and vectors.npy + index.tsv "
        "(--format npy), vectors.parquet or vectors.csv, plus TensorBoard projector files "
        "with --projector. --table instead writes OUT as a token vector table (word2vec "
        "text: one line per token that occurs in the input).",
    )
    p.add_argument("--input", nargs="+", metavar="FILE",
                   help="text file (one text a line) or .csv/.tsv/.jsonl file; --table: one "
                   "or more such files (default: the drug-review training texts)")
    p.add_argument("--text-column", default="text", metavar="NAME",
                   help="the column (JSON key) holding the text in .csv/.tsv/.jsonl input "
                   "(default: text)")
    p.add_argument("--output", required=True, metavar="OUT", help="output directory "
                   "(--table: the table file)")
    p.add_argument("--model", default="minilm-l6-uncased", metavar="HANDLE|RUN_DIR",
                   help=_MODEL_HELP)
    p.add_argument("--pooling", choices=["mean", "cls"], default="mean",
                   help="sentence vector pooling (default: mean)")
    p.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True,
                   help="unit-length sentence vectors (default: on)")
    p.add_argument("--tokens", action="store_true", help="one vector per word piece (per "
                   "character for Chinese vocabularies), with the token strings")
    p.add_argument("--layer", type=int, default=-1, help="transformer block whose outputs "
                   "are used (0 = lowest, -1 = last; default: -1)")
    p.add_argument("--last-layers", type=int, default=None, metavar="N",
                   help="use the mean of the last N blocks instead of --layer")
    p.add_argument("--format", choices=["npy", "parquet", "csv"], default=None,
                   help="vector file format (default: npy, with index.tsv)")
    p.add_argument("--projector", action="store_true",
                   help="also write TensorBoard projector files (OUT/projector/)")
    p.add_argument("--table", action="store_true", help="write a token vector table: the "
                   "vector of every token occurring in the input")
    p.add_argument("--contextual", action="store_true", help="--table: each token's mean "
                   "contextual vector over the corpus (default: its input embedding)")
    p.add_argument("--seq-length", type=int, default=None, help="word pieces per text; "
                   "longer texts keep their start (default: 256, or the run's length)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.set_defaults(func=_embed)

    p = sub.add_parser(
        "similar",
        help="nearest neighbours of a query among embedded texts (cosine)",
        description="Embed --query with the model recorded in INDEX (an output of "
        "bert-keras embed) and print the k most similar stored texts: score, source line, "
        "text.",
    )
    p.add_argument("--index", required=True, metavar="OUT", help="a bert-keras embed output")
    p.add_argument("--query", required=True, help="the text to look up")
    p.add_argument("-k", type=int, default=10, help="how many neighbours (default: 10)")
    p.set_defaults(func=_similar)

