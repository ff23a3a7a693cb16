"""The `autograder` command's entry point: for `grade`, the warm sandbox starts first
(sandbox/ahead.py), then the grader's own modules load, then the command runs."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .sandbox.ahead import close_ahead, warm_kernels_ahead

    argv = sys.argv[1:] if argv is None else argv
    ahead = warm_kernels_ahead(argv)
    try:
        from .cli import main as run

        return run(argv, kernels_ahead=ahead)
    finally:
        close_ahead(ahead)  # grading has closed it if it used it; closing again does nothing
