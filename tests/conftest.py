"""Fixtures only: what tests share as functions and data lives in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course.topics import REPO_ROOT


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
