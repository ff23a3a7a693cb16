"""Run nbgrader's own command line in a course directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderFailed(RuntimeError):
    pass


def nbgrader(course: Path, *args: str) -> str:
    """Run one nbgrader command in `course`; raise with its log when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        check=False,
        cwd=course,
        capture_output=True,
        text=True,
        # nbgrader runs `alembic` and the kernel from PATH: make it this environment's.
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    if done.returncode != 0:
        raise NbgraderFailed(
            f"`nbgrader {' '.join(args)}` failed in {course} (exit {done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done.stdout + done.stderr
