"""Fixtures only: what tests share as functions and data lives in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.course.topics import REPO_ROOT
from autograder.nbgrader_cli import path_with_this_environment

# `make test` runs .venv/bin/python without activating the environment; tests that make a gradebook
# with nbgrader's API in this process need its `alembic` on PATH, as an activated environment has it.
os.environ["PATH"] = path_with_this_environment()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
