"""When each LMS hand-in was handed in, where anything says so, and what a person is told where
nothing does.

- Moodle: its zip has no hand-in times (see `lms`), its grading worksheet has them (`worksheet`).
  Each hand-in of the download gets its participant's "Last modified (submission)", unless that is
  later than the zip was made: then the zip holds an earlier version than the worksheet describes,
  and the time is not taken (a person is told).
- Canvas: its download has no time at all, only its LATE mark; the hand-in keeps `late`, no time is
  invented, and the report lists it with what can be done.

The times go to `newest.settle`, which orders hand-ins by them (`roster.later_than`) and writes
them as nbgrader's timestamp.txt. Not here: reading the worksheet (`worksheet`), writing (`newest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from ..roster import CANVAS, MOODLE, LmsHandIn
from .lms import HandIn
from .place import Decision
from .report import student_shown
from .worksheet import Worksheet

MAX_IDS_LISTED = 20

MOODLE_NO_TIMES = (
    "Hand-in times: Moodle's download has none (its zip stamps every file with the moment it was made), so no "
    "timestamp.txt was written for its hand-ins and nbgrader's late penalty cannot apply to them. Give the "
    "assignment's grading worksheet too (Moodle: Submissions > Grading action > Download grading worksheet, "
    "offered when the assignment's feedback types include \"Offline grading worksheet\"; download it with the "
    "zip): autograder collect ASSIGNMENT DOWNLOAD.zip --worksheet WORKSHEET.csv. "
    "Collecting the same zip again with it adds the times.")
CANVAS_NO_TIMES = (
    "Hand-in times: Canvas's download has none, only its LATE mark, so no timestamp.txt was written for its "
    "hand-ins; those Canvas marked LATE are listed above.")


@dataclass
class Timing:
    times: dict[str, datetime] = field(default_factory=dict)  # student -> handed in (UTC)
    warnings: list[str] = field(default_factory=list)  # hand-ins left without a time: a person must look
    notes: list[str] = field(default_factory=list)  # what was read, and worksheet rows with no hand-in here


def _zip_made(decisions: list[Decision]) -> datetime | None:
    """When Moodle made the zip the student's files came in (None: not from an LMS's own zip)."""
    made = [r.zipped for d in decisions if (r := d.candidate.handin.record(d.notebook)).zipped]
    return max(made, default=None)


def _listed(ids: list[str]) -> str:
    shown = ", ".join(f"Participant {i}" for i in ids[:MAX_IDS_LISTED])
    return shown + (f" and {len(ids) - MAX_IDS_LISTED} more" if len(ids) > MAX_IDS_LISTED else "")


def worksheet_times(sheet: Worksheet, handins: list[HandIn], decisions: list[Decision]) -> Timing:
    """The worksheet's time for each Moodle hand-in of the download; warnings for those left without one."""
    read = (f"Hand-in times: from Moodle's worksheet {sheet.path.name}, read in {sheet.zone}. Moodle gives them "
            "to the minute, so a hand-in less than a minute late counts as on time for nbgrader.")
    timing = Timing(notes=[read])
    decided: dict[str, list[Decision]] = {}
    for d in decisions:
        if d.candidate.handin.lms == MOODLE:
            decided.setdefault(d.candidate.handin.student, []).append(d)
    for student, mine in sorted(decided.items()):
        participant = mine[0].candidate.handin.lms_id or student  # the worksheet's rows are by participant id
        row, who = sheet.rows.get(participant), student_shown(student, mine[0].candidate.handin.lms_id)
        if row is None:
            timing.warnings.append(
                f"{who}: the worksheet has no row for Participant {participant}, so this hand-in has no time and "
                "nbgrader's late penalty cannot apply. Is the worksheet from the same assignment and group? "
                "Download it again, or write timestamp.txt by hand")
        elif row.submitted is None:
            timing.warnings.append(
                f"{who}: the worksheet shows no submission for Participant {participant} (line {row.line}), yet "
                "the download holds one: no hand-in time was taken. Download the zip and the worksheet again, "
                "one right after the other")
        elif (made := _zip_made(mine)) and row.submitted > made:
            timing.warnings.append(
                f"{who}: the worksheet says the submission was last changed {row.shown} (line {row.line}), "
                f"after the zip was made ({made:%Y-%m-%d %H:%M:%S} UTC), so the zip may hold an earlier version "
                "and that time was not taken. Download the zip and the worksheet again, one right after the "
                "other (or, if --timezone is not the zone Moodle's server writes zip times in, correct it)")
        else:
            timing.times[student] = row.submitted
            if row.note:
                timing.notes.append(f"Participant {participant}: {row.note}")
    handed_in = {h.lms_id or h.student for h in handins if h.lms == MOODLE}
    absent = sorted((r for p, r in sheet.rows.items() if p not in handed_in), key=lambda r: r.line)
    timing.notes += [f"Participant {r.participant} ({r.full_name or 'no name'}): the worksheet says handed in "
                     f"{r.shown}, but this download holds no hand-in of theirs" for r in absent if r.submitted]
    never = [r.participant for r in absent if not r.submitted]
    if never:
        timing.notes.append(f"{len(never)} participant(s) have no submission in the worksheet: {_listed(never)}")
    return timing


def with_worksheet_identity(records: dict[str, LmsHandIn], sheet: Worksheet) -> dict[str, LmsHandIn]:
    """Moodle records with the worksheet's full name where the folder gave none (anonymous submissions) and
    its e-mail address where the record has none."""
    named = {}
    for student, record in records.items():
        row = sheet.rows.get(record.lms_id or student) if record.lms == MOODLE else None
        named[student] = replace(record, full_name=record.full_name or row.full_name,
                                 email=record.email or row.email) if row else record
    return named


def times_notes(records: dict[str, LmsHandIn], sheet: Worksheet | None) -> list[str]:
    """What the report says of hand-in times the downloads did not give."""
    notes = []
    if sheet is None and any(r.lms == MOODLE and not r.submitted_at for r in records.values()):
        notes.append(MOODLE_NO_TIMES)
    if any(r.lms == CANVAS and not r.submitted_at for r in records.values()):
        notes.append(CANVAS_NO_TIMES)
    return notes

