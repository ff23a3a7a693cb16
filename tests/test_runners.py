"""How many submissions `autograder grade` runs at once by default: one a core,
no more than fit in memory at each sandbox's limit."""

from __future__ import annotations

import pytest

from autograder.pipeline.runners import available_memory, default_workers

GiB = 1 << 30


@pytest.mark.parametrize(("cores", "available", "limit", "expected"), [
    (2, 24 * GiB, 2 * GiB, 2),  # this machine: cores decide
    (16, 24 * GiB, 2 * GiB, 9),  # memory decides: 80% of 24 GiB holds nine 2 GiB sandboxes
    (16, 3 * GiB, 4 * GiB, 1),  # not even one fits: still one, never zero
    (4, 0, 2 * GiB, 4),  # memory unknown (no /proc/meminfo): cores decide
])
def test_default_workers_fit_cores_and_memory(cores, available, limit, expected):
    assert default_workers(limit, cores=cores, available=available) == expected


def test_available_memory_is_read_from_the_host():
    assert available_memory() > 0
