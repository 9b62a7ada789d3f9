"""Every notebook in notebooks/ executes headless, in FAST mode, without a cell error, and is committed with its
figures (plotly figures also as PNG copies, which a code host shows)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
import pytest
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import Type

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # per cell; in FAST mode a whole notebook takes under a minute of CPU


class SlicedChannel(AsyncZMQSocketChannel):
    """A kernel channel whose waits poll in one-second slices. pyzmq's asyncio poll can miss a reply's wake-up
    and then returns it only when the whole wait (the 300 s cell timeout) runs out: notebooks 02 and 03 sat idle
    310 s each in a one-worker run (kernel and client idle, the reply read at the timeout's last poll)."""

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = 1.0 if deadline is None else min(1.0, max(0.0, deadline - monotonic()))
            if await self.socket.poll(int(left * 1000) or 1):
                return await self._recv()
            if deadline is not None and monotonic() >= deadline:
                raise Empty


class SlicedClient(AsyncKernelClient):
    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)


class SlicedManager(AsyncKernelManager):
    """The kernel manager nbclient starts, handing out SlicedClient."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.client_factory = SlicedClient


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACCVIDEO_FAST", "1")
    # One thread in the kernel: the toy and miniature models run tiny ops, and a kernel of two threads on a core
    # that another process is using spins in OpenMP (seen here: notebook 01's toy teacher 259 s instead of 7 s).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # the python3 kernel resolves `python` through PATH: put this interpreter's (the venv's) bin first
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", kernel_manager_class=SlicedManager,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_with_a_figure_a_code_host_shows(path: Path):
    """The committed file holds its outputs, with at least one static image (a PNG copy of a plotly figure)."""
    nb = nbformat.read(path, as_version=4)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} has no figure output"
    assert not [o for o in outputs if o.output_type == "error"]


def test_static_copy_of_a_plotly_figure():
    """accvideo.figures draws a figure's traces with Pillow: lines in their colour, images at their pixels."""
    import io

    import numpy as np
    import plotly.express as px
    import plotly.graph_objects as go
    from PIL import Image

    from accvideo.figures import figure_png, mime_bundle

    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[0, 1, 4], line=dict(color="#ff0000"), name="a"))
    fig.update_layout(width=400, height=300, title="t")
    image = np.asarray(Image.open(io.BytesIO(figure_png(fig))).convert("RGB"))
    assert image.shape == (300, 400, 3) and ((image == (255, 0, 0)).all(-1)).sum() > 50  # the red line is drawn
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[2:6, 2:6] = (0, 255, 0)
    drawn = np.asarray(Image.open(io.BytesIO(figure_png(px.imshow(pixels)))).convert("RGB"))
    assert ((drawn == (0, 255, 0)).all(-1)).sum() > 1000  # the green square, enlarged
    assert {"application/vnd.plotly.v1+json", "image/png"} <= set(mime_bundle(fig))
