"""Entity-level sentiment with the entity as the aspect: a CLS head on the text alone, a pair
CLS head, and BERT-Pair-ATT, the pair heads with and without text filtering; same split,
same encoder. Scored on the whole test split and on its multi-sentence texts (where
filtering can drop something).

Default: `twitter-entity` (split by tweet id), `minilm-l6-uncased`, sequence length 64, a
stratified 4,000-row sample of the training file, 2 epochs.

Usage:
    python benchmarks/aspect_heads.py                         # the README table
    python benchmarks/aspect_heads.py --train-rows 200 --epochs 1 --out /tmp/ah  # smoke
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_variants import run_variants, subsample, table, write_record  # noqa: E402

from bert_keras.data.datasets import prepare_dataset  # noqa: E402

HEADS = {
    "text only, CLS": {"task": "classify"},
    "pair, CLS": {"task": "aspect", "pooler": "cls"},
    "pair, CLS, filtered": {"task": "aspect", "pooler": "cls", "aspect_filter": True},
    "BERT-Pair-ATT": {"task": "aspect"},
    "BERT-Pair-ATT, filtered": {"task": "aspect", "aspect_filter": True},
}
_SENTENCE_END = re.compile(r"[.!?。！？;；]+\s+\S")


def multi_sentence_rows(model, examples) -> list[int]:
    """Rows whose text has more than one sentence."""
    return [i for i, text in enumerate(examples.texts) if _SENTENCE_END.search(text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="twitter-entity")
    parser.add_argument("--encoder", default="minilm-l6-uncased")
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--train-rows", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--heads", nargs="*", default=list(HEADS))
    parser.add_argument("--out", type=Path, default=Path("runs/aspect-heads"))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/aspect_heads.json"))
    args = parser.parse_args()

    data = prepare_dataset(args.dataset)
    train_file = subsample(data / "train.csv", args.train_rows, args.out / "train.csv")
    common = {"train": str(train_file), "test": str(data / "test.csv"), "encoder": args.encoder,
              "max_seq_length": args.seq_length, "epochs": args.epochs,
              "early_stopping_patience": 0}
    variants = {name: HEADS[name] for name in args.heads}
    results = run_variants(variants, common, args.out,
                           {"multi-sentence": multi_sentence_rows})
    print(table(results, ["test", "multi-sentence"]))
    write_record(args.json, "aspect heads", common, results, {"dataset": args.dataset})


if __name__ == "__main__":
    main()
