"""Where the execute stage runs: on this machine, or on a Dask cluster.

Both take a sanitized notebook, with the files its student handed in beside
it, and give back an Execution; everything else (repair, scoring, the
gradebook) stays with the caller. A runner is used from several threads at
once, one submission per thread.

- LocalRunner takes its kernels from a KernelSource (autograder.sandbox:
  warm, cold or plain), chosen once for the run.
- DaskRunner sends the notebook's JSON (with the assignment's data files, and
  the student's own files as bytes) to a worker of a `dask.distributed`
  cluster, which runs it in its own warm sandbox and sends the executed JSON
  back.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import threading
from pathlib import Path

import nbformat

from ..sandbox import HandInFiles, KernelSource, Limits, SandboxSettings, kernel_source
from .execute import Execution, Timeouts, execute_notebook

MEMORY_SHARE = 0.8  # of the memory available, what sandboxes at their limit may fill


def default_workers(memory_bytes: int, cores: int | None = None, available: int | None = None) -> int:
    """One worker a core, as many as fit in memory with each kernel at its memory limit."""
    cores = cores if cores is not None else os.cpu_count() or 1
    available = available if available is not None else available_memory()
    fit = int(available * MEMORY_SHARE // memory_bytes) if available else cores
    return max(1, min(cores, fit))


def available_memory() -> int:
    """MemAvailable from /proc/meminfo in bytes; 0 where the host does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Runner:
    """Runs the execute stage for one grading run; closed when the run ends."""

    note = ""  # how kernels run, for the first line of `autograder grade`
    room = Limits.disk_bytes  # bytes a kernel's working folder holds: the most a hand-in's files may take

    def workers(self, limits: Limits) -> int:
        raise NotImplementedError

    def run(self, nb: nbformat.NotebookNode, files: HandInFiles | None = None) -> Execution:
        """`nb` run beside `files`, the student's own (HandInTooLarge, nothing run, when they do not fit)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalRunner(Runner):
    def __init__(self, kernels: KernelSource, timeouts: Timeouts, room: int = Limits.disk_bytes) -> None:
        self.kernels = kernels
        self.timeouts = timeouts
        self.room = room
        self.note = kernels.note

    def workers(self, limits: Limits) -> int:
        return default_workers(limits.memory_bytes)

    def run(self, nb: nbformat.NotebookNode, files: HandInFiles | None = None) -> Execution:
        return execute_notebook(nb, self.kernels, self.timeouts, files)

    def close(self) -> None:
        self.kernels.close()


class AtMost(Runner):
    """`runner`, running at most `count` notebooks at once: a thread beyond them waits here with its
    hand-in already read, repaired and sanitized, so that this work overlaps the kernels' instead of
    leaving a kernel idle while it is done."""

    def __init__(self, runner: Runner, count: int) -> None:
        self.runner = runner
        self.room, self.note = runner.room, runner.note
        self._slots = threading.BoundedSemaphore(count)

    def run(self, nb: nbformat.NotebookNode, files: HandInFiles | None = None) -> Execution:
        with self._slots:
            return self.runner.run(nb, files)


def _data_files(folder: Path | None) -> dict[str, bytes]:
    if folder is None:
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class DaskRunner(Runner):
    """The execute stage on a Dask cluster; the sandbox runs on the workers."""

    def __init__(self, address: str, timeouts: Timeouts, sandbox: SandboxSettings, data_dir: Path | None) -> None:
        from distributed import Client

        if not sandbox.enabled:
            raise ValueError("--dask runs student code on the workers, always in their sandbox: "
                             "drop --no-sandbox")
        self.client = Client(address, timeout="30s")
        self.timeouts, self.limits, self.preload = timeouts, sandbox.limits, sandbox.preload
        self.room = sandbox.limits.disk_bytes
        self.data = _data_files(data_dir)
        self.note = f"kernels: on the Dask cluster at {address}"

    def workers(self, limits: Limits) -> int:
        return sum(self.client.nthreads().values())

    def run(self, nb: nbformat.NotebookNode, files: HandInFiles | None = None) -> Execution:
        future = self.client.submit(execute_on_worker, nbformat.writes(nb), self.timeouts, self.limits,
                                    self.data, dict(files or {}), self.preload, pure=False)
        result = future.result()
        return Execution(nbformat.reads(result["notebook"], as_version=4), result["failure"],
                         result["flags"], result["seconds"], result["peak_memory"])

    def close(self) -> None:
        self.client.close()


# On a Dask worker: one warm sandbox per assignment's data and limits, kept
# for the worker's life, since the same assignment comes many times.
_worker_kernels: dict[tuple, KernelSource] = {}
_worker_lock = threading.Lock()


def warm_sandboxes_on_this_worker() -> int:
    """How many warm sandboxes this Dask worker keeps (for a person, or a test, to check)."""
    with _worker_lock:
        return len(_worker_kernels)


def _kernels_on_worker(limits: Limits, data: dict[str, bytes], preload: tuple[str, ...] = ()) -> KernelSource:
    digest = hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()[:16]
    folder = None
    if data:
        folder = Path(tempfile.gettempdir()) / f"autograder-data-{digest}"
        for name, content in data.items():
            path = folder / name
            if path.resolve().is_relative_to(folder.resolve()):  # names come from the instructor's machine
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
    key = (digest, limits, preload)
    with _worker_lock:
        if key not in _worker_kernels:
            kernels = kernel_source(SandboxSettings(limits=limits, preload=preload), folder)  # rootless where not root
            atexit.register(kernels.close)
            _worker_kernels[key] = kernels
        return _worker_kernels[key]


def execute_on_worker(nb_json: str, timeouts: Timeouts, limits: Limits, data: dict[str, bytes],
                      files: dict[str, bytes] | None = None, preload: tuple[str, ...] = ()) -> dict:
    """Runs on a Dask worker: JSON and the student's files in, JSON out (HandInTooLarge comes back
    to the caller as it was raised)."""
    execution = execute_notebook(nbformat.reads(nb_json, as_version=4), _kernels_on_worker(limits, data, preload),
                                 timeouts, files)
    return {"notebook": nbformat.writes(execution.notebook), "failure": execution.failure,
            "flags": execution.flags, "seconds": execution.seconds, "peak_memory": execution.peak_memory}
