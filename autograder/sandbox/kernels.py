"""The one interface between the execute stage and the ways of starting a
kernel: a source of kernels (`KernelSource`: plain, cold or warm) hands out
one started `Kernel` per submission, its working folder holding the files the
student handed in beside the notebooks with the assignment's on top, and the
kernel gives back what it held when released.

The execute stage knows nothing else about sandboxes; the backends live in
cold.py, warm.py (as root) and rootless.py, and `autograder.sandbox.kernel_source`
picks one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from jupyter_client import AsyncKernelClient, AsyncKernelManager
from jupyter_core.utils import run_sync

from .handed_in import HandInFiles, fit, stage

log = logging.getLogger(__name__)

# What nbclient gives a kernel it starts itself: no IPython history file.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
STARTUP_SECONDS = 60  # nbclient's own startup_timeout
# The kernelspec every source runs: this Python's ipykernel, whatever sandbox it is in.
KERNEL_NAME = "python3"
KERNEL_LANGUAGE = "python"  # of KERNEL_NAME: a notebook in another language is not run
# What `nbgrader autograde` sets for the notebook's code, which may test it.
# PYTHONSAFEPATH: `python -m ipykernel_launcher` must not import a handed-in file (a numpy.py, say) before
# the guard has taken its snapshot; the guard then puts the working folder on the path itself.
AUTOGRADE_ENVIRONMENT = {"NBGRADER_EXECUTION": "autograde", "PYTHONSAFEPATH": "1"}


class MemoryCap(Protocol):
    """What caps a sandbox's memory as a whole (a cgroup, or a watch where there is none)."""

    def out_of_memory(self) -> bool: ...

    def peak_bytes(self) -> int | None:
        """The most memory the sandbox held at once, where the cap can tell."""
        ...


class KernelStartFailed(RuntimeError):
    """No kernel could be started, so no student code ran: grade this submission again."""


class Kernel:
    """One submission's kernel: started, connected from the thread that runs the notebook,
    and released (killed, with everything its sandbox held) once."""

    def __init__(self, manager: AsyncKernelManager, release: Callable[[], None] = lambda: None,
                 memory: MemoryCap | None = None) -> None:
        self.manager = manager
        self.client: AsyncKernelClient | None = None
        self.memory = memory
        self._release = release

    def connect(self, timeout: float = STARTUP_SECONDS) -> AsyncKernelClient:
        """A client, ready: call it from the thread (event loop) that will use it."""
        client = self.manager.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=timeout)
        except RuntimeError as error:
            client.stop_channels()
            raise KernelStartFailed(f"the kernel did not answer ({error})") from error
        client.allow_stdin = False
        self.client = client
        return client

    def out_of_memory(self) -> bool:
        return self.memory is not None and self.memory.out_of_memory()

    def peak_memory(self) -> int | None:
        """Bytes: the most its sandbox held at once; None where nothing measures it (--no-sandbox)."""
        return self.memory.peak_bytes() if self.memory is not None else None

    def release(self) -> None:
        # The kernel may already be gone (it exited, crashed, or hit a limit): nothing else to do then.
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.stop_channels()
        with contextlib.suppress(Exception):
            if self.manager.has_kernel:
                run_sync(self.manager.shutdown_kernel)(now=True)
        with contextlib.suppress(Exception):
            run_sync(self.manager.cleanup_resources)()
        self._release()


class KernelSource(Protocol):
    """Where a runner gets its kernels: one per submission, from any thread."""

    note: str  # how kernels run and which limits hold, for the first line of `autograder grade`
    kernel_name: str  # the kernelspec its kernels are (KERNEL_NAME): a notebook made for another one is not run

    def start(self, files: HandInFiles | None = None) -> Kernel:
        """A started kernel whose working folder holds `files` (the student's, beside the notebooks:
        copied without following a link, before the kernel has the student's rights) and the
        assignment's files on top; HandInTooLarge, with nothing started, when they do not fit."""
        ...

    def close(self) -> None: ...


def start_manager(manager: AsyncKernelManager, release: Callable[[], None], **start_options) -> None:
    """Start the kernel process; on failure give back what was held and say why."""
    try:
        run_sync(manager.start_kernel)(extra_arguments=KERNEL_ARGUMENTS, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, **start_options)
    except Exception as error:
        with contextlib.suppress(Exception):
            run_sync(manager.cleanup_resources)()
        release()
        raise KernelStartFailed(str(error) or type(error).__name__) from error


class PlainKernels:
    """--no-sandbox: an ordinary kernel with the grader's rights, in a scratch folder
    holding a copy of the assignment's data files."""

    note = "kernels: plain, with your rights (--no-sandbox)"
    kernel_name = KERNEL_NAME

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir

    def start(self, files: HandInFiles | None = None) -> Kernel:
        kept = fit(files or {}, self.data_dir, None)
        workdir = Path(tempfile.mkdtemp(prefix="autograder-run-"))
        stage(kept, workdir)
        if self.data_dir:
            shutil.copytree(self.data_dir, workdir, dirs_exist_ok=True)

        def release() -> None:
            shutil.rmtree(workdir, ignore_errors=True)

        manager = AsyncKernelManager(kernel_name=KERNEL_NAME)
        start_manager(manager, release, cwd=str(workdir), env={**os.environ, **AUTOGRADE_ENVIRONMENT})
        return Kernel(manager, release)

    def close(self) -> None:
        pass
