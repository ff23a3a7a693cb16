"""What a course set up for the autograder tells nbgrader (its nbgrader_config.py
names these classes), so that `nbgrader autograde` and formgrader's Autograde
button keep the grader's promises:

- SandboxedExecute runs the student's code in the autograder's sandbox (a cold
  bubblewrap kernel, as `autograder grade --cold` does), with the guard around
  the tests and the files the student handed in beside the notebook, in place
  of nbgrader's Execute, which runs it with your rights;
- SaveFlags tells a person, in the gradebook, what that run flagged (formgrader's
  "Flagged?" column and "needs manual grade");
- Present makes the graded notebook inert and bounded before it is written;
- GuardedExporter refuses, before nbgrader removes anything, to autograde a
  submission that `autograder grade` graded: nbgrader would replace its repairs,
  flags and autograder.json with a run that has none of them.

Not for: grading (pipeline/ does that, and `autograder grade` is the way to
grade); nbgrader's other commands are left as they are.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from .coursedir import Course, copy_release_files
from .outcome import NotebookOutcome
from .pipeline.execute import Timeouts, execute_notebook
from .pipeline.present import present
from .pipeline.record import REPORT_FILE, report_cell
from .pipeline.sanitize import scan_flags
from .sandbox import HandInTooLarge, Limits, SandboxSettings, SandboxUnavailable, kernel_source, read_files

FLAGS = "autograder_flags"  # where SandboxedExecute leaves its flags in nbconvert's resources for SaveFlags


class SandboxedExecute(Execute):
    """nbgrader's Execute step, run in the autograder's sandbox. It reads Execute's settings
    (the course's Execute.timeout is the time a cell may run)."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        flags = scan_flags(nb)
        cell = self.timeout if isinstance(self.timeout, int) and self.timeout >= 1 else Timeouts.total
        dirs = CourseDirectory(config=self.config)  # its root is where nbgrader runs the command
        course = Course(Path(dirs.root), self.config, dirs)
        release = course.path("release", ".", ids["assignment"])
        kept = course.exclude_overwriting(ids["assignment"])
        with tempfile.TemporaryDirectory(prefix="autograder-data-") as scratch:
            try:
                kernels = kernel_source(SandboxSettings(warm=False), copy_release_files(release, Path(scratch), kept))
            except SandboxUnavailable as error:
                raise NbGraderException(
                    f"{ids['student']}'s {ids['notebook']} was not run: this course runs student code only in "
                    f"the autograder's sandbox, and there is none here ({error})") from None
            try:
                files = read_files(course.handed_in_files(ids["student"], ids["assignment"]), Limits.disk_bytes)
                execution = execute_notebook(nb, kernels, Timeouts(cell=cell, total=max(cell, Timeouts.total)), files)
            except HandInTooLarge as error:
                raise NbGraderException(f"{ids['student']}'s {ids['notebook']} was not run: {error}. Grade it by "
                                        "hand in formgrader") from None
            finally:
                kernels.close()
        if not execution.started:
            raise NbGraderException(f"{ids['student']}'s {ids['notebook']} was not graded: {execution.failure}. "
                                    "No student code ran; autograde it again")
        flags += execution.flags
        note = report_cell(NotebookOutcome(ids["notebook"], None, flags=flags, failure=execution.failure))
        if note is not None:
            execution.notebook.cells.insert(0, note)
        resources[FLAGS] = flags
        return execution.notebook, resources


class SaveFlags(NbGraderPreprocessor):
    """After nbgrader's SaveAutoGrades: every flagged cell needs a person, and so does the notebook."""

    def preprocess(self, nb, resources):
        flags = resources.get(FLAGS) or []
        if not flags:
            return nb, resources
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gb:
            notebook = gb.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"])
            concerned = {f.grade_id for f in flags}
            for grade in notebook.grades:
                if None in concerned or grade.name in concerned:
                    grade.needs_manual_grade = True
            notebook.flagged = True
            gb.db.commit()
        for flag in flags:
            self.log.warning("flagged for a person: %s: %s", ids["student"], flag.sentence(ids["notebook"]))
        return nb, resources


class Present(NbGraderPreprocessor):
    """The graded notebook made inert and bounded, as `autograder grade` writes it."""

    def preprocess(self, nb, resources):
        for note in present(nb):
            self.log.info("%s: %s", resources["nbgrader"]["student"], note)
        return nb, resources


def graded_by_autograder(coursedir: CourseDirectory, submitted_folders) -> list[tuple[str, str]]:
    """(student, assignment) of the folders about to be autograded whose autograded/ folder holds
    what `autograder grade` recorded; students the command leaves out are not counted."""
    pattern = coursedir.format_path(coursedir.submitted_directory, "(?P<student>.*)", "(?P<assignment>.*)",
                                    escape=True)
    excluded = set(filter(None, coursedir.student_id_exclude.split(",")))
    found = []
    for folder in submitted_folders:
        match = re.match(pattern, os.path.abspath(folder))
        if match is None or match["student"] in excluded:
            continue
        graded = Path(coursedir.format_path(coursedir.autograded_directory, match["student"], match["assignment"]))
        if (graded / REPORT_FILE).is_file():
            found.append((match["student"], match["assignment"]))
    return sorted(found)


def refusal(found: list[tuple[str, str]]) -> str:
    students = sorted({s for s, _ in found})
    assignments = sorted({a for _, a in found})
    options = " ".join(f"--student {s}" for s in students)
    return (f"nbgrader autograde was stopped before it changed anything: `autograder grade` graded "
            f"{', '.join(students)} ({', '.join(assignments)}), and nbgrader would replace its repairs, flags "
            f"and autograder.json. Grade them again with `autograder grade {assignments[0]} {options}`, or "
            f"leave them out: --CourseDirectory.student_id_exclude={','.join(students)}")


class GuardedExporter(NotebookExporter):
    """nbgrader's exporter for autograde; made as the command starts, before anything is removed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        converter = self.parent
        coursedir = getattr(converter, "coursedir", None)
        if coursedir is not None:
            found = graded_by_autograder(coursedir, list(getattr(converter, "assignments", {})))
            if found:
                message = refusal(found)
                converter.log.error(message)
                raise NbGraderException(message)

