"""Time each solved assignment (and each lesson) run top to bottom in a fresh kernel.

Target: every solved notebook under 30 s on a 2-core CPU, so grading a class is
cheap. The time includes starting the kernel and importing torch, as nbgrader
pays it for every submission. A benchmark, not a test: timings depend on the machine.

    .venv/bin/python bench/notebook_times.py [--repeat N] [NN_slug ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from autograder.course.lessons import execute
from autograder.course.topics import REPO_ROOT, TOPICS, topic

TARGET_SECONDS = 30.0


def time_notebook(relpath: str, repeat: int) -> tuple[float, str | None]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        _, error = execute(REPO_ROOT / relpath)
        runs.append(time.perf_counter() - started)
        if error:
            return runs[-1], error.strip().splitlines()[-1]
    return statistics.median(runs), None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the median is shown")
    parser.add_argument("slugs", nargs="*", help="topics to time (NN_slug); all when none is given")
    args = parser.parse_args()
    topics = [topic(slug) for slug in args.slugs] if args.slugs else list(TOPICS)

    print(f"{'topic':<22} {'solved assignment':>18} {'lesson':>9}   (median of {args.repeat}; target < {TARGET_SECONDS:.0f} s)")
    slowest = 0.0
    for one in topics:
        solved, error = time_notebook(one.source, args.repeat)
        lesson, lesson_error = time_notebook(one.lesson, args.repeat)
        slowest = max(slowest, solved)
        notes = "; ".join(e for e in (error, lesson_error) if e)
        print(f"{one.slug:<22} {solved:>16.1f} s {lesson:>7.1f} s   {notes}", flush=True)
    verdict = "meets" if slowest < TARGET_SECONDS else "MISSES"
    print(f"slowest solved assignment: {slowest:.1f} s, {verdict} the {TARGET_SECONDS:.0f} s target")
    return 0 if slowest < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
