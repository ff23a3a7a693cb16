"""Hand-ins in the formats other courses and older tools write: read, repaired and graded.

Fast tests read files with `autograder.handin`; the slow ones grade, with the
real `autograder grade` in the real sandbox, a course whose release was saved
as nbformat 4.1 (no cell ids, as every release made before nbformat 4.5) and
hand-ins made from it: honest, damaged by Colab, in nbformat 3, with a test
turned into `pass`, with a scratch cell where a deleted test was, and a wrong
notebook.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers import (
    ASSIGNMENT,
    FULL,
    graded_notebook,
    grader_report,
    grades,
    hand_in_notebook,
    make_course,
    run_autograder,
    submit,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.cells import index_of
from autograder.handin import UnreadableNotebook, parse_json, read_submission


def v3_json(nb: nbformat.NotebookNode) -> str:
    """The notebook as IPython 2 saved it: nbformat 3, worksheets, sources split into lines."""
    return nbformat.writes(copy.deepcopy(nb), version=3)  # writes converts its argument in place


def without_ids(nb: nbformat.NotebookNode, minor: int = 1) -> str:
    """As an nbformat 4.0-4.4 writer saves it: no cell ids."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = minor
    for cell in raw["cells"]:
        cell.pop("id", None)
    return json.dumps(raw, indent=1)


def stripped(text: str) -> str:
    """What Colab leaves after a copy-paste between notebooks: no nbgrader metadata, no read-only flags."""
    raw = json.loads(text)
    for cell in raw["cells"]:
        for key in ("nbgrader", "editable", "deletable"):
            cell["metadata"].pop(key, None)
    return json.dumps(raw, indent=1)


SMALL = new_notebook(cells=[
    new_markdown_cell("# Title\n\nSome words."),
    new_code_cell("def f(x):\n    return x + 1", metadata={"nbgrader": {"grade_id": "f", "solution": True}}),
], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


# --------------------------------------------------------------------------- reading


def test_an_nbformat_3_notebook_is_read_as_it_is_with_its_lines_joined():
    text = v3_json(SMALL)
    assert isinstance(json.loads(text)["worksheets"][0]["cells"][1]["input"], list)
    nb = read_submission(text.encode())
    assert nb.nbformat == 3
    cells = nb.worksheets[0].cells
    assert [c.cell_type for c in cells] == ["markdown", "code"]
    assert cells[1].input == "def f(x):\n    return x + 1"
    assert cells[1].metadata.nbgrader == {"grade_id": "f", "solution": True}


def test_an_nbformat_3_cell_with_damaged_metadata_is_read_with_none():
    raw = json.loads(v3_json(SMALL))
    raw["worksheets"][0]["cells"][0]["metadata"] = "lost"
    assert read_submission(json.dumps(raw)).worksheets[0].cells[0].metadata == {}


@pytest.mark.parametrize("worksheets", [None, [{"cells": "none"}], [{"cells": [{"source": "x"}]}]],
                         ids=["no-worksheets", "no-cells", "no-cell-type"])
def test_a_damaged_nbformat_3_notebook_is_refused_with_what_to_do(worksheets):
    raw = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": worksheets}
    with pytest.raises(UnreadableNotebook, match="nbformat 3 but its cells are missing or damaged; ask the student"):
        read_submission(json.dumps(raw))


def test_a_notebook_newer_than_nbformat_4_says_how_to_save_it_as_4():
    raw = {"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}
    with pytest.raises(UnreadableNotebook) as raised:
        read_submission(json.dumps(raw))
    message = str(raised.value)
    assert "is in nbformat 5, newer than the nbformat 4" in message
    assert "`jupyter nbconvert --to notebook --nbformat 4 FILE`" in message


def test_collect_still_gets_an_nbformat_3_notebook_as_plain_json():
    text = v3_json(SMALL)
    assert parse_json(text.encode()) == json.loads(text)


# --------------------------------------------------------------------------- graded, on an old release


@dataclass
class OldCourse:
    root: Path
    run: object  # the CompletedProcess of `autograder grade`
    scratch: str  # the student's own cell where test_derivative was


SCRATCH = "x = torch.tensor([1.0, 2.0])\nprint(derivative(lambda t: t ** 3, x))"


@pytest.fixture(scope="module")
def old_course(tmp_path_factory) -> OldCourse:
    root = make_course(tmp_path_factory.mktemp("old-release") / "course")
    release = root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    release.write_text(without_ids(nbformat.read(release, as_version=4)))  # as a course made before 4.5
    correct = hand_in_notebook(root)
    assert all("id" not in c for c in correct.cells)

    submit(root, "old_honest", without_ids(correct))
    submit(root, "old_colab", stripped(without_ids(correct, minor=0)))
    submit(root, "old_v3", v3_json(correct))
    passed = copy.deepcopy(correct)
    passed.cells[index_of(passed.cells, "test_double")].source = "pass"
    submit(root, "test_passed", without_ids(passed))
    scratched = copy.deepcopy(correct)
    scratched.cells[index_of(scratched.cells, "test_derivative")] = new_code_cell(SCRATCH)
    submit(root, "scratch", stripped(without_ids(scratched)))
    wrong = new_notebook(cells=[new_markdown_cell("# Week 3 notes"), new_code_cell("import torch\nprint(1)"),
                                new_code_cell("y = 2")], metadata=correct.metadata)
    submit(root, "wrong", without_ids(wrong))
    submit(root, "too_new", json.dumps({"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}))
    return OldCourse(root, run_autograder(root, "grade", ASSIGNMENT), SCRATCH)


def full_marks(course: Path, student: str) -> dict:
    report = grader_report(course, student)
    got = grades(course, student)
    assert {gid: got[gid][0] for gid in FULL} == FULL, report
    assert report["failures"] == [], report
    return report


@pytest.mark.slow
@pytest.mark.parametrize("student", ["old_honest", "old_colab", "old_v3"])
def test_honest_hand_ins_of_a_release_without_ids_get_full_marks_and_no_flag(old_course, student):
    assert old_course.run.returncode in (0, 3), old_course.run.stderr  # 3: too_new needs a person
    report = full_marks(old_course.root, student)
    assert report["flags"] == []
    got = grades(old_course.root, student)
    assert not any(got[gid][1] for gid in FULL)  # the written answer awaits a person anyway


@pytest.mark.slow
def test_an_nbformat_3_hand_in_is_converted_and_says_so(old_course):
    repairs = grader_report(old_course.root, "old_v3")["repairs"]
    assert any("converted the notebook from nbformat 3 to 4.5" in r for r in repairs), repairs


@pytest.mark.slow
def test_a_test_turned_into_pass_is_put_back_and_flagged(old_course):
    report = full_marks(old_course.root, "test_passed")  # nbgrader ran the instructor's test
    assert [f for f in report["flags"] if "changed the test cell 'test_double'" in f], report["flags"]
    assert grades(old_course.root, "test_passed")["test_double"][1] is True  # needs a person


@pytest.mark.slow
def test_a_scratch_cell_where_a_deleted_test_was_is_kept_and_the_test_runs(old_course):
    report = full_marks(old_course.root, "scratch")
    assert report["flags"] == []
    sources = [c.source for c in graded_notebook(old_course.root, "scratch").cells]
    assert old_course.scratch in sources
    assert sources.index(old_course.scratch) > index_of(graded_notebook(old_course.root, "scratch").cells,
                                                        "test_derivative")


@pytest.mark.slow
def test_a_wrong_notebook_without_ids_goes_to_a_person(old_course):
    report = grader_report(old_course.root, "wrong")
    assert report["failures"] == []
    assert any("does not look like the assignment's notebook" in f for f in report["flags"]), report
    assert all(flagged for _, flagged in grades(old_course.root, "wrong").values())


@pytest.mark.slow
def test_a_notebook_newer_than_nbformat_4_is_a_failure_that_says_what_to_do(old_course):
    failures = grader_report(old_course.root, "too_new")["failures"]
    assert any("--nbformat 4" in f for f in failures), failures
