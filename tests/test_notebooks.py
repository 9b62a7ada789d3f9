"""Every notebook in notebooks/ executes headless, in FAST mode, without a cell error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # per cell; in FAST mode a whole notebook takes under a minute of CPU


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACCVIDEO_FAST", "1")
    # One thread in the kernel: the toy and miniature models run tiny ops, and a kernel of two threads on a core
    # that another process is using spins in OpenMP (seen here: notebook 01's toy teacher 259 s instead of 7 s).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # the python3 kernel resolves `python` through PATH: put this interpreter's (the venv's) bin first
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
