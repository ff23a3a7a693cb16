"""The course's own assignments through the grader: a student who writes the
instructor's solutions into the release gets full marks and no flag, in Jupyter
and after Colab has saved the notebook (nbformat 4.0, no cell ids, nbgrader
metadata of an answer and its test lost); one who hands in the untouched
release gets zero on every autograded cell."""

from __future__ import annotations

import copy
import json
import re
import shutil

import nbformat
import pytest
from helpers import ALL_SLUGS, read, run_autograder

from autograder.cells import grade_id, is_answer
from autograder.nbgrader_cli import nbgrader

pytestmark = pytest.mark.slow

MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def solved_hand_in(slug: str) -> nbformat.NotebookNode:
    """The release with every answer cell holding the solution, markers removed, as a student writes it."""
    answers = {grade_id(c): MARKER.sub("", c.source)
               for c in read(f"source/{slug}/{slug}.ipynb").cells if is_answer(c)}
    nb = read(f"release/{slug}/{slug}.ipynb")
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = answers[gid]
    return nb


def as_colab_saved_it(nb: nbformat.NotebookNode) -> dict:
    """nbformat 4.0 without cell ids, Colab's metadata, and the first answer and its test stripped."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = 0
    raw["metadata"] = {"colab": {"provenance": []}, "accelerator": "GPU",
                       "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    cells = raw["cells"]
    for number, cell in enumerate(cells):
        cell.pop("id")
        cell["metadata"]["id"] = f"colab{number:04d}"
        if cell["cell_type"] == "code":
            cell["metadata"]["outputId"] = f"out{number:04d}"
    grading = [c["metadata"].get("nbgrader", {}) for c in cells]
    answer = next(i for i, m in enumerate(grading) if m.get("solution") and cells[i]["cell_type"] == "code")
    test = next(i for i in range(answer + 1, len(cells)) if grading[i].get("grade"))
    for i in (answer, test):
        del cells[i]["metadata"]["nbgrader"]
    return raw


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo_root):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(repo_root / "nbgrader_config.py", course)
    shutil.copytree(repo_root / "source", course / "source")
    results = {}
    for slug in ALL_SLUGS:
        nbgrader(course, "generate_assignment", slug, "--force")
        honest = solved_hand_in(slug)
        blank = read(f"release/{slug}/{slug}.ipynb")
        for student, nb in (("jupyter", honest), ("colab", as_colab_saved_it(copy.deepcopy(honest))),
                            ("blank", blank)):
            folder = course / "submitted" / student / slug
            folder.mkdir(parents=True)
            (folder / f"{slug}.ipynb").write_text(json.dumps(nb) if isinstance(nb, dict) else nbformat.writes(nb))
        done = run_autograder(course, "grade", slug)
        assert done.returncode == 0, done.stdout + done.stderr
        results[slug] = {student: json.loads((course / "autograded" / student / slug / "autograder.json").read_text())
                         for student in ("jupyter", "colab", "blank")}
    return results


@pytest.mark.parametrize("slug", ALL_SLUGS)
@pytest.mark.parametrize("student", ["jupyter", "colab"])
def test_honest_solution_gets_full_marks_without_flags(graded, slug, student):
    report = graded[slug][student]
    written = sum(cell_max for nb in report["notebooks"] for cell_max in
                  [s["max_score"] for s in nb["scores"] if s["auto_score"] is None])
    assert report["failures"] == [] and report["flags"] == []
    assert report["score"] == report["max_score"] - written > 0


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_untouched_release_gets_zero(graded, slug):
    report = graded[slug]["blank"]
    auto = {s["grade_id"]: s["auto_score"] for nb in report["notebooks"] for s in nb["scores"]
            if s["auto_score"] is not None}
    assert len(auto) >= 3, report
    assert set(auto.values()) == {0}, f"{slug}: the untouched release earns points: {auto}"
    assert report["score"] == 0 and report["flags"] == []


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_colab_damage_is_repaired_and_reported(graded, slug):
    assert graded[slug]["jupyter"]["repairs"] == []
    repairs = graded[slug]["colab"]["repairs"]
    assert any("from nbformat 4.0 to 4.5" in r for r in repairs), repairs
    assert sum("restored the nbgrader metadata" in r for r in repairs) == 2, repairs
