"""The warm sandbox of `autograder grade`, started before the grader's own modules load.

Importing torch in the sandbox takes three seconds, and the grader's imports
(nbgrader, nbconvert, SQLAlchemy) one more: started first, the sandbox's
import runs while the grader's does. This reads only what starting it needs
from the command line; `grade` then uses it only if the settings it parses
are the same (root, warm kernels, the same limits and imports), and starts its own
otherwise. Its data folder is empty until grading copies the assignment's
files into it, before the first kernel is forked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .bwrap_args import SandboxUnavailable, bubblewrap
from .kernels import KernelStartFailed
from .limits import Limits
from .warm import WarmKernels


def grade_options(argv: list[str]) -> argparse.Namespace | None:
    """What `grade` was asked, as far as starting its sandbox goes; None for another command. The
    options that take a value are all named, so that none is read as the assignment; an option
    spelled otherwise (abbreviated, say) is left unread, and then the settings will differ."""
    if not argv or argv[0] != "grade":
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("assignment", nargs="?")
    parser.add_argument("--course", default=".")
    parser.add_argument("--memory", type=int, default=Limits.memory_bytes >> 20)
    for name in ("--student", "--timeout", "--total-timeout", "--workers", "--dask"):
        parser.add_argument(name, action="append")
    for flag in ("--no-sandbox", "--cold", "-h", "--help"):
        parser.add_argument(flag, action="store_true")
    try:
        options, _ = parser.parse_known_args(argv[1:])
    except SystemExit:  # argparse's own error: `grade` will say it better
        return None
    if options.no_sandbox or options.cold or options.dask or options.h or options.help:
        return None
    return options


def warm_kernels_ahead(argv: list[str]) -> WarmKernels | None:
    """For `autograder grade` as root with warm kernels (the default), its warm sandbox, starting;
    None otherwise, or when it cannot start here (grade then says why, as without it)."""
    options = grade_options(argv)
    if options is None or os.geteuid() != 0 or options.memory < 1:
        return None
    from ..pipeline.preload import imported_modules  # reads JSON: nothing heavy

    name = options.assignment
    release = Path(options.course) / "release" / name if name and Path(name).name == name != ".." else None
    # nbgrader's default layout; grade adopts this sandbox only if the course's own gives the same
    preload = imported_modules(sorted(release.glob("*.ipynb")), release) if release else ()
    data_dir = Path(tempfile.mkdtemp(prefix="autograder-data-"))
    try:
        return WarmKernels(bubblewrap(), Limits(memory_bytes=options.memory << 20), data_dir, preload, wait=False)
    except (SandboxUnavailable, KernelStartFailed, OSError):
        shutil.rmtree(data_dir, ignore_errors=True)
        return None
    except BaseException:  # Ctrl-C, say: nothing left behind
        shutil.rmtree(data_dir, ignore_errors=True)
        raise


def close_ahead(kernels: WarmKernels | None) -> None:
    if kernels is not None:
        with contextlib.suppress(Exception):
            kernels.close()
        shutil.rmtree(kernels.data_dir, ignore_errors=True)
