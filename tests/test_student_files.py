"""The files a student hands in beside the notebook (a module it imports, a data
file) reach the kernel's working folder as `nbgrader autograde` leaves them
there: the student's files, the assignment's on top, except those the course's
Autograde.exclude_overwriting keeps the student's; never a file a symlink
points to, and never more than the sandbox's working folder holds.

The graded runs are the real `autograder grade` (sandboxed: warm, cold, and
rootless run by a real ordinary user) on the tiny course of helpers.py, whose
release ships given.py; each is compared with real `nbgrader autograde` on a
copy of the same course. That reference is plain nbgrader (the course's own
config would run it in our sandbox): it runs the honest hand-ins below, the
tests' own code, with the test's rights, as test_nbgrader_suite.py does.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    POINTS,
    copy_course,
    folder_of,
    give_to,
    gradebook_grades,
    graded_notebook,
    grader_report,
    hand_in_notebook,
    make_course_shipping,
    nbgrader_autograde,
    ordinary_user,
    printed,
    run_autograder,
    run_autograder_as,
    sqlite_url,
    submit,
)
from nbformat.v4 import new_code_cell, new_notebook

from autograder.cli import GRADED_BUT_FOR_A_PERSON
from autograder.coursedir import copy_release_files, open_course
from autograder.pipeline.execute import Timeouts, execute_notebook
from autograder.sandbox import HandInTooLarge, Limits, PlainKernels, read_files
from autograder.sandbox.handed_in import fit, stage

GIVEN = "FACTOR = 2\n"  # the release's given.py
USES_GIVEN = "from given import FACTOR\nprint('FACTOR', FACTOR)\ndef double(x):\n    return FACTOR * x\n"
# What each student hands in: answers typed into the release, and files beside the notebook.
HAND_INS = {
    "own_module": ({"double": "from mymodule import double"}, {"mymodule.py": "def double(x):\n    return 2 * x\n"}),
    "replaces_given": ({"double": USES_GIVEN}, {"given.py": "FACTOR = 3\n"}),
    "leaves_out_given": ({"double": USES_GIVEN}, {}),
    # modules the guard and the tests rely on, handed in: never imported in their place
    "shadows_numpy": ({}, {name: "raise ImportError('the handed-in copy was imported')\n"
                           for name in ("numpy.py", "torch.py", "ipykernel_launcher.py")}),
}
SEES = ("import json, os\nprint('SEEN', json.dumps({name: os.path.lexists(name) for name in "
        "['notes.txt', 'solution.ipynb', 'source']}))\n"
        "try:\n    staged = sorted(os.listdir('/handed-in'))\nexcept OSError as error:\n    staged = error.strerror\n"
        "print('STAGED', json.dumps(staged))\n"
        "print('SHADOWED', json.dumps(sorted(n for n in os.listdir('/tmp') if n.startswith('shadowed-by-'))))\n"
        "def double(x):\n    return 2 * x\n")
MODES = {"warm": [], "cold": ["--cold"], "rootless": []}
EXCLUDE = f"\nc.Autograde.exclude_overwriting = {{{ASSIGNMENT!r}: ['given.py']}}\n"
# The reference: nbgrader as it comes, none of this course's hooks.
PLAIN_NBGRADER = "c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = 'autograd'\n"


def hand_in(course: Path, student: str) -> None:
    answers, files = HAND_INS[student]
    submit(course, student, hand_in_notebook(course, answers))
    for name, text in files.items():
        (course / "submitted" / student / ASSIGNMENT / name).write_text(text)


# Named as a module the kernel imports as it starts (ipykernel's debugger), after the working folder
# is on its import path: it leaves a mark of the user it ran as.
SHADOW = "import os\nopen(f'/tmp/shadowed-by-{os.getuid()}', 'w').close()\n"


def hand_in_links(course: Path) -> None:
    """A hand-in whose folder links to the solutions (a file and a folder of source/), and holds a
    module named as one the kernel imports while it starts."""
    folder = submit(course, "linker", hand_in_notebook(course, {"double": SEES})).parent
    (folder / "notes.txt").write_text("mine")
    (folder / "debugpy.py").write_text(SHADOW)
    (folder / "solution.ipynb").symlink_to(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (folder / "source").symlink_to(course / "source" / ASSIGNMENT, target_is_directory=True)


def hand_in_too_much(course: Path) -> None:
    """A data file one byte larger than the sandbox's working folder (sparse: it takes no disk here)."""
    folder = submit(course, "too_large", hand_in_notebook(course)).parent
    with open(folder / "big.bin", "wb") as big:
        big.truncate(Limits.disk_bytes + 1)


def auto_scores(course: Path, student: str) -> dict[str, float | None]:
    return {gid: row.auto_score for gid, row in gradebook_grades(sqlite_url(course))[student].items()}


def graded_by_nbgrader(pristine: Path, tmp_path_factory, name: str, students: list[str], config: str = "") -> Path:
    course = copy_course(pristine, tmp_path_factory, name)
    (course / "nbgrader_config.py").write_text(PLAIN_NBGRADER + config)
    for student in students:
        hand_in(course, student)
    nbgrader_autograde(course, ASSIGNMENT)
    return course


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The tiny course, its release shipping given.py beside the notebook."""
    return make_course_shipping(tmp_path_factory.mktemp("student-files") / "course", "given.py", GIVEN)


@pytest.fixture(scope="module")
def reference(pristine, tmp_path_factory) -> Path:
    return graded_by_nbgrader(pristine, tmp_path_factory, "nbgrader", ["own_module", "replaces_given"])


@pytest.fixture(scope="module", params=list(MODES))
def graded(request, pristine) -> Path:
    mode = request.param
    if mode != "rootless" and os.geteuid() != 0:
        pytest.skip("the root sandbox needs root: run the tests as root")
    user = ordinary_user()
    place = folder_of(user)
    course = place / "course"
    shutil.copytree(pristine, course)
    for student in ("own_module", "replaces_given", "shadows_numpy"):
        hand_in(course, student)
    hand_in_links(course)
    hand_in_too_much(course)
    give_to(place, user)
    args = ("grade", ASSIGNMENT, *MODES[mode], "--timeout", "60")
    result = (run_autograder_as(user, course, *args, env={"HOME": str(place), "TMPDIR": str(place)})
              if mode == "rootless" else run_autograder(course, *args))
    assert result.returncode == GRADED_BUT_FOR_A_PERSON, result.stderr[-3000:]  # too_large goes to a person
    yield course
    shutil.rmtree(place, ignore_errors=True)


@pytest.fixture(scope="module")
def excluded(pristine, tmp_path_factory) -> tuple[Path, Path]:
    """(ours, nbgrader's): the course keeps the student's given.py (Autograde.exclude_overwriting)."""
    students = ["replaces_given", "leaves_out_given"]
    theirs = graded_by_nbgrader(pristine, tmp_path_factory, "excluded-nbgrader", students, EXCLUDE)
    ours = copy_course(pristine, tmp_path_factory, "excluded-ours")
    with (ours / "nbgrader_config.py").open("a") as config:
        config.write(EXCLUDE)
    for student in students:
        hand_in(ours, student)
    result = run_autograder(ours, "grade", ASSIGNMENT, "--timeout", "60")
    assert result.returncode == 0, result.stderr[-3000:]
    return ours, theirs


# --------------------------------------------------------------------------- graded, against nbgrader


@pytest.mark.slow
def test_a_students_own_module_imported_by_the_notebook_scores_as_with_nbgrader_autograde(graded, reference):
    assert auto_scores(reference, "own_module")["test_double"] == POINTS["test_double"]
    assert auto_scores(graded, "own_module") == auto_scores(reference, "own_module")
    assert grader_report(graded, "own_module")["failures"] == []


@pytest.mark.slow
def test_a_release_file_the_student_replaced_is_the_releases_again(graded, reference):
    assert printed(graded_notebook(graded, "replaces_given"), "FACTOR") == ["2"]
    assert auto_scores(graded, "replaces_given") == auto_scores(reference, "replaces_given")
    assert auto_scores(graded, "replaces_given")["test_double"] == POINTS["test_double"]


@pytest.mark.slow
def test_a_file_named_in_exclude_overwriting_stays_the_students_as_in_nbgrader(excluded):
    ours, theirs = excluded
    assert printed(graded_notebook(ours, "replaces_given"), "FACTOR") == ["3"]  # the student's given.py
    for student in ("replaces_given", "leaves_out_given"):  # 3 * x fails; no given.py at all fails to import
        assert auto_scores(ours, student)["test_double"] == 0, student
        assert auto_scores(ours, student) == auto_scores(theirs, student), student


@pytest.mark.slow
def test_a_symlink_in_the_submitted_folder_is_not_followed(graded):
    (line,) = printed(graded_notebook(graded, "linker"), "SEEN")
    assert json.loads(line) == {"notes.txt": True, "solution.ipynb": False, "source": False}
    # where a cold sandbox mounts the staged hand-in: none (warm), closed (root), or its own files only
    (line,) = printed(graded_notebook(graded, "linker"), "STAGED")
    assert json.loads(line) in ("No such file or directory", "Permission denied", ["debugpy.py", "notes.txt"]), line
    assert auto_scores(graded, "linker")["test_double"] == POINTS["test_double"]


@pytest.mark.slow
def test_no_file_handed_in_runs_as_root_while_the_kernel_starts(graded):
    (line,) = printed(graded_notebook(graded, "linker"), "SHADOWED")
    assert "shadowed-by-0" not in json.loads(line), line


@pytest.mark.slow
def test_files_named_like_the_modules_the_kernel_and_tests_import_stand_in_for_none_of_them(graded):
    """A numpy.py, torch.py or ipykernel_launcher.py handed in: the kernel starts, the guard and the
    tests use the real ones, and the honest answer gets its marks (no endless 'grade again')."""
    assert auto_scores(graded, "shadows_numpy")["test_double"] == POINTS["test_double"]
    assert grader_report(graded, "shadows_numpy")["for_a_person"] == []


@pytest.mark.slow
def test_a_hand_in_too_large_for_the_sandbox_goes_to_a_person_and_says_why(graded):
    (reason,) = grader_report(graded, "too_large")["for_a_person"]
    assert "working folder" in reason and f"holds {Limits.disk_bytes >> 20} MiB" in reason, reason
    assert all(grader_report(graded, s)["for_a_person"] == [] for s in ("own_module", "replaces_given", "linker"))
    rows = gradebook_grades(sqlite_url(graded))["too_large"]
    assert all(row.needs_manual_grade for row in rows.values()), rows


@pytest.mark.slow
def test_a_students_own_module_reaches_a_kernel_on_a_dask_worker(pristine, tmp_path_factory):
    from services import dask_cluster

    if os.geteuid() != 0:
        pytest.skip("the workers' sandbox here needs root: run the tests as root")
    course = copy_course(pristine, tmp_path_factory, "dask")
    hand_in(course, "own_module")
    with dask_cluster(workers=1) as address:
        result = run_autograder(course, "grade", ASSIGNMENT, "--dask", address, "--timeout", "60")
    assert result.returncode == 0, result.stderr[-3000:]
    assert auto_scores(course, "own_module")["test_double"] == POINTS["test_double"]


@pytest.mark.slow
def test_nbgrader_autograde_in_this_course_gives_its_sandbox_the_students_files(pristine, reference,
                                                                                tmp_path_factory):
    course = copy_course(pristine, tmp_path_factory, "hooked")  # the course's config: our sandbox runs it
    for student in ("own_module", "replaces_given"):
        hand_in(course, student)
    nbgrader_autograde(course, ASSIGNMENT)
    for student in ("own_module", "replaces_given"):
        assert auto_scores(course, student) == auto_scores(reference, student), student
    assert auto_scores(course, "own_module")["test_double"] == POINTS["test_double"]


# --------------------------------------------------------------------------- one kernel, and the parts


@pytest.mark.slow
def test_a_plain_kernel_lays_the_assignments_files_over_the_students(tmp_path):
    data = tmp_path / "release"
    data.mkdir()
    (data / "given.py").write_text(GIVEN)
    nb = new_notebook(cells=[new_code_cell("import given\nprint('FACTOR', given.FACTOR, open('mine.txt').read())")])
    kernels = PlainKernels(data)
    try:
        done = execute_notebook(nb, kernels, Timeouts(30, 60), {"given.py": b"FACTOR = 3\n", "mine.txt": b"mine"})
    finally:
        kernels.close()
    assert done.failure is None and printed(done.notebook, "FACTOR") == ["2 mine"]


def test_a_hand_in_lists_its_files_as_nbgrader_copies_them_but_no_link(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(PLAIN_NBGRADER)
    folder = tmp_path / "submitted" / "alice" / ASSIGNMENT
    for name in ("tiny.ipynb", "timestamp.txt", "mymodule.py", "data/x.csv", "__pycache__/m.pyc",
                 ".ipynb_checkpoints/tiny-checkpoint.ipynb", "../../../outside/secret.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    (folder / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (folder / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    found = open_course(tmp_path).handed_in_files("alice", ASSIGNMENT)
    assert set(found) == {"mymodule.py", "data/x.csv"}
    assert found["data/x.csv"] == folder / "data" / "x.csv"


def test_exclude_overwriting_is_read_from_the_course_and_leaves_the_release_file_out(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(PLAIN_NBGRADER + f"c.Autograde.exclude_overwriting = "
                                                 f"{{{ASSIGNMENT!r}: ['./given.py'], 'other': ['x.py']}}\n")
    course = open_course(tmp_path)
    assert course.exclude_overwriting(ASSIGNMENT) == ["given.py"]
    assert course.exclude_overwriting("unknown") == []
    release = tmp_path / "release"
    for name in ("given.py", "data.csv", "tiny.ipynb"):
        (release / name).parent.mkdir(parents=True, exist_ok=True)
        (release / name).write_text(name)
    copied = copy_release_files(release, tmp_path / "scratch", course.exclude_overwriting(ASSIGNMENT))
    assert sorted(p.name for p in copied.iterdir()) == ["data.csv"]


def test_the_assignments_files_replace_the_students_and_clear_their_way(tmp_path):
    for name in ("given.py", "data/x.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    files = {"given.py": b"mine", "data": b"a file where a folder goes", "given.py/x": b"under a file",
             "data/y.csv": b"beside", "mymodule.py": b"mine"}
    assert fit(files, tmp_path, Limits.disk_bytes) == {"data/y.csv": b"beside", "mymodule.py": b"mine"}
    with pytest.raises(HandInTooLarge, match="working folder"):
        fit({"big.bin": bytes(2 << 20)}, tmp_path, 1 << 20)


def test_a_link_is_not_read_and_a_file_too_large_is_refused_before_it_is_read(tmp_path):
    (tmp_path / "mine.txt").write_text("mine")
    (tmp_path / "link.txt").symlink_to(tmp_path / "mine.txt")
    with open(tmp_path / "big.bin", "wb") as big:
        big.truncate(1 << 40)  # sparse: a terabyte that reading would take the grader's memory for
    paths = {name: tmp_path / name for name in ("mine.txt", "link.txt")}
    assert read_files(paths, Limits.disk_bytes) == {"mine.txt": b"mine"}
    with pytest.raises(HandInTooLarge, match=f"holds {Limits.disk_bytes >> 20} MiB"):
        read_files({**paths, "big.bin": tmp_path / "big.bin"}, Limits.disk_bytes)


@pytest.mark.parametrize("name", ["../escape.py", "/etc/escape.py", "a/../../escape.py"])
def test_a_name_that_leaves_the_working_folder_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="not a path inside a hand-in"):
        stage({name: b"x"}, tmp_path / "staged")
    assert not (tmp_path / "escape.py").exists()
