"""Execute a notebook top to bottom in a fresh Jupyter kernel (nbclient) and
report what a reader would call a problem: an error or text on stderr."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, str | None]:
    """Run the notebook in its own folder. Returns it with outputs, and the error that stopped it, if any."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        # the kernel's own log (e.g. its TCP notice) is not the notebook's output
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except CellExecutionError as error:
        return nb, str(error)
    return nb, None


def stderr_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """The text each code cell wrote to stderr, with the cell's first line to find it by."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                first_line = cell.source.splitlines()[0] if cell.source else ""
                found.append(f"cell {first_line!r}: {output.text.strip()}")
    return found
