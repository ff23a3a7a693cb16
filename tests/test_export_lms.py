"""`autograder export ASSIGNMENT --format canvas|moodle`: files Canvas's gradebook import and
Moodle's "Upload grading worksheet" read as they are.

No kernels: the gradebook is built with nbgrader's API (a manual score over an automatic one, a
late penalty, answers awaiting a person, a test nobody could run), the roster with
`autograder.roster`. Each file is then read the way its importer reads it, by a small reader here
that follows the importer's own rules (cited beside each), column by column; the expected values
are worked out by hand, not by the code under test.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import run_autograder, sqlite_url
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder import cli
from autograder.course.topics import REPO_ROOT
from autograder.coursedir import open_course
from autograder.output.lms_export import export_for_lms
from autograder.output.report_data import load
from autograder.roster import CANVAS, MOODLE, LmsHandIn, write_roster

ASSIGNMENT = "tiny"
POINTS = {"test_a": 2.0, "test_b": 3.0, "why": 1.0}  # "why" is a written answer
QUOTED = 'Bo "the Bold"', "O'Brien, Jr."  # a comma and quotes in a name
NON_ASCII = "Zoë", "Ångström-Øre"


@dataclass(frozen=True)
class Student:
    id: str
    names: tuple[str, str]
    scores: dict[str, tuple[float | None, float | None, bool]]  # cell -> (auto, manual, needs a person)
    late_penalty: float = 0.0
    lms: bool = True  # the roster has this LMS's record of them

    @property
    def full_name(self) -> str:
        return " ".join(self.names)


def full(**over) -> dict[str, tuple[float | None, float | None, bool]]:
    return {"test_a": (2.0, None, False), "test_b": (3.0, None, False), "why": (None, 1.0, False), **over}


CLASS = [
    Student("1001", ("Amelia", "Hart"), full()),  # 6
    Student("1002", QUOTED, full(test_b=(0.0, 2.0, False), why=(None, 0.5, False))),  # a person's 2 wins: 4.5
    Student("1003", NON_ASCII, full(), late_penalty=1.0),  # 6 - 1 = 5
    Student("1004", ("Wren", "Aside"), full(why=(None, None, True))),  # a written answer awaits a person
    Student("1005", ("Tess", "Untested"), full(test_b=(None, None, True))),  # a test nobody could run
    Student("bob", ("Bob", "Folder"), full(), lms=False),  # collected from a plain folder
]
NOT_GRADED = LmsHandIn(student="1007", full_name="Nell Ungraded")  # collected, never graded
FINAL = {"1001": 6.0, "1002": 4.5, "1003": 5.0}


def make_class(root: Path, lms: str, *, when: str = "2024-03-01T14:05:00+00:00") -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    with warnings.catch_warnings(), Gradebook(sqlite_url(root), course_id="autograd") as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission, as record.py meets it
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
        for cell, points in POINTS.items():
            gb.add_grade_cell(cell, ASSIGNMENT, ASSIGNMENT, max_score=points,
                              cell_type="markdown" if cell == "why" else "code")
        gb.add_solution_cell("why", ASSIGNMENT, ASSIGNMENT)
        for s in CLASS:
            gb.add_student(s.id, first_name=s.names[0], last_name=s.names[1])
            gb.add_submission(ASSIGNMENT, s.id)
            for cell, (auto, manual, person) in s.scores.items():
                grade = gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, s.id)
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = auto, manual, person
            gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s.id).late_submission_penalty = (
                s.late_penalty or None)
        gb.db.commit()
    records = {s.id: LmsHandIn(student=s.id, lms=lms if s.lms else None, full_name=s.full_name, submitted_at=when)
               for s in CLASS}
    records["1007"] = LmsHandIn(student="1007", lms=lms, full_name=NOT_GRADED.full_name)
    write_roster(root, ASSIGNMENT, records)
    return root


@pytest.fixture
def canvas_class(tmp_path) -> Path:
    return make_class(tmp_path / "course", CANVAS)


@pytest.fixture
def moodle_class(tmp_path) -> Path:
    return make_class(tmp_path / "course", MOODLE)


def export(course: Path, *args: str) -> int:
    """`autograder export` in this process, for refusals; run_autograder for what a file holds."""
    return cli.main(["export", *args, "--course", str(course)])


# --------------------------------------------------------------------------- Canvas's importer, in small

# lib/gradebook_importer.rb: NON_ASSIGNMENT_COLUMN_HEADERS, joined into one unanchored regexp
CANVAS_TOTALS = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                           "Override Score|Override Grade|Override Status")


def canvas_decimal(field: str | None) -> str | None:
    """CSV::Converters[:decimal_comma_to_period]."""
    if field is None or not re.fullmatch(r"-?[0-9.,]+%?", field):
        return field
    *head, last = re.split(r"[,.]", field)
    return f"{''.join(head)}.{last}" if head else last


@dataclass
class CanvasUpload:
    assignments: list[tuple[str, int | None, str | None]]  # (title, Canvas id or None: a new one, points)
    students: dict[int, dict]  # Canvas user id -> {"name": ..., title: grade}


def canvas_import(data: bytes) -> CanvasUpload:
    text = data.decode("utf-8")  # Ruby reads it as UTF-8, and keeps a BOM in the first header
    first = text.splitlines(keepends=True)[:3]
    counts = {}
    for sep in (";", ","):  # identify_delimiter: a separator that gives every line the same count
        sizes = {len(next(csv.reader([line], delimiter=sep), [])) for line in first}
        counts[sep] = sizes.pop() if len(sizes) == 1 else 0
    sep = ";" if counts[";"] > counts[","] else ","
    rows = [[canvas_decimal(cell or None) for cell in row]  # :nil, then :decimal_comma_to_period
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
            if not re.fullmatch(r"[;, ]*", sep.join(row))]  # skip_lines: /^[;, ]+$/
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], "Invalid header row"
    columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        columns += 2 + (1 if re.search(r"Integration\s+ID", header[4] or "") else 0)
    assert "Section" in header[columns - 1], "Invalid header row"
    named = [h for h in header[columns:] if not CANVAS_TOTALS.search(h)]
    found = [(m[1], int(m[2])) if (m := re.fullmatch(r"(.*)\s\((\d+)\)", h)) else (h, None) for h in named]
    index = {h: header.index(h) for h in named}
    points: dict[str, str | None] = {}
    students = {}
    for row in rows[1:]:
        if row[0] and "Points Possible" in row[0]:
            points = {h: row[index[h]] for h in named}
        elif all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.IGNORECASE) for c in row if c is not None):
            continue
        else:
            match = re.match(r"\d+", row[1] or "")  # String#to_i
            grades = {title: (row[index[h]] or "").strip() or None for h, (title, _) in zip(named, found)}
            students[int(match[0]) if match else 0] = {"name": row[0], **grades}
    return CanvasUpload([(t, i, points.get(h)) for h, (t, i) in zip(named, found)], students)


def test_canvas_file_is_the_gradebook_import_with_final_totals_only(canvas_class, tmp_path):
    out = tmp_path / "canvas.csv"
    run = run_autograder(canvas_class, "export", ASSIGNMENT, "--format", "canvas", "--output", str(out))
    assert run.returncode == 3, run.stderr
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM: Canvas's reader would keep it in "Student"
    assert next(csv.reader(io.StringIO(data.decode()))) == ["Student", "ID", "SIS User ID", "SIS Login ID",
                                                            "Section", ASSIGNMENT]
    upload = canvas_import(data)
    assert upload.assignments == [(ASSIGNMENT, None, "6")]  # a new assignment, worth the gradebook's 6 points
    # the manual score wins (4.5, not 2.5), the late penalty is off (5, not 6); nobody else is in it:
    # a blank cell would remove a grade Canvas has, and 0 would be a grade
    assert {sid: row[ASSIGNMENT] for sid, row in upload.students.items()} == {1001: "6", 1002: "4.5", 1003: "5"}
    assert upload.students[1002]["name"] == "Bo \"the Bold\" O'Brien, Jr."
    assert upload.students[1003]["name"] == "Zoë Ångström-Øre"
    assert "3 students written" in run.stdout
    warned = run.stderr
    for who in ("Wren Aside (1004)", "Tess Untested (1005)", "Bob Folder (bob)", "Nell Ungraded (1007)"):
        assert who in warned
    assert "1 cell awaits a person" in warned and "no Canvas id" in warned and "not graded" in warned
    for final in ("(1001)", "(1002)", "(1003)"):
        assert final not in warned


def test_canvas_column_names_an_existing_assignment_and_totals_scale_to_its_points(canvas_class, tmp_path):
    out = tmp_path / "canvas.csv"
    run = run_autograder(canvas_class, "export", ASSIGNMENT, "--format", "canvas", "--output", str(out),
                         "--canvas-column", "Backward pass (12345)", "--out-of", "100")
    assert run.returncode == 3, run.stderr
    upload = canvas_import(out.read_bytes())
    assert upload.assignments == [("Backward pass", 12345, "100")]  # matched by Canvas's id
    grades = {sid: row["Backward pass"] for sid, row in upload.students.items()}
    assert grades == {1001: "100", 1002: "75", 1003: "83.333333"}  # plain decimals, no exponent


@pytest.mark.parametrize("column", ["Final Score", "Week 3 Current Grade", "ID", " "])
def test_canvas_column_the_importer_would_drop_is_refused_and_nothing_written(canvas_class, tmp_path, column,
                                                                             capsys):
    out = tmp_path / "canvas.csv"
    status = export(canvas_class, ASSIGNMENT, "--format", "canvas", "--output", str(out), "--canvas-column", column)
    error = capsys.readouterr().err
    assert status == 2 and "would not be imported" in error and "--canvas-column" in error
    assert not out.exists()


# --------------------------------------------------------------------------- Moodle's importer, in small

MOODLE_HEADER = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (submission)",
                 "Last modified (grade)", "Feedback comments"]


def php_float(text: str) -> float:
    """PHP's (float) cast: the leading number, 0 when there is none."""
    match = re.match(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text)
    return float(match[0]) if match else 0.0


def unformat_float(text: str) -> float | None:
    """lib/moodlelib.php unformat_float, English ("." is the decimal separator)."""
    text = text.strip()
    return None if text == "" else php_float(text.replace(" ", ""))


@dataclass(frozen=True)
class MoodleRecord:
    participant: int
    grade: float | None
    modified: datetime
    feedback: str | None


def moodle_read(data: bytes) -> list[MoodleRecord]:
    """importgradeslib.php with csv_import_reader (lib/csvlib.class.php)."""
    text = data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    assert '\\"' not in text  # PHP's fgetcsv would take the quote as escaped and not end the field
    rows = [row for row in csv.reader(io.StringIO(text), strict=True) if row != [""]]
    header = rows[0]
    assert all(len(row) == len(header) for row in rows), "csvweirdcolumns"
    wanted = {key: header.index(key) if key in header else -1 for key in ("Identifier", "Grade",
                                                                            "Last modified (grade)")}
    assert min(wanted.values()) >= 0, "invalidgradeimport: Moodle refuses the upload"
    comments = header.index("Feedback comments") if "Feedback comments" in header else 0
    records = []
    for row in rows[1:]:
        unique = row[wanted["Identifier"]].strip()[len("Participant "):]
        if not unique.isdigit():
            continue  # get_user_id_for_uniqueid finds nobody: the row is skipped
        records.append(MoodleRecord(int(unique), unformat_float(row[wanted["Grade"]]),
                                    datetime.fromisoformat(row[wanted["Last modified (grade)"]].strip()),
                                    row[comments].strip() if comments else None))
    return records


def moodle_applies(record: MoodleRecord, *, maximum: float, current: tuple[float, datetime] | None = None,
                   allow_newer_in_moodle: bool = False) -> bool:
    """feedback/offline/locallib.php process_import_grades: is the grade written?"""
    stale = current is not None and current[1] > record.modified + timedelta(seconds=60)
    if current is not None and current[0] == record.grade:
        return False
    if record.grade is None or record.grade < 0:
        return False  # "grade has no value": skipped, neither 0 nor cleared
    if stale and not allow_newer_in_moodle:
        return False
    return record.grade <= maximum  # above the maximum: skipped


def test_moodle_worksheet_is_the_offline_grading_worksheet(moodle_class, tmp_path):
    out = tmp_path / "worksheet.csv"
    run = run_autograder(moodle_class, "export", ASSIGNMENT, "--format", "moodle", "--output", str(out))
    assert run.returncode == 3, run.stderr
    data = out.read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == MOODLE_HEADER
    by_id = {row[0]: dict(zip(MOODLE_HEADER, row)) for row in rows[1:]}
    # final totals only. Awaiting a person (1004, 1005), no LMS id, not graded: not in it, as Moodle would
    # write a row's comment over its own even where it skips the row's empty grade
    assert set(by_id) == {f"Participant {n}" for n in FINAL}
    assert by_id["Participant 1002"]["Full name"] == "Bo \"the Bold\" O'Brien, Jr."
    assert by_id["Participant 1003"]["Full name"] == "Zoë Ångström-Øre"
    assert {row["Maximum Grade"] for row in by_id.values()} == {"6"}
    assert by_id["Participant 1001"]["Last modified (submission)"] == "2024-03-01T14:05:00+00:00"
    records = {r.participant: r for r in moodle_read(data)}
    assert {n: r.grade for n, r in records.items()} == {1001: 6.0, 1002: 4.5, 1003: 5.0}
    assert all(r.feedback for r in records.values())  # an empty comment would clear Moodle's
    assert "late penalty of 1" in records[1003].feedback
    assert all(r.modified.tzinfo is not None for r in records.values())
    # each row's grade is written: no row is there for its comment alone
    assert {n for n, r in records.items() if moodle_applies(r, maximum=6)} == set(records)
    for who in ("Wren Aside (1004)", "Tess Untested (1005)", "Bob Folder (bob)", "Nell Ungraded (1007)"):
        assert who in run.stderr
    assert "left out, 1 cell awaits a person" in run.stderr and "no Moodle id" in run.stderr
    assert "4 students are not in the file" in run.stderr and "Moodle keeps what it has for them" in run.stderr


def test_moodle_keeps_a_grade_changed_in_moodle_after_the_export(moodle_class):
    exported_at = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
    result = export_for_lms(open_course(moodle_class), ASSIGNMENT, MOODLE, now=exported_at)
    record = {r.participant: r for r in moodle_read(result.text.encode())}[1001]
    assert record.modified == exported_at
    changed_later = (2.0, exported_at + timedelta(minutes=5))
    changed_before = (2.0, exported_at - timedelta(minutes=5))
    assert not moodle_applies(record, maximum=6, current=changed_later)
    assert moodle_applies(record, maximum=6, current=changed_later, allow_newer_in_moodle=True)
    assert moodle_applies(record, maximum=6, current=changed_before)


def test_moodle_out_of_scales_to_the_assignments_maximum(moodle_class):
    result = export_for_lms(open_course(moodle_class), ASSIGNMENT, MOODLE, out_of=100)
    records = {r.participant: r for r in moodle_read(result.text.encode())}
    assert records[1002].grade == 75.0 and records[1001].grade == 100.0
    assert all(moodle_applies(records[int(n)], maximum=100) for n in FINAL)
    assert "Maximum Grade" in result.text.splitlines()[0] and ",100," in result.text.splitlines()[1]


def test_a_backslash_before_a_quote_cannot_break_moodles_csv_reader(tmp_path):
    course = make_class(tmp_path / "course", MOODLE)
    with Gradebook(sqlite_url(course), course_id="autograd") as gb:
        student = gb.find_student("1001")
        student.first_name, student.last_name = 'C:\\"', 'x\\'
        gb.db.commit()
    records = dict.fromkeys(["1001"])
    records["1001"] = LmsHandIn(student="1001", lms=MOODLE, full_name='C:\\" x\\')
    write_roster(course, ASSIGNMENT, records)
    result = export_for_lms(open_course(course), ASSIGNMENT, MOODLE)
    assert [r.grade for r in moodle_read(result.text.encode())] == [6.0]  # read whole, columns in place


# --------------------------------------------------------------------------- names a spreadsheet would run

FORMULAS = {"1001": "=HYPERLINK(\"http://x.example\",\"y\")", "1002": "@SUM(A1) Quoted, Name", "1003": "-2+3 Minus"}


@pytest.mark.parametrize("lms", [CANVAS, MOODLE])
def test_a_name_a_spreadsheet_would_run_is_written_as_text_and_the_importer_still_matches(tmp_path, lms):
    course = make_class(tmp_path / "course", lms)
    with Gradebook(sqlite_url(course), course_id="autograd") as gb:
        for student, name in FORMULAS.items():
            found = gb.find_student(student)
            found.first_name, found.last_name = f"\t{name}", None  # a tab, too, starts a formula
        gb.db.commit()
    write_roster(course, ASSIGNMENT, {s: LmsHandIn(student=s, lms=lms, full_name=f"\t{name}")
                                      for s, name in FORMULAS.items()})
    text = export_for_lms(open_course(course), ASSIGNMENT, lms).text
    if lms == CANVAS:  # matched by the ID column
        upload = canvas_import(text.encode())
        assert {sid: row["name"] for sid, row in upload.students.items()} == {
            int(s): f"'{name}" for s, name in FORMULAS.items()}
        assert {sid: row[ASSIGNMENT] for sid, row in upload.students.items()} == {1001: "6", 1002: "4.5", 1003: "5"}
    else:  # matched by Identifier; the name is not read
        rows = {row["Identifier"]: row for row in csv.DictReader(io.StringIO(text))}
        assert {i: row["Full name"] for i, row in rows.items()} == {
            f"Participant {s}": f"'{name}" for s, name in FORMULAS.items()}
        assert {r.participant: r.grade for r in moodle_read(text.encode())} == {1001: 6.0, 1002: 4.5, 1003: 5.0}


def test_the_lms_file_and_the_report_name_a_student_by_one_rule(canvas_class):
    with Gradebook(sqlite_url(canvas_class), course_id="autograd") as gb:
        student = gb.find_student("1001")
        student.first_name, student.last_name = "  ", " "  # blank in the gradebook: the LMS's name instead
        gb.db.commit()
    course = open_course(canvas_class)
    upload = canvas_import(export_for_lms(course, ASSIGNMENT, CANVAS).text.encode())
    named = {row.student: row.name for row in load(course, ASSIGNMENT).students}
    assert upload.students[1001]["name"] == named["1001"] == "Amelia Hart"
    assert upload.students[1002]["name"] == named["1002"] == "Bo \"the Bold\" O'Brien, Jr."


# --------------------------------------------------------------------------- the command


@pytest.mark.parametrize("lms", [CANVAS, MOODLE])
def test_an_lms_format_takes_exactly_one_assignment(canvas_class, tmp_path, lms, capsys):
    out = tmp_path / "out.csv"
    for given in ((ASSIGNMENT, "other"), ()):
        assert export(canvas_class, *given, "--format", lms, "--output", str(out)) == 2
        assert "exactly one assignment" in capsys.readouterr().err
    assert not out.exists()


def test_no_hand_in_from_that_lms_is_refused_with_what_to_do(canvas_class, tmp_path, capsys):
    out = tmp_path / "worksheet.csv"
    assert export(canvas_class, ASSIGNMENT, "--format", "moodle", "--output", str(out)) == 2
    error = capsys.readouterr().err
    assert "autograder collect" in error and "nothing was written" in error
    assert not out.exists()


@pytest.mark.parametrize("points", ["0", "-5", "nan", "inf"])
def test_out_of_must_be_a_maximum(moodle_class, tmp_path, capsys, points):
    out = tmp_path / "worksheet.csv"
    assert export(moodle_class, ASSIGNMENT, "--format", "moodle", "--out-of", points, "--output", str(out)) == 2
    assert "must be a number above 0" in capsys.readouterr().err and not out.exists()


def test_the_default_csv_is_unchanged_and_takes_no_lms_option(canvas_class):
    run = run_autograder(canvas_class, "export", ASSIGNMENT, "--output", "-")
    assert run.returncode == 0, run.stderr
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(run.stdout))}
    assert list(rows["1001"])[:6] == ["student", "assignment", "score", "max_score", "late_penalty",
                                      "needs_manual_grade"]
    assert (rows["1002"]["score"], rows["1003"]["score"], rows["1005"]["score"]) == ("4.5", "5", "")
    refused = run_autograder(canvas_class, "export", ASSIGNMENT, "--out-of", "100", "--output", "-")
    assert refused.returncode == 2 and "--out-of" in refused.stderr
