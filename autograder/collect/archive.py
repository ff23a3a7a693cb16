"""What a download holds: a folder or zip, and the zips inside it, walked into a
flat list of entries, and each entry's bytes copied out within the limits.

This is where a hostile download is stopped: names that are absolute or climb
with '..', symbolic links, zip bombs (by size, by entry count, by nesting and by
the bytes unpacked from the whole download together), and the junk that tools
add (macOS metadata, Jupyter checkpoints); and a damaged download is named as one.
Not here: who handed a file in (`lms`) and which notebook it is (`names`, `content`).

A zip stores each member's time as a wall-clock time with no zone; it is read in
the zone the person names (`collect --timezone`), else in this machine's.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import IO

from .report import CollectError, Unplaced

MB = 2**20
MAX_NOTEBOOK_BYTES = 50 * MB  # one hand-in; a larger "notebook" is refused (zip bomb or runaway outputs)
MAX_ARCHIVE_BYTES = 500 * MB  # one zip inside the download
MAX_TOTAL_BYTES = 4096 * MB  # everything unpacked from one download together
MAX_ENTRIES = 100_000  # entries in one zip
MAX_NESTING = 3  # zips inside zips

OS_JUNK = {".ds_store", "thumbs.db", "desktop.ini"}

# What may fail while reading a member of a zip: a damaged or unsupported zip says so in many ways.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError)
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError)  # of those, the ones a damaged zip gives (bad CRC, cut short)

# Where an entry's bytes (and time) come from.
ON_DISK = "folder"  # a file of the folder given: its time is whenever it was last written here
IN_DOWNLOAD_ZIP = "zip"  # a member of the zip given: its time is what made that zip wrote (an LMS: see lms.py)
IN_NESTED_ZIP = "nested"  # inside a zip found inside the download (a student's own zip, say)


@dataclass(frozen=True)
class Limits:
    """How much one download may unpack to; `collect` takes smaller ones (tests do) or larger ones."""

    notebook_bytes: int = MAX_NOTEBOOK_BYTES
    archive_bytes: int = MAX_ARCHIVE_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    entries: int = MAX_ENTRIES
    nesting: int = MAX_NESTING


@dataclass(frozen=True)
class Entry:
    """One file of the download, not yet read."""

    parts: tuple[str, ...]  # path inside the download; nested zips count as folders named after them
    source: str  # path as shown to the user
    size: int
    mtime: float  # seconds since the epoch; 0.0 when the zip gives no time
    order: int  # position in the download: later wins a tie
    open: Callable[[], IO[bytes]]
    real_dirs: int = 0  # leading parts that are folders on disk, not made from a zip
    origin: str = ON_DISK  # ON_DISK, IN_DOWNLOAD_ZIP or IN_NESTED_ZIP
    # Which of `parts` are zips found inside the download (named as folders): what is under them was
    # made by whoever made that zip (a student, say), not by the LMS or the person collecting.
    zips: tuple[int, ...] = ()


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


def _zip_mtime(info: zipfile.ZipInfo, zone: tzinfo | None) -> float:
    try:
        when = datetime(*info.date_time)
    except ValueError:  # some tools write a zero date
        return 0.0
    return (when.replace(tzinfo=zone) if zone else when).timestamp()  # naive: this machine's zone


def junk_reason(parts: tuple[str, ...]) -> str | None:
    """Why a file that tools add is not a hand-in, or None for anything else."""
    name = parts[-1].lower()
    if "__MACOSX" in parts or name.startswith("._"):
        return "ignored: macOS archive metadata, not a hand-in"
    if ".ipynb_checkpoints" in parts:
        return ("ignored: Jupyter autosave checkpoint, not a hand-in (if it is the student's only copy, "
                "move it out of .ipynb_checkpoints and collect again)")
    if name in OS_JUNK:
        return "ignored: operating-system file, not a hand-in"
    return None


class Download:
    """A folder or zip (and the zips inside it) walked into a flat list of entries."""

    def __init__(self, scratch: Path, stack: ExitStack, limits: Limits, zone: tzinfo | None = None) -> None:
        self.scratch = scratch
        self.stack = stack
        self.limits = limits
        self.zone = zone
        self.budget = _Budget(limits.total_bytes)
        self.entries: list[Entry] = []
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

    def add_zip(self, file: Path, prefix: tuple[str, ...], source: str, depth: int, real_dirs: int = 0,
                zips: tuple[int, ...] = ()) -> None:
        """Raises zipfile.BadZipFile if `file` is not a readable zip."""
        archive = self.stack.enter_context(zipfile.ZipFile(file))
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > self.limits.entries:
            raise zipfile.BadZipFile(f"{len(infos)} entries, more than the limit of {self.limits.entries}")
        for info in infos:
            parts = _safe_parts(info.filename)
            where = source + info.filename
            if parts is None:
                self.unplaced.append(Unplaced(where, (
                    "unsafe path in the archive (absolute or containing '..'): not extracted; "
                    "if it is a real hand-in, ask the student to submit it again")))
                continue
            origin = IN_DOWNLOAD_ZIP if depth == 0 else IN_NESTED_ZIP
            self._add_file(prefix + parts, where, info.file_size, _zip_mtime(info, self.zone),
                           partial(archive.open, info), depth, real_dirs, origin, zips)

    def _add_file(self, parts: tuple[str, ...], source: str, size: int, mtime: float,
                  opener: Callable[[], IO[bytes]], depth: int, real_dirs: int, origin: str = ON_DISK,
                  zips: tuple[int, ...] = ()) -> None:
        if not junk_reason(parts) and parts[-1].lower().endswith(".zip"):
            self._add_nested_zip(parts, source, size, opener, depth, real_dirs, zips)
            return
        self.entries.append(Entry(parts, source, size, mtime, len(self.entries), opener, real_dirs, origin, zips))

    def _add_nested_zip(self, parts: tuple[str, ...], source: str, size: int,
                        opener: Callable[[], IO[bytes]], depth: int, real_dirs: int, zips: tuple[int, ...]) -> None:
        if depth >= self.limits.nesting:
            reason = f"zip nested more than {self.limits.nesting} deep: unpack it by hand and collect the folder"
        elif size > self.limits.archive_bytes or not self.budget.take(size):
            reason = (f"zip too large to unpack ({size / MB:.1f} MB): possibly a zip bomb; "
                      "unpack it by hand and collect the folder")
        else:
            reason = self._unpack_nested_zip(parts, source, opener, depth, real_dirs, zips)
        if reason:
            self.unplaced.append(Unplaced(source, reason))

    def _unpack_nested_zip(self, parts: tuple[str, ...], source: str, opener: Callable[[], IO[bytes]],
                           depth: int, real_dirs: int, zips: tuple[int, ...]) -> str | None:
        # Copied under a made-up name: the name inside the download is never a path here.
        self.archives += 1
        copy = self.scratch / f"archive-{self.archives}.zip"
        try:
            with opener() as src:
                if _copy_bounded(src, copy, self.limits.archive_bytes) is None:
                    return "zip larger than its header says: possibly a zip bomb; unpack it by hand"
            # Its entries sit in a folder named after it, like a student's folder.
            self.add_zip(copy, parts[:-1] + (Path(parts[-1]).stem,), source + "/", depth + 1, real_dirs,
                         zips + (len(parts) - 1,))
        except ZIP_ERRORS as e:
            return f"not a readable zip ({e}): unpack it by hand or ask the student to submit it again"
        return None

    def spool(self, entry: Entry, copy: Path) -> str | None:
        """Copy one notebook's bytes to `copy` within the limits; None, or why it was not copied."""
        size = entry.size
        limit = self.limits.notebook_bytes
        too_big = (f"too large ({size / MB:.1f} MB; the limit is {limit / MB:.0f} MB per notebook): "
                   "look at it by hand (outputs full of images? a zip bomb?) and place it yourself")
        if size > limit:
            return too_big
        if not self.budget.take(size):
            return "the download unpacks to too much data (a zip bomb?): unpack it by hand and collect the folder"
        try:
            with entry.open() as src:
                if _copy_bounded(src, copy, limit) is None:
                    return too_big
        except DAMAGE as e:
            return (f"damaged in the download ({e}): download the zip again from the LMS; if this file is "
                    "still damaged, ask the student to hand it in again")
        except ZIP_ERRORS as e:
            return f"could not be read from the download ({e}): download it again from the LMS"
        return None


def _damaged_zip(path: Path) -> str | None:
    """Why a file that is no readable zip was meant to be one (named .zip, or starting as zips do)."""
    try:
        with open(path, "rb") as file:
            starts_like_a_zip = file.read(4) == b"PK\x03\x04"
    except OSError:
        starts_like_a_zip = False
    if starts_like_a_zip:
        return "it starts as a zip but its end, where a zip lists its files, is missing (cut short while downloading?)"
    if path.suffix.lower() == ".zip":
        return "it is named .zip but holds no zip (an error page saved in its place?)"
    return None


def list_download(path: Path, scratch: Path, stack: ExitStack, limits: Limits,
                  zone: tzinfo | None = None) -> Download:
    """Every file of the download at `path`; CollectError when it cannot be read at all."""
    download = Download(scratch, stack, limits, zone)
    if not path.exists():
        raise CollectError(f"{path} does not exist: give the zip or folder you downloaded from the LMS")
    if path.is_dir():
        download.add_folder(path)
    elif zipfile.is_zipfile(path):
        try:
            download.add_zip(path, (), "", depth=0)
        except (zipfile.BadZipFile, OSError) as e:
            raise CollectError(f"{path} is a damaged zip, not a readable zip ({e}): download it again from "
                               "the LMS; nothing was collected") from e
    elif damage := _damaged_zip(path):
        raise CollectError(f"{path} is a damaged zip: {damage}. Download it again from the LMS; nothing was "
                           "collected")
    else:
        raise CollectError(
            f"{path} is neither a folder nor a zip: give the LMS download (a .zip) or a folder of "
            "<student_id>.ipynb or <student_id>/<notebook>.ipynb (other archives: unpack them first)")
    if not download.entries and not download.unplaced:
        raise CollectError(f"{path} holds no files: is it the right download?")
    return download
