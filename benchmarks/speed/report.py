"""Ratios, the issue's targets and the Markdown tables, from the rows the workers measured.

Pure functions of the results dictionary (no framework imported), so they are tested on
fabricated rows (tests/test_benchmarks.py).

A ratio is bert_keras / peer for examples/s (above 1: bert_keras is faster) and for peak
memory (below 1: bert_keras needs less). "fastest" compares each side's fastest precision on
this CPU; "float32" compares float32 with float32.
"""

from __future__ import annotations

from collections.abc import Iterable

PEERS = {"pytorch": "HF transformers (PyTorch)", "keras_hub": "keras-hub (Keras 3, TF)",
         "onnxruntime": "ONNX Runtime"}
SHORT = {"float32": "f32", "bfloat16": "bf16", "float16": "f16", "none": "f32",
         "dynamic": "dynamic int8", "int8": "int8"}
TRAIN_TARGETS = {"pytorch": 1.3, "keras_hub": 1.2}
ONNX_SHARE = 0.8  # within 20% of ONNX Runtime
TFLITE_INT8_SPEEDUP = 2.0


def find(rows: Iterable[dict], **criteria) -> list[dict]:
    """The rows whose fields equal every criterion (a tuple value: any of them).

    Examples:
    >>> find([{"a": 1, "b": 2}, {"a": 1, "b": 3}], a=1, b=(3, 4))
    [{'a': 1, 'b': 3}]
    """
    def matches(row, key, value):
        return row.get(key) in value if isinstance(value, tuple) else row.get(key) == value

    return [r for r in rows if all(matches(r, k, v) for k, v in criteria.items())]


def fastest(rows: Iterable[dict]) -> dict | None:
    """The row with the highest median examples/s (None for no rows)."""
    rows = list(rows)
    return max(rows, key=lambda r: r["median"]) if rows else None


def label(row: dict) -> str:
    """A short name for a row, e.g. "pytorch bf16 (standard)"."""
    precision = SHORT.get(row["precision"], row["precision"])
    if row["framework"] == "tflite":
        return row["path"].replace(row["precision"], precision)
    path = "" if row["task"] == "train" else f" {row['path']}"
    return f"{row['framework']}{path} {precision}"


def _pair(name: str, mode: str, ours: dict | None, peer: dict | None) -> dict | None:
    if ours is None or peer is None:
        return None
    return {"comparison": name, "mode": mode, "ours": label(ours), "peer": label(peer),
            "speed": ours["median"] / peer["median"],
            "memory": (ours["peak_rss_mb"] / peer["peak_rss_mb"]
                       if ours.get("peak_rss_mb") and peer.get("peak_rss_mb") else None)}


def _both_modes(name: str, ours: list[dict], peer: list[dict]) -> list[dict]:
    pairs = [_pair(name, "fastest", fastest(ours), fastest(peer)),
             _pair(name, "float32", fastest(find(ours, precision="float32")),
                   fastest(find(peer, precision="float32")))]
    return [p for p in pairs if p is not None]


def comparisons(rows: list[dict]) -> list[dict]:
    """Every bert_keras-against-peer ratio the tables show."""
    found = []
    train = find(rows, task="train")
    for table, regimes in (("natural", ("identical", "standard")), ("fixed", ("identical",))):
        ours = find(train, table=table, framework="bert_keras")
        for regime in regimes:
            for peer in ("pytorch", "keras_hub"):
                theirs = find(train, table=table, regime=regime, framework=peer)
                found += _both_modes(f"train {table} {regime}: bert_keras / {peer}", ours,
                                     theirs)
    infer = find(rows, task="infer")
    for batch in (1, 32):
        strings = find(infer, table="natural", input="strings", batch=batch)
        for path in ("SavedModel serving_default", "Classifier.predict"):
            ours = find(strings, framework="bert_keras", path=path)
            for peer in ("pytorch", "keras_hub"):
                found += _both_modes(f"infer strings batch {batch}: {path} / {peer}", ours,
                                     find(strings, framework=peer))
        for table in ("natural", "fixed"):
            ids = find(infer, table=table, input="ids", batch=batch)
            ours = find(ids, framework="bert_keras", path="SavedModel predict_ids")
            for peer in ("pytorch", "keras_hub", "onnxruntime"):
                found += _both_modes(f"infer ids {table} batch {batch}: predict_ids / {peer}",
                                     ours, find(ids, framework=peer))
    return found


def _target(name: str, value: float | None, threshold: float, higher_is_better: bool,
            detail: str) -> dict:
    if value is None:
        return {"target": name, "value": None, "threshold": threshold, "detail": detail,
                "met": None, "margin": None, "verdict": "NOT MEASURED"}
    met = value >= threshold if higher_is_better else value <= threshold
    margin = (value / threshold - 1) if higher_is_better else (threshold / value - 1)
    if met:
        verdict = f"met (+{margin:.0%} margin)"
    elif higher_is_better:
        verdict = f"MISSED by {threshold / value - 1:.0%} (bert_keras must get that much faster)"
    else:
        verdict = f"MISSED by {value / threshold - 1:.0%} (bert_keras uses that much more)"
    return {"target": name, "value": value, "threshold": threshold, "detail": detail,
            "met": met, "margin": margin, "verdict": verdict}


def _ratio_target(name, ours, peer, threshold, *, memory=False) -> dict:
    pair = _pair(name, "", ours, peer)
    value = None if pair is None else pair["memory" if memory else "speed"]
    detail = "" if pair is None else f"{pair['ours']} / {pair['peer']}"
    return _target(name, value, threshold, not memory, detail)


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets, each "fastest" and "float32", with met / MISSED and by how much."""
    found = []
    train = find(rows, task="train", table="natural")
    ours_train = find(train, framework="bert_keras")
    for peer, threshold in TRAIN_TARGETS.items():
        for regime in ("identical", "standard"):
            theirs = find(train, framework=peer, regime=regime)
            for mode, pick in (("fastest", {}), ("float32", {"precision": "float32"})):
                found.append(_ratio_target(
                    f"training >= {threshold}x {peer} ({regime} batches, {mode})",
                    fastest(find(ours_train, **pick)), fastest(find(theirs, **pick)),
                    threshold))
    infer = find(rows, task="infer", table="natural")
    for batch in (1, 32):
        for kind, path, peers in (("strings", "SavedModel serving_default",
                                   ("pytorch", "keras_hub")),
                                  ("ids", "SavedModel predict_ids",
                                   ("pytorch", "keras_hub", "onnxruntime"))):
            rows_b = find(infer, batch=batch, input=kind)
            ours = find(rows_b, framework="bert_keras", path=path)
            theirs = find(rows_b, framework=peers)
            for mode, pick in (("fastest", {}), ("float32", {"precision": "float32"})):
                found.append(_ratio_target(
                    f"{path} >= best peer ({kind}, batch {batch}, {mode})",
                    fastest(find(ours, **pick)), fastest(find(theirs, **pick)), 1.0))
        ids = find(infer, batch=batch, input="ids")
        onnx = fastest(find(ids, framework="onnxruntime"))
        predict_ids = find(ids, framework="bert_keras", path="SavedModel predict_ids")
        for mode, pick in (("fastest", {}), ("float32", {"precision": "float32"})):
            found.append(_ratio_target(
                f"SavedModel predict_ids within 20% of ONNX Runtime (batch {batch}, {mode})",
                fastest(find(predict_ids, **pick)), onnx, ONNX_SHARE))
    lite = find(rows, framework="tflite", batch=1, regime="in turns")  # see tflite_in_turns
    found.append(_ratio_target(f"TFLite int8 >= {TFLITE_INT8_SPEEDUP:g}x TFLite float32 "
                               "(batch 1)", fastest(find(lite, precision="int8")),
                               fastest(find(lite, precision="none")), TFLITE_INT8_SPEEDUP))
    for peer in ("pytorch", "keras_hub"):
        for mode, pick in (("fastest", {}), ("float32", {"precision": "float32"})):
            found.append(_ratio_target(
                f"training peak memory <= {peer} ({mode})",
                fastest(find(ours_train, **pick)),
                fastest(find(train, framework=peer, regime="identical", **pick)), 1.0,
                memory=True))
            strings = find(infer, batch=32, input="strings")
            found.append(_ratio_target(
                f"serving peak memory <= {peer} (strings, batch 32, {mode})",
                fastest(find(strings, framework="bert_keras",
                             path="SavedModel serving_default", **pick)),
                fastest(find(strings, framework=peer, **pick)), 1.0, memory=True))
    return found
