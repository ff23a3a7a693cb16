"""`autograder grade`: the pipeline for one assignment.

    repair -> sanitize -> execute (sandbox) -> score -> record

Submissions go through repair, execute and score in parallel (`workers`
threads, each waiting on its kernel); execute runs in a sandbox here or on a
Dask cluster (runners.py). Only the calling thread records, one student at a
time and one transaction each, so the gradebook has a single writer (SQLite
never locks) and is never half-written. A submission that fails is recorded
with its reason and the batch goes on.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from ..coursedir import Course, CourseError
from ..handin import UnreadableNotebook, read_submission
from .execute import ExecuteOptions
from .record import NotebookOutcome, SubmissionOutcome, record_grades, write_autograded
from .repair import repair_submission
from .runners import DaskRunner, LocalRunner, default_workers
from .sanitize import nbgrader_resources, sanitize, scan_flags
from .score import score


@dataclass
class GradeOptions:
    students: list[str] = field(default_factory=list)  # empty: everyone in submitted/
    execute: ExecuteOptions = field(default_factory=ExecuteOptions)
    workers: int | None = None  # submissions at once; None: cores that fit in memory (or the cluster's threads)
    warm: bool = True  # fork kernels from a warm sandbox
    dask: str | None = None  # scheduler address: execute on that Dask cluster


def submitted_students(course: Course, assignment: str) -> list[str]:
    root = Path(course.dirs.format_path(course.dirs.submitted_directory, ".", "."))
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


def _merge(flags: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for key, reasons in more.items():
        flags.setdefault(key, []).extend(reasons)


def grade_notebook(course: Course, assignment: str, student: str, template_path: Path,
                   runner: LocalRunner | DaskRunner) -> NotebookOutcome:
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

    execution = runner.run(nb)
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
                     runner: LocalRunner | DaskRunner) -> SubmissionOutcome:
    notebooks = []
    for template in templates:
        try:
            notebooks.append(grade_notebook(course, assignment, student, template, runner))
        except Exception as error:  # noqa: BLE001 - one bad hand-in must not stop the batch
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


def _runner(options: GradeOptions, data_dir: Path | None) -> LocalRunner | DaskRunner:
    execute = replace(options.execute, data_dir=data_dir)
    return DaskRunner(options.dask, execute) if options.dask else LocalRunner(execute, options.warm)


def grade_assignment(course: Course, assignment: str, options: GradeOptions,
                     on_done: Callable[[SubmissionOutcome, int, int], None] | None = None,
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
        workers = options.workers or (runner.threads if isinstance(runner, DaskRunner)
                                      else default_workers(options.execute.limits.memory_bytes))
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
                    on_done(outcome, len(outcomes), len(students))
        finally:
            # On Ctrl-C or a gradebook error: drop what has not started, and let
            # the closing runner kill the kernels of what has.
            pool.shutdown(wait=False, cancel_futures=True)
    return sorted(outcomes, key=lambda o: students.index(o.student))


class Progress:
    """One line on stderr: done, failed, flagged, and an estimate of the time left."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.failed = self.flagged = self.done = 0

    def start(self, how: str, total: int) -> None:
        self.started = time.monotonic()
        self.stream.write(f"grading {total} submissions ({how})\n")
        self.stream.flush()

    def __call__(self, outcome: SubmissionOutcome, done: int, total: int) -> None:
        self.done = done
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
