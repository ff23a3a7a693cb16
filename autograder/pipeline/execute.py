"""The execute stage: the only place student code runs.

The notebook stays here, in the trusted parent; nbclient sends the kernel one
cell at a time and keeps only what comes back as outputs. The kernel comes
from a KernelSource (plain, cold or warm: autograder.sandbox); this stage only
uses nbclient's public hooks: before each test cell the guard restores what
student code may have changed (guard.py), after it a failure the student hid
is put back in the output. Whatever stops the run (a crash, os._exit, a time
limit) is recorded, and every test that did not run gets an error output, so
it scores 0 and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field

import nbformat
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..cells import grade_id, is_test
from ..outcome import Flag
from ..sandbox import HandInFiles, KernelSource
from .guard import GuardSession

NOT_STARTED = "the kernel did not start, so no student code ran: grade this student again"


@dataclass(frozen=True)
class Timeouts:
    cell: int = 120  # seconds a cell may run, like nbgrader's Execute.timeout
    total: int = 600  # seconds the whole submission may run


@dataclass
class Execution:
    notebook: nbformat.NotebookNode
    failure: str | None = None  # why the run stopped early, for a person
    flags: list[Flag] = field(default_factory=list)
    seconds: float = 0.0
    peak_memory: int | None = None  # bytes its sandbox held at most, where measured

    @property
    def started(self) -> bool:
        """False when no kernel started (or took the grader's guard), so no student code ran.

        Read from the flag, which crosses a Dask cluster with the rest of the Execution."""
        return Flag(None, NOT_STARTED) not in self.flags


class KernelExited(DeadKernelError):
    """The student's code asked the kernel to exit: the run ends at that cell."""


def _error_output(name: str, text: str):
    return nbformat.v4.new_output("error", ename=name, evalue=text, traceback=[f"{name}: {text}"])


class GuardedRun:
    """nbclient's hooks for one submission: the guard around test cells, hidden
    failures shown, and a time budget for the whole run."""

    def __init__(self, guard: GuardSession, deadline: float, cell_timeout: int) -> None:
        self.guard = guard
        self.deadline = deadline
        self.cell_timeout = cell_timeout
        self.client: NotebookClient | None = None
        self.installed = False
        self.current: int | None = None  # index of the cell running, once one has started
        self.flags: list[Flag] = []

    def hooks(self) -> dict:
        return {"on_cell_execute": self.before_cell, "on_cell_executed": self.after_cell,
                "timeout_func": self.timeout_for}

    def timeout_for(self, cell) -> int:
        return max(1, int(min(self.cell_timeout, self.deadline - time.monotonic())))

    async def _silent(self, code: str, expressions: dict | None = None, seconds: float | None = None) -> dict:
        """The grader's own request, bounded like a cell: student code can make the kernel stall it."""
        kc = self.client.kc
        msg_id = kc.execute(code, silent=True, store_history=False, user_expressions=expressions or {})
        try:
            reply = await asyncio.wait_for(self.client.async_wait_for_reply(msg_id), seconds or self.timeout_for(None))
        except asyncio.TimeoutError:
            raise CellTimeoutError("the kernel did not answer the grader in time") from None
        return reply["content"] if reply else {}

    async def _check_guard(self, cell) -> None:
        content = await self._silent("", {"guard": self.guard.restore_expression()})
        trusted, changed = self.guard.read_answer(content)
        if not trusted:
            self.flags.append(Flag(grade_id(cell), "the grader could not check the kernel before this test: "
                                   "student code took over how cells run, so the result cannot be trusted"))
        elif changed:
            self.flags.append(Flag(grade_id(cell), "student code had changed what tests rely on ("
                                   + ", ".join(changed[:8]) + (", ..." if len(changed) > 8 else "")
                                   + "); the grader put it back before this test"))

    async def before_cell(self, cell, cell_index: int) -> None:
        if not self.installed:  # before `current` is set: a kernel that fails here ran no student code
            # importing torch & co. for the snapshot may take longer than a cell may: the whole budget
            content = await self._silent(self.guard.install_code(), seconds=max(1.0, self.deadline - time.monotonic()))
            if content.get("status") != "ok":
                raise RuntimeError(f"the grader could not prepare the kernel: {content.get('evalue', content)}")
            self.installed = True
        self.current = cell_index
        if self.deadline - time.monotonic() <= 0:
            raise CellTimeoutError("the submission ran out of time")
        if is_test(cell):
            await self._check_guard(cell)

    async def after_cell(self, cell, cell_index: int, execute_reply: dict) -> None:
        content = execute_reply["content"] if execute_reply else {}
        payloads = content.get("payload") or []
        if any(isinstance(p, dict) and p.get("source") == "ask_exit" and not p.get("keepkernel") for p in payloads):
            # exit() or quit(): ipykernel stops a tenth of a second later, so whether the next
            # cells would still run depends on their speed. They do not, whatever the speed.
            raise KernelExited("the code asked the kernel to exit (exit() or quit())")
        if not is_test(cell):
            return
        # A test that failed must show its error: student code can hide the traceback
        # (IPython's showtraceback, custom exception handlers), and nbgrader scores a
        # test by its outputs alone.
        if content.get("status") == "error" and not any(o.output_type == "error" for o in cell.outputs):
            cell.outputs.append(_error_output(content.get("ename", "Error"), content.get("evalue", "")))
            self.flags.append(Flag(grade_id(cell), "the test failed but its error was hidden from the output"))
        await self._check_guard(cell)  # code the test called may have patched things while it ran


def _mark_not_run(nb, start: int, reason: str) -> None:
    """Every test from `start` on scores 0, with the reason in its output."""
    for cell in nb.cells[start:]:
        if is_test(cell) and not any(o.output_type == "error" for o in cell.get("outputs", [])):
            cell.outputs = [*cell.get("outputs", []), _error_output("NotRun", reason)]


def _not_started(nb, error: Exception, started: float) -> Execution:
    failure = f"the run stopped before the first cell: the kernel could not start ({error})"
    _mark_not_run(nb, 0, f"not graded: {failure}")
    return Execution(nb, failure, [Flag(None, NOT_STARTED)], time.monotonic() - started)


def execute_notebook(nb: nbformat.NotebookNode, kernels: KernelSource, timeouts: Timeouts,
                     files: HandInFiles | None = None) -> Execution:
    """Run a sanitized notebook top to bottom in a kernel from `kernels`, beside `files` (what the
    student handed in with it); never raises for what student code does. HandInTooLarge, with
    nothing run, when the files do not fit in the sandbox."""
    started = time.monotonic()
    try:
        # a source made before hand-ins carried files (a test's own, say) is asked as it was
        kernel = kernels.start(files)
    except (OSError, RuntimeError) as error:  # KernelStartFailed, no free uid, ...
        return _not_started(nb, error, started)
    run = GuardedRun(GuardSession(), started + timeouts.total, timeouts.cell)
    failure = None
    try:
        # timeout bounds nbclient's own waits outside cells; no tag a student can set skips a cell
        client = NotebookClient(nb, km=kernel.manager, allow_errors=True, interrupt_on_timeout=False,
                                record_timing=False, timeout=timeouts.cell, skip_cells_with_tag=secrets.token_hex(16),
                                **run.hooks())
        run.client = client
        client.kc = kernel.connect()
        client.execute()
    except CellTimeoutError:
        limit = "the whole submission's" if time.monotonic() - started >= timeouts.total - 1 else "a cell's"
        failure = (f"cell {run.current} ran past {limit} time limit and was stopped" if run.current is not None
                   else f"the kernel was not ready before {limit} time limit ran out")
    except DeadKernelError as error:
        where = f"while running cell {run.current}" if run.current is not None else "before the first cell"
        cause = ("it went over the sandbox's memory limit" if kernel.out_of_memory()
                 else str(error) if isinstance(error, KernelExited)
                 else "the code exited the kernel, crashed it, or went over a limit" if run.current is not None
                 else "it crashed or went over a limit as it started")
        failure = f"the kernel died {where} ({cause})"
    except (RuntimeError, asyncio.TimeoutError, OSError) as error:
        where = f"at cell {run.current}" if run.current is not None else "before the first cell"
        failure = f"the run stopped {where}: {error}"
    finally:
        peak_memory = kernel.peak_memory()  # before its sandbox goes
        kernel.release()
        _cancel_leftover_tasks()
    if failure is not None:
        _mark_not_run(nb, run.current or 0, f"not graded: {failure}")
        if run.current is None:
            run.flags.append(Flag(None, NOT_STARTED))
    return Execution(nb, failure, run.flags, time.monotonic() - started, peak_memory)


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
