"""Runs docs/examples/review.ipynb headless; any cell that raises fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "review.ipynb"


def test_review_notebook_executes(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # IPC sockets in a temporary folder: the kernel listens on no TCP port.
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells and all(c.outputs for c in code_cells)
    html = [o for c in code_cells for o in c.outputs if "text/html" in o.get("data", {})]
    assert any("first blocked" in o["data"]["text/html"] for o in html)
    assert any("<th>suggestion</th>" in o["data"]["text/html"] for o in html)
    # The launch checklist's verdict: its sections and exit criteria.
    assert any("<h4>Exit criteria</h4>" in o["data"]["text/html"] for o in html)
