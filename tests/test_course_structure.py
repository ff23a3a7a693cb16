"""The course's shape: every topic has its lesson and assignment, every
assignment is graded the way the course promises, every student-facing
notebook opens with the same badges and setup cell."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from helpers import ALL_SLUGS, committed_notebooks, read

from autograder.cells import nbgrader_metadata
from autograder.course import badges
from autograder.course.topics import (
    BADGES_TAG,
    SETUP_SOURCE,
    SETUP_TAG,
    TOPICS,
    Repository,
    badges_markdown,
    repository_setting,
)


def code_of(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.slug)
def test_topic_has_lesson_assignment_and_release(topic, repo_root):
    for path in (topic.lesson, topic.source, topic.release):
        assert (repo_root / path).is_file(), f"{topic.title}: missing {path}"


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.slug)
def test_lesson_and_assignment_use_the_topics_apis(topic):
    for path in (topic.lesson, topic.source):
        code = code_of(read(path))
        missing = [api for api in topic.must_use if api not in code]
        assert not missing, f"{path} never uses {missing}, the subject of '{topic.title}'"


@pytest.mark.parametrize("topic", [t for t in TOPICS if t.lesson_uses], ids=lambda t: t.slug)
def test_lesson_teaches_what_only_it_covers(topic):
    code = code_of(read(topic.lesson))
    missing = [api for api in topic.lesson_uses if api not in code]
    assert not missing, f"{topic.lesson} never uses {missing}, part of '{topic.title}'"


@pytest.mark.parametrize("guide", ["README.md", "docs/students.md", "docs/instructors.md"])
def test_guides_list_every_topic(guide, repo_root):
    text = (repo_root / guide).read_text()
    missing = [t.slug for t in TOPICS if f"release/{t.slug}/" not in text]
    assert not missing, f"{guide} does not list the topics {missing}"


def seed_exercise(pattern: str, slugs: list[str]) -> list[str]:
    return [slug for slug in slugs if re.search(pattern, code_of(read(f"source/{slug}/{slug}.ipynb")))]


POLY = r"x\s*\*\*\s*3\s*-\s*6\s*\*\s*x\s*\*\*\s*2\s*\+\s*8\s*\*\s*x"


def test_seed_exercises_are_assignments():
    # y = x^3 - 6x^2 + 8x and its derivative, plotted
    assert seed_exercise(POLY, ALL_SLUGS)
    # the independent second input x2: y = x2^3 - 6x^2 + 8x
    assert seed_exercise(r"x2\s*\*\*\s*3\s*-\s*6\s*\*\s*x\s*\*\*\s*2\s*\+\s*8\s*\*\s*x", ALL_SLUGS)
    # the second derivative through create_graph
    assert seed_exercise(r"create_graph\s*=\s*True", ["06_higher_order"])
    # log^2 composition with retain_grad on the middle tensor
    assert seed_exercise(r"(?s)log\(.*retain_grad\(\)", ["02_backward"])


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_assignment_is_graded_as_promised(slug):
    nb = read(f"source/{slug}/{slug}.ipynb")
    graded = [c for c in nb.cells if nbgrader_metadata(c).get("grade")]
    tests = [c for c in graded if c.cell_type == "code" and not nbgrader_metadata(c).get("solution")]
    written = [c for c in graded if c.cell_type == "markdown" and nbgrader_metadata(c).get("solution")]
    solutions = [c for c in nb.cells if nbgrader_metadata(c).get("solution") and c.cell_type == "code"]

    assert len(tests) >= 3, "at least three autograded exercises"
    assert all(nbgrader_metadata(c)["points"] > 0 for c in graded)
    assert written, "at least one manually graded written answer"
    for cell in tests:
        gid = nbgrader_metadata(cell)["grade_id"]
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{gid} has no hidden tests"
        last = cell.source.rstrip().splitlines()[-1]
        assert last.strip() == "### END HIDDEN TESTS", f"{gid}: end the cell with the hidden tests"
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    ids = [nbgrader_metadata(c)["grade_id"] for c in nb.cells if nbgrader_metadata(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    setup = next(c for c in nb.cells if SETUP_TAG in c.metadata.get("tags", []))
    assert nbgrader_metadata(setup).get("locked"), "the setup cell is read-only in assignments"


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_release_hides_solutions_and_hidden_tests(slug):
    nb = read(f"release/{slug}/{slug}.ipynb")
    text = "\n".join(c.source for c in nb.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    assert "raise NotImplementedError()" in text and "YOUR ANSWER HERE" in text


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: "/".join(p.parts[-2:]))
def test_notebook_opens_with_badges_then_setup(path, repo_root):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert BADGES_TAG in first.metadata.get("tags", [])
    assert first.source == badges_markdown(path.relative_to(repo_root).as_posix(), repository_setting())
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert SETUP_TAG in code_cells[0].metadata.get("tags", []), "the setup cell is the first code cell"
    assert code_cells[0].source == SETUP_SOURCE


@pytest.mark.slow
def test_setup_cell_runs_offline_without_icecream(tmp_path):
    """Kaggle with internet off: pip cannot install icecream, and the setup cell still runs, with an `ic`
    that prints what it is given and returns it, as icecream's does."""
    program = ("import sys\nsys.modules['icecream'] = None  # not installed, and not installable here\n"
               + SETUP_SOURCE + "\nassert ic(3) == 3 and ic(1, 2) == (1, 2)\nprint('setup done')\n")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path), "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert "ic| 3" in run.stdout and "ic| 1 2" in run.stdout and "setup done" in run.stdout


def test_badge_urls_open_the_student_version(repo_root):
    repo = Repository("someone/course", "dev")
    text = badges_markdown("source/02_backward/02_backward.ipynb", repo)
    assert "https://colab.research.google.com/github/someone/course/blob/dev/release/02_backward/02_backward.ipynb" in text
    assert "https://kaggle.com/kernels/welcome?src=https://github.com/someone/course/blob/dev/release/02_backward/" in text
    assert "source/" not in text


def test_one_command_rewrites_every_badge(tmp_path, repo_root):
    for name in ("notebooks", "source", "release"):
        shutil.copytree(repo_root / name, tmp_path / name)
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    wanted = Repository("new-owner/new-course", "spring")

    badges.set_repository_setting(tmp_path, wanted)
    assert repository_setting(tmp_path) == wanted
    changed = badges.rewrite_badges(tmp_path)

    notebooks = badges.badge_notebooks(tmp_path)
    assert len(notebooks) == 3 * len(TOPICS) and set(changed) == set(notebooks)
    for path in notebooks:
        source = nbformat.read(path, as_version=4).cells[0].source
        assert source.count("github.com/new-owner/new-course/blob/spring/") == 1  # Kaggle's link
        assert "colab.research.google.com/github/new-owner/new-course/blob/spring/" in source
    assert badges.rewrite_badges(tmp_path) == [], "a second run changes nothing"


def test_rewriting_badges_explains_a_notebook_without_them(tmp_path, repo_root):
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# hi")]),
                   tmp_path / "notebooks" / "99_x.ipynb")
    with pytest.raises(ValueError, match="no badge cell"):
        badges.rewrite_badges(tmp_path)
