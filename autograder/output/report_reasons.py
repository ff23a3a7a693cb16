"""Repeated reasons told once: the grader writes one sentence per cell it repaired or
flagged, so a Colab hand-in gives fifteen "restored the nbgrader metadata of ... cell 'x'"
and one cheat flags every test after it. The report groups sentences that are the same
but for the cell they name, and counts them.

Only grouping: the sentences come from report_data, the HTML is report.py's. The cell
wording matched here is `cells.describe` ("test cell 'x'") and the cell numbers of
pipeline/repair ("cell 5 of the handed-in notebook")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .report_data import Reason

# "answer cell 'derivative'", "written-answer cell 'why'", "cell 'x'": the role goes too, so that one
# repair done to a test and to an answer is one line.
CELL_NAMED = re.compile(r"\b(?:(?:written-)?answer |task |test |read-only )?cell '([^']*)'")
NAMING = re.compile(r"\bnaming '([^']*)'")  # match.py: "removed nbgrader metadata naming 'x'"
CELL_NUMBERED = re.compile(r"\bcell \d+\b")  # a position in the handed-in notebook
ANY_CELL = "cell '…'"


def normalised(text: str) -> tuple[str, list[str]]:
    """The sentence with the cells it names taken out, and those cells' grade ids."""
    names: list[str] = []

    def taken(replacement: str):
        def replace(match: re.Match) -> str:
            names.append(match.group(1))
            return replacement
        return replace

    text = CELL_NAMED.sub(taken(ANY_CELL), text)
    text = NAMING.sub(taken("naming '…'"), text)
    return CELL_NUMBERED.sub("cell …", text), names


@dataclass
class ReasonGroup:
    text: str  # the sentence as written when every one is alike, else with the cells taken out
    count: int  # sentences in the group
    cells: bool  # every sentence concerns one cell: the count is a count of cells
    students: dict[str, list[str]] = field(default_factory=dict)  # student label -> places, each once, in order

    @property
    def count_text(self) -> str:
        return f"{self.count} cell{'s' if self.count != 1 else ''}" if self.cells else f"× {self.count}"


def _places(reason: Reason, names: list[str]) -> list[str]:
    if reason.cell:
        return [reason.where]
    if names:
        return [f"{reason.notebook}/{n}" if reason.notebook else n for n in names]
    return [reason.notebook] if reason.notebook else []


def group_reasons(rows: list[tuple[str, list[Reason]]]) -> list[ReasonGroup]:
    """(student label, reasons) for each student -> one group per sentence, most frequent first."""
    groups: dict[str, ReasonGroup] = {}
    texts: dict[str, set[str]] = {}
    for student, reasons in rows:
        for reason in reasons:
            key, names = normalised(reason.text)
            group = groups.setdefault(key, ReasonGroup(reason.text, 0, True))
            texts.setdefault(key, set()).add(reason.text)
            group.count += 1
            group.cells = group.cells and bool(reason.cell or len(names) == 1)
            places = group.students.setdefault(student, [])
            places += [p for p in _places(reason, names) if p not in places]
    for key, group in groups.items():
        if len(texts[key]) > 1:
            group.text = key
    return sorted(groups.values(), key=lambda g: (-g.count, g.text))
