"""Who handed in what: the student id and the file name, read from where an
entry sits in the download, knowing how Moodle and Canvas name hand-ins, and
the wrapper folders (a zipped "submissions/", a zip in a zip) taken off first;
and what a hand-in's name tells of it besides (`HandIn.record`).

Not here: which notebook a file is (`names`, `content`) and which of several
hand-ins wins (`place` within a download, `newest` against the course).

What the two LMSs put in their "download all submissions" zips (read in their sources):

- Moodle (mod/assign/locallib.php, assign::download_submissions; since 4.1 mod/assign/classes/downloader.php,
  get_student_prefix): a folder per student and submission plugin, "<full name>_<participant id>_
  assignsubmission_<plugin>_" ("..._<plugin>", no last "_", since 4.1), or with "downloadasfolders" off one
  flat file "<that>_<file name>". Moodle makes every "_" in the name " " ("Participant" under blind marking)
  and clean_filename only deletes characters, so the name never holds "_": what follows it, which a student
  may have named, is never read as the id. The zip is streamed with
  core_files\\archive_writer (files/classes/local/archive_writer/zip_writer.php,
  add_file_from_stored_file), which gives ZipStream no time, and ZipStream's Option\\File then
  takes "new DateTime()": every member carries the moment of the download, in the server's zone.
  (Moodle before 3.9 zipped with zip_packer/ZipArchive::addFile, the time of the server's copy of
  the content.) Neither is when the student handed in.
- Canvas (lib/content_zipper.rb, ContentZipper#add_upload_submission and #get_filename): flat,
  "<sortable name, lower case, only word characters>_[LATE_]<user id>_<attachment id>_<file name>".
  Read from the left, as Canvas itself reads these names back; Canvas turns "_<digits>_" in the name into
  "<digits>", but a name can still end in "_<digits>" (see `one_reading`);
  "LATE" is Canvas's own judgement of the submission. rubyzip's get_output_stream gets no time,
  so Zip::Entry takes Zip::DOSTime.now: again the moment the zip was built. A file handed in again
  under a name the student's Submissions folder already holds is renamed "<name>-N"
  (Attachment.make_unique_filename).

So a member's time is kept only as `LmsHandIn.zip_time`, which orders two downloads of one LMS,
and never as the hand-in's time: nbgrader would apply its late penalty to the download's date.
Moodle's hand-in times come from its grading worksheet instead (`worksheet`, `handin_times`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ..coursedir import TIMESTAMP_FILE
from ..roster import CANVAS as CANVAS_LMS
from ..roster import MOODLE as MOODLE_LMS
from ..roster import LmsHandIn
from .archive import IN_DOWNLOAD_ZIP, IN_NESTED_ZIP, Entry, junk_reason
from .names import canvas_copy_number, is_notebook_name, match_name, other_file_reason, strip_notebook_suffix
from .report import Unplaced

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
# Moodle: "<Full Name>_<participant id>_assignsubmission_file" + ("_/" file | "/" file | "_" file); no "_" in
# the name, so the two LMS's names never read one string both ways (their second "_" parts differ)
MOODLE = re.compile(r"(?P<name>[^_]+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<rest>.*))?",
                    re.DOTALL)
# Canvas: "<lastfirst>_[LATE_]<user id>_<attachment id>_<original file name>"
CANVAS = re.compile(r"(?P<name>[^_]+)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<sub>\d+)_(?P<rest>.+)", re.DOTALL)
BLIND_MARKING_NAME = "Participant"  # Moodle's folder name when identities are hidden: no name to keep


@dataclass(frozen=True)
class HandIn:
    student: str
    entry: Entry
    file_name: str  # as the student named it (LMS prefix removed)
    forced: str | None = None  # notebook it must be ("<student_id>.ipynb" form)
    lms: str | None = None  # roster.MOODLE or roster.CANVAS when the name is that LMS's
    full_name: str | None = None
    folder: str | None = None  # the LMS's prefix for the student, as the download spells it
    late: bool = False  # Canvas's LATE
    attachment: int | None = None  # Canvas's id of the file: higher is later
    lms_id: str | None = None  # Moodle's participant id when `student` is another id (`identity`)

    def record(self, notebook: str) -> LmsHandIn:
        """What this one file tells of the hand-in, as the roster keeps it (no download or collect time)."""
        zip_time = None
        if self.lms and self.entry.origin == IN_DOWNLOAD_ZIP and self.entry.mtime > 0:
            zip_time = datetime.fromtimestamp(self.entry.mtime, timezone.utc).isoformat(timespec="seconds")
        canvas = self.lms == CANVAS_LMS
        return LmsHandIn(self.student, self.lms, self.full_name, self.folder, self.attachment,
                         canvas_copy_number(self.file_name, notebook) if canvas else None, self.late,
                         files={notebook: self.file_name}, zip_time=zip_time, lms_id=self.lms_id)


def _lms_folder(name: str) -> tuple[str, re.Match[str]] | None:
    """Which LMS named this top-level entry, and how, or None for a name of neither."""
    for lms, pattern in ((MOODLE_LMS, MOODLE), (CANVAS_LMS, CANVAS)):
        if found := pattern.fullmatch(name):
            return lms, found
    return None


def _full_name(lms: str, name: str) -> str | None:
    name = name.strip()
    if lms == MOODLE_LMS and name == BLIND_MARKING_NAME:
        return None
    return name or None


def _id_problem(student: str) -> str | None:
    if SAFE_ID.fullmatch(student):
        return None
    return (f"{student!r} is not usable as a student id (letters, digits and . _ - @ + only, starting "
            "with a letter or digit): rename it to the student's id and collect again")


def _who(entry: Entry, notebooks: list[str]) -> HandIn | str:
    """The student and the file name, from the entry's path; or why that cannot be told."""
    head, file_name = entry.parts[0], entry.parts[-1]
    lms = _lms_folder(head)
    if lms:
        kind, found = lms
        rest = found["rest"] or ""
        if len(entry.parts) == 1:  # flat download: the file name follows the LMS prefix
            file_name = rest
        folder = head[: len(head) - len(rest)]
        attachment = int(found["sub"]) if kind == CANVAS_LMS else None
        return HandIn(found["id"], entry, file_name, lms=kind, full_name=_full_name(kind, found["name"]),
                      folder=folder, late=bool(found.groupdict().get("late")), attachment=attachment)
    if len(entry.parts) > 1:
        return _id_problem(head) or HandIn(head, entry, file_name)
    return _who_from_file_name(entry, notebooks)


def _who_from_file_name(entry: Entry, notebooks: list[str]) -> HandIn | str:
    """A top-level "<student_id>.ipynb"."""
    file_name = entry.parts[0]
    student = strip_notebook_suffix(file_name)
    if match_name(file_name, notebooks):
        layout = "<student_id>.ipynb" if len(notebooks) == 1 else f"<student_id>/{file_name}"
        return f"no student id in the file name: rename it to {layout}"
    if len(notebooks) > 1:
        listed = ", ".join(f"{nb}.ipynb" for nb in notebooks)
        return (f"the assignment has {len(notebooks)} notebooks ({listed}), so a file named after the student "
                f"cannot be placed: move it into a folder named after the student, as {student}/<notebook>.ipynb")
    return _id_problem(student) or HandIn(student, entry, file_name, forced=notebooks[0])


def _is_stamp(entry: Entry) -> bool:
    """nbgrader's timestamp.txt in a student's folder of a plain download (not an LMS's folder)."""
    return len(entry.parts) > 1 and entry.parts[-1] == TIMESTAMP_FILE and not _lms_folder(entry.parts[0])


def assign_students(entries: list[Entry], notebooks: list[str]
                    ) -> tuple[list[HandIn], list[Unplaced], list[Entry]]:
    """Each notebook entry with its student; every other entry with why it is not a hand-in; and the
    timestamp.txt files nbgrader leaves beside hand-ins, to be read as their times."""
    handins, unplaced, stamps = [], [], []
    for entry in entries:
        reason = junk_reason(entry.parts)
        if not reason and _is_stamp(entry):
            if entry.origin == IN_NESTED_ZIP:  # someone's own zip (a student's?): its word on when is not taken
                reason = f"ignored: a {TIMESTAMP_FILE} inside a zip in the download is not taken as a hand-in time"
            elif not (reason := _id_problem(entry.parts[0])):
                stamps.append(entry)
                continue
        if not reason and not is_notebook_name(entry.parts[-1]):
            reason = other_file_reason(entry.parts[-1])
        if not reason:
            who = _who(entry, notebooks)
            if isinstance(who, HandIn):
                handins.append(who)
                continue
            reason = who
        unplaced.append(Unplaced(entry.source, reason))
    handins, refused = one_reading(handins)
    return handins, unplaced + refused, stamps


def _lms_word(lms: str) -> tuple[str, str]:
    return ("Moodle", "participant") if lms == MOODLE_LMS else ("Canvas", "user id")


def one_reading(handins: list[HandIn]) -> tuple[list[HandIn], list[Unplaced]]:
    """The hand-ins whose LMS names read one way only; the others, with why none of them is placed.

    A download comes from one LMS, which gives each id one name. So names of both LMSs in one download,
    or one id under two names, mean that somebody's own naming was read as the LMS's (a Canvas name may
    end in "_<digits>", which then reads as the user id): rather than guess whose file is whose, none of
    those is placed, and the report says so."""
    ids: dict[str, set[str]] = defaultdict(set)
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for h in handins:
        if h.lms:
            ids[h.lms].add(h.student)
            names[h.lms, h.student].add(h.full_name or "")
    why: dict[tuple[str, str], str] = {}
    if len(ids) > 1:
        (fewer, _), (more, most) = sorted(ids.items(), key=lambda item: len(item[1]))
        main = more if len(most) > len(ids[fewer]) else None  # the download's LMS, if it has more names
        counts = " and ".join(f"{len(found)} {_lms_word(lms)[0]}" for lms, found in sorted(ids.items()))
        for lms, found in ids.items():
            for student in found if lms != main else ():
                why[lms, student] = (
                    f"named the way {_lms_word(lms)[0]} names hand-ins, in a download that holds {counts} "
                    "students' names: a download comes from one LMS, so this name is not read as a student "
                    "id. Collect each LMS's download on its own, or place this file by hand")
    for (lms, student), found in names.items():
        if len(found) > 1 and (lms, student) not in why:
            lms_name, id_word = _lms_word(lms)
            shown = ", ".join(repr(n) for n in sorted(found))
            why[lms, student] = (
                f"{lms_name} {id_word} {student} comes with {len(found)} names in this download ({shown}), but "
                f"{lms_name} gives each one name, so one of them was made by a student: nothing of {student}'s "
                f"was placed. Check in {lms_name} who {student} is and place that student's file by hand")
    kept = [h for h in handins if (h.lms, h.student) not in why]
    refused = [Unplaced(h.entry.source, why[h.lms, h.student]) for h in handins if (h.lms, h.student) in why]
    return kept, refused


def _should_strip(head: str, inside: list[Entry], notebooks: list[str]) -> bool:
    """Is `head`, the only top-level folder, a wrapper around the hand-ins rather than one student?

    Only what the download is made of decides: `head` (a folder of it, or a zip that is all of it) and the
    names right in it. A zip found in `head` is a student's own, whatever it holds: LMS names or folders
    inside it never make `head` a wrapper, or a student could hand in a zip that claims another's id."""
    if _lms_folder(head):
        return False
    own = [e for e in inside if 1 not in e.zips]
    if any(_lms_folder(e.parts[1]) for e in own):
        return True
    if any(len(e.parts) > 2 for e in own):  # folders in it: student folders
        return True
    # Only files: a folder given on disk is one student (say, a late hand-in collected alone);
    # a zip's only folder wraps "<student_id>.ipynb" files if they are not named like the notebooks.
    if not own or all(e.real_dirs for e in own):
        return False
    return any(is_notebook_name(e.parts[1]) and not match_name(e.parts[1], notebooks) for e in own)


def strip_wrappers(entries: list[Entry], notebooks: list[str]) -> list[Entry]:
    """Remove folders that wrap the whole download (a zipped "submissions/" folder, a zip in a zip)."""
    while True:
        real = [e for e in entries if not junk_reason(e.parts)]
        heads = {e.parts[0] for e in real}
        if len(heads) != 1 or any(len(e.parts) == 1 for e in real):
            return entries
        head = heads.pop()
        if not _should_strip(head, real, notebooks):
            return entries
        entries = [replace(e, parts=e.parts[1:], real_dirs=max(e.real_dirs - 1, 0),
                           zips=tuple(i - 1 for i in e.zips if i > 0))
                   if e.parts[0] == head and len(e.parts) > 1 else e for e in entries]

