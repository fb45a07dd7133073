"""bert_keras's side: the batch plans, training through its real pipeline, `Classifier.predict`
on strings, the exported SavedModel (as TF Serving loads it), and cost against length.

Training is what `bert-keras train` runs: `pipeline.tokenize` + `pipeline.training_dataset`
(cached, shuffled, length-bucketed, prefetched) feeding the `train_function` that `fit` calls
each step (without fit's callbacks), the model compiled as `bert_keras.training.train` compiles
it (TrainConfig defaults: AdamW with warm-up and decay, cross-entropy, accuracy + macro-F1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from speed.common import PRESET, fetch_hf_files, load_texts, log, repeated
from speed.plans import (
    inference_cases,
    mean_length,
    ordered_batches,
    pad,
    random_batches,
    with_lengths,
)
from speed.results import measurement


def _pad_fixed(dataset, length: int):
    """Pads every example of a `pipeline.tokenize` dataset to `length` (fixed-length table)."""
    import tensorflow as tf

    def pad_features(features, *rest):
        padded = {k: tf.pad(v, [[0, length - tf.shape(v)[0]]]) for k, v in features.items()}
        return (padded, *rest) if rest else padded

    return dataset.map(pad_features, num_parallel_calls=tf.data.AUTOTUNE)


class TrainingData:
    """bert_keras's training datasets for a table ("natural" or "fixed"), built as
    `bert_keras.training.train` builds them; `labels=None` gives the example indices in
    place of labels (the replica that records a plan)."""

    def __init__(self, texts, preprocessor, plan_settings: dict, table: str):
        from bert_keras.data import pipeline
        from bert_keras.data.examples import LabelledTexts

        self.pipeline, self.settings, self.table = pipeline, plan_settings, table
        self.examples, self.preprocessor = LabelledTexts(list(texts)), preprocessor
        self.lengths = pipeline.token_lengths(self.tokens(None))

    def tokens(self, labels):
        data = self.pipeline.tokenize(self.examples, self.preprocessor, labels)
        fixed = self.table == "fixed"
        return _pad_fixed(data, self.settings["max_seq_length"]) if fixed else data

    def dataset(self, labels):
        return self.pipeline.training_dataset(
            self.tokens(labels), self.lengths, batch_size=self.settings["batch_size"],
            max_seq_length=self.settings["max_seq_length"], seed=self.settings["seed"])


def prepare(job: dict, _plan=None) -> dict:
    """Fetches the HF files, tokenizes the texts with bert_keras's preprocessor and records
    every batch plan."""
    import tf_keras as keras

    from bert_keras.config import TrainConfig
    from bert_keras.hub.handles import resolve_handle
    from bert_keras.layers.preprocessor import BertPreprocessor

    # The learning rate every framework trains with: the preset's.
    settings = {**job["settings"],
                "learning_rate": TrainConfig(encoder=PRESET).peak_learning_rate()}
    hf_dir = fetch_hf_files(Path(job["hf_dir"]))
    texts, label_names = load_texts(settings["max_texts"])
    labels = sorted(set(label_names))
    n, batch_size = len(texts), settings["batch_size"]
    preprocessor = BertPreprocessor(resolve_handle(PRESET).preprocessor,
                                    settings["max_seq_length"])
    train_count = settings["warmup"] + settings["repeats"] * settings["train_steps"]
    infer_counts = {b: settings["warmup"] + settings["repeats"] * steps
                    for b, steps in settings["infer_steps"].items()}
    plan = {"settings": settings, "texts": texts, "label_names": labels,
            "labels": [labels.index(label) for label in label_names], "train": {}, "infer": {}}
    for table in ("natural", "fixed"):
        keras.utils.set_random_seed(settings["seed"])  # as training.train; seeds the shuffle
        data = TrainingData(texts, preprocessor, settings, table)
        replica = iter(data.dataset(np.arange(n, dtype=np.int32)).repeat())
        identical = []
        for _ in range(train_count):
            x, index = next(replica)
            identical.append({"indices": [int(i) for i in index.numpy()],
                              "length": int(x["input_word_ids"].shape[1])})
        plan["train"][table] = {"identical": identical}
        if table == "natural":
            plan["ids"] = [[int(t) for t in row[row != 0]] for row in
                           (f["input_word_ids"].numpy() for f in data.tokens(None))]
            plan["train"][table]["random"] = random_batches(n, batch_size, train_count,
                                                            settings["seed"])
    fixed = settings["max_seq_length"]
    for table in ("natural", "fixed"):
        plan["infer"][table] = {
            str(b): with_lengths(ordered_batches(n, int(b), count), plan["ids"],
                                 fixed if table == "fixed" else None)
            for b, count in infer_counts.items()}
    Path(job["plan"]).write_text(json.dumps(plan), encoding="utf-8")
    lengths = [len(row) for row in plan["ids"]]
    return {"texts": n, "labels": labels, "settings": settings, "hf_dir": str(hf_dir),
            "token_length": {
        "median": float(np.median(lengths)), "mean": float(np.mean(lengths)),
        "max": int(max(lengths)),
        "truncated_share": float(np.mean([x >= fixed for x in lengths]))}}


def compile_as_training(model, label_ids, total_steps: int, precision: str) -> None:
    """Compiles `model` as `bert_keras.training.train` does with TrainConfig's defaults."""
    from bert_keras.config import TrainConfig
    from bert_keras.training import compile_classifier

    compile_classifier(model, TrainConfig(precision=precision), total_steps,
                       train_label_ids=np.asarray(label_ids))


def train(job: dict, plan: dict) -> list[dict]:
    """Training examples/s through bert_keras's own pipeline, checked against the plan."""
    import tf_keras as keras

    from bert_keras.models.classifier import Classifier

    settings = plan["settings"]
    keras.utils.set_random_seed(settings["seed"])
    model = Classifier(PRESET, plan["label_names"], seq_length=settings["max_seq_length"],
                       precision=job["precision"])
    label_ids = np.asarray(plan["labels"], np.int32)
    tables = job["tables"]
    compile_as_training(model, label_ids, sum(len(plan["train"][t]["identical"])
                                              for t in tables), job["precision"])
    train_fn, results = model.make_train_function(), []
    for table in tables:
        keras.utils.set_random_seed(settings["seed"])
        data = TrainingData(plan["texts"], model.preprocessor, settings, table)
        batches = plan["train"][table]["identical"]
        _check_replay(data.dataset(label_ids), batches, plan["ids"], label_ids)
        iterator = iter(data.dataset(label_ids).repeat())
        runs = repeated(lambda _, it=iterator: float(train_fn(it)["loss"]), batches,
                        settings["warmup"], settings["repeats"], _size)
        results.append(measurement(
            task="train", table=table, regime="identical", framework="bert_keras",
            path="bert_keras pipeline (length buckets)", precision=model.compute_precision,
            requested=job["precision"], input="ids", batch=settings["batch_size"],
            seq=mean_length(batches), runs=runs,
            note="the plan every framework replays is this pipeline's own batches"))
        log(f"bert_keras train {table} {model.compute_precision}: {results[-1]['median']:.1f}")
    return results


def _size(batch: dict) -> int:
    return len(batch["indices"])


def _check_replay(dataset, batches, ids, label_ids) -> None:
    """The pipeline must yield the plan's batches, or the peers did not replay it."""
    iterator = iter(dataset.repeat())
    for number, batch in enumerate(batches):
        x, y = next(iterator)
        expected = pad(ids, batch["indices"], batch["length"])["input_word_ids"]
        if (not np.array_equal(x["input_word_ids"].numpy(), expected)
                or not np.array_equal(y.numpy(), label_ids[batch["indices"]])):
            raise RuntimeError(f"bert_keras's pipeline disagrees with the plan at batch "
                               f"{number}: the replay is not fair")


def classifier_predict(job: dict, plan: dict) -> list[dict]:
    """`Classifier.predict` on strings, one call per batch (batch 1 first: peak memory so
    far rises with the batch)."""
    from bert_keras.models.classifier import Classifier

    settings = plan["settings"]
    model = Classifier(PRESET, plan["label_names"], seq_length=settings["max_seq_length"],
                       precision=job["precision"])
    texts, results = plan["texts"], []
    for batch_size in job["batches"]:
        batches = plan["infer"]["natural"][str(batch_size)]
        runs = repeated(lambda b, size=batch_size: model.predict(
                            [texts[i] for i in b["indices"]], batch_size=size, verbose=0),
                        batches, settings["warmup"], settings["repeats"], _size)
        results.append(measurement(
            task="infer", table="natural", regime="standard", framework="bert_keras",
            path="Classifier.predict", precision=model.compute_precision,
            requested=job["precision"], input="strings", batch=batch_size,
            seq=mean_length(batches), runs=runs,
            note="each batch cut to its longest text, as the ids rows"))
    return results


def saved_model(job: dict, plan: dict) -> list[dict]:
    """The exported SavedModel loaded with `tf.saved_model.load`, as TF Serving would:
    `serving_default` on strings and `predict_ids` on the plan's id batches; a 16-bit
    export in oneDNN's frozen-weights mode, as the printed docker command serves it (set
    before the first matmul: TensorFlow reads it once)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)

    from bert_keras.export.frozen_weights import FROZEN_WEIGHTS_ENV, assume_frozen_weights

    facts = json.loads((Path(job["saved_model"]) / "assets" / "model_facts.json").read_text())
    if facts["compute_precision"] != "float32":
        assume_frozen_weights()

    settings = plan["settings"]
    loaded = tf.saved_model.load(job["saved_model"])
    serve, by_ids = loaded.signatures["serving_default"], loaded.signatures["predict_ids"]
    precision, texts, ids, results = facts["compute_precision"], plan["texts"], plan["ids"], []

    def strings(batch):
        serve(text=tf.constant([texts[i] for i in batch["indices"]]))["probabilities"].numpy()

    def id_batch(batch):
        x = pad(ids, batch["indices"], batch["length"])
        by_ids(**{k: tf.constant(v) for k, v in x.items()})["probabilities"].numpy()

    for table, batch_size, kind in inference_cases(job["batches"], job["tables"]):
        batches = plan["infer"][table][str(batch_size)]
        runs = repeated(strings if kind == "strings" else id_batch, batches,
                        settings["warmup"], settings["repeats"], _size)
        results.append(measurement(
            task="infer", table=table, regime="standard" if kind == "strings" else "identical",
            framework="bert_keras",
            path="SavedModel serving_default" if kind == "strings" else "SavedModel predict_ids",
            precision=precision, requested=precision, input=kind, batch=batch_size,
            seq=mean_length(batches),  # serving_default cuts a batch to its longest text
            runs=runs, note=(f"{FROZEN_WEIGHTS_ENV}=1" if os.environ.get(FROZEN_WEIGHTS_ENV) == "1"
                         else "")))
    return results


def sweep(job: dict, plan: dict) -> list[dict]:
    """Cost against sequence length and batch size on random ids (item 4): inference
    (`predict_on_batch`) then training (`train_on_batch`), smallest first."""
    import tf_keras as keras

    from bert_keras.models.classifier import Classifier

    settings, length = plan["settings"], job["length"]
    keras.utils.set_random_seed(settings["seed"])
    model = Classifier(PRESET, plan["label_names"], seq_length=length,
                       precision=job["precision"])
    rng = np.random.default_rng(settings["seed"])
    count = settings["sweep_warmup"] + settings["repeats"] * settings["sweep_steps"]
    compile_as_training(model, plan["labels"], count * len(job["batches"]), job["precision"])
    vocab = int(model.encoder_config.get("vocab_size", 30522))
    results = []
    for task in ("infer", "train"):
        for batch_size in job["batches"]:
            words = rng.integers(1000, vocab, (count, batch_size, length), dtype=np.int32)
            labels = rng.integers(0, len(plan["label_names"]), (count, batch_size))
            batches = [({"input_word_ids": w, "input_mask": np.ones_like(w),
                         "input_type_ids": np.zeros_like(w)}, y)
                       for w, y in zip(words, labels, strict=True)]
            step = ((lambda b: model.predict_on_batch(b[0])) if task == "infer" else
                    (lambda b: model.train_on_batch(b[0], b[1])))
            runs = repeated(step, batches, settings["sweep_warmup"], settings["repeats"],
                            lambda b: len(b[1]))
            results.append(measurement(
                task=task, table="sweep", regime="random ids", framework="bert_keras",
                path="predict_on_batch" if task == "infer" else "train_on_batch",
                precision=model.compute_precision, requested=job["precision"], input="ids",
                batch=batch_size, seq=length, runs=runs))
            log(f"sweep {task} seq {length} batch {batch_size}: {results[-1]['median']:.1f}")
    return results


def versions() -> dict:
    import tensorflow as tf
    import tensorflow_text
    import tf_keras

    from bert_keras.version import __version__

    return {"bert_keras": __version__, "tensorflow": tf.__version__,
            "tf_keras": tf_keras.__version__, "tensorflow_text": tensorflow_text.__version__,
            "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}
