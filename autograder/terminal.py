"""What `autograder grade` shows a person: a progress bar while it runs, a
table of what was recorded, and the hand-ins that still need a person."""

from __future__ import annotations

import sys

from tqdm import tqdm

from .outcome import SubmissionOutcome


class Progress:
    """A progress bar on stderr (tqdm): graded, failed, flagged and for a person so far, and the time left."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self.recorded = self.failed = self.flagged = self.for_a_person = 0

    def start(self, how: str, total: int) -> None:
        print(f"grading {total} submissions ({how})", file=sys.stderr, flush=True)
        self.bar = tqdm(total=total, unit="hand-in", file=sys.stderr, dynamic_ncols=True, postfix=self._counts(),
                        bar_format="[{bar:24}] {n_fmt}/{total_fmt} graded{postfix}, {remaining} left")

    def _counts(self) -> str:
        return f"{self.failed} failed, {self.flagged} flagged, {self.for_a_person} for a person"

    def done(self, outcome: SubmissionOutcome) -> None:
        self.recorded += not outcome.grade_again
        self.failed += bool(outcome.failures)
        self.flagged += bool(outcome.flags)
        self.for_a_person += bool(outcome.for_a_person or outcome.grade_again)
        if self.bar is not None:
            self.bar.set_postfix_str(self._counts(), refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _score(outcome: SubmissionOutcome) -> str:
    totals = outcome.totals
    if totals is None:
        return "not recorded"
    if totals.score is None:
        return "-"  # a test the grader could not run awaits a person: no total yet
    return f"{totals.score:g}" + (f" (late -{totals.late_penalty:g})" if totals.late_penalty else "")


def table(outcomes: list[SubmissionOutcome]) -> str:
    """A row per hand-in: the score the gradebook holds (a person's scores count, the late penalty is
    off), the cells that await a person, then what stopped grading, if anything, last."""
    rows = [("student", "score", "max", "awaiting", "repairs", "flags", "failures")]
    for o in outcomes:
        notes = o.failures + ([o.timestamp_problem] if o.timestamp_problem else [])
        notes += [f"not recorded: {r}" for r in o.grade_again]
        rows.append((o.student, _score(o), f"{o.max_score:g}" if o.totals is None else f"{o.totals.max_score:g}",
                     "-" if o.totals is None else str(o.totals.awaiting), str(len(o.repairs)), str(len(o.flags)),
                     "; ".join(notes) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:6], widths)) + "  " + r[6] for r in rows)


def needing_a_person(outcomes: list[SubmissionOutcome], assignment: str) -> list[str]:
    """One line per hand-in the grader could not finish, saying why and what to do; empty when none."""
    lines = []
    for o in outcomes:
        if o.grade_again:
            lines.append(f"  {o.student}: NOT RECORDED, its earlier grades stand ({'; '.join(o.grade_again)}); "
                         f"grade it again: autograder grade {assignment} --student {o.student}")
        elif o.for_a_person:
            lines.append(f"  {o.student}: {'; '.join(o.for_a_person)}")
    if lines:
        lines.insert(0, f"autograder: graded, but {len(lines)} hand-ins need a person (exit status 3); what the "
                        "grader could not grade awaits them in formgrader, with the reason:")
    return lines
