"""A rootless sandbox's processes, found by its PID namespace and never by user
id: its kernel runs as the instructor, whose own processes share that id.

bubblewrap's init is pid 1 of the namespace; every process of the sandbox
descends from it (orphans are handed to it), and when it dies the kernel
kills every other process in the namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from .warm_kernel import alive

# Linux lists each task's children where built with CONFIG_PROC_CHILDREN (as distributions are).
_LISTS_CHILDREN = Path(f"/proc/self/task/{os.getpid()}/children").exists()


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                found += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    return found


def _all_processes() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


@dataclass(frozen=True)
class PidNamespace:
    init: int  # the host's pid of the sandbox's pid 1 (bwrap's init)
    inode: int  # the namespace's inode, as bwrap's --info-fd gives it

    def holds(self, pid: int) -> bool:
        """Whether `pid` is a process of this namespace (and not another's that took its number)."""
        try:
            return os.stat(f"/proc/{pid}/ns/pid").st_ino == self.inode
        except OSError:
            return False

    def processes(self) -> list[int]:
        """Every process of the sandbox, its init first."""
        if not _LISTS_CHILDREN:
            return sorted((p for p in _all_processes() if self.holds(p)), key=lambda p: p != self.init)
        found, todo = [], [self.init]
        while todo:
            pid = todo.pop()
            if self.holds(pid):
                found.append(pid)
                todo += _children(pid)
        return found

    def kill(self, wait: float = 10.0) -> None:
        """Kill the init, so that the kernel kills the rest, and wait until the namespace is empty:
        its init dies last, once every other process of it is gone."""
        deadline = time.monotonic() + wait
        pause = 0.002
        while self.holds(self.init) and alive(self.init) and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.init, signal.SIGKILL)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
