"""Fine-tuning: `train(config)` reads the data, builds the classifier, fits, evaluates.

A run directory holds:

    config.yaml        the TrainConfig of the run
    labels.json        the label vocabulary
    checkpoints/       best weights by the monitored validation metric (best.json says which)
    backup/            resumable state while training (removed when the run completes)
    logs/              TensorBoard: loss, metrics and learning rate per epoch
    model/             the final model (best weights): Classifier.load(run_dir)
    eval-test/         metrics.json, confusion_matrix.png, precision_recall.png
    metrics.json       summary: validation and test metrics, steps, skipped rows, timings

On several machines (`strategy="multi-worker"`) only the chief writes these; the other
workers write theirs to a temporary directory removed at the end, as TensorFlow's collective
saving needs every worker to save. `backup/` is shared: each worker restores from the chief's.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras

from bert_keras.callbacks import BestCheckpoint
from bert_keras.config import TrainConfig
from bert_keras.data import pipeline
from bert_keras.data.sources import RunData, load_run_data
from bert_keras.data.vocab_coverage import warn_if_uncovered
from bert_keras.distribute import (
    check_shared_directory,
    create_strategy,
    is_chief,
    is_multi_worker,
    shard_by_data,
)
from bert_keras.errors import BertKerasError, ClusterError
from bert_keras.evaluation import EvaluationReport, evaluate_predictions
from bert_keras.losses import get_loss
from bert_keras.metrics import classification_metrics
from bert_keras.models.classifier import Classifier
from bert_keras.optimization import create_optimizer


@dataclasses.dataclass
class TrainResult:
    """What `train` produced."""

    run_dir: Path
    model: Classifier
    validation: EvaluationReport
    test: EvaluationReport | None
    history: dict[str, list[float]]


def default_output(config: TrainConfig, data_name: str) -> str:
    encoder = Path(config.encoder.rstrip("/")).name or "encoder"
    return str(Path("runs") / f"{data_name}-{encoder}")


def train(config: TrainConfig | dict[str, Any]) -> TrainResult:
    """Fine-tunes a classifier as `config` says; the same command resumes a killed run.

    Args:
        config: a `TrainConfig` (or a dict of its fields).

    Returns:
        The run directory, the model (best weights) and its evaluation reports.
    """
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    started = time.monotonic()
    strategy = create_strategy(config.strategy, config.tpu)
    data = load_run_data(config)  # every bad row is found before anything trains
    config = config.with_absolute_paths()  # errors above name the paths as the user gave them
    run_dir = Path(config.output or default_output(config, data.name))
    if config.batch_size < strategy.num_replicas_in_sync:
        raise BertKerasError(f"batch_size {config.batch_size} is the global batch: it must be "
                             f"at least the number of replicas, {strategy.num_replicas_in_sync}")
    chief = is_chief(strategy)
    if chief:
        _check_resume(run_dir, config)
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save(run_dir / "config.yaml")
        data.vocab.save(run_dir / "labels.json")
    check_shared_directory(strategy, run_dir)
    if not chief:  # after the barrier, so the chief has finished writing config.yaml
        _check_resume(run_dir, config)
    work_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="bert-keras-worker-"))
    try:
        return _fit(config, data, strategy, run_dir, work_dir, started)
    finally:
        if work_dir != run_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


def _fit(config: TrainConfig, data: RunData, strategy: tf.distribute.Strategy, run_dir: Path,
         work_dir: Path, started: float) -> TrainResult:
    keras.utils.set_random_seed(config.seed)  # the same on every worker: same batches, order
    with strategy.scope():
        model = _build_model(config, data)
    warn_if_uncovered(model, data.train.texts)
    train_tokens = pipeline.tokenize(data.train, model.preprocessor,
                                     data.vocab.encode(data.train.labels))
    lengths = pipeline.token_lengths(train_tokens)
    train_ds = shard_by_data(pipeline.training_dataset(
        train_tokens, lengths, batch_size=config.batch_size,
        max_seq_length=config.max_seq_length, seed=config.seed))
    validation_ds = shard_by_data(_inference_data(model, data.validation, data,
                                                  config.batch_size))
    steps = int(train_ds.cardinality()) * config.epochs
    with strategy.scope():
        compile_classifier(model, config, steps, train_label_ids=_label_ids(data))
    best = BestCheckpoint(work_dir / "checkpoints", monitor=config.monitor)
    callbacks = [
        # The same directory on every worker: BackupAndRestore writes non-chief backups to
        # its own workertemp_<id> folders and restores all workers from the chief's.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"),
                                         save_freq=config.backup_every_steps or "epoch"),
        best,
        keras.callbacks.TensorBoard(str(work_dir / "logs"), update_freq="epoch"),
    ]
    if config.early_stopping_patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=config.monitor, mode=best.mode, patience=config.early_stopping_patience))
    replicas = strategy.num_replicas_in_sync
    on = f" on {replicas} replicas (global batch {config.batch_size})" if replicas > 1 else ""
    print(f"training {config.epochs} epochs of {int(train_ds.cardinality())} steps{on} "
          f"(median {int(np.median(lengths))} tokens per example, encoder in "
          f"{model.compute_precision}) into {run_dir}", file=sys.stderr)
    try:
        history = model.fit(train_ds, validation_data=validation_ds, epochs=config.epochs,
                            callbacks=callbacks, verbose=1 if sys.stderr.isatty() else 2)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
        if not is_multi_worker(strategy):
            raise
        # A lost peer aborts the collectives of every worker; none can go on alone.
        aborted = re.search(r"aborted by: (.*)", error.message)
        reason = aborted.group(1) if aborted else type(error).__name__
        raise ClusterError(
            f"lost contact with another worker ({reason}); restart every worker with the same "
            f"command and TF_CONFIG: training resumes from the last backup in "
            f"{run_dir / 'backup'}") from error
    if work_dir == run_dir:
        # BackupAndRestore deletes only its own sub-folder; a finished run leaves no backup.
        shutil.rmtree(run_dir / "backup", ignore_errors=True)
    trained_steps = int(model.optimizer.iterations.numpy())
    if best.best() is not None:
        model.load_weights(best.weights_path).expect_partial()
    model.save_to(work_dir / "model")
    validation = evaluate(model, data.validation, data, config.batch_size)
    test = evaluate(model, data.test, data, config.batch_size) if data.test else None
    if test is not None:
        test.save(work_dir / "eval-test")
    _write_summary(work_dir, data, validation, test, best, trained_steps,
                   time.monotonic() - started)
    if work_dir != run_dir:
        print(f"(worker's own copy, removed now; the run is in {run_dir})")
    return TrainResult(run_dir, model, validation, test, history.history)


def compile_classifier(model: Classifier, config: TrainConfig, total_steps: int, *,
                       train_label_ids: np.ndarray | None = None) -> None:
    """Compiles `model` for fine-tuning as `train` does: AdamW with warm-up and decay (and
    layer-wise decay) over `total_steps`, loss scaling in float16, the configured loss and
    the classification metrics. Call it inside the strategy's scope.

    Args:
        model: the classifier to compile.
        config: the run's settings (learning rate, schedule, loss).
        total_steps: optimiser steps of the whole run.
        train_label_ids: the training labels' ids, for losses that weight classes.
    """
    num_classes, multi_label = len(model.labels), model.settings["multi_label"]
    optimizer = create_optimizer(
        learning_rate=config.peak_learning_rate(), total_steps=total_steps,
        warmup_steps=int(config.warmup_fraction * total_steps),
        weight_decay=config.weight_decay, clip_norm=config.clip_norm,
        num_layers=_num_layers(model), layer_decay=config.layer_decay,
    )
    if model.compute_precision == "float16":  # float16 gradients underflow unscaled
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=get_loss(config.loss, num_classes=num_classes, multi_label=multi_label,
                      train_label_ids=train_label_ids, **config.loss_options()),
        metrics=classification_metrics(num_classes, multi_label),
    )


def _check_resume(run_dir: Path, config: TrainConfig) -> None:
    previous = run_dir / "config.yaml"
    if not previous.exists():
        return
    # Runs saved before paths were stored absolute resolve against this directory, as they
    # did when they were written.
    old = TrainConfig.from_yaml(previous).with_absolute_paths()
    # How the work is distributed does not change the run: a backup resumes under any.
    same = (dataclasses.replace(old, strategy=config.strategy, tpu=config.tpu)
            == config.with_absolute_paths())
    if (run_dir / "backup").exists() and not same:
        raise BertKerasError(
            f"{run_dir} holds an interrupted run with other settings; rerun the same command "
            "to resume it, or choose another --output."
        )


def _build_model(config: TrainConfig, data: RunData) -> Classifier:
    return Classifier(
        config.encoder, data.vocab.labels, preprocessor=config.preprocessor,
        pooler=config.pooler, dropout=config.dropout, seq_length=config.max_seq_length,
        long_text=config.long_text, head_ratio=config.head_ratio,
        chunk_stride=config.chunk_stride, max_chunks=config.max_chunks,
        chunk_aggregate=config.chunk_aggregate, aspect=config.aspect_settings(),
        pair=data.train.pairs is not None, multi_label=data.vocab.multi_label,
        trainable_encoder=not config.freeze_encoder, frozen_layers=config.frozen_layers,
        precision=config.precision,
    )


def _num_layers(model: Classifier) -> int:
    return int(model.encoder_config.get("num_layers", 12))


def _label_ids(data: RunData) -> np.ndarray | None:
    return None if data.vocab.multi_label else data.vocab.encode(data.train.labels)


def _inference_data(model, examples, data: RunData, batch_size: int) -> tf.data.Dataset:
    labels = data.vocab.encode(examples.labels) if examples.labels is not None else None
    tokens = pipeline.tokenize(examples, model.preprocessor, labels)
    return pipeline.length_sorted(tokens, batch_size=batch_size)


def evaluate(model: Classifier, examples, data: RunData | None = None,
             batch_size: int = 32) -> EvaluationReport:
    """Evaluates `model` on labelled examples (labels must be in the model's vocabulary)."""
    from bert_keras.data.label_vocab import LabelVocabulary

    vocab = data.vocab if data else LabelVocabulary(model.labels, model.settings["multi_label"])
    logits = model.predict(examples.texts, pairs=examples.pairs, batch_size=batch_size)
    return evaluate_predictions(vocab.encode(examples.labels), model.probabilities(logits),
                                model.labels, multi_label=vocab.multi_label)


def _write_summary(run_dir: Path, data: RunData, validation: EvaluationReport,
                   test: EvaluationReport | None, best: BestCheckpoint, steps: int,
                   seconds: float) -> None:
    summary = {
        "validation": validation.to_dict(),
        "test": test.to_dict() if test else None,
        "best_checkpoint": best.best(),
        "steps": steps,
        "skipped_rows": [str(row) for row in data.skipped],
        "seconds": round(seconds, 1),
    }
    tmp = run_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(run_dir / "metrics.json")
    shown = test or validation
    print(("test" if test else "validation") + " results:\n" + shown.format_table())
    if data.skipped:
        print(f"skipped {len(data.skipped)} bad rows:", *data.skipped[:50], sep="\n  ")
    print(f"run directory: {run_dir}")
