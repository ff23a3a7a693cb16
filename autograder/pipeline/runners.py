"""Where the execute stage runs: on this machine, or on a Dask cluster.

Both take a sanitized notebook and give back an Execution; everything else
(repair, scoring, the gradebook) stays with the caller. A runner is used from
several threads at once, one submission per thread.

- LocalRunner forks each kernel from one warm sandbox (sandbox_pool.py), or
  starts a fresh sandboxed kernel per submission when warm kernels are off
  or cannot start here.
- DaskRunner sends the notebook's JSON (and the assignment's data files) to
  a worker of a `dask.distributed` cluster, which runs it in its own warm
  sandbox and sends the executed JSON back.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import nbformat

from ..sandbox.cold import bubblewrap
from ..sandbox.warm import WarmSandbox, WarmStartFailed
from .execute import ExecuteOptions, Execution, execute_notebook


def default_workers(memory_bytes: int) -> int:
    """One worker a core, as many as fit in memory with each kernel at its memory limit."""
    available = _available_memory()
    fit = int(available * 0.8 // memory_bytes) if available else os.cpu_count() or 1
    return max(1, min(os.cpu_count() or 1, fit))


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class LocalRunner:
    def __init__(self, options: ExecuteOptions, warm: bool = True) -> None:
        self.options = options
        self.warm: WarmSandbox | None = None
        self._restart = threading.Lock()
        self.note = "kernels: a new interpreter per submission"
        if options.sandbox and warm:
            try:
                self.warm = WarmSandbox(options.bwrap, options.limits, options.data_dir)
                self.note = "kernels: forked from a warm sandbox (torch already imported)"
            except (WarmStartFailed, OSError) as error:
                print(f"autograder: warm kernels are not available here ({error}); "
                      "each submission starts a fresh sandboxed kernel instead", file=sys.stderr)

    def run(self, nb: nbformat.NotebookNode) -> Execution:
        return execute_notebook(nb, self.options, self._living_sandbox())

    def _living_sandbox(self) -> WarmSandbox | None:
        """The warm sandbox, started again if its zygote died (killed by the host's OOM killer, say)."""
        with self._restart:
            if self.warm is not None and not self.warm.alive:
                self.warm.close()
                self.warm = WarmSandbox(self.options.bwrap, self.options.limits, self.options.data_dir)
            return self.warm

    def close(self) -> None:
        with self._restart:
            if self.warm is not None:
                self.warm.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _data_files(folder: Path | None) -> dict[str, bytes]:
    if folder is None:
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class DaskRunner:
    """The execute stage on a Dask cluster; the sandbox runs on the workers."""

    def __init__(self, address: str, options: ExecuteOptions) -> None:
        from distributed import Client

        if not options.sandbox:
            raise ValueError("--dask runs student code on the workers, always in their sandbox: "
                             "drop --no-sandbox")
        self.client = Client(address, timeout="30s")
        self.options = replace(options, bwrap=None, data_dir=None)  # the workers find their own
        self.data = _data_files(options.data_dir)
        self.note = f"kernels: on the Dask cluster at {address}"

    @property
    def threads(self) -> int:
        return sum(self.client.nthreads().values())

    def run(self, nb: nbformat.NotebookNode) -> Execution:
        future = self.client.submit(execute_on_worker, nbformat.writes(nb), self.options, self.data, pure=False)
        result = future.result()
        return Execution(nbformat.reads(result["notebook"], as_version=4), result["failure"],
                         result["flags"], result["seconds"])

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# On a Dask worker: one warm sandbox per assignment's data and limits, kept
# for the worker's life, since the same assignment comes many times.
_worker_sandboxes: dict[tuple, WarmSandbox] = {}
_worker_lock = threading.Lock()


def _worker_sandbox(options: ExecuteOptions, data: dict[str, bytes]) -> tuple[WarmSandbox, Path | None]:
    digest = hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()[:16]
    folder = None
    if data:
        folder = Path(tempfile.gettempdir()) / f"autograder-data-{digest}"
        for name, content in data.items():
            path = folder / name
            if path.resolve().is_relative_to(folder.resolve()):  # names come from the instructor's machine
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
    key = (digest, options.limits)
    with _worker_lock:
        if key not in _worker_sandboxes:
            sandbox = WarmSandbox(bubblewrap(), options.limits, folder)
            atexit.register(sandbox.close)
            _worker_sandboxes[key] = sandbox
        return _worker_sandboxes[key], folder


def execute_on_worker(nb_json: str, options: ExecuteOptions, data: dict[str, bytes]) -> dict:
    """Runs on a Dask worker: JSON in, JSON out."""
    sandbox, folder = _worker_sandbox(options, data)
    options = replace(options, bwrap=bubblewrap(), data_dir=folder)
    execution = execute_notebook(nbformat.reads(nb_json, as_version=4), options, sandbox)
    return {"notebook": nbformat.writes(execution.notebook), "failure": execution.failure,
            "flags": execution.flags, "seconds": execution.seconds}
