"""Giving matched cells back what nbgrader needs: the template's nbgrader metadata
and cell type; taking nbgrader metadata off cells that match no template cell;
and copies from the template of the nbgrader cells found nowhere.
"""

from __future__ import annotations

import copy

import nbformat

from ... import cells
from ...outcome import Flag
from .formats import LOCK_KEYS, fresh_id, tidy_cell, valid_cell_id
from .match import Matcher
from .repairs import Repair


def restore_metadata(matcher: Matcher, repairs: list[Repair], flags: list[Flag]) -> None:
    """The template's nbgrader metadata and cell type on every matched nbgrader cell."""
    for t in matcher.graded:
        if (m := matcher.matches.get(t)) is None:
            continue
        tcell, cell = matcher.template[t], matcher.sub[m.sub]
        grade_id, wanted = cells.grade_id(tcell), cells.nbgrader_metadata(tcell)
        if cell.cell_type != tcell.cell_type:
            _set_cell_type(cell, tcell.cell_type)
            repairs.append(Repair("cell_type", grade_id, f"turned {cells.describe(tcell)} back into a "
                                                         f"{tcell.cell_type} cell, as in the template"))
        if m.how == "grade id":
            have = cells.nbgrader_metadata(cell)
            changed = sorted(k for k in set(wanted) | set(have) if have.get(k) != wanted.get(k))
            if changed:
                cell.metadata.nbgrader = copy.deepcopy(wanted)
                repairs.append(Repair("metadata", grade_id,
                                      f"reset the nbgrader metadata of {cells.describe(tcell)} to the template's "
                                      f"({', '.join(changed)} differed)"))
            continue
        cell.metadata.nbgrader = copy.deepcopy(wanted)
        for key in LOCK_KEYS:
            if key in tcell.metadata:
                cell.metadata[key] = tcell.metadata[key]
        repairs.append(Repair("metadata", grade_id,
                              f"restored the nbgrader metadata of {cells.describe(tcell)} (matched by {m.how})"))
        if m.unsure:
            flags.append(Flag(grade_id, f"found {cells.describe(tcell)} by position only, among several cells "
                                        "the student added there: check that the graded cell is the student's "
                                        "answer"))


def _set_cell_type(cell: nbformat.NotebookNode, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.pop("attachments", None)  # only markdown and raw cells may have attachments
    tidy_cell(cell)


def strip_strays(matcher: Matcher, repairs: list[Repair]) -> None:
    """nbgrader metadata on a cell that is no template nbgrader cell would make nbgrader choke."""
    graded_subs = {matcher.matches[t].sub for t in matcher.graded if t in matcher.matches}
    for s, cell in enumerate(matcher.sub):
        if s in graded_subs or not cells.has_nbgrader_metadata(cell):
            continue
        if not cells.has_role(cell) and not cells.has_damaged_nbgrader_metadata(cell):
            continue  # harmless: nbgrader ignores a cell with none of its roles
        del cell.metadata["nbgrader"]
        repairs.append(Repair("metadata", None,
                              f"removed nbgrader metadata without a grade id from cell {s + 1} of the "
                              "handed-in notebook, which matches no cell of the template"))


def missing_cells(matcher: Matcher, taken_ids: set[str], repairs: list[Repair],
                  flags: list[Flag]) -> dict[int, nbformat.NotebookNode]:
    """Template cells found nowhere: copies of them (the release's stub for an answer cell)."""
    missing = {}
    for t in matcher.unmatched(matcher.graded):
        tcell = matcher.template[t]
        cell = nbformat.from_dict(copy.deepcopy(tcell))
        tidy_cell(cell)
        if not valid_cell_id(cell.get("id")) or cell.id in taken_ids:  # a 4.0-4.4 release has no ids
            cell.id = fresh_id(taken_ids)
        taken_ids.add(cell.id)
        missing[t] = cell
        grade_id = cells.grade_id(tcell)
        if cells.is_answer(tcell):
            flags.append(Flag(grade_id, f"could not find the {cells.role(tcell)} '{grade_id}' (no cell with its "
                                        "nbgrader metadata, cell id, position or content); inserted the "
                                        "template's empty cell, so its tests will fail: look for the "
                                        "student's answer elsewhere in the notebook"))
            repairs.append(Repair("restored_cell", grade_id,
                                  f"inserted the template's empty {cells.describe(tcell)}, which was not found"))
        else:
            repairs.append(Repair("restored_cell", grade_id,
                                  f"put back {cells.describe(tcell)}, which the student had deleted, "
                                  "from the template"))
    return missing
