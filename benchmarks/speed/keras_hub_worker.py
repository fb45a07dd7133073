"""keras-hub (Keras 3, TensorFlow backend): `BertBackbone` + `BertTextClassifier`'s head
(pooled output, dropout, dense), with all-MiniLM-L6-v2 loaded from the HF safetensors by
keras-hub's own converter; bf16 is the `mixed_bfloat16` dtype policy.

Runs in its own virtual environment (`benchmarks/.venv-keras-hub`): keras-hub pins
`kagglesdk==0.1.28`, which would break the main environment's `kaggle` package. The model
is compiled with AdamW (bert_keras's learning rate, weight decay, epsilon and clipping) and
keras-hub's default loss and metric; XLA stays off, as Keras 3 chooses on CPU-only machines.

Regimes: "identical" replays the plan's batches on bert_keras's ids; "standard" is
keras-hub's own pipeline: `BertTextClassifierPreprocessor` in tf.data, which packs every
text to a fixed `sequence_length`.
"""

from __future__ import annotations

import json
from pathlib import Path

from speed.common import log, repeated
from speed.plans import inference_cases, mean_length, pad
from speed.results import measurement


def _inputs(x: dict) -> dict:
    return {"token_ids": x["input_word_ids"], "segment_ids": x["input_type_ids"],
            "padding_mask": x["input_mask"].astype(bool)}


class HubModel:
    """The keras-hub classifier and its preprocessor, under a dtype policy."""

    def __init__(self, hf_dir: Path, plan: dict, precision: str, total_steps: int):
        import keras
        import keras_hub
        from keras_hub.src.utils.transformers import convert_bert

        settings = plan["settings"]
        keras.utils.set_random_seed(settings["seed"])
        keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16"
                                      else "float32")
        config = json.loads((hf_dir / "config.json").read_text())
        self.backbone = keras_hub.models.BertBackbone(
            **convert_bert.convert_backbone_config(config))
        with _PoolerOptionalLoader(str(hf_dir)) as loader:
            convert_bert.convert_weights(self.backbone, loader, config)
        self.pooler_loaded = loader.pooler_loaded
        tokenizer = keras_hub.models.BertTokenizer(vocabulary=str(hf_dir / "vocab.txt"),
                                                   lowercase=True)
        self.preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
            tokenizer, sequence_length=settings["max_seq_length"])
        self.task = keras_hub.models.BertTextClassifier(
            self.backbone, num_classes=len(plan["label_names"]), preprocessor=None)
        schedule = keras.optimizers.schedules.PolynomialDecay(
            settings["learning_rate"], max(total_steps, 1), end_learning_rate=0.0)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01, epsilon=1e-6,
                                           global_clipnorm=1.0)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        self.task.compile(optimizer=optimizer)  # keras-hub's default loss and metric
        self.labels = plan["labels"]

    def parity(self, plan: dict, hf_dir: Path) -> float:
        """Max abs difference of `sequence_output` against transformers' BertModel."""
        import numpy as np
        import torch
        import transformers

        x = pad(plan["ids"], [0, 1], max(len(plan["ids"][0]), len(plan["ids"][1])))
        ours = np.asarray(self.backbone(_inputs(x))["sequence_output"], np.float32)
        reference = transformers.BertModel.from_pretrained(hf_dir, add_pooling_layer=False)
        with torch.inference_mode():
            theirs = reference(input_ids=torch.from_numpy(x["input_word_ids"]).long(),
                               attention_mask=torch.from_numpy(x["input_mask"]).long())
        mask = x["input_mask"][..., None].astype(bool)
        diff = np.abs(ours - theirs.last_hidden_state.numpy())
        return float(np.where(mask, diff, 0).max())

    def standard_dataset(self, plan: dict, batches):
        """keras-hub's own pipeline over the plan's random batches: strings preprocessed
        in tf.data to the fixed sequence length, prefetched."""
        import tensorflow as tf

        order = [i for b in batches for i in b]
        data = tf.data.Dataset.from_tensor_slices(
            ([plan["texts"][i] for i in order], [self.labels[i] for i in order]))
        data = data.batch(len(batches[0])).map(self.preprocessor,
                                               num_parallel_calls=tf.data.AUTOTUNE)
        return iter(data.prefetch(tf.data.AUTOTUNE))


class _PoolerOptionalLoader:
    """keras-hub's SafetensorLoader that leaves the pooler freshly initialised when the
    checkpoint has none (sentence-transformers models such as all-MiniLM-L6-v2)."""

    def __init__(self, preset: str):
        from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

        self.loader, self.pooler_loaded = SafetensorLoader(preset), True

    def __enter__(self):
        self.loader.__enter__()
        return self

    def __exit__(self, *exc):
        return self.loader.__exit__(*exc)

    def get_tensor(self, key):
        return self.loader.get_tensor(key)

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        if hf_weight_key.startswith("pooler."):
            try:
                self.loader.get_tensor(hf_weight_key)
            except Exception:  # no pooler in this checkpoint: keep keras-hub's init
                self.pooler_loaded = False
                return
        self.loader.port_weight(keras_variable, hf_weight_key, hook_fn)


def trace_lengths(step, batches, count: int = 3) -> None:
    """Runs `step` on `count` plan batches of distinct lengths before anything is timed.

    Keras 3 traces `train_on_batch` / `predict_on_batch` again for each new input shape
    until it relaxes to a shape-generic trace (after about three); without this, those
    seconds of tracing would fall inside the timed steps of the natural-length table.
    """
    seen = {}
    for batch in batches:
        seen.setdefault(batch["length"], batch)
    for batch in list(seen.values())[:count]:
        step(batch)


def _size(batch) -> int:
    return len(batch["indices"]) if isinstance(batch, dict) else len(batch)


def train(job: dict, plan: dict) -> list[dict]:
    import numpy as np

    settings, ids = plan["settings"], plan["ids"]
    labels = np.asarray(plan["labels"], np.int32)
    cases = [("natural", "identical"), ("natural", "standard"), ("fixed", "identical")]
    cases = [c for c in cases if c[0] in job["tables"]]
    side = HubModel(Path(job["hf_dir"]), plan, job["precision"],
                    len(cases) * len(plan["train"]["natural"]["identical"]))
    results = []
    for table, regime in cases:
        if regime == "identical":
            batches = plan["train"][table]["identical"]

            def step(b):
                side.task.train_on_batch(_inputs(pad(ids, b["indices"], b["length"])),
                                         labels[b["indices"]])

            trace_lengths(step, batches)
            runs = repeated(step, batches, settings["warmup"], settings["repeats"], _size)
            seq, path = mean_length(batches), "plan batches (bert_keras's)"
        else:
            batches = plan["train"][table]["random"]
            iterator = side.standard_dataset(plan, batches)
            runs = repeated(lambda _, it=iterator: side.task.train_on_batch(*next(it)), batches,
                            settings["warmup"], settings["repeats"], _size)
            seq, path = settings["max_seq_length"], "random batches, its preprocessor"
        results.append(measurement(
            task="train", table=table, regime=regime, framework="keras_hub", path=path,
            precision=job["precision"], input="ids" if regime == "identical" else "strings",
            batch=settings["batch_size"], seq=seq, runs=runs,
            note=None if side.pooler_loaded else "pooler freshly initialised (none in the "
                                                 "checkpoint), as in HF's model"))
        log(f"keras_hub train {table} {regime} {job['precision']}: {results[-1]['median']:.1f}")
    return results


def infer(job: dict, plan: dict) -> list[dict]:
    settings, ids, texts = plan["settings"], plan["ids"], plan["texts"]
    side = HubModel(Path(job["hf_dir"]), plan, job["precision"], 1)
    parity = side.parity(plan, Path(job["hf_dir"])) if job["precision"] == "float32" else None
    results = []
    for table, batch_size, kind in inference_cases(job["batches"], job["tables"]):
        batches = plan["infer"][table][str(batch_size)]
        if kind == "strings":
            step = lambda b: side.task.predict_on_batch(  # noqa: E731
                side.preprocessor([texts[i] for i in b["indices"]]))
            seq = settings["max_seq_length"]
        else:
            step = lambda b: side.task.predict_on_batch(  # noqa: E731
                _inputs(pad(ids, b["indices"], b["length"])))
            trace_lengths(step, batches)
            seq = mean_length(batches)
        runs = repeated(step, batches, settings["warmup"], settings["repeats"], _size)
        results.append(measurement(
            task="infer", table=table, regime="standard" if kind == "strings" else "identical",
            framework="keras_hub",
            path="preprocessor + predict_on_batch" if kind == "strings" else
            "predict_on_batch on plan ids", precision=job["precision"], input=kind,
            batch=batch_size, seq=seq, runs=runs,
            note=None if parity is None else f"sequence_output vs transformers: {parity:.1e}"))
    return results


def versions() -> dict:
    import keras
    import keras_hub
    import tensorflow as tf

    return {"keras": keras.__version__, "keras_hub": keras_hub.__version__,
            "keras_backend": keras.backend.backend(), "tensorflow": tf.__version__}
