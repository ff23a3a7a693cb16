"""Files the grader writes belong to the course's owner, with the permissions an
ordinary write gives: after `sudo autograder grade`, the instructor's own
`report`, `export` and formgrader read what it wrote.

A real ordinary user (helpers.ORDINARY_USER) owns a real course; the grading
runs as root, as the instructors' guide says to run it, and what follows runs
as that user."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    folder_of,
    give_to,
    hand_in_notebook,
    make_course,
    ordinary_user,
    run_autograder,
    run_autograder_as,
    submit,
)

from autograder.files import give_to_course_owner, write_atomically

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="files change owner only when the grader runs as root")


@pytest.fixture
def owned_course():
    """An empty course folder of the ordinary user's, under /tmp."""
    user = ordinary_user()
    place = folder_of(user)
    course = place / "course"
    course.mkdir()
    give_to(course, user)
    yield user, course
    shutil.rmtree(place, ignore_errors=True)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_file_written_atomically_has_the_mode_an_ordinary_write_gives(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_atomically(tmp_path / "new" / "atomic.txt", b"data")
        (tmp_path / "plain.txt").write_bytes(b"data")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new" / "atomic.txt").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "new" / "atomic.txt").stat().st_mode) == \
        stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["atomic.txt"]  # no temporary file left


def test_a_file_written_atomically_replaces_the_old_one_whole(tmp_path):
    write_atomically(tmp_path / "f.txt", b"old")
    write_atomically(tmp_path / "f.txt", b"new and longer")
    assert (tmp_path / "f.txt").read_bytes() == b"new and longer"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@needs_root
def test_as_root_what_the_grader_made_in_a_course_becomes_its_owners(owned_course):
    user, course = owned_course
    mine = (user.pw_uid, user.pw_gid)
    folder = course / "autograded" / "alice" / ASSIGNMENT
    write_atomically(folder / "alice.ipynb", b"{}")
    write_atomically(folder / "autograder.json", b"{}")
    (course / "reports").mkdir()  # root's, but above nothing given: left alone
    give_to_course_owner(folder, course)
    for path in (course / "autograded", course / "autograded" / "alice", folder, folder / "alice.ipynb",
                 folder / "autograder.json"):
        assert (path.stat().st_uid, path.stat().st_gid) == mine, path
    assert (course / "reports").stat().st_uid == 0


@needs_root
def test_as_root_nothing_outside_the_course_changes_owner(owned_course, tmp_path):
    _, course = owned_course
    outside = tmp_path / "gradebook.db"
    outside.write_bytes(b"")
    give_to_course_owner(outside, course)
    assert outside.stat().st_uid == 0


@needs_root
def test_a_course_of_roots_keeps_what_root_wrote(tmp_path):
    course = tmp_path / "course"
    write_atomically(course / "autograded" / "a" / "x.json", b"{}")
    give_to_course_owner(course / "autograded" / "a", course)
    assert (course / "autograded" / "a" / "x.json").stat().st_uid == 0


@pytest.mark.slow
@needs_root
def test_after_grading_with_sudo_the_owner_reports_and_exports_as_themselves(owned_course):
    user, course = owned_course
    shutil.rmtree(course)
    make_course(course)
    submit(course, "alice", hand_in_notebook(course))
    give_to(course, user)
    graded = run_autograder(course, "grade", ASSIGNMENT, "--cold", "--timeout", "60")
    assert graded.returncode == 0, graded.stderr[-3000:]

    made = [course / "gradebook.db", *sorted((course / "autograded").rglob("*"))]
    assert len(made) > 3
    assert all(path.stat().st_uid == user.pw_uid for path in made), \
        [str(p) for p in made if p.stat().st_uid != user.pw_uid]
    home = {"HOME": str(course)}
    export = run_autograder_as(user, course, "export", ASSIGNMENT, "--output", "-", env=home)
    assert export.returncode == 0, export.stderr[-3000:]
    assert export.stdout.splitlines()[1].startswith("alice,")
    report = run_autograder_as(user, course, "report", ASSIGNMENT, env=home)
    assert report.returncode == 0, report.stderr[-3000:]
    assert any(Path(course / "reports").glob(f"{ASSIGNMENT}*.html"))
