"""`autograder grade`: the pipeline for one assignment.

    read -> repair -> sanitize (+ scan) -> execute (sandbox) -> score -> record

`grade_notebook` runs the stages for one notebook, in that order, in one
place; its kernel's working folder holds what nbgrader autograde's holds: the
files the student handed in beside the notebooks, then the assignment's on top
(from release/, never source/), but where Autograde.exclude_overwriting keeps
the student's. Submissions go through it in parallel: one thread more than
`workers`, at most `workers` kernels at once, so that one hand-in's repair and
sanitize overlap the others' runs. Execute runs in a sandbox here or on a Dask
cluster (runners.py). Only the calling thread records, one student at a time and one
transaction each, so the gradebook has a single writer (SQLite never locks)
and is never half-written.

No student gets a 0 because the grader failed, and the batch always goes on:
a hand-in the student's code stopped is recorded with its reason (tests that
did not run score 0, as in nbgrader); one the grader could not grade goes to
a person with no score; one whose kernel did not start, or whose grades could
not be written, is not recorded at all (its earlier grades stand) and is
listed to be graded again. Before any hand-in, one kernel is started and runs
a line, so that settings no kernel can work with touch nothing.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from ..coursedir import Course, CourseError, UnreadableTimestamp, copy_release_files
from ..files import give_to_course_owner
from ..handin import UnreadableNotebook, read_submission
from ..outcome import Flag, NotebookOutcome, SubmissionOutcome
from ..sandbox import HandInTooLarge, SandboxSettings, kernel_source, read_files
from ..sandbox.kernels import KERNEL_LANGUAGE, KERNEL_NAME
from ..sandbox.warm import WarmKernels
from .execute import Timeouts
from .preload import imported_modules
from .present import present
from .record import GradebookWriter, record_grades, write_autograded
from .repair import repair_submission
from .runners import AtMost, DaskRunner, LocalRunner, Runner
from .sanitize import foreign_kernel, nbgrader_resources, sanitize, scan_flags
from .score import score

log = logging.getLogger(__name__)


@dataclass
class GradeOptions:
    students: list[str] = field(default_factory=list)  # empty: everyone in submitted/
    timeouts: Timeouts = field(default_factory=Timeouts)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    workers: int | None = None  # submissions at once; None: cores that fit in memory (or the cluster's threads)
    dask: str | None = None  # scheduler address: execute on that Dask cluster
    kernels_ahead: WarmKernels | None = None  # started before the grader loaded (sandbox/ahead.py): used if it fits


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
        # The file may be the student's doing, but only a person can tell what they handed in.
        outcome.ungraded = f"{template_path.name} could not be read: {error}"
        return outcome

    repaired = repair_submission(submitted, nbformat.read(template_path, as_version=4))
    outcome.repairs = [r.detail for r in repaired.repairs]
    outcome.flags += repaired.flags

    resources = nbgrader_resources(course.db_url, assignment, name, student)
    nb = sanitize(repaired.notebook, course.config, resources)
    outcome.ungraded = foreign_kernel(nb)
    if outcome.ungraded:
        outcome.notebook = nb  # unrun, for the person who grades it in formgrader
        return outcome
    outcome.flags += scan_flags(nb)

    folder = course.path("submitted", student, assignment)
    try:  # the student's module or data beside the notebook, as nbgrader autograde gives them to the kernel
        files = read_files(course.handed_in_files(student, assignment), runner.room)
        execution = runner.run(nb, files)
    except HandInTooLarge as error:
        outcome.ungraded = (f"{error}: grade it by hand in formgrader, or take what the notebook does not need "
                            f"out of {folder} and grade {student} again")
        outcome.notebook = nb  # unrun, for the person who grades it in formgrader
        return outcome
    outcome.seconds, outcome.peak_memory = execution.seconds, execution.peak_memory
    if not execution.started:
        outcome.regrade = execution.failure
        return outcome
    outcome.failure = execution.failure
    outcome.flags += execution.flags
    outcome.notebook, outcome.scores = score(execution.notebook, course.config, resources)
    for note in present(outcome.notebook):  # student HTML inert, size bounded: what people will open
        log.info("%s's %s: %s", student, name, note)
    return outcome


def grade_submission(course: Course, assignment: str, student: str, templates: list[Path],
                     runner: Runner) -> SubmissionOutcome:
    notebooks = []
    for template in templates:
        try:
            notebooks.append(grade_notebook(course, assignment, student, template, runner))
        except Exception as error:
            log.debug("grading %s's %s failed", student, template.name, exc_info=True)  # for a bug report
            notebooks.append(NotebookOutcome(template.stem, None, ungraded=f"the grader could not grade it: "
                                             f"{type(error).__name__}: {error}"))
    outcome = SubmissionOutcome(student, assignment, notebooks)
    try:
        outcome.timestamp = course.timestamp(student, assignment)
    except UnreadableTimestamp as error:
        outcome.timestamp_problem = str(error)
        for notebook in notebooks:  # so that formgrader shows it where the grades are
            notebook.flags.append(Flag(None, str(error)))
    return outcome


def record(course: Course, outcome: SubmissionOutcome, writer: GradebookWriter | None = None) -> None:
    """autograded/ files, then the gradebook (one transaction), then nbgrader's late penalty;
    through the run's `writer`, or one of its own."""
    folder = course.path("autograded", outcome.student, outcome.assignment)
    write_autograded(folder, outcome)
    give_to_course_owner(folder, course.root)  # after sudo: the instructor's files, not root's
    outcome.totals = (writer.record(outcome) if writer is not None
                      else record_grades(course.db_url, outcome, course.config))
    if course.db_url.startswith("sqlite:///"):
        give_to_course_owner(Path(course.db_url.removeprefix("sqlite:///")), course.root)


def record_or_say_why(course: Course, outcome: SubmissionOutcome, writer: GradebookWriter | None = None) -> None:
    """Record a graded hand-in; one that could not be graded or written keeps its earlier grades."""
    if outcome.grade_again:
        return  # no student code ran: its earlier grades are truer than none
    try:
        record(course, outcome, writer)
    except Exception as error:  # one student's files or rows; the others are still recorded
        log.debug("recording %s's grades failed", outcome.student, exc_info=True)  # for a bug report
        outcome.record_error = f"its grades could not be recorded ({type(error).__name__}: {error})"


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


class KernelsUnavailable(ValueError):
    """No kernel could start and run a line with the run's settings: nothing was graded or recorded."""


TRIAL_ATTEMPTS = 2  # a kernel start can fail once by bad luck (a busy host); twice is the settings


def check_kernels(runner: Runner, options: GradeOptions) -> None:
    """Start one kernel the way every hand-in's will start, and run one line in it, before any
    hand-in is touched: settings no kernel can work with stop the run here, with nothing recorded."""
    failure = None
    for _ in range(TRIAL_ATTEMPTS):
        trial = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")], metadata={
            "kernelspec": {"name": KERNEL_NAME, "display_name": "Python 3", "language": KERNEL_LANGUAGE}})
        execution = runner.run(trial)
        failure = execution.failure or (None if execution.started else "it did not start")
        if failure is None:
            return
    raise KernelsUnavailable(
        f"no kernel could start and run one line with these settings (memory limit "
        f"{options.sandbox.limits.memory_bytes >> 20} MiB, {options.timeouts.cell} s a cell): {failure}. "
        "Nothing was graded or recorded. Raise the limit (--memory, --timeout) or check the sandbox, "
        "and run the command again."
    )


def _ahead(options: GradeOptions) -> WarmKernels | None:
    """The warm sandbox started ahead, if it is what these options ask for and it started."""
    ahead, settings = options.kernels_ahead, options.sandbox
    if ahead is None:
        return None
    if (settings.enabled and settings.warm and not options.dask and ahead.limits == settings.limits
            and ahead.preload == settings.preload and ahead.ready()):
        return ahead
    ahead.close()
    return None


def _runner(options: GradeOptions, release: Path, scratch: Path, exclude: list[str], templates: list[Path]) -> Runner:
    # what the assignment imports, loaded once by a warm sandbox (from the release: never what a student wrote)
    options = replace(options, sandbox=replace(options.sandbox, preload=imported_modules(templates, release)))
    ahead = _ahead(options)
    if ahead is not None:  # its data folder is bound in its sandbox, empty until now
        copy_release_files(release, ahead.data_dir, exclude)
        return LocalRunner(ahead, options.timeouts, options.sandbox.limits.disk_bytes)
    data_dir = copy_release_files(release, scratch, exclude)
    if options.dask:
        return DaskRunner(options.dask, options.timeouts, options.sandbox, data_dir)
    return LocalRunner(kernel_source(options.sandbox, data_dir), options.timeouts, options.sandbox.limits.disk_bytes)


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
    release = course.path("release", ".", assignment)
    with tempfile.TemporaryDirectory(prefix="autograder-data-") as scratch, \
            _runner(options, release, Path(scratch), course.exclude_overwriting(assignment), templates) as runner:
        check_kernels(runner, options)
        workers = max(1, options.workers or runner.workers(options.sandbox.limits))
        if on_start:
            on_start(f"{runner.note}; {workers} at a time", len(students))
        # one thread more than kernels: a hand-in's own stages overlap the others' runs
        pool = ThreadPoolExecutor(workers + 1, thread_name_prefix="grade")
        limited = AtMost(runner, workers)
        writer = GradebookWriter(course.db_url, course.config)
        try:
            futures = [pool.submit(grade_submission, course, assignment, s, templates, limited) for s in students]
            for future in as_completed(futures):
                outcome = future.result()
                with _interrupts_deferred():
                    record_or_say_why(course, outcome, writer)  # here only: one writer
                outcomes.append(outcome)
                if on_done:
                    try:
                        on_done(outcome)
                    except Exception:  # the progress line (a closed pipe, say) never stops grading
                        log.debug("reporting progress failed", exc_info=True)
        finally:
            # On Ctrl-C or a gradebook error: drop what has not started, and let
            # the closing runner kill the kernels of what has.
            pool.shutdown(wait=False, cancel_futures=True)
            writer.close()
    return sorted(outcomes, key=lambda o: students.index(o.student))
