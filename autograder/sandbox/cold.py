"""The sandbox a submission's kernel runs in: bubblewrap, resource limits and
an unprivileged user.

Only the kernel is sandboxed. The notebook, the tests and the gradebook stay
in the trusted parent, which talks to the kernel over Unix sockets (Jupyter's
IPC transport) in a folder shared with the sandbox; the sandbox has no network
at all, not even loopback.

Inside, the kernel sees: the Python installation (read-only), a fresh working
folder holding a copy of the assignment's data files, a small /tmp, and
nothing else: no gradebook, no source/, no other submissions, no home folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from jupyter_client import AsyncKernelManager
from traitlets import Any

from .host import Cgroup, UidLease, small_tmpfs, unmount

WORKDIR = "/submission"  # the kernel's working folder, inside the sandbox
DATA_MOUNT = "/assignment-data"  # the assignment's data files, read-only, copied to WORKDIR
LAUNCHER_MOUNT = "/autograder-launch.py"


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 << 30  # the whole sandbox (cgroup), and each process's address space
    cpu_seconds: int = 900
    processes: int = 256  # threads count too: torch and ipykernel start a few dozen
    file_bytes: int = 64 << 20  # largest file the kernel may write
    open_files: int = 1024
    disk_bytes: int = 256 << 20  # size of each of the two writable folders (/tmp, working folder)


def bubblewrap() -> str:
    """Path of a working bwrap, or SandboxUnavailable saying how to get one."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and student code must not run with your rights. "
            "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
            "bubblewrap`), or pass --no-sandbox to grade without one (only for code you trust)."
        )
    if os.geteuid() != 0:
        raise SandboxUnavailable(
            "the sandbox gives each kernel its own unprivileged user and limits, which needs root: "
            "run `autograder grade` with sudo, or pass --no-sandbox (only for code you trust)."
        )
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "true"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap is installed but cannot create a sandbox here ({probe.stderr.strip()}). "
            "In a container, allow namespaces (e.g. docker --privileged or a seccomp profile permitting "
            "unshare), or pass --no-sandbox (only for code you trust)."
        )
    return path


def read_only_roots() -> list[str]:
    """What the kernel needs to read: the system and this Python, nothing of the user's."""
    roots = {"/usr", "/etc/alternatives", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/ssl"}
    roots |= {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)}
    return sorted(r for r in roots if os.path.exists(r))


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _environment() -> list[str]:
    return [
        "--clearenv",
        "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "IPYTHONDIR", "/tmp/.ipython",
        "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib",
        "--setenv", "PYTHONNOUSERSITE", "1",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "OMP_NUM_THREADS", "1",
    ]


def bwrap_base(bwrap: str, limits: Limits, shared_dir: str, unshare_cgroup: bool = True) -> list[str]:
    """The sandbox both kinds of kernel start in: no network, the system and this
    Python read-only, a small /tmp, and `shared_dir` (the kernel's sockets) at its own path."""
    roots = read_only_roots()
    mounts: list[str] = []
    made = {"/tmp"}
    for path in roots + [shared_dir]:
        for parent in _ancestors(path):
            if parent not in made:
                # bwrap makes missing parents 0700; the kernel's user must traverse them
                mounts += ["--perms", "0755", "--dir", parent]
                made.add(parent)
    for path in roots:
        mounts += ["--ro-bind", path, path]
    return [
        bwrap,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        *(["--unshare-cgroup-try"] if unshare_cgroup else []),
        "--die-with-parent", "--new-session", "--hostname", "sandbox",
        "--proc", "/proc", "--dev", "/dev",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/sbin", "/sbin",
        "--size", str(limits.disk_bytes), "--perms", "1777", "--tmpfs", "/tmp",
        *mounts,
        "--bind", shared_dir, shared_dir,
        *_environment(),
    ]


@dataclass(frozen=True)
class SandboxSpec:
    run_dir: str  # holds the connection file and the kernel's sockets; seen inside at the same path
    data_dir: str | None  # the assignment's data files
    uid: int
    limits: Limits

    def wrap(self, kernel_command: list[str], bwrap: str) -> list[str]:
        launcher = str(Path(__file__).parent / "inside" / "launch.py")
        data = ["--ro-bind", self.data_dir, DATA_MOUNT] if self.data_dir else []
        return [
            *bwrap_base(bwrap, self.limits, self.run_dir),
            "--ro-bind", launcher, LAUNCHER_MOUNT,
            *data,
            "--size", str(self.limits.disk_bytes), "--perms", "0755", "--tmpfs", WORKDIR,
            "--chdir", WORKDIR,
            "--",
            sys.executable, "-I", "-S", LAUNCHER_MOUNT,
            str(self.uid), json.dumps(asdict(self.limits)), DATA_MOUNT,
            "--", *kernel_command,
        ]


class SandboxKernelManager(AsyncKernelManager):
    """A KernelManager whose kernel starts inside bubblewrap (see SandboxSpec)."""

    sandbox = Any(None, help="SandboxSpec of this kernel")
    bwrap = Any(None, help="path of bwrap")
    cgroup = Any(None, help="Cgroup the whole sandbox runs in")

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        # written 0600 by root: the kernel's user must read it
        os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        return self.cgroup.enter(self.sandbox.wrap(command, self.bwrap))


def sandboxed_kernel_manager(data_dir: Path | None, limits: Limits, bwrap: str) -> SandboxKernelManager:
    """A kernel manager for one submission; call its release_sandbox() when the kernel is done."""
    lease = UidLease()
    run_dir = Path(tempfile.mkdtemp(prefix="autograder-kernel-"))
    mounted = small_tmpfs(run_dir, lease.uid)
    if not mounted:
        os.chown(run_dir, lease.uid, lease.uid)
        os.chmod(run_dir, 0o700)
    spec = SandboxSpec(str(run_dir), str(data_dir) if data_dir else None, lease.uid, limits)
    km = SandboxKernelManager(
        kernel_name="python3", transport="ipc", ip=f"{run_dir}/kernel",
        sandbox=spec, bwrap=bwrap, cgroup=Cgroup(limits.memory_bytes, limits.processes),
    )
    km.connection_file = f"{run_dir}/connection.json"
    km.run_dir = str(run_dir)

    def release_sandbox() -> None:
        km.cgroup.destroy()
        lease.release()
        if mounted:
            unmount(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)

    km.release_sandbox = release_sandbox
    return km


def plain_kernel_manager(workdir: Path) -> AsyncKernelManager:
    """--no-sandbox: an ordinary kernel with the grader's rights, in a scratch folder."""
    km = AsyncKernelManager(kernel_name="python3")
    km.run_dir = str(workdir)
    km.release_sandbox = lambda: None
    return km
