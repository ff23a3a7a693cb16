"""release/ is generated from source/ by nbgrader and committed: catch drift."""

from __future__ import annotations

import json

import pytest
from helpers import ALL_SLUGS

from autograder.course.release import generate_release, make_scratch_course

pytestmark = pytest.mark.slow


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_committed_release_is_what_source_generates(tmp_path, repo_root):
    course = make_scratch_course(tmp_path, ALL_SLUGS)
    stale = []
    for slug in ALL_SLUGS:
        generated = generate_release(course, slug)
        committed = repo_root / "release" / slug
        assert files_under(generated) == files_under(committed), f"release/{slug} has other files"
        for name in files_under(generated):
            new, old = (generated / name), (committed / name)
            same = (json.loads(new.read_text()) == json.loads(old.read_text()) if name.endswith(".ipynb")
                    else new.read_bytes() == old.read_bytes())
            if not same:
                stale.append(f"release/{slug}/{name}")
    assert not stale, f"out of date: {stale}; run `make release` and commit"
