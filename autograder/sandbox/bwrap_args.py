"""bubblewrap: finding a working one, and the command line every sandbox starts
from (no network, the system and this Python read-only, a small /tmp).

What the kernel sees is decided here and in the mounts cold.py, warm.py and
rootless.py add: never the gradebook, source/, other hand-ins or the home folder.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .inside.common import INSIDE_MOUNT
from .kernels import AUTOGRADE_ENVIRONMENT
from .limits import Limits

WORKDIR = "/submission"  # the kernel's working folder, inside the sandbox
DATA_MOUNT = "/assignment-data"  # the assignment's data files, read-only, copied to WORKDIR
HANDIN_MOUNT = "/handed-in"  # the student's own files, read-only, copied to WORKDIR before DATA_MOUNT's
INSIDE_DIR = Path(__file__).parent / "inside"  # the scripts that run inside, mounted at INSIDE_MOUNT
# A rootless sandbox: a user namespace of its own, in which the kernel may not make another one
# (there it would be root, and could mount a tmpfs that no limit counts).
USER_NAMESPACE = ("--unshare-user", "--disable-userns")
# Last in a rootless sandbox: what bwrap made (the root, /dev) is the kernel's own user's, so read-only.
SEAL = ["--remount-ro", "/", "--remount-ro", "/dev"]


class SandboxUnavailable(RuntimeError):
    pass


def bubblewrap() -> str:
    """Path of a bwrap that works here, as root or as an ordinary user (in a user namespace),
    or SandboxUnavailable saying how to get one."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and student code must not run with your rights. "
            "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
            "bubblewrap`), or pass --no-sandbox to grade without one (only for code you trust)."
        )
    rootless = os.geteuid() != 0
    probe = subprocess.run([path, *(["--unshare-user"] if rootless else []), "--ro-bind", "/", "/",
                            "--unshare-net", "--unshare-pid", "true"], capture_output=True, text=True, check=False)
    if probe.returncode == 0:
        return path
    if rootless:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox as an ordinary user here ({probe.stderr.strip()}): this "
            "system does not let users create user namespaces. Ask an administrator to allow them (Debian: "
            "`sysctl kernel.unprivileged_userns_clone=1`; Ubuntu 24.04: `sysctl "
            "kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile for bwrap), or run "
            "`sudo .venv/bin/autograder grade ...`, or pass --no-sandbox (only for code you trust)."
        )
    raise SandboxUnavailable(
        f"bubblewrap is installed but cannot create a sandbox here ({probe.stderr.strip()}). "
        "In a container, allow namespaces (e.g. docker --privileged or a seccomp profile permitting "
        "unshare), or pass --no-sandbox (only for code you trust)."
    )


@functools.cache
def can_disable_user_namespaces(bwrap: str) -> bool:
    """Whether this bwrap (0.8 or later) can forbid the sandbox to make user namespaces of its own."""
    probe = subprocess.run([bwrap, *USER_NAMESPACE, "--ro-bind", "/", "/", "true"], capture_output=True,
                           check=False)
    return probe.returncode == 0


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
        *[arg for name, value in AUTOGRADE_ENVIRONMENT.items() for arg in ("--setenv", name, value)],
    ]


def bwrap_base(bwrap: str, limits: Limits, shared_dir: str | None, unshare_cgroup: bool = True,
               user_namespace: tuple[str, ...] = ()) -> list[str]:
    """The sandbox every kind of kernel starts in: no network, the system and this Python
    read-only, a small /tmp, and `shared_dir` (the kernel's sockets, as root) at its own path."""
    roots = read_only_roots()
    shared = [shared_dir] if shared_dir else []
    mounts: list[str] = []
    made = {"/tmp"}
    for path in roots + shared:
        for parent in _ancestors(path):
            if parent not in made:
                # bwrap makes missing parents 0700; the kernel's user must traverse them
                mounts += ["--perms", "0755", "--dir", parent]
                made.add(parent)
    for path in roots:
        mounts += ["--ro-bind", path, path]
    return [
        bwrap, *user_namespace,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        *(["--unshare-cgroup-try"] if unshare_cgroup else []),
        "--die-with-parent", "--new-session", "--hostname", "sandbox",
        "--proc", "/proc", "--dev", "/dev",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/sbin", "/sbin",
        "--size", str(limits.disk_bytes), "--perms", "1777", "--tmpfs", "/tmp",
        *mounts,
        *[arg for path in shared for arg in ("--bind", path, path)],
        *_environment(),
    ]


def inside_mount() -> list[str]:
    """The stdlib-only scripts that run first in the sandbox, read-only; file by file, so
    that nothing else of the grader's (a __pycache__ written on the host) is seen there."""
    args = ["--perms", "0755", "--dir", INSIDE_MOUNT]  # bwrap would make it 0700: the kernel may read it
    for script in sorted(INSIDE_DIR.glob("*.py")):
        args += ["--ro-bind", str(script), f"{INSIDE_MOUNT}/{script.name}"]
    return args


def data_mount(data_dir: Path | str | None) -> list[str]:
    return ["--ro-bind", str(data_dir), DATA_MOUNT] if data_dir else []


def handin_mount(staged: Path | str | None) -> list[str]:
    return ["--ro-bind", str(staged), HANDIN_MOUNT] if staged else []
