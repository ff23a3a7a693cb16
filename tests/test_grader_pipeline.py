"""The grader's fairness and its command's contract, on a tiny real nbgrader course.

Fair: an honest, correct hand-in gets full marks whatever Colab, Kaggle, VS Code,
the LMS or the student did to the file; what is not this assignment goes to a
person, never silently to 0; a file that cannot be read is a recorded failure,
and the batch goes on.

The contract: grading twice gives the same grades and keeps manual grades; a
student's grades are written all at once or not at all; the exit status says
whether the grader itself could work (not whether the students did); --student,
feedback, export and --help do what they say.

Everything is graded with the real command, in the real sandbox: one
`autograder grade` run for the whole class (module fixture), then one re-grade
of two students, then assertions per student.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers import (
    ASSIGNMENT,
    FULL,
    WRONG,
    comments,
    gradebook_grades,
    grader_report,
    hand_in_notebook,
    make_course,
    run_autograder,
    sqlite_url,
    submit,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook

from autograder.cells import grade_id, index_of
from autograder.cli import GRADED_BUT_FOR_A_PERSON
from autograder.course import forgeries
from autograder.coursedir import open_course
from autograder.feedback_view import UNDER_REVIEW
from autograder.outcome import CellScore, NotebookOutcome, SubmissionOutcome
from autograder.pipeline import grade, record

pytestmark = pytest.mark.slow

AUTO_CELLS = ("test_double", "test_derivative")  # the autograded cells; "why" is written, for a person
VENV_BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- hand-ins


def colab(nb: nbformat.NotebookNode, strip: tuple[str, ...] = ("derivative", "test_derivative", "setup")) -> str:
    """As Colab saves it (see autograder.course.forgeries.colab), here losing the metadata of `strip`."""
    return forgeries.colab(nb, strip, name="tiny.ipynb")


kaggle = forgeries.kaggle


def vscode(nb: nbformat.NotebookNode) -> str:
    raw = json.loads(nbformat.writes(nb))
    raw["metadata"]["vscode"] = {"interpreter": {"hash": "0" * 64}}
    raw["metadata"]["language_info"] = {"name": "python", "version": "3.12.1",
                                        "codemirror_mode": {"name": "ipython", "version": 3}}
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            cell["metadata"]["vscode"] = {"languageId": "python"}
    return json.dumps(raw, indent=1)


def without_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if grade_id(cell) not in AUTO_CELLS]
    return nb


def moved_before_answer(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    test = nb.cells.pop(index_of(nb.cells, "test_double"))
    nb.cells.insert(index_of(nb.cells, "double"), test)
    return nb



def unrelated() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("# My notes on linear regression"),
        new_code_cell("import numpy as np\nxs = np.linspace(0, 1, 10)\nprint(xs.mean())"),
        new_code_cell("def fit(x, y):\n    return np.polyfit(x, y, 1)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


# --------------------------------------------------------------------------- the gradebook


def gradebook(root: Path, student: str) -> dict[str, tuple]:
    """grade_id -> (auto_score, manual_score, needs_manual_grade); answer cell -> its auto comment."""
    rows: dict[str, tuple] = {gid: (row.auto_score, row.manual_score, row.needs_manual_grade)
                              for gid, row in gradebook_grades(sqlite_url(root))[student].items()}
    rows.update({f"comment:{name}": (text,) for name, text in comments(root, student).items()})
    return rows


report = grader_report


def set_manual_score(root: Path, student: str, grade_id: str, score: float) -> None:
    with Gradebook(sqlite_url(root)) as gb:
        cell = gb.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, student)
        cell.manual_score = score
        gb.db.commit()


# --------------------------------------------------------------------------- the class, graded


@dataclass
class Graded:
    root: Path
    run: subprocess.CompletedProcess  # the first `autograder grade`
    collected: list[subprocess.CompletedProcess]
    grades: dict[str, dict]  # student -> gradebook(...) right after the first run
    reports: dict[str, dict]  # student -> autograder.json right after the first run
    students: list[str]


MOODLE_STUDENT, CANVAS_STUDENT = "101", "2002"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    root = make_course(tmp_path_factory.mktemp("pipeline") / "course")
    correct = hand_in_notebook(root)
    submit(root, "honest", correct)
    submit(root, "colab", colab(correct))
    submit(root, "kaggle", kaggle(correct))
    submit(root, "vscode", vscode(correct))
    submit(root, "deleted_tests", without_tests(correct))
    submit(root, "moved_test", moved_before_answer(correct))
    submit(root, "unrelated", unrelated())
    submit(root, "unreadable", b"PK\x03\x04 this is a zip, or a PDF, but not a notebook")
    submit(root, "missing", b"my answers are in the notebook I forgot to upload", name="notes.txt")

    downloads = tmp_path_factory.mktemp("lms")
    moodle = downloads / "moodle.zip"
    with zipfile.ZipFile(moodle, "w") as z:
        z.writestr(f"Alice Smith_{MOODLE_STUDENT}_assignsubmission_file_/Copy of tiny.ipynb", colab(correct))
    canvas = downloads / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as z:
        z.writestr(f"jonesbob_{CANVAS_STUDENT}_9002_tiny (1).ipynb", nbformat.writes(correct))
    collected = [run_autograder(root, "collect", ASSIGNMENT, str(path)) for path in (moodle, canvas)]

    run = run_autograder(root, "grade", ASSIGNMENT)
    students = sorted(p.name for p in (root / "submitted").iterdir())
    graded_all = run.returncode in (0, GRADED_BUT_FOR_A_PERSON)
    got = {s: gradebook(root, s) for s in students} if graded_all else {}
    reports = {s: report(root, s) for s in students} if graded_all else {}
    return Graded(root, run, collected, got, reports, students)


@pytest.fixture(scope="module")
def regraded(graded: Graded):
    """Manual grades set in formgrader, then one student graded again with --student."""
    assert graded.run.returncode == GRADED_BUT_FOR_A_PERSON, graded.run.stderr
    set_manual_score(graded.root, "colab", "why", 1.0)
    set_manual_score(graded.root, "colab", "test_double", 1.5)
    others = {s: (graded.root / "autograded" / s / ASSIGNMENT / "autograder.json").stat().st_mtime_ns
              for s in graded.students}
    run = run_autograder(graded.root, "grade", ASSIGNMENT, "--student", "colab")
    return run, others


def test_the_batch_succeeds_although_hand_ins_fail(graded):
    assert [c.returncode for c in graded.collected] == [0, 0], [c.stderr for c in graded.collected]
    # 3: graded, but the unreadable file needs a person; the line says who and why
    assert graded.run.returncode == GRADED_BUT_FOR_A_PERSON, graded.run.stderr
    assert f"  unreadable: {ASSIGNMENT}: {ASSIGNMENT}.ipynb could not be read" in graded.run.stderr
    assert set(graded.students) == {"honest", "colab", "kaggle", "vscode", "deleted_tests", "moved_test",
                                    "unrelated", "unreadable", "missing", MOODLE_STUDENT, CANVAS_STUDENT}
    table = graded.run.stdout
    assert "no tiny.ipynb was handed in" in table and "could not be read" in table


# --------------------------------------------------------------------------- fairness


def full_marks(graded: Graded, student: str) -> None:
    got = graded.grades[student]
    for gid, points in FULL.items():
        assert got[gid][0] == points, (student, gid, got[gid], graded.reports[student])
        assert got[gid][2] is False, (student, gid, graded.reports[student]["flags"])
    assert graded.reports[student]["flags"] == []
    assert graded.reports[student]["failures"] == []
    assert graded.reports[student]["score"] == sum(FULL.values())


@pytest.mark.parametrize("student", ["honest", "colab", "kaggle", "vscode", "deleted_tests", "moved_test",
                                     MOODLE_STUDENT, CANVAS_STUDENT])
def test_an_honest_correct_hand_in_gets_full_marks(graded, student):
    full_marks(graded, student)


def test_an_untouched_hand_in_needs_no_repair(graded):
    assert graded.reports["honest"]["repairs"] == []
    assert graded.reports[CANVAS_STUDENT]["repairs"] == []


def repairs(graded: Graded, student: str) -> str:
    return "\n".join(graded.reports[student]["repairs"])


def test_colab_repairs_are_listed(graded):
    for student in ("colab", MOODLE_STUDENT):
        done = repairs(graded, student)
        assert "from nbformat 4.0 to 4.5" in done, done
        # the stripped answer cell and the test next to it got their nbgrader metadata back
        assert "'derivative'" in done and "'test_derivative'" in done, done


def test_kaggle_and_vscode_repairs_are_listed(graded):
    assert "from nbformat 4.4 to 4.5" in repairs(graded, "kaggle")
    assert repairs(graded, "vscode") == ""  # VS Code keeps ids and nbgrader metadata: nothing to repair


def test_deleted_test_cells_are_restored(graded):
    done = repairs(graded, "deleted_tests")
    assert "'test_double'" in done and "'test_derivative'" in done, done


def test_a_test_moved_before_its_answer_is_put_back(graded):
    assert "'test_double'" in repairs(graded, "moved_test")


def test_renamed_files_from_moodle_and_canvas_are_collected(graded):
    moodle, canvas = (c.stdout for c in graded.collected)
    assert f"{MOODLE_STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in moodle and "Copy of tiny.ipynb" in moodle
    assert f"{CANVAS_STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in canvas and "tiny (1).ipynb" in canvas


def test_a_notebook_of_another_assignment_goes_to_a_person(graded):
    got, rep = graded.grades["unrelated"], graded.reports["unrelated"]
    for gid in (*AUTO_CELLS, "why"):
        assert got[gid][2] is True, (gid, got[gid])  # needs_manual_grade: not silently 0
    assert any("does not look like the assignment's notebook" in f for f in rep["flags"]), rep["flags"]
    comments = " ".join(v[0] or "" for k, v in got.items() if k.startswith("comment:"))
    assert "does not look like the assignment's notebook" in comments


def test_an_unreadable_file_is_a_recorded_failure(graded):
    rep = graded.reports["unreadable"]
    assert len(rep["failures"]) == 1
    assert "could not be read" in rep["failures"][0] and "not JSON" in rep["failures"][0], rep["failures"]
    # no score the grader did not earn: the cells wait for a person
    assert all(graded.grades["unreadable"][gid][0::2] == (None, True) for gid in AUTO_CELLS)


def test_a_missing_notebook_is_a_recorded_failure(graded):
    rep = graded.reports["missing"]
    assert rep["failures"] == [f"{ASSIGNMENT}: no {ASSIGNMENT}.ipynb was handed in"]
    assert all(graded.grades["missing"][gid][0] == 0 for gid in AUTO_CELLS)


# --------------------------------------------------------------------------- grading again


def test_grading_again_gives_the_same_grades_and_keeps_manual_ones(graded, regraded):
    run, _ = regraded
    assert run.returncode == 0, run.stderr
    before, after = graded.grades["colab"], gradebook(graded.root, "colab")
    for key, value in before.items():
        if key not in ("why", "test_double"):
            assert after[key] == value, key
    again = report(graded.root, "colab")
    for key in ("score", "repairs", "flags", "failures"):
        assert again[key] == graded.reports["colab"][key], key
    # The manual grades survive, and while the tests say the same, a re-grade leaves a person's
    # grade as they left it (off the review list).
    assert before["why"] == (None, None, True) and after["why"] == (None, 1.0, False)
    assert before["test_double"] == (2.0, None, False) and after["test_double"] == (2.0, 1.5, False)


def test_student_grades_only_that_student(graded, regraded):
    run, mtimes = regraded
    lines = [line.split()[0] for line in run.stdout.splitlines()[1:] if line and not line.startswith("graded")]
    assert lines == ["colab"], run.stdout
    for student, mtime in mtimes.items():
        now = (graded.root / "autograded" / student / ASSIGNMENT / "autograder.json").stat().st_mtime_ns
        assert (now != mtime) == (student == "colab"), student


def test_grading_a_student_with_no_hand_in_says_so(graded):
    run = run_autograder(graded.root, "grade", ASSIGNMENT, "--student", "nobody")
    assert run.returncode != 0
    assert "nobody" in run.stderr and "collect it first" in run.stderr


# --------------------------------------------------------------------------- atomic


def _outcome(student: str, double: float, derivative: float) -> SubmissionOutcome:
    scores = [CellScore("test_double", double, 2), CellScore("test_derivative", derivative, 3),
              CellScore("why", None, 1)]
    return SubmissionOutcome(student, ASSIGNMENT, [NotebookOutcome(ASSIGNMENT, None, scores)])


@pytest.fixture(scope="module")
def bare_course(tmp_path_factory) -> Path:
    """A course with the assignment in its gradebook and nothing graded: recording needs no kernel."""
    root = make_course(tmp_path_factory.mktemp("atomic") / "course")
    submit(root, "bob", hand_in_notebook(root))
    grade.record(open_course(root), _outcome("bob", 2.0, 3.0))
    return root


@pytest.mark.parametrize("crash_after", ["one grade", "every grade"])
def test_a_students_grades_are_written_all_at_once_or_not_at_all(bare_course, monkeypatch, crash_after):
    root, course = bare_course, open_course(bare_course)
    student = "alice_" + crash_after.split()[0]
    submit(root, student, hand_in_notebook(root, WRONG))
    grade.record(course, _outcome(student, 0.0, 0.0))
    before = {s: gradebook(root, s) for s in (student, "bob")}
    real = record.record_notebook

    def crash_midway(gb, submission, nb_outcome):
        if crash_after == "every grade":
            real(gb, submission, nb_outcome)
        else:
            gb.find_grade("test_double", nb_outcome.name, submission.assignment, submission.student).auto_score = 2.0
        gb.db.flush()  # the change is in the database's transaction
        raise OSError("disk full")

    monkeypatch.setattr(record, "record_notebook", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        grade.record(course, _outcome(student, 2.0, 3.0))
    assert {s: gradebook(root, s) for s in (student, "bob")} == before

    monkeypatch.undo()  # without the fault the same outcome is recorded: the test above tested something
    grade.record(course, _outcome(student, 2.0, 3.0))
    assert gradebook(root, student)["test_derivative"][0] == 3.0


# --------------------------------------------------------------------------- exit status


def test_an_assignment_not_in_the_gradebook_stops_the_grader(graded):
    run = run_autograder(graded.root, "grade", "nosuch")
    assert run.returncode != 0
    assert "no assignment 'nosuch'" in run.stderr and "generate_assignment" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_folder_that_is_not_a_course_stops_the_grader(tmp_path):
    run = run_autograder(tmp_path, "grade", ASSIGNMENT)
    assert run.returncode != 0
    assert "no nbgrader_config.py" in run.stderr and "--course" in run.stderr
    assert "Traceback" not in run.stderr


def test_without_bubblewrap_the_grader_says_how_to_get_it(graded):
    assert not (VENV_BIN / "bwrap").exists()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", str(graded.root)],
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PATH": str(VENV_BIN)})
    assert run.returncode != 0
    assert "bubblewrap" in run.stderr and "apt-get install bubblewrap" in run.stderr
    assert "--no-sandbox" in run.stderr
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- feedback and export


def test_feedback_shows_the_graders_report(graded, regraded):
    run = run_autograder(graded.root, "feedback", ASSIGNMENT)
    # the students whose notebook is missing or unreadable get no page, and the instructor is told
    assert run.returncode == 3, run.stderr
    assert "missing:" in run.stderr and "unreadable:" in run.stderr
    html = (graded.root / "feedback" / "colab" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Grader&#39;s report" in html or "Grader's report" in html
    assert "Repaired before grading" in html
    assert "restored the nbgrader metadata of answer cell" in html and "from nbformat 4.0 to 4.5" in html
    flagged = (graded.root / "feedback" / "unrelated" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    # the student is told a person is looking, not the grader's internal reason
    assert UNDER_REVIEW in flagged and "Sent to a person for review" not in flagged
    honest = (graded.root / "feedback" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Repaired before grading" not in honest and "Sent to a person" not in honest


def test_export_writes_a_row_per_student(graded, regraded, tmp_path):
    out = tmp_path / "grades.csv"
    run = run_autograder(graded.root, "export", ASSIGNMENT, "--output", str(out))
    assert run.returncode == 0, run.stderr
    rows = {row["student"]: row for row in csv.DictReader(out.open())}
    assert sorted(rows) == sorted(graded.students)
    header = next(csv.reader(out.open()))
    cells = [f"{ASSIGNMENT}/{ASSIGNMENT}/{gid}" for gid in ("test_double", "test_derivative", "why")]
    assert set(cells) <= set(header) and header[-3:] == ["repairs", "flags", "failures"]

    honest = rows["honest"]
    assert (honest[cells[0]], honest[cells[1]], honest[cells[2]]) == ("2", "3", "")  # "why": not graded yet
    assert honest["repairs"] == honest["flags"] == honest["failures"] == ""
    assert (rows["colab"][cells[0]], rows["colab"][cells[2]]) == ("1.5", "1")  # manual grades win
    assert "derivative" in rows["colab"]["repairs"] and rows["colab"]["failures"] == ""
    assert "does not look like the assignment's notebook" in rows["unrelated"]["flags"]
    assert "no tiny.ipynb was handed in" in rows["missing"]["failures"]
    assert "could not be read" in rows["unreadable"]["failures"]
    assert rows["unreadable"][cells[0]] == "" and rows["unreadable"]["score"] == ""  # never a silent 0
    assert rows[MOODLE_STUDENT][cells[1]] == "3"


# --------------------------------------------------------------------------- the command


def test_help():
    run = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    for sub in ("collect", "grade", "feedback", "export"):
        assert sub in run.stdout
    # the console script, as pip installed it
    run = subprocess.run([str(VENV_BIN / "autograder"), "grade", "--help"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "--student" in run.stdout and "--no-sandbox" in run.stdout
