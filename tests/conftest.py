from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO_ROOT, TOPICS

ALL_SLUGS = [t.slug for t in TOPICS]


def read(relpath: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO_ROOT / relpath, as_version=4)


def committed_notebooks() -> list[Path]:
    return sorted(
        p for pattern in ("notebooks/*.ipynb", "source/*/*.ipynb", "release/*/*.ipynb")
        for p in REPO_ROOT.glob(pattern)
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
