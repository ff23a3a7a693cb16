"""formgrader, where a person reviews, and nbgrader's own autograde in a course
set up for the autograder (this repository's nbgrader_config.py).

- A real Jupyter server with nbgrader's formgrader, loaded in headless Chromium,
  shows a flagged submission as flagged ("Flagged?") and an honest one as not.
- `nbgrader autograde` (and formgrader's Autograde button, which runs it) runs
  student code only in the autograder's sandbox, flags what that run flags,
  writes an inert notebook under 10 MiB, and refuses to autograde over what
  `autograder grade` recorded. Without the course's settings, nbgrader runs the
  same hand-in with the grader's rights: the test that proves the sandbox is
  needed.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import nbformat
import pytest
from helpers import (
    ASSIGNMENT,
    CORRECT,
    WRONG,
    Formgrader,
    copy_course,
    graded_notebook,
    grades,
    hand_in_notebook,
    make_course,
    printed,
    run_autograder,
    sqlite_url,
    submit,
)
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.nbgrader_cli import NbgraderFailed, nbgrader

pytestmark = pytest.mark.slow

MIB = 2 ** 20
SCRIPT = "<script>window.pwned = true</script>"
CHEAT = ("def _drop_asserts(lines):\n    return [line for line in lines if 'assert' not in line]\n"
         "get_ipython().input_transformers_post.append(_drop_asserts)\n")
MARKER = "escaped.txt"  # what the probe tries to write into the course folder


def probe(course: Path) -> str:
    """Student code that reports where it runs, tries to write into the course, shows a script and
    floods its output (12 MiB on one line: nbgrader's LimitOutput counts lines)."""
    return (f"{CORRECT['double']}\nimport os\nfrom IPython.display import HTML, display\n"
            f"print('probe uid', os.getuid())\nprint('probe course', os.path.exists({str(course)!r}))\n"
            f"try:\n    open({str(course / MARKER)!r}, 'w').write('out')\n    print('probe wrote True')\n"
            f"except OSError:\n    print('probe wrote False')\n"
            f"display(HTML({SCRIPT + '<b>honest</b>'!r}))\nprint('x' * {12 * MIB})\n")


def hand_in(course: Path, student: str, double: str) -> None:
    submit(course, student, hand_in_notebook(course, {"double": double}))


def flagged(course: Path) -> dict[str, bool]:
    """student -> SubmittedNotebook.flagged, what formgrader's "Flagged?" column shows."""
    with Gradebook(sqlite_url(course)) as gb:
        return {s.student.id: any(nb.flagged for nb in s.notebooks) for s in gb.find_assignment(ASSIGNMENT).submissions}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("formgrader") / "course")


@pytest.fixture(scope="module")
def reviewed(pristine, tmp_path_factory) -> Path:
    """Two graded submissions, one flagged in the gradebook; the flagged one graded by `autograder grade`
    (its autograder.json), no kernels."""
    course = copy_course(pristine, tmp_path_factory, "reviewed")
    for student in ("mallory", "ada"):
        hand_in(course, student, CORRECT["double"])
        folder = course / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(hand_in_notebook(course), folder / f"{ASSIGNMENT}.ipynb")
    (course / "autograded" / "mallory" / ASSIGNMENT / "autograder.json").write_text('{"flags": ["a cheat"]}')
    with warnings.catch_warnings(), Gradebook(sqlite_url(course)) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's ORM predates SQLAlchemy 2
        for student in ("mallory", "ada"):
            gb.update_or_create_student(student)
            gb.update_or_create_submission(ASSIGNMENT, student)
        gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "mallory").flagged = True
        gb.db.commit()
    return course


def test_formgrader_shows_a_flagged_submission_as_flagged_and_the_other_not(reviewed):
    with Formgrader(reviewed) as server:
        assert server.flagged_column({"mallory", "ada"}) == {"mallory": True, "ada": False}


def test_formgraders_autograde_button_will_not_autograde_over_autograder_grade(reviewed):
    record = (reviewed / "autograded" / "mallory" / ASSIGNMENT / "autograder.json").read_text()
    with Formgrader(reviewed) as server:
        reply = server.post(f"/formgrader/api/submission/{ASSIGNMENT}/mallory/autograde")
    assert reply["success"] is False
    assert f"autograder grade {ASSIGNMENT} --student mallory" in reply["log"] + reply.get("error", "")
    assert (reviewed / "autograded" / "mallory" / ASSIGNMENT / "autograder.json").read_text() == record
    assert flagged(reviewed)["mallory"] is True


def test_formgraders_autograde_button_grades_a_new_hand_in_in_the_sandbox(pristine, tmp_path_factory):
    course = copy_course(pristine, tmp_path_factory, "button")
    hand_in(course, "newcomer", probe(course))
    with Formgrader(course) as server:
        reply = server.post(f"/formgrader/api/submission/{ASSIGNMENT}/newcomer/autograde")
    assert reply["success"] is True, reply.get("error")
    said = dict(line.split(" ", 1) for line in printed(graded_notebook(course, "newcomer"), "probe"))
    assert said["uid"] != "0" and (said["course"], said["wrote"]) == ("False", "False")
    assert not (course / MARKER).exists()
    assert grades(course, "newcomer")["test_derivative"] == (3.0, False)


def test_nbgrader_autograde_will_not_autograde_over_autograder_grade(reviewed):
    folder = reviewed / "autograded" / "mallory" / ASSIGNMENT
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(NbgraderFailed) as failed:
        nbgrader(reviewed, "autograde", ASSIGNMENT, "--force")
    said = str(failed.value)
    assert "stopped before it changed anything" in said and f"autograder grade {ASSIGNMENT} --student mallory" in said
    assert "--CourseDirectory.student_id_exclude=mallory" in said
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert flagged(reviewed)["mallory"] is True


# --------------------------------------------------------------------------- nbgrader autograde, sandboxed


@pytest.fixture(scope="module")
def autograded(pristine, tmp_path_factory) -> Path:
    """One real `nbgrader autograde` of a curious hand-in and a cheat, with the course's settings."""
    course = copy_course(pristine, tmp_path_factory, "autograded")
    hand_in(course, "curious", probe(course))
    hand_in(course, "cheat", WRONG["double"] + "\n" + CHEAT)
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return course


def test_nbgrader_autograde_runs_student_code_only_in_the_sandbox(autograded):
    said = dict(line.split(" ", 1) for line in printed(graded_notebook(autograded, "curious"), "probe"))
    assert said["uid"] != "0" and said == {"uid": said["uid"], "course": "False", "wrote": "False"}
    assert not (autograded / MARKER).exists()
    assert grades(autograded, "curious")["test_double"] == (2.0, False)  # and it was graded all the same


def test_nbgrader_autograde_writes_an_inert_notebook_under_ten_mib(autograded):
    path = autograded / "autograded" / "curious" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    outputs = json.dumps([c.get("outputs", []) for c in graded_notebook(autograded, "curious").cells])
    assert path.stat().st_size <= 10 * MIB
    assert "<b>honest</b>" in outputs and "window.pwned" not in outputs
    assert "The grader cut about 12.0 MiB" in outputs


def test_nbgrader_autograde_flags_a_cheat_for_formgrader(autograded):
    got = grades(autograded, "cheat")
    assert got["test_double"] == (0.0, True) and got["test_derivative"][1] is True
    assert flagged(autograded) == {"curious": False, "cheat": True}
    report = graded_notebook(autograded, "cheat").cells[0]
    assert report.cell_type == "markdown" and "input_transformers_post" in report.source


def test_without_the_course_settings_nbgrader_runs_student_code_with_your_rights(pristine, tmp_path_factory):
    # Proves the sandbox is needed: nbgrader's own Execute gives the hand-in the course folder.
    course = copy_course(pristine, tmp_path_factory, "plain")
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    hand_in(course, "curious", probe(course))
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    said = dict(line.split(" ", 1) for line in printed(graded_notebook(course, "curious"), "probe"))
    assert said == {"uid": str(os.getuid()), "course": "True", "wrote": "True"}
    assert (course / MARKER).read_text() == "out"


# --------------------------------------------------------------------------- autograder grade, then formgrader


def test_a_cheat_graded_by_autograder_grade_shows_as_flagged_in_formgrader(pristine, tmp_path_factory):
    course = copy_course(pristine, tmp_path_factory, "graded")
    hand_in(course, "ada", CORRECT["double"])
    hand_in(course, "mallory", WRONG["double"] + "\n" + CHEAT)
    run = run_autograder(course, "grade", ASSIGNMENT)
    assert run.returncode in (0, 3), run.stderr
    assert {gid: row for gid, row in grades(course, "mallory").items() if gid == "test_double"} == {
        "test_double": (0.0, True)}
    with Formgrader(course) as server:
        assert server.flagged_column({"ada", "mallory"}) == {"ada": False, "mallory": True}

