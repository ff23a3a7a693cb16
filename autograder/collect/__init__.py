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
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

import nbformat

from ..files import write_atomically

MB = 2**20
MAX_NOTEBOOK_BYTES = 50 * MB  # one hand-in; a larger "notebook" is refused (zip bomb or runaway outputs)
MAX_ARCHIVE_BYTES = 500 * MB  # one zip inside the download
MAX_TOTAL_BYTES = 4096 * MB  # everything unpacked from one download together
MAX_ENTRIES = 100_000  # entries in one zip
MAX_NESTING = 3  # zips inside zips
CONTENT_THRESHOLD = 0.5  # share of a template's graded cells a file must contain to match it

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
# Moodle: "<Full Name>_<participant id>_assignsubmission_file_" + ("/" + file | file)
MOODLE = re.compile(r"(?P<name>.*?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)", re.DOTALL)
# Canvas: "<lastfirst>_[LATE_]<user id>_<submission id>_<original file name>"
CANVAS = re.compile(r"(?P<name>[^_]+)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<sub>\d+)_(?P<rest>.+)", re.DOTALL)

NOTEBOOK_SUFFIXES = (".ipynb", ".ipynb.txt", ".ipynb.json")  # browsers sometimes add .txt or .json
OTHER_ARCHIVES = (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
OS_JUNK = {".ds_store", "thumbs.db", "desktop.ini"}

# Decorations browsers, Colab, Canvas, Jupyter and file managers add to a name.
# Tried one at a time, so "lab-1 (1)" first becomes "lab-1", then "lab".
DECORATIONS = (
    re.compile(r"^copy\s+of\s+", re.IGNORECASE),  # Colab "Save a copy in Drive"
    re.compile(r"\s*\(\d+\)$"),  # browsers: "X (1)", "X(2)"
    re.compile(r"-\d+$"),  # Canvas re-submission: "X-1"
    re.compile(r"-checkpoint$", re.IGNORECASE),  # Jupyter autosave copy
    re.compile(r"(\s+-)?\s+copy(\s+\d+)?$", re.IGNORECASE),  # Windows "X - Copy", macOS "X copy 2"
    re.compile(r"\.ipynb$", re.IGNORECASE),  # "X.ipynb.ipynb"
)


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

    @property
    def ignored(self) -> bool:
        """Junk that is not a hand-in (macOS metadata, checkpoints): listed, but nothing to fix."""
        return self.reason.startswith("ignored:")


@dataclass
class CollectReport:
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)

    @property
    def problems(self) -> list[Unplaced]:
        """Files not placed that a person should look at (everything but ignored junk)."""
        return [u for u in self.unplaced if not u.ignored]


class CollectError(ValueError):
    """The download as a whole cannot be collected; the message says what to do."""


# --- what the download holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One file of the download, not yet read."""

    parts: tuple[str, ...]  # path inside the download; nested zips count as folders named after them
    source: str  # path as shown to the user
    size: int
    mtime: float
    order: int  # position in the download: later wins a tie
    open: Callable[[], IO[bytes]]
    real_dirs: int = 0  # leading parts that are folders on disk, not made from a zip


class _Budget:
    """Bytes unpacked so far from one download: stops zip bombs made of many small parts."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


def _copy_bounded(src: IO[bytes], dest: Path, limit: int) -> int | None:
    """Copy at most `limit` bytes; None when there is more (a size in a zip header can lie)."""
    total = 0
    with open(dest, "wb") as out:
        while chunk := src.read(MB):
            total += len(chunk)
            if total > limit:
                return None
            out.write(chunk)
    return total


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The components of a name inside a zip, or None if it is absolute or climbs with '..'."""
    name = name.replace("\\", "/")  # zips made on Windows
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    return parts if parts and ".." not in parts else None


def _zip_mtime(info: zipfile.ZipInfo) -> float:
    try:
        return datetime(*info.date_time).timestamp()
    except ValueError:  # some tools write a zero date
        return 0.0


def _junk_reason(parts: tuple[str, ...]) -> str | None:
    name = parts[-1].lower()
    if "__MACOSX" in parts or name.startswith("._"):
        return "ignored: macOS archive metadata, not a hand-in"
    if ".ipynb_checkpoints" in parts:
        return ("ignored: Jupyter autosave checkpoint, not a hand-in (if it is the student's only copy, "
                "move it out of .ipynb_checkpoints and collect again)")
    if name in OS_JUNK:
        return "ignored: operating-system file, not a hand-in"
    return None


class _Lister:
    """Walks a folder or zip (and the zips inside it) into a flat list of entries."""

    def __init__(self, scratch: Path, stack: ExitStack) -> None:
        self.scratch = scratch
        self.stack = stack
        self.budget = _Budget(MAX_TOTAL_BYTES)
        self.entries: list[_Entry] = []
        self.unplaced: list[Unplaced] = []
        self.archives = 0

    def add_folder(self, root: Path) -> None:
        for folder, dirs, files in os.walk(root):  # does not follow symbolic links
            here = Path(folder)
            dirs.sort()
            for name in [d for d in dirs if (here / d).is_symlink()]:
                self._symlink(root, here / name)
            for name in sorted(files):
                path = here / name
                if path.is_symlink():
                    self._symlink(root, path)
                    continue
                stat = path.stat()
                rel = path.relative_to(root)
                self._add_file(rel.parts, rel.as_posix(), stat.st_size, stat.st_mtime,
                               partial(open, path, "rb"), depth=0, real_dirs=len(rel.parts) - 1)

    def _symlink(self, root: Path, path: Path) -> None:
        self.unplaced.append(Unplaced(path.relative_to(root).as_posix(),
                                      "symbolic link, not followed: copy the file itself into the folder"))

    def add_zip(self, file: Path, prefix: tuple[str, ...], source: str, depth: int, real_dirs: int = 0) -> None:
        """Raises zipfile.BadZipFile if `file` is not a readable zip."""
        archive = self.stack.enter_context(zipfile.ZipFile(file))
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_ENTRIES:
            raise zipfile.BadZipFile(f"{len(infos)} entries, more than the limit of {MAX_ENTRIES}")
        for info in infos:
            parts = _safe_parts(info.filename)
            where = source + info.filename
            if parts is None:
                self.unplaced.append(Unplaced(where, (
                    "unsafe path in the archive (absolute or containing '..'): not extracted; "
                    "if it is a real hand-in, ask the student to submit it again")))
                continue
            self._add_file(prefix + parts, where, info.file_size, _zip_mtime(info),
                           partial(archive.open, info), depth, real_dirs)

    def _add_file(self, parts: tuple[str, ...], source: str, size: int, mtime: float,
                  opener: Callable[[], IO[bytes]], depth: int, real_dirs: int) -> None:
        if not _junk_reason(parts) and parts[-1].lower().endswith(".zip"):
            self._add_nested_zip(parts, source, size, opener, depth, real_dirs)
            return
        self.entries.append(_Entry(parts, source, size, mtime, len(self.entries), opener, real_dirs))

    def _add_nested_zip(self, parts: tuple[str, ...], source: str, size: int,
                        opener: Callable[[], IO[bytes]], depth: int, real_dirs: int) -> None:
        if depth >= MAX_NESTING:
            reason = f"zip nested more than {MAX_NESTING} deep: unpack it by hand and collect the folder"
        elif size > MAX_ARCHIVE_BYTES or not self.budget.take(size):
            reason = (f"zip too large to unpack ({size / MB:.1f} MB): possibly a zip bomb; "
                      "unpack it by hand and collect the folder")
        else:
            reason = self._unpack_nested_zip(parts, source, opener, depth, real_dirs)
        if reason:
            self.unplaced.append(Unplaced(source, reason))

    def _unpack_nested_zip(self, parts: tuple[str, ...], source: str,
                           opener: Callable[[], IO[bytes]], depth: int, real_dirs: int) -> str | None:
        # Copied under a made-up name: the name inside the download is never a path here.
        self.archives += 1
        copy = self.scratch / f"archive-{self.archives}.zip"
        try:
            with opener() as src:
                if _copy_bounded(src, copy, MAX_ARCHIVE_BYTES) is None:
                    return "zip larger than its header says: possibly a zip bomb; unpack it by hand"
            # Its entries sit in a folder named after it, like a student's folder.
            self.add_zip(copy, parts[:-1] + (Path(parts[-1]).stem,), source + "/", depth + 1, real_dirs)
        except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError) as e:
            return f"not a readable zip ({e}): unpack it by hand or ask the student to submit it again"
        return None


def _list_download(path: Path, scratch: Path, stack: ExitStack) -> _Lister:
    lister = _Lister(scratch, stack)
    if not path.exists():
        raise CollectError(f"{path} does not exist: give the zip or folder you downloaded from the LMS")
    if path.is_dir():
        lister.add_folder(path)
    elif zipfile.is_zipfile(path):
        try:
            lister.add_zip(path, (), "", depth=0)
        except (zipfile.BadZipFile, OSError) as e:
            raise CollectError(f"{path} is not a readable zip ({e}): download it again from the LMS") from e
    else:
        raise CollectError(
            f"{path} is neither a folder nor a zip: give the LMS download (a .zip) or a folder of "
            "<student_id>.ipynb or <student_id>/<notebook>.ipynb (other archives: unpack them first)")
    if not lister.entries and not lister.unplaced:
        raise CollectError(f"{path} holds no files: is it the right download?")
    return lister


# --- matching a file name to one of the assignment's notebooks ---------------------------------


def _fold(name: str) -> str:
    """Case, spaces, hyphens and dots do not tell notebooks apart."""
    return re.sub(r"[\s_.\-]+", "_", name.lower()).strip("_")


def _strip_notebook_suffix(file_name: str) -> str:
    lower = file_name.lower()
    for suffix in NOTEBOOK_SUFFIXES[::-1]:  # longest first
        if lower.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


def name_candidates(file_name: str) -> list[str]:
    """The file's name, then the name with one more decoration removed each time."""
    stem = _strip_notebook_suffix(file_name).strip()
    found = [stem]
    while True:
        for pattern in DECORATIONS:
            shorter = pattern.sub("", stem).strip()
            if shorter and shorter != stem:
                stem = shorter
                found.append(stem)
                break
        else:
            return found


def match_name(file_name: str, notebooks: Iterable[str]) -> str | None:
    """The notebook this file name stands for, or None. Less-stripped forms win,
    so a notebook really named "lab-1" is not mistaken for "lab"."""
    if file_name in {f"{nb}.ipynb" for nb in notebooks}:
        return file_name[: -len(".ipynb")]
    folded = {_fold(nb): nb for nb in notebooks}
    for candidate in name_candidates(file_name):
        if _fold(candidate) in folded:
            return folded[_fold(candidate)]
    return None


def is_notebook_name(file_name: str) -> bool:
    return file_name.lower().endswith(NOTEBOOK_SUFFIXES)


# --- matching by content -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fingerprint:
    """What a notebook's content is recognised by."""

    grade_ids: frozenset[str]
    sources: frozenset[str]


def _cells(nb: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    cells = nb.get("cells")
    if isinstance(cells, list):
        yield from (c for c in cells if isinstance(c, Mapping))
    for sheet in nb.get("worksheets") or []:  # nbformat 3
        if isinstance(sheet, Mapping):
            yield from (c for c in sheet.get("cells") or [] if isinstance(c, Mapping))


def _source(cell: Mapping[str, Any]) -> str:
    text = cell.get("source", cell.get("input", ""))
    if isinstance(text, list):
        text = "".join(str(t) for t in text)
    return "\n".join(line.rstrip() for line in str(text).splitlines()).strip()


def _nbgrader(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = cell.get("metadata")
    found = meta.get("nbgrader") if isinstance(meta, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _fingerprint(nb: Mapping[str, Any]) -> _Fingerprint:
    cells = list(_cells(nb))
    ids = {str(_nbgrader(c)["grade_id"]) for c in cells if _nbgrader(c).get("grade_id")}
    return _Fingerprint(frozenset(ids), frozenset(s for s in map(_source, cells) if s))


def _template_items(template: Mapping[str, Any]) -> list[tuple[str | None, str | None]]:
    """(grade id, locked source) of each nbgrader cell; any one of them found counts.
    Colab may drop the metadata, so locked sources are the second way to recognise a cell."""
    items = []
    for cell in _cells(template):
        meta = _nbgrader(cell)
        if meta.get("grade_id"):
            locked = None if meta.get("solution") else _source(cell) or None
            items.append((str(meta["grade_id"]), locked))
    if not items:  # a template without nbgrader cells: use all its cells
        items = [(None, s) for s in map(_source, _cells(template)) if s]
    return items


def _content_score(template: Mapping[str, Any], fp: _Fingerprint) -> float:
    items = _template_items(template)
    found = sum(1 for gid, src in items if gid in fp.grade_ids or (src is not None and src in fp.sources))
    return found / len(items) if items else 0.0


def _match_content(fp: _Fingerprint, templates: Mapping[str, Any]) -> tuple[str | None, float]:
    """The one template this content matches best above the threshold (None on a tie), and its score."""
    scores = sorted(((_content_score(t, fp), nb) for nb, t in templates.items()), reverse=True)
    if not scores:
        return None, 0.0
    best, nb = scores[0]
    if best < CONTENT_THRESHOLD or (len(scores) > 1 and scores[1][0] == best):
        return None, best
    return nb, best


# --- who handed in what --------------------------------------------------------------------------


@dataclass(frozen=True)
class _HandIn:
    student: str
    entry: _Entry
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


def _other_file_reason(name: str) -> str:
    lower = name.lower()
    if lower.endswith(OTHER_ARCHIVES):
        return "archive format not read (only zip): unpack it into a folder and collect the folder"
    if lower.endswith(".py"):
        return ("a Python script, not a notebook: ask the student for the .ipynb "
                "(File > Download > Download .ipynb) and collect again")
    kind = Path(name).suffix or "no extension"
    return (f"not a notebook ({kind}): only .ipynb files are collected; if it holds the student's work, "
            "ask for the notebook")


def _who(entry: _Entry, notebooks: list[str]) -> _HandIn | str:
    """The student and the file name, from the entry's path; or why that cannot be told."""
    head, file_name = entry.parts[0], entry.parts[-1]
    lms = _lms_folder(head)
    if lms:
        if len(entry.parts) == 1:  # flat download: the file name follows the LMS prefix
            file_name = lms["rest"]
        late, sub = bool(lms.groupdict().get("late")), int(lms.groupdict().get("sub") or -1)
        return _HandIn(lms["id"], entry, file_name, late=late, submission=sub)
    if len(entry.parts) > 1:
        return _id_problem(head) or _HandIn(head, entry, file_name)
    return _who_from_file_name(entry, notebooks)


def _who_from_file_name(entry: _Entry, notebooks: list[str]) -> _HandIn | str:
    """A top-level "<student_id>.ipynb"."""
    file_name = entry.parts[0]
    student = _strip_notebook_suffix(file_name)
    if match_name(file_name, notebooks):
        layout = "<student_id>.ipynb" if len(notebooks) == 1 else f"<student_id>/{file_name}"
        return f"no student id in the file name: rename it to {layout}"
    if len(notebooks) > 1:
        listed = ", ".join(f"{nb}.ipynb" for nb in notebooks)
        return (f"the assignment has {len(notebooks)} notebooks ({listed}), so a file named after the student "
                f"cannot be placed: move it into a folder named after the student, as {student}/<notebook>.ipynb")
    return _id_problem(student) or _HandIn(student, entry, file_name, forced=notebooks[0])


def _assign_students(entries: list[_Entry], notebooks: list[str]) -> tuple[list[_HandIn], list[Unplaced]]:
    handins, unplaced = [], []
    for entry in entries:
        reason = _junk_reason(entry.parts)
        if not reason and not is_notebook_name(entry.parts[-1]):
            reason = _other_file_reason(entry.parts[-1])
        if not reason:
            who = _who(entry, notebooks)
            if isinstance(who, _HandIn):
                handins.append(who)
                continue
            reason = who
        unplaced.append(Unplaced(entry.source, reason))
    return handins, unplaced


def _should_strip(head: str, inside: list[_Entry], notebooks: list[str]) -> bool:
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


def _strip_wrappers(entries: list[_Entry], notebooks: list[str]) -> list[_Entry]:
    """Remove folders that wrap the whole download (a zipped "submissions/" folder, a zip in a zip)."""
    while True:
        real = [e for e in entries if not _junk_reason(e.parts)]
        heads = {e.parts[0] for e in real}
        if len(heads) != 1 or any(len(e.parts) == 1 for e in real):
            return entries
        head = heads.pop()
        if not _should_strip(head, real, notebooks):
            return entries
        entries = [_Entry(e.parts[1:], e.source, e.size, e.mtime, e.order, e.open, max(e.real_dirs - 1, 0))
                   if e.parts[0] == head and len(e.parts) > 1 else e for e in entries]


# --- reading the hand-ins ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    handin: _HandIn
    copy: Path  # the bytes as handed in, in the scratch folder
    fingerprint: _Fingerprint


def _read_notebook(copy: Path) -> _Fingerprint | str:
    """Its fingerprint, or why it is not a notebook. Only JSON with cells is required:
    missing metadata and old versions are the repair stage's job."""
    try:
        nb = json.loads(copy.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as e:
        return f"not valid JSON ({e})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        return "JSON without notebook cells"
    return _fingerprint(nb)


def _spool(handin: _HandIn, copy: Path, budget: _Budget) -> _Candidate | str:
    size = handin.entry.size
    too_big = (f"too large ({size / MB:.1f} MB; the limit is {MAX_NOTEBOOK_BYTES / MB:.0f} MB per notebook): "
               "look at it by hand (outputs full of images? a zip bomb?) and place it yourself")
    if size > MAX_NOTEBOOK_BYTES:
        return too_big
    if not budget.take(size):
        return "the download unpacks to too much data (a zip bomb?): unpack it by hand and collect the folder"
    try:
        with handin.entry.open() as src:
            if _copy_bounded(src, copy, MAX_NOTEBOOK_BYTES) is None:
                return too_big
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError) as e:
        return f"could not be read from the download ({e}): download it again from the LMS"
    found = _read_notebook(copy)
    if isinstance(found, str):
        return (f"not a readable notebook: {found}; ask the student to download it again "
                "(File > Download > Download .ipynb) and submit that")
    return _Candidate(handin, copy, found)


def _spool_all(handins: list[_HandIn], scratch: Path, budget: _Budget) -> tuple[list[_Candidate], list[Unplaced]]:
    candidates, unplaced = [], []
    for i, handin in enumerate(handins):
        got = _spool(handin, scratch / f"notebook-{i}.ipynb", budget)
        if isinstance(got, _Candidate):
            candidates.append(got)
        else:
            unplaced.append(Unplaced(handin.entry.source, got))
    return candidates, unplaced


# --- deciding where each hand-in goes ------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    candidate: _Candidate
    notebook: str
    note: str | None


def _match(c: _Candidate, notebooks: list[str], templates: Mapping[str, Any]) -> _Decision | str:
    """Where one file goes by its name or content, or why neither says."""
    name = c.handin.file_name
    if c.handin.forced:
        return _Decision(c, c.handin.forced, f"renamed from {name!r}")
    nb = match_name(name, notebooks)
    if nb:
        return _Decision(c, nb, None if name == f"{nb}.ipynb" else f"renamed from {name!r}")
    nb, score = _match_content(c.fingerprint, templates)
    if nb:
        return _Decision(c, nb, f"matched by content ({score:.0%} of {nb}.ipynb's graded cells), "
                                f"renamed from {name!r}")
    listed = ", ".join(f"{nb}.ipynb" for nb in notebooks)
    content = f" and its content matches none ({score:.0%} at best)" if templates else ""
    return (f"its name matches none of the assignment's notebooks ({listed}){content}: "
            "rename it to one of them and collect again")


def _only_one(c: _Candidate, notebook: str, templates: Mapping[str, Any]) -> _Decision:
    """The student's only notebook, for a one-notebook assignment: take it, and say so."""
    note = f"the only notebook handed in, taken as {notebook}.ipynb although named {c.handin.file_name!r}"
    if templates:
        _, score = _match_content(c.fingerprint, templates)
        note += f" (only {score:.0%} of its graded cells found: check it is this assignment)"
    return _Decision(c, notebook, note)


def _latest(decisions: list[_Decision]) -> tuple[_Decision, list[Unplaced]]:
    """Of several files for one notebook, the later hand-in wins; the others are listed."""
    ordered = sorted(decisions, key=lambda d: d.candidate.handin.rank)
    winner = ordered[-1]
    lost = [Unplaced(d.candidate.handin.entry.source,
                     f"superseded by {winner.candidate.handin.entry.source!r}, a later hand-in of "
                     f"{winner.notebook}.ipynb: if this one should count, place it by hand")
            for d in ordered[:-1]]
    return winner, lost


def _decide_student(cands: list[_Candidate], notebooks: list[str],
                    templates: Mapping[str, Any]) -> tuple[list[_Decision], list[Unplaced]]:
    by_notebook: dict[str, list[_Decision]] = defaultdict(list)
    unplaced = []
    for c in cands:
        got = _match(c, notebooks, templates)
        if isinstance(got, _Decision):
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


def _decide(candidates: list[_Candidate], notebooks: list[str],
            templates: Mapping[str, Any]) -> tuple[list[_Decision], list[Unplaced]]:
    by_student: dict[str, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        by_student[c.handin.student].append(c)
    decisions, unplaced = [], []
    for cands in by_student.values():
        d, u = _decide_student(cands, notebooks, templates)
        decisions += d
        unplaced += u
    return decisions, unplaced


# --- writing -------------------------------------------------------------------------------------


def _place(d: _Decision, submitted: Path, assignment: str) -> Placed | Unplaced:
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
        write_atomically(dest, d.candidate.copy.read_bytes())
    except OSError as e:
        return Unplaced(handin.entry.source, f"could not write {shown} ({e}): fix that and collect again")
    return Placed(handin.student, handin.entry.source, dest, "; ".join(notes) or None)


# --- the stage -----------------------------------------------------------------------------------


def _notebook_stems(notebook_names: Iterable[str]) -> list[str]:
    """Accepts "02_backward", "02_backward.ipynb" or a path to the release notebook."""
    stems = [_strip_notebook_suffix(Path(n).name) for n in notebook_names]
    if not stems:
        raise CollectError("the assignment has no notebooks: generate its release first")
    for stem in stems:
        if not SAFE_ID.fullmatch(stem):
            raise CollectError(f"notebook name {stem!r} is not a plain file name: rename it in source/")
    return stems


def templates_from(release: Path) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of one assignment (release/<assignment>/*.ipynb), by name, for `collect`."""
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(release).glob("*.ipynb"))}


def collect(course: Path, assignment: str, path: Path, notebook_names: list[str],
            templates: dict[str, nbformat.NotebookNode] | None = None) -> CollectReport:
    """Place each notebook of an LMS download at submitted/<student>/<assignment>/<notebook>.ipynb.

    `templates` (notebook name -> release notebook) lets files that are neither
    named right nor the only one be recognised by their content."""
    if not SAFE_ID.fullmatch(assignment):
        raise CollectError(f"assignment name {assignment!r} is not a plain folder name")
    if not Path(course).is_dir():
        raise CollectError(f"course folder {course} does not exist: run this from the course directory")
    notebooks = _notebook_stems(notebook_names)
    by_stem = {_strip_notebook_suffix(Path(k).name): v for k, v in (templates or {}).items()}
    known = {nb: by_stem[nb] for nb in notebooks if nb in by_stem}
    report = CollectReport()
    with tempfile.TemporaryDirectory(prefix="autograder-collect-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        lister = _list_download(Path(path), scratch, stack)
        handins, unplaced = _assign_students(_strip_wrappers(lister.entries, notebooks), notebooks)
        candidates, unreadable = _spool_all(handins, scratch, lister.budget)
        decisions, unmatched = _decide(candidates, notebooks, known)
        submitted = Path(course) / "submitted"
        for d in sorted(decisions, key=lambda d: (d.candidate.handin.student, d.notebook)):
            got = _place(d, submitted, assignment)
            (report.placed if isinstance(got, Placed) else report.unplaced).append(got)
        report.unplaced += lister.unplaced + unplaced + unreadable + unmatched
    report.unplaced.sort(key=lambda u: (u.ignored, u.source))
    return report


def format_report(report: CollectReport) -> str:
    """A summary for the terminal: what landed where, then what needs a person."""
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
    if problems:
        lines += ["", "Not placed (fix and run collect again, or place by hand):"]
        lines += [f"  {u.source}: {u.reason}" for u in problems]
    if ignored:
        lines += ["", "Ignored (not hand-ins):"]
        lines += [f"  {u.source}: {u.reason.removeprefix('ignored: ')}" for u in ignored]
    return "\n".join(lines)
