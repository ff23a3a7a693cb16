"""The visible tests teach: each typical mistake gets a message naming its likely cause.

For every assignment, the release (what students run) with the solution's answers
is played once per mistake in one IPython shell (torch imported once), the answer
cell replaced by the mistake, up to the visible test cell that must catch it. The
test must raise, and its message must contain the mistake's words. The solution
itself must pass every visible test. Our own code only: the course's solutions and
the mistakes in tests/mistakes/; nothing handed in by anyone runs here.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from functools import cache

import pytest
from helpers import ALL_SLUGS, read
from mistakes import Mistake

from autograder.cells import grade_id, is_answer

pytestmark = pytest.mark.slow

MODULES = {slug: f"mistakes.m{slug[:2]}" for slug in ALL_SLUGS}

# Runs in a fresh Python: the cells of each play, in an IPython shell reset between plays.
PLAYER = r'''
import json, sys
from IPython.core.interactiveshell import InteractiveShell
plays = json.load(sys.stdin)
shell = InteractiveShell.instance()
results = []
for play in plays:
    shell.reset(new_session=False)
    # process-wide state a mistake may leave behind, which reset() does not touch
    shell.run_cell("import torch as _t\n_t.set_grad_enabled(True)\n_t.set_default_dtype(_t.float32)\ndel _t",
                   silent=True)
    got = {"name": play["name"], "failed_before": None, "raised": False, "ename": None, "message": None}
    for index, (cell_id, source) in enumerate(play["cells"]):
        result = shell.run_cell(source, silent=True)
        error = result.error_before_exec or result.error_in_exec
        if cell_id == play["test"]:
            if error is not None:
                got.update(raised=True, ename=type(error).__name__, message=str(error))
            break
        if error is not None:
            got["failed_before"] = f"{cell_id or index}: {type(error).__name__}: {error}"
            break
    results.append(got)
print("PLAYED " + json.dumps(results))
'''


def mistakes_of(slug: str) -> list[Mistake]:
    try:
        return list(importlib.import_module(MODULES[slug]).MISTAKES)
    except ModuleNotFoundError:
        return []


def _without_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _cells(slug: str, replaced: dict[str, str]) -> list[tuple[str | None, str]]:
    """The release's code cells with the solution's answers (and `replaced`), as a student runs them."""
    source = read(f"source/{slug}/{slug}.ipynb")
    answers = {grade_id(c): _without_markers(c.source) for c in source.cells if is_answer(c) and grade_id(c)}
    answers.update(replaced)
    release = read(f"release/{slug}/{slug}.ipynb")
    return [(grade_id(c), answers.get(grade_id(c), c.source)) for c in release.cells if c.cell_type == "code"]


@cache
def played(slug: str) -> dict[str, dict]:
    """name -> what happened, for the solution ("solution@<test>", one play per visible test) and each mistake."""
    plays = []
    release = read(f"release/{slug}/{slug}.ipynb")
    visible_tests = [grade_id(c) for c in release.cells
                     if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade") and not is_answer(c)]
    for test in visible_tests:
        plays.append({"name": f"solution@{test}", "test": test, "cells": _cells(slug, {})})
    for m in mistakes_of(slug):
        plays.append({"name": m.name, "test": m.test, "cells": _cells(slug, {m.answer: m.code})})
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-c", PLAYER], input=json.dumps(plays), capture_output=True, text=True,
                         env=env, timeout=1200, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("PLAYED ")]
    assert lines, f"the player failed for {slug}:\n{run.stderr[-3000:]}"
    return {r["name"]: r for r in json.loads(lines[-1][len("PLAYED "):])}


@pytest.mark.parametrize("slug", ALL_SLUGS)
def test_the_solution_passes_every_visible_test(slug):
    for name, got in played(slug).items():
        if name.startswith("solution@"):
            assert got["failed_before"] is None and not got["raised"], (name, got)


@pytest.mark.parametrize(("slug", "mistake"), [(s, m) for s in ALL_SLUGS for m in mistakes_of(s)],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_the_visible_test_names_the_mistake(slug, mistake):
    got = played(slug)[mistake.name]
    assert got["failed_before"] is None, f"{mistake.name}: a cell before {mistake.test} failed: {got['failed_before']}"
    assert got["raised"], f"{mistake.name}: the visible test {mistake.test} passed this mistake"
    message = (got["message"] or "").lower()
    missing = [words for words in mistake.says if words.lower() not in message]
    assert not missing, f"{mistake.name}: {got['ename']}: {got['message']!r} does not say {missing}"


def test_mistake_names_are_unique_and_point_at_real_cells():
    for slug in ALL_SLUGS:
        ids = {grade_id(c) for c in read(f"release/{slug}/{slug}.ipynb").cells}
        names = [m.name for m in mistakes_of(slug)]
        assert len(names) == len(set(names)), slug
        for m in mistakes_of(slug):
            assert m.answer in ids and m.test in ids, (slug, m.name)
            assert m.says, (slug, m.name)
