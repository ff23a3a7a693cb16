"""The course's nbgrader settings, proved with real nbgrader: only errors cost
points. A Python warning on stderr (PyTorch's non-leaf `.grad` warning) or a
student's debugging line there costs nothing; an exception, or stderr text with
a traceback or an "...Error:" line, still fails a test cell."""

from __future__ import annotations

import re
import runpy
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.course.release import generate_release, hand_in, make_scratch_course, scores
from autograder.nbgrader_cli import nbgrader

SLUG = "warnings"


def config_pattern(repo_root) -> str:
    namespace = runpy.run_path(str(repo_root / "nbgrader_config.py"), init_globals={"get_config": Config})
    return namespace["c"].IgnorePattern.pattern


TORCH_WARNING = (
    "/tmp/ipykernel_1/2.py:8: UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is "
    "being accessed. (Triggered internally at TensorBody.h:493.)\n  print(z.grad)\n"
)


SCALAR_WARNING = (
    "/tmp/ipykernel_7/1.py:4: UserWarning: Converting a tensor with requires_grad=True to a scalar may lead "
    "to unexpected behavior.\nConsider using tensor.detach() first. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)\n"
    "  return float(loss)\n"
)


def test_pattern_forgives_everything_on_stderr_but_errors(repo_root):
    pattern = config_pattern(repo_root)
    assert re.search(pattern, TORCH_WARNING)
    assert re.search(pattern, TORCH_WARNING + "lib.py:3: DeprecationWarning: old\n  old()\n")
    assert re.search(pattern, "x.py:1: FutureWarning: soon")
    assert re.search(pattern, "debug: grad = tensor([2., 4.])\n")  # a student's own line
    assert re.search(pattern, "step 3\n" + TORCH_WARNING)
    assert not re.search(pattern, TORCH_WARNING + "Traceback (most recent call last):\n")
    assert not re.search(pattern, "debug\nValueError: the answer is wrong\n")
    assert not re.search(pattern, "RuntimeError: Trying to backward through the graph a second time\n")
    assert not re.search(pattern, "torch.autograd.GradcheckError: Jacobian mismatch\n")
    # a warning whose message runs over lines that are not indented (float() of a tensor that requires grad)
    assert re.search(pattern, SCALAR_WARNING)
    assert re.search(pattern, SCALAR_WARNING + TORCH_WARNING)


def cell(kind: str, grade_id: str, source: str):
    meta = {"schema_version": 3, "grade_id": grade_id, "locked": kind == "test",
            "solution": kind == "answer", "grade": kind == "test"}
    if kind == "test":
        meta["points"] = 1
    return new_code_cell(source, metadata={"nbgrader": meta}, id=grade_id)


def tiny_course(root, config_text: str):
    nb = new_notebook(cells=[
        cell("answer", "answer", "import sys\nimport torch\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
        cell("test", "warns", "x = torch.ones(2, requires_grad=True)\nz = x * 2\nz.sum().backward()\n"
                              "assert z.grad is None and answer == 42"),
        cell("test", "stderr_text", "print('oops', file=sys.stderr)\nassert answer == 42"),
        cell("test", "stderr_error", "print('ValueError: no answer', file=sys.stderr)\nassert answer == 42"),
        cell("test", "error", "assert answer == 41"),
        cell("test", "clean", "assert answer == 42"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (root / "source" / SLUG).mkdir(parents=True)
    nbformat.write(nb, root / "source" / SLUG / f"{SLUG}.ipynb")
    (root / "nbgrader_config.py").write_text(config_text)
    return root


def grade(root, tmp_path):
    course = make_scratch_course(tmp_path / "course", [SLUG], root)
    generate_release(course, SLUG)
    hand_in(course, "student", SLUG, [root / "source" / SLUG / f"{SLUG}.ipynb"])
    nbgrader(course, "autograde", SLUG)
    return {c.grade_id: c.score for c in scores(course, SLUG, "student")}


@pytest.mark.slow
def test_course_config_costs_points_for_errors_only(tmp_path, repo_root):
    root = tiny_course(tmp_path / "src", (repo_root / "nbgrader_config.py").read_text())
    assert grade(root, tmp_path) == {"warns": 1, "stderr_text": 1, "stderr_error": 0, "error": 0, "clean": 1}


@pytest.mark.slow
def test_without_the_config_nbgrader_fails_the_warning(tmp_path, repo_root):
    # Proves the setting is needed: plain nbgrader scores a correct answer 0 for a warning.
    root = tiny_course(tmp_path / "src", "c = get_config()\n")
    assert grade(root, tmp_path)["warns"] == 0
    shutil.rmtree(tmp_path)
