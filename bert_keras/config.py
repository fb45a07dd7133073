"""One configuration for a training run, shared by the CLI, the Python API and YAML files."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import yaml

from bert_keras.errors import BertKerasError

TASKS = ("classify", "aspect")
# Settings naming files that are read again after training (exports measure on the run's
# data), from whatever directory that runs in.
DATA_PATHS = ("train", "validation", "test", "aspect_lexicon")
HANDLE_PATHS = ("encoder", "preprocessor")


def _read_lexicon(path: Path) -> dict[str, list[str]]:
    """Reads {"aspect": ["synonym", ...]} from a JSON file, naming the file on errors."""
    try:
        lexicon = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BertKerasError(f"{path}: cannot read the aspect lexicon ({error})") from None
    if not isinstance(lexicon, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lexicon.values()):
        raise BertKerasError(f'{path}: expected {{"aspect": ["synonym", ...], ...}}')
    return lexicon


def _handle_origin_preset(encoder: str) -> str | None:
    """The preset a local handle was continued-pre-trained from, if it records one."""
    from bert_keras.convert.tfhub_export import HANDLE_FILE

    record = Path(encoder).expanduser() / HANDLE_FILE
    try:
        source = json.loads(record.read_text(encoding="utf-8")).get("source") or {}
    except (OSError, ValueError):
        return None
    return source.get("from_preset") if isinstance(source, dict) else None


@dataclasses.dataclass
class TrainConfig:
    """Everything a fine-tuning run needs. `bert_keras.train(config)` runs it.

    Args:
        train: training data file or folder (default: the prepared drug-review data).
        validation: validation data; without it `validation_fraction` of train is held out
            (stratified, seeded).
        test: test data, evaluated with the best checkpoint at the end.
        text_column: column (or JSON key) holding the text.
        text_pair_column: column holding the second segment of a text pair, if any.
        label_column: column holding the label(s).
        label_separator: separator of multi-label cells (None: single-label).
        clean_text: decode HTML entities and collapse whitespace before tokenizing.
        skip_bad_rows: skip (and report) bad rows instead of stopping at the first.
        validation_fraction: share of train held out when no validation file is given.
        task: "classify" (a label per text, or per text pair) or "aspect" (a label per
            (text, aspect): the aspect is the second segment, `text_pair_column` defaults
            to "aspect", the pooler to "aspect_attention", i.e. BERT-Pair-ATT).
        aspect_filter: aspect task: keep only the sentences that mention the aspect (or a
            synonym from `aspect_lexicon`) plus `aspect_window` neighbours; texts that never
            mention it keep their head and tail.
        aspect_lexicon: aspect task: a JSON file of synonyms by aspect,
            {"price": ["cost", "expensive"]}.
        aspect_window: aspect task: neighbouring sentences kept around a mention.
        aspect_template: aspect task: the second segment as an auxiliary sentence, with
            "{aspect}" for the aspect, e.g. "What do you think of the {aspect}?".
        encoder: encoder handle: preset name, TF-Hub directory or hub URL.
        preprocessor: TF-Hub preprocessor for encoders that come without one.
        pooler: "cls", "mean", "attention" or "aspect_attention" (None: the task's).
        dropout: dropout before the classification head.
        max_seq_length: tokens per example, special tokens included.
        long_text: what a longer text keeps: "head", "tail", "head+tail" or "chunks"
            (all of it, in windows whose logits are pooled), the same in training,
            evaluation, prediction and export.
        head_ratio: "head+tail": the share of the tokens taken from the start.
        chunk_stride: "chunks": tokens between window starts (None: half a window).
        max_chunks: "chunks": the most windows read per text.
        chunk_aggregate: "chunks": pool window logits by "mean" or "max".
        precision: the encoder's compute precision: "auto" (mixed bfloat16 where the CPU
            has AVX512-BF16 / AMX-BF16 or the GPU computes bfloat16, float16 on older GPUs,
            else float32), "float32", "bfloat16" or "float16" (weights stay float32).
        freeze_encoder: train only the head.
        frozen_layers: freeze the embeddings and this many lowest encoder blocks.
        loss: "cross_entropy", "weighted_cross_entropy", "focal", "sigmoid_cross_entropy",
            or an import path "package.module:name" (None: the task's default).
        label_smoothing: label smoothing of the cross-entropy losses.
        class_weights: per-class weights, or "balanced" (computed from training labels).
        focal_gamma: focusing parameter of the focal loss.
        focal_alpha: class balance of the focal loss (float, list or "balanced").
        epochs: passes over the training data.
        batch_size: examples per step (global, over all replicas).
        learning_rate: peak learning rate of AdamW (None: the preset's recommendation,
            else 5e-5).
        warmup_fraction: share of steps with linear warm-up, then linear decay to 0.
        weight_decay: decoupled weight decay (not applied to biases and layer norms).
        layer_decay: layer-wise learning-rate decay (1.0: off; 0.8 scales each lower
            block's rate by 0.8).
        clip_norm: global gradient-norm clipping (0: off).
        early_stopping_patience: epochs without improvement before stopping (0: off).
        monitor: validation metric for the best checkpoint and early stopping.
        seed: seeds the split, shuffling and initialisation.
        output: run directory (config, labels, checkpoints, logs, model, metrics).
        backup_every_steps: save a resumable backup every N steps (0: once an epoch).
        strategy: how training is distributed: "auto", "one-device", "mirrored" (local
            GPUs), "multi-worker" (machines listed in TF_CONFIG) or "tpu" (see
            `bert_keras.distribute.create_strategy`). `batch_size` stays the global batch.
        tpu: the TPU to use with strategy "tpu": a name or grpc:// address, "local" on a
            Cloud TPU VM, None on Colab.
    """

    train: str | None = None
    validation: str | None = None
    test: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    label_separator: str | None = None
    clean_text: bool = False
    skip_bad_rows: bool = False
    validation_fraction: float = 0.1
    task: str = "classify"
    aspect_filter: bool = False
    aspect_lexicon: str | None = None
    aspect_window: int = 1
    aspect_template: str | None = None
    encoder: str = "minilm-l6-uncased"
    preprocessor: str | None = None
    pooler: str | None = None
    dropout: float = 0.1
    max_seq_length: int = 128
    long_text: str = "head"
    head_ratio: float = 0.25
    chunk_stride: int | None = None
    max_chunks: int = 8
    chunk_aggregate: str = "mean"
    precision: str = "auto"
    freeze_encoder: bool = False
    frozen_layers: int = 0
    loss: str | None = None
    label_smoothing: float | None = None
    class_weights: Any = None
    focal_gamma: float | None = None
    focal_alpha: Any = None
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float | None = None
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    layer_decay: float = 1.0
    clip_norm: float = 1.0
    early_stopping_patience: int = 3
    monitor: str = "val_macro_f1"
    seed: int = 42
    output: str | None = None
    backup_every_steps: int = 20
    strategy: str = "auto"
    tpu: str | None = None

    def __post_init__(self):
        from bert_keras.layers.long_text import AGGREGATIONS, check_strategy

        if self.task not in TASKS:
            raise BertKerasError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        aspect = self.task == "aspect"
        if aspect and self.text_pair_column is None:
            self.text_pair_column = "aspect"
        if self.pooler is None:
            self.pooler = "aspect_attention" if aspect else "cls"
        if not aspect and (self.aspect_filter or self.aspect_lexicon or self.aspect_template):
            raise BertKerasError("aspect_filter, aspect_lexicon and aspect_template need "
                                 "task='aspect'")

        try:
            check_strategy(self.long_text, self.head_ratio)
        except ValueError as error:
            raise BertKerasError(str(error)) from None
        if self.chunk_aggregate not in AGGREGATIONS:
            raise BertKerasError(f"chunk_aggregate must be one of {', '.join(AGGREGATIONS)}, "
                                 f"got {self.chunk_aggregate!r}")
        from bert_keras.precision import PRECISIONS

        if self.precision not in PRECISIONS:
            raise BertKerasError(f"precision must be one of {', '.join(PRECISIONS)}, "
                                 f"got {self.precision!r}")
        from bert_keras.distribute import STRATEGIES

        if self.strategy not in STRATEGIES:
            raise BertKerasError(f"strategy must be one of {', '.join(STRATEGIES)}, "
                                 f"got {self.strategy!r}")
        if self.max_chunks < 1 or (self.chunk_stride is not None and self.chunk_stride < 1):
            raise BertKerasError("max_chunks and chunk_stride must be positive")

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Reads a YAML mapping of the fields above; `overrides` win over the file."""
        try:
            values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise BertKerasError(f"{path}: cannot read the config ({error}).") from None
        if not isinstance(values, dict):
            raise BertKerasError(f"{path}: expected a mapping of settings.")
        return cls.from_dict({**values, **overrides}, source=str(path))

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise BertKerasError(f"{source}: unknown settings {unknown}; known: {sorted(names)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        if self.loss is not None and not isinstance(self.loss, str):
            # A loss object passed from Python is recorded by its import path.
            kind = self.loss if isinstance(self.loss, type) else type(self.loss)
            if callable(self.loss) and hasattr(self.loss, "__qualname__"):
                kind = self.loss
            values["loss"] = f"{kind.__module__}:{kind.__qualname__}"
        return values

    def with_absolute_paths(self) -> TrainConfig:
        """A copy whose data files, and encoder/preprocessor directories, are absolute.

        A run's `config.yaml` is read again from other working directories (an export in
        another notebook, TF Serving warm-up), where a relative path names nothing. A handle
        changes only where it names an existing local path, which `resolve_handle` prefers
        too; preset names and URLs stay as they are.
        """
        changes = {name: os.path.abspath(os.path.expanduser(getattr(self, name)))
                   for name in DATA_PATHS if getattr(self, name)}
        for name in HANDLE_PATHS:
            value = getattr(self, name)
            if value and Path(value).expanduser().exists():
                changes[name] = os.path.abspath(os.path.expanduser(value))
        return dataclasses.replace(self, **changes)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False),
                              encoding="utf-8")

    def aspect_settings(self) -> dict[str, Any] | None:
        """The `AspectInput` settings of an aspect task (the lexicon read from its file)."""
        if self.task != "aspect":
            return None
        lexicon = {}
        if self.aspect_lexicon:
            lexicon = _read_lexicon(Path(self.aspect_lexicon))
        return {"filter_text": self.aspect_filter, "lexicon": lexicon,
                "window": self.aspect_window, "template": self.aspect_template}

    def peak_learning_rate(self) -> float:
        """The learning rate to use: the configured one, or the encoder preset's."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        from bert_keras.hub.presets import get_preset, is_preset_name, presets

        known = {p.name for p in presets()}
        if is_preset_name(self.encoder) and self.encoder in known:
            return get_preset(self.encoder).learning_rate
        # A handle continued-pre-trained from a preset (bert-keras pretrain) keeps its size.
        origin = _handle_origin_preset(self.encoder)
        return get_preset(origin).learning_rate if origin in known else 5e-5

    def loss_options(self) -> dict[str, Any]:
        """The loss settings that are set, as `get_loss` keyword arguments."""
        options = {"label_smoothing": self.label_smoothing, "class_weights": self.class_weights,
                   "gamma": self.focal_gamma, "alpha": self.focal_alpha}
        return {k: v for k, v in options.items() if v is not None}
