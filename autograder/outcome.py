"""What grading produces, one shape each: a flag for a person, a cell's score,
a notebook's outcome and a whole submission's. Stages fill these in; the
record stage, the terminal and the outputs only read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import nbformat


@dataclass(frozen=True)
class Flag:
    """Something a person must look at; it takes no points by itself."""

    grade_id: str | None  # the cell concerned; None: the whole notebook
    reason: str  # one sentence for a person

    def sentence(self, notebook: str) -> str:
        where = f"{notebook}:{self.grade_id}" if self.grade_id else notebook
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class CellScore:
    grade_id: str
    auto_score: float | None  # None: a person must grade it (a written answer)
    max_score: float


@dataclass
class NotebookOutcome:
    name: str  # notebook name without .ipynb, as in the gradebook
    notebook: nbformat.NotebookNode | None  # graded notebook; None when nothing could be graded
    scores: list[CellScore] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    failure: str | None = None
    seconds: float = 0.0

    def flags_by_cell(self, grade_ids: list[str]) -> dict[str, list[str]]:
        """Reasons per grade cell; a flag on the whole notebook concerns every cell."""
        every = [f.reason for f in self.flags if f.grade_id is None]
        found: dict[str, list[str]] = {}
        for gid in grade_ids:
            own = [f.reason for f in self.flags if f.grade_id == gid]
            if every or own:
                found[gid] = every + own
        return found


@dataclass
class SubmissionOutcome:
    student: str
    assignment: str
    notebooks: list[NotebookOutcome]

    @property
    def score(self) -> float:
        return sum(s.auto_score or 0 for nb in self.notebooks for s in nb.scores)

    @property
    def max_score(self) -> float:
        return sum(s.max_score for nb in self.notebooks for s in nb.scores)

    @property
    def repairs(self) -> list[str]:
        return [f"{nb.name}: {r}" for nb in self.notebooks for r in nb.repairs]

    @property
    def flags(self) -> list[str]:
        return [flag.sentence(nb.name) for nb in self.notebooks for flag in nb.flags]

    @property
    def failures(self) -> list[str]:
        return [f"{nb.name}: {nb.failure}" for nb in self.notebooks if nb.failure]

    def report(self) -> dict:
        """What autograder.json holds: plain data, for export, report and feedback."""
        return {
            "student": self.student, "assignment": self.assignment,
            "score": self.score, "max_score": self.max_score,
            "repairs": self.repairs, "flags": self.flags, "failures": self.failures,
            "notebooks": [{k: v for k, v in asdict(nb).items() if k != "notebook"} for nb in self.notebooks],
        }
