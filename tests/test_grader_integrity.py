"""Tests cannot be defeated from inside the kernel without a person being told.

Each attacker hands in wrong answers (grader_course.WRONG) plus code that tries to
make them pass: IPython's input and AST transformers, its exception and traceback
handling, trace functions and hooks, replaced torch / numpy / builtins functions,
a fake `torch`, event callbacks, the same reached by obfuscated names or run from a
base64 string. Run in a plain kernel (nbclient, no guard), twelve of the fifteen
make at least one wrong answer pass; the sys.excepthook, builtins and numpy ones
do not help against these particular tests, and must be caught all the same.

Expected: every test scores 0, because the grader put its machinery back before
the test, and the tests that follow the attack are sent to a person
(needs_manual_grade) with the reason in the answer cell's comment and in
autograded/<student>/tiny/autograder.json. Three cheats that once earned
unflagged points (HOLES: patching while a test runs, replacing the guard's snapshot,
faking __import__) must now earn none.

Text that merely looks like a pass, and answers hard-coded to the visible tests,
score 0 as well. An honest correct hand-in, with the magics, plots and warnings of
ordinary notebooks, gets full marks and no flag.

The whole class is graded in one `autograder grade` run, in the real sandbox.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    CORRECT,
    FULL,
    WRONG,
    comments,
    graded_notebook,
    grader_report,
    grades,
    hand_in_notebook,
    make_course,
    run_autograder,
    submit,
)
from nbformat.v4 import new_code_cell

from autograder.cells import index_of

pytestmark = pytest.mark.slow

TESTS = ("test_double", "test_derivative")  # in this order in the notebook; "why" is graded by a person
NOOP = "def _noop(*args, **kwargs):\n    return None\n"


@dataclass(frozen=True)
class Attack:
    code: str  # appended to the (wrong) answer cell `double`, so it runs before both tests
    restored: str | None  # what the guard reports it put back before test_double (None: nothing to put back)
    scanned: str | None  # what the scan of the source reports (None: nothing it can see)


ATTACKS = {
    # Drop every line that asserts, before IPython compiles the test.
    "input_transformers_post": Attack(
        "def _drop_asserts(lines):\n"
        "    return [line for line in lines if 'assert' not in line]\n"
        "get_ipython().input_transformers_post.append(_drop_asserts)\n",
        restored="shell.input_transformers_post", scanned="input_transformers_post"),
    "input_transformers_cleanup": Attack(
        "def _drop_asserts(lines):\n"
        "    return [line for line in lines if 'assert' not in line]\n"
        "get_ipython().input_transformers_cleanup.append(_drop_asserts)\n",
        restored="shell.input_transformers_cleanup", scanned="input_transformers_cleanup"),
    # Remove asserts and assert_close calls from the parsed test.
    "ast_transformers": Attack(
        "import ast\n"
        "class _NoAsserts(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n"
        "        return ast.Pass()\n"
        "    def visit_Expr(self, node):\n"
        "        return ast.Pass() if 'assert' in ast.unparse(node) else node\n"
        "get_ipython().ast_transformers.append(_NoAsserts())\n",
        restored="shell.ast_transformers", scanned="ast_transformers"),
    # Swallow the AssertionError: no traceback, no error output.
    "set_custom_exc": Attack(
        "get_ipython().set_custom_exc((AssertionError,), lambda shell, etype, value, tb, tb_offset=None: None)\n",
        restored="shell.custom_exceptions", scanned="set_custom_exc"),
    # Show no traceback: nbgrader scores a test by its outputs alone.
    "showtraceback": Attack(
        "_shell = get_ipython()\n"
        "_shell.showtraceback = lambda *args, **kwargs: None\n"
        "_shell._showtraceback = lambda *args, **kwargs: None\n",
        restored="shell.showtraceback", scanned="showtraceback"),
    # A trace function that replaces assert_close again at the start of every cell: one restore is not enough.
    "settrace": Attack(
        "import sys, torch\n" + NOOP +
        "def _tracer(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == '<module>':\n"
        "        torch.testing.assert_close = _noop\n"
        "    return None\n"
        "sys.settrace(_tracer)\n",
        restored="sys.settrace/setprofile", scanned="settrace"),
    # (the next three cannot help against these tests; they are caught all the same)
    "excepthook": Attack(
        "import sys\n"
        "sys.excepthook = lambda *args: print('All tests passed!')\n",
        restored=None, scanned="excepthook"),
    "patch_torch": Attack(
        "import torch\n" + NOOP +
        "torch.testing.assert_close = _noop\n"
        "torch.allclose = lambda *args, **kwargs: True\n"
        "torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)\n",
        restored="torch.testing.assert_close", scanned="assigns torch.testing.assert_close"),
    # A wrapper of the real function, as torch's own lazy wrappers are, but written by the student.
    "wraps_assert_close": Attack(
        "import functools, torch\n"
        "_real = torch.testing.assert_close\n"
        "torch.testing.assert_close = functools.wraps(_real)(lambda *args, **kwargs: None)\n",
        restored="torch.testing.assert_close", scanned="assigns torch.testing.assert_close"),
    "patch_builtins": Attack(
        "import builtins\n"
        "class _Never(Exception):\n"
        "    pass\n"
        "builtins.AssertionError = _Never\n"
        "_isinstance = isinstance\n"
        "builtins.isinstance = lambda obj, cls: True if cls is _Never else _isinstance(obj, cls)\n",
        restored="builtins.AssertionError", scanned="builtins"),
    "patch_numpy": Attack(
        "import numpy as np\n" + NOOP +
        "np.testing.assert_allclose = _noop\n"
        "np.allclose = lambda *args, **kwargs: True\n",
        restored="numpy.allclose", scanned="assigns np.allclose"),
    # A fake `torch` in the notebook's namespace: everything real but assert_close.
    "rebind_torch": Attack(
        "import torch as _real_torch, types\n"
        "class _FakeTorch:\n"
        "    testing = types.SimpleNamespace(assert_close=lambda *args, **kwargs: None)\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(_real_torch, name)\n"
        "torch = _FakeTorch()\n",
        restored="the name 'torch'", scanned=None),
    # A callback that patches again right before each cell.
    "pre_run_cell": Attack(
        "import torch\n" + NOOP +
        "def _before(info):\n"
        "    torch.testing.assert_close = _noop\n"
        "get_ipython().events.register('pre_run_cell', _before)\n",
        restored="shell.events['pre_run_cell']", scanned="get_ipython"),
    # No forbidden name spelled out but __import__.
    "obfuscated_getattr": Attack(
        "import torch\n" + NOOP +
        "def _tracer(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == '<module>':\n"
        "        setattr(getattr(torch, 'test' + 'ing'), 'assert' + '_close', _noop)\n"
        "    return None\n"
        "getattr(__import__('sys'), 'set' + 'trace')(_tracer)\n",
        restored="sys.settrace/setprofile", scanned="__import__"),
    "exec_base64": Attack(
        "import base64\n"
        "exec(base64.b64decode('"
        + base64.b64encode(b"import torch\ntorch.testing.assert_close = lambda *a, **k: None\n").decode()
        + "').decode())\n",
        restored="torch.testing.assert_close", scanned="exec()"),
    # Nothing the scan can see: only the guard catches it.
    "vars_update": Attack(
        "import torch\n"
        "vars(torch.testing).update(assert_close=lambda *args, **kwargs: None)\n",
        restored="torch.testing.assert_close", scanned=None),
}

# Cheats that once earned points unflagged; each must now score 0 or be flagged.
HOLES = {
    # The guard checks before each test, not after: an answer that patches while the test runs.
    "patch_during_test": (
        {"double": "def double(x):\n"
                   "    vars(torch.testing).update(assert_close=lambda *args, **kwargs: None)\n"
                   "    return 6 if isinstance(x, int) else 3 * x\n"},
        ("guard.py/execute.py check the kernel only before each test cell: an answer called by the test that "
         "replaces torch.testing.assert_close (by a route the scan cannot see) earns that test's points; "
         "the change is flagged on the next test only, and not at all after the last test")),
    # The guard's restore() is found in sys.modules and replaced.
    "replace_guard": (
        {"double": WRONG["double"] + "\n\nimport sys, torch\n"
                   "for _name, _module in list(getattr(sys, 'modules').items()):\n"
                   "    if _name.startswith('_ag_'):\n"
                   "        _module.restore = lambda: []\n"
                   "vars(torch.testing).update(assert_close=lambda *args, **kwargs: None)\n"},
        ("the guard's snapshot lives in sys.modules under a name that starts with '_ag_'; student code that "
         "replaces its restore() (getattr(sys, 'modules'), which the scan does not see) makes the guard report "
         "'nothing changed' with the right nonce and restore nothing")),
    # The guard's expression calls __import__ from the student's builtins.
    "fake_import": (
        {"double": WRONG["double"] + "\n\nimport torch, types\n"
                   "_b = getattr(print, '__self__')\n"
                   "_real_import = vars(_b)['__imp' + 'ort__']\n"
                   "class _Fake:\n"
                   "    def __init__(self, real):\n"
                   "        self.real = real\n"
                   "    def __getattr__(self, name):\n"
                   "        value = getattr(self.real, name)\n"
                   "        if name == 'mod' + 'ules':\n"
                   "            return {k: types.SimpleNamespace(restore=lambda: []) for k in value}\n"
                   "        return value\n"
                   "def _imp(name, *args, **kwargs):\n"
                   "    module = _real_import(name, *args, **kwargs)\n"
                   "    return _Fake(module) if name == 's' + 'ys' else module\n"
                   "vars(_b)['__imp' + 'ort__'] = _imp\n"
                   "vars(torch.testing).update(assert_close=lambda *args, **kwargs: None)\n"},
        ("the guard's user expression looks up __import__ in the student's builtins; replacing it through "
         "print.__self__ (which the scan does not see) hands the guard a fake sys.modules whose restore() "
         "does nothing, so test_derivative passes with a wrong answer and is not flagged")),
}

PRETENDERS = {
    # Text that looks like passing tests: nbgrader scores outputs, but only errors count.
    "prints_pass": {
        "double": "def double(x):\n    print('All tests passed!')\n    return 3 * x\n\n"
                  "print('All tests passed!')\nprint('[test_double] 2 / 2 points')",
        "derivative": WRONG["derivative"] + "\n\nprint('\\x1b[32m✓ All tests passed!\\x1b[0m Score: 6/6')\n"
                      "print('Validating... Success! Your notebook passed all of the tests.')",
    },
    # The visible tests' numbers instead of autograd: the hidden tests use fresh inputs.
    "hard_coded": {
        "double": "def double(x):\n    return 6",
        "derivative": "def derivative(f, x):\n    return torch.tensor([2.0, 4.0])",
    },
}

# An honest hand-in as notebooks really are: magics, a shell command, a plot, and a function the test
# calls that reads `.grad` of a non-leaf tensor, so PyTorch warns on stderr during the test.
NOISY_DERIVATIVE = (
    "def derivative(f, x):\n"
    "    x = x.detach().clone().requires_grad_(True)\n"
    "    y = f(x)\n"
    "    print('grad of y (non-leaf):', y.grad)\n"
    "    (dx,) = torch.autograd.grad(y.sum(), x)\n"
    "    return dx"
)
EXTRA_CELLS = (
    "%timeit double(3)",
    "!pip --version",
    ("%matplotlib inline\nimport matplotlib.pyplot as plt\nxs = torch.linspace(-2, 2, 50)\n"
     "plt.plot(xs, double(xs), label='double')\nplt.legend()\nplt.show()"),
)


def honest_with_extras(course: Path):
    nb = hand_in_notebook(course, {"derivative": NOISY_DERIVATIVE})
    after = index_of(nb.cells, "test_double") + 1
    nb.cells[after:after] = [new_code_cell(source) for source in EXTRA_CELLS]
    return nb


@dataclass
class Graded:
    root: Path
    returncode: int
    stderr: str

    def grades(self, student: str) -> dict[str, tuple[float | None, bool]]:
        return grades(self.root, student)

    def comments(self, student: str) -> dict[str, str | None]:
        return comments(self.root, student)

    def flags(self, student: str) -> list[str]:
        return grader_report(self.root, student)["flags"]

    def failures(self, student: str) -> list[str]:
        return grader_report(self.root, student)["failures"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    root = make_course(tmp_path_factory.mktemp("integrity") / "course")
    for name, attack in ATTACKS.items():
        submit(root, name, hand_in_notebook(root, {**WRONG, "double": WRONG["double"] + "\n\n" + attack.code}))
    for name, (answers, _) in HOLES.items():
        submit(root, name, hand_in_notebook(root, {**WRONG, **answers}))
    for name, answers in PRETENDERS.items():
        submit(root, name, hand_in_notebook(root, answers))
    submit(root, "honest", hand_in_notebook(root, CORRECT))
    submit(root, "honest_extras", honest_with_extras(root))

    run = run_autograder(root, "grade", ASSIGNMENT)
    return Graded(root, run.returncode, run.stderr)


def test_the_class_is_graded(graded):
    assert graded.returncode == 0, graded.stderr


def _no_failure(graded: Graded, student: str) -> None:
    # a kernel that died would also score 0: make sure each test really ran and failed on its own
    assert graded.failures(student) == [], graded.failures(student)


@pytest.mark.parametrize("name", ATTACKS)
def test_an_attack_scores_nothing_and_is_flagged(graded, name):
    attack = ATTACKS[name]
    got, flags, notes = graded.grades(name), graded.flags(name), graded.comments(name)
    _no_failure(graded, name)
    assert {t: got[t][0] for t in TESTS} == {"test_double": 0.0, "test_derivative": 0.0}, flags

    # The test right after the attack is sent to a person, with the reason, in the report and the comment.
    assert got["test_double"][1] is True, flags
    evidence = [e for e in (attack.restored, attack.scanned) if e]
    about_first = [f for f in flags if f.startswith(f"{ASSIGNMENT}:test_double: ")]
    for what in evidence:
        assert any(what in f for f in about_first), (what, flags)
        assert what in (notes["double"] or ""), (what, notes)
    if attack.restored:
        assert any(attack.restored in f and "put it back before this test" in f for f in about_first), flags

    # What the scan saw concerns every later test too (what a cell did persists in the kernel).
    if attack.scanned:
        assert got["test_derivative"][1] is True, flags
        assert any(f.startswith(f"{ASSIGNMENT}:test_derivative: ") and attack.scanned in f for f in flags), flags
        assert attack.scanned in (notes["derivative"] or ""), notes


@pytest.mark.parametrize("name", HOLES)
def test_a_known_hole_earns_no_unflagged_points(graded, name, request):
    got = graded.grades(name)
    _no_failure(graded, name)
    unflagged = {t: got[t][0] for t in TESTS if got[t][0] and not got[t][1]}
    assert unflagged == {}, graded.flags(name)


@pytest.mark.parametrize("name", PRETENDERS)
def test_looking_like_a_pass_is_not_a_pass(graded, name):
    _no_failure(graded, name)
    got = graded.grades(name)
    assert {t: got[t][0] for t in TESTS} == {"test_double": 0.0, "test_derivative": 0.0}


def test_hard_coded_answers_are_not_flagged(graded):
    # nothing reached for the grader: wrong is wrong, and no person needs to look
    got = graded.grades("hard_coded")
    assert not any(got[t][1] for t in TESTS) and graded.flags("hard_coded") == []


@pytest.mark.parametrize("student", ["honest", "honest_extras"])
def test_an_honest_hand_in_gets_full_marks_and_no_flag(graded, student):
    _no_failure(graded, student)
    got = graded.grades(student)
    assert {t: got[t] for t in TESTS} == {t: (FULL[t], False) for t in TESTS}, graded.flags(student)
    assert graded.flags(student) == []
    assert graded.comments(student) == {"double": None, "derivative": None, "why": None}


def test_the_honest_extras_really_ran(graded):
    """The magics, the shell command and the plot ran in the sandbox: full marks were not for nothing."""
    nb = graded_notebook(graded.root, "honest_extras")
    outputs = {cell.source: cell.outputs for cell in nb.cells if cell.cell_type == "code"}
    assert "per loop" in outputs[EXTRA_CELLS[0]][0]["text"]
    assert "pip" in outputs[EXTRA_CELLS[1]][0]["text"]
    assert any("image/png" in o.get("data", {}) for o in outputs[EXTRA_CELLS[2]])
    test = nb.cells[index_of(nb.cells, "test_derivative")]
    # The print in the answer stayed; the UserWarning it caused on stderr ("The .grad attribute of a Tensor
    # that is not a leaf Tensor is being accessed") was dropped by nbgrader_config.py's IgnorePattern.
    assert any("grad of y (non-leaf): None" in o.get("text", "") for o in test.outputs)
    assert not any(o.output_type == "error" for o in test.outputs)
