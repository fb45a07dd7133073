"""Hugging Face transformers on PyTorch: `BertForSequenceClassification` from the same
all-MiniLM-L6-v2 files, AdamW with bert_keras's learning rate, schedule, weight-decay groups,
epsilon and gradient clipping, in a plain training loop; bf16 is `torch.autocast("cpu")`.

Regimes: "identical" replays the plan's batches on bert_keras's token ids; "standard" is what
an HF user runs: `BertTokenizerFast` ids, random batches padded to their longest member by
`DataCollatorWithPadding` (training) or by the tokenizer (`padding=True`, inference).
"""

from __future__ import annotations

import os
from pathlib import Path

from speed.common import cores, log, repeated
from speed.plans import inference_cases, mean_length, pad
from speed.results import measurement

NO_DECAY = ("bias", "LayerNorm", "layer_norm")


class TorchModel:
    """The classifier, its tokenizer and optimizer, in float32 or under bf16 autocast."""

    def __init__(self, hf_dir: Path, plan: dict, precision: str, total_steps: int):
        import torch
        import transformers

        transformers.logging.set_verbosity_error()
        self.torch, self.precision = torch, precision
        torch.set_num_threads(cores())
        settings = plan["settings"]
        torch.manual_seed(settings["seed"])
        self.tokenizer = transformers.BertTokenizerFast(vocab=str(hf_dir / "vocab.txt"),
                                                        do_lower_case=True)
        self.collator = transformers.DataCollatorWithPadding(self.tokenizer,
                                                             return_tensors="pt")
        self.max_length = settings["max_seq_length"]
        self.own_ids = self.tokenizer(plan["texts"], truncation=True,
                                      max_length=self.max_length)["input_ids"]
        self.labels = torch.tensor(plan["labels"], dtype=torch.long)
        self.model = transformers.BertForSequenceClassification.from_pretrained(
            hf_dir, num_labels=len(plan["label_names"]), dtype=torch.float32)
        params = list(self.model.named_parameters())
        groups = [{"params": [p for n, p in params if not any(k in n for k in NO_DECAY)],
                   "weight_decay": 0.01},
                  {"params": [p for n, p in params if any(k in n for k in NO_DECAY)],
                   "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=settings["learning_rate"], eps=1e-6)
        warmup = max(int(0.1 * total_steps), 1)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: s / warmup if s < warmup
            else max(total_steps - s, 0) / max(total_steps - warmup, 1))

    def _autocast(self):
        return self.torch.autocast("cpu", dtype=self.torch.bfloat16,
                                   enabled=self.precision == "bfloat16")

    def tensors(self, x: dict) -> dict:
        torch = self.torch
        return {"input_ids": torch.from_numpy(x["input_word_ids"]).long(),
                "attention_mask": torch.from_numpy(x["input_mask"]).long(),
                "token_type_ids": torch.from_numpy(x["input_type_ids"]).long()}

    def collate(self, indices) -> dict:
        """`DataCollatorWithPadding` over the examples' own HF ids (the standard path)."""
        batch = self.collator([{"input_ids": self.own_ids[i]} for i in indices])
        batch.pop("labels", None)
        batch["token_type_ids"] = self.torch.zeros_like(batch["input_ids"])
        return batch

    def train_step(self, inputs: dict, indices) -> None:
        torch = self.torch
        self.model.train()
        with self._autocast():
            logits = self.model(**inputs).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), self.labels[indices])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss.item()

    def infer(self, inputs: dict) -> None:
        self.model.eval()
        with self.torch.inference_mode(), self._autocast():
            self.model(**inputs).logits.float().numpy()

    def infer_strings(self, texts) -> None:
        inputs = self.tokenizer(texts, padding=True, truncation=True,
                                max_length=self.max_length, return_tensors="pt")
        self.infer(dict(inputs))


def _size(batch) -> int:
    return len(batch["indices"]) if isinstance(batch, dict) else len(batch)


def train(job: dict, plan: dict) -> list[dict]:
    settings, ids = plan["settings"], plan["ids"]
    cases = [("natural", "identical"), ("natural", "standard"), ("fixed", "identical")]
    cases = [c for c in cases if c[0] in job["tables"]]
    total = len(cases) * len(plan["train"]["natural"]["identical"])
    side = TorchModel(Path(job["hf_dir"]), plan, job["precision"], total)
    results = []
    for table, regime in cases:
        if regime == "identical":
            batches = plan["train"][table]["identical"]
            runs = repeated(lambda b: side.train_step(side.tensors(
                pad(ids, b["indices"], b["length"])), b["indices"]),
                batches, settings["warmup"], settings["repeats"], _size)
            seq, path = mean_length(batches), "plan batches (bert_keras's)"
        else:
            batches = plan["train"][table]["random"]
            runs = repeated(lambda b: side.train_step(side.collate(b), b),
                            batches, settings["warmup"], settings["repeats"], _size)
            seq = sum(max(len(side.own_ids[i]) for i in b) for b in batches) / len(batches)
            path = "random batches, DataCollatorWithPadding"
        results.append(measurement(
            task="train", table=table, regime=regime, framework="pytorch", path=path,
            precision=job["precision"], input="ids", batch=settings["batch_size"], seq=seq,
            runs=runs, note=f"attention: {side.model.config._attn_implementation}"))
        log(f"pytorch train {table} {regime} {job['precision']}: {results[-1]['median']:.1f}")
    return results


def infer(job: dict, plan: dict) -> list[dict]:
    settings, ids, texts = plan["settings"], plan["ids"], plan["texts"]
    side = TorchModel(Path(job["hf_dir"]), plan, job["precision"], 1)
    results = []
    for table, batch_size, kind in inference_cases(job["batches"], job["tables"]):
        batches = plan["infer"][table][str(batch_size)]
        if kind == "strings":
            step = lambda b: side.infer_strings([texts[i] for i in b["indices"]])  # noqa: E731
            seq = sum(max(len(side.own_ids[i]) for i in b["indices"]) for b in batches) \
                / len(batches)
        else:
            step = lambda b: side.infer(side.tensors(  # noqa: E731
                pad(ids, b["indices"], b["length"])))
            seq = mean_length(batches)
        runs = repeated(step, batches, settings["warmup"], settings["repeats"], _size)
        results.append(measurement(
            task="infer", table=table, regime="standard" if kind == "strings" else "identical",
            framework="pytorch",
            path="tokenizer + model" if kind == "strings" else "model on plan ids",
            precision=job["precision"], input=kind, batch=batch_size, seq=seq, runs=runs))
    return results


def versions() -> dict:
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
