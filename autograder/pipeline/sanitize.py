"""The sanitize stage: nbgrader's own preprocessors put the instructor's cells
back (tests with their hidden parts, read-only cells, points), then the scan
reads what the student wrote. Nothing here runs student code."""

from __future__ import annotations

from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)

from .execute import is_test_cell
from .scan import scan_source

SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)


def nbgrader_resources(db_url: str, assignment: str, notebook: str, student: str) -> dict:
    return {"nbgrader": {"db_url": db_url, "assignment": assignment, "notebook": notebook, "student": student}}


def sanitize(nb, config, resources: dict):
    """What nbgrader autograde does before executing, in the same order."""
    for preprocessor in SANITIZERS:
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
    return nb


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def scan_flags(nb) -> dict[str, list[str]]:
    """grade_id -> reasons, for code the student wrote that reaches for the grader's machinery.

    What a cell does persists in the kernel, so a finding concerns every test after it.
    """
    flags: dict[str, list[str]] = {}
    found: list[str] = []
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type != "code":
            continue
        if is_test_cell(cell) and found:
            flags[meta["grade_id"]] = list(found)
        if not meta.get("locked"):
            where = f"answer cell '{meta['grade_id']}'" if meta.get("grade_id") else "a cell the student added"
            found += [f"{where}, {finding.sentence()}" for finding in scan_source(cell.source)]
    return flags
