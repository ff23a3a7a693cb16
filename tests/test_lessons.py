"""Every lesson runs top to bottom on CPU in a real Jupyter kernel, cleanly."""

from __future__ import annotations

import pytest

from autograder.course.lessons import execute, stderr_outputs
from autograder.course.topics import REPO_ROOT, SETUP_TAG, TOPICS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.slug)
def test_lesson_runs_cleanly_and_draws_figures(topic):
    nb, error = execute(REPO_ROOT / topic.lesson, timeout=300)
    assert error is None, error
    assert stderr_outputs(nb) == [], "a lesson writes nothing to stderr"
    figures = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert figures, "a lesson shows at least one figure"
    setup = next(c for c in nb.cells if SETUP_TAG in c.metadata.get("tags", []))
    setup_output = "".join(o.get("text", "") for o in setup.outputs)
    assert "torch 2." in setup_output and " on cpu" in setup_output
