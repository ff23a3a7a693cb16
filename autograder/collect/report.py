"""What `collect` tells the person who ran it: each file placed, each file not
placed with the reason, who each student is as the LMS named them, and the
summary printed in the terminal.

Only the results: deciding where a file goes is `place`'s and `newest`'s job, and
reading the download is `archive`'s. Kept apart from the package's `__init__` so
that every step can report a file without importing the stage itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..roster import CANVAS, LmsHandIn


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
    older: bool = False  # an older hand-in than the one the course holds: refused, nothing broken

    @property
    def ignored(self) -> bool:
        """Junk that is not a hand-in (macOS metadata, checkpoints): listed, but nothing to fix."""
        return self.reason.startswith("ignored:")


@dataclass
class CollectReport:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    records: dict[str, LmsHandIn] = field(default_factory=dict)  # each placed student's, as roster.json has it
    warnings: list[str] = field(default_factory=list)  # hand-ins placed without a time a person must supply
    notes: list[str] = field(default_factory=list)  # about the whole download

    @property
    def problems(self) -> list[Unplaced]:
        """Files not placed that a person should look at (everything but ignored junk)."""
        return [u for u in self.unplaced if not u.ignored]


CANVAS_LATE = (
    "no hand-in time in Canvas's download: nbgrader's late penalty cannot apply; Canvas's own late policy "
    "(Gradebook settings > Late Policies) can, or write timestamp.txt by hand")


class CollectError(ValueError):
    """The download as a whole cannot be collected; the message says what to do."""


def student_shown(student: str, lms_id: str | None) -> str:
    """The student id, with Moodle's participant id beside it when that is another: "a.hart@uni.example
    (Participant 418201)"."""
    return f"{student} (Participant {lms_id})" if lms_id and lms_id != student else student


def describe(record: LmsHandIn) -> str:
    """One student's identity and time, as the download gave them."""
    parts = [record.full_name or "-"]
    if record.lms:
        parts.append(record.lms.capitalize())
    if record.late:
        parts.append("LATE")
    if record.resubmission:
        parts.append(f"resubmission {record.resubmission}")
    when = record.submitted
    parts.append(f"handed in {when:%Y-%m-%d %H:%M:%S} UTC" if when else "hand-in time not in the download")
    return ", ".join(parts)


def format_report(report: CollectReport) -> str:
    """A summary for the terminal: what landed where, who the students are, then what needs a person."""
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
    known = {s: r for s, r in report.records.items() if r.lms or r.submitted_at}  # a plain id says nothing more
    if known:
        shown = {s: student_shown(s, r.lms_id) for s, r in known.items()}
        width = max(map(len, shown.values()))
        lines += ["", "Students:"]
        lines += [f"  {shown[s]:<{width}}  {describe(r)}" for s, r in sorted(known.items())]
    late = {s: r for s, r in report.records.items() if r.lms == CANVAS and r.late and not r.submitted_at}
    if late:  # Canvas judged them late, and nothing here can act on it unless a person does
        lines += ["", f"Marked LATE by Canvas ({CANVAS_LATE}):"]
        lines += [f"  {s}  {r.full_name or '-'}" for s, r in sorted(late.items())]
    if report.warnings:
        lines += ["", "Placed without a hand-in time (nbgrader's late penalty cannot apply to them):"]
        lines += [f"  {w}" for w in report.warnings]
    if problems:
        lines += ["", "Not placed (fix and run collect again, or place by hand):"]
        lines += [f"  {u.source}: {u.reason}" for u in problems]
    if ignored:
        lines += ["", "Ignored (not hand-ins):"]
        lines += [f"  {u.source}: {u.reason.removeprefix('ignored: ')}" for u in ignored]
    if report.notes:
        lines += [""] + report.notes
    return "\n".join(lines)


def nothing_placed(report: CollectReport, path: str) -> str:
    """Why a download placed nothing, and what to do: for `collect`'s exit status 1."""
    problems = report.problems
    if problems and all(u.older for u in problems):
        return (f"nothing placed from {path}: every hand-in in it is older than the one already collected, "
                "which stays. Nothing to do, unless an older one should count: see 'Not placed' above")
    if not problems:
        return (f"nothing placed from {path}: it holds no hand-ins, only files that are none (listed above). "
                "Is it the right download?")
    return (f"nothing placed from {path}: each file is listed under 'Not placed' above with what to do; "
            "fix them and collect again, or place them by hand as submitted/<student>/<assignment>/<notebook>.ipynb")
