"""Who handed in what: the student id and the file name, read from where an
entry sits in the download, knowing how Moodle and Canvas name hand-ins, and
the wrapper folders (a zipped "submissions/", a zip in a zip) taken off first.

Not here: which notebook a file is (`names`, `content`) and which of several
hand-ins wins (`place`; `HandIn.rank` only says which is later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .archive import Entry, junk_reason
from .names import is_notebook_name, match_name, other_file_reason, strip_notebook_suffix
from .report import Unplaced

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
# Moodle: "<Full Name>_<participant id>_assignsubmission_file_" + ("/" + file | file)
MOODLE = re.compile(r"(?P<name>.*?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)", re.DOTALL)
# Canvas: "<lastfirst>_[LATE_]<user id>_<submission id>_<original file name>"
CANVAS = re.compile(r"(?P<name>[^_]+)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<sub>\d+)_(?P<rest>.+)", re.DOTALL)


@dataclass(frozen=True)
class HandIn:
    student: str
    entry: Entry
    file_name: str  # as the student named it (LMS prefix removed)
    forced: str | None = None  # notebook it must be ("<student_id>.ipynb" form)
    late: bool = False
    submission: int = -1  # Canvas submission id: higher is later

    @property
    def rank(self) -> tuple[bool, int, float, int]:
        """Later hand-ins rank higher: Canvas LATE and submission id, then time, then order."""
        return (self.late, self.submission, self.entry.mtime, self.entry.order)


def _lms_folder(name: str) -> re.Match[str] | None:
    return MOODLE.fullmatch(name) or CANVAS.fullmatch(name)


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
        if len(entry.parts) == 1:  # flat download: the file name follows the LMS prefix
            file_name = lms["rest"]
        late, sub = bool(lms.groupdict().get("late")), int(lms.groupdict().get("sub") or -1)
        return HandIn(lms["id"], entry, file_name, late=late, submission=sub)
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


def assign_students(entries: list[Entry], notebooks: list[str]) -> tuple[list[HandIn], list[Unplaced]]:
    """Each notebook entry with its student; every other entry with why it is not a hand-in."""
    handins, unplaced = [], []
    for entry in entries:
        reason = junk_reason(entry.parts)
        if not reason and not is_notebook_name(entry.parts[-1]):
            reason = other_file_reason(entry.parts[-1])
        if not reason:
            who = _who(entry, notebooks)
            if isinstance(who, HandIn):
                handins.append(who)
                continue
            reason = who
        unplaced.append(Unplaced(entry.source, reason))
    return handins, unplaced


def _should_strip(head: str, inside: list[Entry], notebooks: list[str]) -> bool:
    """Is `head`, the only top-level folder, a wrapper around the hand-ins rather than one student?"""
    if _lms_folder(head):
        return False
    if any(_lms_folder(e.parts[1]) for e in inside):
        return True
    if any(len(e.parts) > 2 for e in inside):  # folders in it: student folders
        return True
    # Only files: a folder given on disk is one student (say, a late hand-in collected alone);
    # a zip's only folder wraps "<student_id>.ipynb" files if they are not named like the notebooks.
    if all(e.real_dirs for e in inside):
        return False
    return any(is_notebook_name(e.parts[1]) and not match_name(e.parts[1], notebooks) for e in inside)


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
        entries = [replace(e, parts=e.parts[1:], real_dirs=max(e.real_dirs - 1, 0))
                   if e.parts[0] == head and len(e.parts) > 1 else e for e in entries]
