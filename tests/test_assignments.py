"""Every assignment through real nbgrader: the solution earns full marks on every
autograded cell, the untouched release earns zero on every one, and the written
answers wait for a person."""

from __future__ import annotations

import pytest
from helpers import ALL_SLUGS

from autograder.course.release import BLANK, SOLVED, check_assignment

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=ALL_SLUGS)
def graded(request, tmp_path_factory):
    slug = request.param
    return slug, check_assignment(slug, tmp_path_factory.mktemp(slug))


def test_solution_earns_full_marks(graded):
    slug, result = graded
    auto = [c for c in result[SOLVED] if c.autograded]
    assert len(auto) >= 3
    short = [(c.grade_id, c.score, c.max_score) for c in auto if c.score != c.max_score]
    assert not short, f"{slug}: the solution loses points on {short}"


def test_blank_release_earns_zero(graded):
    slug, result = graded
    auto = [c for c in result[BLANK] if c.autograded]
    assert len(auto) >= 3
    scored = [(c.grade_id, c.score) for c in auto if c.score != 0]
    assert not scored, f"{slug}: the untouched release earns points on {scored}"


def test_written_answers_are_left_for_a_person(graded):
    slug, result = graded
    written = [c for c in result[SOLVED] if not c.autograded]
    assert written, f"{slug} has no manually graded answer"
    assert all(c.score is None for c in written), "an answer was given, so a person must grade it"
    blank_written = [c for c in result[BLANK] if not c.autograded]
    assert all(c.score == 0 for c in blank_written), "an untouched answer cell scores 0 automatically"
