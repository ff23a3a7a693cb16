"""What a student sees in nbgrader's feedback, as nbgrader's GenerateFeedback
preprocessors (the course's nbgrader_config.py names them, so that formgrader's
"Generate feedback" button and `autograder feedback` give the same page):

StudentView, after nbgrader's GetGrades:

- the hidden tests' source becomes one line saying hidden checks ran; a failing
  check shows its message (exception type and message), not its traceback, which
  quotes the test's source; what a test cell with hidden checks displayed or
  returned (display_data, execute_result) is left out: it is the test's, not the
  student's work;
- every output of every cell is searched for the hidden tests' lines and for the
  grader's own instrumentation (pipeline/guard.py), as written or quoted (repr,
  JSON, HTML), and each is replaced by a neutral marker: student code can read
  the source of the cells that ran (linecache) and print it. Source that student
  code transformed (encoded, cut up) cannot be recognised, and is not;
- the grader's report keeps its repairs and turns flags into one neutral
  sentence; "Flagged by the autograder" lines leave the comments.

Its options (`show_hidden_tests`, `show_flags`) show instructors more. The
grader's own files (autograder.json) are kept out of feedback/ by nbgrader's
CourseDirectory.ignore, not here (output/feedback.py).

Not for: rendering (nbgrader's feedback template does it) nor scores (GetGrades
reads them from the gradebook); the LMS zip is output/feedback.py's.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbconvert.filters import strip_ansi
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool
from traitlets.config import Config

from .cells import is_answer, is_test, nbgrader_metadata
from .outcome import NotebookOutcome
from .pipeline.guard import INSTALL_SOURCE, SNAPSHOT_PREFIX
from .pipeline.record import FLAG_COMMENT_PREFIX, REPORT_TAG, read_report, report_cell

HIDDEN_CHECKS_NOTE = "# Hidden checks ran here; their code is not shown."
NOT_SHOWN = "[not shown]"  # where an output quoted a hidden test or the grader's own code
UNDER_REVIEW = "Part of this notebook is being checked by a person; your grade may change."
REPORT_HEADING = "### Grader's report"
# Sections of the grader's report a student may read as written (record.report_cell's wording);
# anything else in a report read from the notebook alone is left out.
STUDENT_SECTIONS = ("**Not graded automatically:**", "**The run stopped early:**", "**Repaired before grading**")
RESULTS = ("display_data", "execute_result")  # what a cell displayed or returned, as opposed to printed
SHORTEST_SECRET = 8  # a shorter line ("x = 1", "else:") says little, and would blank out common output
# The grader's instrumentation, as its source sits in the kernel's linecache: its install call names the
# snapshot's random module name.
GRADER_NAMES = re.compile(rf"_autograder_install(?:\([^)\n]*\))?|{re.escape(SNAPSHOT_PREFIX)}[0-9a-f]{{8,}}")
NOT_TEXT = ("image/png", "image/jpeg", "image/gif", "image/webp")  # base64: nothing here reads as source
OUTPUT_FIELDS = ("output_type", "name", "execution_count")  # nbformat's own words, never student text


class StudentView(Preprocessor):
    """The graded notebook as its student should read it (see the module's docstring)."""

    enabled = Bool(True).tag(config=True)  # nbgrader registers preprocessors as they are
    show_hidden_tests = Bool(False, help="Show hidden tests' source, what their cells displayed, and failing "
                                         "checks' tracebacks").tag(config=True)
    show_flags = Bool(False, help="Show the grader's flags with their reasons, as formgrader does").tag(config=True)

    def preprocess(self, nb, resources):
        # the course's own BEGIN/END HIDDEN TESTS markers (its section only: the rest is not its business)
        course_delimiters = ClearHiddenTests(config=Config(ClearHiddenTests=self.config.ClearHiddenTests))
        begin, end = course_delimiters.begin_test_delimeter, course_delimiters.end_test_delimeter
        secrets: list[str] = []
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
            secrets += hidden
            if hidden or is_test(cell):
                cell.outputs = [message_only(output) for output in cell.get("outputs", [])
                                if not (hidden and output.get("output_type") in RESULTS)]
        # any cell's output, the student's own included: their code may have read a test cell's source
        redact = Redactor(grader_secrets() + ([] if self.show_hidden_tests else secret_lines(secrets)))
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [redact.output(output) for output in cell.get("outputs", [])]
        return nb, resources


def hide_hidden_tests(source: str, begin: str, end: str) -> tuple[str, list[str]]:
    """The source with each hidden region (marker lines included) replaced by one note line, and the
    region's lines, markers included. A region with no end hides the rest of the cell: never show too much."""
    kept, hidden, inside = [], [], False
    for line in source.split("\n"):
        if not inside and begin in line:  # nbgrader's own rule: the marker anywhere in the line
            inside = True
            kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_CHECKS_NOTE)
            hidden.append(line)
        elif inside:
            hidden.append(line)
            inside = end not in line
        else:
            kept.append(line)
    return "\n".join(kept), hidden


def message_only(output):
    """An error as its message alone: a traceback quotes the test's source."""
    if output.get("output_type") != "error":
        return output
    output = nbformat.from_dict(dict(output))
    name, value = output.get("ename") or "Error", output.get("evalue") or ""
    output["traceback"] = [f"{name}: {value}" if value else name]
    return output


def secret_lines(lines: Iterable[str]) -> list[str]:
    """The lines worth looking for in outputs: stripped, long enough, not punctuation alone."""
    found = {line.strip() for line in lines}
    return [line for line in found if len(line) >= SHORTEST_SECRET and any(ch.isalnum() for ch in line)]


def grader_secrets() -> list[str]:
    """The lines of the code the guard installs in every kernel (pipeline/guard.py)."""
    return secret_lines(INSTALL_SOURCE.split("\n"))


def quoted_forms(line: str) -> set[str]:
    """A line as an output can hold it: as written, inside a Python or JSON string literal (the quote
    escaped or not, as the whole string's quotes decide), escaped for HTML."""
    forced = repr(line + "\"'")[1:-4]  # both quotes in the string: repr escapes the single one
    escaped = html.escape(line, quote=False)
    return {line, repr(line)[1:-1], forced, json.dumps(line)[1:-1], json.dumps(line, ensure_ascii=False)[1:-1],
            escaped, html.escape(line), escaped.replace('"', "&#34;").replace("'", "&#39;")}


class Redactor:
    """Replaces each secret line, in any of its quoted forms, wherever it occurs in an output's text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # the longest first, so that a line is replaced whole rather than a part of it found in another
        self.forms = sorted({form for line in secrets for form in quoted_forms(line)}, key=len, reverse=True)

    def text(self, text: str) -> str:
        # syntax highlighting puts colour codes inside a traceback's source lines: compare without them
        plain = strip_ansi(text)
        redacted = GRADER_NAMES.sub(NOT_SHOWN, plain)
        for form in self.forms:
            if form in redacted:
                redacted = redacted.replace(form, NOT_SHOWN)
        return text if redacted == plain else redacted

    def value(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def output(self, output):
        """The output with every text in it redacted: stream text, error fields, each data type."""
        redacted = {}
        for key, value in output.items():
            if key in OUTPUT_FIELDS:
                redacted[key] = value
            elif key == "data" and isinstance(value, dict):
                redacted[key] = {kind: data if kind in NOT_TEXT else self.value(data) for kind, data in value.items()}
            else:
                redacted[key] = self.value(value)
        return nbformat.from_dict(redacted)


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
