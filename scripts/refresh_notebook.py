#!/usr/bin/env python3
"""Re-executes docs/examples/review.ipynb and writes it back with fresh outputs.

Run it with `make notebook` after changing the notebook or the report views, and
review the diff. The test suite executes the same notebook without writing it
(bindings-python/tests/test_notebook.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat
from jupyter_client.manager import KernelManager

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "examples" / "review.ipynb"


def main() -> int:
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    with tempfile.TemporaryDirectory() as tmp:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(tmp) / "kernel"))
        nbclient.NotebookClient(
            nb, km=km, timeout=120, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
        ).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata = {}  # no execution timings: the file changes only when outputs do
    nbformat.write(nb, NOTEBOOK)  # type: ignore[no-untyped-call]
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
