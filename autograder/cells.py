"""The one reader of nbgrader's cell metadata: what role a cell plays (answer,
test, read-only, task), its grade id and its points.

The rules are nbgrader's own (`nbgrader.utils.is_grade`, `is_solution`,
`is_locked`, `is_task`), written over plain mappings so that they also read
hand-ins whose metadata a tool damaged, and raw JSON that is not yet a
NotebookNode. Nothing else in the grader looks inside `metadata["nbgrader"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The nbgrader cell kinds in the order a person would name them.
ROLE_KEYS = ("grade", "solution", "locked", "task")


def nbgrader_metadata(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The cell's nbgrader metadata; empty when it has none or a tool damaged it."""
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def has_nbgrader_metadata(cell: Mapping[str, Any]) -> bool:
    """Whether the cell carries an `nbgrader` key at all, damaged or not."""
    metadata = cell.get("metadata")
    return isinstance(metadata, Mapping) and "nbgrader" in metadata


def has_damaged_nbgrader_metadata(cell: Mapping[str, Any]) -> bool:
    """An `nbgrader` key that is not a mapping: nbgrader itself would fail on the cell."""
    metadata = cell.get("metadata")
    return (isinstance(metadata, Mapping) and "nbgrader" in metadata
            and not isinstance(metadata["nbgrader"], Mapping))


def grade_id(cell: Mapping[str, Any]) -> str | None:
    found = nbgrader_metadata(cell).get("grade_id")
    return found if isinstance(found, str) and found else None


def is_answer(cell: Mapping[str, Any]) -> bool:
    """A solution cell: where the student writes (code, or a written answer in markdown)."""
    return bool(nbgrader_metadata(cell).get("solution"))


def is_graded(cell: Mapping[str, Any]) -> bool:
    """A cell that earns points: a test, or a written answer a person scores."""
    return bool(nbgrader_metadata(cell).get("grade"))


def is_task(cell: Mapping[str, Any]) -> bool:
    return bool(nbgrader_metadata(cell).get("task"))


def is_locked(cell: Mapping[str, Any]) -> bool:
    """nbgrader puts the source back from the release: tests and read-only cells, never answers."""
    meta = nbgrader_metadata(cell)
    if meta.get("solution"):
        return False
    return bool(meta.get("grade") or meta.get("locked"))


def is_test(cell: Mapping[str, Any]) -> bool:
    """An autograded test: a graded code cell that is not the student's answer."""
    return cell.get("cell_type") == "code" and is_graded(cell) and not is_answer(cell)


def has_role(cell: Mapping[str, Any]) -> bool:
    """Any of nbgrader's roles is set (a cell with none of them is ignored by nbgrader)."""
    meta = nbgrader_metadata(cell)
    return any(meta.get(key) for key in ROLE_KEYS)


def is_nbgrader_cell(cell: Mapping[str, Any]) -> bool:
    """A cell nbgrader tracks by grade id: answer, test, read-only or task cell."""
    return grade_id(cell) is not None and has_role(cell)


def points(cell: Mapping[str, Any]) -> float:
    try:
        return float(nbgrader_metadata(cell).get("points") or 0)
    except (TypeError, ValueError):
        return 0.0


def checksum(cell: Mapping[str, Any]) -> str | None:
    """The checksum nbgrader recorded when it released the cell (a blank answer still has it)."""
    found = nbgrader_metadata(cell).get("checksum")
    return found if isinstance(found, str) else None


def role(cell: Mapping[str, Any]) -> str:
    """The cell's role in words, for sentences a person reads."""
    if is_answer(cell):
        return "written-answer cell" if cell.get("cell_type") == "markdown" else "answer cell"
    if is_task(cell):
        return "task cell"
    return "test cell" if is_graded(cell) else "read-only cell"


def describe(cell: Mapping[str, Any]) -> str:
    return f"{role(cell)} '{grade_id(cell)}'"


def index_of(cells: list, wanted: str) -> int:
    """Position of the cell with this grade id; ValueError when there is none."""
    for i, cell in enumerate(cells):
        if grade_id(cell) == wanted:
            return i
    raise ValueError(f"no cell with grade id {wanted!r}")
