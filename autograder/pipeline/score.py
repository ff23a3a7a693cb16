"""The score stage: nbgrader's output filters, then nbgrader's own rule for
what a cell earns (utils.determine_grade)."""

from __future__ import annotations

from nbgrader.preprocessors import IgnorePattern, LimitOutput
from nbgrader.utils import determine_grade

from ..cells import grade_id, is_graded
from ..outcome import CellScore


def score(nb, config, resources: dict) -> tuple[object, list[CellScore]]:
    """Filter outputs as nbgrader autograde does (harmless warnings, long output), then score."""
    for preprocessor in (IgnorePattern, LimitOutput):
        nb, resources = preprocessor(config=config)(nb, resources)
    scores = []
    for cell in nb.cells:
        if is_graded(cell):
            auto, most = determine_grade(cell)
            scores.append(CellScore(grade_id(cell), auto, most))
    return nb, scores
