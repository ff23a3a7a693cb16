"""What the warm sandbox loads ahead for an assignment: the modules its release notebooks
import, read with Python's own parser, never a name the assignment ships a file for; and
which command lines start the sandbox before the grader's own modules load."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.pipeline.preload import imported_modules
from autograder.sandbox.ahead import grade_options


def write(path, *sources):
    nbformat.write(new_notebook(cells=[new_markdown_cell("import markdown_is_not_code"),
                                       *map(new_code_cell, sources)]), path)
    return path


def test_the_packages_the_notebooks_import_in_the_order_first_seen(tmp_path):
    one = write(tmp_path / "one.ipynb",
                "%matplotlib inline\n!pip install --quiet nothing\nimport numpy as np, scipy.stats\n"
                "from pandas.api import types\nfrom __future__ import annotations",
                "def f():\n    import json  # inside a function: loaded when it runs, so worth loading too\n"
                "from . import sibling\nfrom .pkg import other")
    two = write(tmp_path / "two.ipynb", "import numpy\nimport sklearn.linear_model")
    assert imported_modules([one, two]) == ("numpy", "scipy", "pandas", "json", "sklearn")


def test_a_cell_python_cannot_parse_is_left_out_and_the_rest_is_read(tmp_path):
    nb = write(tmp_path / "nb.ipynb", "import torch", "x = 1 +\nimport never_seen", "import math")
    assert imported_modules([nb]) == ("torch", "math")


def test_what_the_assignment_ships_beside_the_notebooks_imports_from_the_working_folder(tmp_path):
    nb = write(tmp_path / "nb.ipynb", "import helper, tools, numpy\nfrom data_utils import load")
    shipped = tmp_path / "files"
    (shipped / "tools").mkdir(parents=True)
    (shipped / "helper.py").write_text("X = 1")
    (shipped / "data_utils.py").write_text("def load(): pass")
    assert imported_modules([nb], shipped) == ("numpy",)
    assert imported_modules([nb], None) == ("helper", "tools", "numpy", "data_utils")


# --------------------------------------------------------------------------- started before the grader loads


@pytest.mark.parametrize("argv, memory", [
    (["grade", "03_accumulation"], 2048),
    (["grade", "--student", "bob", "03_accumulation", "--memory", "1024", "--workers", "2"], 1024),
    (["grade", "03_accumulation", "--timeout=30", "--course", "elsewhere"], 2048),
])
def test_grade_with_warm_kernels_starts_its_sandbox_ahead_with_the_memory_asked(argv, memory):
    options = grade_options(argv)
    assert options.assignment == "03_accumulation" and options.memory == memory


@pytest.mark.parametrize("argv", [
    ["collect", "03_accumulation", "hand-ins.zip"], ["export"], [],
    ["grade", "03_accumulation", "--cold"], ["grade", "03_accumulation", "--no-sandbox"],
    ["grade", "03_accumulation", "--dask", "tcp://10.0.0.5:8786"], ["grade", "--help"],
    ["grade", "03_accumulation", "--memory", "lots"],
])
def test_nothing_starts_ahead_for_another_command_or_other_kernels(argv):
    assert grade_options(argv) is None
