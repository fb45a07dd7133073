"""Continued masked-LM pre-training on drug-review text: does it adapt the encoder, and does
fine-tuning from the adapted encoder classify better?

Unlabelled corpus: the review texts of the drug-reviews train split (labels unused).
Held-out text: the test split's reviews, never seen in pre-training. all-MiniLM-L6-v2 ships
no MLM head, so a head is first fitted with the encoder frozen (A); then

    B = A + continued pre-training of encoder and head   (the adapted encoder)
    C = A + the same number of head-only steps           (control: head training alone)

and the held-out masked-LM loss of A, C and B is scored on the same masked tokens (fixed
seed). B below C means the encoder itself adapted. Finally the classifier is fine-tuned
from the original encoder and from B on the same split and scored on the test rows
(one seed each: a point or two on 379 reviews is noise).

Usage:
    python benchmarks/continued_pretraining.py                 # the README record
    python benchmarks/continued_pretraining.py --steps 20 --head-steps 10 --epochs 1  # smoke
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_variants import run_variants, table, write_record  # noqa: E402

from bert_keras.data.datasets import DEFAULT_DATASET, prepare_dataset  # noqa: E402
from bert_keras.pretraining.run import masked_lm_loss, pretrain  # noqa: E402


def write_texts(csv_path: Path, out: Path) -> Path:
    """The `text` column of a dataset split, one document a line (labels dropped)."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        texts = [" ".join(row["text"].split()) for row in csv.DictReader(f)]
    out.write_text("\n".join(t for t in texts if t) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="minilm-l6-uncased")
    parser.add_argument("--head-steps", type=int, default=100, help="head-only steps (A)")
    parser.add_argument("--steps", type=int, default=150, help="continued pre-training steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--head-learning-rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=8, help="fine-tuning epochs")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-4,
                        help="the same for both fine-tunes (default: MiniLM's preset rate)")
    parser.add_argument("--no-control", action="store_true", help="skip run C")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse pre-training runs already recorded under --out")
    parser.add_argument("--out", type=Path, default=Path("runs/continued-pretraining"))
    parser.add_argument("--json", type=Path,
                        default=Path("benchmarks/results/continued_pretraining.json"))
    args = parser.parse_args()

    data = prepare_dataset(DEFAULT_DATASET)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = write_texts(data / "train.csv", args.out / "corpus-train.txt")
    held_out = write_texts(data / "test.csv", args.out / "held-out-test.txt")
    common = dict(batch_size=args.batch_size, seq_length=args.seq_length, corpus=[str(corpus)],
                  save_every_steps=50, overwrite=True)
    score = dict(seq_length=args.seq_length, batch_size=32, seed=0)
    record: dict = {"corpus": str(corpus), "held_out": str(held_out)}

    def run(name: str, **settings) -> Path:
        saved = args.out / f"{name}.json"
        if args.reuse and saved.exists() and (args.out / name).is_dir():
            record[name] = json.loads(saved.read_text(encoding="utf-8"))
            print(f"{name} (reused): {json.dumps(record[name])}", flush=True)
            return args.out / name
        started = time.monotonic()
        result = pretrain(out=str(args.out / name), **common, **settings)
        loss = masked_lm_loss(result.handle, [held_out], **score)
        record[name] = {"settings": {k: v for k, v in settings.items() if k != "encoder"},
                        "train_seconds": round(time.monotonic() - started, 1),
                        "held_out": loss, "final_train_loss": result.metrics["final_loss"]}
        record[name] = json.loads(json.dumps(record[name], default=float))
        saved.write_text(json.dumps(record[name], indent=2) + "\n", encoding="utf-8")
        print(f"{name}: {json.dumps(record[name])}", flush=True)
        return result.handle

    head = run("A-head", encoder=args.encoder, steps=args.head_steps, train_encoder=False,
               learning_rate=args.head_learning_rate)
    if not args.no_control:
        run("C-head-control", encoder=str(head), steps=args.steps, train_encoder=False,
            learning_rate=args.head_learning_rate)
    adapted = run("B-adapted", encoder=str(head), steps=args.steps,
                  learning_rate=args.learning_rate)

    fine_tune = {"train": str(data / "train.csv"), "test": str(data / "test.csv"),
                 "epochs": args.epochs, "learning_rate": args.fine_tune_learning_rate}
    variants = {"original": {"encoder": args.encoder}, "adapted": {"encoder": str(adapted)}}
    results = run_variants(variants, fine_tune, args.out / "fine-tune", {})
    print("\nheld-out masked-LM loss (same masked tokens):")
    for name in ("A-head", "C-head-control", "B-adapted"):
        if name in record:
            h = record[name]["held_out"]
            print(f"  {name:<15} loss {h['loss']:.4f}  accuracy {h['accuracy']:.4f}  "
                  f"({h['tokens']} tokens)")
    print("\nfine-tuning, test split:\n" + table(results, ["test"]))
    write_record(args.json, "continued masked-LM pre-training on drug-review text",
                 fine_tune, results, {"pretraining": record})


if __name__ == "__main__":
    main()
