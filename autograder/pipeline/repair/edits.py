"""Locked cells the student changed: a flag for a person, saying what changed.

nbgrader's OverwriteCells puts the instructor's version of every locked cell
(a test, a read-only cell) back before grading, so an edit there changes no
grade; but a visible test turned into `pass` says something a person should
see. This module only compares and tells; it changes no cell. Whitespace,
blank lines and lost metadata are no change.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from ... import cells
from ...outcome import Flag
from .match import Matcher, normalized

_EXCERPT_WIDTH = 40


def locked_edit_flags(matcher: Matcher) -> list[Flag]:
    """A flag for each matched locked template cell whose submitted source differs from the release's."""
    flags = []
    for t in matcher.graded:
        tcell, m = matcher.template[t], matcher.matches.get(t)
        if m is None or not cells.is_locked(tcell):
            continue
        if (change := describe_change(tcell.source, matcher.sub[m.sub].source)) is not None:
            flags.append(Flag(cells.grade_id(tcell),
                              f"the student changed the {cells.describe(tcell)} ({change}); the instructor's "
                              "version was put back before grading, so the change did not count: "
                              "look at what the student meant by it"))
    return flags


def describe_change(template_source: str, source: str) -> str | None:
    """How `source` differs from `template_source`, line by line, in words; None if only whitespace does."""
    before, after = _lines(template_source), _lines(source)
    if before == after:
        return None
    if not after:
        return f"emptied it: {len(before)} line{'s' if len(before) != 1 else ''} removed"
    ops = [op for op in SequenceMatcher(None, before, after, autojunk=False).get_opcodes() if op[0] != "equal"]
    tag, i1, _, j1, _ = ops[0]
    if tag == "replace":
        example = f"'{_excerpt(before[i1])}' became '{_excerpt(after[j1])}'"
    elif tag == "delete":
        example = f"'{_excerpt(before[i1])}' was removed"
    else:
        example = f"'{_excerpt(after[j1])}' was added"
    differ = sum(i2 - i1 for _, i1, i2, _, _ in ops)
    if differ:
        lines = "line" if len(before) == 1 else "lines"
        return f"{differ} of {len(before)} {lines} {'differs' if differ == 1 else 'differ'}, e.g. {example}"
    added = sum(j2 - j1 for _, _, _, j1, j2 in ops)
    return f"{added} line{'s' if added != 1 else ''} added, e.g. {example}"


def _lines(source: str) -> list[str]:
    return [line for line in map(normalized, source.splitlines()) if line]


def _excerpt(line: str) -> str:
    """Short enough for a sentence; no `<` or `>`, since the sentence is shown as Markdown and HTML."""
    line = line.replace("<", "‹").replace(">", "›")
    return line if len(line) <= _EXCERPT_WIDTH else line[: _EXCERPT_WIDTH - 3] + "..."
