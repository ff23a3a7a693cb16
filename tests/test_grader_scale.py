"""Grading at scale: warm kernels leak nothing between submissions, parallel and
distributed runs give the grades of a sequential one, and an interrupted run
leaves every student's grades whole.

Real components throughout: nbgrader, bubblewrap-sandboxed kernels, a
PostgreSQL server and a Dask scheduler with two workers on loopback."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    CORRECT,
    FULL,
    WARM_SANDBOX_MARK,
    WRONG,
    copy_course,
    gradebook_grades,
    graded_notebook,
    grader_report,
    hand_in_notebook,
    make_course,
    printed,
    processes_with,
    release_notebook,
    run_autograder,
    sqlite_url,
    submit,
)
from services import dask_cluster, postgres_server

from autograder.nbgrader_cli import nbgrader
from autograder.pipeline.execute import Timeouts, execute_notebook
from autograder.pipeline.runners import warm_sandboxes_on_this_worker
from autograder.sandbox import Limits, bubblewrap, bwrap_args
from autograder.sandbox.warm import WarmKernels
from autograder.sandbox.warm_kernel import alive

pytestmark = pytest.mark.slow

CELL_TIMEOUT = "20"

# What one submission does to its kernel, its files and its environment...
SETTER = r'''
import os, subprocess, sys, torch, numpy, matplotlib
LEAKED_GLOBAL = 1
torch.Tensor.leaked = True
numpy.leaked = True
sys.modules["leaked_module"] = sys
os.environ["LEAKED"] = "1"
matplotlib.rcParams["lines.linewidth"] = 9
torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)
for folder in ("/tmp", ".", os.path.expanduser("~")):
    with open(os.path.join(folder, "leaked.txt"), "w") as f:
        f.write("from the previous submission")
subprocess.Popen(["sh", "-c", "exec -a leaked-sleeper sleep 600"], start_new_session=True)
print("SET", os.getuid())
'''
# ... and what the next one looks for.
PROBE = r'''
import json, os, sys, torch, numpy, matplotlib
def _sleepers():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found += [pid] if b"leaked-sleeper" in open(f"/proc/{pid}/cmdline", "rb").read() else []
        except OSError:
            pass
    return found
seen = {
    "global": "LEAKED_GLOBAL" in globals(),
    "torch attribute": hasattr(torch.Tensor, "leaked"),
    "numpy attribute": hasattr(numpy, "leaked"),
    "sys.modules": "leaked_module" in sys.modules,
    "environment": "LEAKED" in os.environ,
    "matplotlib rcParams": matplotlib.rcParams["lines.linewidth"] == 9,
    "torch seed": torch.initial_seed() == 1234,
    "torch default dtype": torch.get_default_dtype() != torch.float32,
    "file in /tmp": os.path.exists("/tmp/leaked.txt"),
    "file in working folder": os.path.exists("leaked.txt"),
    "file in home": os.path.exists(os.path.expanduser("~/leaked.txt")),
    "process": _sleepers() != [],
}
print("LEAK", json.dumps(seen))
print("UID", os.getuid())
'''
CRASH = "import os\nos._exit(3)\n"


def gradebook_scores(db_url: str) -> dict[str, dict[str, float | None]]:
    """student -> grade cell -> auto_score, for every submission in the gradebook."""
    return {student: {gid: row.auto_score for gid, row in rows.items()}
            for student, rows in gradebook_grades(db_url).items()}


def failures(course: Path, student: str) -> list[str]:
    return grader_report(course, student)["failures"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("pristine") / "course")


CLASS = {
    "a_correct": {},
    "b_wrong": WRONG,
    "c_partial": {"derivative": WRONG["derivative"]},
    "d_crash": {"derivative": CRASH},
    "e_correct": {},
    "f_blank": None,  # the release as it was handed out
}


def hand_in_class(course: Path) -> None:
    for student, answers in CLASS.items():
        submit(course, student, release_notebook(course) if answers is None else hand_in_notebook(course, answers))


@pytest.fixture(scope="module")
def sequential(pristine, tmp_path_factory) -> Path:
    """The reference: one submission at a time, each in a new interpreter, SQLite."""
    course = copy_course(pristine, tmp_path_factory, "sequential")
    hand_in_class(course)
    result = run_autograder(course, "grade", ASSIGNMENT, "--workers", "1", "--cold", "--timeout", CELL_TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    return course


def test_the_reference_run_grades_the_class_as_expected(sequential):
    scores = gradebook_scores(sqlite_url(sequential))
    assert scores["a_correct"] == scores["e_correct"] == {"test_double": 2, "test_derivative": 3, "why": None}
    assert scores["b_wrong"] == {"test_double": 0, "test_derivative": 0, "why": None}
    assert scores["f_blank"] == {"test_double": 0, "test_derivative": 0, "why": 0}  # nbgrader: no answer, no points
    assert scores["c_partial"] == {"test_double": 2, "test_derivative": 0, "why": None}
    assert scores["d_crash"] == {"test_double": 2, "test_derivative": 0, "why": None}
    assert failures(sequential, "d_crash") and "kernel died" in failures(sequential, "d_crash")[0]


def test_parallel_warm_grading_gives_the_same_grades(sequential, pristine, tmp_path_factory):
    course = copy_course(pristine, tmp_path_factory, "parallel")
    hand_in_class(course)
    result = run_autograder(course, "grade", ASSIGNMENT, "--workers", "2", "--timeout", CELL_TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "forked from a warm sandbox" in result.stderr and "2 at a time" in result.stderr
    assert gradebook_scores(sqlite_url(course)) == gradebook_scores(sqlite_url(sequential))
    for student in CLASS:
        assert failures(course, student) == failures(sequential, student), student


# --------------------------------------------------------------------------- no state between submissions


@pytest.fixture(scope="module")
def leak_course(pristine, tmp_path_factory) -> Path:
    course = copy_course(pristine, tmp_path_factory, "leak")
    submit(course, "a_setter", hand_in_notebook(course, {"double": SETTER + CORRECT["double"]}))
    for reader in ("b_reader", "c_reader"):
        submit(course, reader, hand_in_notebook(course, {"double": PROBE + CORRECT["double"]}))
    # one at a time: each reader's kernel is forked from the same warm parent, right after the setter's
    result = run_autograder(course, "grade", ASSIGNMENT, "--workers", "1", "--timeout", CELL_TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    return course


def test_the_setter_really_changed_its_kernel(leak_course):
    (uid,) = printed(graded_notebook(leak_course, "a_setter"), "SET")
    assert int(uid) >= 61000


@pytest.mark.parametrize("reader", ["b_reader", "c_reader"])
def test_nothing_one_submission_sets_is_seen_by_the_next(leak_course, reader):
    (line,) = printed(graded_notebook(leak_course, reader), "LEAK")
    seen = json.loads(line)
    assert len(seen) == 12 and not any(seen.values()), {k: v for k, v in seen.items() if v}
    assert gradebook_scores(sqlite_url(leak_course))[reader] == {"test_double": 2, "test_derivative": 3, "why": None}


def test_no_process_of_a_submission_outlives_it(leak_course):
    # the setter's detached sleeper was killed with its kernel, before its uid was leased again
    assert not _sleepers_on_host()


def _sleepers_on_host() -> set[str]:
    return processes_with(b"leaked-sleeper")


# --------------------------------------------------------------------------- PostgreSQL and Dask


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def cluster():
    with dask_cluster(workers=2) as address:
        yield address


def test_a_dask_cluster_and_postgresql_give_the_grades_of_one_machine(sequential, pristine, tmp_path_factory,
                                                                      postgres_url, cluster):
    course = copy_course(pristine, tmp_path_factory, "distributed")
    (course / "gradebook.db").unlink()
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")  # the assignment, now in PostgreSQL
    hand_in_class(course)

    result = run_autograder(course, "grade", ASSIGNMENT, "--dask", cluster, "--timeout", CELL_TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"on the Dask cluster at {cluster}" in result.stderr
    assert not (course / "gradebook.db").exists()
    assert gradebook_scores(postgres_url) == gradebook_scores(sqlite_url(sequential))
    for student in CLASS:
        assert failures(course, student) == failures(sequential, student), student

    # the kernels ran on the workers, each in its warm sandbox
    from distributed import Client

    with Client(cluster) as client:
        sandboxes = client.run(warm_sandboxes_on_this_worker)
    assert len(sandboxes) == 2 and sum(sandboxes.values()) >= 1, sandboxes

    export = run_autograder(course, "export", ASSIGNMENT, "--output", "-")
    assert export.returncode == 0 and len(export.stdout.strip().splitlines()) == 1 + len(CLASS)


# --------------------------------------------------------------------------- Ctrl-C


SLOW_DOUBLE = "import time\ntime.sleep(4)\n" + CORRECT["double"]


def test_an_interrupted_run_leaves_whole_grades_and_can_be_run_again(pristine, tmp_path_factory):
    course = copy_course(pristine, tmp_path_factory, "interrupted")
    students = [f"s{n:02d}" for n in range(8)]
    for student in students:
        submit(course, student, hand_in_notebook(course, {"double": SLOW_DOUBLE}))
    # Ctrl-C as at a terminal, even when this test runs in the background (`make test &`), where the
    # shell starts everything with SIGINT ignored: a signal with a handler here is default after exec
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        grade = subprocess.Popen([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course",
                                  str(course), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not list((course / "autograded").glob(f"*/{ASSIGNMENT}/autograder.json")):
        assert grade.poll() is None and time.monotonic() < deadline, "no student was graded"
        time.sleep(0.1)
    ours = _descendants(grade.pid, processes_with(WARM_SANDBOX_MARK))  # not other graders' on this machine
    assert ours, "the grader's warm sandbox was not found"
    grade.send_signal(signal.SIGINT)
    _, stderr = grade.communicate(timeout=60)
    assert grade.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr and "Run the same command again" in stderr

    recorded = gradebook_scores(sqlite_url(course))
    assert 1 <= len(recorded) < len(students)
    for student, cells in recorded.items():  # all of a student's grades, or none
        assert cells == {"test_double": 2, "test_derivative": 3, "why": None}, student
    assert not _alive(ours), "the warm sandbox outlived the interrupted grader"

    again = run_autograder(course, "grade", ASSIGNMENT, "--workers", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert gradebook_scores(sqlite_url(course)) == {s: {"test_double": 2, "test_derivative": 3, "why": None}
                                                 for s in students}


def _descendants(ancestor: int, pids: set[str]) -> set[str]:
    """Those of `pids` that descend from `ancestor`."""
    def parent(pid: str) -> str | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return stat.rsplit(")", 1)[1].split()[1]

    found = set()
    for pid in pids:
        up = pid
        while up not in (None, "0", "1") and up != str(ancestor):
            up = parent(up)
        if up == str(ancestor):
            found.add(pid)
    return found


def _alive(pids: set[str], wait: float = 10) -> set[str]:
    """Those of `pids` still running after `wait` seconds at most (a pid namespace takes a moment to empty)."""
    deadline = time.monotonic() + wait
    while True:
        left = {pid for pid in pids if alive(int(pid))}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


# --------------------------------------------------------------------------- a zygote that dies


def test_a_dead_warm_sandbox_is_started_again():
    from nbformat.v4 import new_code_cell, new_notebook

    with contextlib.closing(WarmKernels(bubblewrap(), Limits(), None)) as kernels:
        first = kernels.sandbox
        os.killpg(first.process.pid, signal.SIGKILL)  # as the host's OOM killer might
        first.process.wait(10)
        nb = new_notebook(cells=[new_code_cell("import os, torch\nprint('ran', torch.ones(2).sum().item(), "
                                               "os.getuid() >= 61000)")])
        execution = execute_notebook(nb, kernels, Timeouts(cell=30))
        assert kernels.sandbox is not first and kernels.sandbox.alive
        assert execution.failure is None
        assert execution.notebook.cells[0].outputs[0].text == "ran 2.0 True\n"


def test_a_warm_kernel_finds_loaded_what_torch_ipykernel_and_the_assignment_import_and_its_peak_memory_is_measured():
    """torch.testing.assert_close (DTensor, sympy), the compiler's guard (torch._dynamo), ipykernel's
    debugger and pdb, and what the assignment's notebooks import: each kernel would import them itself,
    for half a second or more; the warm parent has. And what a kernel allocates shows in its peak
    memory, which autograder.json reports."""
    from nbformat.v4 import new_code_cell, new_notebook

    probe = ("import sys\nlazy = ('torch._dynamo', 'torch.distributed.tensor', 'sympy', 'debugpy', 'pdb', 'icecream')\n"
             "print([m for m in lazy if m not in sys.modules])\nheld = bytearray(300 << 20)")
    # icecream: what the assignment imports; a module that cannot be imported is simply not loaded ahead
    with contextlib.closing(WarmKernels(bubblewrap(), Limits(), None, ("icecream", "no_such_module_here"))) as kernels:
        execution = execute_notebook(new_notebook(cells=[new_code_cell(probe)]), kernels, Timeouts(cell=30))
    assert execution.failure is None
    assert execution.notebook.cells[0].outputs[0].text == "[]\n"
    assert (300 << 20) <= execution.peak_memory < Limits().memory_bytes


def test_a_python_installed_under_tmp_stays_visible_in_each_kernels_own_tmp(monkeypatch, tmp_path):
    """Each warm kernel gets an empty /tmp of its own; what the sandbox reads from under the
    host's /tmp (a CI checkout with its .venv, say) must stay there, read-only."""
    import tempfile

    from nbformat.v4 import new_code_cell, new_notebook

    installed = Path(tempfile.mkdtemp(prefix="autograder-under-tmp-", dir="/tmp"))
    try:
        (installed / "lib.txt").write_text("installed here")
        installed.chmod(0o755)
        roots = bwrap_args.read_only_roots() + [str(installed)]
        monkeypatch.setattr(bwrap_args, "read_only_roots", lambda: roots)
        probe = (f"import os\nprint(open({str(installed / 'lib.txt')!r}).read())\n"
                 f"try:\n    open({str(installed / 'new.txt')!r}, 'w')\nexcept OSError as e:\n"
                 "    print(e.strerror)\nprint(sorted(os.listdir('/tmp')))")
        with contextlib.closing(WarmKernels(bubblewrap(), Limits(), None)) as kernels:
            execution = execute_notebook(new_notebook(cells=[new_code_cell(probe)]), kernels, Timeouts(cell=30))
        assert execution.failure is None
        lines = execution.notebook.cells[0].outputs[0].text.splitlines()
        assert lines[0] == "installed here"
        assert lines[1] == "Read-only file system"
        under_tmp = {Path(r).relative_to("/tmp").parts[0] for r in roots if r.startswith("/tmp/")}
        assert set(ast.literal_eval(lines[2])) <= under_tmp | {".ipython", ".matplotlib"}  # nothing of anyone else's
        assert installed.name in under_tmp
    finally:
        shutil.rmtree(installed, ignore_errors=True)


# --------------------------------------------------------------------------- the warm sandbox started ahead


@pytest.mark.parametrize("memory, used", [(Limits.memory_bytes, True), (1 << 30, False)])
def test_the_warm_sandbox_started_ahead_is_used_only_for_the_settings_it_was_started_with(
        pristine, tmp_path_factory, memory, used):
    from autograder.coursedir import open_course
    from autograder.pipeline import grade
    from autograder.sandbox import SandboxSettings
    from autograder.sandbox.ahead import close_ahead, warm_kernels_ahead

    course = copy_course(pristine, tmp_path_factory, "ahead")
    submit(course, "a_correct", hand_in_notebook(course))
    ahead = warm_kernels_ahead(["grade", ASSIGNMENT, "--course", str(course)])  # the default memory
    started = []
    fork = ahead.start
    ahead.start = lambda files=None: started.append(files) or fork(files)
    options = grade.GradeOptions(sandbox=SandboxSettings(limits=Limits(memory_bytes=memory)), kernels_ahead=ahead)
    try:
        (outcome,) = grade.grade_assignment(open_course(course), ASSIGNMENT, options)
    finally:
        close_ahead(ahead)
    assert [(s.grade_id, s.auto_score) for s in outcome.notebooks[0].scores if s.auto_score is not None] == \
        list(FULL.items())
    assert len(started) == (2 if used else 0)  # the trial kernel, then the hand-in's
    assert not ahead.sandbox.alive  # used and closed with the run, or closed unused


def test_a_module_loaded_ahead_that_prints_does_not_stop_the_sandbox_and_a_students_own_module_wins():
    """`import this` prints as it loads (the warm sandbox's channel to the grader stays clean), and a
    student who hands in icecream.py beside the notebook gets their own module, as in a kernel of
    its own, although the assignment's icecream was loaded ahead."""
    from nbformat.v4 import new_code_cell, new_notebook

    probe = "import sys, icecream\nprint('this' in sys.modules, icecream.WHOSE)"
    own = {"icecream.py": b"WHOSE = 'the student'\n"}
    with contextlib.closing(WarmKernels(bubblewrap(), Limits(), None, ("this", "icecream"))) as kernels:
        theirs = execute_notebook(new_notebook(cells=[new_code_cell(probe)]), kernels, Timeouts(cell=30), own)
        plain = execute_notebook(new_notebook(cells=[new_code_cell("import icecream\nprint(icecream.__file__)")]),
                                 kernels, Timeouts(cell=30))
    assert theirs.failure is None and plain.failure is None
    assert theirs.notebook.cells[0].outputs[0].text == "True the student\n"
    assert "site-packages" in plain.notebook.cells[0].outputs[0].text  # the one loaded ahead
