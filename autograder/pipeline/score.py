"""The score stage: nbgrader's output filters, then nbgrader's own rule for
what a cell earns (utils.determine_grade)."""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.preprocessors import IgnorePattern, LimitOutput
from nbgrader.utils import determine_grade, is_grade


@dataclass(frozen=True)
class CellScore:
    grade_id: str
    auto_score: float | None  # None: a person must grade it (a written answer)
    max_score: float


def score(nb, config, resources: dict) -> tuple[object, list[CellScore]]:
    """Filter outputs as nbgrader autograde does (harmless warnings, long output), then score."""
    for preprocessor in (IgnorePattern, LimitOutput):
        nb, resources = preprocessor(config=config)(nb, resources)
    scores = []
    for cell in nb.cells:
        if is_grade(cell):
            auto, most = determine_grade(cell)
            scores.append(CellScore(cell.metadata["nbgrader"]["grade_id"], auto, most))
    return nb, scores
