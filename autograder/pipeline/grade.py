"""`autograder grade`: the pipeline for one assignment.

    read -> repair -> sanitize (+ scan) -> execute (sandbox) -> score -> record

`grade_notebook` runs the stages for one notebook, in that order, in one
place. Submissions go through it in parallel (`workers` threads, each waiting
on its kernel); execute runs in a sandbox here or on a Dask cluster
(runners.py). Only the calling thread records, one student at a time and one
transaction each, so the gradebook has a single writer (SQLite never locks)
and is never half-written. A submission that fails is recorded with its
reason and the batch goes on.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..coursedir import Course, CourseError
from ..handin import UnreadableNotebook, read_submission
from ..outcome import NotebookOutcome, SubmissionOutcome
from ..sandbox import SandboxSettings, kernel_source
from .execute import Timeouts
from .record import record_grades, write_autograded
from .repair import repair_submission
from .runners import DaskRunner, LocalRunner, Runner
from .sanitize import nbgrader_resources, sanitize, scan_flags
from .score import score

log = logging.getLogger(__name__)


@dataclass
class GradeOptions:
    students: list[str] = field(default_factory=list)  # empty: everyone in submitted/
    timeouts: Timeouts = field(default_factory=Timeouts)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    workers: int | None = None  # submissions at once; None: cores that fit in memory (or the cluster's threads)
    dask: str | None = None  # scheduler address: execute on that Dask cluster


def submitted_students(course: Course, assignment: str) -> list[str]:
    root = Path(course.dirs.format_path(course.dirs.submitted_directory, ".", "."))
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


def grade_notebook(course: Course, assignment: str, student: str, template_path: Path,
                   runner: Runner) -> NotebookOutcome:
    """Every stage but record, for one handed-in notebook."""
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
    outcome.flags += repaired.flags

    resources = nbgrader_resources(course.db_url, assignment, name, student)
    nb = sanitize(repaired.notebook, course.config, resources)
    outcome.flags += scan_flags(nb)

    execution = runner.run(nb)
    outcome.failure, outcome.seconds = execution.failure, execution.seconds
    outcome.flags += execution.flags
    outcome.notebook, outcome.scores = score(execution.notebook, course.config, resources)
    return outcome


def grade_submission(course: Course, assignment: str, student: str, templates: list[Path],
                     runner: Runner) -> SubmissionOutcome:
    notebooks = []
    for template in templates:
        try:
            notebooks.append(grade_notebook(course, assignment, student, template, runner))
        except Exception as error:
            log.exception("grading %s's %s failed", student, template.name)
            notebooks.append(NotebookOutcome(template.stem, None, failure=f"the grader could not grade it: "
                                             f"{type(error).__name__}: {error}"))
    return SubmissionOutcome(student, assignment, notebooks)


def record(course: Course, outcome: SubmissionOutcome) -> None:
    folder = course.path("autograded", outcome.student, outcome.assignment)
    write_autograded(folder, outcome)
    submitted = course.path("submitted", outcome.student, outcome.assignment)
    record_grades(course.db_url, outcome, course.dirs.get_existing_timestamp(str(submitted)))


@contextlib.contextmanager
def _interrupts_deferred():
    """Ctrl-C waits until the student's files and grades are all written."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield  # not ours to change: a handler of the caller's, or SIGINT ignored (as in `cmd &`)
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


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


def _runner(options: GradeOptions, data_dir: Path | None) -> Runner:
    if options.dask:
        return DaskRunner(options.dask, options.timeouts, options.sandbox, data_dir)
    return LocalRunner(kernel_source(options.sandbox, data_dir), options.timeouts)


def grade_assignment(course: Course, assignment: str, options: GradeOptions,
                     on_done: Callable[[SubmissionOutcome], None] | None = None,
                     on_start: Callable[[str, int], None] | None = None) -> list[SubmissionOutcome]:
    course.check_assignment(assignment)
    templates = course.release_notebooks(assignment)
    students = options.students or submitted_students(course, assignment)
    missing = [s for s in students if not course.path("submitted", s, assignment).is_dir()]
    if missing:
        raise CourseError(f"no hand-in of {assignment} for {', '.join(missing)} in "
                          f"{course.path('submitted', '*', assignment)}: collect it first")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="autograder-data-") as scratch, \
            _runner(options, _data_files(course, assignment, Path(scratch))) as runner:
        workers = options.workers or runner.workers(options.sandbox.limits)
        if on_start:
            on_start(f"{runner.note}; {workers} at a time", len(students))
        pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="grade")
        try:
            futures = [pool.submit(grade_submission, course, assignment, s, templates, runner) for s in students]
            for future in as_completed(futures):
                outcome = future.result()
                with _interrupts_deferred():
                    record(course, outcome)  # here only: one writer
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
        finally:
            # On Ctrl-C or a gradebook error: drop what has not started, and let
            # the closing runner kill the kernels of what has.
            pool.shutdown(wait=False, cancel_futures=True)
    return sorted(outcomes, key=lambda o: students.index(o.student))
