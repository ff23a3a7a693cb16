"""The record stage, the only writer: a student's graded notebooks go to
autograded/ (where formgrader and nbgrader generate_feedback read them) and
their grades into nbgrader's gradebook, in one transaction per student."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum, is_solution
from sqlalchemy.exc import SAWarning

from ..files import write_atomically
from .score import CellScore

REPORT_FILE = "autograder.json"  # beside the autograded notebooks: what the grader did
REPORT_TAG = "autograder-report"


@dataclass
class NotebookOutcome:
    name: str  # notebook name without .ipynb, as in the gradebook
    notebook: nbformat.NotebookNode | None  # graded notebook; None when nothing could be graded
    scores: list[CellScore] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)  # grade_id ("" = whole notebook) -> reasons
    failure: str | None = None
    seconds: float = 0.0


@dataclass
class SubmissionOutcome:
    student: str
    assignment: str
    notebooks: list[NotebookOutcome]

    @property
    def score(self) -> float:
        return sum(s.auto_score or 0 for nb in self.notebooks for s in nb.scores)

    @property
    def max_score(self) -> float:
        return sum(s.max_score for nb in self.notebooks for s in nb.scores)

    @property
    def repairs(self) -> list[str]:
        return [f"{nb.name}: {r}" for nb in self.notebooks for r in nb.repairs]

    @property
    def flags(self) -> list[str]:
        return [f"{nb.name}{':' + gid if gid else ''}: {reason}"
                for nb in self.notebooks for gid, reasons in nb.flags.items() for reason in reasons]

    @property
    def failures(self) -> list[str]:
        return [f"{nb.name}: {nb.failure}" for nb in self.notebooks if nb.failure]

    def report(self) -> dict:
        return {
            "student": self.student, "assignment": self.assignment,
            "score": self.score, "max_score": self.max_score,
            "repairs": self.repairs, "flags": self.flags, "failures": self.failures,
            "notebooks": [{k: v for k, v in asdict(nb).items() if k != "notebook"} for nb in self.notebooks],
        }


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
        lines += [f"- {reason}" for reasons in outcome.flags.values() for reason in reasons]
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


def _affected(nb_outcome: NotebookOutcome, gradebook_notebook) -> dict[str, list[str]]:
    """Flags per grade cell; a whole-notebook flag concerns every grade cell."""
    every = nb_outcome.flags.get("", [])
    names = [cell.name for cell in gradebook_notebook.grade_cells]
    return {name: every + nb_outcome.flags.get(name, []) for name in names if every or name in nb_outcome.flags}


def record_grades(db_url: str, outcome: SubmissionOutcome, timestamp=None) -> None:
    """All of a student's grades for the assignment in one commit, or none of them."""
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        # nbgrader's ORM code predates SQLAlchemy 2 and makes it warn while it autoflushes
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(outcome.student)
        gb.update_or_create_submission(outcome.assignment, outcome.student, timestamp=timestamp)
        try:
            for nb_outcome in outcome.notebooks:
                _record_notebook(gb, outcome, nb_outcome)
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise


def _record_notebook(gb: Gradebook, outcome: SubmissionOutcome, nb_outcome: NotebookOutcome) -> None:
    found = {s.grade_id: s for s in nb_outcome.scores}
    notebook = gb.find_notebook(nb_outcome.name, outcome.assignment)
    flagged = _affected(nb_outcome, notebook)
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
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid and is_solution(cell):
            last_answer = gid
        if gid in flagged:
            # Comments exist for answer cells only: a test's reasons go to the answer before it.
            target = gid if is_solution(cell) else last_answer
            if target:
                notes.setdefault(target, []).extend(f"[{gid}] {r}" if target != gid else r for r in flagged[gid])
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if not (gid and (is_solution(cell) or meta.get("task")) and gid in source_cells):
            continue
        comment = gb.find_comment(gid, nb_outcome.name, outcome.assignment, outcome.student)
        blank = meta.get("checksum") == compute_checksum(cell) and not meta.get("task")
        parts = (["No response."] if blank else []) + [f"Flagged by the autograder: {r}" for r in notes.get(gid, [])]
        comment.auto_comment = "\n".join(parts) or None
