"""Rootless kernels: `autograder grade` run by an ordinary user, without sudo (a
shared server, JupyterHub), where the system lets users make user namespaces.

Each submission gets a new bubblewrap sandbox with user, PID, network, IPC,
UTS and mount namespaces of its own, in which the kernel runs as the
instructor's own user id, with no capabilities, and may make no further user
namespace. What it sees is what a root sandbox shows (bwrap_args.py), with
everything bwrap made for it read-only, because the kernel is their owner, and
it may not use the system calls seccomp.py lists (the instructor's keyring).

- Limits: rlimits on every process; RLIMIT_NPROC counts the processes of
  this sandbox's user namespace only (Linux 5.14 and later). Memory and
  processes of the sandbox as a whole: a cgroup where one is delegated to the
  user, else memory_watch.py.
- Sockets: the kernel binds them in a small tmpfs of its own sandbox; the
  grader reaches them through /proc/<the sandbox's init>/root, so no host
  folder is writable from inside.
- Leftovers: everything in the sandbox is killed with its PID namespace
  (pidns.py), never by user id, which the instructor's own processes share.

Cold kernels only: warm ones would share the zygote's user namespace, so one
fork bomb would use up the others' processes, and each would have to be cut
off from its siblings (same user: signals, /proc) after ipykernel has started
its threads, which no unprivileged process can do for all of them.
"""

from __future__ import annotations

import json
import os
import platform
import select
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from jupyter_client import AsyncKernelManager
from traitlets import Any

from . import seccomp
from .bwrap_args import (
    DATA_MOUNT,
    HANDIN_MOUNT,
    SEAL,
    USER_NAMESPACE,
    WORKDIR,
    bwrap_base,
    can_disable_user_namespaces,
    data_mount,
    handin_mount,
    inside_mount,
)
from .handed_in import HandInFiles, fit, staged, unstage
from .host import Cgroup, delegated_cgroup
from .inside.common import INSIDE_MOUNT, SAME_USER
from .kernels import KERNEL_NAME, Kernel, KernelStartFailed, start_manager
from .limits import Limits
from .memory_watch import MemoryWatch, Watched
from .pidns import PidNamespace

START_SECONDS = 60
SOCKET_FOLDER_BYTES = 1 << 20  # the kernel's sockets take no room: a full folder stops nothing


def processes_counted_per_sandbox(release: str | None = None) -> bool:
    """Whether RLIMIT_NPROC counts a user namespace's processes apart (Linux 5.14 and later)
    rather than all of the user's processes on the machine."""
    numbers = (release or os.uname().release).split("-")[0].split(".")[:2]
    try:
        return tuple(int(n) for n in numbers) >= (5, 14)
    except ValueError:
        return False


def tasks_of(uid: int) -> int:
    """Processes and threads of `uid` on this machine: what RLIMIT_NPROC counts on older Linux."""
    count = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines())
            if int(status["Uid"].split()[0]) == uid:
                count += int(status["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


@dataclass(frozen=True)
class RootlessSpec:
    run_dir: str  # on the host: the connection file; inside: a small tmpfs for the sockets, at the same path
    data_dir: str | None
    limits: Limits
    info_fd: int  # bwrap writes the sandbox's init pid and namespaces here
    seccomp_fd: int | None  # bwrap reads the system calls to refuse from here (seccomp.py)
    user_namespace: tuple[str, ...]
    hand_in: str | None = None  # the student's own files, staged by the grader (handed_in.staged)

    def wrap(self, kernel_command: list[str], bwrap: str) -> list[str]:
        connection = f"{self.run_dir}/connection.json"
        return [
            *bwrap_base(bwrap, self.limits, None, user_namespace=self.user_namespace),
            "--info-fd", str(self.info_fd),
            *(["--seccomp", str(self.seccomp_fd)] if self.seccomp_fd is not None else []),
            *inside_mount(),
            *data_mount(self.data_dir),
            *handin_mount(self.hand_in),
            "--size", str(SOCKET_FOLDER_BYTES), "--perms", "0700", "--tmpfs", self.run_dir,
            "--ro-bind", connection, connection,
            "--size", str(self.limits.disk_bytes), "--perms", "0755", "--tmpfs", WORKDIR,
            "--chdir", WORKDIR,
            *SEAL,
            "--",
            sys.executable, "-I", "-S", f"{INSIDE_MOUNT}/launch.py",
            SAME_USER, json.dumps(asdict(self.limits)), DATA_MOUNT, HANDIN_MOUNT,
            "--", *kernel_command,
        ]


class RootlessKernelManager(AsyncKernelManager):
    """A KernelManager whose kernel starts inside a rootless bubblewrap sandbox (see RootlessSpec)."""

    sandbox = Any(None, help="RootlessSpec of this kernel")
    bwrap = Any(None, help="path of bwrap")
    cgroup = Any(None, help="Cgroup the whole sandbox runs in, where one is delegated")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = self.sandbox.wrap(super().format_kernel_cmd(extra_arguments), self.bwrap)
        return command if self.cgroup is None else self.cgroup.enter(command)


def _bwrap_environment() -> dict[str, str]:
    """bwrap's own environment, which its init inside keeps, where the kernel (the same user) can
    read it: nothing of the grader's (tokens, passwords, the folders on its PATH)."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _sandbox_info(fd: int, timeout: float = START_SECONDS) -> dict:
    """What bwrap tells of the sandbox it made (its --info-fd), once it is made."""
    data = b""
    while select.select([fd], [], [], timeout)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    try:
        info = json.loads(data)
        return {"child-pid": int(info["child-pid"]), "pid-namespace": int(info["pid-namespace"])}
    except (ValueError, KeyError, TypeError):
        raise KernelStartFailed("the rootless sandbox did not start") from None


@dataclass
class Held:
    """What one rootless sandbox holds on the host, given back once its kernel is done."""

    run_dir: Path
    cgroup: Cgroup | None
    watch: MemoryWatch
    hand_in: Path | None = None
    namespace: PidNamespace | None = None
    watched: Watched | None = None

    def release(self) -> None:
        if self.watched is not None:
            self.watch.forget(self.watched)
        if self.namespace is not None:
            self.namespace.kill()
        if self.cgroup is not None:
            self.cgroup.destroy()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        unstage(self.hand_in)


class RootlessKernels:
    """A fresh rootless sandbox and interpreter per submission."""

    kernel_name = KERNEL_NAME

    def __init__(self, bwrap: str, limits: Limits, data_dir: Path | None, warm_asked: bool = False) -> None:
        self.bwrap, self.limits, self.data_dir = bwrap, limits, data_dir
        self.user_namespace = USER_NAMESPACE if can_disable_user_namespaces(bwrap) else USER_NAMESPACE[:1]
        self.seccomp = seccomp.program()
        self.cgroup_parent = self._cgroup_parent()
        self.watch = MemoryWatch(limits.memory_bytes)  # its thread starts with the first sandbox it watches
        self.note = self._describe(warm_asked)

    def _cgroup_parent(self) -> Path | None:
        parent = delegated_cgroup()
        if parent is None:
            return None
        probe = Cgroup(self.limits.memory_bytes, self.limits.processes, parent)
        probe.destroy()
        return parent if probe.paths else None

    def _describe(self, warm_asked: bool) -> str:
        mib = self.limits.memory_bytes >> 20
        parts = ["kernels: a new interpreter per submission" + (" (warm kernels need root)" if warm_asked else ""),
                 "rootless: each kernel in a user namespace of its own, as you"]
        if self.cgroup_parent:
            parts.append(f"a cgroup of yours caps each sandbox's memory ({mib} MiB) and processes "
                         f"({self.limits.processes})")
        else:
            parts.append(f"no cgroup here: memory is limited per process and watched for each sandbox as a "
                         f"whole ({mib} MiB)")
            parts.append(f"{self.limits.processes} processes per sandbox" if processes_counted_per_sandbox()
                         else f"processes: {self.limits.processes} more than yours (Linux before 5.14 counts all "
                              "of them together)")
        if len(self.user_namespace) == 1:
            parts.append("bubblewrap before 0.8 lets kernels make user namespaces, which no limit counts")
        if self.seccomp is None:
            parts.append(f"no system call filter for {platform.machine()}: kernels can read your keyring")
        return "; ".join(parts)

    def _limits(self) -> Limits:
        if processes_counted_per_sandbox():
            return self.limits
        return replace(self.limits, processes=tasks_of(os.getuid()) + self.limits.processes)

    def _seccomp_fd(self) -> int | None:
        """A pipe holding the filter, for bwrap to read (it is far smaller than a pipe holds)."""
        if self.seccomp is None:
            return None
        read_end, write_end = os.pipe()
        os.write(write_end, self.seccomp)
        os.close(write_end)
        return read_end

    def start(self, files: HandInFiles | None = None) -> Kernel:
        kept = fit(files or {}, self.data_dir, self.limits.disk_bytes)
        cgroup = Cgroup(self.limits.memory_bytes, self.limits.processes, self.cgroup_parent) \
            if self.cgroup_parent else None
        if cgroup is not None and not cgroup.paths:
            cgroup = None  # the delegated cgroup refused this one: the watch caps it instead
        held = Held(Path(tempfile.mkdtemp(prefix="autograder-kernel-")), cgroup, self.watch)
        try:
            held.hand_in = staged(kept)
        except BaseException:
            held.release()
            raise
        read_end, write_end = os.pipe()
        refused = self._seccomp_fd()
        spec = RootlessSpec(str(held.run_dir), str(self.data_dir) if self.data_dir else None, self._limits(),
                            write_end, refused, self.user_namespace,
                            str(held.hand_in) if held.hand_in else None)
        manager = RootlessKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=f"{held.run_dir}/kernel",
                                        sandbox=spec, bwrap=self.bwrap, cgroup=cgroup)
        manager.connection_file = f"{held.run_dir}/connection.json"
        try:
            try:
                start_manager(manager, held.release, env=_bwrap_environment(),
                              pass_fds=(write_end,) if refused is None else (write_end, refused))
            finally:
                os.close(write_end)
                if refused is not None:
                    os.close(refused)
            try:
                info = _sandbox_info(read_end)
            except KernelStartFailed:
                Kernel(manager, held.release).release()
                raise
        finally:
            os.close(read_end)
        held.namespace = PidNamespace(info["child-pid"], info["pid-namespace"])
        # The kernel's sockets are in its own sandbox: the grader goes there through the sandbox's init.
        manager.ip = f"/proc/{held.namespace.init}/root{held.run_dir}/kernel"
        if cgroup is None:
            held.watched = self.watch.watch(held.namespace)
        return Kernel(manager, held.release, cgroup or held.watched)

    def close(self) -> None:
        self.watch.close()
