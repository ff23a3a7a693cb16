"""What `collect` tells the person who ran it: each file placed, each file not
placed with the reason, and the summary printed in the terminal.

Only the results: deciding where a file goes is `place`'s job, and reading the
download is `archive`'s. Kept apart from the package's `__init__` so that every
step can report a file without importing the stage itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Placed:
    student: str
    source: str  # where it came from (path inside the zip or folder)
    dest: Path  # where it landed
    note: str | None  # renamed, matched by content, replaced an earlier hand-in, unchanged, ...


@dataclass(frozen=True)
class Unplaced:
    source: str
    reason: str  # what happened and what to do

    @property
    def ignored(self) -> bool:
        """Junk that is not a hand-in (macOS metadata, checkpoints): listed, but nothing to fix."""
        return self.reason.startswith("ignored:")


@dataclass
class CollectReport:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)

    @property
    def problems(self) -> list[Unplaced]:
        """Files not placed that a person should look at (everything but ignored junk)."""
        return [u for u in self.unplaced if not u.ignored]


class CollectError(ValueError):
    """The download as a whole cannot be collected; the message says what to do."""


def format_report(report: CollectReport) -> str:
    """A summary for the terminal: what landed where, then what needs a person."""
    students = {p.student for p in report.placed}
    problems = report.problems
    ignored = [u for u in report.unplaced if u.ignored]
    lines = [(f"{len(report.placed)} notebook(s) placed for {len(students)} student(s); "
             f"{len(problems)} file(s) not placed; {len(ignored)} ignored.")]
    if report.placed:
        lines += ["", "Placed:"]
        for p in report.placed:
            where = "/".join(p.dest.parts[-4:])
            lines.append(f"  {where}  <-  {p.source}" + (f"  ({p.note})" if p.note else ""))
    if problems:
        lines += ["", "Not placed (fix and run collect again, or place by hand):"]
        lines += [f"  {u.source}: {u.reason}" for u in problems]
    if ignored:
        lines += ["", "Ignored (not hand-ins):"]
        lines += [f"  {u.source}: {u.reason.removeprefix('ignored: ')}" for u in ignored]
    return "\n".join(lines)
