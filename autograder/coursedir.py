"""An nbgrader course directory, read the way nbgrader reads it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files, parse_utc
from traitlets.config import Config
from traitlets.config.loader import LazyConfigValue, PyFileConfigLoader

from .files import write_atomically

TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's, beside a hand-in: when it was handed in
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format, written in UTC


class CourseError(ValueError):
    pass


class UnreadableTimestamp(ValueError):
    """A hand-in's timestamp.txt holds no time nbgrader can read; the message says what to do."""


@dataclass
class Course:
    root: Path
    config: Config
    dirs: CourseDirectory

    @property
    def db_url(self) -> str:
        return self.dirs.db_url

    def path(self, kind: str, student: str, assignment: str) -> Path:
        folder = getattr(self.dirs, f"{kind}_directory")
        return Path(self.dirs.format_path(folder, student, assignment))

    def release_notebooks(self, assignment: str) -> list[Path]:
        """The student versions: the templates hand-ins are matched and repaired against."""
        folder = self.path("release", ".", assignment)
        notebooks = sorted(folder.glob("*.ipynb"))
        if not notebooks:
            raise CourseError(
                f"no release notebooks in {folder}: generate them with "
                f"`nbgrader generate_assignment {assignment}` (or `make release`) first"
            )
        return notebooks

    def exclude_overwriting(self, assignment: str) -> list[str]:
        """Paths (relative to the assignment's folder) where the student's own file stays in the kernel's
        working folder, as the course's Autograde.exclude_overwriting names them for nbgrader autograde."""
        if "Autograde" not in self.config or "exclude_overwriting" not in self.config.Autograde:
            return []
        setting = self.config.Autograde.exclude_overwriting
        if isinstance(setting, LazyConfigValue):  # set with .update(...) rather than =
            setting = setting.get_value({})
        return [os.path.normpath(path) for path in setting.get(assignment) or []]

    def handed_in_files(self, student: str, assignment: str) -> dict[str, Path]:
        """What nbgrader autograde gives the kernel of the student's own folder: every file but notebooks
        and what CourseDirectory.ignore names, by path relative to the folder; besides nbgrader, not
        timestamp.txt, and never a symlink in it (nor anything in a linked folder), which is left out unread."""
        folder = self.path("submitted", student, assignment)
        if not folder.is_dir():
            return {}
        found = {}
        for name in find_all_files(str(folder), [*self.dirs.ignore, "*.ipynb"]):  # os.walk: no linked folder
            path = Path(name)
            relative = path.relative_to(folder).as_posix()
            if relative != TIMESTAMP_FILE and not path.is_symlink() and path.is_file():
                found[relative] = path
        return found

    def cell_timeout(self, default: int, unlimited: int) -> int:
        """Seconds a cell may run as the course sets it (nbgrader's Execute.timeout): `default` where it
        sets none, `unlimited` where it sets no limit (None or below 1, as nbclient reads it)."""
        for section in ("Execute", "ExecutePreprocessor"):  # nbgrader's Execute inherits the second's settings
            if section in self.config and "timeout" in self.config[section]:
                value = self.config[section].timeout
                return value if isinstance(value, int) and value >= 1 else unlimited
        return default

    def timestamp(self, student: str, assignment: str) -> datetime | None:
        """When the hand-in was handed in, read as nbgrader reads timestamp.txt (UTC; None: no file,
        or an empty one); UnreadableTimestamp where nbgrader itself would stop."""
        path = self.path("submitted", student, assignment) / TIMESTAMP_FILE
        if not path.is_file():
            return None
        what_to_do = (f"no late penalty was applied: correct {path} (e.g. 2024-03-01 14:05:00 UTC) and grade "
                      f"{student} again, or decide the penalty yourself")
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise UnreadableTimestamp(f"{TIMESTAMP_FILE} could not be read ({error}); {what_to_do}") from None
        if not text:
            return None
        try:
            return parse_utc(text)
        except (ValueError, OverflowError, TypeError):  # dateutil's ways of refusing
            raise UnreadableTimestamp(f"{TIMESTAMP_FILE} holds {text[:60]!r}, which is not a time; "
                                      f"{what_to_do}") from None

    def check_assignment(self, assignment: str) -> None:
        with Gradebook(self.db_url, self.dirs.course_id) as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
                raise CourseError(
                    f"the gradebook ({self.db_url}) has no assignment {assignment!r} (it has: {known}). "
                    f"Run `nbgrader generate_assignment {assignment}` in {self.root} first: it records "
                    "the assignment's cells and hidden tests in the gradebook."
                ) from None


def open_course(root: Path) -> Course:
    root = root.resolve()
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise CourseError(
            f"{root} is not an nbgrader course directory (no nbgrader_config.py): run from the course "
            "directory or pass --course DIR"
        )
    config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    dirs = CourseDirectory(config=config)
    dirs.root = str(root)
    return Course(root, config, dirs)


def copy_release_files(release: Path, dest: Path, exclude: Iterable[str] = ()) -> Path | None:
    """The assignment's files besides notebooks, from the release (never from source/, which has
    solutions), copied into `dest` for the kernels, less the paths in `exclude` (where the student's
    own file stays, as nbgrader's Autograde.exclude_overwriting says); None when there are none."""
    left_out = {os.path.normpath(path) for path in exclude}
    files = [p for p in release.rglob("*") if p.is_file() and p.suffix != ".ipynb"
             and os.path.normpath(p.relative_to(release)) not in left_out] if release.is_dir() else []
    for path in files:
        target = dest / path.relative_to(release)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest if files else None


def write_timestamp(folder: Path, when: datetime) -> Path:
    """nbgrader's timestamp.txt in a hand-in's folder: `when` (aware) in UTC, as nbgrader writes it
    ("2024-03-01 14:05:00.000000 UTC"), so that parse_utc and `Course.timestamp` read it back."""
    path = Path(folder) / TIMESTAMP_FILE
    write_atomically(path, when.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT).encode())
    return path
