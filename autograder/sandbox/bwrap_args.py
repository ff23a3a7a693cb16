"""bubblewrap: finding a working one, and the command line every sandbox starts
from (no network, the system and this Python read-only, a small /tmp).

What the kernel sees is decided here and in the mounts cold.py and warm.py
add: never the gradebook, source/, other hand-ins or the home folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .inside.common import INSIDE_MOUNT
from .limits import Limits

WORKDIR = "/submission"  # the kernel's working folder, inside the sandbox
DATA_MOUNT = "/assignment-data"  # the assignment's data files, read-only, copied to WORKDIR
INSIDE_DIR = Path(__file__).parent / "inside"  # the scripts that run inside, mounted at INSIDE_MOUNT


class SandboxUnavailable(RuntimeError):
    pass


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


def inside_mount() -> list[str]:
    """The stdlib-only scripts that run first in the sandbox, read-only; file by file, so
    that nothing else of the grader's (a __pycache__ written on the host) is seen there."""
    args = ["--perms", "0755", "--dir", INSIDE_MOUNT]  # bwrap would make it 0700: the kernel may read it
    for script in sorted(INSIDE_DIR.glob("*.py")):
        args += ["--ro-bind", str(script), f"{INSIDE_MOUNT}/{script.name}"]
    return args


def data_mount(data_dir: Path | str | None) -> list[str]:
    return ["--ro-bind", str(data_dir), DATA_MOUNT] if data_dir else []
