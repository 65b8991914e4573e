"""Every notebook under notebooks/ runs top to bottom without an error (rdflib's
test_examples.py does the same for its examples): the notebooks' own asserts check key
answers, so a broken pipeline fails here. Committed notebooks carry no outputs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 60  # per cell


@pytest.fixture(scope="module")
def this_python_kernel(tmp_path_factory) -> str:
    """A kernel spec named python3 that runs *this* interpreter (the project's venv).

    JUPYTER_PATH is searched before the user's and the system's kernel folders, so a
    python3 kernel installed elsewhere on the machine cannot run the notebooks instead.
    The kernels' TMPDIR is pytest's, so the folders the notebooks write go with it.
    """
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "kg (this venv)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PATH", "TMPDIR")}
    os.environ["JUPYTER_PATH"] = str(root)
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("notebook-tmp"))  # their WORK folders
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    yield "python3"
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01-who-is-behind-the-attacks.ipynb",
        "02-political-landscape.ipynb",
        "03-adding-a-new-article.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, this_python_kernel: str):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name=this_python_kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_kernel_is_this_python(this_python_kernel: str):
    """The notebooks run in the project's venv, not whichever python3 the machine has."""
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    client = NotebookClient(probe, timeout=TIMEOUT_S, kernel_name=this_python_kernel)
    client.execute()
    assert probe.cells[0].outputs[0]["text"].strip() == sys.executable
