"""collect: an LMS download (zip or folder) becomes
``submitted/<student>/<assignment>/<notebook>.ipynb``.

Works like ``nbgrader zip_collect`` (unpack first, then read the student id
and the file from each name), but knows the Moodle and Canvas naming itself,
matches renamed notebooks, and lists every file it does not place with the
reason. Nothing is written until every file has been read and every decision
made; each destination is then written atomically.

The names inside a download are never used as paths: only the student id
(checked to be a plain folder name) and the assignment's own notebook names
make up a destination, so an entry like ``../../gradebook.db`` cannot escape.

Who each student is, as the LMS names them, goes to
``collected/<assignment>/roster.json`` (`autograder.roster`), and the newest
hand-in wins: one older than what the course holds is refused; one it replaces
is kept aside, never deleted.

This module is the stage itself; its steps live in the modules beside it:
`archive` (what the download holds, within limits), `lms` (who handed in
what), `names` and `content` (which notebook a file is), `place` (deciding),
`handin_times` and `worksheet` (when each was handed in: Moodle's grading worksheet, Canvas's
LATE), `identity` (which student id a Moodle hand-in gets: its participant id, or one id per
person by e-mail address), `newest` (against the course's hand-ins, and writing), `students`
(names into the gradebook) and `report` (what the user is told).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nbformat

from ..roster import MOODLE as MOODLE_LMS
from ..roster import read_roster, write_roster
from .archive import Limits, list_download
from .handin_times import times_notes, with_worksheet_identity, worksheet_times
from .identity import CHOICES as STUDENT_ID_CHOICES
from .identity import EMAIL as EMAIL_IDS
from .identity import PARTICIPANT as PARTICIPANT_IDS
from .identity import PARTICIPANT_HINT, by_email, check_choice, check_roster
from .lms import CANVAS, MOODLE, SAFE_ID, HandIn, assign_students, strip_wrappers
from .names import is_notebook_name, match_name, name_candidates, strip_notebook_suffix
from .newest import Collect, settle
from .place import decide, read_all, read_stamps
from .report import CollectError, CollectReport, Placed, Unplaced, format_report, nothing_placed
from .students import gradebook_emails, name_students
from .worksheet import Worksheet, read_worksheet

__all__ = [
    "CANVAS", "EMAIL_IDS", "MOODLE", "PARTICIPANT_IDS", "STUDENT_ID_CHOICES", "CollectError", "CollectReport",
    "Limits", "Placed", "Unplaced", "collect", "format_report", "gradebook_emails", "is_notebook_name",
    "match_name", "name_candidates", "name_students", "nothing_placed", "templates_from", "timezone_named",
]


def _notebook_stems(notebook_names: Iterable[str]) -> list[str]:
    """Accepts "02_backward", "02_backward.ipynb" or a path to the release notebook."""
    stems = [strip_notebook_suffix(Path(n).name) for n in notebook_names]
    if not stems:
        raise CollectError("the assignment has no notebooks: generate its release first")
    for stem in stems:
        if not SAFE_ID.fullmatch(stem):
            raise CollectError(f"notebook name {stem!r} is not a plain file name: rename it in source/")
    return stems


def templates_from(release: Path) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of one assignment (release/<assignment>/*.ipynb), by name, for `collect`."""
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(release).glob("*.ipynb"))}


def timezone_named(name: str | None) -> tzinfo | None:
    """The zone a download's zip times and Moodle worksheet's times are read in: the IANA zone named, or
    None (this machine's)."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CollectError(f"--timezone {name!r} is no time zone this machine knows: give an IANA name such as "
                           "Europe/Berlin, America/New_York or UTC. Nothing was collected") from None


def _moodle_only(sheet: Worksheet, handins: list[HandIn], path: Path) -> None:
    """A worksheet is Moodle's: refused (before anything is written) for a download with no Moodle hand-in."""
    if not any(h.lms == MOODLE_LMS for h in handins):
        raise CollectError(f"--worksheet {sheet.path} is Moodle's grading worksheet, but {path} holds no hand-in "
                           "named the way Moodle's download names them (\"<full name>_<id>_assignsubmission_"
                           "file_\"): give the zip of the same Moodle assignment. Nothing was collected")


def collect(course: Path, assignment: str, path: Path, notebook_names: list[str],
            templates: dict[str, nbformat.NotebookNode] | None = None,
            limits: Limits | None = None, zone: tzinfo | None = None,
            now: datetime | None = None, worksheet: Path | None = None, student_ids: str = PARTICIPANT_IDS,
            gradebook: Callable[[], Mapping[str, str | None]] | None = None) -> CollectReport:
    """Place each notebook of an LMS download at submitted/<student>/<assignment>/<notebook>.ipynb,
    unless the course holds a newer hand-in of the student's, and record who handed it in.

    `templates` (notebook name -> release notebook) lets files that are neither
    named right nor the only one be recognised by their content. `limits` bounds
    what the download may unpack to (by default `Limits()`, which suits a class).
    `zone` is the one the zip's and the worksheet's times are read in (by default this machine's);
    `now` names the folders replaced hand-ins are kept in (by default, now). `worksheet` is Moodle's
    grading worksheet of the assignment: the hand-ins' times (`worksheet`, `handin_times`). `student_ids`
    is PARTICIPANT_IDS (Moodle's participant ids, this assignment's own) or EMAIL_IDS (one id per person, by
    the worksheet's e-mail addresses: `identity`); `gradebook` reads the gradebook's students' ids and
    addresses for EMAIL_IDS (`gradebook_emails`), only once everything else is found good."""
    if not SAFE_ID.fullmatch(assignment):
        raise CollectError(f"assignment name {assignment!r} is not a plain folder name")
    if not Path(course).is_dir():
        raise CollectError(f"course folder {course} does not exist: run this from the course directory")
    notebooks = _notebook_stems(notebook_names)
    by_stem = {strip_notebook_suffix(Path(k).name): v for k, v in (templates or {}).items()}
    known = {nb: by_stem[nb] for nb in notebooks if nb in by_stem}
    roster = read_roster(Path(course), assignment)  # a damaged roster stops here, before anything is written
    sheet = read_worksheet(Path(worksheet), zone) if worksheet else None  # so does a bad worksheet
    check_choice(student_ids, sheet)  # and ids that cannot be taken the way asked
    run = Collect(Path(course), assignment, str(path), (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    report = CollectReport()
    with tempfile.TemporaryDirectory(prefix="autograder-collect-") as tmp, ExitStack() as stack:
        download = list_download(Path(path), Path(tmp), stack, limits or Limits(), zone)
        handins, unplaced, stamps = assign_students(strip_wrappers(download.entries, notebooks), notebooks)
        if sheet:
            _moodle_only(sheet, handins, path)
        if student_ids == EMAIL_IDS and sheet:
            handins = by_email(handins, sheet, gradebook() if gradebook else {})
        check_roster(handins, roster, assignment)
        times, unread_times = read_stamps(stamps, download)
        candidates, unreadable = read_all(handins, download)
        decisions, unmatched = decide(candidates, notebooks, known)
        if sheet:
            timing = worksheet_times(sheet, handins, decisions)
            times.update(timing.times)
            report.warnings, report.notes = timing.warnings, timing.notes
        settled = settle(run, decisions, roster, times)
        report.placed = settled.placed
        report.records = with_worksheet_identity(settled.records, sheet) if sheet else settled.records
        report.unplaced += settled.unplaced + download.unplaced + unplaced + unread_times + unreadable + unmatched
    if report.records:
        write_roster(Path(course), assignment, {**roster, **report.records})
    report.unplaced.sort(key=lambda u: (u.ignored, u.source))
    report.notes += times_notes(report.records, sheet)
    if student_ids == PARTICIPANT_IDS and any(h.lms == MOODLE_LMS for h in handins):
        report.notes.append(PARTICIPANT_HINT)
    return report
