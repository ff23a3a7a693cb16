"""The newest hand-in wins: what a download brings for a student against what
the course already holds (the student's roster.json record, else nbgrader's
timestamp.txt), ordered by `roster.ordering`, the rule every command shares; then
the winner written.

- Older than the course's: nothing of it is placed; the report says why, and how
  to place it by hand.
- Newer, or nothing says which (then the one collected last wins, as before, and
  the report says it could not tell): placed. Each file it replaces (notebooks,
  timestamp.txt, the roster record) is first copied to
  collected/<assignment>/replaced/<student>/<UTC time of collect>/, never deleted.

Every file is written atomically; a destination is made only of the student id
(checked by `lms`) and the assignment's own notebook names, and a symbolic link
planted in submitted/ is not followed. Not here: which file is which notebook
(`place`), the roster file itself (`roster`).
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.utils import parse_utc

from ..coursedir import TIMESTAMP_FILE, write_timestamp
from ..files import write_atomically
from ..roster import LmsHandIn, ordering, replaced_folder
from .place import Decision
from .report import Placed, Unplaced

ASIDE_TIME = "%Y-%m-%dT%H-%M-%SZ"  # a folder name: no ":" (Windows, zip tools)
ASIDE_RECORD = "record.json"  # the replaced hand-in's roster record, beside its files


@dataclass
class Settled:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    records: dict[str, LmsHandIn] = field(default_factory=dict)  # for roster.json: students placed this time


@dataclass(frozen=True)
class Collect:
    """One run of collect: where, from what, and when (its UTC time names the folders of replaced hand-ins)."""

    course: Path
    assignment: str
    download: str  # as the person named it
    now: datetime

    def folder(self, student: str) -> Path:
        return self.course / "submitted" / student / self.assignment

    def shown(self, path: Path) -> str:
        return path.relative_to(self.course).as_posix()


def _held_record(run: Collect, student: str, record: LmsHandIn | None) -> LmsHandIn | None:
    """What the course knows of the hand-in it holds: its roster record, else its timestamp.txt."""
    if record:
        return record
    try:
        text = (run.folder(student) / TIMESTAMP_FILE).read_text(encoding="utf-8").strip()
        when = parse_utc(text) if text else None
    except (OSError, UnicodeDecodeError, ValueError, OverflowError, TypeError):
        return None  # no time nbgrader could read either: nothing to order by
    return LmsHandIn(student, submitted_at=when.replace(tzinfo=timezone.utc).isoformat()) if when else None


def _new_record(run: Collect, student: str, decisions: list[Decision], when: datetime | None) -> LmsHandIn:
    """The student's record from the files that won: the LMS's identity, the highest ids, any LATE."""
    records = [d.candidate.handin.record(d.notebook) for d in decisions]
    ids = [r.submission_id for r in records if r.submission_id is not None]
    copies = [r.resubmission for r in records if r.resubmission is not None]
    zipped = [r.zip_time for r in records if r.zip_time]
    return replace(records[0], submission_id=max(ids, default=None), resubmission=max(copies, default=None),
                   late=any(r.late for r in records), submitted_at=when.isoformat() if when else None,
                   files={nb: name for r in records for nb, name in r.files.items()}, download=run.download,
                   collected_at=run.now.isoformat(timespec="seconds"), zip_time=max(zipped, default=None))


def _aside(run: Collect, student: str) -> Path:
    """A new folder for the hand-in being replaced, named after this collect's UTC time."""
    base = replaced_folder(run.course, run.assignment, student) / run.now.strftime(ASIDE_TIME)
    folder, n = base, 1
    while folder.exists():  # collected twice within a second
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def _keep_aside(run: Collect, student: str, files: list[Path], held: LmsHandIn | None) -> Path:
    """Copies of what is about to be replaced (OSError if they cannot all be made)."""
    folder = _aside(run, student)
    stamp = run.folder(student) / TIMESTAMP_FILE
    for path in [*files, stamp] if stamp.is_file() else files:
        shutil.copy2(path, folder / path.name)
    if held:
        write_atomically(folder / ASIDE_RECORD, (json.dumps(asdict(held), indent=1, ensure_ascii=False) + "\n").encode())
    return folder


def _refuse_older(run: Collect, decisions: list[Decision], why: str, same: set[str]) -> list[Unplaced]:
    shown = run.shown(run.folder(decisions[0].candidate.handin.student))
    return [Unplaced(d.candidate.handin.entry.source, (
        f"older than the hand-in already in {shown}/ ({why}): not placed; the one there stays"
        + (" (this file is the same as its copy there)" if d.notebook in same else "")
        + f". To count this one instead, move {shown}/{d.notebook}.ipynb aside and copy this file there as "
        f"{d.notebook}.ipynb by hand"), older=True) for d in decisions]


def _note(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


class _Student:
    """One student's hand-in from this download, settled against the course's."""

    def __init__(self, run: Collect, student: str, decisions: list[Decision], recorded: LmsHandIn | None,
                 when: datetime | None) -> None:
        self.run, self.student, self.when = run, student, when
        self.folder = run.folder(student)
        self.decisions = sorted(decisions, key=lambda d: d.notebook)
        self.recorded = recorded  # the roster's record of the hand-in the course holds
        self.held = _held_record(run, student, recorded)
        self.new = _new_record(run, student, self.decisions, when)
        self.bytes = {d.notebook: d.candidate.copy.read_bytes() for d in self.decisions}

    def dest(self, d: Decision) -> Path:
        return self.folder / f"{d.notebook}.ipynb"

    def same(self, d: Decision) -> bool:
        dest = self.dest(d)
        return dest.is_file() and dest.read_bytes() == self.bytes[d.notebook]

    def settle(self, out: Settled) -> None:
        submitted = (self.run.course / "submitted").resolve()
        escaping = [d for d in self.decisions if not self.dest(d).resolve().is_relative_to(submitted)]
        out.unplaced += [Unplaced(d.candidate.handin.entry.source, (
            f"{self.run.shown(self.dest(d))} leads outside submitted/ (a symbolic link?): not written; remove "
            "the link and collect again")) for d in escaping]
        self.decisions = [d for d in self.decisions if d not in escaping]
        if not self.decisions:
            return
        holds = self.folder.is_dir() and any(self.folder.glob("*.ipynb"))
        if not holds:
            later, why = True, ""
        elif self.held is None:
            later, why = None, "the one there has no roster record or timestamp.txt"
        else:
            later, why = ordering(self.new, self.held)
        changed = [d for d in self.decisions if not self.same(d)]
        if not changed:
            self._unchanged(out, keep_held=later is False)
        elif later is False:
            out.unplaced += _refuse_older(self.run, self.decisions, why, {d.notebook for d in self.decisions
                                                                           if d not in changed})
        else:
            self._place(out, changed, None if later else why)

    def _unchanged(self, out: Settled, keep_held: bool) -> None:
        for d in self.decisions:
            out.placed.append(Placed(self.student, d.candidate.handin.entry.source, self.dest(d),
                                     _note(d.note, "unchanged")))
        if not keep_held:
            out.records[self.student] = self._merged(unchanged=True)
        elif self.recorded:
            out.records[self.student] = self.recorded
        if self.when and not keep_held and self.when != self.held_time():  # the same files, now with a time
            write_timestamp(self.folder, self.when)

    def held_time(self) -> datetime | None:
        """The time the course's timestamp.txt gives the hand-in it holds (None: none it can read)."""
        held = _held_record(self.run, self.student, None)
        return held.submitted if held else None

    def _merged(self, unchanged: bool = False) -> LmsHandIn:
        """The new record, keeping the names of notebooks the old hand-in left that this one does not bring.

        A plain folder or zip says nothing of who the student is to the LMS; the student is the same (the id
        is), so the LMS's names and ids stay, or `export` and `feedback --zip` would lose the student. Of the
        times, only what the new files bring counts, unless they are the old files byte for byte."""
        old = self.recorded
        if not old:
            return self.new
        kept = {nb: name for nb, name in old.files.items()
                if nb not in self.new.files and (self.folder / f"{nb}.ipynb").is_file()}
        merged = replace(self.new, files={**kept, **self.new.files})
        if self.new.lms is None and old.lms:
            merged = replace(merged, lms=old.lms, full_name=old.full_name, folder=old.folder, email=old.email,
                             submission_id=old.submission_id, resubmission=old.resubmission, late=old.late,
                             lms_id=old.lms_id)
        if unchanged:  # the same bytes: when they were handed in, and which download held them, still hold
            merged = replace(merged, submitted_at=merged.submitted_at or old.submitted_at,
                             zip_time=merged.zip_time or old.zip_time)
        return merged

    def _place(self, out: Settled, changed: list[Decision], unknown_order: str | None) -> None:
        replaced = [d for d in changed if self.dest(d).exists()]
        kept = None
        if replaced:
            try:
                kept = _keep_aside(self.run, self.student, [self.dest(d) for d in replaced], self.recorded)
            except OSError as e:
                out.unplaced += [Unplaced(d.candidate.handin.entry.source, (
                    f"the hand-in it replaces could not be kept aside ({e}): nothing of {self.student}'s was "
                    "written; fix that and collect again")) for d in self.decisions]
                return
        aside = f"the earlier one kept in {self.run.shown(kept)}/" if kept else None
        order = (f"could not tell which is newer ({unknown_order}): this one, collected last, replaced it"
                 if unknown_order and kept else None)
        for d in self.decisions:
            source = d.candidate.handin.entry.source
            if d not in changed:
                out.placed.append(Placed(self.student, source, self.dest(d), _note(d.note, "unchanged")))
                continue
            try:
                write_atomically(self.dest(d), self.bytes[d.notebook])
            except OSError as e:
                out.unplaced.append(Unplaced(source, f"could not write {self.run.shown(self.dest(d))} ({e}): "
                                                     "fix that and collect again"))
                continue
            replacing = d in replaced
            out.placed.append(Placed(self.student, source, self.dest(d), _note(
                d.note, "replaced an earlier hand-in" if replacing else None,
                aside if replacing else None, order if replacing else None)))
        self._time(kept)
        out.records[self.student] = self._merged()

    def _time(self, kept: Path | None) -> None:
        """timestamp.txt is the new hand-in's time; the replaced one's, kept aside, does not stay."""
        stamp = self.folder / TIMESTAMP_FILE
        if self.when:
            write_timestamp(self.folder, self.when)
        elif kept and stamp.is_file():
            stamp.unlink()


def settle(run: Collect, decisions: list[Decision], roster: dict[str, LmsHandIn],
           times: dict[str, datetime]) -> Settled:
    """Each student's hand-in from this download, against the course's: placed, or refused as older."""
    by_student: dict[str, list[Decision]] = defaultdict(list)
    for d in decisions:
        by_student[d.candidate.handin.student].append(d)
    out = Settled()
    for student, mine in sorted(by_student.items()):
        _Student(run, student, mine, roster.get(student), times.get(student)).settle(out)
    return out
