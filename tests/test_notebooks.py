"""The Colab notebooks in notebooks/: committed clean, badges pointing at themselves, and
executed top to bottom (FAST = True injected after the parameters cell) with nbclient.

Each execution runs in its own temporary working directory against the prepared presets
and datasets ($BERT_KERAS_HOME), fails on the first cell error, and has a deadline for the
whole notebook (not only per cell). When notebook 01 ran before them in this session,
notebooks 02 and 03 run in its working directory with `RUN_DIR` set to its run, as in one
Colab session following the series (the run's data paths are relative to that directory),
instead of training their own (40 s each).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# The GitHub organisation/repository the badges and the Colab install cells point at.
GITHUB_REPO = "bert-keras/bert_keras"
COLAB_URL = "https://colab.research.google.com/github/{repo}/blob/main/notebooks/{name}"
FAST_CELL = "FAST = True  # injected by tests/test_notebooks.py"
# Notebook 01 trains into this directory of its working directory; 02 and 03 take a run.
SENTIMENT_RUN = "runs/sentiment"
TAKES_A_RUN = ("02_tf_serving.ipynb", "03_tflite.ipynb")
_sentiment_workdirs: list[Path] = []  # notebook 01's working directory, once it has run
# Whole-notebook deadline. FAST runs take one to three minutes on 2 idle cores; the margin
# covers a machine shared with other jobs.
NOTEBOOK_TIMEOUT_S = 900


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_the_five_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_fine_tune_sentiment.ipynb", "02_tf_serving.ipynb", "03_tflite.ipynb",
        "04_chinese_long_text_aspects.ipynb", "05_vectors.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_without_outputs(path):
    notebook = _read(path)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {index} has outputs: strip them"
        assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"
        assert "execution" not in cell.metadata, f"{path.name} cell {index} has timing metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_badge_points_at_the_notebook_itself(path):
    notebook = _read(path)
    first = notebook.cells[0]
    expected = COLAB_URL.format(repo=GITHUB_REPO, name=path.name)
    assert first.cell_type == "markdown" and expected in first.source, \
        f"{path.name}: the first cell must carry the Open in Colab badge {expected}"
    text = "\n".join(cell.source for cell in notebook.cells)
    for url in re.findall(r"https://colab\.research\.google\.com/github/[^\s\"')]+", text):
        assert url == expected, f"{path.name}: a badge points at {url}"
    for repo in re.findall(r"git\+https://github\.com/([^\s\"'@]+)", text):
        assert repo == GITHUB_REPO, f"{path.name}: installs from {repo}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_colab_install_cell_and_parameters_cell(path):
    code_cells = [cell for cell in _read(path).cells if cell.cell_type == "code"]
    install = code_cells[0].source
    assert '"google.colab" in sys.modules' in install and "pip install" in install
    assert "if IN_COLAB:" in install
    tagged = [cell for cell in code_cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: one cell must be tagged 'parameters'"
    assert re.search(r"^FAST = False$", tagged[0].source, re.MULTILINE), \
        f"{path.name}: the parameters cell must default to FAST = False"


def _with_fast(notebook: nbformat.NotebookNode,
               run_dir: Path | None = None) -> nbformat.NotebookNode:
    """The notebook with `FAST = True` (and `RUN_DIR`, when given) in a new cell right after
    the parameters cell."""
    index = next(i for i, cell in enumerate(notebook.cells)
                 if "parameters" in cell.metadata.get("tags", []))
    source = FAST_CELL + (f"\nRUN_DIR = {str(run_dir)!r}" if run_dir is not None else "")
    injected = nbformat.v4.new_code_cell(source, id="injected-parameters")
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(index + 1, injected)
    return notebook


def run_notebook(path: Path, workdir: Path, deadline_s: float,
                 run_dir: Path | None = None) -> nbformat.NotebookNode:
    """Executes the notebook in `workdir` cell by cell (with `RUN_DIR = run_dir` when
    given); raises on the first failing cell or when the whole notebook passes
    `deadline_s`."""
    from nbclient import NotebookClient

    notebook = _with_fast(_read(path), run_dir)
    client = NotebookClient(notebook, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    end = time.monotonic() + deadline_s
    with client.setup_kernel(cwd=str(workdir)):
        for index, cell in enumerate(notebook.cells):
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{path.name}: past {deadline_s:.0f} s at cell {index}")
            client.timeout = max(1, int(left))
            client.execute_cell(cell, index)
    return notebook


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (a shut-down kernel included)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _text_outputs(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(path, tmp_path, capsys):
    workdir, run_dir = tmp_path, None
    if path.name in TAKES_A_RUN and _sentiment_workdirs:
        workdir, run_dir = _sentiment_workdirs[0], Path(SENTIMENT_RUN)
    started, cpu = time.monotonic(), _children_cpu_s()
    executed = run_notebook(path, workdir, NOTEBOOK_TIMEOUT_S, run_dir)
    seconds, cpu = time.monotonic() - started, _children_cpu_s() - cpu
    if path.name == NOTEBOOKS[0].name and (tmp_path / SENTIMENT_RUN / "model").is_dir():
        _sentiment_workdirs.append(tmp_path)
    with capsys.disabled():  # the kernel's CPU time says more than wall time on a busy machine
        given = f", on notebook 01's run in {workdir}" if run_dir is not None else ""
        print(f"\n{path.name}: executed in {seconds:.1f} s (kernel CPU {cpu:.1f} s{given})")
    text = _text_outputs(executed)
    assert "Traceback" not in text
    if path.name == "02_tf_serving.ipynb":  # which serving path ran is said, never silent
        assert "PATH:" in text
