"""From an LMS download to the LMS's own import files, as an instructor runs it.

A Moodle class and a Canvas class, each with an on-time hand-in, a late one and a
student who handed in twice (the two downloads collected newest first, so the
older must not win), go through the real commands: `collect`, `grade` (sandboxed),
a person's grade for the written answer, `feedback --zip`, and
`export --format moodle|canvas`. The files are read back as each LMS reads them,
column by column; formgrader in headless Chromium shows the students' names. The
late Moodle hand-in gets nbgrader's late penalty from the time Moodle's grading
worksheet gives; Canvas's download has no times, only its LATE mark, which is
shown and left to Canvas's own late policy.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    WRONG,
    Formgrader,
    copy_course,
    hand_in_notebook,
    late_penalties,
    make_course,
    run_autograder,
    sqlite_url,
)
from nbformat import writes
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.nbgrader_cli import nbgrader
from autograder.roster import read_roster

pytestmark = pytest.mark.slow

DUE = "2026-03-01 12:00:00 UTC"
# Zip member times: both LMSs stamp every file with the moment the zip was made, not the hand-in's.
DOWNLOADED_FIRST = (2026, 2, 28, 8, 0, 0)
DOWNLOADED_LATER = (2026, 3, 5, 8, 0, 0)
# Moodle's grading worksheet has the hand-in times, to the minute, in the downloading user's zone.
WORKSHEET_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
FULL_AUTO = 5.0  # test_double 2 + test_derivative 3; the written answer "why" (1) is a person's


def _zip(path: Path, members: list[tuple[str, tuple, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, when, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def _notebook(course: Path, answers: dict[str, str] | None = None) -> bytes:
    return writes(hand_in_notebook(course, answers)).encode()


def _lms_course(pristine: Path, tmp_path_factory, name: str) -> Path:
    """The tiny course with a due date and nbgrader's "zero" late penalty, so lateness shows in the grade."""
    course = copy_course(pristine, tmp_path_factory, name)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    return course


def _person_grades_written_answers(course: Path, students: list[str]) -> None:
    """What an instructor does in formgrader: a score for the written answer."""
    with Gradebook(sqlite_url(course)) as gb:
        for student in students:
            grade = gb.find_grade("why", ASSIGNMENT, ASSIGNMENT, student)
            grade.manual_score = 1.0
            grade.needs_manual_grade = False
        gb.db.commit()


def _collect(course: Path, download: Path, *options: str, status: int = 0) -> str:
    result = run_autograder(course, "collect", ASSIGNMENT, str(download), "--timezone", "UTC", *options)
    assert result.returncode == status, result.stdout + result.stderr
    return result.stdout + result.stderr


def _grade(course: Path) -> None:
    result = run_autograder(course, "grade", ASSIGNMENT, "--workers", "1")
    # every test ran; the written answers await a person in formgrader, as in any nbgrader course
    assert result.returncode == 0, result.stdout + result.stderr


def _points(course: Path) -> dict[str, tuple[float, float]]:
    """student -> (autograded points, late penalty) as the gradebook holds them."""
    penalties = late_penalties(sqlite_url(course), ASSIGNMENT)
    with Gradebook(sqlite_url(course)) as gb:
        return {s.student.id: (sum(g.score for nb in s.notebooks for g in nb.grades if g.name != "why"),
                               sum(p or 0 for p in penalties[s.student.id].values()))
                for s in gb.find_assignment(ASSIGNMENT).submissions}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("lms") / "course")


# --------------------------------------------------------------------------- Moodle

MOODLE_CLASS = {  # participant id -> full name
    "418201": "Amelia Hart",
    "418202": "Omar Haddad",
    "418203": "Chloé Martin",
}


def _moodle_folder(participant: str) -> str:
    return f"{MOODLE_CLASS[participant]}_{participant}_assignsubmission_file_"


def _worksheet(path: Path, handed_in: dict[str, str]) -> Path:
    """Moodle's "Download grading worksheet" for the participants given, with their hand-in times."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(WORKSHEET_HEADER)
        for participant, when in handed_in.items():
            writer.writerow([f"Participant {participant}", MOODLE_CLASS[participant], f"{participant}@uni.example",
                             "Submitted for grading", "", "6.00", "Yes", when, "-", ""])
    return path


def test_moodle_round_trip(pristine, tmp_path_factory):
    course = _lms_course(pristine, tmp_path_factory, "moodle")
    right, wrong = _notebook(course), _notebook(course, WRONG)
    newer = _zip(course.parent / "moodle-2.zip", [
        (f"{_moodle_folder(p)}/{ASSIGNMENT}.ipynb", DOWNLOADED_LATER, right) for p in MOODLE_CLASS])
    newer_sheet = _worksheet(course.parent / "worksheet-2.csv", {
        "418201": "Sunday, 1 March 2026, 10:00 AM",
        "418202": "Monday, 2 March 2026, 9:00 AM",  # a day late
        "418203": "Sunday, 1 March 2026, 11:30 AM",  # handed in again before the deadline
    })
    older = _zip(course.parent / "moodle-1.zip", [  # downloaded first, collected last
        (f"{_moodle_folder('418203')}/{ASSIGNMENT}.ipynb", DOWNLOADED_FIRST, wrong)])
    older_sheet = _worksheet(course.parent / "worksheet-1.csv", {"418203": "Friday, 27 February 2026, 9:30 AM"})
    _collect(course, newer, "--worksheet", str(newer_sheet))
    said = _collect(course, older, "--worksheet", str(older_sheet), status=1)  # nothing placed: it is older
    assert "418203" in said

    roster = read_roster(course, ASSIGNMENT)
    assert {s: r.full_name for s, r in roster.items()} == MOODLE_CLASS
    assert {s: r.folder for s, r in roster.items()} == {s: _moodle_folder(s) for s in MOODLE_CLASS}
    assert roster["418202"].submitted == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    assert roster["418203"].submitted == datetime(2026, 3, 1, 11, 30, tzinfo=timezone.utc)
    stamp = (course / "submitted" / "418202" / ASSIGNMENT / "timestamp.txt").read_text()
    assert parse_utc(stamp) == datetime(2026, 3, 2, 9, 0)  # nbgrader's reading: naive UTC

    _grade(course)
    points = _points(course)
    assert points["418201"] == (FULL_AUTO, 0.0)
    assert points["418203"] == (FULL_AUTO, 0.0)  # the newer, right hand-in; the older wrong one lost
    late_points, late_penalty = points["418202"]
    assert late_points == FULL_AUTO and late_penalty > 0  # nbgrader's "zero" method: the late work scores 0

    _person_grades_written_answers(course, ["418201", "418202"])  # 418203's still awaits a person
    worksheet = course.parent / "worksheet.csv"
    result = run_autograder(course, "export", ASSIGNMENT, "--format", "moodle", "--output", str(worksheet))
    assert result.returncode == 3, result.stdout + result.stderr  # one total awaits a person
    assert "Chloé Martin" in result.stderr
    rows = _moodle_rows(worksheet)
    assert rows["418201"]["Full name"] == "Amelia Hart"
    assert float(rows["418201"]["Grade"]) == FULL_AUTO + 1
    # late: nbgrader's "zero" method took off what the notebook scored when it was graded
    assert float(rows["418202"]["Grade"]) == FULL_AUTO + 1 - late_penalty
    assert "418203" not in rows  # awaiting a person: left out, so Moodle keeps its grade and comment
    assert {float(r["Maximum Grade"]) for r in rows.values()} == {FULL_AUTO + 1}

    feedback_zip = course.parent / "feedback.zip"
    result = run_autograder(course, "feedback", ASSIGNMENT, "--zip", str(feedback_zip))
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(feedback_zip) as z:
        names = z.namelist()
    for participant in MOODLE_CLASS:
        mine = [n for n in names if n.startswith(_moodle_folder(participant))]
        assert any(n.endswith(".html") for n in mine), (participant, names)
    assert not [n for n in names if n.endswith("autograder.json")]

    with Formgrader(course) as server:
        shown = server.flagged_column({"Hart, Amelia", "Haddad, Omar", "Martin, Chloé"})
    assert set(shown) == {"Hart, Amelia", "Haddad, Omar", "Martin, Chloé"}


def _moodle_rows(path: Path) -> dict[str, dict[str, str]]:
    """The worksheet as Moodle's upload reads it: a CSV whose "Identifier" column holds "Participant N"."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames[:2] == ["Identifier", "Full name"]
    rows = {}
    for row in reader:
        prefix = "Participant "
        assert row["Identifier"].startswith(prefix)
        rows[row["Identifier"][len(prefix):]] = row
    return rows


# --------------------------------------------------------------------------- Canvas

CANVAS_CLASS = {  # Canvas user id -> name slug
    "5001": "lovelaceada",
    "5002": "turingalan",
    "5003": "hoppergrace",
}


def test_canvas_round_trip(pristine, tmp_path_factory):
    course = _lms_course(pristine, tmp_path_factory, "canvas")
    right, wrong = _notebook(course), _notebook(course, WRONG)
    newer = _zip(course.parent / "canvas-2.zip", [
        (f"lovelaceada_5001_90001_{ASSIGNMENT}.ipynb", DOWNLOADED_LATER, right),
        (f"turingalan_LATE_5002_90002_{ASSIGNMENT}-1.ipynb", DOWNLOADED_LATER, right),  # late, handed in twice
        (f"hoppergrace_5003_90010_{ASSIGNMENT}.ipynb", DOWNLOADED_LATER, right),
    ])
    older = _zip(course.parent / "canvas-1.zip", [  # Canvas numbers files upward: 90003 came before 90010
        (f"hoppergrace_5003_90003_{ASSIGNMENT}.ipynb", DOWNLOADED_FIRST, wrong)])
    said = _collect(course, newer)
    # Canvas's download has no hand-in time: its LATE mark is shown, never turned into an invented time
    assert "LATE" in said and "turingalan" in said
    assert not (course / "submitted" / "5002" / ASSIGNMENT / "timestamp.txt").exists()
    _collect(course, older, status=1)

    roster = read_roster(course, ASSIGNMENT)
    assert {s: r.full_name for s, r in roster.items()} == CANVAS_CLASS
    assert roster["5002"].late and not roster["5001"].late
    assert roster["5002"].resubmission == 1
    assert roster["5003"].submission_id == 90010

    _grade(course)
    points = _points(course)
    assert points == {"5001": (FULL_AUTO, 0.0), "5002": (FULL_AUTO, 0.0), "5003": (FULL_AUTO, 0.0)}

    _person_grades_written_answers(course, list(CANVAS_CLASS))
    import_csv = course.parent / "canvas.csv"
    result = run_autograder(course, "export", ASSIGNMENT, "--format", "canvas", "--output", str(import_csv))
    assert result.returncode == 0, result.stdout + result.stderr
    header, rows = _canvas_rows(import_csv)
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5] == ASSIGNMENT
    assert float(rows["5001"][ASSIGNMENT]) == FULL_AUTO + 1
    assert float(rows["5002"][ASSIGNMENT]) == FULL_AUTO + 1  # Canvas's own late policy deducts, on import
    assert float(rows["5003"][ASSIGNMENT]) == FULL_AUTO + 1

    feedback_zip = course.parent / "feedback.zip"
    result = run_autograder(course, "feedback", ASSIGNMENT, "--zip", str(feedback_zip))
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(feedback_zip) as z:
        names = z.namelist()
    for user_id in CANVAS_CLASS:
        assert any(f"_{user_id}_" in n or n.startswith(f"{user_id}") for n in names), (user_id, names)
    assert not [n for n in names if n.endswith("autograder.json")]


def _canvas_rows(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The CSV as Canvas's gradebook import reads it: students keyed by the ID column; a row whose
    Student is "Points Possible" gives the points, not a student."""
    reader = csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig")))
    header = next(reader)
    rows = {}
    for values in reader:
        row = dict(zip(header, values))
        if row["Student"].strip() == "Points Possible":
            continue
        rows[row["ID"]] = row
    return header, rows
