"""The author's commands of `autograder` (release, badges, check, lesson): this
repository's course only. The instructor's commands, which grade any nbgrader
course, are in `autograder.cli`, which also owns the argument parser."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from . import badges
from . import release as course_release
from .lessons import execute, stderr_outputs
from .topics import REPO_ROOT, Repository, repository_setting, topic


def _slugs(names: list[str]) -> list[str]:
    return [topic(name).slug for name in names] or course_release.all_slugs()


def cmd_release(args: argparse.Namespace) -> int:
    slugs = _slugs(args.assignments)
    with tempfile.TemporaryDirectory() as scratch:
        course_release.write_release(slugs, Path(scratch))
    print(f"release/ regenerated from source/ for: {', '.join(slugs)}")
    return 0


def cmd_badges(args: argparse.Namespace) -> int:
    current = repository_setting()
    if args.repository or args.branch:
        wanted = Repository(args.repository or current.name, args.branch or current.branch)
        badges.set_repository_setting(REPO_ROOT, wanted)
    repo = repository_setting()
    changed = badges.rewrite_badges(REPO_ROOT, repo)
    print(f"badges point at github.com/{repo.name} ({repo.branch}); {len(changed)} notebooks changed")
    return 0


def _score_line(cells: list[course_release.GradedCell]) -> tuple[float, float]:
    auto = [c for c in cells if c.autograded]
    return sum(c.score or 0 for c in auto), sum(c.max_score for c in auto)


def cmd_check(args: argparse.Namespace) -> int:
    """What an author runs after editing: lessons run clean, solutions get full marks, blanks get zero."""
    slugs = _slugs(args.assignments)
    failures = 0
    print(f"{'topic':<20} {'lesson':>12} {'solution':>12} {'blank':>10}  notes", flush=True)
    for slug in slugs:
        notes = []
        lesson_path = REPO_ROOT / topic(slug).lesson
        if lesson_path.exists():
            started = time.perf_counter()
            nb, error = execute(lesson_path)
            lesson = f"{time.perf_counter() - started:.1f}s"
            if error:
                lesson, notes = "ERROR", notes + [error.strip().splitlines()[-1] if error.strip() else "error"]
            notes += [f"lesson stderr: {text}" for text in stderr_outputs(nb)]
        else:
            lesson, notes = "missing", notes + [f"no lesson at {topic(slug).lesson}"]
        with tempfile.TemporaryDirectory() as scratch:
            result = course_release.check_assignment(slug, Path(scratch))
        got, full = _score_line(result[course_release.SOLVED])
        blank, _ = _score_line(result[course_release.BLANK])
        if got != full:
            notes.append("solution below full marks: " + ", ".join(
                c.grade_id for c in result[course_release.SOLVED] if c.autograded and c.score != c.max_score))
        if blank != 0:
            notes.append("blank release scores: " + ", ".join(
                c.grade_id for c in result[course_release.BLANK] if c.autograded and c.score))
        failures += bool(notes)
        print(f"{slug:<20} {lesson:>12} {got:>5g}/{full:<6g} {blank:>5g}/{full:<4g}  {'; '.join(notes) or 'ok'}", flush=True)
    if failures:
        print(f"{failures} of {len(slugs)} topics have problems (see notes)")
    return 1 if failures else 0


def cmd_lesson(args: argparse.Namespace) -> int:
    """Run one lesson and show its problems (errors, stderr)."""
    nb, error = execute(REPO_ROOT / topic(args.topic).lesson)
    problems = stderr_outputs(nb) + ([error] if error else [])
    for problem in problems:
        print(problem)
    print("ok" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0
