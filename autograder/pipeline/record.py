"""The record stage, the only writer: a student's graded notebooks go to
autograded/ (where formgrader and nbgrader generate_feedback read them) and
their grades into nbgrader's gradebook, in one transaction per student."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum
from sqlalchemy.exc import SAWarning

from ..cells import checksum, grade_id, is_answer, is_task
from ..files import write_atomically
from ..outcome import NotebookOutcome, SubmissionOutcome

REPORT_FILE = "autograder.json"  # beside the autograded notebooks: what the grader did
REPORT_TAG = "autograder-report"


def read_report(folder: Path) -> dict | None:
    """What the grader wrote about one submission (autograder.json in its autograded/ folder);
    None when it has none (graded by plain nbgrader, or not graded yet)."""
    path = folder / REPORT_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def report_cell(outcome: NotebookOutcome) -> nbformat.NotebookNode | None:
    """A note at the top of the graded notebook: what the grader repaired, flagged or could not run."""
    lines = []
    if outcome.failure:
        lines.append(f"**The run stopped early:** {outcome.failure}. Tests that did not run score 0.")
    if outcome.repairs:
        lines.append("**Repaired before grading** (so that your work could be graded):")
        lines += [f"- {r}" for r in outcome.repairs]
    if outcome.flags:
        lines.append("**Sent to a person for review:**")
        lines += [f"- {flag.reason}" for flag in outcome.flags]
    if not lines:
        return None
    cell = nbformat.v4.new_markdown_cell("### Grader's report\n\n" + "\n".join(lines))
    cell.metadata["tags"] = [REPORT_TAG]
    return cell


def write_autograded(folder: Path, outcome: SubmissionOutcome) -> None:
    for nb_outcome in outcome.notebooks:
        if nb_outcome.notebook is None:
            continue
        nb = nb_outcome.notebook
        note = report_cell(nb_outcome)
        if note is not None:
            nb.cells.insert(0, note)
        write_atomically(folder / f"{nb_outcome.name}.ipynb", nbformat.writes(nb).encode())
    write_atomically(folder / REPORT_FILE, json.dumps(outcome.report(), indent=2).encode())


def record_grades(db_url: str, outcome: SubmissionOutcome, timestamp=None) -> None:
    """All of a student's grades for the assignment in one commit, or none of them."""
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        # nbgrader's ORM code predates SQLAlchemy 2 and makes it warn while it autoflushes
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(outcome.student)
        gb.update_or_create_submission(outcome.assignment, outcome.student, timestamp=timestamp)
        try:
            for nb_outcome in outcome.notebooks:
                record_notebook(gb, outcome, nb_outcome)
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise


def record_notebook(gb: Gradebook, outcome: SubmissionOutcome, nb_outcome: NotebookOutcome) -> None:
    found = {s.grade_id: s for s in nb_outcome.scores}
    notebook = gb.find_notebook(nb_outcome.name, outcome.assignment)
    flagged = nb_outcome.flags_by_cell([cell.name for cell in notebook.grade_cells])
    for cell in notebook.grade_cells:
        grade = gb.find_grade(cell.name, nb_outcome.name, outcome.assignment, outcome.student)
        # A notebook that could not be graded at all scores 0 (nbgrader does the same for a
        # missing notebook); the failure says why, in the table, the report and the export.
        grade.auto_score = found[cell.name].auto_score if cell.name in found else 0.0
        grade.needs_manual_grade = (grade.manual_score is not None or grade.auto_score is None
                                    or cell.name in flagged)
    source_cells = {c.name for c in notebook.source_cells}
    cells = nb_outcome.notebook.cells if nb_outcome.notebook is not None else []
    last_answer = None
    notes: dict[str, list[str]] = {}
    for cell in cells:
        gid = grade_id(cell)
        if gid and is_answer(cell):
            last_answer = gid
        if gid in flagged:
            # Comments exist for answer cells only: a test's reasons go to the answer before it.
            target = gid if is_answer(cell) else last_answer
            if target:
                notes.setdefault(target, []).extend(f"[{gid}] {r}" if target != gid else r for r in flagged[gid])
    for cell in cells:
        gid = grade_id(cell)
        if not (gid and (is_answer(cell) or is_task(cell)) and gid in source_cells):
            continue
        comment = gb.find_comment(gid, nb_outcome.name, outcome.assignment, outcome.student)
        blank = checksum(cell) == compute_checksum(cell) and not is_task(cell)
        parts = (["No response."] if blank else []) + [f"Flagged by the autograder: {r}" for r in notes.get(gid, [])]
        comment.auto_comment = "\n".join(parts) or None
