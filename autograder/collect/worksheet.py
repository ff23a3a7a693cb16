"""Moodle's grading worksheet, read for what its download lacks: when each hand-in was made.

Moodle's "download all submissions" zip stamps every file with the moment the zip was made (see
`lms`), but the grading worksheet the same assignment offers (Submissions page > Grading action >
Download grading worksheet) has, per participant, the time the submission was last changed, and
the participant's full name and e-mail address. `collect --worksheet` reads it here; which hand-in
each row belongs to, and what is then written, is `collect`'s and `newest`'s job.

What Moodle writes (moodle/moodle, read in its source; the facts in our words):

- mod/assign/feedback/offline/locallib.php, download_grades: the worksheet is the grading table
  (mod/assign/gradingtable.php, assign_grading_table) downloaded as CSV through Moodle's dataformat
  writer (which may begin the file with a UTF-8 byte order mark).
- gradingtable.php, the constructor: columns "Identifier" (get_string('recordid', 'assign')),
  "Full name" and the identity fields such as "Email address" unless identities are hidden,
  "Status", "Grade", ..., "Last modified (submission)" (lastmodifiedsubmission, present only when a
  submission plugin is enabled), "Last modified (grade)", then the feedback columns.
- col_recordid: "Participant " (hiddenuser) + the participant id, the number in the download's
  folder names. col_timesubmitted: "-", or userdate() of the submission's timemodified when its
  status is not "new" (a draft counts).
- userdate() without a format (calendar/type/gregorian/classes/structure.php,
  timestamp_to_date_string) takes lang/en/langconfig.php's strftimedaydatetime,
  "%A, %d %B %Y, %I:%M %p", drops the leading zero of the day and of the hour, and writes it in the
  downloading user's time zone (their profile's, by default the site's): "Friday, 1 March 2024,
  2:05 PM". To the minute: the seconds are not in the file.

Only English worksheets are read (the headers and month names are the language's); anything else
is refused with the line and the value, before anything is collected.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from .report import CollectError

IDENTIFIER = "Identifier"
FULL_NAME = "Full name"
EMAIL = "Email address"
STATUS = "Status"
LAST_MODIFIED = "Last modified (submission)"
PARTICIPANT = re.compile(r"Participant (?P<id>\d+)")
NO_TIME = ("-", "")  # col_timesubmitted's "-": nothing handed in (or only a "new", empty submission)
MOODLE_TIME = re.compile(  # strftimedaydatetime after userdate's fixes, e.g. "Friday, 1 March 2024, 2:05 PM"
    r"(?P<weekday>[A-Za-z]+), (?P<day>\d{1,2}) (?P<month>[A-Za-z]+) (?P<year>\d{4}), "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}) (?P<half>[AaPp][Mm])")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_BYTES = 20 * 1024 * 1024  # a class's worksheet is kilobytes
MAX_LISTED = 10  # bad rows named in one error
HOW_TO_GET_IT = ("download it from the assignment (Submissions > Grading action > Download grading worksheet) with "
                 "Moodle's language set to English, and give it as it is, not saved again by a spreadsheet program")


@dataclass(frozen=True)
class Row:
    participant: str  # Moodle's participant id: the student id collect gives the hand-in
    line: int  # in the file, for messages
    full_name: str | None
    email: str | None
    status: str | None
    submitted: datetime | None  # UTC; None: "-", nothing handed in
    shown: str  # the time as the worksheet writes it
    note: str | None = None  # a time the zone makes ambiguous, and which was taken


@dataclass
class Worksheet:
    path: Path
    zone: str  # the zone its times were read in, in words
    rows: dict[str, Row] = field(default_factory=dict)  # participant id -> row
    columns: tuple[str, ...] = ()  # its header, as read: Moodle leaves out the identity fields it hides


def zone_shown(zone: tzinfo | None) -> str:
    """The zone times are read in, as the report names it."""
    if zone is not None:
        return f"{getattr(zone, 'key', None) or zone} (--timezone)"
    local = os.environ.get("TZ") or _local_zone_name()
    shown = local or datetime.now().astimezone().tzname() or "unknown"
    return f"{shown}, this machine's zone (no --timezone given)"


def _local_zone_name() -> str | None:
    target = os.path.realpath("/etc/localtime")
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None


def moodle_time(text: str, zone: tzinfo | None) -> tuple[datetime, str | None]:
    """A time as Moodle's userdate() writes it in English, read in `zone` (None: this machine's), in UTC;
    with a note when the zone's clocks went back that hour (the earlier reading is taken). ValueError says why
    it is not one."""
    found = MOODLE_TIME.fullmatch(" ".join(text.split()))
    if not found:
        raise ValueError("not a time as Moodle writes it (as \"Friday, 1 March 2024, 2:05 PM\")")
    month = found["month"].capitalize()
    if month not in MONTHS:
        raise ValueError(f"{found['month']!r} is not a month's name in English")
    hour, minute = int(found["hour"]), int(found["minute"])
    if not (1 <= hour <= 12 and minute <= 59):
        raise ValueError(f"{found['hour']}:{found['minute']} is not a time of a 12-hour clock")
    hour = hour % 12 + (12 if found["half"].lower() == "pm" else 0)
    naive = datetime(int(found["year"]), MONTHS.index(month) + 1, int(found["day"]), hour, minute)  # ValueError
    if found["weekday"].capitalize() != WEEKDAYS[naive.weekday()]:
        raise ValueError(f"{naive:%d %B %Y} was a {WEEKDAYS[naive.weekday()]}, not a {found['weekday']}")
    return _in_utc(naive, zone)


def _in_utc(naive: datetime, zone: tzinfo | None) -> tuple[datetime, str | None]:
    def utc(fold: int) -> datetime:
        local = naive.replace(fold=fold) if zone is None else naive.replace(fold=fold, tzinfo=zone)
        return local.astimezone(timezone.utc)

    first, second = utc(0), utc(1)
    back = first.astimezone(zone) if zone is not None else first.astimezone()
    if back.replace(tzinfo=None) != naive:
        raise ValueError("that time does not exist in the zone it is read in (its clocks skip it): is --timezone "
                         "the zone of the Moodle user who downloaded the worksheet?")
    if first == second:
        return first, None
    earlier = min(first, second)  # of two readings, the one that makes the hand-in less late
    return earlier, (f"{naive:%Y-%m-%d %H:%M} happened twice in this zone (clocks went back): taken as the "
                     f"earlier, {earlier:%H:%M} UTC")


def _cell(record: dict[str, str | None], column: str) -> str | None:
    value = (record.get(column) or "").strip()
    return value or None


def _text(path: Path) -> str:
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError as error:
        raise CollectError(f"the worksheet {path} cannot be read ({error.strerror or error}): nothing was "
                           "collected") from None
    if data is None:
        raise CollectError(f"the worksheet {path} is over {MAX_BYTES // 2**20} MiB, which no grading worksheet "
                           f"is: is it the right file? Nothing was collected")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CollectError(f"the worksheet {path} is not UTF-8 text, as Moodle writes it: {HOW_TO_GET_IT}. "
                           "Nothing was collected") from None


def read_worksheet(path: Path, zone: tzinfo | None) -> Worksheet:
    """Every row of Moodle's grading worksheet, its times in UTC. CollectError, naming each bad line and
    value, when it is not Moodle's English worksheet or a row cannot be read: nothing is taken from it then."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in (IDENTIFIER, LAST_MODIFIED) if c not in header]
    if missing:
        raise CollectError(
            f"{path} is not Moodle's grading worksheet in English: its first line has no "
            f"{' or '.join(repr(c) for c in missing)} column (it has {', '.join(map(repr, header[:8])) or 'none'}). "
            f"{HOW_TO_GET_IT[0].upper()}{HOW_TO_GET_IT[1:]}. Nothing was collected")
    sheet = Worksheet(path, zone_shown(zone), columns=tuple(header))
    problems: list[str] = []
    for record in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # a blank line
        got = _row(record, line, zone)
        if isinstance(got, str):
            problems.append(got)
        elif got.participant in sheet.rows:
            problems.append(f"line {line}: Participant {got.participant} again (first on line "
                            f"{sheet.rows[got.participant].line})")
        else:
            sheet.rows[got.participant] = got
    if problems:
        listed = problems[:MAX_LISTED] + ([f"... and {len(problems) - MAX_LISTED} more"]
                                           if len(problems) > MAX_LISTED else [])
        raise CollectError(f"the worksheet {path} has rows that cannot be read, so nothing was collected:\n  "
                           + "\n  ".join(listed) + f"\n{HOW_TO_GET_IT[0].upper()}{HOW_TO_GET_IT[1:]}")
    return sheet


def _row(record: dict[str, str | None], line: int, zone: tzinfo | None) -> Row | str:
    """One participant's row, or what is wrong with it."""
    identifier = _cell(record, IDENTIFIER) or ""
    who = PARTICIPANT.fullmatch(identifier)
    if not who:
        return f"line {line}: Identifier {identifier[:60]!r} is not \"Participant\" and a number"
    shown = " ".join((record.get(LAST_MODIFIED) or "").split())
    submitted, note = None, None
    if shown not in NO_TIME:
        try:
            submitted, note = moodle_time(shown, zone)
        except ValueError as why:
            return f"line {line} ({identifier}): {LAST_MODIFIED} {shown[:60]!r}: {why}"
    return Row(who["id"], line, _cell(record, FULL_NAME), _cell(record, EMAIL), _cell(record, STATUS),
               submitted, shown, note)
