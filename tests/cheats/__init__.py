"""The referee of issue 12: hand-ins that earn an exercise's points without its skill
(cheats), and correct hand-ins written in other honest styles, for every assignment.

Each hand-in is the instructor's solution, as a student would hand it in (the release
with every answer filled), with ONE answer cell replaced: by a cheat, which must lose
the points of the test cells it targets, or by an honest variant, which must keep full
marks. `tests/test_cheats.py` grades them with `autograder grade` and with plain
`nbgrader autograde`.

Not for: grading anything. Nothing here runs code; the cheats are data (source text).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import nbformat

from autograder.cells import grade_id, is_answer, is_graded

SOLUTION = "solution"  # student id of the solution handed in whole
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


@dataclass(frozen=True)
class Cheat:
    """One answer cell that gets points it should not get."""

    name: str
    answer: str  # grade id of the answer cell it replaces
    targets: tuple[str, ...]  # grade ids of the test cells whose points it must lose
    kind: str  # which kind of cheat of the issue it is
    code: str

    @property
    def student(self) -> str:
        return f"cheat-{self.name}"


@dataclass(frozen=True)
class Honest:
    """One correct answer cell written in a style of its own: it keeps full marks."""

    name: str
    answer: str
    style: str
    code: str

    @property
    def student(self) -> str:
        return f"honest-{self.name}"


# Appended to the cheats that run a backward pass by hand, node by node, outside the engine
# (03 and 04): one copy, so every such cheat attacks with the same code.
HAND_BACKWARD = '''
def _hand_backward(root, seed):
    # a backward pass run by hand: every node of the graph called directly, in topological order
    order, seen = [], set()
    def visit(n):
        if n is None or n in seen:
            return
        seen.add(n)
        for m, _ in n.next_functions:
            visit(m)
        order.append(n)
    visit(root)
    grads = {root: seed}
    for n in reversed(order):
        g = grads.pop(n, None)
        if g is None:
            continue
        if hasattr(n, "variable"):
            v = n.variable
            g = g.sum_to_size(v.shape)
            v.grad = g.detach().clone() if v.grad is None else v.grad + g.detach()
            continue
        outs = n.apply(g) if hasattr(n, "_forward_cls") else n(g)  # a custom Function's node: apply
        if not isinstance(outs, tuple):
            outs = (outs,)
        for (m, k), o in zip(n.next_functions, outs):
            if m is not None and o is not None:
                o = o.sum_to_size(m._input_metadata[k].shape)  # undo broadcasting, as the engine does
                grads[m] = o if m not in grads else grads[m] + o
'''


def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """grade id -> the instructor's answer as a student would write it (no solution markers)."""
    return {grade_id(cell): "\n".join(line for line in cell.source.splitlines() if not _MARKER.match(line))
            for cell in source.cells if is_answer(cell) and grade_id(cell)}


def graded_code_cells(source: nbformat.NotebookNode) -> list[str]:
    """Grade ids of the autograded test cells, in notebook order."""
    return [grade_id(cell) for cell in source.cells if is_graded(cell) and cell.cell_type == "code"]


def filled_release(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release with its answer cells written: what a student saves and uploads."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def class_of(release: nbformat.NotebookNode, source: nbformat.NotebookNode, cheats: list[Cheat],
             honest: list[Honest]) -> dict[str, nbformat.NotebookNode]:
    """student id -> hand-in: the solution, then one student per cheat and per honest variant."""
    right = solution_answers(source)
    for one in [*cheats, *honest]:
        if one.answer not in right:
            raise ValueError(f"{one.student}: the assignment has no answer cell {one.answer!r}")
    for cheat in cheats:
        missing = set(cheat.targets) - set(graded_code_cells(source))
        if missing:
            raise ValueError(f"{cheat.student}: the assignment has no test cells {sorted(missing)}")
    students = {SOLUTION: filled_release(release, right)}
    for one in [*cheats, *honest]:
        if one.student in students:
            raise ValueError(f"two hand-ins are called {one.student}")
        students[one.student] = filled_release(release, {**right, one.answer: one.code})
    return students
