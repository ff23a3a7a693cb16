"""The memory cap of a whole rootless sandbox where no cgroup is delegated to the
user: the rlimits cap each process, and this watch caps all of a sandbox's
processes together, as a cgroup's OOM killer would. Ten times a second it
adds up what each sandbox's processes hold and, past the limit, kills the
largest of them, so that a kernel that forks workers loses a worker first.

It looks, it does not prevent: between two looks a sandbox can go past the
limit by what its processes allocate in a tenth of a second.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time

from .pidns import PidNamespace
from .warm_kernel import alive

log = logging.getLogger(__name__)
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
INTERVAL = 0.1  # seconds between two looks


def resident(pid: int) -> int:
    """Bytes of memory the process has in RAM, pages it shares with others included (cheap to read)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def proportional(pid: int) -> int:
    """Bytes the process holds, each shared page split between those sharing it (a forked
    child shares its parent's pages); resident() where the process hides its maps."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return resident(pid)


class Watched:
    """One sandbox under the watch; the kernel's out-of-memory check."""

    def __init__(self, namespace: PidNamespace) -> None:
        self.namespace = namespace
        self.hit = False
        self.peak = 0  # the most its processes held together, as the watch saw it

    def out_of_memory(self) -> bool:
        return self.hit

    def peak_bytes(self) -> int | None:
        return self.peak or None


class MemoryWatch:
    """One thread watching every sandbox of a grading run."""

    def __init__(self, limit_bytes: int, interval: float = INTERVAL) -> None:
        self.limit_bytes, self.interval = limit_bytes, interval
        self._watched: set[Watched] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, namespace: PidNamespace) -> Watched:
        watched = Watched(namespace)
        with self._lock:
            self._watched.add(watched)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)
                self._thread.start()
        return watched

    def forget(self, watched: Watched) -> None:
        with self._lock:
            self._watched.discard(watched)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                watched = list(self._watched)
            for one in watched:
                try:
                    self.enforce(one)
                except OSError as error:  # a process came or went while it was read: look again next time
                    log.debug("memory watch: %s", error)

    def enforce(self, watched: Watched) -> None:
        """Kill the sandbox's largest process if all of them together hold more than the limit."""
        pids = watched.namespace.processes()
        total = sum(map(resident, pids))
        watched.peak = max(watched.peak, total)
        if total <= self.limit_bytes:  # over-counts shared pages: a quick first look
            return
        held = {pid: proportional(pid) for pid in pids}
        if sum(held.values()) <= self.limit_bytes:
            return
        victim = max((pid for pid in pids if pid != watched.namespace.init), key=held.__getitem__, default=None)
        if victim is None or not watched.namespace.holds(victim):
            return
        log.info("a sandbox holds %d MiB, over its %d MiB: killing its process %d (%d MiB)",
                 sum(held.values()) >> 20, self.limit_bytes >> 20, victim, held[victim] >> 20)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        watched.hit = True
        deadline = time.monotonic() + 1  # its memory is free once it is gone: count it no more
        while alive(victim) and time.monotonic() < deadline:
            time.sleep(0.01)
