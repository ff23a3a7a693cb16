"""What a student sees in nbgrader's feedback, as nbgrader's GenerateFeedback
preprocessors (the course's nbgrader_config.py names them, so that formgrader's
"Generate feedback" button and `autograder feedback` give the same page):

- StudentView, after nbgrader's GetGrades: the hidden tests' source becomes one
  line saying hidden checks ran; a failing check shows its message (exception
  type and message), not its traceback, which quotes the test's source; the
  grader's report keeps its repairs and turns flags into one neutral sentence;
  "Flagged by the autograder" lines leave the comments. Its options
  (`show_hidden_tests`, `show_flags`) show instructors more.
- LeaveOutGraderFiles: the grader's own files (autograder.json), which
  nbgrader copies from autograded/ with every other file, leave feedback/.

Not for: rendering (nbgrader's feedback template does it) nor scores (GetGrades
reads them from the gradebook); the LMS zip is output/feedback.py's.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool
from traitlets.config import Config

from .cells import is_answer, is_test, nbgrader_metadata
from .outcome import NotebookOutcome
from .pipeline.record import FLAG_COMMENT_PREFIX, REPORT_FILE, REPORT_TAG, read_report, report_cell

GRADER_FILES = (REPORT_FILE,)  # beside the graded notebooks: the instructor's, never the student's
HIDDEN_CHECKS_NOTE = "# Hidden checks ran here; their code is not shown."
UNDER_REVIEW = "Part of this notebook is being checked by a person; your grade may change."
REPORT_HEADING = "### Grader's report"
# Sections of the grader's report a student may read as written (record.report_cell's wording);
# anything else in a report read from the notebook alone is left out.
STUDENT_SECTIONS = ("**Not graded automatically:**", "**The run stopped early:**", "**Repaired before grading**")


class StudentView(Preprocessor):
    """The graded notebook as its student should read it (see the module's docstring)."""

    enabled = Bool(True).tag(config=True)  # nbgrader registers preprocessors as they are
    show_hidden_tests = Bool(False, help="Show hidden tests' source and failing checks' tracebacks").tag(config=True)
    show_flags = Bool(False, help="Show the grader's flags with their reasons, as formgrader does").tag(config=True)

    def preprocess(self, nb, resources):
        # the course's own BEGIN/END HIDDEN TESTS markers (its section only: the rest is not its business)
        course_delimiters = ClearHiddenTests(config=Config(ClearHiddenTests=self.config.ClearHiddenTests))
        begin, end = course_delimiters.begin_test_delimeter, course_delimiters.end_test_delimeter
        for cell in nb.cells:
            if not self.show_flags:
                if REPORT_TAG in cell.get("metadata", {}).get("tags", []):
                    cell.source = student_report(cell.source, notebook_report(resources))
                meta = nbgrader_metadata(cell)
                if meta.get("comment"):  # GetGrades put the gradebook's comment here
                    meta["comment"] = without_flags(meta["comment"])
            if self.show_hidden_tests or cell.cell_type != "code" or is_answer(cell):
                continue
            cell.source, hidden = hide_hidden_tests(cell.source, begin, end)
            if hidden or is_test(cell):
                cell.outputs = [message_only(output, hidden) for output in cell.get("outputs", [])]
        return nb, resources


class LeaveOutGraderFiles(Preprocessor):
    """Removes the grader's files from the student's feedback folder, which nbgrader filled before
    converting the notebooks (its converter is this preprocessor's exporter's parent)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None)
        if coursedir is not None:
            ids = resources["nbgrader"]
            remove_grader_files(Path(coursedir.format_path(coursedir.feedback_directory, ids["student"],
                                                           ids["assignment"])))
        else:
            self.log.warning("the feedback folder is not known here: check it holds no %s", ", ".join(GRADER_FILES))
        return nb, resources


def remove_grader_files(folder: Path) -> list[Path]:
    """Remove the grader's files from one student's feedback folder; what was removed."""
    removed = []
    for name in GRADER_FILES:
        path = folder / name
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def hide_hidden_tests(source: str, begin: str, end: str) -> tuple[str, list[str]]:
    """The source with each hidden region (marker lines included) replaced by one note line, and the
    hidden lines. A region with no end hides the rest of the cell: never show too much."""
    kept, hidden, inside = [], [], False
    for line in source.split("\n"):
        if not inside and begin in line:  # nbgrader's own rule: the marker anywhere in the line
            inside = True
            kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_CHECKS_NOTE)
        elif inside:
            hidden.append(line)
            inside = end not in line
        else:
            kept.append(line)
    return "\n".join(kept), hidden


def message_only(output, hidden: list[str]):
    """An error as its message alone (a traceback quotes the test's source); printed lines that repeat
    a hidden line (a warning quotes its source line) left out."""
    if output.get("output_type") == "error":
        output = nbformat.from_dict(dict(output))
        name, value = output.get("ename") or "Error", output.get("evalue") or ""
        output["traceback"] = [f"{name}: {value}" if value else name]
    elif output.get("output_type") == "stream" and hidden:
        secret = {line.strip() for line in hidden if line.strip()}
        output = nbformat.from_dict(dict(output))
        text = output.get("text", "")
        output["text"] = "".join(line for line in text.splitlines(keepends=True) if line.strip() not in secret)
    return output


def notebook_report(resources) -> dict | None:
    """What autograder.json beside the graded notebook says of this notebook; None without one."""
    folder = resources.get("metadata", {}).get("path")
    try:
        report = read_report(Path(folder)) if folder else None
    except ValueError:  # damaged: the report is then read from the notebook alone
        return None
    name = resources.get("nbgrader", {}).get("notebook")
    return next((nb for nb in (report or {}).get("notebooks", []) if nb.get("name") == name), None)


def student_report(source: str, report: dict | None) -> str:
    """The grader's report as the student reads it: what was repaired, why a run stopped, and, for
    flags, one neutral sentence instead of their reasons."""
    if report is not None:  # written with the notebook by `autograder grade`: rebuilt without the flags
        outcome = NotebookOutcome(str(report.get("name")), None, repairs=list(report.get("repairs") or []),
                                  failure=report.get("failure"), ungraded=report.get("ungraded"))
        cell = report_cell(outcome)
        kept = cell.source if cell is not None else REPORT_HEADING
        return f"{kept}\n\n{UNDER_REVIEW}" if report.get("flags") else kept
    # No autograder.json (`nbgrader autograde` through the course's hooks): only the sections the
    # student may read are kept; a report that cannot be read as sections says only the sentence.
    kept, dropped, keeping = [REPORT_HEADING, ""], False, False
    for line in source.split("\n"):
        if line.startswith("**"):
            keeping = line.startswith(STUDENT_SECTIONS)
        if keeping:
            kept.append(line)
        elif line.strip() and line.strip() != REPORT_HEADING:
            dropped = True
    return "\n".join(kept + ([UNDER_REVIEW] if dropped else [])).strip()


def without_flags(comment: str) -> str | None:
    """A cell's comment without the grader's flag lines; None when nothing else is left. A comment
    rendered as one HTML block (it quoted HTML) that holds a flag cannot be cut, so it goes whole."""
    lines = [line for line in comment.split("\n") if not line.lstrip().startswith(FLAG_COMMENT_PREFIX)]
    text = "\n".join(lines).strip()
    if FLAG_COMMENT_PREFIX.strip() in text:
        return None
    return text or None
