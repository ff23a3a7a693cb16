"""collect and the LMS: who handed in what and when (roster.json, timestamp.txt from Moodle's grading
worksheet, Canvas's LATE, the gradebook's names), the newest hand-in winning between downloads, exit
statuses, and damaged zips.

Downloads and worksheets are built here the way Moodle and Canvas build them (their folder and file
names, the worksheet's headers and date format), with member times set; no kernel runs and nbgrader's
commands are never run, so every test is fast."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest
from helpers import run_autograder
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.collect import CollectError, collect, format_report, gradebook_emails
from autograder.collect.worksheet import moodle_time, read_worksheet
from autograder.coursedir import open_course
from autograder.roster import CANVAS, MOODLE, read_roster

A = "tiny"
NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=timezone.utc)  # when collect runs, in most tests
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in March
AMELIA = "Amelia Hart_418201_assignsubmission_file_"
OMAR = "Omar Haddad_418202_assignsubmission_file_"


def notebook(answer: str = "x = 1") -> bytes:
    nb = new_notebook(cells=[new_code_cell(answer, id="answer", metadata={"nbgrader": {
        "grade_id": "answer", "solution": True, "grade": False, "locked": False, "schema_version": 3}})])
    return nbformat.writes(nb).encode()


OLD, NEW = notebook("x = 'old'"), notebook("x = 'new'")


def lms_zip(path: Path, members: list[tuple[str, tuple, bytes]], stored: bool = False) -> Path:
    """A download as the LMS makes it: each member with its (naive) time."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        for name, when, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """The least nbgrader needs: a config and the assignment's release notebook (no gradebook yet)."""
    course = tmp_path / "course"
    (course / "release" / A).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    (course / "release" / A / f"{A}.ipynb").write_bytes(notebook("# YOUR CODE HERE"))
    return course


def gather(course: Path, download: Path, **options):
    return collect(course, A, download, [A], now=options.pop("now", NOW), **options)


def reasons(report) -> dict[str, str]:
    return {u.source: u.reason for u in report.unplaced}


def stamp(course: Path, student: str) -> Path:
    return course / "submitted" / student / A / "timestamp.txt"


# --- who and when, from each LMS's naming -----------------------------------------------------------


def test_moodle_names_folders_and_the_time_of_its_zip(tmp_path, course):
    download = lms_zip(tmp_path / "moodle.zip", [
        (f"{AMELIA}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        (f"{OMAR}/Copy of {A}.ipynb", (2026, 3, 1, 10, 0, 5), OLD),
        ("Participant_418203_assignsubmission_file_/tiny.ipynb", (2026, 3, 1, 10, 0, 9), OLD),  # blind marking
    ])
    report = gather(course, download, zone=BERLIN)
    roster = read_roster(course, A)
    assert {s: (r.lms, r.full_name, r.folder) for s, r in roster.items()} == {
        "418201": (MOODLE, "Amelia Hart", AMELIA), "418202": (MOODLE, "Omar Haddad", OMAR),
        "418203": (MOODLE, None, "Participant_418203_assignsubmission_file_")}
    amelia = roster["418201"]
    # the member time, read in Berlin's zone, kept in UTC as the zip's time: never as the hand-in's
    assert amelia.zip_time == "2026-03-01T09:00:00+00:00"
    assert amelia.submitted_at is None and not stamp(course, "418201").exists()
    assert amelia.files == {A: f"{A}.ipynb"} and roster["418202"].files == {A: f"Copy of {A}.ipynb"}
    assert amelia.download == str(download) and amelia.collected_at == "2026-03-10T12:00:00+00:00"
    assert amelia.names == ("Amelia", "Hart")
    assert (amelia.submission_id, amelia.resubmission, amelia.late) == (None, None, False)
    text = format_report(report)
    assert "Moodle's download has none" in text and "--worksheet WORKSHEET.csv" in text


def test_moodle_flat_download_keeps_the_prefix_as_spelled(tmp_path, course):
    download = lms_zip(tmp_path / "moodle.zip", [(f"{AMELIA}{A} (1).ipynb", (2026, 3, 1, 10, 0, 0), NEW)])
    gather(course, download)
    record = read_roster(course, A)["418201"]
    assert (record.folder, record.files) == (AMELIA, {A: f"{A} (1).ipynb"})


def test_canvas_late_resubmission_and_file_ids(tmp_path, course):
    download = lms_zip(tmp_path / "canvas.zip", [
        (f"lovelaceada_5001_90001_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        (f"turingalan_LATE_5002_90007_{A}-2.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        ("turingalan_LATE_5002_90006_notes.pdf", (2026, 3, 1, 10, 0, 0), b"%PDF"),
    ])
    report = gather(course, download, zone=timezone.utc)
    roster = read_roster(course, A)
    ada, alan = roster["5001"], roster["5002"]
    assert (ada.lms, ada.full_name, ada.folder, ada.submission_id, ada.resubmission, ada.late) == (
        CANVAS, "lovelaceada", "lovelaceada_5001_90001_", 90001, 0, False)
    assert (alan.folder, alan.submission_id, alan.resubmission, alan.late) == (
        "turingalan_LATE_5002_90007_", 90007, 2, True)
    assert alan.files == {A: f"{A}-2.ipynb"} and alan.submitted_at is None
    assert alan.names == ("", "turingalan")
    text = format_report(report)
    assert "turingalan, Canvas, LATE, resubmission 2" in text
    assert "lovelaceada, Canvas, hand-in time not in the download" in text
    # LATE is never silent: listed with what can be done, and no time is made up for it
    late_section = text.split("Marked LATE by Canvas (", 1)[1].split("\n\n", 1)[0]
    assert "nbgrader's late penalty cannot apply" in late_section and "Late Policies" in late_section
    assert "timestamp.txt by hand" in late_section
    assert [line.split() for line in late_section.splitlines()[1:]] == [["5002", "turingalan"]]
    assert not stamp(course, "5002").exists() and not stamp(course, "5001").exists()


def test_a_nbgrader_timestamp_in_a_plain_download_becomes_timestamp_txt(tmp_path, course):
    download = tmp_path / "exchange"
    (download / "alice").mkdir(parents=True)
    (download / "alice" / f"{A}.ipynb").write_bytes(NEW)
    (download / "alice" / "timestamp.txt").write_text("2026-03-02 10:00:00.250000 CET")  # UTC+1
    (download / "bob").mkdir()
    (download / "bob" / f"{A}.ipynb").write_bytes(NEW)
    (download / "bob" / "timestamp.txt").write_text("the day after the deadline")
    (download / "carol.zip").write_bytes(zip_of({f"carol/{A}.ipynb": NEW, "carol/timestamp.txt": b"2020-01-01 UTC"}))
    report = gather(course, download)
    written = stamp(course, "alice").read_text()
    assert written == "2026-03-02 09:00:00.250000 UTC"
    assert parse_utc(written) == datetime(2026, 3, 2, 9, 0, 0, 250000)
    assert open_course(course).timestamp("alice", A) == datetime(2026, 3, 2, 9, 0, 0, 250000)
    assert read_roster(course, A)["alice"].submitted == datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=timezone.utc)
    why = reasons(report)
    assert "which is not a time nbgrader reads" in why["bob/timestamp.txt"]
    assert not stamp(course, "bob").exists() and not stamp(course, "carol").exists()  # a student's own zip: not taken
    assert why["carol.zip/carol/timestamp.txt"].startswith("ignored:")
    assert {p.student for p in report.placed} == {"alice", "bob", "carol"}


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


# --- each name read one way, and never from a student's own naming ------------------------------------


def test_a_canvas_file_named_like_moodles_folders_stays_its_senders(tmp_path, course):
    # Moodle makes "_" in a name " ", so its name part holds none: a Canvas name never reads as Moodle's.
    download = lms_zip(tmp_path / "canvas.zip", [
        (f"turingalan_5002_90007_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        (f"lovelaceada_5001_90009_x_5002_assignsubmission_file_{A}.ipynb", (2026, 3, 1, 10, 0, 0), OLD),
    ])
    report = gather(course, download)
    assert files(course / "submitted") == {f"5001/{A}/{A}.ipynb": OLD, f"5002/{A}/{A}.ipynb": NEW}
    assert not report.unplaced
    roster = read_roster(course, A)
    assert {s: (r.lms, r.full_name) for s, r in roster.items()} == {
        "5001": (CANVAS, "lovelaceada"), "5002": (CANVAS, "turingalan")}
    assert roster["5001"].files == {A: f"x_5002_assignsubmission_file_{A}.ipynb"}


def test_moodle_41_folders_without_the_last_underscore(tmp_path, course):
    # Moodle 4.1+ (mod/assign/classes/downloader.php) names the folder "..._assignsubmission_file".
    folder = "Amelia Hart_418201_assignsubmission_file"
    gather(course, lms_zip(tmp_path / "moodle.zip", [(f"{folder}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)]))
    assert files(course / "submitted") == {f"418201/{A}/{A}.ipynb": NEW}
    record = read_roster(course, A)["418201"]
    assert (record.lms, record.full_name, record.folder) == (MOODLE, "Amelia Hart", folder)


def test_one_id_under_two_names_places_neither(tmp_path, course):
    # A Canvas name may end in "_<digits>" (Canvas folds only "_<digits>_" inside it): "smithbob_5002"
    # handing in as user 99999 reads as user 5002 with file id 99999, above the real 5002's file id.
    download = lms_zip(tmp_path / "canvas.zip", [
        (f"turingalan_5002_90007_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        (f"smithbob_5002_99999_90009_{A}.ipynb", (2026, 3, 1, 10, 0, 0), OLD),
        (f"lovelaceada_5001_90001_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
    ])
    report = gather(course, download)
    assert files(course / "submitted") == {f"5001/{A}/{A}.ipynb": NEW}
    why = reasons(report)
    for name in (f"turingalan_5002_90007_{A}.ipynb", f"smithbob_5002_99999_90009_{A}.ipynb"):
        assert why[name].startswith("Canvas user id 5002 comes with 2 names in this download ('smithbob', "
                                    "'turingalan')")
        assert "place that student's file by hand" in why[name]
    assert "5002" not in read_roster(course, A)


def test_a_download_is_one_lmss_names_of_the_other_are_not_read(tmp_path, course):
    download = tmp_path / "mixed"
    for name in (f"lovelaceada_5001_90001_{A}.ipynb", f"turingalan_5002_90002_{A}.ipynb",
                 f"{AMELIA}/{A}.ipynb"):
        (download / name).parent.mkdir(parents=True, exist_ok=True)
        (download / name).write_bytes(NEW)
    report = gather(course, download)
    assert sorted(files(course / "submitted")) == [f"5001/{A}/{A}.ipynb", f"5002/{A}/{A}.ipynb"]
    assert reasons(report)[f"{AMELIA}/{A}.ipynb"].startswith(
        "named the way Moodle names hand-ins, in a download that holds 2 Canvas and 1 Moodle students' names")


def test_a_zip_a_student_handed_in_never_names_another_student(tmp_path, course):
    # One student's folder, collected alone; in it, the zip the student handed in, named like Moodle's
    # folder of another student (and holding another Moodle folder, for good measure).
    late = tmp_path / "late" / "5001"
    late.mkdir(parents=True)
    lms_zip(late / f"{OMAR}.zip", [(f"{A}.ipynb", (2026, 3, 5, 8, 0, 0), OLD)])
    lms_zip(tmp_path / "work.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 3, 5, 8, 0, 0), NEW)])
    report = gather(course, late.parent)
    assert [(p.student, p.source) for p in report.placed] == [("5001", f"5001/{OMAR}.zip/{A}.ipynb")]
    assert read_roster(course, A)["5001"].lms is None
    # the same folder, zipped by the instructor, with a zip of Moodle folders in it
    download = lms_zip(tmp_path / "5002.zip", [("5002/work.zip", (2026, 3, 5, 8, 0, 0),
                                                (tmp_path / "work.zip").read_bytes())])
    report = gather(course, download)
    assert [p.student for p in report.placed] == ["5002"]
    assert sorted(files(course / "submitted")) == [f"5001/{A}/{A}.ipynb", f"5002/{A}/{A}.ipynb"]


# --- the newest hand-in wins -------------------------------------------------------------------------


def test_an_older_moodle_download_collected_after_a_newer_one_is_refused(tmp_path, course):
    newer = lms_zip(tmp_path / "moodle-2.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)])
    older = lms_zip(tmp_path / "moodle-1.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 2, 27, 9, 0, 0), OLD)])
    gather(course, newer)
    report = gather(course, older, now=datetime(2026, 3, 11, tzinfo=timezone.utc))
    assert not report.placed
    [refused] = report.unplaced
    assert refused.older
    assert refused.reason.startswith(f"older than the hand-in already in submitted/418201/{A}/ (from a Moodle "
                                     "download made")
    assert f"copy this file there as {A}.ipynb by hand" in refused.reason
    assert files(course / "submitted") == {f"418201/{A}/{A}.ipynb": NEW}
    assert read_roster(course, A)["418201"].download == str(newer)
    assert not (course / "collected" / A / "replaced").exists()


def test_a_newer_moodle_download_replaces_and_keeps_the_older_aside(tmp_path, course):
    older = lms_zip(tmp_path / "moodle-1.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 2, 27, 9, 0, 0), OLD)])
    newer = lms_zip(tmp_path / "moodle-2.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)])
    gather(course, older, now=datetime(2026, 3, 1, tzinfo=timezone.utc))
    report = gather(course, newer)
    assert files(course / "submitted") == {f"418201/{A}/{A}.ipynb": NEW}
    aside = course / "collected" / A / "replaced" / "418201" / "2026-03-10T12-00-00Z"
    assert (aside / f"{A}.ipynb").read_bytes() == OLD  # byte for byte
    assert json.loads((aside / "record.json").read_text())["download"] == str(older)
    [placed] = report.placed
    assert f"kept in collected/{A}/replaced/418201/2026-03-10T12-00-00Z/" in placed.note
    assert "could not tell" not in placed.note
    assert read_roster(course, A)["418201"].download == str(newer)


def test_canvas_file_ids_decide_before_the_zips_times(tmp_path, course):
    # Canvas built the older download's zip later (a re-download), but its file id is the lower one.
    newer = lms_zip(tmp_path / "canvas-2.zip", [(f"hoppergrace_5003_90010_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)])
    older = lms_zip(tmp_path / "canvas-1.zip", [(f"hoppergrace_5003_90003_{A}.ipynb", (2026, 3, 5, 10, 0, 0), OLD)])
    gather(course, newer)
    report = gather(course, older)
    assert [u.older for u in report.unplaced] == [True]
    assert "Canvas file id 90003 against 90010" in report.unplaced[0].reason
    assert files(course / "submitted") == {f"5003/{A}/{A}.ipynb": NEW}
    assert read_roster(course, A)["5003"].submission_id == 90010


def test_timestamp_txt_orders_hand_ins_and_goes_aside_with_the_replaced_one(tmp_path, course):
    def exchange(name: str, data: bytes, when: str) -> Path:
        folder = tmp_path / name / "alice"
        folder.mkdir(parents=True)
        (folder / f"{A}.ipynb").write_bytes(data)
        (folder / "timestamp.txt").write_text(when)
        return folder.parent

    first = exchange("first", OLD, "2026-03-01 10:00:00.000000 UTC")
    later = exchange("later", NEW, "2026-03-02 10:00:00.000000 UTC")
    earliest = exchange("earliest", notebook("x = 'earliest'"), "2026-02-01 10:00:00.000000 UTC")
    gather(course, first, now=datetime(2026, 3, 5, tzinfo=timezone.utc))
    gather(course, later)
    aside = course / "collected" / A / "replaced" / "alice" / "2026-03-10T12-00-00Z"
    assert files(aside) == {f"{A}.ipynb": OLD, "timestamp.txt": b"2026-03-01 10:00:00.000000 UTC",
                            "record.json": (aside / "record.json").read_bytes()}
    assert parse_utc(stamp(course, "alice").read_text()) == datetime(2026, 3, 2, 10, 0)
    report = gather(course, earliest)
    assert "handed in 2026-02-01 10:00:00 UTC against 2026-03-02 10:00:00 UTC" in report.unplaced[0].reason
    assert files(course / "submitted") == {f"alice/{A}/{A}.ipynb": NEW,
                                           f"alice/{A}/timestamp.txt": b"2026-03-02 10:00:00.000000 UTC"}


def test_a_hand_in_placed_by_hand_with_a_timestamp_is_compared_by_it(tmp_path, course):
    held = course / "submitted" / "alice" / A
    held.mkdir(parents=True)
    (held / f"{A}.ipynb").write_bytes(NEW)
    (held / "timestamp.txt").write_text("2026-03-02 10:00:00 UTC")
    download = tmp_path / "d" / "alice"
    download.mkdir(parents=True)
    (download / f"{A}.ipynb").write_bytes(OLD)
    (download / "timestamp.txt").write_text("2026-03-01 10:00:00 UTC")
    report = gather(course, download.parent)
    assert not report.placed and report.unplaced[0].older
    assert (held / f"{A}.ipynb").read_bytes() == NEW


def test_when_nothing_orders_them_the_last_collected_wins_and_the_report_says_so(tmp_path, course):
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "alice.ipynb").write_bytes(OLD)
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "alice.ipynb").write_bytes(NEW)
    gather(course, tmp_path / "first", now=datetime(2026, 3, 1, tzinfo=timezone.utc))
    report = gather(course, tmp_path / "second")
    [placed] = report.placed
    assert "could not tell which is newer" in placed.note and "collected last, replaced it" in placed.note
    assert (course / "submitted" / "alice" / A / f"{A}.ipynb").read_bytes() == NEW
    assert (course / "collected" / A / "replaced" / "alice" / "2026-03-10T12-00-00Z" / f"{A}.ipynb").read_bytes() == OLD


def test_collecting_the_same_download_again_changes_nothing(tmp_path, course):
    download = lms_zip(tmp_path / "canvas.zip", [(f"lovelaceada_5001_90001_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)])
    gather(course, download)
    report = gather(course, download, now=datetime(2026, 3, 11, tzinfo=timezone.utc))
    assert [p.note for p in report.placed] == ["unchanged"] and not report.unplaced
    assert not (course / "collected" / A / "replaced").exists()


def test_a_plain_folder_after_an_lms_download_keeps_the_students_lms_identity(tmp_path, course):
    canvas = lms_zip(tmp_path / "canvas.zip", [(f"lovelaceada_LATE_5001_90001_{A}.ipynb", (2026, 3, 5, 8, 0, 0), NEW)])
    moodle = lms_zip(tmp_path / "moodle.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 3, 5, 8, 0, 0), OLD)])
    gather(course, canvas)
    gather(course, moodle)
    before = read_roster(course, A)
    fix = tmp_path / "fix"
    (fix / "5001").mkdir(parents=True)
    (fix / "5001" / f"{A}.ipynb").write_bytes(NEW)  # byte for byte the Canvas hand-in
    (fix / "418201").mkdir()
    (fix / "418201" / f"{A}.ipynb").write_bytes(NEW)  # a hand-in the instructor mended
    report = gather(course, fix, now=datetime(2026, 3, 11, tzinfo=timezone.utc))
    assert [p.note for p in report.placed][1] == "unchanged"
    after = read_roster(course, A)
    identity = ("lms", "full_name", "folder", "submission_id", "resubmission", "late", "email")
    for student in ("5001", "418201"):
        assert [getattr(after[student], f) for f in identity] == [getattr(before[student], f) for f in identity]
        assert after[student].download == str(fix)
    assert after["5001"].zip_time == before["5001"].zip_time  # the same bytes: the same download held them
    assert after["418201"].zip_time is None  # new bytes: Moodle's download never held them
    assert files(course / "submitted")[f"418201/{A}/{A}.ipynb"] == NEW


def test_two_files_nothing_orders_the_one_named_like_the_notebook_wins(tmp_path, course):
    download = lms_zip(tmp_path / "class.zip", [
        (f"alice/{A}.ipynb", (2026, 3, 5, 8, 0, 0), NEW),
        (f"alice/Copy of {A}.ipynb", (2026, 3, 5, 8, 0, 0), OLD),  # later in the zip, the same time
    ])
    report = gather(course, download)
    assert files(course / "submitted") == {f"alice/{A}/{A}.ipynb": NEW}
    [placed] = report.placed
    assert "taken over 1 other file(s) for tiny.ipynb that nothing orders against it" in placed.note
    reason = reasons(report)[f"alice/Copy of {A}.ipynb"]
    assert reason.startswith(f"'alice/{A}.ipynb' is {A}.ipynb too, and nothing tells which of the two was handed "
                             "in later")
    assert f"that one was taken, as it is named {A}.ipynb" in reason and "a later hand-in" not in reason


def test_in_moodles_zip_a_students_later_file_was_uploaded_later(tmp_path, course):
    # Moodle's file plugin lists a student's files by "timemodified", and its zip stamps all of them alike.
    download = lms_zip(tmp_path / "moodle.zip", [
        (f"{AMELIA}/{A}.ipynb", (2026, 3, 5, 8, 0, 0), OLD),
        (f"{AMELIA}/{A} (1).ipynb", (2026, 3, 5, 8, 0, 0), NEW),  # Moodle's rename of a second upload
    ])
    report = gather(course, download)
    assert files(course / "submitted") == {f"418201/{A}/{A}.ipynb": NEW}
    assert reasons(report)[f"{AMELIA}/{A}.ipynb"].startswith(
        f"superseded by '{AMELIA}/{A} (1).ipynb' as {A}.ipynb, uploaded after it (Moodle's download lists each "
        "student's files in the order they were uploaded)")


def test_within_one_download_the_later_canvas_file_wins_whatever_its_place(tmp_path, course):
    download = lms_zip(tmp_path / "canvas.zip", [
        (f"lovelaceada_5001_90020_{A}-1.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        (f"lovelaceada_5001_90010_{A}.ipynb", (2026, 3, 1, 10, 0, 0), OLD),
    ])
    report = gather(course, download)
    assert files(course / "submitted") == {f"5001/{A}/{A}.ipynb": NEW}
    assert reasons(report)[f"lovelaceada_5001_90010_{A}.ipynb"].startswith("superseded by")
    assert read_roster(course, A)["5001"].resubmission == 1


# --- Moodle's grading worksheet: the hand-in times -------------------------------------------------------

# As Moodle's grading table downloads it (mod/assign/gradingtable.php, file submissions and feedback comments,
# no marking workflow): a UTF-8 byte order mark, these headers, times as userdate() writes them in English.
WORKSHEET_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
DUE = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)  # 1 p.m. in Berlin
MADE = (2026, 3, 5, 10, 0, 0)  # when Moodle made the zips below (member times, read in Berlin's zone)
CHLOE = "Participant_418203_assignsubmission_file_"  # anonymous submissions: no name in the folder


def moodle_row(participant: str, name: str, submitted: str, status: str = "Submitted for grading") -> list[str]:
    email = name.split()[0].lower() + "@example.edu" if name else ""
    return [f"Participant {participant}", name, email, status, "", "6.00", "Yes", submitted, "-", ""]


def worksheet(path: Path, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([WORKSHEET_HEADER, *rows])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    return path


def class_worksheet(path: Path) -> Path:
    """418201 on time, 418202 late, 418203 (anonymous in the zip) on time, 418204 handed in nothing."""
    return worksheet(path, [
        moodle_row("418201", "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM"),
        moodle_row("418202", "Omar Haddad", "Monday, 2 March 2026, 9:05 AM",
                   "Submitted for grading - 20 hours 5 mins late"),
        moodle_row("418203", "Chloé Martin", "Sunday, 1 March 2026, 12:59 PM"),
        moodle_row("418204", "Ravi Shah", "-", "No submission"),
    ])


def class_zip(path: Path, made: tuple = MADE) -> Path:
    return lms_zip(path, [(f"{AMELIA}/{A}.ipynb", made, NEW), (f"{OMAR}/{A}.ipynb", made, NEW),
                          (f"{CHLOE}/{A}.ipynb", made, NEW)])


def seconds_late(course: Path, student: str) -> float:
    """What nbgrader's late penalty works from: the hand-in's timestamp.txt against the due date."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        if not any(a.name == A for a in gb.assignments):
            gb.add_assignment(A, duedate=DUE.replace(tzinfo=None))
        gb.update_or_create_student(student)
        when = open_course(course).timestamp(student, A)
        return gb.add_submission(A, student, timestamp=when).total_seconds_late


def test_the_worksheet_gives_each_moodle_hand_in_its_time_read_in_the_zone_given(tmp_path, course, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    report = gather(course, class_zip(tmp_path / "moodle.zip"), zone=BERLIN,
                    worksheet=class_worksheet(tmp_path / "worksheet.csv"))
    # Berlin is UTC+1 in March: the times are an hour earlier in UTC, as nbgrader reads timestamp.txt
    expected = {"418201": datetime(2026, 3, 1, 10, 40), "418202": datetime(2026, 3, 2, 8, 5),
                "418203": datetime(2026, 3, 1, 11, 59)}
    assert {s: parse_utc(stamp(course, s).read_text()) for s in expected} == expected
    roster = read_roster(course, A)
    assert {s: roster[s].submitted for s in expected} == {s: t.replace(tzinfo=timezone.utc)
                                                          for s, t in expected.items()}
    assert seconds_late(course, "418202") == (8 * 60 + 5 - 12 * 60 + 24 * 60) * 60  # 20 h 5 min after 12:00 UTC
    assert seconds_late(course, "418201") == 0 and seconds_late(course, "418203") == 0
    # names: the folder's, else (anonymous submissions) the worksheet's; e-mail addresses from the worksheet
    assert {s: (r.full_name, r.email) for s, r in roster.items()} == {
        "418201": ("Amelia Hart", "amelia@example.edu"), "418202": ("Omar Haddad", "omar@example.edu"),
        "418203": ("Chloé Martin", "chloé@example.edu")}
    assert roster["418203"].names == ("Chloé", "Martin")
    assert not report.warnings and not report.problems
    text = format_report(report)
    assert "read in Europe/Berlin (--timezone)" in text and "to the minute" in text
    assert "1 participant(s) have no submission in the worksheet: Participant 418204" in text
    assert "418202  Omar Haddad, Moodle, handed in 2026-03-02 08:05:00 UTC" in text


def test_worksheet_rows_and_hand_ins_that_do_not_match_are_listed(tmp_path, course):
    download = lms_zip(tmp_path / "moodle.zip", [
        (f"{AMELIA}/{A}.ipynb", MADE, NEW),  # on the worksheet
        ("Tomás Ortiz_418209_assignsubmission_file_/tiny.ipynb", MADE, NEW),  # a hand-in with no row
    ])
    sheet = worksheet(tmp_path / "worksheet.csv", [
        moodle_row("418201", "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM"),
        moodle_row("418202", "Omar Haddad", "Monday, 2 March 2026, 9:05 AM"),  # handed in, not in this zip
    ])
    report = gather(course, download, zone=BERLIN, worksheet=sheet)
    assert {p.student for p in report.placed} == {"418201", "418209"}  # the hand-in with no row is placed
    assert stamp(course, "418201").exists() and not stamp(course, "418209").exists()
    [warning] = report.warnings
    assert warning.startswith("418209: the worksheet has no row for Participant 418209")
    text = format_report(report)
    assert "Placed without a hand-in time" in text
    assert ("Participant 418202 (Omar Haddad): the worksheet says handed in Monday, 2 March 2026, 9:05 AM, but "
            "this download holds no hand-in of theirs") in text


def test_a_zip_made_before_the_worksheets_time_does_not_take_it(tmp_path, course):
    # The student handed in again after the zip was made: its file is the earlier one, the time the later.
    early_zip = class_zip(tmp_path / "moodle.zip", made=(2026, 3, 2, 9, 0, 0))  # 08:00 UTC, before 08:05
    report = gather(course, early_zip, zone=BERLIN, worksheet=class_worksheet(tmp_path / "worksheet.csv"))
    assert not stamp(course, "418202").exists() and read_roster(course, A)["418202"].submitted_at is None
    [warning] = report.warnings
    assert warning.startswith("418202: the worksheet says the submission was last changed Monday, 2 March 2026, "
                              "9:05 AM (line 3), after the zip was made (2026-03-02 08:00:00 UTC)")
    assert stamp(course, "418201").exists()  # the others' times stand


def test_collecting_the_same_zip_again_with_the_worksheet_adds_the_times(tmp_path, course):
    download = class_zip(tmp_path / "moodle.zip")
    gather(course, download, zone=BERLIN)
    assert not stamp(course, "418202").exists()
    report = gather(course, download, zone=BERLIN, worksheet=class_worksheet(tmp_path / "worksheet.csv"),
                    now=datetime(2026, 3, 11, tzinfo=timezone.utc))
    assert {p.note for p in report.placed} == {"unchanged"}
    assert parse_utc(stamp(course, "418202").read_text()) == datetime(2026, 3, 2, 8, 5)
    assert read_roster(course, A)["418202"].email == "omar@example.edu"
    assert not (course / "collected" / A / "replaced").exists()


def test_the_worksheets_times_decide_which_moodle_hand_in_is_newest(tmp_path, course):
    # Both zips carry the same member time, so only the worksheets can order the two hand-ins.
    older = lms_zip(tmp_path / "moodle-1.zip", [(f"{AMELIA}/{A}.ipynb", MADE, OLD)])
    newer = lms_zip(tmp_path / "moodle-2.zip", [(f"{AMELIA}/{A}.ipynb", MADE, NEW)])
    first = worksheet(tmp_path / "worksheet-1.csv", [moodle_row("418201", "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM")])
    second = worksheet(tmp_path / "worksheet-2.csv", [moodle_row("418201", "Amelia Hart", "Tuesday, 3 March 2026, 8:00 AM")])
    gather(course, older, zone=BERLIN, worksheet=first, now=datetime(2026, 3, 6, tzinfo=timezone.utc))
    report = gather(course, newer, zone=BERLIN, worksheet=second)
    [placed] = report.placed
    assert "replaced an earlier hand-in" in placed.note and "could not tell" not in placed.note
    aside = course / "collected" / A / "replaced" / "418201" / "2026-03-10T12-00-00Z"
    assert files(aside)[f"{A}.ipynb"] == OLD and files(aside)["timestamp.txt"] == b"2026-03-01 10:40:00.000000 UTC"
    again = gather(course, older, zone=BERLIN, worksheet=first, now=datetime(2026, 3, 12, tzinfo=timezone.utc))
    [refused] = again.unplaced
    assert refused.older and "handed in 2026-03-01 10:40:00 UTC against 2026-03-03 07:00:00 UTC" in refused.reason
    assert files(course / "submitted") == {f"418201/{A}/{A}.ipynb": NEW,
                                           f"418201/{A}/timestamp.txt": b"2026-03-03 07:00:00.000000 UTC"}


def test_moodle_times_as_userdate_writes_them():
    assert moodle_time("Sunday, 1 March 2026, 12:05 AM", BERLIN) == (datetime(2026, 2, 28, 23, 5, tzinfo=timezone.utc),
                                                                    None)
    assert moodle_time("Sunday, 01 March 2026, 12:05 pm", BERLIN)[0] == datetime(2026, 3, 1, 11, 5, tzinfo=timezone.utc)
    # Berlin's clocks went back at 3 a.m. on 25 October 2026: 2:30 happened twice; the earlier is taken
    when, note = moodle_time("Sunday, 25 October 2026, 2:30 AM", BERLIN)
    assert when == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc) and "happened twice" in note
    assert moodle_time("Sunday, 25 October 2026, 2:30 AM", timezone.utc)[1] is None


def test_a_participant_twice_in_the_worksheet_is_refused(tmp_path):
    sheet = worksheet(tmp_path / "worksheet.csv", [moodle_row("418201", "Amelia Hart", "-")] * 2)
    with pytest.raises(CollectError, match="line 3: Participant 418201 again \\(first on line 2\\)"):
        read_worksheet(sheet, BERLIN)


@pytest.mark.parametrize(("cell", "why"), [
    ("01/03/2026 11:40", "not a time as Moodle writes it"),  # saved again by a spreadsheet program
    ("Monday, 1 March 2026, 11:40 AM", "01 March 2026 was a Sunday, not a Monday"),
    ("Sunday, 1 Marzo 2026, 11:40 AM", "'Marzo' is not a month's name in English"),
    ("Sunday, 29 March 2026, 2:30 AM", "does not exist in the zone"),  # Berlin's clocks skip 2-3 a.m. that day
])
def test_a_bad_worksheet_stops_collect_before_anything_is_written(tmp_path, course, cell, why):
    sheet = worksheet(tmp_path / "worksheet.csv", [
        moodle_row("418201", "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM"),
        moodle_row("418202", "Omar Haddad", cell),
    ])
    with pytest.raises(CollectError) as error:
        gather(course, class_zip(tmp_path / "moodle.zip"), zone=BERLIN, worksheet=sheet)
    message = str(error.value)
    assert f"line 3 (Participant 418202): Last modified (submission) {cell!r}: " in message and why in message
    assert "nothing was collected" in message
    assert not (course / "submitted").exists() and not (course / "collected").exists()


def test_a_worksheet_that_is_not_moodles_in_english_is_refused(tmp_path, course):
    german = tmp_path / "bewertung.csv"
    german.write_text("ID,Vollständiger Name,Status,Zuletzt geändert (Abgabe)\nTeilnehmer/in 418201,A,-,-\n")
    with pytest.raises(CollectError, match="is not Moodle's grading worksheet in English: its first line has no "
                                           "'Identifier' or 'Last modified \\(submission\\)' column"):
        gather(course, class_zip(tmp_path / "moodle.zip"), worksheet=german)
    canvas = lms_zip(tmp_path / "canvas.zip", [(f"lovelaceada_5001_90001_{A}.ipynb", MADE, NEW)])
    with pytest.raises(CollectError, match="holds no hand-in named the way Moodle's download names them"):
        gather(course, canvas, worksheet=class_worksheet(tmp_path / "worksheet.csv"))
    assert not (course / "submitted").exists() and not (course / "collected").exists()


# --- damaged downloads ---------------------------------------------------------------------------------


def test_a_truncated_zip_is_named_damaged(tmp_path, course):
    whole = lms_zip(tmp_path / "whole.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)]).read_bytes()
    cut = tmp_path / "moodle.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CollectError, match="is a damaged zip: .*cut short.*Download it again from the LMS"):
        gather(course, cut)


def test_a_file_named_zip_that_is_none_is_named_damaged(tmp_path, course):
    page = tmp_path / "submissions.zip"
    page.write_text("<html>Your session has expired</html>")
    with pytest.raises(CollectError, match="is a damaged zip: it is named .zip but holds no zip"):
        gather(course, page)


def test_a_bad_crc_is_named_damaged_for_the_file(tmp_path, course):
    download = lms_zip(tmp_path / "moodle.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW)], stored=True)
    data = bytearray(download.read_bytes())
    data[data.index(b"x = 'new'")] ^= 0x01  # one bit of the notebook, as a bad transfer would flip it
    download.write_bytes(bytes(data))
    report = gather(course, download)
    assert not report.placed
    assert reasons(report)[f"{AMELIA}/{A}.ipynb"].startswith("damaged in the download (Bad CRC-32")


# --- the command: exit statuses, the gradebook's names ---------------------------------------------------


def run(course: Path, download: Path, *options: str):
    return run_autograder(course, "collect", A, str(download), *options)


def test_exit_statuses_and_names_in_the_gradebook(tmp_path, course, monkeypatch):
    # An instructor's class list already names 418202: collect must not rename them.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("418202", first_name="Omar", last_name="Haddad-Rossi")
    newer = lms_zip(tmp_path / "moodle-2.zip", [
        (f"{AMELIA}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        (f"{OMAR}/{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
    ])
    done = run(course, newer, "--timezone", "UTC")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "418201  Amelia Hart, Moodle" in done.stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        people = {s.id: (s.first_name, s.last_name, s.lms_user_id) for s in gb.students}
    assert people == {"418201": ("Amelia", "Hart", "418201"), "418202": ("Omar", "Haddad-Rossi", "418202")}

    older = lms_zip(tmp_path / "moodle-1.zip", [(f"{AMELIA}/{A}.ipynb", (2026, 2, 1, 10, 0, 0), OLD)])
    done = run(course, older, "--timezone", "UTC")
    assert done.returncode == 1, done.stdout + done.stderr  # nothing placed
    assert "every hand-in in it is older than the one already collected" in done.stderr

    some = lms_zip(tmp_path / "canvas.zip", [
        (f"lovelaceada_5001_90001_{A}.ipynb", (2026, 3, 1, 10, 0, 0), NEW),
        ("lovelaceada_5001_90002_notes.pdf", (2026, 3, 1, 10, 0, 0), b"%PDF"),
    ])
    done = run(course, some)
    assert done.returncode == 3, done.stdout + done.stderr  # placed, but a file needs a person

    junk = lms_zip(tmp_path / "junk.zip", [("turingalan_5002_90003_notes.pdf", (2026, 3, 1, 10, 0, 0), b"%PDF")])
    done = run(course, junk)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fix them and collect again" in done.stderr

    cut = tmp_path / "cut.zip"
    cut.write_bytes(newer.read_bytes()[:100])
    done = run(course, cut)
    assert done.returncode == 2 and "is a damaged zip" in done.stderr and "Download it again" in done.stderr

    done = run(course, newer, "--timezone", "Mars/Olympus_Mons")
    assert done.returncode == 2 and "no time zone this machine knows" in done.stderr


def test_the_command_takes_the_worksheet_in_the_zone_given(tmp_path, course, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # an address the class list already gave
        gb.add_student("418201", email="a.hart@uni.example")
    download, sheet = class_zip(tmp_path / "moodle.zip"), class_worksheet(tmp_path / "worksheet.csv")
    bad = worksheet(tmp_path / "bad.csv", [moodle_row("418201", "Amelia Hart", "2026-03-01 11:40")])
    done = run(course, download, "--worksheet", str(bad), "--timezone", "America/New_York")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "line 2 (Participant 418201): Last modified (submission) '2026-03-01 11:40'" in done.stderr
    assert not (course / "submitted").exists()

    # The same wall-clock times, read in New York (UTC-5 on 1 March 2026, before its clocks go forward)
    done = run(course, download, "--worksheet", str(sheet), "--timezone", "America/New_York")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "read in America/New_York (--timezone)" in done.stdout
    assert parse_utc(stamp(course, "418202").read_text()) == datetime(2026, 3, 2, 14, 5)
    assert parse_utc(stamp(course, "418201").read_text()) == datetime(2026, 3, 1, 16, 40)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        people = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    assert people["418203"] == ("Chloé", "Martin", "chloé@example.edu")  # anonymous in the zip: the worksheet's
    assert people["418201"] == ("Amelia", "Hart", "a.hart@uni.example")  # an address already there stays


# --- one student id per person: --student-ids email ------------------------------------------------------
# Moodle's participant id is one assignment's (mod/assign/locallib.php, get_uniqueid_for_user_static: a row
# of assign_user_mapping per assignment and user), so the same person comes with another id in each download.

SECOND = "second"  # another assignment of the course, with the same notebook
AMELIA_2 = "Amelia Hart_52017_assignsubmission_file_"  # Amelia in the second assignment
OMAR_2 = "Omar Haddad_52018_assignsubmission_file_"
PARTICIPANT_HINT_START = "Student ids: Moodle's participant ids, which belong to this assignment alone"


def with_email(row: list[str], email: str) -> list[str]:
    return [*row[:2], email, *row[3:]]


def pair_downloads(tmp_path: Path, first: tuple[str, str], second: tuple[str, str], emails: tuple[str, str],
                   name: str) -> tuple[Path, Path]:
    """A zip of Amelia's and Omar's hand-ins under the participant ids given, and its worksheet."""
    download = lms_zip(tmp_path / f"{name}.zip", [(f"{first[0]}/{A}.ipynb", MADE, NEW),
                                                   (f"{second[0]}/{A}.ipynb", MADE, OLD)])
    sheet = worksheet(tmp_path / f"{name}.csv", [
        with_email(moodle_row(first[1], "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM"), emails[0]),
        with_email(moodle_row(second[1], "Omar Haddad", "Monday, 2 March 2026, 9:05 AM"), emails[1]),
    ])
    return download, sheet


def by_email(course: Path, assignment: str, download: Path, sheet: Path | None, known=None, **options):
    return collect(course, assignment, download, [A], now=options.pop("now", NOW), zone=BERLIN, worksheet=sheet,
                   student_ids="email", gradebook=lambda: known or {}, **options)


def test_one_person_in_two_assignments_is_one_student_by_email(tmp_path, course):
    first = pair_downloads(tmp_path, (AMELIA, "418201"), (OMAR, "418202"),
                           ("A.Hart@Uni.Example", "omar@example.edu"), "first")
    second = pair_downloads(tmp_path, (AMELIA_2, "52017"), (OMAR_2, "52018"),
                            ("a.hart@uni.example", "Omar@Example.edu"), "second")
    report = by_email(course, A, *first)
    by_email(course, SECOND, *second)
    # one folder per person, with both assignments in it: formgrader and the CSV list each of them once
    assert set(files(course / "submitted")) == {
        f"{student}/{assignment}/{name}" for student in ("a.hart@uni.example", "omar@example.edu")
        for assignment in (A, SECOND) for name in (f"{A}.ipynb", "timestamp.txt")}
    # each assignment's participant id is kept for the way back, with the folder Moodle named
    one, two = read_roster(course, A), read_roster(course, SECOND)
    assert {s: (r.lms_id, r.folder, r.email) for s, r in one.items()} == {
        "a.hart@uni.example": ("418201", AMELIA, "A.Hart@Uni.Example"),
        "omar@example.edu": ("418202", OMAR, "omar@example.edu")}
    assert {s: r.lms_id for s, r in two.items()} == {"a.hart@uni.example": "52017", "omar@example.edu": "52018"}
    # the worksheet's rows are found by participant id: each hand-in got its own time
    assert parse_utc(stamp(course, "omar@example.edu").read_text()) == datetime(2026, 3, 2, 8, 5)
    assert one["a.hart@uni.example"].submitted == datetime(2026, 3, 1, 10, 40, tzinfo=timezone.utc)
    assert not report.warnings and not report.problems
    text = format_report(report)
    assert "a.hart@uni.example (Participant 418201)  Amelia Hart, Moodle, handed in 2026-03-01 10:40:00 UTC" in text
    assert "omar@example.edu (Participant 418202)" in text and PARTICIPANT_HINT_START not in text


def test_a_gradebook_student_with_the_address_keeps_their_id(tmp_path, course):
    download, sheet = pair_downloads(tmp_path, (AMELIA, "418201"), (OMAR, "418202"),
                                     ("a.hart@uni.example", "omar@example.edu"), "first")
    known = {"s1234567": "A.HART@uni.example ", "s7654321": None, "s0000001": "someone@else.example"}
    report = by_email(course, A, download, sheet, known)
    assert sorted(read_roster(course, A)) == ["omar@example.edu", "s1234567"]
    assert read_roster(course, A)["s1234567"].lms_id == "418201"
    assert {p.student for p in report.placed} == {"s1234567", "omar@example.edu"}
    assert "s1234567 (Participant 418201)" in format_report(report)


def test_the_same_assignment_collected_again_by_email_stays_one_student(tmp_path, course):
    older = lms_zip(tmp_path / "moodle-1.zip", [(f"{AMELIA}/{A}.ipynb", MADE, OLD)])
    newer = lms_zip(tmp_path / "moodle-2.zip", [(f"{AMELIA}/{A}.ipynb", MADE, NEW)])
    first = worksheet(tmp_path / "worksheet-1.csv", [moodle_row("418201", "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM")])
    second = worksheet(tmp_path / "worksheet-2.csv", [moodle_row("418201", "Amelia Hart", "Tuesday, 3 March 2026, 8:00 AM")])
    by_email(course, A, older, first)
    report = by_email(course, A, newer, second, now=datetime(2026, 3, 11, tzinfo=timezone.utc))
    [placed] = report.placed
    assert placed.student == "amelia@example.edu" and "replaced an earlier hand-in" in placed.note
    assert files(course / "submitted") == {f"amelia@example.edu/{A}/{A}.ipynb": NEW,
                                           f"amelia@example.edu/{A}/timestamp.txt": b"2026-03-03 07:00:00.000000 UTC"}
    assert (course / "collected" / A / "replaced" / "amelia@example.edu").is_dir()
    # a mended hand-in in a plain folder keeps the student's participant id for the way back
    fix = tmp_path / "fix" / "amelia@example.edu"
    fix.mkdir(parents=True)
    (fix / f"{A}.ipynb").write_bytes(notebook("x = 'mended'"))
    gather(course, fix.parent, now=datetime(2026, 3, 12, tzinfo=timezone.utc))
    record = read_roster(course, A)["amelia@example.edu"]
    assert (record.lms, record.lms_id, record.folder) == (MOODLE, "418201", AMELIA)


def refused(course: Path, *args, **options) -> str:
    with pytest.raises(CollectError) as error:
        by_email(course, A, *args, **options)
    assert not (course / "submitted").exists() and not (course / "collected").exists()  # nothing written
    return str(error.value)


def test_email_ids_need_a_worksheet_with_addresses(tmp_path, course):
    download = class_zip(tmp_path / "moodle.zip")
    assert "give the assignment's worksheet with --worksheet WORKSHEET.csv" in refused(course, download, None)
    hidden = tmp_path / "hidden.csv"  # anonymous submissions, or a site that shows no identity fields
    columns = [c for c in WORKSHEET_HEADER if c != "Email address"]
    hidden.write_text(",".join(columns) + "\nParticipant 418201,Amelia Hart,Submitted for grading,,6.00,Yes,"
                                          "\"Sunday, 1 March 2026, 11:40 AM\",-,\n")
    message = refused(course, download, hidden)
    assert "has no 'Email address' column" in message and "Show user identity" in message
    assert "anonymous submissions" in message and "collect without --student-ids email" in message


@pytest.mark.parametrize(("emails", "why"), [
    (("amelia@example.edu", "Amelia@Example.EDU"), ("Participant 418202 (Omar Haddad, line 3) has the same address "
                                                    "(Amelia@Example.EDU) as Participant 418201 (Amelia Hart, line 2)")),
    (("amelia@example.edu", ""), "Participant 418202 (Omar Haddad, line 3) has no e-mail address"),
    (("amelia@example.edu", "o'neil@example.edu"), "\"o'neil@example.edu\" is not usable as a student id"),
])
def test_addresses_that_cannot_tell_a_student_are_refused(tmp_path, course, emails, why):
    download, sheet = pair_downloads(tmp_path, (AMELIA, "418201"), (OMAR, "418202"), emails, "first")
    message = refused(course, download, sheet)
    assert why in message and "nothing was collected" in message


def test_a_hand_in_without_a_row_or_sharing_an_id_is_refused(tmp_path, course):
    download = lms_zip(tmp_path / "moodle.zip", [(f"{AMELIA}/{A}.ipynb", MADE, NEW),
                                                 ("Tomás Ortiz_418209_assignsubmission_file_/tiny.ipynb", MADE, NEW)])
    sheet = worksheet(tmp_path / "worksheet.csv", [moodle_row("418201", "Amelia Hart", "-")])
    assert "Participant 418209 handed in, but the worksheet has no row for them" in refused(course, download, sheet)
    # a plain folder in the download named like a participant's address
    plain = lms_zip(tmp_path / "mixed.zip", [(f"{AMELIA}/{A}.ipynb", MADE, NEW),
                                             (f"amelia@example.edu/{A}.ipynb", MADE, OLD)])
    assert (f"Participant 418201 and amelia@example.edu/{A}.ipynb would share the student id amelia@example.edu"
            in refused(course, plain, sheet))


def test_the_gradebooks_addresses_must_tell_one_student(tmp_path, course):
    download, sheet = pair_downloads(tmp_path, (AMELIA, "418201"), (OMAR, "418202"),
                                     ("a.hart@uni.example", "omar@example.edu"), "first")
    twice = {"s1": "a.hart@uni.example", "s2": "A.Hart@uni.example"}
    assert "the gradebook has 2 students with the address a.hart@uni.example (s1, s2)" in refused(
        course, download, sheet, twice)
    taken = {"omar@example.edu": "omar.haddad@elsewhere.example"}  # that id is someone with another address
    assert ("the gradebook's student omar@example.edu has another address (omar.haddad@elsewhere.example)"
            in refused(course, download, sheet, taken))


def test_an_assignment_keeps_one_kind_of_id(tmp_path, course):
    sheet = worksheet(tmp_path / "one.csv", [moodle_row("418201", "Amelia Hart", "Sunday, 1 March 2026, 11:40 AM")])
    amelia = lms_zip(tmp_path / "amelia.zip", [(f"{AMELIA}/{A}.ipynb", MADE, NEW)])
    gather(course, amelia, zone=BERLIN, worksheet=sheet)  # participant ids
    before = files(course)
    with pytest.raises(CollectError, match="Participant 418201 is student 418201 in collected/tiny/roster.json "
                                           "\\(collected with --student-ids participant\\), and would now be "
                                           "amelia@example.edu"):
        by_email(course, A, amelia, sheet)
    assert files(course) == before
    # the other way round: by e-mail first, then a download collected without --student-ids email
    other = tmp_path / "other"
    (other / "release" / A).mkdir(parents=True)
    by_email(other, A, amelia, sheet)
    before = files(other)
    with pytest.raises(CollectError, match="Participant 418201 is student amelia@example.edu in collected/tiny/"
                                           "roster.json \\(collected with --student-ids email\\), and would now "
                                           "be 418201"):
        gather(other, class_zip(tmp_path / "moodle.zip"))
    assert files(other) == before


def test_participant_ids_stay_the_default_with_one_hint(tmp_path, course):
    report = gather(course, class_zip(tmp_path / "moodle.zip"), zone=BERLIN,
                    worksheet=class_worksheet(tmp_path / "worksheet.csv"))
    roster = read_roster(course, A)
    assert sorted(roster) == ["418201", "418202", "418203"]
    assert all(r.lms_id is None for r in roster.values())
    hints = [n for n in report.notes if n.startswith(PARTICIPANT_HINT_START)]
    assert len(hints) == 1 and "\n" not in hints[0] and "--student-ids email" in hints[0]
    text = format_report(report)
    assert text.count("Student ids:") == 1 and "418201  Amelia Hart, Moodle" in text
    canvas = lms_zip(tmp_path / "canvas.zip", [(f"lovelaceada_5001_90001_{A}.ipynb", MADE, NEW)])
    assert "Student ids:" not in format_report(gather(course, canvas))  # Canvas's user ids are the course's


def test_a_roster_written_before_lms_id_still_loads(tmp_path, course):
    path = course / "collected" / A / "roster.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"assignment": A, "students": {"418201": {
        "student": "418201", "lms": "moodle", "full_name": "Amelia Hart", "folder": AMELIA}}}))
    record = read_roster(course, A)["418201"]
    assert (record.lms_id, record.full_name) == (None, "Amelia Hart")


def test_looking_for_addresses_makes_no_gradebook(course):
    assert gradebook_emails(f"sqlite:///{course / 'gradebook.db'}", "default_course") == {}
    assert not (course / "gradebook.db").exists()


def test_the_command_by_email_with_a_class_list_in_the_gradebook(tmp_path, course, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    download, sheet = pair_downloads(tmp_path, (AMELIA, "418201"), (OMAR, "418202"),
                                     ("A.Hart@uni.example", "omar@example.edu"), "first")
    done = run(course, download, "--student-ids", "email", "--timezone", "Europe/Berlin")
    assert done.returncode == 2, done.stdout + done.stderr  # no worksheet: refused
    assert "--worksheet WORKSHEET.csv" in done.stderr and not (course / "submitted").exists()
    assert not (course / "gradebook.db").exists()  # not even made, to look for addresses

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # the class list the instructor imported
        gb.add_student("s1234567", first_name="Amelia", last_name="Hart", email="a.hart@uni.example")
    done = run(course, download, "--worksheet", str(sheet), "--student-ids", "email", "--timezone", "Europe/Berlin")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "s1234567 (Participant 418201)" in done.stdout and "Student ids:" not in done.stdout
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["omar@example.edu", "s1234567"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        people = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
    # a participant id is not the person's LMS id across the course: lms_user_id is left alone
    assert people == {"s1234567": ("Amelia", "Hart", "a.hart@uni.example", None),
                      "omar@example.edu": ("Omar", "Haddad", "omar@example.edu", None)}
