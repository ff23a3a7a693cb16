"""Where one warm submission's time goes, stage by stage.

Grades K honest hand-ins of one assignment with one warm worker (what
`autograder grade --workers 1` does, in this process), timing each stage of
the pipeline around the functions that do it:

  read        reading the hand-in (read_submission)
  repair      repair_submission, against the release notebook
  sanitize    nbgrader's sanitizing preprocessors, then the scan
  files       reading the files handed in beside the notebook
  kernel      a kernel for the submission: fork from the warm sandbox (or the spare), uid, cgroup
  connect     the client's channels and its wait for the kernel's first reply
  install     the guard's snapshot, installed before the first cell
  cells       the notebook's own cells, as the kernel runs them
  guard       the guard's checks before and after each test cell
  nbclient    the rest of the execute stage: nbclient's own work between and around cells
  score       nbgrader's output filters and determine_grade
  present     student HTML made inert, size bounded
  record      autograded/ files, the gradebook transaction, the late penalty, file owners

one hand-in at a time: `grade` prepares the next hand-in while a kernel runs
(one thread more than kernels), and stages that overlap would each count the
time they wait for the other (--overlap times them so). It prints a table of
seconds a notebook and shares, with the floor (the same
cells in a warm interpreter, as grade_speed.py measures it) beside it; with
--cells, each cell's seconds in the kernel against the floor's. The first
submission is left out: it pays for what a run pays once. Needs root.

    sudo .venv/bin/python bench/grade_profile.py [--assignment 03_accumulation] [--count 12] [--cells]
"""

from __future__ import annotations

import argparse
import collections
import functools
import itertools
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from grade_speed import build_course, floor_seconds

from autograder.course.topics import REPO_ROOT
from autograder.coursedir import open_course
from autograder.pipeline import execute, grade, runners
from autograder.pipeline.grade import GradeOptions
from autograder.sandbox import kernels

STAGES = ("read", "repair", "sanitize", "files", "kernel", "connect", "install", "cells", "guard", "nbclient",
          "score", "present", "record")


class Profile:
    """Seconds by stage, for the notebook being graded (one worker: one at a time)."""

    def __init__(self) -> None:
        self.notebooks: list[dict[str, float]] = []
        self.current: dict[str, float] = collections.defaultdict(float)
        self.cell_started: float | None = None

    def add(self, stage: str, seconds: float) -> None:
        self.current[stage] += seconds

    def timed(self, stage: str, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - started)
        return wrapper

    def async_timed(self, stage: str, function):
        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - started)
        return wrapper

    def next_notebook(self) -> None:
        self.notebooks.append(dict(self.current))
        self.current = collections.defaultdict(float)


def instrument(profile: Profile) -> None:
    """Wrap the functions each stage calls, where the pipeline looks them up."""
    for stage, name in (("read", "read_submission"), ("repair", "repair_submission"), ("sanitize", "sanitize"),
                        ("sanitize", "scan_flags"), ("files", "read_files"), ("score", "score"),
                        ("present", "present")):
        setattr(grade, name, profile.timed(stage, getattr(grade, name)))
    grade.record = profile.timed("record", grade.record)
    kernels.Kernel.connect = profile.timed("connect", kernels.Kernel.connect)

    run_execute = execute.execute_notebook

    def execute_notebook(nb, source, timeouts, files=None):
        source.start = profile.timed("kernel", type(source).start.__get__(source))
        started = time.perf_counter()
        try:
            return run_execute(nb, source, timeouts, files)
        finally:
            profile.add("execute", time.perf_counter() - started)

    runners.execute_notebook = execute_notebook

    guarded = execute.GuardedRun
    silent = guarded._silent

    async def timed_silent(self, code, expressions=None, seconds=None):
        started = time.perf_counter()
        try:
            return await silent(self, code, expressions, seconds)
        finally:
            profile.add("guard" if expressions else "install", time.perf_counter() - started)

    guarded._silent = timed_silent
    before, after = guarded.before_cell, guarded.after_cell

    async def before_cell(self, cell, cell_index):
        await before(self, cell, cell_index)
        profile.cell_started = time.perf_counter()

    async def after_cell(self, cell, cell_index, execute_reply):
        seconds = time.perf_counter() - profile.cell_started
        profile.add("cells", seconds)
        profile.add(f"cell {cell_index}", seconds)
        await after(self, cell, cell_index, execute_reply)

    guarded.before_cell, guarded.after_cell = before_cell, after_cell


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="03_accumulation")
    parser.add_argument("--count", type=int, default=12, help="hand-ins (default 12; the first is left out)")
    parser.add_argument("--cells", action="store_true", help="also each cell's seconds, against the floor's")
    parser.add_argument("--overlap", action="store_true", help="as grade runs: the next hand-in prepared meanwhile")
    args = parser.parse_args()
    profile = Profile()
    instrument(profile)
    if not args.overlap:  # one thread: each stage's own time, none spent waiting for another's
        grade.ThreadPoolExecutor = lambda workers, **kwargs: ThreadPoolExecutor(1, **kwargs)
    done_at = []

    with tempfile.TemporaryDirectory(prefix="grade-profile-") as scratch:
        course_root, _ = build_course(Path(scratch), args.assignment, args.count)
        course = open_course(course_root)
        wall = time.perf_counter()
        outcomes = grade.grade_assignment(course, args.assignment, GradeOptions(workers=1),
                                          on_done=lambda _: (profile.next_notebook(), done_at.append(time.perf_counter())))
        wall = time.perf_counter() - wall
        floor = floor_seconds(args.assignment, 5)
    problems = [(o.student, n.name, n.failure or n.ungraded or n.flags or "not full marks")
                for o in outcomes for n in o.notebooks
                if n.failure or n.ungraded or n.flags or any(s.auto_score != s.max_score
                                                             for s in n.scores if s.auto_score is not None)]
    if problems:
        sys.exit(f"the profile is of an honest class, yet: {problems[:3]}")

    kept = profile.notebooks[1:]
    stages = {*STAGES, "execute", *(k for n in kept for k in n if k.startswith("cell "))}
    mean = {stage: sum(n.get(stage, 0.0) for n in kept) / len(kept) for stage in stages}
    inside = sum(mean[s] for s in ("kernel", "connect", "install", "cells", "guard"))
    mean["nbclient"] = max(0.0, mean.pop("execute") - inside)
    total = sum(mean[s] for s in STAGES)
    print(f"\n{args.count} hand-ins of {args.assignment}, one warm worker: {wall:.1f} s in all; "
          f"per hand-in after the first, {total:.3f} s in the stages below\n")
    print(f"{'stage':<10} {'s/notebook':>11} {'share':>7}")
    for stage in STAGES:
        print(f"{stage:<10} {mean[stage]:>11.3f} {mean[stage] / total:>6.1%}")
    print(f"{'total':<10} {total:>11.3f}")
    between = statistics.median(b - a for a, b in itertools.pairwise(done_at[1:]))
    print(f"\none hand-in recorded every {between:.3f} s (median), the stages of one overlapping the next's"
          if args.overlap else f"\none hand-in recorded every {between:.3f} s (median), one at a time")
    print(f"\nfloor (the cells in a warm interpreter): {floor.seconds:.3f} s; total / floor = "
          f"{total / floor.seconds:.2f}x ({floor.as_first_measured:.3f} s and {total / floor.as_first_measured:.2f}x "
          "as first measured, with %reset and a new client)")
    if args.cells:
        print(f"\n{'cell':>5} {'kernel s':>9} {'floor s':>8}  first line")
        source = nbformat.read(next((REPO_ROOT / "source" / args.assignment).glob("*.ipynb")), as_version=4)
        for index in sorted(int(k.split()[1]) for k in mean if k.startswith("cell ")):
            line = source.cells[index].source.strip().splitlines()[0][:60]
            print(f"{index:>5} {mean[f'cell {index}']:>9.3f} {floor.cells.get(index, float('nan')):>8.3f}  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
