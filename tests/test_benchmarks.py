"""The speed harness (benchmarks/run_all.py) without running the benchmark: its ratio,
target and table code on FABRICATED rows (made-up numbers, not measurements), its
plans and clock, and one real job (PyTorch training and inference, one step each, on the
tiny random BERT) through the same subprocess runner the harness uses."""

from __future__ import annotations

import doctest
import json
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

from speed import common, exports, plans, report, results, tables  # noqa: E402


@pytest.mark.parametrize("module", [common, exports, plans, report, results])
def test_doctests(module):
    failed, _ = doctest.testmod(module)
    assert failed == 0


def fabricated(median, **fields) -> dict:
    """A made-up row (a FABRICATED number, for the report code only)."""
    row = {"table": "natural", "regime": "identical", "input": "ids", "batch": 32,
           "seq": 100.0, "note": None, "peak_rss_mb": 1000.0, **fields}
    return {**row, "requested": row["precision"], "median": median, "min": median * 0.9,
            "max": median * 1.1, "runs": [median]}


def fabricated_rows() -> list[dict]:
    train = dict(task="train", path="p")
    rows = [
        fabricated(30, framework="bert_keras", precision="bfloat16", **train,
                   peak_rss_mb=1500.0),
        fabricated(20, framework="bert_keras", precision="float32", **train),
        fabricated(20, framework="pytorch", precision="bfloat16", **train, peak_rss_mb=1000.0),
        fabricated(16, framework="pytorch", precision="float32", **train),
        fabricated(10, framework="pytorch", precision="bfloat16", **{**train,
                   "regime": "standard"}),
        fabricated(30, framework="keras_hub", precision="bfloat16", **train),
        fabricated(25, framework="keras_hub", precision="float32", **train),
    ]
    for batch in (1, 32):
        rows += [
            fabricated(100, task="infer", framework="bert_keras", precision="bfloat16",
                       path="SavedModel predict_ids", batch=batch),
            fabricated(150, task="infer", framework="onnxruntime", precision="float32",
                       path="tf2onnx(predict_ids)", batch=batch),
            fabricated(200, task="infer", framework="pytorch", precision="bfloat16",
                       path="model on plan ids", batch=batch),
            fabricated(90, task="infer", framework="bert_keras", precision="float32",
                       path="SavedModel serving_default", input="strings", batch=batch),
            fabricated(60, task="infer", framework="pytorch", precision="float32",
                       path="tokenizer + model", input="strings", batch=batch),
        ]
    # Each bundle in its own process (equal here), and all of them in turns in one, which
    # is what the TFLite target reads.
    for regime, suffix, int8 in (("standard", "", 10), ("in turns", ", in turns", 25)):
        rows += [fabricated(median, task="infer", framework="tflite", precision=q,
                            path=f"TFLite {q}{suffix}", table="fixed", regime=regime,
                            batch=1, seq=128)
                 for q, median in (("none", 10), ("int8", int8))]
    return rows


def _target(found, name):
    return next(t for t in found if t["target"] == name)


def test_ratios_on_fabricated_rows():
    found = report.comparisons(fabricated_rows())
    fastest = next(c for c in found if c["comparison"] ==
                   "train natural identical: bert_keras / pytorch" and c["mode"] == "fastest")
    assert fastest["speed"] == pytest.approx(30 / 20)
    assert fastest["memory"] == pytest.approx(1.5)
    f32 = next(c for c in found if c["comparison"] ==
               "train natural identical: bert_keras / pytorch" and c["mode"] == "float32")
    assert f32["speed"] == pytest.approx(20 / 16)
    standard = next(c for c in found if c["comparison"] ==
                    "train natural standard: bert_keras / pytorch" and c["mode"] == "fastest")
    assert standard["speed"] == pytest.approx(3.0)  # bert_keras's buckets are its standard


def test_targets_on_fabricated_rows():
    found = report.targets(fabricated_rows())
    met = _target(found, "training >= 1.3x pytorch (identical batches, fastest)")
    assert met["met"] and met["margin"] == pytest.approx(1.5 / 1.3 - 1)
    missed = _target(found, "training >= 1.2x keras_hub (identical batches, fastest)")
    assert missed["met"] is False and "MISSED by 20%" in missed["verdict"]
    best_peer = _target(found, "SavedModel predict_ids >= best peer (ids, batch 1, fastest)")
    assert best_peer["value"] == pytest.approx(100 / 200) and not best_peer["met"]
    onnx = _target(found, "SavedModel predict_ids within 20% of ONNX Runtime (batch 32, "
                          "fastest)")
    assert onnx["value"] == pytest.approx(100 / 150) and not onnx["met"]
    lite = _target(found, "TFLite int8 >= 2x TFLite float32 (batch 1)")
    assert lite["value"] == pytest.approx(2.5) and lite["met"]
    memory = _target(found, "training peak memory <= pytorch (fastest)")
    assert memory["value"] == pytest.approx(1.5) and "uses that much more" in memory["verdict"]
    absent = _target(found, "SavedModel serving_default >= best peer (strings, batch 1, "
                            "float32)")
    assert absent["met"] is True  # 90 vs 60
    assert _target(found, "training >= 1.3x pytorch (standard batches, float32)")[
        "verdict"] == "NOT MEASURED"


def test_markdown_on_fabricated_rows():
    text = tables.markdown({
        "date": "2000-01-01 00:00", "note": "FABRICATED numbers", "texts": 600,
        "system": {"host": "h", "cpu": "c", "cores": 2, "cpu_flags": {"avx512_bf16": True}},
        "settings": {"batch_size": 32, "max_seq_length": 128, "warmup": 2, "repeats": 3,
                     "train_steps": 6, "infer_steps": {"1": 24, "32": 6}},
        "rows": fabricated_rows(), "jobs": [{"name": "broken", "ok": False, "error": "x"}]})
    assert "| bert_keras | bf16 | identical (bert_keras length buckets) | 100 | " \
           "30.0 (27.0-33.0) | 1500 |" in text
    assert "TFLite int8" in text and "MISSED by 20%" in text
    assert "| TFLite int8, in turns | ids | 128 | 25.0 (22.5-27.5) | - |" in text
    assert "- `broken`: x" in text


def test_plans_and_clock():
    batches = plans.with_lengths(plans.random_batches(5, 2, 4, seed=1), [[1] * n for n in
                                                                        range(1, 6)])
    assert all(b["length"] == max(i + 1 for i in b["indices"]) for b in batches)
    calls = []
    runs = common.repeated(calls.append, list(range(7)), warmup=1, repeats=3,
                           size=lambda _: 32)
    assert calls == list(range(7)) and len(runs) == 3 and all(r > 0 for r in runs)
    with pytest.raises(ValueError):
        common.repeated(calls.append, [0, 1], warmup=1, repeats=3)


def test_pytorch_job_runs_in_its_own_process(hf_tiny_dir, tmp_path):
    """One real job: the tiny random BERT trains one step and predicts, in a subprocess."""
    import run_all

    texts = ["the drug works", "bad headache and nausea", "i feel fine now", "no effect"]
    ids = [[2, 9, 4, 3], [2, 9, 9, 9, 9, 3], [2, 9, 3], [2, 9, 9, 3]]
    one = plans.with_lengths([[0, 1], [2, 3], [1, 2]], ids)
    settings = {"batch_size": 2, "max_seq_length": 16, "seed": 0, "warmup": 1, "repeats": 2,
                "learning_rate": 1e-4}
    plan = {"settings": settings, "texts": texts, "ids": ids, "labels": [0, 1, 0, 1],
            "label_names": ["neg", "pos"],
            "train": {"natural": {"identical": one, "random": [[0, 1], [2, 3], [0, 2]]}},
            "infer": {"natural": {"1": plans.with_lengths([[0], [1], [2]], ids),
                                  "2": one}}}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    runner = run_all.Runner(tmp_path, timeout=300)
    trained = runner.run("t", "pytorch_train", precision="float32", hf_dir=str(hf_tiny_dir),
                         tables=["natural"])
    inferred = runner.run("i", "pytorch_infer", precision="bfloat16",
                          hf_dir=str(hf_tiny_dir), tables=["natural"], batches=[1, 2])
    assert trained and inferred, runner.jobs
    assert {(r["regime"], len(r["runs"])) for r in trained["measurements"]} == {
        ("identical", 2), ("standard", 2)}
    assert {(r["input"], r["batch"]) for r in inferred["measurements"]} == {
        ("strings", 1), ("ids", 1), ("strings", 2), ("ids", 2)}
    assert all(r["median"] > 0 and r["peak_rss_mb"] > 0 for r in runner.rows)
    assert all(j["ok"] and j["max_rss_mb"] > 50 for j in runner.jobs)
