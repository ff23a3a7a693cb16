"""How fast `autograder grade` is against `nbgrader autograde`, on the same hand-ins, in one run.

Builds K honest submissions of one assignment (the instructor's solution,
handed in by K students: every tool must give every one full marks), then
times, each on a fresh copy of the course:

  nbgrader     `nbgrader autograde ASSIGNMENT` as plain nbgrader runs it (a new kernel per notebook, no sandbox)
  cold 1       `autograder grade --workers 1 --cold` (a new sandboxed interpreter per notebook)
  warm 1       `autograder grade --workers 1` (kernels forked from a warm sandbox)
  warm 2       `autograder grade --workers 2`
  floor        the same cells run in one already-warm interpreter (reset between notebooks)

and prints notebooks a minute, seconds a notebook, the ratios, and whether the
scores agree. Seconds a notebook "once started" leave out what a run pays once
(starting Python, the warm sandbox): warm 1 is timed again on a fifth of the
class, and the difference is divided by the students left out. Targets (2
cores): warm 2 at least 5x nbgrader's throughput; warm 1's seconds a notebook,
once started, within 2x of the floor. Needs root (the sandbox).

    sudo .venv/bin/python bench/grade_speed.py [--assignment 03_accumulation] [--count 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from autograder.course.release import generate_release, hand_in, make_scratch_course
from autograder.course.topics import REPO_ROOT

THROUGHPUT_TARGET = 5.0
FLOOR_TARGET = 2.0


def build_course(root: Path, assignment: str, count: int) -> tuple[Path, list[str]]:
    course = make_scratch_course(root / "course", [assignment])
    generate_release(course, assignment)
    notebooks = sorted((REPO_ROOT / "source" / assignment).glob("*.ipynb"))
    students = [f"student{n:03d}" for n in range(count)]
    for student in students:
        hand_in(course, student, assignment, notebooks)
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


def floor_seconds(assignment: str, count: int) -> float:
    """Median time to run one notebook's cells in a kernel that has already imported everything."""
    km = KernelManager(kernel_name="python3")
    km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"])
    warm_up = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import torch, numpy, matplotlib, matplotlib.pyplot")])
    try:
        NotebookClient(warm_up, km=km).execute()
        times = []
        for path in sorted((REPO_ROOT / "source" / assignment).glob("*.ipynb")) * count:
            nb = nbformat.read(path, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f\nimport matplotlib.pyplot as plt\n"
                                                         "plt.close('all')"))
            started = time.perf_counter()
            NotebookClient(nb, km=km, allow_errors=False).execute()
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        km.shutdown_kernel(now=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="03_accumulation")
    parser.add_argument("--count", type=int, default=30, help="submissions (default 30)")
    args = parser.parse_args()
    autograder = [sys.executable, "-m", "autograder", "grade", args.assignment]
    nbgrader = [str(Path(sys.executable).with_name("nbgrader")), "autograde", args.assignment, "--force"]

    with tempfile.TemporaryDirectory(prefix="grade-speed-") as scratch:
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
        seconds, agreed = {}, {}
        for name, command in runs.items():
            copy = fresh_copy(course, name.replace(" ", "-"))
            if name == "nbgrader":
                plain_nbgrader(copy)
            print(f"timing {name}: {' '.join(command[1:] if name != 'nbgrader' else command)} ...", flush=True)
            seconds[name] = timed(command, copy)
            agreed[name] = scores(copy, args.assignment)
        floor = floor_seconds(args.assignment, min(args.count, 5))
    few_seconds = seconds.pop("warm 1 few")
    marginal = (seconds["warm 1"] - few_seconds) / (args.count - len(few))

    full = agreed["nbgrader"]
    print(f"\n{args.count} submissions of {args.assignment}; floor (warm interpreter, cells only): "
          f"{floor:.2f} s a notebook\n")
    print(f"{'run':<10} {'wall s':>8} {'nb/min':>8} {'s/nb':>7} {'x nbgrader':>11} {'x floor':>8}  scores")
    agreed.pop("warm 1 few")
    for name, wall in seconds.items():
        workers = 2 if name.endswith("2") else 1
        per_notebook = wall / args.count  # wall clock a notebook, as the class experiences it
        cost = per_notebook * workers  # core-seconds a notebook
        same = "same as nbgrader" if agreed[name] == full else "DIFFERENT"
        print(f"{name:<10} {wall:>8.1f} {60 / per_notebook:>8.1f} {per_notebook:>7.2f} "
              f"{seconds['nbgrader'] / wall:>10.1f}x {cost / floor:>7.1f}x  {same}")
    ratio = seconds["nbgrader"] / seconds["warm 2"]
    scaling = seconds["warm 1"] / seconds["warm 2"]
    all_full = len(set(full.values())) == 1 and len(full) == args.count
    print(f"\nthroughput, 2 workers vs nbgrader: {ratio:.1f}x (target >= {THROUGHPUT_TARGET:.0f}x)")
    print(f"1 -> 2 workers: {scaling:.2f}x the throughput")
    print(f"seconds a notebook, 1 warm worker, once started: {marginal:.2f} = {marginal / floor:.1f}x the floor "
          f"(target <= {FLOOR_TARGET:.0f}x; start-up, once a run: "
          f"{seconds['warm 1'] - marginal * args.count:.1f} s)")
    print(f"every run gave every student {next(iter(full.values())):g} points: "
          f"{all_full and all(a == full for a in agreed.values())}")
    met = ratio >= THROUGHPUT_TARGET and marginal / floor <= FLOOR_TARGET and all(a == full for a in agreed.values())
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
