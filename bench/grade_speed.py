"""How fast `autograder grade` is against `nbgrader autograde`, on the same hand-ins, in one run.

Builds K honest hand-ins of one assignment (the release with the instructor's
answers written in, handed in by K students: every tool must give every one
full marks on the tests), then times, each on a fresh copy of the course:

  nbgrader     `nbgrader autograde ASSIGNMENT` as plain nbgrader runs it (a new kernel per notebook, no sandbox)
  cold 1       `autograder grade --workers 1 --cold` (a new sandboxed interpreter per notebook)
  warm 1       `autograder grade --workers 1` (kernels forked from a warm sandbox)
  warm 2       `autograder grade --workers 2`
  dask 2       `autograder grade --dask ADDRESS`, a Dask cluster of 2 one-thread workers on 127.0.0.1
  floor        the same cells in one already-warm interpreter, which has run them once, through one
               client kept connected: the cells and nbclient's handling of them, nothing else

and prints notebooks a minute, seconds a notebook, the ratios, the peak memory of
each warm kernel's sandbox (its own pages: what it shares with the warm parent
is the parent's), and whether the scores agree. Seconds a notebook "once
started" leave out what a run pays once (starting Python, the warm sandbox):
warm 1 is timed again on a fifth of the class, and the difference is divided by
the students left out. With --large N, a class of N hand-ins is then graded
end to end by `autograder grade` alone (its default workers), with the
machine's memory in use sampled throughout.

Targets (2 cores): warm 2 at least 8x nbgrader's throughput; warm 1's seconds a
notebook, once started, within 1.3x of the floor. Needs root (the sandbox).

    sudo .venv/bin/python bench/grade_speed.py [--assignment 03_accumulation] [--count 30] [--large 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from autograder.cells import grade_id, is_answer
from autograder.course.release import generate_release, hand_in, make_scratch_course
from autograder.course.topics import REPO_ROOT

THROUGHPUT_TARGET = 8.0
FLOOR_TARGET = 1.3


def solved(release: Path, source: Path) -> nbformat.NotebookNode:
    """The release notebook with the instructor's answers written in, as an honest student hands it in:
    the release's test cells (no hidden tests), answer cells without the solution markers."""
    answers = {grade_id(c): c.source for c in nbformat.read(source, as_version=4).cells if grade_id(c)}
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if is_answer(cell) and grade_id(cell) in answers:
            cell.source = "\n".join(line for line in answers[grade_id(cell)].splitlines()
                                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return nb


def build_course(root: Path, assignment: str, count: int) -> tuple[Path, list[str]]:
    course = make_scratch_course(root / "course", [assignment])
    release = generate_release(course, assignment)
    answered = root / "answered"
    answered.mkdir()
    for path in sorted(release.glob("*.ipynb")):
        nbformat.write(solved(path, REPO_ROOT / "source" / assignment / path.name), answered / path.name)
    students = [f"student{n:03d}" for n in range(count)]
    for student in students:
        hand_in(course, student, assignment, sorted(answered.glob("*.ipynb")))
    return course, students


def fresh_copy(course: Path, name: str) -> Path:
    copy = course.parent / name
    shutil.copytree(course, copy)
    return copy


def plain_nbgrader(course: Path) -> None:
    """nbgrader's own autograde, as other courses run it: without this course's sandboxed hooks."""
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nfor name in ('autograde_preprocessors', 'exporter_class'):\n"
                     "    c.Autograde.pop(name, None)\n")


def scores(course: Path, assignment: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(assignment).submissions}


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"  # nbgrader runs alembic from PATH
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": path})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds


@dataclass
class Floor:
    seconds: float  # a notebook, median: the cells in a warm interpreter, one client kept connected
    as_first_measured: float  # the same with what the first measure also timed: %reset, a new client
    cells: dict[int, float]  # cell index -> seconds, median, in the strict measure


def floor_seconds(assignment: str, count: int) -> Floor:
    """Median time to run one notebook's cells in a kernel that has already imported everything and run
    them once (the first run, which pays for torch's lazy imports, is left out), with one client
    connected for the whole measure, over the same transport as the grader's kernels (ipc): only
    the cells and nbclient's handling of each, nothing a kernel costs. Also timed, for comparison,
    as the issue first measured it: %reset (0.2 s, a full garbage collection) and a new client
    (which waits for 0.2 s of silence) counted in."""
    with tempfile.TemporaryDirectory(prefix="floor-") as sockets:
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
        run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"])
        warm_up = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import torch, numpy, matplotlib, matplotlib.pyplot")])
        kc = km.client()
        kc.start_channels()

        def run(nb, client_kept: bool, cells: dict | None = None) -> float:
            started, hooks = {}, {}
            if cells is not None:
                hooks = {"on_cell_execute": lambda cell, cell_index: started.update({cell_index: time.perf_counter()}),
                         "on_cell_executed": lambda cell, cell_index, execute_reply: cells.setdefault(
                             cell_index, []).append(time.perf_counter() - started[cell_index])}
            client = NotebookClient(nb, km=km, allow_errors=False, **hooks)
            if client_kept:
                client.kc = kc  # connected once: nbclient would wait for a new client to be ready
            began = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - began
            return seconds

        def reset():
            return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
                "%reset -f\nimport matplotlib.pyplot as plt\nplt.close('all')")])

        try:
            run_sync(kc.wait_for_ready)(timeout=60)
            strict, first, cells = [], [], {}
            paths = sorted((REPO_ROOT / "source" / assignment).glob("*.ipynb"))
            run(warm_up, True)
            for path in [*paths, *paths * count]:
                warm = len(strict) >= len(paths)  # the first pass pays for lazy imports: not counted
                run(reset(), True)
                strict.append(run(nbformat.read(path, as_version=4), True, cells if warm else None))
            kc.stop_channels()
            for path in paths * count:  # then as first measured: a client of nbclient's own each time
                with_reset = reset()
                with_reset.cells += nbformat.read(path, as_version=4).cells
                first.append(run(with_reset, False))
            return Floor(statistics.median(strict[len(paths):]), statistics.median(first),
                         {i: statistics.median(t) for i, t in cells.items()})
        finally:
            kc.stop_channels()
            run_sync(km.shutdown_kernel)(now=True)


def kernel_peaks(course: Path, assignment: str) -> list[int]:
    """Each notebook's peak sandbox memory, as the grader wrote it in autograder.json."""
    found = []
    for report in course.glob(f"autograded/*/{assignment}/autograder.json"):
        found += [nb["peak_memory"] for nb in json.loads(report.read_text())["notebooks"] if nb.get("peak_memory")]
    return found


class MemorySampler:
    """The machine's memory in use (MemTotal - MemAvailable), sampled while a run goes on."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.baseline = self.used()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def used() -> int:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) * 1024

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.used())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def mib(size: float) -> str:
    return f"{size / 2 ** 20:.0f} MiB"


def large_class(assignment: str, count: int, nbgrader_per_notebook: float) -> None:
    """A class of `count` hand-ins graded end to end by `autograder grade` alone."""
    command = [sys.executable, "-m", "autograder", "grade", assignment]
    with tempfile.TemporaryDirectory(prefix="grade-speed-large-") as scratch:
        course, _ = build_course(Path(scratch), assignment, count)
        print(f"\ntiming a class of {count}: autograder grade {assignment} ...", flush=True)
        with MemorySampler() as memory:
            wall = timed(command, course)
        got = scores(course, assignment)
        peaks = sorted(kernel_peaks(course, assignment))
    full = len(got) == count and len(set(got.values())) == 1
    print(f"{count} hand-ins in {wall:.1f} s: {count / wall * 60:.1f} a minute, {wall / count:.2f} s each; "
          f"nbgrader at its rate above would take {nbgrader_per_notebook * count:.0f} s "
          f"({nbgrader_per_notebook * count / wall:.1f}x); every hand-in the same score: {full}")
    if peaks:
        print(f"peak memory of a kernel's sandbox: median {mib(statistics.median(peaks))}, "
              f"largest {mib(peaks[-1])}; the machine's memory in use rose by at most "
              f"{mib(memory.peak - memory.baseline)} during the run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="03_accumulation")
    parser.add_argument("--count", type=int, default=30, help="hand-ins timed side by side (default 30)")
    parser.add_argument("--large", type=int, default=0, help="then a class of this many, ours alone (default: none)")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask cluster")
    args = parser.parse_args()
    autograder = [sys.executable, "-m", "autograder", "grade", args.assignment]
    nbgrader = [str(Path(sys.executable).with_name("nbgrader")), "autograde", args.assignment, "--force"]

    with tempfile.TemporaryDirectory(prefix="grade-speed-") as scratch, contextlib.ExitStack() as stack:
        course, students = build_course(Path(scratch), args.assignment, args.count)
        few = students[: max(2, args.count // 5)]
        runs = {
            "nbgrader": nbgrader,
            "cold 1": [*autograder, "--workers", "1", "--cold"],
            "warm 1": [*autograder, "--workers", "1"],
            "warm 2": [*autograder, "--workers", "2"],
            # the same with fewer students: what start-up costs, once, besides the notebooks
            "warm 1 few": [*autograder, "--workers", "1", *[f"--student={s}" for s in few]],
        }
        if not args.no_dask:
            sys.path.insert(0, str(REPO_ROOT / "tests"))
            from services import dask_cluster  # the test suite's: scheduler and workers on 127.0.0.1

            runs["dask 2"] = [*autograder, "--dask", stack.enter_context(dask_cluster(2))]
        seconds, agreed, peaks = {}, {}, {}
        for name, command in runs.items():
            copy = fresh_copy(course, name.replace(" ", "-"))
            if name == "nbgrader":
                plain_nbgrader(copy)
            print(f"timing {name}: {' '.join(command[1:] if name != 'nbgrader' else command)} ...", flush=True)
            seconds[name] = timed(command, copy)
            agreed[name] = scores(copy, args.assignment)
            peaks[name] = kernel_peaks(copy, args.assignment)
        measured = floor_seconds(args.assignment, min(args.count, 5))
        floor = measured.seconds
    few_seconds = seconds.pop("warm 1 few")
    agreed.pop("warm 1 few")
    marginal = (seconds["warm 1"] - few_seconds) / (args.count - len(few))

    full = agreed["nbgrader"]
    print(f"\n{args.count} hand-ins of {args.assignment}; floor (warm interpreter, cells only): {floor:.2f} s a "
          f"notebook ({measured.as_first_measured:.2f} s as first measured, with %reset and a new client)\n")
    print(f"{'run':<10} {'wall s':>8} {'nb/min':>8} {'s/nb':>7} {'x nbgrader':>11} {'x floor':>8} "
          f"{'kernel peak':>12}  scores")
    for name, wall in seconds.items():
        workers = 1 if name in ("nbgrader", "cold 1", "warm 1") else 2
        per_notebook = wall / args.count  # wall clock a notebook, as the class experiences it
        cost = per_notebook * workers  # core-seconds a notebook
        same = "same as nbgrader" if agreed[name] == full else "DIFFERENT"
        peak = mib(statistics.median(peaks[name])) if peaks[name] else "-"
        print(f"{name:<10} {wall:>8.1f} {60 / per_notebook:>8.1f} {per_notebook:>7.2f} "
              f"{seconds['nbgrader'] / wall:>10.1f}x {cost / floor:>7.1f}x {peak:>12}  {same}")
    ratio = seconds["nbgrader"] / seconds["warm 2"]
    print(f"\nthroughput, 2 workers vs nbgrader: {ratio:.1f}x (target >= {THROUGHPUT_TARGET:.0f}x)")
    print(f"1 -> 2 workers: {seconds['warm 1'] / seconds['warm 2']:.2f}x the throughput")
    print(f"seconds a notebook, 1 warm worker, once started: {marginal:.2f} = {marginal / floor:.2f}x the floor, "
          f"{marginal / measured.as_first_measured:.2f}x the floor as first measured (target <= {FLOOR_TARGET}x; "
          f"start-up, once a run: {seconds['warm 1'] - marginal * args.count:.1f} s)")
    all_full = len(set(full.values())) == 1 and len(full) == args.count
    print(f"every run gave every student {next(iter(full.values())):g} points: "
          f"{all_full and all(a == full for a in agreed.values())}")
    if args.large:
        large_class(args.assignment, args.large, seconds["nbgrader"] / args.count)
    met = ratio >= THROUGHPUT_TARGET and marginal / floor <= FLOOR_TARGET and all(a == full for a in agreed.values())
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
