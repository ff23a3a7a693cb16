"""From hand-ins to decisions: read each one, decide which notebook it is (by
name, by content, or as a student's only notebook), and keep the later of two
files for one notebook in one download, by the rule every command shares
(`roster.later_than`), else by the files' times, else by Moodle's order of a student's
files; when nothing orders them, the one named exactly like the notebook, and the report
says the order was not known.
Also read here: the times nbgrader's timestamp.txt files in a download give.

Every file is read and every decision made before anything is written; writing,
and comparing with what the course already holds, is `newest`'s job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbgrader.utils import parse_utc

from ..handin import UnreadableNotebook
from ..roster import MOODLE, later_than
from .archive import ON_DISK, Download, Entry
from .content import Fingerprint, match_content, read_fingerprint
from .lms import TIMESTAMP_FILE, HandIn
from .names import match_name
from .report import Unplaced

MAX_STAMP_BYTES = 1024  # nbgrader's timestamp.txt is one line

# --- reading the hand-ins ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    handin: HandIn
    copy: Path  # the bytes as handed in, in the scratch folder
    fingerprint: Fingerprint


def _read(handin: HandIn, copy: Path, download: Download) -> Candidate | str:
    """The hand-in copied out and recognised, or why it cannot be."""
    problem = download.spool(handin.entry, copy)
    if problem:
        return problem
    try:
        found = read_fingerprint(copy.read_bytes(), handin.file_name)
    except UnreadableNotebook as e:
        return f"not a readable notebook: {e}"
    return Candidate(handin, copy, found)


def read_all(handins: list[HandIn], download: Download) -> tuple[list[Candidate], list[Unplaced]]:
    candidates, unplaced = [], []
    for i, handin in enumerate(handins):
        got = _read(handin, download.scratch / f"notebook-{i}.ipynb", download)
        if isinstance(got, Candidate):
            candidates.append(got)
        else:
            unplaced.append(Unplaced(handin.entry.source, got))
    return candidates, unplaced


def _read_stamp(entry: Entry, copy: Path, download: Download) -> datetime | str:
    if entry.size > MAX_STAMP_BYTES:
        return f"too large for nbgrader's {TIMESTAMP_FILE} ({entry.size} bytes): not read as the hand-in's time"
    problem = download.spool(entry, copy)
    if problem:
        return problem
    text = copy.read_bytes()[:MAX_STAMP_BYTES].decode("utf-8", errors="replace").strip()
    try:
        return parse_utc(text).replace(tzinfo=timezone.utc)  # read as nbgrader reads it: naive is UTC
    except (ValueError, OverflowError, TypeError):  # dateutil's ways of refusing
        return (f"holds {text[:60]!r}, which is not a time nbgrader reads: correct it (as 2024-03-01 "
                "14:05:00 UTC) or delete it, and collect again")


def read_stamps(stamps: list[Entry], download: Download) -> tuple[dict[str, datetime], list[Unplaced]]:
    """student -> when the hand-in was handed in, from nbgrader's timestamp.txt in the student's folder
    (the latest, if the folder has several); the files that hold no time, with why."""
    times: dict[str, datetime] = {}
    unplaced = []
    for i, entry in enumerate(stamps):
        got = _read_stamp(entry, download.scratch / f"timestamp-{i}.txt", download)
        if isinstance(got, str):
            unplaced.append(Unplaced(entry.source, got))
        else:
            student = entry.parts[0]
            times[student] = max(got, times.get(student, got))
    return times, unplaced


# --- deciding where each hand-in goes ------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    notebook: str
    note: str | None


def _match(c: Candidate, notebooks: list[str], templates: Mapping[str, Any]) -> Decision | str:
    """Where one file goes by its name or content, or why neither says."""
    name = c.handin.file_name
    if c.handin.forced:
        return Decision(c, c.handin.forced, f"renamed from {name!r}")
    nb = match_name(name, notebooks)
    if nb:
        return Decision(c, nb, None if name == f"{nb}.ipynb" else f"renamed from {name!r}")
    nb, share = match_content(c.fingerprint, templates)
    if nb:
        return Decision(c, nb, f"matched by content ({share:.0%} of {nb}.ipynb's graded cells), "
                               f"renamed from {name!r}")
    listed = ", ".join(f"{nb}.ipynb" for nb in notebooks)
    content = f" and its content matches none ({share:.0%} at best)" if templates else ""
    return (f"its name matches none of the assignment's notebooks ({listed}){content}: "
            "rename it to one of them and collect again")


def _only_one(c: Candidate, notebook: str, templates: Mapping[str, Any]) -> Decision:
    """The student's only notebook, for a one-notebook assignment: take it, and say so."""
    note = f"the only notebook handed in, taken as {notebook}.ipynb although named {c.handin.file_name!r}"
    if templates:
        _, share = match_content(c.fingerprint, templates)
        note += f" (only {share:.0%} of its graded cells found: check it is this assignment)"
    return Decision(c, notebook, note)


def _in_moodles_order(handin: HandIn) -> bool:
    """Is the file where Moodle's own zip put it? Moodle lists a student's files oldest first (the file
    plugin's get_files sorts by "timemodified"), so there, a later file was uploaded later. Not in a folder
    unpacked from it, nor in a zip inside it."""
    return handin.lms == MOODLE and handin.entry.origin != ON_DISK and not handin.entry.zips


def _told(a: Decision, b: Decision) -> tuple[bool | None, str]:
    """Is `a` the later hand-in of the two files for one notebook, and what says so: `later_than`, as between
    downloads; else the files' own times, which one zip or folder gave both; else Moodle's order of a
    student's files. None when nothing says."""
    first, second = a.candidate.handin, b.candidate.handin
    later = later_than(first.record(a.notebook), second.record(b.notebook))
    if later is None and first.entry.mtime != second.entry.mtime:
        later = first.entry.mtime > second.entry.mtime
    if later is not None:
        return later, "a later hand-in"
    if _in_moodles_order(first) and _in_moodles_order(second):
        return first.entry.order > second.entry.order, (
            "uploaded after it (Moodle's download lists each student's files in the order they were uploaded)")
    return None, ""


def _exact(d: Decision) -> bool:
    return d.candidate.handin.file_name == f"{d.notebook}.ipynb"


def _latest(decisions: list[Decision]) -> tuple[Decision, list[Unplaced]]:
    """Of several files for one notebook, the later hand-in wins; the others are listed, each with what told
    it was earlier, or that nothing did. Of files nothing orders, the one named exactly like the notebook wins
    (a "Copy of" or "(1)" beside it is a draft as often as not), else the later in the download."""
    unbeaten = [d for d in decisions if not any(_told(other, d)[0] for other in decisions if other is not d)]
    winner = max(unbeaten or decisions, key=lambda d: (_exact(d), d.candidate.handin.entry.order))
    taken, lost, untold = winner.candidate.handin.entry.source, [], 0
    for d in [other for other in decisions if other is not winner]:
        source = d.candidate.handin.entry.source
        later, basis = _told(winner, d)
        if later:
            lost.append(Unplaced(source, f"superseded by {taken!r} as {winner.notebook}.ipynb, {basis}: if this "
                                         "one should count, place it by hand"))
            continue
        untold += 1
        why = (f"is named {winner.notebook}.ipynb" if _exact(winner) and not _exact(d)
               else "comes later in the download")
        lost.append(Unplaced(source, (
            f"{taken!r} is {winner.notebook}.ipynb too, and nothing tells which of the two was handed in later "
            f"(the same file time, no LMS id or hand-in time between them): that one was taken, as it {why}. "
            "If this one should count, place it by hand")))
    if untold:
        note = (f"taken over {untold} other file(s) for {winner.notebook}.ipynb that nothing orders against it: "
                "see them under Not placed")
        winner = replace(winner, note=_joined(winner.note, note))
    return winner, lost


def _joined(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _decide_student(cands: list[Candidate], notebooks: list[str],
                    templates: Mapping[str, Any]) -> tuple[list[Decision], list[Unplaced]]:
    by_notebook: dict[str, list[Decision]] = defaultdict(list)
    unplaced = []
    for c in cands:
        got = _match(c, notebooks, templates)
        if isinstance(got, Decision):
            by_notebook[got.notebook].append(got)
        else:
            unplaced.append(Unplaced(c.handin.entry.source, got))
    if len(notebooks) == 1 and len(cands) == 1 and unplaced:
        return [_only_one(cands[0], notebooks[0], templates)], []
    decisions = []
    for group in by_notebook.values():
        winner, lost = _latest(group)
        decisions.append(winner)
        unplaced += lost
    return decisions, unplaced


def decide(candidates: list[Candidate], notebooks: list[str],
           templates: Mapping[str, Any]) -> tuple[list[Decision], list[Unplaced]]:
    """Which notebook each student's files are; the files that are none, or lost to a later one."""
    by_student: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_student[c.handin.student].append(c)
    decisions, unplaced = [], []
    for cands in by_student.values():
        d, u = _decide_student(cands, notebooks, templates)
        decisions += d
        unplaced += u
    return decisions, unplaced
