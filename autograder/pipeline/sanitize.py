"""The sanitize stage: nbgrader's own preprocessors put the instructor's cells
back (tests with their hidden parts, read-only cells, points, the kernelspec),
then the scan reads what the student wrote, and a notebook for a kernel the
grader does not run is sent to a person. Nothing here runs student code."""

from __future__ import annotations

from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteCells,
    OverwriteKernelspec,
)

from ..cells import grade_id, is_locked, is_test
from ..outcome import Flag
from ..sandbox.kernels import KERNEL_LANGUAGE
from .scan import scan_source

SANITIZERS = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)


def nbgrader_resources(db_url: str, assignment: str, notebook: str, student: str) -> dict:
    return {"nbgrader": {"db_url": db_url, "assignment": assignment, "notebook": notebook, "student": student}}


def sanitize(nb, config, resources: dict):
    """What nbgrader autograde does before executing, in the same order."""
    for preprocessor in SANITIZERS:
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
    return nb


def scan_flags(nb) -> list[Flag]:
    """Code the student wrote that reaches for the grader's machinery, flagged on each test after it.

    What a cell does persists in the kernel, so a finding concerns every test after it.
    """
    flags: list[Flag] = []
    found: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if is_test(cell) and found:
            flags += [Flag(grade_id(cell), reason) for reason in found]
        if not is_locked(cell):
            where = f"answer cell '{grade_id(cell)}'" if grade_id(cell) else "a cell the student added"
            found += [f"{where}, {finding.sentence()}" for finding in scan_source(cell.source)]
    return flags


def foreign_kernel(nb) -> str | None:
    """Why the notebook cannot be run by the grader's Python kernel (its kernelspec, as the
    instructor's source notebook set it, is another language's); None when it can."""
    spec = nb.metadata.get("kernelspec") or {}
    language = spec.get("language") or ("python" if str(spec.get("name", "python")).startswith("python")
                                         else "unknown language")
    if str(language).lower() == KERNEL_LANGUAGE:
        return None
    name = spec.get("display_name") or spec.get("name") or language
    return (f"the notebook is for the {name} kernel ({language}), and the grader runs Python only; it was not "
            "run: grade it by hand in formgrader, or with `nbgrader autograde` where that kernel is installed")
