"""Who handed in each collected hand-in, as the LMS download named them, and when.

`collect` writes one record per student and assignment to
``collected/<assignment>/roster.json`` in the course; `export --format canvas|moodle`,
`feedback --zip` and `report` read it to give grades, feedback and names back in the
LMS's own terms (a Canvas user id, a Moodle "Participant N" and folder name). The file
is the course's, beside nbgrader's folders, not in ``submitted/``: nothing in it reaches
a kernel, and nbgrader never takes it for a student.

Only the records: reading them out of a download is `collect.lms`'s job, and which of two
hand-ins is later is `later_than` here, so that every command agrees.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from .files import write_atomically

FOLDER = "collected"  # in the course root
ROSTER_FILE = "roster.json"
REPLACED_FOLDER = "replaced"  # collected/<assignment>/replaced/<student>/<when>/: hand-ins a later one replaced

MOODLE, CANVAS = "moodle", "canvas"


@dataclass(frozen=True)
class LmsHandIn:
    """One student's hand-in of one assignment, as the download gave it."""

    # the nbgrader student id: the LMS's user id (Moodle participant id, Canvas user id), or with
    # `collect --student-ids email` one id per person from Moodle's worksheet (then `lms_id` is the participant id)
    student: str
    lms: str | None = None  # MOODLE, CANVAS, or None for a folder or zip of <student>/... files
    # Moodle: "Amelia Hart" (from the folder; under anonymous submissions, from the worksheet if given);
    # Canvas: its name slug, "hartamelia"
    full_name: str | None = None
    folder: str | None = None  # the LMS's prefix for this student as the download spells it, for feedback
    # Canvas: the number after the user id. Canvas's ContentZipper names each file
    # "<name>_[LATE_]<user id>_<attachment id>_<file name>": it is the file's id, numbered upward, so
    # higher is later; a hand-in of several files keeps its highest.
    submission_id: int | None = None
    resubmission: int | None = None  # Canvas: N of "name-N.ipynb" when a file was handed in again; 0 the first
    late: bool = False  # Canvas marked it LATE
    # ISO 8601 UTC: when the student handed it in, where something says so: an nbgrader timestamp.txt in
    # the download, or Moodle's grading worksheet ("Last modified (submission)", `collect --worksheet`).
    # Never from a Moodle or Canvas zip: both stamp every file with the moment they build the zip (see
    # collect/lms.py), so that time is `zip_time`, not this.
    submitted_at: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # notebook -> the file name the student handed in
    download: str | None = None  # the download it came from, as the person named it
    collected_at: str | None = None  # ISO 8601 UTC
    # ISO 8601 UTC: the member time of the LMS's own zip (read in `collect --timezone`): when that LMS made
    # the download. It orders two downloads of one LMS (a later download holds the later hand-in); it
    # says nothing of lateness. None for folders and other zips, whose file times anyone may have set.
    zip_time: str | None = None
    email: str | None = None  # Moodle: the grading worksheet's "Email address" (`collect --worksheet`)
    # the LMS's id for this hand-in when it is not the student id: Moodle's participant id in THIS assignment
    # (`collect --student-ids email`); grades and feedback go back to Moodle under it. Last, so that older
    # roster.json files still load.
    lms_id: str | None = None

    @property
    def submitted(self) -> datetime | None:
        return datetime.fromisoformat(self.submitted_at) if self.submitted_at else None

    @property
    def zipped(self) -> datetime | None:
        return datetime.fromisoformat(self.zip_time) if self.zip_time else None

    @property
    def names(self) -> tuple[str | None, str | None]:
        """(first, last) for nbgrader's Student: Moodle's full name split at its last space; a Canvas slug
        cannot be split, so it is the last name."""
        if not self.full_name:
            return None, None
        if self.lms == CANVAS:
            return "", self.full_name
        first, _, last = self.full_name.strip().rpartition(" ")
        return first, last


def ordering(new: LmsHandIn, old: LmsHandIn) -> tuple[bool | None, str]:
    """Is `new` a later hand-in than `old` (None: nothing in either says), and what says so, in words.

    Canvas numbers files upward, so its ids decide first, then the resubmission number; then the
    hand-in times; last, for two downloads of one LMS, when each was made (a later download holds
    the student's hand-in as it was then, so never an earlier one)."""
    if new.submission_id is not None and old.submission_id is not None and new.submission_id != old.submission_id:
        return new.submission_id > old.submission_id, f"Canvas file id {new.submission_id} against {old.submission_id}"
    if new.resubmission is not None and old.resubmission is not None and new.resubmission != old.resubmission:
        return new.resubmission > old.resubmission, f"resubmission {new.resubmission} against {old.resubmission}"
    if new.submitted and old.submitted and new.submitted != old.submitted:
        return new.submitted > old.submitted, f"handed in {_shown(new.submitted)} against {_shown(old.submitted)}"
    new_zip, old_zip = new.zipped, old.zipped
    if new.lms and new.lms == old.lms and new_zip and old_zip and new_zip != old_zip:
        return new_zip > old_zip, (f"from a {new.lms.capitalize()} download made {_shown(new_zip)} against "
                                   f"one made {_shown(old_zip)}")
    return None, "neither has a file id, resubmission number, hand-in time or download time that orders them"


def later_than(new: LmsHandIn, old: LmsHandIn) -> bool | None:
    """Is `new` a later hand-in than `old`? None when nothing in either says (see `ordering`)."""
    return ordering(new, old)[0]


def _shown(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def roster_path(course_root: Path, assignment: str) -> Path:
    return Path(course_root) / FOLDER / assignment / ROSTER_FILE


def replaced_folder(course_root: Path, assignment: str, student: str) -> Path:
    return Path(course_root) / FOLDER / assignment / REPLACED_FOLDER / student


def read_roster(course_root: Path, assignment: str) -> dict[str, LmsHandIn]:
    """The records of one assignment by student id; empty when nothing was collected from an LMS."""
    path = roster_path(course_root, assignment)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(LmsHandIn)}
        return {student: LmsHandIn(**{k: v for k, v in record.items() if k in known})
                for student, record in data["students"].items()}
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is damaged ({error}): restore it from a backup, or delete it and "
                         "collect the assignment's downloads again, oldest first") from None


def write_roster(course_root: Path, assignment: str, records: dict[str, LmsHandIn]) -> Path:
    """All of one assignment's records, written at once (a reader sees the old file or the new one)."""
    path = roster_path(course_root, assignment)
    data = {"assignment": assignment,
            "students": {s: asdict(r) for s, r in sorted(records.items())}}
    write_atomically(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return path
