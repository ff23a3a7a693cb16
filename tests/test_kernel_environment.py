"""What a notebook finds in its kernel, the same in every way kernels run
(plain, root warm, root cold, rootless): what `nbgrader autograde` sets, the
release's helper modules on its import path, and the kernelspec it is.

Each mode grades a copy of a tiny real course whose release ships a helper
module, with the real `autograder grade` command (rootless: run by a real
ordinary user)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    POINTS,
    folder_of,
    give_to,
    graded_notebook,
    grader_report,
    grades,
    hand_in_notebook,
    make_course_shipping,
    ordinary_user,
    printed,
    run_autograder,
    run_autograder_as,
    submit,
)
from jupyter_client.kernelspec import KernelSpecManager

from autograder.sandbox import PlainKernels
from autograder.sandbox.cold import ColdKernels
from autograder.sandbox.rootless import RootlessKernels
from autograder.sandbox.warm import WarmKernels

HELPER = "TWO = 2\n"
USES_HELPER = ("import os\nfrom helper import TWO\nprint('ENV', os.environ.get('NBGRADER_EXECUTION'))\n"
               "def double(x):\n    return TWO * x\n")
# Writes where a rootless kernel sees the instructor's own files: only its mounts keep them as they are.
TAMPER = r'''
import ctypes, json, os
from ipykernel.kernelapp import IPKernelApp
tried = {}
for name, path in [("data", "/assignment-data/helper.py"), ("connection file", IPKernelApp.instance().connection_file)]:
    try:
        with open(path, "a") as f:
            f.write("# changed")
        tried[name] = "written"
    except OSError as error:
        tried[name] = error.strerror
libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 0x20, 0x1000
done = libc.mount(None, b"/assignment-data", None, MS_REMOUNT | MS_BIND, None)
tried["remount read-write"] = "done" if done == 0 else os.strerror(ctypes.get_errno())
print("TAMPER", json.dumps(tried))
def double(x):
    return 2 * x
'''
MODES = {"plain": ["--no-sandbox"], "warm": [], "cold": ["--cold"], "rootless": []}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The tiny course, its release shipping helper.py beside the notebook."""
    return make_course_shipping(tmp_path_factory.mktemp("helper") / "course", "helper.py", HELPER)


@pytest.fixture(scope="module", params=list(MODES))
def graded(request, pristine) -> Path:
    mode = request.param
    if mode in ("warm", "cold") and os.geteuid() != 0:
        pytest.skip("the root sandbox needs root: run the tests as root")
    user = ordinary_user()
    place = folder_of(user)
    course = place / "course"
    shutil.copytree(pristine, course)
    submit(course, "alice", hand_in_notebook(course, {"double": USES_HELPER}))
    if mode != "plain":
        submit(course, "tamper", hand_in_notebook(course, {"double": TAMPER}))
    give_to(place, user)
    args = ("grade", ASSIGNMENT, *MODES[mode], "--timeout", "60")
    result = (run_autograder_as(user, course, *args, env={"HOME": str(place), "TMPDIR": str(place)})
              if mode == "rootless" else run_autograder(course, *args))
    assert result.returncode == 0, result.stderr[-3000:]
    yield course
    shutil.rmtree(place, ignore_errors=True)


@pytest.mark.slow
def test_the_kernel_is_told_it_runs_under_nbgrader_autograde(graded):
    assert printed(graded_notebook(graded, "alice"), "ENV") == ["autograde"]


@pytest.mark.slow
def test_a_helper_module_shipped_with_the_release_imports_in_every_kernel(graded):
    assert grader_report(graded, "alice")["failures"] == []
    assert grades(graded, "alice")["test_double"] == (POINTS["test_double"], False)


@pytest.mark.slow
def test_what_a_sandboxed_kernel_sees_of_the_courses_files_it_cannot_change(graded, request):
    mode = request.node.callspec.params["graded"]
    if mode == "plain":
        pytest.skip("a plain kernel has the grader's rights: nothing to check")
    (line,) = printed(graded_notebook(graded, "tamper"), "TAMPER")
    tried = json.loads(line)
    assert tried["data"] != "written" and tried["remount read-write"] != "done", tried
    # as root, a cold kernel's connection file is its own user's copy, on a tmpfs of its own: not checked here
    if mode == "rootless":  # the files are the kernel's own user's: only read-only mounts keep them
        assert tried["data"] == tried["connection file"] == "Read-only file system", tried
        assert tried["remount read-write"] == "Operation not permitted", tried
    assert (graded / "release" / ASSIGNMENT / "helper.py").read_text() == HELPER


@pytest.mark.parametrize("source", [PlainKernels, WarmKernels, ColdKernels, RootlessKernels])
def test_every_kernel_source_names_the_kernelspec_of_this_python(source):
    spec = KernelSpecManager().get_kernel_spec(source.kernel_name)
    assert spec.language == "python" and spec.argv[1:3] == ["-m", "ipykernel_launcher"]
    # jupyter_client starts "python" as the Python it runs in: this one, whose ipykernel the sandboxes run
    assert spec.argv[0] in ("python", f"python{sys.version_info[0]}", sys.executable)
