"""Repair a handed-in notebook against its template, the student (release) version.

Colab, Kaggle, VS Code and students themselves take things away from a notebook
that nbgrader needs: the nbgrader cell metadata, cell ids, the nbformat version,
whole test cells, the order of cells. `repair_submission` gives them back, so an
honest correct solution gets full marks whatever happened to the file, and flags
for a person what it cannot match, so nothing is silently scored 0. Every change
is recorded as a `Repair` with a sentence a person can read.

The steps, in `repair_submission`'s order: `formats` upgrades the file (nbformat
3 and 4.0-4.4 too); `match` finds which submitted cell is which template cell
(grade id, cell id, source, position, content: strongest evidence first);
`edits` flags locked cells the student changed; `restore` gives matched cells
the template's metadata and puts back the cells found nowhere, beside the
student's own cells, never over them; `order` puts nbgrader cells back in
template order; `formats` last makes the notebook schema-valid.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from ... import cells
from ...handin import UnreadableNotebook
from ...outcome import Flag
from .edits import locked_edit_flags
from .formats import make_valid, upgrade_format
from .match import (
    Matcher,
    match_by_cell_id,
    match_by_content,
    match_by_grade_id,
    match_by_position,
    match_by_source,
    match_plain_anchors,
    wrong_notebook_flag,
)
from .order import order
from .repairs import Repair
from .restore import missing_cells, restore_metadata, strip_strays

__all__ = [
    "Repair",
    "RepairResult",
    "UnreadableNotebook",
    "repair_submission",
]


@dataclass
class RepairResult:
    notebook: nbformat.NotebookNode
    repairs: list[Repair] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


def repair_submission(submitted: nbformat.NotebookNode, template: nbformat.NotebookNode) -> RepairResult:
    """Give back to a handed-in notebook what nbgrader needs, measured against its template.

    `template` is the release (student) version of the same notebook. Neither
    argument is changed; either may be nbformat 4.0-4.4 without cell ids, and
    `submitted` nbformat 3. The result's notebook is valid nbformat 4.5 with every
    template nbgrader cell present once, with the template's nbgrader metadata,
    in the template's order; `repairs` says what was changed, `flags` what a
    person should look at.
    """
    repairs: list[Repair] = []
    flags: list[Flag] = []
    nb, made_up_ids = upgrade_format(nbformat.from_dict(copy.deepcopy(submitted)), repairs)

    matcher = Matcher(nb.cells, template.cells, made_up_ids)
    match_by_grade_id(matcher, repairs)
    match_by_cell_id(matcher, matcher.graded)
    match_by_source(matcher, [t for t in matcher.graded if not cells.is_answer(template.cells[t])])
    match_plain_anchors(matcher)
    # Judged on strong evidence only: position and content would find something for most cells.
    if (flag := wrong_notebook_flag(matcher)) is not None:
        flags.append(flag)
    match_by_position(matcher)
    match_by_content(matcher)
    flags += locked_edit_flags(matcher)

    restore_metadata(matcher, repairs, flags)
    strip_strays(matcher, repairs)
    missing = missing_cells(matcher, {c.id for c in nb.cells}, repairs, flags)
    nb.cells = order(matcher, missing, repairs)
    make_valid(nb, template, repairs)
    return RepairResult(nb, repairs, flags)
