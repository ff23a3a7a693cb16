"""What grading produces, one shape each: a flag for a person, a cell's score,
a notebook's outcome, a whole submission's, and the totals the gradebook holds
once it is recorded. Stages fill these in; the record stage, the terminal and
the outputs only read them.

Three ways a notebook's grading can end early, kept apart because each asks
something different of a person:

- `failure`: the student's run stopped (a time limit, the kernel killed by
  their code, os._exit) or nothing was handed in: tests that did not run score
  0, as nbgrader gives them.
- `ungraded`: the grader could not grade it (it cannot read the file, the
  notebook is for another kernel, the grader itself failed): no score is
  recorded, every cell awaits a person in formgrader.
- `regrade`: no kernel started, so no student code ran: nothing is recorded,
  the earlier grades stand, and the hand-in must be graded again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

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
    failure: str | None = None  # the run stopped early: tests that did not run score 0
    seconds: float = 0.0
    # bytes the kernel's sandbox held at most: with a cgroup, its own pages (not the warm parent's);
    # rootless without one, the largest resident total the memory watch saw (shared pages counted)
    peak_memory: int | None = None
    ungraded: str | None = None  # the grader could not grade it: no score, a person grades every cell
    regrade: str | None = None  # no kernel started: nothing is recorded, grade it again

    @property
    def notebook_reasons(self) -> list[str]:
        """What concerns every cell: why it was not graded, and flags on the whole notebook."""
        return ([self.ungraded] if self.ungraded else []) + [f.reason for f in self.flags if f.grade_id is None]

    def flags_by_cell(self, grade_ids: list[str]) -> dict[str, list[str]]:
        """Reasons per grade cell; a reason on the whole notebook concerns every cell."""
        every = self.notebook_reasons
        found: dict[str, list[str]] = {}
        for gid in grade_ids:
            own = [f.reason for f in self.flags if f.grade_id == gid]
            if every or own:
                found[gid] = every + own
        return found


@dataclass(frozen=True)
class Totals:
    """A recorded submission as the gradebook holds it, the way nbgrader's export counts it."""

    score: float | None  # a person's score wins over the tests', less the late penalty; None while a test awaits a person
    max_score: float
    late_penalty: float
    awaiting: int  # cells formgrader shows as needing manual grading


@dataclass
class SubmissionOutcome:
    student: str
    assignment: str
    notebooks: list[NotebookOutcome]
    timestamp: datetime | None = None  # when it was handed in (timestamp.txt), for the late penalty
    timestamp_problem: str | None = None  # timestamp.txt could not be read: no late penalty, a person decides
    record_error: str | None = None  # the gradebook or autograded/ could not be written: grade it again
    totals: Totals | None = None  # filled in once recorded

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
        """What stopped the grading of a notebook, the student's doing or the grader's."""
        return [f"{nb.name}: {nb.failure or nb.ungraded}" for nb in self.notebooks if nb.failure or nb.ungraded]

    @property
    def for_a_person(self) -> list[str]:
        """What the grader could not decide: a person must grade or settle it in formgrader."""
        found = [f"{nb.name}: {nb.ungraded}" for nb in self.notebooks if nb.ungraded]
        return found + ([self.timestamp_problem] if self.timestamp_problem else [])

    @property
    def grade_again(self) -> list[str]:
        """Why nothing of this hand-in was recorded (its earlier grades stand): grade it again."""
        found = [f"{nb.name}: {nb.regrade}" for nb in self.notebooks if nb.regrade]
        return found + ([self.record_error] if self.record_error else [])

    def report(self) -> dict:
        """What autograder.json holds: plain data, for export, report and feedback."""
        return {
            "student": self.student, "assignment": self.assignment,
            "score": self.score, "max_score": self.max_score,
            "repairs": self.repairs, "flags": self.flags, "failures": self.failures,
            "for_a_person": self.for_a_person,
            "notebooks": [{k: v for k, v in asdict(nb).items() if k != "notebook"} for nb in self.notebooks],
        }
