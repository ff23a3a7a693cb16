"""An nbgrader course directory, read the way nbgrader reads it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


class CourseError(ValueError):
    pass


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
