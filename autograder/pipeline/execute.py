"""The execute stage: the only place student code runs.

The notebook stays here, in the trusted parent; nbclient sends the kernel
one cell at a time and keeps only what comes back as outputs. Before each
test cell the guard restores what student code may have changed (guard.py).
Whatever stops the run (a crash, os._exit, a time limit) is recorded, and
every test that did not run gets an error output, so it scores 0 and says why.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_event_loop, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.utils import is_grade, is_solution

from ..sandbox.cold import Limits, plain_kernel_manager, sandboxed_kernel_manager
from ..sandbox.warm import WarmSandbox, WarmStartFailed
from .guard import GuardSession


@dataclass
class ExecuteOptions:
    cell_timeout: int = 120  # seconds a cell may run, like nbgrader's Execute.timeout
    total_timeout: int = 600  # seconds the whole submission may run
    sandbox: bool = True
    bwrap: str | None = None  # path of bubblewrap, when sandbox is True
    limits: Limits = field(default_factory=Limits)
    data_dir: Path | None = None  # the assignment's data files, copied into the kernel's folder


@dataclass
class Execution:
    notebook: nbformat.NotebookNode
    failure: str | None = None  # why the run stopped early, for a person
    flags: dict[str, list[str]] = field(default_factory=dict)  # grade_id -> reasons
    seconds: float = 0.0


def is_test_cell(cell) -> bool:
    """An autograded test: a graded code cell that is not the student's answer."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def _grade_id(cell) -> str:
    return cell.metadata["nbgrader"]["grade_id"]


def _error_output(name: str, text: str):
    return nbformat.v4.new_output("error", ename=name, evalue=text, traceback=[f"{name}: {text}"])


class GuardedClient(NotebookClient):
    """nbclient with the guard run before every test cell and a budget for the whole run."""

    def __init__(self, nb, km, guard: GuardSession | None, deadline: float, **kwargs):
        super().__init__(nb, km=km, **kwargs)
        self.guard = guard
        self.deadline = deadline
        self.installed = False
        self.current: int | None = None
        self.flags: dict[str, list[str]] = {}

    def flag(self, grade_id: str, reason: str) -> None:
        self.flags.setdefault(grade_id, []).append(reason)

    async def _silent(self, code: str, expressions: dict | None = None) -> dict:
        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions=expressions or {})
        reply = await self.async_wait_for_reply(msg_id)
        return reply["content"] if reply else {}

    async def _install_guard(self) -> None:
        content = await self._silent(self.guard.install_code())
        if content.get("status") != "ok":
            raise RuntimeError(f"the grader could not prepare the kernel: {content.get('evalue', content)}")

    async def _check_guard(self, cell) -> None:
        content = await self._silent("", {"guard": self.guard.restore_expression()})
        trusted, changed = self.guard.read_answer(content)
        if not trusted:
            self.flag(_grade_id(cell), "the grader could not check the kernel before this test: student code "
                                       "took over how cells run, so the result cannot be trusted")
        elif changed:
            self.flag(_grade_id(cell), "student code had changed what tests rely on ("
                      + ", ".join(changed[:8]) + (", ..." if len(changed) > 8 else "")
                      + "); the grader put it back before this test")

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self.current = cell_index
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CellTimeoutError("the submission ran out of time")
        self.timeout = max(1, int(min(self.timeout, left)))
        if self.guard is not None and cell.cell_type == "code":
            if not self.installed:
                await self._install_guard()
                self.installed = True
            if is_test_cell(cell):
                await self._check_guard(cell)
        cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self.guard is not None and is_test_cell(cell):
            # code the test called may have patched things while the test ran
            await self._check_guard(cell)
        return cell

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        # A test that failed must show its error: student code can hide the
        # traceback (IPython's showtraceback, custom exception handlers), and
        # nbgrader scores a test by its outputs alone.
        failed = exec_reply and exec_reply["content"].get("status") == "error"
        if failed and is_test_cell(cell) and not any(o.output_type == "error" for o in cell.outputs):
            content = exec_reply["content"]
            cell.outputs.append(_error_output(content.get("ename", "Error"), content.get("evalue", "")))
            self.flag(_grade_id(cell), "the test failed but its error was hidden from the output")
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)


def _mark_not_run(nb, start: int, reason: str) -> None:
    """Every test from `start` on scores 0, with the reason in its output."""
    for cell in nb.cells[start:]:
        if is_test_cell(cell) and not any(o.output_type == "error" for o in cell.get("outputs", [])):
            cell.outputs = [*cell.get("outputs", []), _error_output("NotRun", reason)]


def _kernel_manager(options: ExecuteOptions, warm: WarmSandbox | None, scratch: Path):
    if warm is not None:
        return warm.kernel()
    if options.sandbox:
        return sandboxed_kernel_manager(options.data_dir, options.limits, options.bwrap)
    if options.data_dir:
        shutil.copytree(options.data_dir, scratch, dirs_exist_ok=True)
    return plain_kernel_manager(scratch)


def execute_notebook(nb: nbformat.NotebookNode, options: ExecuteOptions,
                     warm: WarmSandbox | None = None) -> Execution:
    """Run a sanitized notebook top to bottom; never raises for what student code does.

    With `warm`, the kernel is forked from that warm sandbox (sandbox_pool.py);
    without, a new sandboxed kernel starts (or, with sandbox=False, a plain one)."""
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="autograder-run-"))
    try:
        km = _kernel_manager(options, warm, scratch)
    except (WarmStartFailed, OSError, RuntimeError) as error:
        shutil.rmtree(scratch, ignore_errors=True)
        failure = f"the run stopped before the first cell: the kernel could not start ({error})"
        _mark_not_run(nb, 0, f"not graded: {failure}")
        flags = {"": ["the kernel did not start, so no student code ran: grade this student again"]}
        return Execution(nb, failure, flags, time.monotonic() - started)
    client = GuardedClient(
        nb, km, GuardSession(), started + options.total_timeout,
        timeout=options.cell_timeout, allow_errors=True, interrupt_on_timeout=False,
        kernel_name="python3", resources={"metadata": {"path": str(scratch)}},
        record_timing=False,
    )
    failure = None
    try:
        client.execute(cleanup_kc=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except CellTimeoutError:
        limit = "the whole submission's" if time.monotonic() - started >= options.total_timeout - 1 else "a cell's"
        failure = f"cell {client.current} ran past {limit} time limit and was stopped"
    except DeadKernelError:
        cause = ("it went over the sandbox's memory limit" if _out_of_memory(km)
                 else "the code exited the kernel, crashed it, or went over a limit")
        failure = f"the kernel died while running cell {client.current} ({cause})"
    except (RuntimeError, asyncio.TimeoutError, OSError) as error:
        where = f"at cell {client.current}" if client.current is not None else "before the first cell"
        failure = f"the run stopped {where}: {error}"
    finally:
        # nbclient leaves an exit handler behind when the kernel failed to start
        atexit.unregister(client._cleanup_kernel)
        _shutdown(km)
        km.release_sandbox()
        shutil.rmtree(scratch, ignore_errors=True)
        _cancel_leftover_tasks()
    if failure is not None:
        _mark_not_run(nb, client.current or 0, f"not graded: {failure}")
        if client.current is None:
            client.flag("", "the kernel did not start, so no student code ran: grade this student again")
    return Execution(nb, failure, client.flags, time.monotonic() - started)


def _cancel_leftover_tasks() -> None:
    """A cell stopped at its time limit leaves nbclient's output reader pending in this
    thread's event loop; finish it now rather than have asyncio complain at exit."""
    with contextlib.suppress(RuntimeError):
        loop = ensure_event_loop()
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _out_of_memory(km) -> bool:
    cgroup = getattr(km, "cgroup", None)
    return bool(cgroup and cgroup.out_of_memory())


def _shutdown(km) -> None:
    # The kernel may already be gone (it exited, crashed, or hit a limit): nothing else to do then.
    with contextlib.suppress(Exception):
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    with contextlib.suppress(Exception):
        run_sync(km.cleanup_resources)()
