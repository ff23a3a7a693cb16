"""What one sandbox holds on the host, and gives back when its kernel is done:

- a user id of its own, leased with a lock file, so process limits never add
  up across kernels and every leftover process can be found and killed;
- a cgroup (v1 or v2) capping the memory and the number of processes of the
  whole sandbox, not of each process;
- a tiny tmpfs on the folder holding the kernel's sockets, the only host
  folder the kernel can write to, so it cannot fill the host's disk.

Each piece degrades to nothing where the host does not offer it (no cgroup
controllers, no mount rights); the rlimits set in the sandbox still apply.
Without root only a cgroup is lent, where one is delegated to the user
(`delegated_cgroup`); rootless.py needs nothing else from here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from .limits import Limits

FIRST_UID = 61000
UID_COUNT = 1000
LOCK_DIR = Path("/tmp/autograder-uids")  # machine-wide, like the uids it locks: never $TMPDIR
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        found.append(int(entry.name))
                    break
    return found


def kill_user(uid: int, wait: float = 10.0) -> None:
    """SIGKILL every process of `uid` until none is left (a fork bomb keeps forking for a while)."""
    deadline = time.monotonic() + wait
    pause = 0.002  # a killed kernel is usually gone at once; a fork bomb takes longer
    while (pids := _processes_of(uid)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


class UidLease:
    """An unused sandbox uid, held (flock) until release()."""

    def __init__(self) -> None:
        LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        for uid in range(FIRST_UID, FIRST_UID + UID_COUNT):
            fd = os.open(LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            kill_user(uid)  # whatever a crashed grader left behind under this uid
            return
        raise RuntimeError(f"all {UID_COUNT} sandbox users are busy: grade with fewer workers")

    def release(self) -> None:
        kill_user(self.uid)
        os.close(self._fd)


class Cgroup:
    """Memory and process caps for a whole sandbox; `paths` is empty where the host has none.
    `parent`: a cgroup v2 folder delegated to this user (rootless), instead of the root's."""

    def __init__(self, memory_bytes: int, processes: int, parent: Path | None = None) -> None:
        self.paths: list[Path] = []
        settings = (self._layout(memory_bytes, processes) if parent is None
                    else {parent / f"autograder-{uuid.uuid4().hex}": _v2_caps(memory_bytes, processes)})
        for folder, values in settings.items():
            try:
                folder.mkdir()
                for file, value in values.items():
                    (folder / file).write_text(str(value))
            except OSError:
                self.destroy()
                self.paths = []
                return
            self.paths.append(folder)

    def _layout(self, memory_bytes: int, processes: int) -> dict[Path, dict[str, int]]:
        name = f"autograder-{uuid.uuid4().hex}"
        unified = CGROUP_ROOT / "cgroup.controllers"
        if unified.is_file() and {"memory", "pids"} <= set(unified.read_text().split()):
            return {CGROUP_ROOT / name: _v2_caps(memory_bytes, processes)}
        memory, pids = CGROUP_ROOT / "memory", CGROUP_ROOT / "pids"
        if memory.is_dir() and pids.is_dir():
            return {memory / name: {"memory.limit_in_bytes": memory_bytes}, pids / name: {"pids.max": processes}}
        return {}

    def enter(self, command: list[str]) -> list[str]:
        """`command`, started inside the cgroup: a shell writes its pid in, then execs it."""
        if not self.paths:
            return command
        writes = " && ".join(f"echo $$ > {folder / 'cgroup.procs'}" for folder in self.paths)
        return ["/bin/sh", "-c", f'{writes} && exec "$@"', "sh", *command]

    def out_of_memory(self) -> bool:
        """Whether the sandbox hit its memory cap (v2 counts OOM kills, v1 counts hits of the limit)."""
        for folder in self.paths:
            with contextlib.suppress(OSError, ValueError):
                if (folder / "memory.events").is_file():
                    events = dict(line.split() for line in (folder / "memory.events").read_text().splitlines())
                    if int(events.get("oom_kill", 0)) > 0:
                        return True
                elif (folder / "memory.failcnt").is_file() and int((folder / "memory.failcnt").read_text()) > 0:
                    return True
        return False

    def peak_bytes(self) -> int | None:
        """The most memory the sandbox held at once (v2 memory.peak, v1 memory.max_usage_in_bytes):
        its own pages; what a forked kernel shares with its warm parent is the parent's. None: unknown."""
        for folder in self.paths:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError, ValueError):
                    return int((folder / name).read_text())
        return None

    def destroy(self, wait: float = 10.0) -> None:
        deadline = time.monotonic() + wait
        for folder in self.paths:
            while folder.exists() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    for pid in (folder / "cgroup.procs").read_text().split():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(pid), signal.SIGKILL)
                try:
                    folder.rmdir()
                except OSError:
                    time.sleep(0.05)


def root_note(kernels: str, limits: Limits, cgroup: bool) -> str:
    """The first line of `autograder grade` as root: how kernels start, and which limits hold."""
    mib = limits.memory_bytes >> 20
    caps = (f"a cgroup caps each sandbox's memory ({mib} MiB) and processes ({limits.processes})" if cgroup
            else f"no cgroup here: memory is limited per process ({mib} MiB), processes per kernel's user "
                 f"({limits.processes})")
    return f"kernels: {kernels}; root: each kernel its own user; {caps}"


def _v2_caps(memory_bytes: int, processes: int) -> dict[str, int]:
    return {"memory.max": memory_bytes, "memory.swap.max": 0, "pids.max": processes}


def delegated_cgroup(uid: int | None = None, own: Path = Path("/proc/self/cgroup"),
                     root: Path = CGROUP_ROOT) -> Path | None:
    """The cgroup v2 folder, above this process's own, that is delegated to `uid` (systemd
    does so for each user's session) with memory and pids caps for its children; None where
    there is none, as in most containers and JupyterHub servers."""
    uid = os.geteuid() if uid is None else uid
    try:
        mine = next(line[3:] for line in own.read_text().splitlines() if line.startswith("0::"))
    except (OSError, StopIteration):
        return None
    # a cgroup holding processes may not give its children caps: look above ours
    for folder in (root / mine.strip("/")).parents:
        if folder == root or root not in folder.parents:
            break
        with contextlib.suppress(OSError):
            if ((folder / "cgroup.procs").stat().st_uid == uid
                    and {"memory", "pids"} <= set((folder / "cgroup.subtree_control").read_text().split())):
                return folder
    return None


def small_tmpfs(folder: Path, uid: int, size: str = "1m") -> bool:
    """Mount a tiny tmpfs owned by `uid` on `folder`; False where mounting is not allowed."""
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes=64,mode=0700,uid={uid},gid={uid}",
         "autograder-kernel", str(folder)],
        capture_output=True, check=False,
    )
    return done.returncode == 0


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)
