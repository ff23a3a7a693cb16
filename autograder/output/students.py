"""Two rules about a student that every file going back out applies alike (the LMS
files, the report): what name a student is shown by, and when a total is a grade.
Not who handed in what (roster.py), nor how a total is counted (record.submission_totals)."""

from __future__ import annotations


def display_name(first_name: str | None, last_name: str | None, lms_name: str | None) -> str | None:
    """The gradebook's first and last name (formgrader shows those), else the name the LMS download
    gave (roster.json); None when neither has one."""
    own = " ".join(part.strip() for part in (first_name, last_name) if part and part.strip())
    return own or (lms_name.strip() if lms_name and lms_name.strip() else None)


def is_final(score: float | None, cells_awaiting: int) -> bool:
    """A total that is a grade: the tests all ran (score is not None) and no cell awaits a person
    (a pending cell counts 0 until a person grades it)."""
    return score is not None and not cells_awaiting
