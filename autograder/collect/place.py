"""From hand-ins to files in submitted/: read each one, decide which notebook
it is (by name, by content, or as a student's only notebook), keep the later
of two hand-ins for one notebook, then write each winner atomically.

Every file is read and every decision made before anything is written. The
destination is made only of the student id (checked by `lms`) and the
assignment's own notebook names, never of a name inside the download.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import write_atomically
from ..handin import UnreadableNotebook
from .archive import Download
from .content import Fingerprint, match_content, read_fingerprint
from .lms import HandIn
from .names import match_name
from .report import Placed, Unplaced

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


def _latest(decisions: list[Decision]) -> tuple[Decision, list[Unplaced]]:
    """Of several files for one notebook, the later hand-in wins; the others are listed."""
    ordered = sorted(decisions, key=lambda d: d.candidate.handin.rank)
    winner = ordered[-1]
    lost = [Unplaced(d.candidate.handin.entry.source,
                     f"superseded by {winner.candidate.handin.entry.source!r}, a later hand-in of "
                     f"{winner.notebook}.ipynb: if this one should count, place it by hand")
            for d in ordered[:-1]]
    return winner, lost


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


# --- writing -------------------------------------------------------------------------------------


def place(d: Decision, submitted: Path, assignment: str) -> Placed | Unplaced:
    """Write one decided hand-in to submitted/<student>/<assignment>/<notebook>.ipynb."""
    handin = d.candidate.handin
    dest = submitted / handin.student / assignment / f"{d.notebook}.ipynb"
    shown = dest.relative_to(submitted.parent).as_posix()
    if not dest.resolve().is_relative_to(submitted.resolve()):  # a symbolic link planted in submitted/
        return Unplaced(handin.entry.source, f"{shown} leads outside submitted/ (a symbolic link?): "
                                             "not written; remove the link and collect again")
    notes = [d.note] if d.note else []
    new = d.candidate.copy.read_bytes()
    if dest.is_file() and dest.read_bytes() == new:
        return Placed(handin.student, handin.entry.source, dest, "; ".join(notes + ["unchanged"]))
    if dest.exists():
        notes.append("replaced an earlier hand-in")
    try:
        write_atomically(dest, new)
    except OSError as e:
        return Unplaced(handin.entry.source, f"could not write {shown} ({e}): fix that and collect again")
    return Placed(handin.student, handin.entry.source, dest, "; ".join(notes) or None)
