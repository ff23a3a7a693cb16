"""The scan reads student code before it runs: it flags reaches into the
grader's machinery, and nothing in an honest solution."""

from __future__ import annotations

import pytest
from helpers import ALL_SLUGS, read

from autograder.pipeline.scan import scan_source

REACHES = {
    "input transformer": "ip = get_ipython()\nip.input_transformers_post.append(lambda lines: lines)",
    "exception handler": "get_ipython().set_custom_exc((AssertionError,), lambda *a: None)",
    "traceback": "from IPython import get_ipython\nget_ipython().showtraceback = print",
    "trace function": "import sys\nsys.settrace(lambda *a: None)",
    "patched assert_close": "import torch\ntorch.testing.assert_close = lambda *a, **k: None",
    "patched via setattr": "import numpy as np\nsetattr(np.testing, 'assert_allclose', print)",
    "builtins": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "name in a string": "import sys\ngetattr(sys, 'settrace')(None)",
    "code from a string": "exec('x = 1')",
    "frames": "import sys\nsys._getframe(1).f_globals['x'] = 1",
    "garbage collector": "import gc\ngc.get_objects()",
    "sys.modules": "import sys\nsys.modules['torch'] = None",
    "replaced stream": "import sys, io\nsys.stderr = io.StringIO()",
    "magic": "%load_ext something",
    "shell command": "!cat /etc/passwd",
    "autograd's engine": ("import torch\nengine = torch.autograd.Variable._execution_engine\n"
                          "engine.run_backward((y,), (g,), False, False, (x,), True)"),
    "a fresh engine": "import torch\ntorch._C._ImperativeEngine()",
    "modes switched off": "import torch\nwith torch._C.DisableTorchFunction():\n    pass",
    "a tensor made past its class": "import torch\nt = torch.Tensor._make_subclass(T, x, True)",
    "a thread": "from threading import Thread\nThread(target=work).start()",
    "a forked pool": "import multiprocessing\npool = multiprocessing.get_context('fork').Pool(1)",
    "TorchScript": "import torch\n@torch.jit.script\ndef f(x):\n    return x",
}


@pytest.mark.parametrize("code", REACHES.values(), ids=REACHES.keys())
def test_reaches_into_machinery_are_found(code):
    findings = scan_source(code)
    assert findings, "this reach must be flagged"
    assert all(f.line >= 1 and f.what for f in findings)


@pytest.mark.parametrize("code", [
    "%timeit x = 1\n%matplotlib inline\n!pip install icecream",
    "import torch\ndef f(x):\n    y = (x ** 2).sum()\n    y.backward()\n    return x.grad",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])",
    "class Value:\n    def __init__(self, data):\n        self.data = data\nsetattr(Value, 'twice', lambda self: 2)",
    "x = eval_points = [1, 2]",
    "not valid python (",
])
def test_ordinary_code_is_not_flagged(code):
    assert scan_source(code) == []


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_the_course_solutions_are_not_flagged(slug):
    nb = read(f"source/{slug}/{slug}.ipynb")
    student_cells = [c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("locked")]
    assert student_cells
    findings = {c.metadata.get("nbgrader", {}).get("grade_id"): scan_source(c.source) for c in student_cells}
    assert not {k: v for k, v in findings.items() if v}


def test_findings_say_where_and_what():
    (finding,) = scan_source("x = 1\n\nimport torch\ntorch.allclose = lambda *a: True")
    assert finding.line == 4
    assert "torch.allclose" in finding.sentence() and finding.sentence().startswith("line 4")
