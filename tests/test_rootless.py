"""The parts of the rootless sandbox that the graded batches of
test_grader_sandbox.py cannot single out: finding a cgroup delegated to the
user, knowing where RLIMIT_NPROC counts a sandbox apart, and, on a real PID
namespace made by bubblewrap as the grader makes them, the memory watch and
the kill that ends everything in the namespace.

The processes here are the test's own, in a namespace it made; no student code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograder.sandbox import bubblewrap
from autograder.sandbox.host import delegated_cgroup
from autograder.sandbox.memory_watch import MemoryWatch, Watched
from autograder.sandbox.pidns import PidNamespace
from autograder.sandbox.rootless import processes_counted_per_sandbox
from autograder.sandbox.warm_kernel import alive

MiB = 1 << 20


@pytest.mark.parametrize(("release", "apart"), [
    ("6.18.44-fc-v1045", True), ("5.14.0-70.13.1.el9_0.x86_64", True), ("5.15.0-91-generic", True),
    ("5.10.0-26-amd64", False), ("4.19.0", False), ("unknown", False),
])
def test_the_process_limit_counts_each_sandbox_apart_from_linux_5_14(release, apart):
    assert processes_counted_per_sandbox(release) is apart


def _cgroup_tree(root: Path, own: str, controls: dict[str, str]) -> Path:
    """A cgroup v2 hierarchy as the kernel shows it, this process in `own`; `controls`: folder ->
    its cgroup.subtree_control."""
    (root / "cgroup.controllers").parent.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    folder = root / own.strip("/")
    folder.mkdir(parents=True, exist_ok=True)
    for parent in [folder, *folder.parents]:
        if parent == root.parent:
            break
        (parent / "cgroup.procs").touch()
        (parent / "cgroup.subtree_control").write_text(controls.get(str(parent.relative_to(root)), "") + "\n")
    proc = root.parent / "self-cgroup"
    proc.write_text(f"0::{own}\n")
    return proc


USER_SERVICE = "user.slice/user-1000.slice/user@1000.service"
SESSION = f"/{USER_SERVICE}/app.slice/term.scope"


def test_a_cgroup_delegated_to_the_user_is_found_above_its_own(tmp_path):
    root = tmp_path / "cgroup"
    proc = _cgroup_tree(root, SESSION, {USER_SERVICE: "cpu memory pids", f"{USER_SERVICE}/app.slice": "cpu"})
    assert delegated_cgroup(os.getuid(), proc, root) == root / USER_SERVICE  # app.slice gives no memory cap


def test_no_cgroup_is_found_where_none_is_the_users(tmp_path):
    root = tmp_path / "cgroup"
    proc = _cgroup_tree(root, SESSION, {USER_SERVICE: "memory pids"})
    assert delegated_cgroup(os.getuid() + 1, proc, root) is None  # the folders are someone else's


def test_no_cgroup_is_found_without_memory_and_process_caps(tmp_path):
    root = tmp_path / "cgroup"
    proc = _cgroup_tree(root, SESSION, {USER_SERVICE: "cpu pids"})
    assert delegated_cgroup(os.getuid(), proc, root) is None


def test_no_cgroup_is_found_in_a_container_or_on_cgroup_v1(tmp_path):
    root = tmp_path / "cgroup"
    proc = _cgroup_tree(root, "/", {"": "memory pids"})  # a container's own root: never ours to divide
    assert delegated_cgroup(os.getuid(), proc, root) is None
    proc.write_text("4:memory:/user.slice\n1:name=systemd:/user.slice\n")  # v1 only
    assert delegated_cgroup(os.getuid(), proc, root) is None


# --------------------------------------------------------------------------- a real PID namespace

# The sandbox's program: pid 2 of the namespace (bwrap's init is pid 1). Children hold what they are
# told, in MiB, and say so; one of them leaves its session, as a process trying to outlive its kernel does.
HOLDERS = textwrap.dedent(r'''
    import os, sys, time
    for size in map(int, sys.argv[1:]):
        if os.fork() == 0:
            os.setsid()
            block = b"\1" * (size << 20)
            os.write(1, f"held {size} {os.getpid()}\n".encode())  # one write: the children share the pipe
            time.sleep(600)
            os._exit(0)
    time.sleep(600)
''')


class Sandbox:
    """bubblewrap with a PID namespace, as the rootless grader starts it (as root: its own)."""

    def __init__(self, *sizes: int) -> None:
        read_end, write_end = os.pipe()
        user = ["--unshare-user"] if os.geteuid() != 0 else []
        self.process = subprocess.Popen(
            [bubblewrap(), *user, "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "--info-fd", str(write_end), sys.executable, "-c", HOLDERS, *map(str, sizes)],
            stdout=subprocess.PIPE, text=True, pass_fds=(write_end,))
        os.close(write_end)
        with os.fdopen(read_end) as info:
            made = json.load(info)
        self.namespace = PidNamespace(made["child-pid"], made["pid-namespace"])
        inner = {}  # MiB -> pid in the namespace
        for _ in sizes:
            _, size, pid = self.process.stdout.readline().split()
            inner[int(size)] = int(pid)
        self.all = set(self.namespace.processes())
        host = {int(_status(pid)["NSpid"].split()[-1]): pid for pid in self.all}
        self.holders = {size: host[pid] for size, pid in inner.items()}  # MiB -> pid on the host

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def sandbox_of():
    made = []

    def make(*sizes: int) -> Sandbox:
        made.append(Sandbox(*sizes))
        return made[-1]

    yield make
    for sandbox in made:
        sandbox.namespace.kill()
        sandbox.close()


def _status(pid: int) -> dict[str, str]:
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not alive(pid)


def test_the_memory_watch_kills_the_largest_process_of_a_sandbox_past_its_limit(sandbox_of):
    sandbox = sandbox_of(64, 160)
    small, large = sandbox.holders[64], sandbox.holders[160]
    watched = Watched(sandbox.namespace)
    MemoryWatch(limit_bytes=400 * MiB).enforce(watched)
    assert not watched.out_of_memory() and alive(large)  # under the limit: nothing happens
    MemoryWatch(limit_bytes=200 * MiB).enforce(watched)
    assert watched.out_of_memory()
    assert wait_gone(large) and alive(small)
    MemoryWatch(limit_bytes=200 * MiB).enforce(watched)  # back under the limit: the rest lives on
    assert alive(small) and alive(sandbox.namespace.init)


def test_killing_a_sandboxs_init_ends_every_process_in_its_pid_namespace(sandbox_of):
    sandbox = sandbox_of(1, 1, 1)
    assert len(sandbox.all) == 5  # bwrap's init, the program, its three children (one in a session of its own)
    sandbox.namespace.kill()
    assert not [pid for pid in sandbox.all if alive(pid)]
    assert sandbox.namespace.processes() == []
