"""What the repair stage changed: one `Repair` per change, with a sentence a person can read.

Its own module so that every step of the stage can record changes without
importing the stage itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Repair:
    kind: str  # "format", "metadata", "cell_type", "restored_cell", "moved_cell", "duplicate", "outputs"
    grade_id: str | None  # the nbgrader cell concerned, if any
    detail: str  # one sentence for a person
