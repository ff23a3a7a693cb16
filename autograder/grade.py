"""`autograder grade`: the pipeline for one assignment, submission by submission.

    repair -> sanitize -> execute (sandbox) -> score -> record

Everything but execute runs here, in the trusted parent, and only here is
the gradebook written. A submission that fails is recorded with its reason
and the batch goes on.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from .coursedir import Course, CourseError
from .execute import ExecuteOptions, execute_notebook
from .record import NotebookOutcome, SubmissionOutcome, record_grades, write_autograded
from .repair import UnreadableNotebook, read_submission, repair_submission
from .sanitize import nbgrader_resources, sanitize, scan_flags
from .score import score


@dataclass
class GradeOptions:
    students: list[str] = field(default_factory=list)  # empty: everyone in submitted/
    execute: ExecuteOptions = field(default_factory=ExecuteOptions)


def submitted_students(course: Course, assignment: str) -> list[str]:
    root = Path(course.dirs.format_path(course.dirs.submitted_directory, ".", "."))
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


def _merge(flags: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for key, reasons in more.items():
        flags.setdefault(key, []).extend(reasons)


def grade_notebook(course: Course, assignment: str, student: str, template_path: Path,
                   data_dir: Path | None, options: ExecuteOptions) -> NotebookOutcome:
    name = template_path.stem
    outcome = NotebookOutcome(name, None)
    path = course.path("submitted", student, assignment) / template_path.name
    if not path.is_file():
        outcome.failure = f"no {template_path.name} was handed in"
        return outcome
    try:
        submitted = read_submission(path)
    except UnreadableNotebook as error:
        outcome.failure = f"{template_path.name} could not be read: {error}"
        return outcome

    repaired = repair_submission(submitted, nbformat.read(template_path, as_version=4))
    outcome.repairs = [r.detail for r in repaired.repairs]
    for flag in repaired.flags:
        outcome.flags.setdefault(flag.grade_id or "", []).append(flag.reason)

    resources = nbgrader_resources(course.db_url, assignment, name, student)
    nb = sanitize(repaired.notebook, course.config, resources)
    _merge(outcome.flags, scan_flags(nb))

    execution = execute_notebook(nb, replace(options, data_dir=data_dir))
    outcome.failure, outcome.seconds = execution.failure, execution.seconds
    _merge(outcome.flags, execution.flags)
    outcome.notebook, outcome.scores = score(execution.notebook, course.config, resources)
    return outcome


def _data_files(course: Course, assignment: str, scratch: Path) -> Path | None:
    """The assignment's files besides notebooks, from the release (never from source/, which has solutions)."""
    release = course.path("release", ".", assignment)
    files = [p for p in release.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    if not files:
        return None
    for path in files:
        dest = scratch / path.relative_to(release)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return scratch


def grade_submission(course: Course, assignment: str, student: str, templates: list[Path],
                     data_dir: Path | None, options: ExecuteOptions) -> SubmissionOutcome:
    notebooks = []
    for template in templates:
        try:
            notebooks.append(grade_notebook(course, assignment, student, template, data_dir, options))
        except Exception as error:  # noqa: BLE001 - one bad hand-in must not stop the batch
            notebooks.append(NotebookOutcome(template.stem, None, failure=f"the grader could not grade it: "
                                             f"{type(error).__name__}: {error}"))
    return SubmissionOutcome(student, assignment, notebooks)


def record(course: Course, outcome: SubmissionOutcome) -> None:
    folder = course.path("autograded", outcome.student, outcome.assignment)
    write_autograded(folder, outcome)
    submitted = course.path("submitted", outcome.student, outcome.assignment)
    record_grades(course.db_url, outcome, course.dirs.get_existing_timestamp(str(submitted)))


def grade_assignment(course: Course, assignment: str, options: GradeOptions,
                     on_done: Callable[[SubmissionOutcome, int, int], None] | None = None) -> list[SubmissionOutcome]:
    course.check_assignment(assignment)
    templates = course.release_notebooks(assignment)
    students = options.students or submitted_students(course, assignment)
    missing = [s for s in students if not course.path("submitted", s, assignment).is_dir()]
    if missing:
        raise CourseError(f"no hand-in of {assignment} for {', '.join(missing)} in "
                          f"{course.path('submitted', '*', assignment)}: collect it first")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="autograder-data-") as scratch:
        data_dir = _data_files(course, assignment, Path(scratch))
        for index, student in enumerate(students):
            outcome = grade_submission(course, assignment, student, templates, data_dir, options.execute)
            record(course, outcome)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome, index + 1, len(students))
    return outcomes


class Progress:
    """One line on stderr: done, failed, flagged, and an estimate of the time left."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.failed = self.flagged = 0

    def __call__(self, outcome: SubmissionOutcome, done: int, total: int) -> None:
        self.failed += bool(outcome.failures)
        self.flagged += bool(outcome.flags)
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (total - done)
        width = 24
        bar = "#" * int(width * done / total) + "-" * (width - int(width * done / total))
        end = "\n" if done == total else ""
        self.stream.write(f"\r[{bar}] {done}/{total} graded, {self.failed} failed, {self.flagged} flagged, "
                          f"{_duration(left)} left {end}")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def table(outcomes: list[SubmissionOutcome]) -> str:
    rows = [("student", "score", "max", "repairs", "flags", "failures")]
    for o in outcomes:
        rows.append((o.student, f"{o.score:g}", f"{o.max_score:g}", str(len(o.repairs)), str(len(o.flags)),
                     "; ".join(o.failures) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5] for r in rows)
