"""The files a student handed in beside the notebooks (a module the notebook
imports, a data file), on their way to the kernel's working folder, where they
lie as `nbgrader autograde` leaves them: the student's files, then the
assignment's own on top.

They travel as bytes ({relative path: content}): read here in the trusted
parent without following a link (`read_files`), sized against the sandbox's
disk (`fit`), and written out fresh, as regular files only, for the sandbox to
copy before its kernel drops its rights (`stage`). Which files a hand-in holds
is coursedir.py's to say; this module never looks at a course.
"""

from __future__ import annotations

import os
import resource
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

HandInFiles = Mapping[str, bytes]  # relative path (POSIX) -> content
PAGE = resource.getpagesize()  # what tmpfs gives a file at the least, and rounds it up to
MOST_FILES = 10_000  # beyond this, a hand-in is not a module and some data


class HandInTooLarge(ValueError):
    """What the student handed in beside the notebooks does not fit in the sandbox's working folder."""


def footprint(sizes) -> int:
    """Bytes that files of these sizes take in a tmpfs (a page each at the least)."""
    return sum(max(1, -(-size // PAGE)) * PAGE for size in sizes)


def _too_large(count: int, needed: int, room: int) -> HandInTooLarge:
    return HandInTooLarge(
        f"the {count} files handed in beside the notebooks need {-(-needed >> 20)} MiB or more in the sandbox's "
        f"working folder, which holds {room >> 20} MiB with the assignment's own files, so no kernel ran them")


def read_files(paths: Mapping[str, Path], room: int) -> dict[str, bytes]:
    """The content of each regular file (a link is never followed), stopping before what
    could not fit in `room` bytes is read."""
    if len(paths) > MOST_FILES:
        raise HandInTooLarge(f"{len(paths)} files were handed in beside the notebooks, more than the "
                             f"{MOST_FILES} the grader copies into a sandbox, so no kernel ran them")
    found: dict[str, bytes] = {}
    needed = 0
    for name, path in sorted(paths.items()):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # a link (ELOOP), or gone: nothing of it goes in
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                continue  # a pipe or a device put where a file was
            needed += footprint([info.st_size])
            if needed > room:
                raise _too_large(len(paths), needed, room)
            found[name] = file.read(info.st_size)
    return found


def _assignment_files(data_dir: Path | None) -> dict[str, int]:
    if data_dir is None or not data_dir.is_dir():
        return {}
    return {p.relative_to(data_dir).as_posix(): p.stat().st_size for p in data_dir.rglob("*") if p.is_file()}


def fit(files: HandInFiles, data_dir: Path | None, room: int | None) -> dict[str, bytes]:
    """The student's files that stay under the assignment's (`data_dir`): not those it replaces,
    nor those in the way of its folders or files; HandInTooLarge when they and the assignment's
    need more than `room` bytes (None: no limit)."""
    assignment = _assignment_files(data_dir)
    folders = {str(parent) for name in assignment for parent in PurePosixPath(name).parents}
    kept = {name: content for name, content in files.items()
            if name not in assignment and name not in folders
            and not any(str(parent) in assignment for parent in PurePosixPath(name).parents)}
    if room is not None:
        needed = footprint(len(c) for c in kept.values()) + footprint(assignment.values())
        if needed > room:
            raise _too_large(len(kept), needed, room)
    return kept


def stage(files: HandInFiles, folder: Path) -> None:
    """Write the files under `folder` as regular files, readable by all (the sandbox copies them
    and makes them the kernel's); a name that leaves the folder is refused."""
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or not relative.parts or {"..", "."} & set(relative.parts):
            raise ValueError(f"{name!r} is not a path inside a hand-in")
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(content)


def staged(files: HandInFiles) -> Path | None:
    """A new folder of the grader's own (0700) holding the files, for a sandbox to mount;
    None when there are none. `unstage` removes it."""
    if not files:
        return None
    folder = Path(tempfile.mkdtemp(prefix="autograder-handin-"))
    try:
        stage(files, folder)
    except BaseException:
        unstage(folder)
        raise
    return folder


def unstage(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
