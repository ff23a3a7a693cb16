"""The record stage, the only writer: a student's graded notebooks go to
autograded/ (where formgrader and nbgrader generate_feedback read them) and
their grades into nbgrader's gradebook, in one transaction per student; then
nbgrader's own AssignLatePenalties, as `nbgrader autograde` runs it after the
grades are saved.

What a person decided stands: a manual score is never touched, and a cell a
person graded is not sent back for review unless the tests now say something
different about it. A notebook the grader could not grade is recorded with no
score (auto_score None), never as 0."""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, SubmittedAssignment
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import compute_checksum
from sqlalchemy.exc import SAWarning

from ..cells import checksum, grade_id, is_answer, is_task
from ..files import write_atomically
from ..outcome import NotebookOutcome, SubmissionOutcome, Totals
from .inert import inert_markdown
from .sanitize import nbgrader_resources

REPORT_FILE = "autograder.json"  # beside the autograded notebooks: what the grader did
REPORT_TAG = "autograder-report"
FLAG_COMMENT_PREFIX = "Flagged by the autograder: "  # begins each flag line of a comment (feedback leaves them out)
# nbgrader's late-penalty messages ("... is 9000 seconds late") repeat what the table shows.
NBGRADER_LOG = logging.getLogger("autograder.nbgrader")
NBGRADER_LOG.setLevel(logging.ERROR)


def read_report(folder: Path) -> dict | None:
    """What the grader wrote about one submission (autograder.json in its autograded/ folder);
    None when it has none (graded by plain nbgrader, or not graded yet)."""
    path = folder / REPORT_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def report_cell(outcome: NotebookOutcome) -> nbformat.NotebookNode | None:
    """A note at the top of the graded notebook: what the grader repaired, flagged or could not run."""
    lines = []
    if outcome.ungraded:
        lines.append(f"**Not graded automatically:** {outcome.ungraded}. A person grades this notebook.")
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
    # reasons can quote what the student wrote: rendered in feedback and formgrader, so made inert
    cell = nbformat.v4.new_markdown_cell(inert_markdown("### Grader's report\n\n" + "\n".join(lines)))
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


class GradebookWriter:
    """The run's one writer to nbgrader's gradebook, used from one thread.

    nbgrader's Gradebook checks the database's whole schema each time one is opened, which
    cost as much as writing a student's grades; so one is kept open for the run, and opened
    again after any error (the failed student's transaction is rolled back with it)."""

    def __init__(self, db_url: str, config=None) -> None:
        self.db_url, self.config = db_url, config
        self._gradebook: Gradebook | None = None

    def record(self, outcome: SubmissionOutcome) -> Totals:
        """All of a student's grades for the assignment in one commit, or none of them; then the late
        penalty under the course's config; returns what the gradebook then holds."""
        with warnings.catch_warnings():
            # nbgrader's ORM code predates SQLAlchemy 2 and makes it warn while it autoflushes
            warnings.simplefilter("ignore", SAWarning)
            try:
                if self._gradebook is None:
                    self._gradebook = Gradebook(self.db_url)
                return self._record(self._gradebook, outcome)
            except Exception:
                self.close()
                raise

    def _record(self, gb: Gradebook, outcome: SubmissionOutcome) -> Totals:
        gb.update_or_create_student(outcome.student)
        when = {"timestamp": outcome.timestamp} if outcome.timestamp else {}  # as nbgrader: none keeps the last
        submission = gb.update_or_create_submission(outcome.assignment, outcome.student, **when)
        for nb_outcome in outcome.notebooks:
            record_notebook(gb, outcome, nb_outcome)
        # No penalty from a time nobody could read: a person decides. On time, nbgrader's
        # AssignLatePenalties would only clear the penalty: done here, in the same commit.
        late = not outcome.timestamp_problem and submission.total_seconds_late > 0
        if not late:
            for nb_outcome in outcome.notebooks:
                gb.find_submission_notebook(nb_outcome.name, outcome.assignment,
                                            outcome.student).late_submission_penalty = None
        gb.db.commit()
        if late:
            assign_late_penalties(self.db_url, outcome, self.config)
        totals = submission_totals(gb.find_submission(outcome.assignment, outcome.student))
        gb.db.commit()  # ends the read: the next student's rows are read afresh (a person may change them)
        return totals

    def close(self) -> None:
        if self._gradebook is not None:
            gradebook, self._gradebook = self._gradebook, None
            with contextlib.suppress(Exception):  # closing after an error: the database may be what failed
                gradebook.close()


def record_grades(db_url: str, outcome: SubmissionOutcome, config=None) -> Totals:
    """One student's grades, through a writer of its own (GradebookWriter.record)."""
    writer = GradebookWriter(db_url, config)
    try:
        return writer.record(outcome)
    finally:
        writer.close()


def assign_late_penalties(db_url: str, outcome: SubmissionOutcome, config=None) -> None:
    """nbgrader's AssignLatePenalties for each notebook, with the course's settings (penalty method, plugin)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        for nb_outcome in outcome.notebooks:
            resources = nbgrader_resources(db_url, outcome.assignment, nb_outcome.name, outcome.student)
            AssignLatePenalties(config=config, log=NBGRADER_LOG)(nbformat.v4.new_notebook(), resources)


def submission_totals(submission: SubmittedAssignment) -> Totals:
    """A submission's total the way nbgrader's export counts it (a person's score wins over the tests',
    the late penalty comes off, never below 0), or None while a test the grader could not run awaits a person."""
    grades, answers = [], set()
    for notebook in submission.notebooks:
        grades += notebook.grades
        answers |= {(notebook.name, cell.name) for cell in notebook.notebook.solution_cells}
    untested = any(g.auto_score is None and g.manual_score is None and (g.notebook.name, g.name) not in answers
                   for g in grades)
    penalty = submission.late_submission_penalty or 0.0
    score = None if untested else max(0.0, submission.score - penalty)
    return Totals(score, submission.max_score, penalty, sum(bool(g.needs_manual_grade) for g in grades))


def _needs_a_person(grade, auto_score: float | None, flagged: bool) -> bool:
    if grade.manual_score is not None:  # a person's grade stands unless the tests now say otherwise
        return auto_score != grade.auto_score
    return auto_score is None or flagged


def record_notebook(gb: Gradebook, outcome: SubmissionOutcome, nb_outcome: NotebookOutcome) -> None:
    found = {s.grade_id: s for s in nb_outcome.scores}
    notebook = gb.find_notebook(nb_outcome.name, outcome.assignment)
    flagged = nb_outcome.flags_by_cell([cell.name for cell in notebook.grade_cells])
    if nb_outcome.notebook is not None:  # graded, yet a cell of the gradebook has no result: never a silent 0
        for cell in notebook.grade_cells:
            if cell.name not in found and not nb_outcome.ungraded:
                flagged.setdefault(cell.name, []).append(
                    "the graded notebook has no result for this cell (is release/ older than source/? "
                    "run `nbgrader generate_assignment` again); grade it by hand")
    for cell in notebook.grade_cells:
        grade = gb.find_grade(cell.name, nb_outcome.name, outcome.assignment, outcome.student)
        # Not graded: no score, a person grades it. Nothing handed in: 0, as nbgrader gives a missing notebook.
        no_result = nb_outcome.notebook is not None and cell.name not in found
        auto = (None if nb_outcome.ungraded or no_result
                else found[cell.name].auto_score if cell.name in found else 0.0)
        grade.needs_manual_grade = _needs_a_person(grade, auto, cell.name in flagged)
        grade.auto_score = auto
    for gid, comment in _comments(nb_outcome, flagged, notebook).items():
        gb.find_comment(gid, nb_outcome.name, outcome.assignment, outcome.student).auto_comment = (
            inert_markdown(comment) if comment else None)
    if nb_outcome.flags or nb_outcome.ungraded:
        # formgrader's Flagged? column; never cleared here, so a person's own flag survives re-grading
        gb.find_submission_notebook(nb_outcome.name, outcome.assignment, outcome.student).flagged = True


def _comments(nb_outcome: NotebookOutcome, flagged: dict[str, list[str]], notebook) -> dict[str, str | None]:
    """Each answer cell's comment in formgrader: "No response." as nbgrader writes it, and the flags."""
    if nb_outcome.notebook is None:  # nothing to place reasons by: every answer cell says why
        reasons = [f"{FLAG_COMMENT_PREFIX}{r}" for r in nb_outcome.notebook_reasons]
        return {cell.name: "\n".join(reasons) or None for cell in notebook.solution_cells + notebook.task_cells}
    source_cells = {c.name for c in notebook.source_cells}
    last_answer = None
    notes: dict[str, list[str]] = {}
    for cell in nb_outcome.notebook.cells:
        gid = grade_id(cell)
        if gid and is_answer(cell):
            last_answer = gid
        if gid in flagged:
            # Comments exist for answer cells only: a test's reasons go to the answer before it.
            target = gid if is_answer(cell) else last_answer
            if target:
                notes.setdefault(target, []).extend(f"[{gid}] {r}" if target != gid else r for r in flagged[gid])
    comments = {}
    for cell in nb_outcome.notebook.cells:
        gid = grade_id(cell)
        if not (gid and (is_answer(cell) or is_task(cell)) and gid in source_cells):
            continue
        blank = checksum(cell) == compute_checksum(cell) and not is_task(cell)
        parts = (["No response."] if blank else []) + [f"{FLAG_COMMENT_PREFIX}{r}" for r in notes.get(gid, [])]
        comments[gid] = "\n".join(parts) or None
    return comments
