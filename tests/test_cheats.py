"""Issue 12's referee: only real autograd earns the points.

For each assignment one scratch course holds a class: the solution, one student per
cheat of `tests/cheats/` and one per honest variant (each the solution with one answer
cell replaced). The class is graded twice, by `autograder grade` and by plain
`nbgrader autograde` (the course's config without the `c.Autograde` settings that send
student code to our sandbox, so that the hidden tests alone must catch the cheats). A
cheat must lose points on every test cell it targets under both; an honest variant, like
the solution, keeps full marks on every autograded cell, with nothing flagged.

Running the hand-ins outside the sandbox is what this test is for, and they are our own
code (tests/cheats/), never a student's.
"""

from __future__ import annotations

import ast
import importlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from cheats import SOLUTION, class_of, graded_code_cells
from helpers import ALL_SLUGS, nbgrader_autograde, run_autograder
from nbgrader.api import Gradebook, MissingEntry

from autograder.cells import grade_id
from autograder.course.release import generate_release, hand_in, make_scratch_course

pytestmark = pytest.mark.slow

# every topic has its cheats module, tests/cheats/aNN.py: a topic without one fails to import here
ASSIGNMENTS = {slug: importlib.import_module(f"cheats.a{slug[:2]}") for slug in ALL_SLUGS}
GRADERS = ("autograder", "nbgrader")
PLAIN_COURSES = 3  # plain nbgrader grades one hand-in at a time: a third of the class in each of three courses


@dataclass(frozen=True)
class Cell:
    """One autograded test cell of one hand-in, as a grader left it."""

    score: float | None  # None: the grader gave it no score (a failure it recorded for a person)
    max_score: float
    flagged: bool  # sent to a person (autograder only)
    failure: str  # what the cell printed on failing ('' when it did not)

    @property
    def full(self) -> bool:
        return self.kept_points and not self.flagged

    @property
    def kept_points(self) -> bool:
        return self.score is not None and self.score >= self.max_score

    def describe(self) -> str:
        score = "unscored" if self.score is None else f"{self.score:g}"
        return (f"{score}/{self.max_score:g}" + (", flagged" if self.flagged else "")
                + (f": {self.failure}" if self.failure else ""))


def plain_nbgrader_config(text: str) -> str:
    """The course's nbgrader_config.py without its `c.Autograde...` statements: nbgrader's own
    Execute runs the hand-ins, and every other setting (timeout, which stderr is forgiven) stays."""
    lines = text.splitlines(keepends=True)
    dropped = set()
    for node in ast.parse(text).body:
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        if any(target is not None and ast.unparse(target).startswith("c.Autograde.") for target in targets):
            dropped.update(range(node.lineno - 1, node.end_lineno))
    plain = "".join(line for number, line in enumerate(lines) if number not in dropped)
    ours = [node.value for node in ast.walk(ast.parse(plain))
            if isinstance(node, ast.Constant) and "nbgrader_hooks" in str(node.value)]
    assert not ours, f"the plain config still names the grader's hooks: {ours}"
    return plain


def failure_of(cell: nbformat.NotebookNode) -> str:
    """The error a graded cell ended with, or what it wrote on stderr, on one line."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}".splitlines()[0][:200]
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "stderr: " + output.get("text", "").strip().splitlines()[0][:200]
    return ""


def read_grades(course: Path, slug: str, students: list[str], tests: list[str]) -> dict[str, dict[str, Cell]]:
    """student -> test cell -> Cell; a student the grader recorded nothing for maps to {}."""
    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            try:
                submission = gb.find_submission(slug, student)
            except MissingEntry:
                found[student] = {}
                continue
            graded = course / "autograded" / student / slug / f"{slug}.ipynb"
            cells = ({grade_id(c): c for c in nbformat.read(graded, as_version=4).cells}
                     if graded.is_file() else {})
            found[student] = {
                grade.name: Cell(grade.score, grade.max_score, grade.needs_manual_grade,
                                 failure_of(cells[grade.name]) if grade.name in cells else "")
                for nb in submission.notebooks for grade in nb.grades if grade.name in tests}
    return found


def grade_class(slug: str, workdir: Path) -> dict[str, dict[str, dict[str, Cell]]]:
    """grader -> student -> test cell -> Cell, for the whole class of one assignment."""
    module = ASSIGNMENTS[slug]
    course = make_scratch_course(workdir / "course", [slug])
    release = nbformat.read(generate_release(course, slug) / f"{slug}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / slug / f"{slug}.ipynb", as_version=4)
    students = class_of(release, source, module.CHEATS, module.HONEST)
    for student, nb in students.items():
        written = workdir / "written" / student / f"{slug}.ipynb"
        written.parent.mkdir(parents=True)
        nbformat.write(nb, written)
        hand_in(course, student, slug, [written])

    plain_courses = []
    for part in range(PLAIN_COURSES):
        plain = workdir / f"plain{part}"
        shutil.copytree(course, plain)
        (plain / "nbgrader_config.py").write_text(plain_nbgrader_config((course / "nbgrader_config.py").read_text()))
        for number, student in enumerate(students):
            if number % PLAIN_COURSES != part:
                shutil.rmtree(plain / "submitted" / student)
        plain_courses.append(plain)

    with ThreadPoolExecutor(1 + PLAIN_COURSES) as pool:
        ours = pool.submit(run_autograder, course, "grade", slug, "--workers", "2")
        theirs = [pool.submit(nbgrader_autograde, plain, slug) for plain in plain_courses]
        run = ours.result()
        for done in theirs:
            done.result()
    assert run.returncode in (0, 3), f"autograder grade {slug} failed:\n{run.stdout}\n{run.stderr}"

    tests = graded_code_cells(source)
    plain_grades = {}
    for plain in plain_courses:
        plain_grades.update(read_grades(plain, slug, [s for s in students if (plain / "submitted" / s).is_dir()],
                                        tests))
    return {"autograder": read_grades(course, slug, list(students), tests), "nbgrader": plain_grades}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """slug -> what grade_class returns, each assignment graded once (when its first test asks)."""
    done = {}

    def grades_of(slug: str):
        if slug not in done:
            try:
                done[slug] = grade_class(slug, tmp_path_factory.mktemp(slug))
            except Exception as error:  # noqa: BLE001 - every test of the assignment reports it, once graded
                done[slug] = error
        if isinstance(done[slug], Exception):
            raise done[slug]
        return done[slug]

    return grades_of


def cases(kind: str) -> list:
    return [pytest.param(slug, one, grader, id=f"{slug}-{one.name}-{grader}")
            for slug, module in ASSIGNMENTS.items() for one in getattr(module, kind) for grader in GRADERS]


def not_full(cells: dict[str, Cell]) -> dict[str, str]:
    return {gid: cell.describe() for gid, cell in cells.items() if not cell.full}


@pytest.mark.parametrize("slug, grader", [pytest.param(s, g, id=f"{s}-{g}") for s in ASSIGNMENTS for g in GRADERS])
def test_the_solution_earns_full_marks(graded, slug, grader):
    cells = graded(slug)[grader][SOLUTION]
    assert cells, f"{slug}: {grader} recorded no grades for the solution"
    assert not not_full(cells), f"{slug}: the solution loses points under {grader}: {not_full(cells)}"


@pytest.mark.parametrize("slug, cheat, grader", cases("CHEATS"))
def test_a_cheat_loses_the_points_it_targets(graded, slug, cheat, grader):
    cells = graded(slug)[grader][cheat.student]
    assert cells, f"{slug}: {grader} recorded no grades for {cheat.student}"
    kept = {gid: cells[gid].describe() for gid in cheat.targets if cells[gid].kept_points}
    assert not kept, (f"{slug}: the cheat {cheat.name!r} ({cheat.kind}) keeps full marks under {grader} "
                      f"on {kept}")


@pytest.mark.parametrize("slug, honest, grader", cases("HONEST"))
def test_an_honest_style_keeps_full_marks(graded, slug, honest, grader):
    cells = graded(slug)[grader][honest.student]
    assert cells, f"{slug}: {grader} recorded no grades for {honest.student}"
    assert not not_full(cells), (f"{slug}: the honest answer {honest.name!r} ({honest.style}) in "
                                 f"{honest.answer!r} loses points under {grader}: {not_full(cells)}")
