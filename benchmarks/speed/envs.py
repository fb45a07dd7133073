"""The peers' virtual environments, created by the harness itself from PyPI.

Each sees the main environment's packages (`--system-site-packages`: the same TF 2.20,
Keras 3, torch and numpy) and installs only what it adds, so nothing of the pinned
TF 2.20 / tf-keras stack changes: keras-hub would otherwise downgrade `kagglesdk` under
the main environment's `kaggle`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from speed.common import log

VENVS = {
    "keras-hub": ["keras-hub==0.32.0"],
    "onnx": ["tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime==1.32.0"],
}
MARKER = "bench-requirements.txt"


def venv_python(bench_dir: Path, name: str) -> Path:
    """The Python of `benchmarks/.venv-<name>`, created (or recreated when its requirements
    changed) on first use."""
    root = bench_dir / f".venv-{name}"
    python = root / "bin" / "python"
    wanted = "\n".join(VENVS[name]) + "\n"
    marker = root / MARKER
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"creating {root} ({', '.join(VENVS[name])})")
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root)],
                   check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *VENVS[name]],
                          stdout=sys.stderr)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pip could not install {VENVS[name]} into {root}")
    marker.write_text(wanted)
    return python
