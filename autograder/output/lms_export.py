"""`autograder export ASSIGNMENT --format canvas|moodle`: one assignment's totals in the file the
LMS's own import reads as it is: Canvas's gradebook import CSV, or Moodle's offline grading
worksheet. Not the default CSV (`export.py`), not feedback files (`feedback --zip`).

Totals are nbgrader's (`record.submission_totals`: a person's score wins, the late penalty comes
off). A student is put in the file under the LMS's own id, which `collect` recorded in
``collected/<assignment>/roster.json``, and only with a final total. Anyone left out (no LMS id, a
total not final, not graded) is named in `LmsFile.warnings`; neither importer touches a student
who is not in the file, so the LMS keeps what it already has for them.

A name cell that starts with "=", "+", "-", "@", a tab or a carriage return gets a leading "'", so
that a spreadsheet opening the file shows it as text rather than running it as a formula. Neither
importer reads the name to find the student (Canvas: the ID column first; Moodle: Identifier only).

Checked against the importers' source (the facts it relies on, in our words):

Canvas, instructure/canvas-lms ``lib/gradebook_importer.rb`` (GradebookImporter):
  - header: cell 0 contains "Student", cell 1 contains "ID"; "SIS User ID" then "SIS Login ID" in
    cells 2-3 make them student columns; the last student column must contain "Section";
  - a header containing "Current Score", "Final Grade", "Override Score", ... (NON_ASSIGNMENT_COLUMN_HEADERS,
    matched anywhere in the header) is not an assignment; an assignment header "Name (123)" is
    matched by id 123 (``Assignment.title_and_id``), otherwise by title, otherwise it is a new assignment;
  - a row whose first cell contains "Points Possible" gives new assignments their points;
  - a student row is matched by the Canvas user id in cell 1 (``to_i``), then SIS ids, then name
    (the name only where no id matches);
  - fields go through ``decimal_comma_to_period``; ``;`` or ``,`` is chosen from the first three lines.
  ``ui/features/gradebook_uploads/jquery/process_gradebook_upload.js`` posts every cell that differs
  from Canvas's grade, a blank one as "no grade": a blank cell removes a grade Canvas already has.
  So a student whose total is not final is left out of the file, not written blank.

Moodle, moodle/moodle ``mod/assign/feedback/offline/importgradeslib.php`` and ``locallib.php``:
  - columns are found by exact header text in the uploader's language: "Identifier" (assign
    ``recordid``), "Grade" (core ``grade``), "Last modified (grade)" (assign ``lastmodifiedgrade``):
    without all three the upload is refused; feedback columns by their plugin's name
    ("Feedback comments", assignfeedback_comments ``pluginname``);
  - the user is the number after the length of "Participant " (assign ``hiddenuser``), the
    assignment's participant id (``get_user_id_for_uniqueid``), as Moodle's download names folders;
  - the grade goes through ``unformat_float``: an empty grade is skipped (never 0, never cleared),
    so is one above the assignment's maximum; a record Moodle changed more than 60 s after
    ``strtotime(Last modified (grade))`` is skipped unless "Allow updating records that have been
    modified more recently in Moodle than in the spreadsheet" is ticked;
  - a feedback cell that differs from Moodle's text replaces it, an empty one included, and it is
    written even where the grade is skipped: so a row is here only with a final grade and its comment,
    and a student awaiting a person is left out (an instructor's comment in Moodle stays);
  - only the rows in the file are read: a participant not in it is left as Moodle has them;
  - ``lib/csvlib.class.php`` (csv_import_reader) drops a UTF-8 BOM, reads with PHP's fgetcsv, whose
    escape character is a backslash, and refuses a row whose column count differs from the header.
  Header strings: ``mod/assign/lang/en/assign.php`` ("Maximum Grade": the later of its two
  ``maxgrade`` lines) and ``mod/assign/gradingtable.php`` (the download's column order).

Both files are UTF-8 without a BOM, comma-separated, with CSV quoting.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook

from ..coursedir import Course
from ..files import write_atomically
from ..outcome import Totals
from ..pipeline.record import submission_totals
from ..roster import CANVAS, MOODLE, LmsHandIn, read_roster, roster_path
from .students import display_name, is_final

FORMATS = (CANVAS, MOODLE)

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
CANVAS_NOT_ASSIGNMENTS = ("Current Score", "Current Points", "Current Grade", "Final Score", "Final Points",
                          "Final Grade", "Override Score", "Override Grade", "Override Status")
CANVAS_RESERVED = (*CANVAS_STUDENT_COLUMNS, "LastName", "FirstName", "Integration ID", "Root Account")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula

MOODLE_PARTICIPANT = "Participant "
MOODLE_COLUMNS = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (submission)",
                  "Last modified (grade)", "Feedback comments")


@dataclass(frozen=True)
class Graded:
    """One gradebook submission of the assignment, as the LMS file needs it."""

    student: str
    name: str
    totals: Totals

    @property
    def final(self) -> bool:
        return is_final(self.totals.score, self.totals.awaiting)


@dataclass(frozen=True)
class LmsFile:
    text: str
    rows: int  # students in the file
    warnings: list[str]  # one line each, for stderr; empty when everyone is in with a final grade


def canvas_column_problem(column: str) -> str | None:
    """Why Canvas's importer would not read `column` as an assignment column, or None."""
    if not column.strip():
        return "it is empty"
    if column in CANVAS_RESERVED:
        return "Canvas reads it as a student column"
    found = [word for word in CANVAS_NOT_ASSIGNMENTS if word in column]
    if found:
        return f"Canvas drops any column whose header contains {found[0]!r} (a total it computes itself)"
    return None


def export_for_lms(course: Course, assignment: str, lms: str, *, column: str | None = None,
                   out_of: float | None = None, now: datetime | None = None) -> LmsFile:
    """The file for `lms` (CANVAS or MOODLE), refused (ValueError) when no student could be in it."""
    label = lms.capitalize()
    records = {s: r for s, r in read_roster(course.root, assignment).items() if r.lms == lms}
    if not records:
        raise ValueError(f"no hand-in of {assignment!r} was collected from a {label} download "
                         f"({roster_path(course.root, assignment)} has none), so no student has a {label} id "
                         f"to be imported under. Collect the {label} download first: "
                         f"autograder collect {assignment} DOWNLOAD.zip; nothing was written")
    column = assignment if column is None else column
    problem = canvas_column_problem(column) if lms == CANVAS else None
    if problem:
        raise ValueError(f"the Canvas column {column!r} would not be imported: {problem}. Name it after the "
                         "Canvas assignment with --canvas-column \"NAME (ID)\"; nothing was written")
    if out_of is not None and not (math.isfinite(out_of) and out_of > 0):
        raise ValueError(f"--out-of {out_of:g}: it is the LMS assignment's maximum, so it must be a number above 0; "
                         "nothing was written")
    graded, max_score = _graded(course, assignment, records)
    placed = sorted((g for g in graded.values() if _lms_id(records.get(g.student))),
                    key=lambda g: (g.name.casefold(), g.student))
    warnings = _warnings(assignment, label, graded, records)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    # final totals only: Canvas reads a blank cell as "remove the grade", Moodle writes a row's comment
    # over its own even when it skips the row's empty grade
    rows = [g for g in placed if g.final]
    if lms == CANVAS:
        text = _canvas_csv(column, rows, out_of if out_of is not None else max_score, out_of)
    else:
        text = _moodle_worksheet(rows, records, out_of, stamp)
    return LmsFile(text, len(rows), warnings)


def save(text: str, path: Path) -> None:
    """UTF-8 without a byte-order mark (both importers read that), written whole or not at all."""
    write_atomically(path, text.encode("utf-8"))


def _graded(course: Course, assignment: str,
            records: dict[str, LmsHandIn]) -> tuple[dict[str, Graded], float]:
    """Each submission by student id, and what the assignment is worth."""
    with Gradebook(course.db_url) as gb:
        found, chosen = {}, gb.find_assignment(assignment)
        for submission in chosen.submissions:
            student = submission.student
            record = records.get(student.id)
            name = display_name(student.first_name, student.last_name, record.full_name if record else None)
            found[student.id] = Graded(student.id, name or student.id, submission_totals(submission))
        return found, chosen.max_score


def _lms_id(record: LmsHandIn | None) -> str | None:
    """The LMS's user id (Canvas) or participant id in this assignment (Moodle): a number, or None. With
    `collect --student-ids email` the student id is an address and the roster keeps the LMS's as lms_id."""
    lms_id = (record.lms_id or record.student) if record else None
    return lms_id if lms_id and lms_id.isdigit() else None


def _who(name: str, student: str) -> str:
    return student if name == student else f"{name} ({student})"


def _warnings(assignment: str, label: str, graded: dict[str, Graded],
              records: dict[str, LmsHandIn]) -> list[str]:
    lines = []
    for g in sorted(graded.values(), key=lambda g: (g.name.casefold(), g.student)):
        if not _lms_id(records.get(g.student)):
            lines.append(f"  {_who(g.name, g.student)}: left out, collected/{assignment}/roster.json has no "
                         f"{label} id for this student (collected from a folder or another LMS); "
                         f"collect the {label} download, or enter the grade in {label} by hand")
        elif not g.final:
            cells = g.totals.awaiting
            waiting = (f"{cells} {'cell awaits' if cells == 1 else 'cells await'} a person in formgrader"
                       if cells else "its total is not final")
            lines.append(f"  {_who(g.name, g.student)}: left out, {waiting}; grade them, then export again")
    for student in sorted(set(records) - set(graded)):
        record = records[student]
        lines.append(f"  {_who(record.full_name or student, student)}: left out, collected but not graded; "
                     f"run: autograder grade {assignment} --student {student}")
    if lines:
        count = "1 student is" if len(lines) == 1 else f"{len(lines)} students are"
        lines.insert(0, f"autograder: {count} not in the file (exit status 3); "
                        f"{label} keeps what it has for them:")
    return lines


def _points(value: float) -> str:
    """A plain decimal number (no exponent, no thousands separator): what both importers parse."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _scaled(score: float, totals: Totals, out_of: float | None) -> float:
    if out_of is None:
        return score
    if not totals.max_score:
        raise ValueError("--out-of: the assignment is worth 0 points in the gradebook, so its totals "
                         "cannot be scaled; export without --out-of")
    return score * out_of / totals.max_score


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _as_text(name: str) -> str:
    """A name a spreadsheet shows as it is, never runs as a formula (see the module's docstring)."""
    return f"'{name}" if name.startswith(FORMULA_STARTS) else name


def _canvas_csv(column: str, rows: list[Graded], points: float, out_of: float | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CANVAS_STUDENT_COLUMNS, column])
    writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", _points(points)])
    for g in rows:
        # a name containing the marker would make Canvas take the row for the points row
        name = g.student if CANVAS_POINTS_ROW in g.name else _as_text(_one_line(g.name))
        writer.writerow([name, g.student, "", "", "", _points(_scaled(g.totals.score, g.totals, out_of))])
    return out.getvalue()


def _moodle_safe(text: str) -> str:
    """PHP's fgetcsv takes a backslash as an escape: one before a quote, the closing quote of the field
    included, would run the field on into the next. The feedback comment is HTML, where &#92; is the
    same backslash; no identifier, grade or time has one."""
    return _one_line(text).replace("\\", "&#92;")


def _moodle_comment(g: Graded) -> str:
    t = g.totals
    penalty = f", after a late penalty of {_points(t.late_penalty)}" if t.late_penalty else ""
    return f"Total: {_points(t.score)} of {_points(t.max_score)} points{penalty}."


def _moodle_worksheet(rows: list[Graded], records: dict[str, LmsHandIn], out_of: float | None,
                      stamp: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MOODLE_COLUMNS)
    for g in rows:
        t = g.totals
        grade = _points(_scaled(t.score, t, out_of))
        most = _points(out_of if out_of is not None else t.max_score)
        submitted = records[g.student].submitted_at or ""
        name = _as_text(_moodle_safe(records[g.student].full_name or g.name))
        # Last modified (grade) is now: Moodle keeps a grade someone changes there after this export
        writer.writerow([f"{MOODLE_PARTICIPANT}{_lms_id(records[g.student])}", name, *(_moodle_safe(cell) for cell in (
            grade, most, submitted, stamp, _moodle_comment(g)))])
    return out.getvalue()
