"""Shared by the accuracy comparisons in benchmarks/: train several variants of one run on
the same split and evaluate each on the same test rows (all of them, and a subset).

Each variant is a `TrainConfig` (a few fields over common ones); every run writes its own
run directory, so a comparison can be inspected or resumed run by run.
"""

from __future__ import annotations

import datetime
import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bert_keras.config import TrainConfig
from bert_keras.data.examples import LabelledTexts
from bert_keras.models.classifier import Classifier
from bert_keras.training import evaluate, train


def subsample(path: Path, rows: int | None, out: Path, seed: int = 0) -> Path:
    """A CSV with a stratified `rows`-row sample of `path` (all of it when rows is None)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if rows is None or rows >= len(frame):
        return path
    from sklearn.model_selection import train_test_split

    sample, _ = train_test_split(frame, train_size=rows, stratify=frame["label"],
                                 random_state=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    sample.to_csv(out, index=False)
    return out


def run_variants(variants: dict[str, dict[str, Any]], common: dict[str, Any], out_dir: Path,
                 subsets: dict[str, Callable[[Classifier, LabelledTexts], Sequence[int]]]
                 ) -> dict[str, Any]:
    """Trains each variant, then evaluates it on its test split and on `subsets` of it.

    Args:
        variants: name -> TrainConfig fields that differ.
        common: TrainConfig fields every variant shares (data, encoder, epochs, ...).
        out_dir: one run directory per variant goes under it.
        subsets: name -> function(model, test examples) -> the row indices to score.

    Returns:
        name -> {"config", "seconds", "test": metrics, <subset>: metrics}.
    """
    from bert_keras.data.sources import load_run_data

    results: dict[str, Any] = {}
    for name, fields in variants.items():
        config = TrainConfig(**{**common, **fields, "output": str(out_dir / name)})
        started = time.monotonic()
        result = train(config)
        seconds = time.monotonic() - started
        test = load_run_data(config).test
        entry = {"config": fields, "seconds": round(seconds, 1),
                 "test": _summary(result.test.to_dict())}
        for subset, pick in subsets.items():
            indices = list(pick(result.model, test))
            report = evaluate(result.model, test.subset(indices)) if indices else None
            entry[subset] = _summary(report.to_dict()) if report else None
        results[name] = entry
        print(f"{name}: {json.dumps(entry)}", flush=True)
    return results


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in ("num_examples", "accuracy", "macro_f1")}


def table(results: dict[str, Any], columns: Sequence[str]) -> str:
    """A Markdown table: accuracy / macro-F1 per variant and evaluation set."""
    header = "| variant | " + " | ".join(f"{c} acc | {c} macro-F1" for c in columns) + \
        " | train s |"
    lines = [header, "|" + "---|" * (2 * len(columns) + 2)]
    for name, entry in results.items():
        cells = []
        for column in columns:
            metrics = entry.get(column)
            cells += ([f"{metrics['accuracy']:.3f}", f"{metrics['macro_f1']:.3f}"]
                      if metrics else ["-", "-"])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {entry['seconds']:.0f} |")
    return "\n".join(lines)


def write_record(path: Path, what: str, common: dict[str, Any], results: dict[str, Any],
                 extra: dict[str, Any] | None = None) -> None:
    """Writes the comparison as JSON (date, machine, shared settings, per-variant results)."""
    record = {"what": what, "date": datetime.date.today().isoformat(),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "common": common, **(extra or {}), "results": results}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
