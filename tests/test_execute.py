"""The execute stage in this process, with a plain kernel (no root, no sandbox):
the guard around test cells, hidden failures, time limits, a kernel that dies
or never starts, and what the score stage makes of the result.

The code run here is the tests' own, standing in for a student's; hostile
submissions are run only in the sandbox (test_grader_sandbox.py)."""

from __future__ import annotations

import threading

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.outcome import CellScore, Flag
from autograder.pipeline.execute import NOT_STARTED, Timeouts, execute_notebook
from autograder.pipeline.score import score
from autograder.sandbox import KernelStartFailed, PlainKernels
from autograder.sandbox.kernels import Kernel

CHECK = "torch.testing.assert_close(double(torch.ones(2)), torch.full((2,), 2.0))"


def graded_notebook(*answer_lines: str, tests: tuple[str, ...] = (CHECK,)):
    """An answer cell, then one 2-point test cell per entry of `tests`."""
    cells = [new_code_cell("import torch\n" + "\n".join(answer_lines),
                           metadata={"nbgrader": {"grade_id": "double", "solution": True, "grade": False,
                                                  "locked": False, "schema_version": 3}})]
    for n, test in enumerate(tests, start=1):
        cells.append(new_code_cell(test, metadata={"nbgrader": {
            "grade_id": f"test_{n}", "grade": True, "solution": False, "locked": True, "points": 2,
            "schema_version": 3}}))
    return new_notebook(cells=cells)


def errors(cell) -> list[str]:
    return [o.ename for o in cell.outputs if o.output_type == "error"]


@pytest.fixture(scope="module")
def kernels():
    source = PlainKernels(None)
    yield source
    source.close()


def test_a_correct_answer_passes_and_scores_full_marks(kernels):
    done = execute_notebook(graded_notebook("def double(x):\n    return 2 * x"), kernels, Timeouts(30, 60))
    assert (done.failure, done.flags) == (None, [])
    _, scores = score(done.notebook, None, {})
    assert scores == [CellScore("test_1", 2.0, 2.0)]


def test_a_wrong_answer_fails_its_test_with_the_error_shown(kernels):
    done = execute_notebook(graded_notebook("def double(x):\n    return 3 * x"), kernels, Timeouts(30, 60))
    assert done.failure is None and errors(done.notebook.cells[1]) == ["AssertionError"]
    _, scores = score(done.notebook, None, {})
    assert scores == [CellScore("test_1", 0.0, 2.0)]


def test_the_guard_puts_back_a_replaced_assert_close_and_flags_the_test(kernels):
    answer = ("torch.testing.assert_close = lambda *args, **kwargs: None\n"
              "def double(x):\n    return 3 * x")
    done = execute_notebook(graded_notebook(answer), kernels, Timeouts(30, 60))
    assert errors(done.notebook.cells[1]) == ["AssertionError"]  # the real assert_close ran
    (flag,) = done.flags
    assert flag.grade_id == "test_1" and "torch.testing.assert_close" in flag.reason


def test_a_failure_hidden_from_the_output_is_shown_and_flagged(kernels):
    # while the test runs: the guard checks before a test, and again after it
    answer = ("def double(x):\n    get_ipython().showtraceback = lambda *args, **kwargs: None\n"
              "    return 3 * x")
    done = execute_notebook(graded_notebook(answer), kernels, Timeouts(30, 60))
    assert errors(done.notebook.cells[1]) == ["AssertionError"]
    reasons = [f.reason for f in done.flags if f.grade_id == "test_1"]
    assert any("error was hidden" in r for r in reasons), reasons


def test_a_cell_past_its_time_limit_stops_the_run_and_later_tests_score_zero(kernels):
    nb = graded_notebook("def double(x):\n    return 2 * x",
                         tests=("import time\ntime.sleep(30)", CHECK))
    done = execute_notebook(nb, kernels, Timeouts(cell=2, total=60))
    assert done.failure == "cell 1 ran past a cell's time limit and was stopped"
    assert errors(done.notebook.cells[2]) == ["NotRun"]
    _, scores = score(done.notebook, None, {})
    assert [s.auto_score for s in scores] == [0.0, 0.0]


def test_a_kernel_that_exits_is_recorded_and_the_tests_after_it_score_zero(kernels):
    nb = graded_notebook("import os\ndef double(x):\n    os._exit(1)", tests=(CHECK, CHECK))
    done = execute_notebook(nb, kernels, Timeouts(30, 60))
    assert done.failure.startswith("the kernel died while running cell 1")
    assert [errors(c) for c in done.notebook.cells[1:]] == [["NotRun"], ["NotRun"]]


def test_a_test_cell_tagged_to_be_skipped_still_runs(kernels):
    nb = graded_notebook("def double(x):\n    return 3 * x")
    nb.cells[1].metadata["tags"] = ["skip-execution"]  # nbclient's default tag for cells it skips
    done = execute_notebook(nb, kernels, Timeouts(30, 60))
    assert errors(done.notebook.cells[1]) == ["AssertionError"]


def test_a_kernel_that_stalls_the_graders_own_requests_is_stopped_at_the_cell_limit(kernels):
    answer = ("import time\n"
              "get_ipython().user_expressions = lambda expressions: time.sleep(10**6) if expressions else {}\n"
              "def double(x):\n    return 2 * x")
    finished = []
    worker = threading.Thread(target=lambda: finished.append(
        execute_notebook(graded_notebook(answer), kernels, Timeouts(cell=3, total=20))), daemon=True)
    worker.start()
    worker.join(120)  # a bound for the test itself, far above the 20 s the run may take
    assert finished, "the run did not end"
    (done,) = finished
    assert done.failure and "time limit" in done.failure
    assert errors(done.notebook.cells[1]) == ["NotRun"]


class NoKernels:
    note = "kernels: none"

    def start(self, files=None) -> Kernel:
        raise KernelStartFailed("no uid left")

    def close(self) -> None:
        pass


def test_a_kernel_that_never_starts_runs_nothing_and_asks_for_a_regrade():
    done = execute_notebook(graded_notebook("def double(x):\n    return 2 * x"), NoKernels(), Timeouts(30, 60))
    assert done.failure == "the run stopped before the first cell: the kernel could not start (no uid left)"
    assert done.flags == [Flag(None, NOT_STARTED)]
    assert errors(done.notebook.cells[1]) == ["NotRun"]
