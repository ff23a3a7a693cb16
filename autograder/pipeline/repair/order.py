"""Putting nbgrader cells back in the template's order, moving as few cells as possible.

The heaviest run of nbgrader cells already in order stays where it is; every
other one moves, with the student's own cells that followed it, to just after
the nearest template cell before it, and so do cells put back from the
template. The template's plain cells stay where the student put them.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat

from ... import cells
from .match import Matcher
from .repairs import Repair


@dataclass
class _Item:
    cell: nbformat.NotebookNode
    t: int | None  # template index when the cell is a matched or restored template cell
    graded: bool  # a head: nbgrader cells must come in template order
    new: bool = False


def order(matcher: Matcher, missing: dict[int, nbformat.NotebookNode],
          repairs: list[Repair]) -> list[nbformat.NotebookNode]:
    """Put nbgrader cells in template order, moving as few cells as possible."""
    sub_to_t = {m.sub: t for t, m in matcher.matches.items()}
    items = [_Item(cell, sub_to_t.get(s), sub_to_t.get(s) in matcher.graded)
             for s, cell in enumerate(matcher.sub)]
    heads = [i for i, item in enumerate(items) if item.graded]
    settled = {id(items[i]) for i in _kept_in_place(items, heads, matcher.template)}
    moving = sorted((items[i] for i in heads if id(items[i]) not in settled), key=lambda it: it.t)
    to_place = sorted(moving + [_Item(cell, t, True, new=True) for t, cell in missing.items()],
                      key=lambda it: it.t)
    for item in to_place:
        block = [item]
        if not item.new:  # the student's own cells that followed it go with it
            start = next(i for i, it in enumerate(items) if it is item)
            end = start + 1
            while end < len(items) and items[end].t is None:
                end += 1
            block = items[start:end]
            del items[start:end]
        at, where = _place(items, item.t, settled, matcher.template)
        items[at:at] = block
        settled.add(id(item))
        if not item.new:
            repairs.append(Repair("moved_cell", cells.grade_id(item.cell),
                                  f"moved {cells.describe(item.cell)}, which was out of the template's order, "
                                  f"back {where}"))
    return [item.cell for item in items]


def _kept_in_place(items: list[_Item], heads: list[int], template: list) -> list[int]:
    """The heaviest increasing run of heads (answers weigh more: tests move to them)."""
    weight = [2 if cells.is_answer(template[items[i].t]) else 1 for i in heads]
    best, prev = weight[:], [-1] * len(heads)
    for j in range(len(heads)):
        for i in range(j):
            if items[heads[i]].t < items[heads[j]].t and best[i] + weight[j] > best[j]:
                best[j], prev[j] = best[i] + weight[j], i
    kept, j = [], max(range(len(heads)), key=best.__getitem__, default=-1)
    while j != -1:
        kept.append(heads[j])
        j = prev[j]
    return kept[::-1]


def _place(items: list[_Item], t: int, settled: set[int], template: list) -> tuple[int, str]:
    """Where template cell t goes, and that place in words: right after the nearest
    preceding template cell that keeps nbgrader cells in order."""
    heads = [(i, it.t) for i, it in enumerate(items) if it.graded and id(it) in settled]
    lo = max((i for i, ht in heads if ht < t), default=-1)
    hi = min((i for i, ht in heads if ht > t), default=len(items))
    before = sorted(((i, it) for i, it in enumerate(items) if it.t is not None and it.t < t),
                    key=lambda pair: -pair[1].t)
    for i, item in before:
        if lo <= i < hi and (not item.graded or id(item) in settled):
            what = cells.describe(item.cell) if item.graded else f"the cell '{_excerpt(template[item.t])}'"
            return i + 1, f"after {what}"
    if hi == len(items):
        return hi, "at the end of the notebook"
    return (0, "at the start of the notebook") if t == 0 else (hi, f"before {cells.describe(items[hi].cell)}")


def _excerpt(cell: nbformat.NotebookNode, width: int = 40) -> str:
    """The first line of a cell, short enough for a sentence."""
    line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."
