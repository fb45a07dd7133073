"""`pretrain(...)`: continued masked-LM pre-training of a handle, written as a new handle.

A pre-training run directory (default: `<out>-run`, beside the handle) holds:

    pretrain.json    the settings of the run (a rerun with other settings is refused
                     while a backup exists)
    backup/          resumable state (weights, optimizer, step), every `save_every_steps`;
                     rerun the same command to resume (from the last backup; the corpus
                     stream starts again), removed when the run completes
    checkpoints/     with a validation corpus: the weights of the lowest validation loss
    logs/            TensorBoard: loss, masked-token accuracy, learning rate
    metrics.json     summary: losses, steps, timings

`out` becomes a handle (encoder + preprocessor + vocab.txt + masked_lm.npz) that every
command accepts; it is written atomically when training has finished.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import tensorflow as tf
import tf_keras as keras

from bert_keras.errors import BertKerasError

DEFAULT_ENCODER = "minilm-l6-uncased"


@dataclasses.dataclass
class PretrainConfig:
    """Settings of a continued pre-training run.

    Args:
        encoder: the handle to start from (preset, handle directory).
        corpus: UTF-8 text files, one document a line (blank lines skipped; a line longer
            than `seq_length` is split into several sequences; short lines are packed).
        out: the handle directory to write.
        steps: optimiser steps (rounded up to a multiple of the backup interval).
        batch_size: sequences per step.
        seq_length: word pieces per packed sequence (at most the encoder's positions).
        learning_rate: peak AdamW learning rate (linear warm-up, then linear decay).
        mask_rate: share of word pieces predicted per sequence.
        whole_word_masking: mask all word pieces of a word together.
        train_encoder: False trains the MLM head alone (a probe of the frozen encoder).
        validation_corpus: held-out files; their masked-LM loss is logged at every backup
            and the lowest one picks the weights written.
        warmup_fraction: share of warm-up steps.
        weight_decay: AdamW weight decay.
        clip_norm: gradient clipping by global norm.
        precision: compute precision: auto | float32 | bfloat16 | float16.
        save_every_steps: steps between resumable backups (and log points).
        run_dir: the run directory (default: `<out>-run`).
        seed: seeds shuffling and masking.
        overwrite: replace an existing `out`.
    """

    encoder: str = DEFAULT_ENCODER
    corpus: list[str] = dataclasses.field(default_factory=list)
    out: str = ""
    steps: int = 1000
    batch_size: int = 32
    seq_length: int = 128
    learning_rate: float = 5e-5
    mask_rate: float = 0.15
    whole_word_masking: bool = False
    train_encoder: bool = True
    validation_corpus: list[str] = dataclasses.field(default_factory=list)
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    precision: str = "auto"
    save_every_steps: int = 100
    run_dir: str | None = None
    seed: int = 42
    overwrite: bool = False

    def __post_init__(self):
        self.corpus = [str(c) for c in self.corpus]
        self.validation_corpus = [str(c) for c in self.validation_corpus]
        if not self.out:
            raise BertKerasError("pretrain needs out: the handle directory to write")
        for name in ("steps", "batch_size", "save_every_steps"):
            if getattr(self, name) < 1:
                raise BertKerasError(f"{name} must be positive, got {getattr(self, name)}")
        if self.seq_length < 3:
            raise BertKerasError(f"seq_length {self.seq_length}: needs at least 3")
        if not 0.0 < self.mask_rate < 1.0:
            raise BertKerasError(f"mask_rate must be in (0, 1), got {self.mask_rate}")

    @property
    def run_path(self) -> Path:
        out = Path(self.out)
        return Path(self.run_dir) if self.run_dir else out.parent / f"{out.name}-run"

    def schedule(self) -> tuple[int, int]:
        """(epochs, steps per epoch): one Keras epoch per backup interval."""
        epochs = math.ceil(self.steps / self.save_every_steps)
        return epochs, math.ceil(self.steps / epochs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PretrainResult:
    """What `pretrain` produced: the new handle, the run directory and its metrics."""

    handle: Path
    run_dir: Path
    metrics: dict[str, Any]


def pretrain(config: PretrainConfig | None = None, **settings: Any) -> PretrainResult:
    """Continues masked-LM pre-training of an encoder handle on a text corpus.

    Args:
        config: the settings (or pass them as keyword arguments, see `PretrainConfig`).
        **settings: `PretrainConfig` fields, overriding `config`'s.

    Returns:
        The new handle directory, the run directory and the run's metrics.

    Examples:

        result = bert_keras.pretrain(encoder="minilm-l6-uncased", corpus=["notes.txt"],
                                     out="handles/minilm-medical", steps=2000)
        bert_keras.train({"encoder": str(result.handle), "train": "labelled.csv"})
    """
    from bert_keras.hub.handles import resolve_handle
    from bert_keras.pretraining.corpus import check_corpus
    from bert_keras.pretraining.dataset import CorpusTokenizer, pretraining_dataset
    from bert_keras.pretraining.model import check_pretrainable

    values = {**(config.to_dict() if config else {}), **settings}
    config = PretrainConfig(**values)
    started = time.monotonic()
    out = Path(config.out)
    if out.exists() and not config.overwrite:
        raise BertKerasError(f"{out} already exists; pass overwrite=True (--overwrite) or "
                             "choose another --out")
    corpus = check_corpus(config.corpus)
    validation = check_corpus(config.validation_corpus) if config.validation_corpus else []
    resolved = resolve_handle(config.encoder)
    vocab_file = check_pretrainable(resolved)
    positions = int(resolved.info["config"].get("max_position_embeddings", 512))
    if config.seq_length > positions:
        raise BertKerasError(f"seq_length {config.seq_length} exceeds the encoder's "
                             f"{positions} positions")
    run_dir = config.run_path
    _check_resume(run_dir, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "pretrain.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n",
                                           encoding="utf-8")
    keras.utils.set_random_seed(config.seed)

    tokenizer = CorpusTokenizer(resolved.preprocessor, vocab_file)
    data = dict(tokenizer=tokenizer, seq_length=config.seq_length,
                batch_size=config.batch_size, mask_rate=config.mask_rate,
                whole_word=config.whole_word_masking, seed=config.seed)
    train_ds = pretraining_dataset(corpus, repeat=True, **data)
    validation_ds = pretraining_dataset(validation, repeat=False, **data) if validation \
        else None
    model, head_reused = _compile(resolved, config)
    callbacks = _callbacks(run_dir, validation_ds is not None)
    epochs, per_epoch = config.schedule()
    print(f"pre-training {config.encoder} for {epochs * per_epoch} steps of "
          f"{config.batch_size} x {config.seq_length} tokens (MLM head "
          f"{'from the handle' if head_reused else 'new'}, "
          f"{'head only' if not config.train_encoder else 'encoder and head'}) into "
          f"{run_dir}", file=sys.stderr)
    history = model.fit(train_ds, epochs=epochs, steps_per_epoch=per_epoch,
                        validation_data=validation_ds, callbacks=callbacks,
                        verbose=1 if sys.stderr.isatty() else 2)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    best = callbacks[1] if validation_ds is not None else None
    if best is not None and best.best() is not None:
        model.load_weights(best.weights_path).expect_partial()
    handle = _write_handle(model.pretrainer, resolved, vocab_file, config, head_reused)
    metrics = {
        "steps": epochs * per_epoch,
        "final_loss": float(history.history["loss"][-1]),
        "final_accuracy": float(history.history["accuracy"][-1]),
        "val_loss": [float(v) for v in history.history.get("val_loss", [])],
        "best_checkpoint": best.best() if best is not None else None,
        "head_from_handle": head_reused,
        "seconds": round(time.monotonic() - started, 1),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n",
                                          encoding="utf-8")
    return PretrainResult(handle, run_dir, metrics)


def _check_resume(run_dir: Path, config: PretrainConfig) -> None:
    previous = run_dir / "pretrain.json"
    if not (run_dir / "backup").exists() or not previous.exists():
        return
    old = json.loads(previous.read_text(encoding="utf-8"))
    if {**old, "overwrite": None} != {**config.to_dict(), "overwrite": None}:
        raise BertKerasError(f"{run_dir} holds an interrupted run with other settings; rerun "
                             "the same command to resume it, or choose another --run-dir")


def _compile(resolved, config: PretrainConfig):
    from bert_keras.distribute import local_strategy
    from bert_keras.optimization import create_optimizer
    from bert_keras.precision import resolve_precision
    from bert_keras.pretraining.model import MaskedLMModel, build_pretrainer

    precision = resolve_precision(config.precision)
    epochs, per_epoch = config.schedule()
    total = epochs * per_epoch
    with local_strategy().scope():
        pretrainer, head_reused = build_pretrainer(resolved, precision)
        model = MaskedLMModel(pretrainer, train_encoder=config.train_encoder)
        optimizer = create_optimizer(
            learning_rate=config.learning_rate, total_steps=total,
            warmup_steps=int(config.warmup_fraction * total),
            weight_decay=config.weight_decay, clip_norm=config.clip_norm)
        if precision == "float16":  # float16 gradients underflow unscaled
            optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
        model.compile(optimizer=optimizer)
    return model, head_reused


def _callbacks(run_dir: Path, validating: bool) -> list[keras.callbacks.Callback]:
    from bert_keras.callbacks import BestCheckpoint

    callbacks = [keras.callbacks.BackupAndRestore(str(run_dir / "backup"))]
    if validating:
        callbacks.append(BestCheckpoint(run_dir / "checkpoints", monitor="val_loss"))
    callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "logs"), update_freq="epoch"))
    return callbacks


def _write_handle(pretrainer, resolved, vocab_file: Path, config: PretrainConfig,
                  head_reused: bool) -> Path:
    """Exports the trained encoder (rebuilt in float32) and head as a handle."""
    from bert_keras.convert.encoder_config import EncoderConfig
    from bert_keras.convert.tfhub_export import write_handle
    from bert_keras.hub.native import build_native_encoder, copy_variables
    from bert_keras.pretraining.model import head_weights

    encoder = build_native_encoder(resolved.info["config"], precision="float32")
    copy_variables(pretrainer.encoder_network.variables, encoder, config.encoder)
    source = {key: resolved.info[key] for key in ("license", "languages", "pooler_weights")
              if key in resolved.info}
    record = {
        **source,
        "source": {"format": "continued-pretraining", "from": str(config.encoder),
                   "from_source": resolved.info.get("source"),
                   "from_preset": resolved.info.get("preset")
                   or (resolved.info.get("source") or {}).get("from_preset")},
        "pretraining": {"corpus": config.corpus, "steps": config.schedule()[0]
                        * config.schedule()[1], "batch_size": config.batch_size,
                        "seq_length": config.seq_length, "mask_rate": config.mask_rate,
                        "whole_word_masking": config.whole_word_masking,
                        "train_encoder": config.train_encoder,
                        "mlm_head": "from the handle" if head_reused else "new"},
        "masked_lm_head": True,
    }
    return write_handle(config.out, encoder=encoder,
                        config=EncoderConfig.from_dict(resolved.info["config"]),
                        vocab_file=vocab_file, do_lower_case=bool(resolved.do_lower_case),
                        info=record, overwrite=config.overwrite,
                        masked_lm=head_weights(pretrainer.masked_lm),
                        preprocessor=_same_vocab_preprocessor(resolved, vocab_file))


def _same_vocab_preprocessor(resolved, vocab_file: Path) -> Path | None:
    """The source handle's preprocessing SavedModel when it tokenizes with `vocab_file`
    (pre-training changes no vocabulary, so the new handle can copy it)."""
    if resolved.is_remote:
        return None
    path = Path(resolved.preprocessor)
    asset = path / "assets" / vocab_file.name
    if (path / "saved_model.pb").exists() and asset.exists() \
            and asset.read_bytes() == vocab_file.read_bytes():
        return path
    return None


def masked_lm_loss(handle: str | Path, corpus: list[str | Path], *, seq_length: int = 128,
                   batch_size: int = 32, mask_rate: float = 0.15, whole_word: bool = False,
                   seed: int = 0, precision: str = "float32") -> dict[str, float]:
    """The masked-LM loss of a handle (encoder + its MLM head) on held-out text.

    Masks are drawn with a fixed `seed`, so two handles are compared on exactly the same
    masked tokens. A handle without `masked_lm.npz` is scored with a new, untrained head
    (a warning says so): its loss says nothing about the encoder.

    Args:
        handle: the handle to score.
        corpus: held-out text files, one document a line.
        seq_length: packed sequence length.
        batch_size: sequences per batch.
        mask_rate: share of word pieces predicted.
        whole_word: whole-word masking.
        seed: seeds the masks.
        precision: compute precision.

    Returns:
        `loss` (mean cross-entropy per masked token), `accuracy`, `tokens` (predictions
        scored) and `sequences`.
    """
    import warnings

    from bert_keras.hub.handles import resolve_handle
    from bert_keras.pretraining.corpus import check_corpus
    from bert_keras.pretraining.dataset import CorpusTokenizer, pretraining_dataset
    from bert_keras.pretraining.model import build_pretrainer, masked_lm_loss_sum, mlm_logits

    resolved = resolve_handle(handle)
    pretrainer, has_head = build_pretrainer(resolved, precision)
    if not has_head:
        warnings.warn(f"{handle}: no masked-LM head weights (masked_lm.npz); scoring with a "
                      "new random head", stacklevel=2)
    tokenizer = CorpusTokenizer(resolved.preprocessor, resolved.vocab_file)
    ds = pretraining_dataset(check_corpus(corpus), tokenizer, seq_length=seq_length,
                             batch_size=batch_size, mask_rate=mask_rate,
                             whole_word=whole_word, seed=seed, repeat=False)

    @tf.function
    def score(features, ids, weights):
        logits = mlm_logits(pretrainer, features, training=False)
        total, count = masked_lm_loss_sum(ids, logits, weights)
        hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), ids), tf.float32)
        return total, count, tf.reduce_sum(hits * weights), tf.shape(ids)[0]

    sums = [0.0, 0.0, 0.0, 0]
    for batch in ds:
        for i, value in enumerate(score(*batch)):
            sums[i] += value.numpy()
    total, count, hits, sequences = sums
    return {"loss": float(total / max(count, 1.0)), "accuracy": float(hits / max(count, 1.0)),
            "tokens": int(count), "sequences": int(sequences)}
