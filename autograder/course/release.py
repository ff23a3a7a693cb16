"""Run the course's assignments through real nbgrader in a scratch course:
generate the student release, then autograde two hand-ins of each assignment,
the instructor's solution and the untouched release.

The release of `make release`, the drift test, the assignment tests and the
demo all go through here, so what they check is what an instructor runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from ..nbgrader_cli import nbgrader
from .topics import REPO_ROOT, TOPICS

SOLVED = "solution"  # student id of the instructor's own solution, handed in
BLANK = "blank"  # student id of the release handed in untouched


def make_scratch_course(dest: Path, slugs: list[str], root: Path = REPO_ROOT) -> Path:
    """A course directory with the repository's config and the given assignments' sources."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    for slug in slugs:
        shutil.copytree(root / "source" / slug, dest / "source" / slug, dirs_exist_ok=True)
    return dest


def generate_release(course: Path, slug: str) -> Path:
    nbgrader(course, "generate_assignment", slug, "--force")
    return course / "release" / slug


def write_release(slugs: list[str], workdir: Path, root: Path = REPO_ROOT) -> None:
    """Regenerate `release/<slug>/` in the repository from `source/<slug>/`."""
    course = make_scratch_course(workdir, slugs, root)
    for slug in slugs:
        generated = generate_release(course, slug)
        target = root / "release" / slug
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(generated, target)


def hand_in(course: Path, student: str, slug: str, notebooks: list[Path]) -> None:
    """Place notebooks where nbgrader autograde looks: submitted/<student>/<slug>/."""
    folder = course / "submitted" / student / slug
    folder.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, folder / path.name)


@dataclass(frozen=True)
class GradedCell:
    """One graded cell of a hand-in, as nbgrader's gradebook holds it after `nbgrader autograde`."""

    notebook: str
    grade_id: str
    score: float | None
    max_score: float
    autograded: bool  # False for a written answer that a person grades


def scores(course: Path, slug: str, student: str) -> list[GradedCell]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(slug, student)
        return [
            GradedCell(
                notebook=nb.name,
                grade_id=grade.name,
                # Grade.score reads 0 where nobody has scored the cell yet; keep that None
                score=grade.auto_score if grade.manual_score is None else grade.manual_score,
                max_score=grade.max_score,
                autograded=grade.cell_type == "code" and not grade.needs_manual_grade,
            )
            for nb in submission.notebooks
            for grade in nb.grades
        ]


def check_assignment(slug: str, workdir: Path, root: Path = REPO_ROOT) -> dict[str, list[GradedCell]]:
    """Autograde the solution and the blank release of one assignment.

    Returns the cell scores of each, keyed by SOLVED and BLANK.
    """
    course = make_scratch_course(workdir, [slug], root)
    release = generate_release(course, slug)
    hand_in(course, SOLVED, slug, sorted((course / "source" / slug).glob("*.ipynb")))
    hand_in(course, BLANK, slug, sorted(release.glob("*.ipynb")))
    nbgrader(course, "autograde", slug, "--force")
    return {student: scores(course, slug, student) for student in (SOLVED, BLANK)}


def all_slugs() -> list[str]:
    return [t.slug for t in TOPICS]
