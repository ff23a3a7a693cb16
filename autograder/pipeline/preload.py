"""What an assignment's notebooks import, for the warm sandbox to import once
before it forks (as it does torch), instead of every kernel importing it again:
an import of pandas or scipy costs each kernel half a second or more.

Read from the release notebooks, the instructor's own files; never from what a
student handed in. A name the assignment ships a file or folder for (a
helper.py beside the notebooks) is left out, and a kernel forgets one that a
file in its working folder names (a module the student handed in): that module
imports from the working folder, as in a kernel of its own.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path


def _code(source: str) -> str:
    """The cell as Python: IPython's magics and shell escapes left out."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def imported_modules(notebooks: Iterable[Path], course_files: Path | None = None) -> tuple[str, ...]:
    """Top-level packages the notebooks' code cells import, in the order first seen."""
    found: dict[str, None] = {}
    for path in notebooks:  # read as JSON: sandbox/ahead.py calls it before the grader loads nbformat
        for cell in json.loads(Path(path).read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse(_code("".join(source) if isinstance(source, list) else source))
            except SyntaxError:
                continue  # a cell only IPython reads: its imports load in the kernel, as before
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(dict.fromkeys(alias.name.split(".")[0] for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found[node.module.split(".")[0]] = None
    shipped = set()
    if course_files is not None and course_files.is_dir():
        shipped = {p.stem if p.suffix == ".py" else p.name for p in course_files.iterdir()}
    return tuple(name for name in found if name not in shipped and name != "__future__")
