"""collect: LMS downloads become submitted/<student>/<assignment>/<notebook>.ipynb."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.collect import (
    CollectError,
    CollectReport,
    Limits,
    collect,
    format_report,
    match_name,
    templates_from,
)
from autograder.handin import read_submission

A = "02_backward"


def template(name: str) -> nbformat.NotebookNode:
    """A tiny release notebook: a locked question, a solution cell and a test cell, ids from `name`."""
    def cell(make, source, grade_id, solution):
        meta = {"grade_id": f"{name}_{grade_id}", "locked": not solution, "solution": solution,
                "grade": grade_id.startswith("test"), "schema_version": 3}
        if meta["grade"]:
            meta["points"] = 1
        return make(source, metadata={"nbgrader": meta})
    nb = new_notebook(cells=[
        cell(new_markdown_cell, f"## {name}: compute the gradient", "question", False),
        cell(new_code_cell, "def grad(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()", "answer", True),
        cell(new_code_cell, f"assert grad(2.0) == 4.0  # {name}", "test_grad", False),
    ])
    for i, c in enumerate(nb.cells):
        c.id = f"{name}-{i}"  # fixed, so equal hand-ins are equal bytes
    return nb


def handin(name: str = A, answer: str = "return 2 * x", strip_metadata: bool = False) -> bytes:
    """A student's copy of `template(name)` with an answer; Colab may have dropped the metadata."""
    nb = template(name)
    nb.cells[1].source = f"def grad(x):\n    {answer}"
    if strip_metadata:
        for c in nb.cells:
            c.metadata = {}
    return nbformat.writes(nb).encode()


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def make_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    course.mkdir()
    return course


def submitted(course: Path) -> dict[str, bytes]:
    root = course / "submitted"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def reasons(report: CollectReport) -> dict[str, str]:
    return {u.source: u.reason for u in report.unplaced}


# --- name matching -------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", [
    "02_backward.ipynb", "Copy of 02_backward.ipynb", "02_backward (1).ipynb", "02_backward(2).ipynb",
    "02_backward-1.ipynb", "02_backward.ipynb.ipynb", "02_Backward.IPYNB", "02 backward.ipynb",
    "02-backward.ipynb", "02_backward-checkpoint.ipynb", "Copy of 02_backward (1).ipynb",
    "02_backward - Copy.ipynb", "02_backward copy 2.ipynb", "02_backward.ipynb.txt",
])
def test_browser_colab_and_canvas_renames_are_matched(file_name):
    assert match_name(file_name, ["01_requires_grad", A]) == A


def test_a_name_ending_in_a_number_is_not_confused_with_a_canvas_suffix():
    assert match_name("lab-1 (1).ipynb", ["lab", "lab-1"]) == "lab-1"
    assert match_name("lab-1.ipynb", ["lab"]) == "lab"
    assert match_name("03_accumulation.ipynb", [A]) is None


# --- LMS formats ---------------------------------------------------------------------------------


def test_moodle_folder_per_student(tmp_path, course):
    download = make_zip(tmp_path / "moodle.zip", {
        "Alice Smith_101_assignsubmission_file_/02_backward.ipynb": handin(),
        "Bob Jones_102_assignsubmission_file_/Copy of 02_backward (1).ipynb": handin(answer="return x + x"),
        "Bob Jones_102_assignsubmission_file_/notes.pdf": b"%PDF",
        "Carol Diaz_103_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
        "__MACOSX/Alice Smith_101_assignsubmission_file_/._02_backward.ipynb": b"\0",
        "Alice Smith_101_assignsubmission_file_/.DS_Store": b"\0",
    })
    report = collect(course, A, download, [A])
    assert set(submitted(course)) == {f"101/{A}/{A}.ipynb", f"102/{A}/{A}.ipynb"}
    assert submitted(course)[f"102/{A}/{A}.ipynb"] == handin(answer="return x + x")
    notes = {p.student: p.note for p in report.placed}
    assert notes == {"101": None, "102": "renamed from 'Copy of 02_backward (1).ipynb'"}
    why = reasons(report)
    assert "not a notebook (.pdf)" in why["Bob Jones_102_assignsubmission_file_/notes.pdf"]
    assert "not a notebook (.html)" in why["Carol Diaz_103_assignsubmission_onlinetext_/onlinetext.html"]
    assert why["__MACOSX/Alice Smith_101_assignsubmission_file_/._02_backward.ipynb"].startswith("ignored:")
    assert why["Alice Smith_101_assignsubmission_file_/.DS_Store"].startswith("ignored:")
    assert len(report.problems) == 2


def test_moodle_flat(tmp_path, course):
    download = make_zip(tmp_path / "moodle.zip", {
        "Alice Smith_101_assignsubmission_file_02_backward.ipynb": handin(),
        "José García_102_assignsubmission_file_02_backward (1).ipynb": handin(),
    })
    report = collect(course, A, download, [A])
    assert {p.student for p in report.placed} == {"101", "102"}
    assert not report.unplaced


def test_canvas_flat_with_late_and_resubmissions(tmp_path, course):
    download = make_zip(tmp_path / "canvas.zip", {
        "smithalice_2001_9001_02_backward.ipynb": handin(),
        "jonesbob_LATE_2002_9002_02_backward-1.ipynb": handin(),
        # Two files for one notebook: the higher submission id is the later one.
        "diazcarol_2003_9010_02_backward.ipynb": handin(answer="return x"),
        "diazcarol_2003_9020_02_backward-1.ipynb": handin(answer="return 2 * x"),
    })
    report = collect(course, A, download, [A])
    assert {p.student for p in report.placed} == {"2001", "2002", "2003"}
    assert submitted(course)[f"2003/{A}/{A}.ipynb"] == handin(answer="return 2 * x")
    assert reasons(report)["diazcarol_2003_9010_02_backward.ipynb"].startswith(
        "superseded by 'diazcarol_2003_9020_02_backward-1.ipynb'")


def test_moodle_keeps_the_later_of_two_files_for_one_notebook(tmp_path, course):
    download = make_zip(tmp_path / "moodle.zip", {
        "Alice Smith_101_assignsubmission_file_/02_backward.ipynb": handin(answer="return x"),
        "Alice Smith_101_assignsubmission_file_/02_backward (1).ipynb": handin(answer="return 2 * x"),
    })
    report = collect(course, A, download, [A])
    assert submitted(course)[f"101/{A}/{A}.ipynb"] == handin(answer="return 2 * x")
    assert "superseded by" in reasons(report)["Alice Smith_101_assignsubmission_file_/02_backward.ipynb"]


def test_moodle_keeps_the_newer_file_whatever_its_place_in_the_zip(tmp_path, course):
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as z:
        folder = "Alice Smith_101_assignsubmission_file_/"
        z.writestr(zipfile.ZipInfo(folder + "Copy of 02_backward.ipynb", (2024, 3, 2, 10, 0, 0)),
                   handin(answer="return 2 * x"))
        z.writestr(zipfile.ZipInfo(folder + "02_backward.ipynb", (2024, 3, 1, 10, 0, 0)), handin(answer="return x"))
    report = collect(course, A, download, [A])
    assert submitted(course)[f"101/{A}/{A}.ipynb"] == handin(answer="return 2 * x")
    assert "superseded by" in reasons(report)[folder + "02_backward.ipynb"]


def test_plain_folder_of_student_id_notebooks(tmp_path, course):
    download = make_folder(tmp_path / "hand-ins", {"alice.ipynb": handin(), "bob.ipynb": handin()})
    report = collect(course, A, download, [f"{A}.ipynb"])
    assert set(submitted(course)) == {f"alice/{A}/{A}.ipynb", f"bob/{A}/{A}.ipynb"}
    assert report.placed[0].note == "renamed from 'alice.ipynb'"


def test_student_id_notebooks_need_folders_when_the_assignment_has_several(tmp_path, course):
    download = make_folder(tmp_path / "hand-ins", {"alice.ipynb": handin()})
    report = collect(course, A, download, ["part1", "part2"])
    assert not report.placed
    assert "alice/<notebook>.ipynb" in reasons(report)["alice.ipynb"]


def test_a_top_level_file_named_like_the_notebook_has_no_student(tmp_path, course):
    download = make_folder(tmp_path / "hand-ins", {"02_backward.ipynb": handin(), "bob.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert "rename it to <student_id>.ipynb" in reasons(report)["02_backward.ipynb"]
    assert [p.student for p in report.placed] == ["bob"]


def test_plain_folders_with_several_notebooks(tmp_path, course):
    download = make_zip(tmp_path / "class.zip", {
        "alice/part1.ipynb": handin("part1"),
        "alice/Copy of part2.ipynb": handin("part2"),
        "bob/part1 (1).ipynb": handin("part1"),
        "bob/scratch.ipynb": handin("part1"),
        "bob/helper.py": b"x = 1",
    })
    report = collect(course, "hw", download, ["part1", "part2"])
    assert set(submitted(course)) == {"alice/hw/part1.ipynb", "alice/hw/part2.ipynb", "bob/hw/part1.ipynb"}
    why = reasons(report)
    assert "matches none of the assignment's notebooks" in why["bob/scratch.ipynb"]
    assert "Python script" in why["bob/helper.py"]


def test_a_zip_with_one_top_level_folder(tmp_path, course):
    download = make_zip(tmp_path / "class.zip", {
        "submissions/alice/02_backward.ipynb": handin(),
        "submissions/bob/02_backward.ipynb": handin(),
        "__MACOSX/submissions/._bob": b"\0",
    })
    report = collect(course, A, download, [A])
    assert {p.student for p in report.placed} == {"alice", "bob"}


def test_a_zip_with_one_student_folder_keeps_the_student(tmp_path, course):
    download = make_zip(tmp_path / "alice.zip", {"alice/Copy of 02_backward.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert [p.student for p in report.placed] == ["alice"]


def test_a_wrapper_folder_of_student_id_notebooks(tmp_path, course):
    download = make_zip(tmp_path / "class.zip", {"hw2/alice.ipynb": handin(), "hw2/bob.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert {p.student for p in report.placed} == {"alice", "bob"}


def test_nested_zips(tmp_path, course):
    lms = zip_bytes({
        # A student who zipped the notebook before uploading it to Moodle.
        "Alice Smith_101_assignsubmission_file_/homework.zip": zip_bytes({"work/02_backward.ipynb": handin()}),
        "Bob Jones_102_assignsubmission_file_/02_backward.ipynb": handin(),
    })
    # The instructor zipped the LMS download again.
    download = make_zip(tmp_path / "outer.zip", {"moodle-download.zip": lms})
    report = collect(course, A, download, [A])
    assert {p.student for p in report.placed} == {"101", "102"}
    assert report.placed[0].source == (
        "moodle-download.zip/Alice Smith_101_assignsubmission_file_/homework.zip/work/02_backward.ipynb")


def test_a_folder_of_student_zips(tmp_path, course):
    download = make_folder(tmp_path / "zips", {
        "alice.zip": zip_bytes({"02_backward.ipynb": handin()}),
        "bob.zip": zip_bytes({"bob/02_backward (1).ipynb": handin()}),
        "carol.zip": b"not a zip",
    })
    report = collect(course, A, download, [A])
    assert {p.student for p in report.placed} == {"alice", "bob"}
    assert "not a readable zip" in reasons(report)["carol.zip"]


def test_a_students_folder_holding_their_own_zip_stays_the_students(tmp_path, course):
    # Folders inside a zip the student handed in are the student's own, never student folders.
    download = make_folder(tmp_path / "late", {"alice/homework.zip": zip_bytes({"work/02_backward.ipynb": handin()})})
    report = collect(course, A, download, [A])
    assert [(p.student, p.source) for p in report.placed] == [("alice", "alice/homework.zip/work/02_backward.ipynb")]


def test_zips_nested_too_deep_are_refused(tmp_path, course):
    inner = zip_bytes({"alice/02_backward.ipynb": handin()})
    download = make_zip(tmp_path / "d.zip", {"a.zip": zip_bytes({"b.zip": inner})})
    report = collect(course, A, download, [A], limits=Limits(nesting=1))
    assert not report.placed
    assert "nested more than 1 deep" in reasons(report)["a.zip/b.zip"]


# --- matching by content and the only-notebook rule ------------------------------------------------


def test_matched_by_content_when_the_name_says_nothing(tmp_path, course):
    download = make_folder(tmp_path / "d", {
        "alice/untitled.ipynb": handin("part2"),
        "alice/Untitled1.ipynb": handin("part1", strip_metadata=True),  # Colab dropped the metadata
        "bob/untitled.ipynb": nbformat.writes(new_notebook(cells=[new_code_cell("print(1)")])).encode(),
    })
    templates = {"part1": template("part1"), "part2.ipynb": template("part2")}
    report = collect(course, "hw", download, ["part1", "part2"], templates)
    assert set(submitted(course)) == {"alice/hw/part1.ipynb", "alice/hw/part2.ipynb"}
    assert all("matched by content" in (p.note or "") for p in report.placed)
    assert "its content matches none" in reasons(report)["bob/untitled.ipynb"]


def test_templates_from_a_release_folder(tmp_path, course):
    release = tmp_path / "release" / "hw"
    release.mkdir(parents=True)
    for name in ("part1", "part2"):
        nbformat.write(template(name), release / f"{name}.ipynb")
    templates = templates_from(release)
    assert sorted(templates) == ["part1", "part2"]
    download = make_folder(tmp_path / "d", {"alice/Untitled.ipynb": handin("part2"), "bob/x.ipynb": handin()})
    report = collect(course, "hw", download, sorted(templates), templates)
    assert set(submitted(course)) == {"alice/hw/part2.ipynb"}
    assert "its content matches none" in reasons(report)["bob/x.ipynb"]


def test_the_only_notebook_of_a_one_notebook_assignment_is_taken(tmp_path, course):
    download = make_folder(tmp_path / "d", {"alice/my homework.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert set(submitted(course)) == {f"alice/{A}/{A}.ipynb"}
    assert "the only notebook handed in" in report.placed[0].note


def test_two_unmatched_notebooks_are_not_guessed(tmp_path, course):
    download = make_folder(tmp_path / "d", {"alice/a.ipynb": handin(), "alice/b.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert not report.placed
    assert len(report.problems) == 2


# --- what is not a hand-in -------------------------------------------------------------------------


def test_unreadable_notebooks_are_listed(tmp_path, course):
    download = make_folder(tmp_path / "d", {
        "alice/02_backward.ipynb": b"{ not json",
        "bob/02_backward.ipynb": b'{"hello": 1}',
        "carol/02_backward.ipynb": b"\xff\xfe\x00",
    })
    report = collect(course, A, download, [A])
    assert not report.placed
    assert all(r.startswith("not a readable notebook: ") for r in reasons(report).values())
    assert len(report.unplaced) == 3


def test_a_utf16_notebook_is_placed_and_grade_reads_it(tmp_path, course):
    utf16 = handin().decode().encode("utf-16")  # with a byte order mark, as some Windows editors save
    assert utf16.startswith((b"\xff\xfe", b"\xfe\xff"))
    download = make_folder(tmp_path / "d", {"alice/02_backward.ipynb": utf16})
    report = collect(course, A, download, [A])
    assert not report.unplaced
    [placed] = report.placed
    assert placed.dest.read_bytes() == utf16
    assert read_submission(placed.dest).cells == nbformat.reads(handin().decode(), as_version=4).cells


def test_checkpoints_and_symlinks_are_listed_not_followed(tmp_path, course):
    secret = tmp_path / "gradebook.db"
    secret.write_bytes(handin())
    download = make_folder(tmp_path / "d", {
        "alice/02_backward.ipynb": handin(),
        "alice/.ipynb_checkpoints/02_backward-checkpoint.ipynb": handin(),
    })
    os.symlink(secret, download / "bob.ipynb")
    report = collect(course, A, download, [A])
    assert set(submitted(course)) == {f"alice/{A}/{A}.ipynb"}
    why = reasons(report)
    assert why["alice/.ipynb_checkpoints/02_backward-checkpoint.ipynb"].startswith("ignored: Jupyter")
    assert "symbolic link" in why["bob.ipynb"]


def test_unsafe_student_ids_are_refused(tmp_path, course):
    download = make_folder(tmp_path / "d", {"Alice Smith/02_backward.ipynb": handin(), "bob/x.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert "not usable as a student id" in reasons(report)["Alice Smith/02_backward.ipynb"]


# --- safety ----------------------------------------------------------------------------------------


def test_paths_in_a_zip_never_escape(tmp_path, course):
    gradebook = course / "gradebook.db"
    gradebook.write_bytes(b"grades")
    download = make_zip(tmp_path / "evil.zip", {
        "../../gradebook.db": b"pwned",
        "../gradebook.db": b"pwned",
        "/etc/alice.ipynb": handin(),
        "alice/../../../course/gradebook.db": b"pwned",
        "..\\..\\bob.ipynb": handin(),
        "C:/carol.ipynb": handin(),
        "dave/02_backward.ipynb": handin(),
    })
    before = {p for p in tmp_path.rglob("*")}
    report = collect(course, A, download, [A])
    assert gradebook.read_bytes() == b"grades"
    assert set(submitted(course)) == {f"dave/{A}/{A}.ipynb"}
    new = {p for p in tmp_path.rglob("*")} - before
    # the hand-ins, and the record of who handed them in (collected/<assignment>/roster.json)
    assert all(p.is_relative_to(course / "submitted") or p.is_relative_to(course / "collected") for p in new)
    unsafe = [u for u in report.unplaced if u.reason.startswith("unsafe path")]
    assert len(unsafe) == 6


def test_a_student_folder_named_dotdot_cannot_escape(tmp_path, course):
    download = make_zip(tmp_path / "d.zip", {"..a/02_backward.ipynb": handin(), ".../02_backward.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert not report.placed
    assert all("not usable as a student id" in r for r in reasons(report).values())


def test_a_symlink_planted_in_submitted_is_not_followed(tmp_path, course):
    outside = tmp_path / "outside"
    outside.mkdir()
    (course / "submitted").mkdir()
    os.symlink(outside, course / "submitted" / "alice")
    download = make_folder(tmp_path / "d", {"alice/02_backward.ipynb": handin()})
    report = collect(course, A, download, [A])
    assert not list(outside.iterdir())
    assert "leads outside submitted/" in reasons(report)["alice/02_backward.ipynb"]


def test_oversized_notebooks_are_refused(tmp_path, course):
    bomb = b'{"cells": [], "x": "' + b"0" * 10_000_000 + b'"}'  # compresses to a few kB
    download = tmp_path / "bomb.zip"
    with zipfile.ZipFile(download, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("alice/02_backward.ipynb", bomb)
    assert download.stat().st_size < 100_000
    report = collect(course, A, download, [A], limits=Limits(notebook_bytes=1000))
    assert not report.placed
    assert reasons(report)["alice/02_backward.ipynb"].startswith("too large (9.5 MB; the limit is 0 MB")


def test_a_download_that_unpacks_to_too_much_is_refused(tmp_path, course):
    download = make_folder(tmp_path / "d", {"alice.ipynb": handin(), "bob.ipynb": handin()})
    report = collect(course, A, download, [A], limits=Limits(total_bytes=len(handin()) + 10))
    assert len(report.placed) == 1
    assert "too much data" in reasons(report)["bob.ipynb"]


# --- writing ---------------------------------------------------------------------------------------


def test_collecting_again_replaces_or_leaves_unchanged(tmp_path, course):
    first = make_folder(tmp_path / "first", {"alice.ipynb": handin(), "bob.ipynb": handin()})
    collect(course, A, first, [A])
    second = make_folder(tmp_path / "second", {"alice.ipynb": handin(), "bob.ipynb": handin(answer="return x")})
    report = collect(course, A, second, [A])
    notes = {p.student: p.note for p in report.placed}
    assert notes["alice"] == "renamed from 'alice.ipynb'; unchanged"
    # nothing in a plain folder orders two hand-ins: the one collected last wins, the earlier is kept aside
    assert notes["bob"].startswith(f"renamed from 'bob.ipynb'; replaced an earlier hand-in; the earlier one kept "
                                   f"in collected/{A}/replaced/bob/")
    assert "could not tell which is newer" in notes["bob"]
    assert submitted(course)[f"bob/{A}/{A}.ipynb"] == handin(answer="return x")
    assert not [p for p in (course / "submitted").rglob("*") if p.name.endswith(".tmp")]


def test_other_notebooks_already_collected_are_kept(tmp_path, course):
    make_folder(course / "submitted", {"alice/hw/part2.ipynb": b"earlier"})
    download = make_folder(tmp_path / "d", {"alice/part1.ipynb": handin("part1")})
    collect(course, "hw", download, ["part1", "part2"])
    assert submitted(course) == {"alice/hw/part1.ipynb": handin("part1"), "alice/hw/part2.ipynb": b"earlier"}


def test_the_bytes_handed_in_are_kept(tmp_path, course):
    odd = handin().replace(b"\n", b"\r\n")  # Windows line ends: repair, not collect, normalises
    download = make_folder(tmp_path / "d", {"alice/02_backward.ipynb": odd})
    collect(course, A, download, [A])
    assert submitted(course)[f"alice/{A}/{A}.ipynb"] == odd


# --- errors and the report -------------------------------------------------------------------------


@pytest.mark.parametrize("name, content, message", [
    ("missing.zip", None, "does not exist"),
    ("hand-in.tar.gz", b"\x1f\x8b rest", "neither a folder nor a zip"),
    # An end record that promises one entry where there is none.
    ("broken.zip", b"PK\x05\x06" + bytes([0, 0, 0, 0, 1, 0, 1, 0, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
     "not a readable zip"),
])
def test_a_bad_path_says_what_to_do(tmp_path, course, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CollectError, match=message):
        collect(course, A, path, [A])


def test_an_empty_download_is_an_error(tmp_path, course):
    with pytest.raises(CollectError, match="holds no files"):
        collect(course, A, make_zip(tmp_path / "empty.zip", {}), [A])


def test_format_report(tmp_path, course):
    download = make_folder(tmp_path / "d", {
        "alice/Copy of 02_backward.ipynb": handin(), "bob/notes.pdf": b"%PDF", ".DS_Store": b"\0"})
    text = format_report(collect(course, A, download, [A]))
    assert text.splitlines()[0] == "1 notebook(s) placed for 1 student(s); 1 file(s) not placed; 1 ignored."
    assert f"submitted/alice/{A}/{A}.ipynb  <-  alice/Copy of 02_backward.ipynb" in text
    assert "bob/notes.pdf: not a notebook (.pdf)" in text
    assert ".DS_Store: operating-system file" in text
