"""Numeric precision of a model's computation: float32, or mixed bfloat16 / float16.

Mixed precision keeps the variables in float32 and computes in 16 bits. It pays where the
hardware multiplies 16-bit matrices natively: CPUs with AVX512-BF16 or AMX-BF16 (oneDNN
uses them for bfloat16), and GPUs. Elsewhere bfloat16 is emulated and slower, so "auto"
chooses it only where the flags are present.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

from bert_keras.errors import BertKerasError

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The feature flags of this machine's CPU (empty where /proc/cpuinfo is missing)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def _gpu_compute_capability() -> tuple[int, int] | None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return tuple(details.get("compute_capability") or (0, 0))


def resolve_precision(precision: str) -> str:
    """The concrete precision ("float32", "bfloat16" or "float16") for a setting.

    "auto" is bfloat16 on GPUs of compute capability 8.0 and newer (no loss scaling
    needed), float16 on older GPUs from 7.0 (tensor cores), bfloat16 on CPUs that multiply
    bfloat16 natively (AVX512-BF16 or AMX-BF16), and float32 everywhere else.

    Examples:
    >>> resolve_precision("float32")
    'float32'
    """
    if precision not in PRECISIONS:
        raise BertKerasError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {precision!r}")
    if precision != "auto":
        return precision
    capability = _gpu_compute_capability()
    if capability is not None:
        if capability >= (8, 0):
            return "bfloat16"
        return "float16" if capability >= (7, 0) else "float32"
    return "bfloat16" if cpu_flags() & set(BF16_CPU_FLAGS) else "float32"


def policy_name(precision: str) -> str:
    """The tf_keras dtype policy of a concrete precision ("mixed_bfloat16", ...)."""
    return _POLICIES[resolve_precision(precision)]


@contextlib.contextmanager
def policy_scope(precision: str, variables_in_compute_dtype: bool = False) -> Iterator[str]:
    """Builds the layers created inside with the policy of `precision`, then restores the
    previous global policy (layers keep the policy they were built with).

    `variables_in_compute_dtype` stores 16-bit layers' variables in 16 bits too ("bfloat16"
    instead of "mixed_bfloat16"): for inference, where no float32 master copy is needed.
    Layers that fix their own dtype (BERT's float32 layer norms) keep it."""
    from tf_keras import mixed_precision

    previous = mixed_precision.global_policy()
    name = policy_name(precision)
    if variables_in_compute_dtype:
        name = name.removeprefix("mixed_")
    mixed_precision.set_global_policy(name)
    try:
        yield name
    finally:
        mixed_precision.set_global_policy(previous)
