"""Run nbgrader's own command line in a course directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderFailed(RuntimeError):
    pass


def path_with_this_environment() -> str:
    """PATH with this Python's own bin folder first, as an activated virtual environment has it:
    nbgrader runs `alembic` (to make a new gradebook) and kernels from PATH."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def nbgrader(course: Path, *args: str) -> str:
    """Run one nbgrader command in `course`; raise with its log when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        check=False,
        cwd=course,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path_with_this_environment()},
    )
    if done.returncode != 0:
        raise NbgraderFailed(
            f"`nbgrader {' '.join(args)}` failed in {course} (exit {done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done.stdout + done.stderr
