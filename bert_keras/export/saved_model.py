"""Exports a trained run as a versioned TF Serving SavedModel: `<base>/<name>/<version>/`.

    run directory --Classifier.load--> ServingModule (3 signatures)
        --tf.saved_model.save--> hidden temporary beside the version folder
        + assets/ (vocab.txt, labels.txt, model_facts.json)
        + assets.extra/tf_serving_warmup_requests
        --ops check--> rename to <version>/  --> <base>/models.config

A server polling `<base>/<name>/` only considers numeric folder names, so it never sees
the temporary, and the rename makes the version appear whole.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import tensorflow as tf

from bert_keras.errors import BertKerasError
from bert_keras.export import serving_config
from bert_keras.export.ops_check import OpsReport, check_ops
from bert_keras.export.serving_module import (
    CLASSIFY_METHOD,
    MULTI_LABEL_OUTPUTS,
    OUTPUTS,
    ServingModule,
    set_method_name,
)
from bert_keras.export.warmup import sample_texts, warmup_records, write_warmup
from bert_keras.lite.classifier import LABELS_FILE, VOCAB_FILE  # one name for both exports

DEFAULT_BASE_DIR = "saved_models"
FACTS_FILE = "model_facts.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ExportError(BertKerasError):
    """A model cannot be exported as asked (bad run directory, name or version)."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_saved_model` wrote.

    Args:
        path: the version directory.
        name: the model name; version: the version number.
        ops: the graph's ops by origin.
        config_file: the base directory's `models.config`.
        usage: the docker and curl commands that serve and query the model.
    """

    path: Path
    name: str
    version: int
    ops: OpsReport
    config_file: Path
    usage: str


def check_name(name: str) -> str:
    """Returns `name` if it is a usable model name (one path component, no separators).

    Examples:
    >>> check_name("drug-reviews_v2")
    'drug-reviews_v2'
    """
    if not _NAME.match(name or "") or name in (".", ".."):
        raise ExportError(
            f"bad model name {name!r}: use letters, digits, '.', '_' and '-' only (no path "
            "separators); it becomes a folder of the base directory and the name in URLs."
        )
    return name


def versions(model_dir: str | os.PathLike) -> list[int]:
    """The version numbers present in `<base>/<name>/` (numeric folder names), sorted."""
    directory = Path(model_dir)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def _check_run(run_dir: Path) -> None:
    from bert_keras.models.classifier import CONFIG_FILE, WEIGHTS_FILE

    model_dir = run_dir / "model"
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: no such run directory.")
    if not (model_dir / CONFIG_FILE).exists() or not (
            model_dir / f"{WEIGHTS_FILE}.index").exists():
        raise ExportError(
            f"{run_dir}: not a trained bert_keras model (no model/{CONFIG_FILE} with "
            f"weights); pass the run directory that bert-keras train wrote.")


def _pick_version(model_dir: Path, version: int | None, overwrite: bool) -> int:
    present = versions(model_dir)
    if version is None:
        return (present[-1] + 1) if present else 1
    if version < 1:
        raise ExportError(f"version must be a positive integer, got {version}")
    if version in present and not overwrite:
        raise ExportError(f"{model_dir / str(version)} already exists; pass --overwrite to "
                          "replace it, or leave out --version to write the next one.")
    return version


def _vocab_file(model) -> Path:
    resolved = model.resolved_handle
    candidates = [Path(resolved.preprocessor) / "assets" / VOCAB_FILE]
    if resolved.vocab_file is not None:
        candidates.append(Path(resolved.vocab_file))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise ExportError(f"{resolved.handle}: no {VOCAB_FILE} found next to the encoder handle.")


# Runs saved before long-text strategies existed truncate the head.
LONG_TEXT_DEFAULTS = (("long_text", "head"), ("head_ratio", 0.25), ("chunk_stride", None),
                      ("max_chunks", 8), ("chunk_aggregate", "mean"))


def model_facts(model, run_dir: Path, *, name: str, version: int,
                threshold: float) -> dict[str, Any]:
    """The facts stored as `assets/model_facts.json` (a SavedModel alone is enough to use)."""
    import tensorflow_text

    from bert_keras.version import __version__

    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.exists() else {}
    settings = model.settings
    outputs = list(OUTPUTS) + (list(MULTI_LABEL_OUTPUTS) if settings["multi_label"] else [])
    return {
        "name": name, "version": version, "bert_keras_version": __version__,
        "tensorflow_version": tf.__version__,
        "tensorflow_text_version": tensorflow_text.__version__,
        "encoder": settings["encoder"], "preprocessor": settings["preprocessor"],
        "seq_length": settings["seq_length"], "labels": list(model.labels),
        "pooler": settings["pooler"], "pair": settings["pair"],
        "multi_label": settings["multi_label"], "compute_precision": model.compute_precision,
        "encoder_weights_dtype": _encoder_weights_dtype(model),
        "long_text": {key: settings.get(key, default) for key, default in LONG_TEXT_DEFAULTS},
        "threshold": threshold if settings["multi_label"] else None,
        "signatures": {"serving_default": {"inputs": ["text", "text_pair"][:1 + settings["pair"]],
                                           "outputs": outputs},
                       "predict_ids": {"inputs": ["input_word_ids", "input_mask",
                                                  "input_type_ids"], "outputs": outputs},
                       "classify": {"inputs": ["inputs"], "outputs": ["classes", "scores"],
                                    "method_name": CLASSIFY_METHOD}},
        "metrics": {key: metrics.get(key) for key in ("validation", "test", "best_checkpoint")},
        "run_dir": str(run_dir.resolve()),
    }


def export_saved_model(run_dir: str | os.PathLike, *, name: str | None = None,
                       version: int | None = None,
                       base_dir: str | os.PathLike = DEFAULT_BASE_DIR, overwrite: bool = False,
                       threshold: float = 0.5, precision: str = "float32",
                       quiet: bool = False) -> ExportResult:
    """Exports a trained run as `<base_dir>/<name>/<version>/`, a SavedModel for TF Serving.

    Args:
        run_dir: a run directory written by `bert-keras train` (or its `model/`).
        name: the model name (default: the run directory's name).
        version: the version number (default: one more than the highest present).
        base_dir: the model base directory that TF Serving watches.
        overwrite: replace an existing version.
        threshold: multi-label models: the probability from which a label is predicted.
        precision: the encoder's compute precision in the SavedModel: "float32" (runs on
            any server) or "bfloat16" / "float16" for servers whose CPU or GPU computes
            them natively; the encoder's weights are then stored in that dtype too (no
            per-call casts, half the size).
        quiet: do not print the serving instructions.

    Returns:
        Where the model went, its ops, and the docker / curl commands.

    Examples:

        result = export_saved_model("runs/drug-reviews-minilm-l6-uncased", name="reviews")
        print(result.usage)  # docker run ... tensorflow/serving ...; curl ...
    """
    from bert_keras.cache import atomic_directory
    from bert_keras.models.classifier import Classifier

    run_dir = Path(run_dir)
    if run_dir.name == "model" and not (run_dir / "model").exists():
        run_dir = run_dir.parent
    _check_run(run_dir)
    name = check_name(name if name is not None else _default_name(run_dir))
    model_dir = Path(base_dir) / name
    version = _pick_version(model_dir, version, overwrite)
    final = model_dir / str(version)

    model = Classifier.load(run_dir, precision=precision)
    model.store_variables_in_compute_dtype()  # a no-op in float32
    module = ServingModule(model, threshold=threshold)
    texts, pairs = sample_texts(run_dir, model.settings["pair"])
    facts = model_facts(model, run_dir, name=name, version=version, threshold=threshold)
    signatures = module.signatures()  # traced before the temporary directory exists
    with tempfile.TemporaryDirectory(prefix="bert-keras-assets-") as staging:
        staging = Path(staging)
        (staging / LABELS_FILE).write_text("".join(f"{lab}\n" for lab in model.labels),
                                           encoding="utf-8")
        (staging / FACTS_FILE).write_text(json.dumps(facts, indent=2), encoding="utf-8")
        module.assets = [tf.saved_model.Asset(str(path)) for path in
                         (_vocab_file(model), staging / LABELS_FILE, staging / FACTS_FILE)]
        try:
            with atomic_directory(final, overwrite=overwrite) as tmp:
                tf.saved_model.save(module, str(tmp), signatures=signatures)
                set_method_name(str(tmp), "classify", CLASSIFY_METHOD)
                ops = check_ops(tmp)
                facts["tensorflow_text_ops"] = list(ops.text)
                (tmp / "assets" / FACTS_FILE).write_text(json.dumps(facts, indent=2) + "\n",
                                                         encoding="utf-8")
                _check_assets(tmp)
                write_warmup(tmp, warmup_records(name, texts, pairs, model.preprocessor))
        except FileExistsError as error:  # a concurrent export took the version
            raise ExportError(f"{final} already exists; pass --overwrite to replace it.") \
                from error
    config_file = serving_config.write_models_config(base_dir)
    shortest = min(range(len(texts)), key=lambda i: (not texts[i], len(texts[i])))
    usage = serving_config.usage(base_dir, name, final, [texts[shortest]],
                                 [pairs[shortest]] if pairs else None)
    if not quiet:
        print(usage, file=sys.stderr)
    return ExportResult(final, name, version, ops, config_file, usage)


def _encoder_weights_dtype(model) -> str:
    kernels = [v for v in model.get_layer("encoder").weights if "kernel" in v.name]
    return kernels[0].dtype.name if kernels else "float32"


def _default_name(run_dir: Path) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", run_dir.resolve().name).strip("-.")
    return cleaned or "model"


def _check_assets(export_dir: Path) -> None:
    for asset in (VOCAB_FILE, LABELS_FILE, FACTS_FILE):
        if not (export_dir / "assets" / asset).exists():
            found = sorted(p.name for p in (export_dir / "assets").iterdir())
            raise ExportError(f"assets/{asset} missing after saving (assets: {found})")
