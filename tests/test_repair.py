"""The repair stage: what Colab, Kaggle, VS Code or a student took from a hand-in is given back.

Fast: notebooks are built here with nbformat (a small template shaped like the
course's releases) or copied from the repository; no kernel, no nbgrader run.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import nbformat
import nbgrader
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import cells
from autograder.course.topics import REPO_ROOT
from autograder.handin import UnreadableNotebook, read_submission
from autograder.outcome import Flag
from autograder.pipeline.repair import Repair, repair_submission
from autograder.pipeline.repair.match import Matcher, match_by_cell_id

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


# --------------------------------------------------------------------------- a template


def graded(cell, grade_id: str, *, solution=False, grade=False, locked=False, points=None):
    """Mark `cell` as nbgrader's generate_assignment leaves it in a release."""
    meta = {"cell_type": cell.cell_type, "checksum": f"sum-{grade_id}", "grade": grade,
            "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    cell.metadata.nbgrader = meta
    cell.metadata.deletable = False
    if locked:
        cell.metadata.editable = False
    cell.id = grade_id
    return cell


def plain(cell, cell_id: str):
    cell.id = cell_id
    return cell


TEST_SQUARE = ("x = torch.tensor([1.0, -2.0])\n"
               "torch.testing.assert_close(square(x), torch.tensor([1.0, 4.0]))\n"
               "assert square(torch.tensor(3.0)).item() == 9.0, 'square(3) must be 9'")
TEST_CUBE = ("x = torch.tensor([2.0])\n"
             "torch.testing.assert_close(cube(x), torch.tensor([8.0]))")


def make_template() -> nbformat.NotebookNode:
    """A release-shaped notebook: locked setup, two exercises with tests, a written answer."""
    return new_notebook(
        cells=[
            plain(new_markdown_cell("# Assignment: powers\n\nTwo exercises and a written answer."), "cell-01"),
            graded(new_code_cell("import torch\nDEVICE = 'cpu'"), "setup", locked=True),
            plain(new_markdown_cell("## Exercise 1: `square(x)` (2 points)"), "cell-03"),
            graded(new_code_cell(f"def square(x):\n    {CODE_STUB.replace(chr(10), chr(10) + '    ')}"),
                   "square", solution=True),
            graded(new_code_cell(TEST_SQUARE), "test_square", grade=True, locked=True, points=2),
            plain(new_markdown_cell("## Exercise 2: `cube(x)` (3 points)"), "cell-06"),
            graded(new_code_cell(f"def cube(x):\n    {CODE_STUB.replace(chr(10), chr(10) + '    ')}"),
                   "cube", solution=True),
            plain(new_code_cell("print(cube(torch.tensor(2.0)))"), "cell-08"),
            graded(new_code_cell(TEST_CUBE), "test_cube", grade=True, locked=True, points=3),
            plain(new_markdown_cell("### Written answer (2 points)\n\nWhy is `cube` odd?"), "cell-10"),
            graded(new_markdown_cell("YOUR ANSWER HERE"), "explain", solution=True, grade=True, points=2),
            plain(new_markdown_cell("## Done"), "cell-12"),
        ],
        metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"},
                  "language_info": {"name": "python"}},
    )


ANSWERS = {
    "square": "def square(x):\n    return x * x",
    "cube": "def cube(x):\n    return x ** 3",
    "explain": "Because $(-x)^3 = -x^3$.",
}


@pytest.fixture
def template() -> nbformat.NotebookNode:
    return make_template()


@pytest.fixture
def solved(template) -> nbformat.NotebookNode:
    """An honest, correct hand-in, as Jupyter saves it (outputs and all)."""
    nb = copy.deepcopy(template)
    for cell in nb.cells:
        if gid := cell.metadata.get("nbgrader", {}).get("grade_id"):
            cell.source = ANSWERS.get(gid, cell.source)
        if cell.cell_type == "code":
            cell.execution_count = 1
            cell.outputs = [new_output("stream", name="stdout", text="ok\n")]
    return nb


# --------------------------------------------------------------------------- helpers


def at(nb, grade_id: str) -> int:
    """Index of the one cell with this grade id."""
    found = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(found) == 1, f"{grade_id!r} found {len(found)} times"
    return found[0]


def cell_of(nb, grade_id: str):
    return nb.cells[at(nb, grade_id)]


def strip(cell, *, cell_id: bool = True) -> None:
    """What Colab does to a cell: no nbgrader metadata, no read-only flags, (no id)."""
    for key in ("nbgrader", "editable", "deletable"):
        cell.metadata.pop(key, None)
    if cell_id:
        cell.id = f"other-{uuid.uuid4().hex[:8]}"


def grade_ids(nb) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})]


def kinds(result) -> list[tuple[str, str | None]]:
    return [(r.kind, r.grade_id) for r in result.repairs]


def assert_gradable(nb, template) -> None:
    """Valid 4.5, unique ids, every template nbgrader cell once, with its metadata, in order."""
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    assert grade_ids(nb) == grade_ids(template)
    for gid in grade_ids(template):
        got, want = cell_of(nb, gid), cell_of(template, gid)
        assert got.metadata.nbgrader == want.metadata.nbgrader
        assert got.cell_type == want.cell_type


def to_colab(nb) -> dict:
    """The JSON Colab saves: nbformat 4.0, no cell ids, its own metadata everywhere."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = 0
    raw["metadata"]["colab"] = {"provenance": [], "name": "assignment.ipynb"}
    raw["metadata"]["accelerator"] = "GPU"
    raw["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    for n, cell in enumerate(raw["cells"]):
        del cell["id"]
        cell["metadata"]["id"] = f"x{n:04d}Colab"
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["metadata"]["outputId"] = f"out{n:04d}"
    return raw


# --------------------------------------------------------------------------- reading


def test_read_accepts_colab_bytes_with_bom_unchanged(solved):
    raw = to_colab(solved)
    nb = read_submission(b"\xef\xbb\xbf" + json.dumps(raw).encode())
    assert (nb.nbformat, nb.nbformat_minor) == (4, 0)
    assert all("id" not in c for c in nb.cells)
    assert nb.cells[1].metadata.colab == {"base_uri": "https://localhost:8080/"}
    assert nb.metadata.accelerator == "GPU"


def test_read_path_str_and_bytes_agree(tmp_path, solved):
    path = tmp_path / "hand-in.ipynb"
    nbformat.write(solved, path)
    text = path.read_text(encoding="utf-8")
    assert read_submission(path) == read_submission(text) == read_submission(text.encode()) == solved


def test_read_joins_sources_split_into_lines(solved):
    raw = json.loads(nbformat.writes(solved))
    assert isinstance(raw["cells"][1]["source"], list)
    assert read_submission(json.dumps(raw)).cells[1].source == solved.cells[1].source


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "is empty"),
        (b"<html>Sign in to continue</html>", "not JSON"),
        (b"\xff\xfe\x00garbage\xc3", "not"),
        (b"[1, 2, 3]", "no nbformat version"),
        (b'{"cells": []}', "no nbformat version"),
        (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": None, "metadata": {}}).encode(),
         "nbformat 3 but its cells are missing"),
        (json.dumps({"nbformat": 2, "nbformat_minor": 0, "worksheets": [], "metadata": {}}).encode(),
         "nbformat 2, older"),
        (json.dumps({"nbformat": 5, "nbformat_minor": 0, "cells": [], "metadata": {}}).encode(), "newer"),
        (json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {}}).encode(), "cells are missing"),
    ],
    ids=["empty", "html", "binary", "list", "no-version", "v3-damaged", "v2", "v5", "no-cells"],
)
def test_read_refuses_what_is_not_a_v3_or_v4_notebook_and_says_why(data, says):
    with pytest.raises(UnreadableNotebook, match=says) as raised:
        read_submission(data)
    assert isinstance(raised.value, ValueError)


def test_read_file_name_given_as_text_says_to_pass_a_path():
    with pytest.raises(UnreadableNotebook, match="pass a pathlib.Path"):
        read_submission("submitted/alice/02_backward/02_backward.ipynb")


def test_read_missing_file_says_which(tmp_path):
    with pytest.raises(UnreadableNotebook, match="cannot read gone.ipynb"):
        read_submission(tmp_path / "gone.ipynb")


# --------------------------------------------------------------------------- 8. nothing to repair


def test_untouched_correct_notebook_needs_no_repair(solved, template):
    result = repair_submission(solved, template)
    assert result.repairs == [] and result.flags == []
    assert result.notebook == solved
    assert_gradable(result.notebook, template)


def test_untouched_release_needs_no_repair(template):
    result = repair_submission(template, template)
    assert (result.repairs, result.flags, result.notebook) == ([], [], template)


def test_inputs_are_not_mutated(solved, template):
    colab = read_submission(json.dumps(to_colab(solved)))
    for cell in colab.cells:
        cell.metadata.pop("nbgrader", None)
    colab.cells.insert(0, colab.cells.pop(4))  # a test moved to the top
    before, template_before = copy.deepcopy(colab), copy.deepcopy(template)
    result = repair_submission(colab, template)
    assert result.repairs
    assert colab == before and template == template_before


# --------------------------------------------------------------------------- 1. format


def test_colab_format_is_upgraded_and_foreign_metadata_kept(solved, template):
    submitted = read_submission(json.dumps(to_colab(solved)))
    result = repair_submission(submitted, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert all(c.id for c in nb.cells)
    assert nb.metadata.colab["provenance"] == [] and nb.metadata.accelerator == "GPU"
    assert nb.cells[1].metadata.colab == {"base_uri": "https://localhost:8080/"}
    assert nb.cells[1].metadata.outputId == "out0001"
    assert [c.source for c in nb.cells] == [c.source for c in solved.cells]
    assert result.repairs == [Repair("format", None, "converted the notebook from nbformat 4.0 to 4.5 and "
                                     f"gave {len(nb.cells)} cells a new cell id (missing, invalid or repeated)")]
    assert result.flags == []


def test_repeated_and_invalid_cell_ids_are_replaced(solved, template):
    solved.cells[5].id = solved.cells[2].id  # a markdown cell pasted from another notebook
    solved.cells[7].id = "not a valid id!"
    result = repair_submission(solved, template)
    ids = [c.id for c in result.notebook.cells]
    assert len(set(ids)) == len(ids)
    assert ids[2] == "cell-03" and ids[5] not in ("cell-03", "cell-06") and ids[7] != "not a valid id!"
    assert kinds(result) == [("format", None)]
    assert "gave 2 cells a new cell id" in result.repairs[0].detail
    assert_gradable(result.notebook, template)


def test_damaged_outputs_are_dropped(solved, template):
    cell_of(solved, "square").outputs = [{"output_type": "stream", "text": "no name\n"},
                                         new_output("stream", name="stdout", text="fine\n")]
    result = repair_submission(solved, template)
    assert cell_of(result.notebook, "square").outputs == [new_output("stream", name="stdout", text="fine\n")]
    assert kinds(result) == [("outputs", "square")]
    assert result.repairs[0].detail == "dropped 1 damaged output(s) of cell 4, which grading makes again"
    assert_gradable(result.notebook, template)


def test_cell_the_schema_rejects_is_rebuilt_with_its_source(solved, template):
    odd = nbformat.from_dict({"id": "odd", "cell_type": "code", "source": "x = 1", "execution_count": None,
                              "outputs": [], "metadata": {"collapsed": "yes", "colab": {}}})  # not a boolean
    solved.cells.insert(5, odd)
    result = repair_submission(solved, template)
    rebuilt = result.notebook.cells[5]
    assert (rebuilt.id, rebuilt.source, rebuilt.metadata) == (odd.id, "x = 1", {})
    assert result.repairs == [Repair("format", None, "rebuilt cell 6, which the notebook schema rejected, "
                                                     "keeping its source")]
    assert_gradable(result.notebook, template)


def test_notebook_metadata_the_schema_rejects_is_replaced(solved, template):
    solved.metadata.kernelspec = {"name": "python3"}  # no display_name
    solved.metadata.kaggle = {"accelerator": "gpu"}
    result = repair_submission(solved, template)
    assert result.notebook.metadata.kernelspec == template.metadata.kernelspec
    assert result.notebook.metadata.kaggle == {"accelerator": "gpu"}
    assert kinds(result) == [("format", None)]
    assert_gradable(result.notebook, template)


def test_repair_refuses_a_notebook_newer_than_nbformat_4(template):
    new = nbformat.from_dict({"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []})
    with pytest.raises(UnreadableNotebook, match="nbformat 5, not 3 or 4"):
        repair_submission(new, template)


def test_an_nbformat_3_hand_in_is_converted_and_needs_nothing_else(solved, template):
    old = read_submission(nbformat.writes(copy.deepcopy(solved), version=3))  # writes converts in place
    assert old.nbformat == 3
    result = repair_submission(old, template)
    assert_gradable(result.notebook, template)
    assert [(c.cell_type, c.source) for c in result.notebook.cells] == [(c.cell_type, c.source)
                                                                        for c in solved.cells]
    assert "orig_nbformat" not in result.notebook.metadata  # recorded as a repair instead
    assert result.repairs == [Repair("format", None, "converted the notebook from nbformat 3 to 4.5 and gave "
                                                     "12 cells a new cell id (missing, invalid or repeated)")]
    assert result.flags == []


# --------------------------------------------------------------------------- 2. lost nbgrader metadata


def test_metadata_found_by_cell_id(solved, template):
    strip(cell_of(solved, "square"), cell_id=False)
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.notebook.cells[3].source == ANSWERS["square"]
    assert result.repairs == [Repair("metadata", "square",
                                     "restored the nbgrader metadata of answer cell 'square' (matched by cell id)")]
    assert result.flags == []


def test_metadata_found_by_colab_cell_id(solved, template):
    cell = cell_of(solved, "cube")
    strip(cell)
    cell.metadata.id = "cube"  # where Colab keeps an id it read
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert cell_of(result.notebook, "cube").source == ANSWERS["cube"]
    assert result.repairs == [Repair("metadata", "cube",
                                     "restored the nbgrader metadata of answer cell 'cube' (matched by cell id)")]


def test_locked_cell_found_by_source_whitespace_aside(solved, template):
    cell = cell_of(solved, "test_square")
    strip(cell)
    cell.source = cell.source.replace("\n", "  \r\n") + "\n\n"
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.notebook.cells[4].source == cell.source  # nbgrader overwrites it from the gradebook
    assert result.repairs == [Repair("metadata", "test_square",
                                     "restored the nbgrader metadata of test cell 'test_square' (matched by source)")]
    assert result.notebook.cells[4].metadata.editable is False


def test_answer_cell_found_by_position(solved, template):
    strip(cell_of(solved, "square"))
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.notebook.cells[3].source == ANSWERS["square"]
    assert kinds(result) == [("metadata", "square")]
    assert result.repairs[0].detail.endswith("(matched by position)")
    assert result.flags == []


def test_adjacent_answer_and_test_both_stripped_are_both_recovered(solved, template):
    # nbgrader's own add_missing_cells raises KeyError here: the test's neighbour has no grade id.
    strip(cell_of(solved, "square"))
    test = cell_of(solved, "test_square")
    strip(test)
    test.source += "\nprint('checked')"  # edited, so only its position tells
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert [c.source for c in result.notebook.cells[3:5]] == [ANSWERS["square"], test.source]
    assert kinds(result) == [("metadata", "square"), ("metadata", "test_square")]
    assert all(r.detail.endswith("(matched by position)") for r in result.repairs)


def test_everything_stripped_and_no_ids_is_still_recovered(solved, template):
    for cell in solved.cells:
        strip(cell)
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert [c.source for c in result.notebook.cells] == [c.source for c in solved.cells]
    how = {r.grade_id: r.detail.rsplit("(", 1)[1] for r in result.repairs}
    assert how == {"setup": "matched by source)", "test_square": "matched by source)",
                   "test_cube": "matched by source)", "square": "matched by position)",
                   "cube": "matched by position)", "explain": "matched by position)"}
    assert result.flags == []


def test_written_answer_recovered_like_an_answer_cell(solved, template):
    strip(cell_of(solved, "explain"))
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert cell_of(result.notebook, "explain").source == ANSWERS["explain"]
    assert result.repairs == [Repair("metadata", "explain", "restored the nbgrader metadata of written-answer "
                                                            "cell 'explain' (matched by position)")]


def test_answer_beside_scratch_cells_found_by_its_def_line(solved, template):
    strip(cell_of(solved, "cube"))
    scratch = new_code_cell("cube(torch.arange(3.0))")
    solved.cells.insert(6, scratch)  # above the answer
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert cell_of(result.notebook, "cube").source == ANSWERS["cube"]
    assert result.notebook.cells[6] == scratch  # untouched, no nbgrader metadata
    assert result.repairs[0].detail.endswith("(matched by position and content)")
    assert result.flags == []


def test_answer_among_scratch_cells_without_evidence_is_flagged(solved, template):
    answer = cell_of(solved, "cube")
    strip(answer)
    answer.source = "def cube(t):  # renamed the argument\n    return t ** 3"
    solved.cells.insert(7, new_code_cell("cube(torch.arange(3.0))"))  # below it
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert cell_of(result.notebook, "cube").source == answer.source
    assert kinds(result) == [("metadata", "cube")]
    assert result.flags == [Flag("cube", "found answer cell 'cube' by position only, among several cells the "
                                         "student added there: check that the graded cell is the student's answer")]


def test_answer_moved_far_away_found_by_content_and_moved_back(solved, template):
    answer = solved.cells.pop(at(solved, "cube"))
    strip(answer)
    solved.cells.append(answer)
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.notebook.cells[6].source == ANSWERS["cube"]
    assert kinds(result) == [("metadata", "cube"), ("moved_cell", "cube")]
    assert result.repairs[0].detail.endswith("(matched by content)")
    assert result.repairs[1].detail == ("moved answer cell 'cube', which was out of the template's order, "
                                        "back after the cell '## Exercise 2: `cube(x)` (3 points)'")


def test_tampered_metadata_is_reset_to_the_template(solved, template):
    cell_of(solved, "test_cube").metadata.nbgrader.points = 300
    cell_of(solved, "setup").metadata.nbgrader.locked = False
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.repairs == [
        Repair("metadata", "setup", "reset the nbgrader metadata of read-only cell 'setup' to the template's "
                                    "(locked differed)"),
        Repair("metadata", "test_cube", "reset the nbgrader metadata of test cell 'test_cube' to the template's "
                                        "(points differed)"),
    ]


def test_answer_cell_turned_into_markdown_is_turned_back(solved, template):
    cell = cell_of(solved, "square")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    fixed = cell_of(result.notebook, "square")
    assert (fixed.source, fixed.outputs, fixed.execution_count) == (ANSWERS["square"], [], None)
    assert kinds(result) == [("cell_type", "square")]


def test_unknown_grade_id_is_removed(solved, template):
    old = new_code_cell("# from last year's notebook", metadata={"nbgrader": {
        "grade": True, "grade_id": "test_old", "locked": True, "points": 1, "solution": False}})
    solved.cells.insert(5, old)
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert "nbgrader" not in result.notebook.cells[5].metadata
    assert result.repairs == [Repair("metadata", "test_old", "removed nbgrader metadata naming 'test_old', a cell "
                                                             "the template does not have, from cell 6 of the "
                                                             "handed-in notebook")]


def test_nbgrader_metadata_without_grade_id_is_removed(solved, template):
    solved.cells.insert(5, new_code_cell("y = 2", metadata={"nbgrader": {"solution": True}}))
    solved.cells.insert(6, new_code_cell("z = 3", metadata={"nbgrader": None}))
    solved.cells.insert(7, new_code_cell("w = 4", metadata={"nbgrader": {"solution": False}}))
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert ["nbgrader" in c.metadata for c in nb.cells[5:8]] == [False, False, True]
    assert result.repairs == [
        Repair("metadata", None, f"removed nbgrader metadata without a grade id from cell {n} of the handed-in "
                                 "notebook, which matches no cell of the template")
        for n in (6, 7)
    ]


# --------------------------------------------------------------------------- 3. deleted cells


def test_deleted_test_cell_is_restored_after_its_answer(solved, template):
    del solved.cells[at(solved, "test_square")]
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    restored = nb.cells[4]
    assert at(nb, "test_square") == at(nb, "square") + 1
    assert restored.source == TEST_SQUARE and restored.id == "test_square" and restored.outputs == []
    assert restored.metadata == cell_of(template, "test_square").metadata
    assert result.repairs == [Repair("restored_cell", "test_square", "put back test cell 'test_square', "
                                                                     "which the student had deleted, from the template")]
    assert result.flags == []


def test_deleted_test_goes_right_after_the_cell_before_it_in_the_template(solved, template):
    del solved.cells[at(solved, "test_cube")]
    scratch = new_code_cell("print('trying cube')")
    solved.cells.insert(8, scratch)  # after the demo cell-08
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert [c.id for c in nb.cells[6:10]] == ["cube", "cell-08", "test_cube", scratch.id]
    assert kinds(result) == [("restored_cell", "test_cube")]


def test_deleted_read_only_cell_is_restored_in_place(solved, template):
    del solved.cells[at(solved, "setup")]
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert [c.id for c in result.notebook.cells[:3]] == ["cell-01", "setup", "cell-03"]
    assert kinds(result) == [("restored_cell", "setup")]


def test_restored_cell_gets_a_fresh_id_when_its_own_is_taken(solved, template):
    del solved.cells[at(solved, "test_square")]
    solved.cells[0].id = "test_square"
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert cell_of(result.notebook, "test_square").id != "test_square"


# --------------------------------------------------------------------------- 4. moved cells


def test_test_cell_above_its_answer_is_moved_back(solved, template):
    test = solved.cells.pop(at(solved, "test_square"))
    solved.cells.insert(at(solved, "square"), test)
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert [c.id for c in result.notebook.cells] == [c.id for c in template.cells]
    assert result.repairs == [Repair("moved_cell", "test_square",
                                     "moved test cell 'test_square', which was out of the template's order, "
                                     "back after answer cell 'square'")]


def test_moved_cell_takes_the_students_cells_that_followed_it(solved, template):
    test = solved.cells.pop(at(solved, "test_cube"))
    scratch = new_markdown_cell("my notes on the test")
    solved.cells[2:2] = [test, scratch]  # under the setup, far above `cube`
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert [c.id for c in nb.cells[6:10]] == ["cube", "cell-08", "test_cube", scratch.id]
    assert kinds(result) == [("moved_cell", "test_cube")]
    assert result.repairs[0].detail.endswith("back after the cell 'print(cube(torch.tensor(2.0)))'")


def test_plain_cells_the_student_reordered_stay_put(solved, template):
    solved.cells.insert(1, solved.cells.pop(at(solved, "cube") + 1))  # the demo cell-08, to the top
    result = repair_submission(solved, template)
    assert result.repairs == [] and result.notebook == solved


# --------------------------------------------------------------------------- 5. duplicates


def test_copied_answer_keeps_the_later_copy(solved, template):
    first = copy.deepcopy(cell_of(solved, "square"))
    first.id, first.source = "first-try", "def square(x):\n    return x ** 2 + 1  # wrong"
    solved.cells.insert(at(solved, "square"), first)
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert cell_of(nb, "square").source == ANSWERS["square"]
    assert nb.cells[3].id == "first-try" and "nbgrader" not in nb.cells[3].metadata
    assert result.repairs == [Repair("duplicate", "square", "cell 4 of the handed-in notebook also claimed to be "
                                                            "answer cell 'square'; kept cell 5 and removed the "
                                                            "nbgrader metadata from this copy")]


def test_copied_test_keeps_the_copy_equal_to_the_template(solved, template):
    edited = copy.deepcopy(cell_of(solved, "test_cube"))
    edited.id, edited.source = "pasted", "assert True  # tests pass now"
    solved.cells.insert(at(solved, "cube") + 1, edited)
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert cell_of(nb, "test_cube").source == TEST_CUBE
    assert "nbgrader" not in next(c for c in nb.cells if c.id == "pasted").metadata
    assert result.repairs == [Repair("duplicate", "test_cube", "cell 8 of the handed-in notebook also claimed to be "
                                                               "test cell 'test_cube'; kept cell 10 and removed "
                                                               "the nbgrader metadata from this copy")]


# --------------------------------------------------------------------------- 6. not found


def test_answer_found_nowhere_is_flagged_and_its_stub_inserted(solved, template):
    del solved.cells[at(solved, "cube")]
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert cell_of(nb, "cube").source == cell_of(template, "cube").source
    assert at(nb, "cube") == 6 and nb.cells[5].id == "cell-06"
    assert kinds(result) == [("restored_cell", "cube")]
    assert [f.grade_id for f in result.flags] == ["cube"]
    assert "could not find the answer cell 'cube'" in result.flags[0].reason


def test_a_different_notebook_is_flagged_as_a_whole(template):
    other = new_notebook(cells=[new_markdown_cell("# My holiday photos"), new_code_cell("print('hi')")])
    result = repair_submission(other, template)
    assert_gradable(result.notebook, template)
    assert result.flags[0] == Flag(None, "this does not look like the assignment's notebook: only 0 of the "
                                         "template's 6 nbgrader cells were found by metadata, cell id or "
                                         "source; check that the student handed in the right file")
    assert {f.grade_id for f in result.flags[1:]} == {"square", "cube", "explain"}


# --------------------------------------------------------------------------- 7. the student's own cells


def test_scratch_cells_stay_untouched(solved, template):
    scratch = [new_code_cell("x = square(torch.tensor(5.0))", metadata={"tags": ["mine"]}),
               new_markdown_cell("**Note to self**")]
    solved.cells[4:4] = scratch[:1]
    solved.cells.append(scratch[1])
    result = repair_submission(solved, template)
    assert result.repairs == [] and result.flags == []
    assert result.notebook.cells[4] == scratch[0] and result.notebook.cells[-1] == scratch[1]


def test_repairing_twice_changes_nothing_more(solved, template):
    for cell in solved.cells:
        strip(cell, cell_id=False)
    cells = {c.id: c for c in solved.cells}
    solved.cells.remove(cells["test_square"])
    solved.cells.remove(cells["test_cube"])
    solved.cells.insert(2, cells["test_cube"])  # at the top
    solved.cells.insert(5, new_code_cell("scratch = 1"))
    once = repair_submission(solved, template)
    assert kinds(once) and not once.flags
    twice = repair_submission(once.notebook, template)
    assert (twice.repairs, twice.flags, twice.notebook) == ([], [], once.notebook)


# --------------------------------------------------------------------------- 9. releases without cell ids


def without_ids(nb, minor: int = 1) -> str:
    """The JSON an nbformat 4.0-4.4 writer saves (a release made before 4.5): no cell ids."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = minor
    for cell in raw["cells"]:
        del cell["id"]
    return json.dumps(raw)


def stripped_json(text: str) -> str:
    """What Colab leaves of a notebook saved without ids: no nbgrader metadata, no read-only flags."""
    raw = json.loads(text)
    for cell in raw["cells"]:
        for key in ("nbgrader", "editable", "deletable"):
            cell["metadata"].pop(key, None)
    return json.dumps(raw)


@pytest.fixture
def old_template(template) -> nbformat.NotebookNode:
    """The release as nbformat 4.1, read the way the grader reads a release."""
    nb = nbformat.reads(without_ids(template), as_version=4)
    assert all("id" not in c for c in nb.cells)
    return nb


@pytest.fixture
def old_solved(solved) -> str:
    """An honest hand-in of the 4.1 release: no ids either."""
    return without_ids(solved)


def test_honest_hand_in_of_a_release_without_ids_needs_only_new_ids(old_solved, old_template, solved):
    result = repair_submission(read_submission(old_solved), old_template)
    assert_gradable(result.notebook, old_template)
    assert [c.source for c in result.notebook.cells] == [c.source for c in solved.cells]
    assert result.repairs == [Repair("format", None, "converted the notebook from nbformat 4.1 to 4.5 and gave "
                                                     "12 cells a new cell id (missing, invalid or repeated)")]
    assert result.flags == []


def test_colab_damage_to_a_hand_in_without_ids_is_matched_by_source_and_position(old_solved, old_template,
                                                                                  solved):
    result = repair_submission(read_submission(stripped_json(old_solved)), old_template)
    assert_gradable(result.notebook, old_template)
    assert [c.source for c in result.notebook.cells] == [c.source for c in solved.cells]
    how = {r.grade_id: r.detail.rsplit("(", 1)[1] for r in result.repairs if r.kind == "metadata"}
    assert how == {"setup": "matched by source)", "test_square": "matched by source)",
                   "test_cube": "matched by source)", "square": "matched by position)",
                   "cube": "matched by position)", "explain": "matched by position)"}
    assert result.flags == []


def test_a_wrong_notebook_without_ids_is_flagged_not_matched_to_a_release_without_ids(old_template):
    other = new_notebook(cells=[new_markdown_cell("# My holiday photos"), new_code_cell("print('hi')"),
                                new_code_cell("x = 1")])
    result = repair_submission(read_submission(without_ids(other)), old_template)
    nb = result.notebook
    assert_gradable(nb, old_template)
    assert result.flags[0].grade_id is None
    assert "only 0 of the template's 6 nbgrader cells" in result.flags[0].reason
    assert not any("matched by cell id" in r.detail for r in result.repairs)
    # The locked cells come from the template, none of the student's cells is taken for one.
    assert {gid for kind, gid in kinds(result) if kind == "restored_cell"} == {"setup", "test_square", "test_cube"}
    assert sorted(c.source for c in nb.cells if not cells.is_locked(c)) == sorted(c.source for c in other.cells)


@pytest.mark.parametrize("damage", [str, stripped_json], ids=["metadata-kept", "colab-stripped"])
def test_deleted_tests_come_back_with_new_ids_when_the_release_has_none(solved, old_template, damage):
    full = copy.deepcopy(solved)
    for gid in ("test_square", "test_cube"):
        del solved.cells[at(solved, gid)]
    result = repair_submission(read_submission(damage(without_ids(solved))), old_template)
    nb = result.notebook
    assert_gradable(nb, old_template)  # valid, unique ids
    assert [c.source for c in nb.cells] == [c.source for c in full.cells]
    assert [k for k in kinds(result) if k[0] == "restored_cell"] == [("restored_cell", "test_square"),
                                                                     ("restored_cell", "test_cube")]
    assert result.flags == []


def test_an_id_the_repair_made_up_is_no_evidence(template):
    """Ids given to cells that had none are random: one equal to a template id would be chance."""
    submitted = copy.deepcopy(template)
    strip(cell_of(submitted, "square"), cell_id=False)
    square = at(template, "square")
    matcher = Matcher(submitted.cells, template.cells, made_up_ids={"square"})
    match_by_cell_id(matcher, matcher.graded)
    assert square not in matcher.matches
    matcher = Matcher(submitted.cells, template.cells)  # the student's own id: evidence
    match_by_cell_id(matcher, matcher.graded)
    assert matcher.matches[square].how == "cell id"


NBGRADER_GUIDE = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"


def nbgrader_example(*parts: str) -> str:
    """A notebook of nbgrader's own example course (nbformat 4.0, no cell ids)."""
    return (NBGRADER_GUIDE.joinpath(*parts)).read_text(encoding="utf-8")


@pytest.fixture
def nbgrader_release() -> nbformat.NotebookNode:
    nb = nbformat.reads(nbgrader_example("release", "ps1", "problem1.ipynb"), as_version=4)
    assert nb.nbformat_minor == 0 and all("id" not in c for c in nb.cells)
    return nb


def test_nbgraders_own_example_hand_in_is_matched_by_grade_id(nbgrader_release):
    submitted = read_submission(nbgrader_example("submitted", "hacker", "ps1", "problem1.ipynb"))
    result = repair_submission(submitted, nbgrader_release)
    assert_gradable(result.notebook, nbgrader_release)
    assert result.flags == []
    assert not any("matched by" in r.detail for r in result.repairs)  # all found by their grade ids
    scratch = [c.source for c in submitted.cells if "nbgrader" not in c.metadata]
    assert [c.source for c in result.notebook.cells if "nbgrader" not in c.metadata] == scratch


def test_nbgraders_own_example_stripped_by_colab_is_recovered_without_ids(nbgrader_release):
    text = nbgrader_example("submitted", "hacker", "ps1", "problem1.ipynb")
    submitted = read_submission(stripped_json(text))
    result = repair_submission(submitted, nbgrader_release)
    assert_gradable(result.notebook, nbgrader_release)
    assert [c.source for c in result.notebook.cells] == [c.source for c in submitted.cells]
    assert not any("matched by cell id" in r.detail for r in result.repairs)
    assert [f for f in result.flags if f.grade_id is None] == []  # recognised as the right notebook


def test_nbgraders_own_example_with_commented_out_and_emptied_tests_is_flagged(nbgrader_release):
    submitted = read_submission(nbgrader_example("submitted", "bitdiddle", "ps1", "problem1.ipynb"))
    result = repair_submission(submitted, nbgrader_release)
    assert_gradable(result.notebook, nbgrader_release)
    assert [f.grade_id for f in result.flags] == ["correct_squares", "squares_invalid_input"]
    assert result.flags[0].reason.startswith(
        "the student changed the test cell 'correct_squares' (5 of 5 lines differ, e.g. "
        "'\"\"\"Check that squares returns the cor...' became '# \"\"\"Check that squares returns the c...'); ")
    assert result.flags[1].reason.startswith(
        "the student changed the test cell 'squares_invalid_input' (emptied it: 13 lines removed); ")


def test_nbgraders_own_hand_in_with_changed_read_only_cells_is_flagged_for_each():
    files = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
    template = nbformat.read(files / "submitted-unchanged.ipynb", as_version=4)
    assert all("id" not in c for c in template.cells)
    result = repair_submission(read_submission(files / "submitted-locked-cell-changed.ipynb"), template)
    assert_gradable(result.notebook, template)
    assert [(f.grade_id, f.reason.split(" (")[0]) for f in result.flags] == [
        ("ro1", "the student changed the read-only cell 'ro1'"),
        ("ro2", "the student changed the read-only cell 'ro2'"),
    ]


# --------------------------------------------------------------------------- 10. the student's cell where a test was


SCRATCH = {
    "one-cell-sharing-a-line": ["x = torch.tensor([2.0])\nprint(cube(x))"],
    "two-cells-sharing-a-line-each": ["x = torch.tensor([2.0])\nprint(cube(x))",
                                      ("torch.testing.assert_close(cube(x), torch.tensor([8.0]))\nprint('ok')\n"
                                       "print(cube(x).shape)")],
    "the-test-inside-a-longer-cell": [TEST_CUBE + "\nprint('mine')\ny = cube(x) + 1\nprint(y)"],
}


@pytest.mark.parametrize("strip_all", [False, True], ids=["metadata-kept", "colab-stripped"])
@pytest.mark.parametrize("scratch", SCRATCH.values(), ids=SCRATCH.keys())
def test_scratch_cell_where_a_deleted_test_was_stays_and_the_test_is_inserted(solved, template, scratch,
                                                                              strip_all):
    i = at(solved, "test_cube")
    mine = [new_code_cell(source) for source in scratch]
    solved.cells[i:i + 1] = mine
    if strip_all:
        for cell in solved.cells:
            strip(cell)
    result = repair_submission(solved, template)
    nb = result.notebook
    assert_gradable(nb, template)
    for cell in mine:  # every one of the student's cells, untouched
        assert [c for c in nb.cells if c.id == cell.id] == [cell]
    restored = cell_of(nb, "test_cube")
    assert restored.source == TEST_CUBE and restored.id not in {c.id for c in mine}
    assert nb.cells[at(nb, "test_cube") + 1: at(nb, "test_cube") + 1 + len(mine)] == mine
    assert ("restored_cell", "test_cube") in kinds(result)
    assert result.flags == []


def test_a_test_found_by_its_content_elsewhere_still_looks_like_itself(solved, template):
    test = solved.cells.pop(at(solved, "test_square"))
    strip(test)
    solved.cells.append(test)  # moved to the end, metadata lost, source intact
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert at(result.notebook, "test_square") == at(result.notebook, "square") + 1
    assert kinds(result) == [("metadata", "test_square"), ("moved_cell", "test_square")]


# --------------------------------------------------------------------------- 11. locked cells the student changed


def test_visible_test_replaced_by_pass_is_flagged_with_what_changed(solved, template):
    cell_of(solved, "test_square").source = "pass"
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.flags == [Flag("test_square", "the student changed the test cell 'test_square' (3 of 3 lines "
                                                "differ, e.g. 'x = torch.tensor([1.0, -2.0])' became 'pass'); the "
                                                "instructor's version was put back before grading, so the change "
                                                "did not count: look at what the student meant by it")]
    assert result.repairs == []  # nbgrader puts the source back; repair only tells


def test_changed_read_only_cell_is_flagged(solved, template):
    cell_of(solved, "setup").source = "import torch\nDEVICE = 'cuda'"
    result = repair_submission(solved, template)
    assert [f.grade_id for f in result.flags] == ["setup"]
    assert ("(1 of 2 lines differs, e.g. 'DEVICE = 'cpu'' became 'DEVICE = 'cuda'')"
            in result.flags[0].reason)


def test_edited_test_that_lost_its_metadata_is_matched_and_flagged(solved, template):
    test = cell_of(solved, "test_cube")
    strip(test)
    test.source += "\nprint('checked')"
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert cell_of(result.notebook, "test_cube").source == test.source
    assert [f.grade_id for f in result.flags] == ["test_cube"]
    assert "(1 line added, e.g. 'print('checked')' was added)" in result.flags[0].reason


def test_locked_cells_differing_only_in_whitespace_or_metadata_are_not_flagged(solved, template):
    test = cell_of(solved, "test_square")
    test.source = "\n\n" + test.source.replace("\n", "   \r\n\n").replace("x = ", "x  =  ") + "\n\n"
    setup = cell_of(solved, "setup")
    setup.source += "\n"
    strip(setup)
    strip(cell_of(solved, "test_cube"))
    result = repair_submission(solved, template)
    assert_gradable(result.notebook, template)
    assert result.flags == []


def test_student_text_quoted_in_a_flag_carries_no_markup(solved, template):
    cell_of(solved, "test_cube").source = "<img src=x onerror=alert(1)>"
    result = repair_submission(solved, template)
    assert [f.grade_id for f in result.flags] == ["test_cube"]
    assert "<" not in result.flags[0].reason and ">" not in result.flags[0].reason
    assert "img src=x" in result.flags[0].reason


# --------------------------------------------------------------------------- the course's notebooks


def course_notebooks() -> list[Path]:
    """The committed releases (the templates); the sources share their markup while there are none."""
    return sorted(REPO_ROOT.glob("release/*/*.ipynb")) or sorted(REPO_ROOT.glob("source/*/*.ipynb"))


@pytest.fixture(params=course_notebooks(), ids=lambda p: p.stem)
def course_notebook(request, tmp_path) -> nbformat.NotebookNode:
    copied = tmp_path / request.param.name
    copied.write_bytes(request.param.read_bytes())
    return nbformat.read(copied, as_version=4)


def test_course_notebook_needs_no_repair(course_notebook):
    result = repair_submission(course_notebook, course_notebook)
    assert (result.repairs, result.flags) == ([], [])
    assert result.notebook == course_notebook


def test_course_notebook_saved_by_colab_is_restored(course_notebook):
    template = course_notebook
    raw = to_colab(template)
    stripped = [c["metadata"]["nbgrader"]["grade_id"] for c in raw["cells"] if "nbgrader" in c["metadata"]][::2]
    for cell in raw["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") in stripped:
            for key in ("nbgrader", "editable", "deletable"):
                cell["metadata"].pop(key, None)
    result = repair_submission(read_submission(json.dumps(raw).encode("utf-8-sig")), template)
    nb = result.notebook
    assert_gradable(nb, template)
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in template.cells]
    assert nb.metadata.colab["name"] == "assignment.ipynb" and nb.metadata.accelerator == "GPU"
    assert kinds(result) == [("format", None)] + [("metadata", gid) for gid in stripped]
    assert result.flags == []
