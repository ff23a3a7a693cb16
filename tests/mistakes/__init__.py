"""Typical mistakes, and what the visible tests must say about each (issue 12).

A student checks themselves with the visible tests of the release. For each
exercise, the mistakes learners really make (forgetting to zero `.grad`, zeroing
inside the accumulation loop, `=` instead of `+=` in an engine, a missing
`retain_graph`, `.item()` breaking the graph, ...) must get a message that names
the likely cause, not a bare `assert_close` dump. Each `Mistake` here is the
instructor's solution with ONE answer cell replaced by the mistaken code, the
visible test cell that must catch it, and words the message must contain.

`tests/test_mistakes.py` runs them; one module per assignment (m01.py ... m07.py)
holds its `MISTAKES`. Nothing here runs code: the mistakes are data (source text).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    name: str  # short and unique within the assignment: "forgets_to_zero"
    answer: str  # grade id of the answer cell it replaces
    test: str  # grade id of the visible test cell that must fail on it
    code: str  # the whole mistaken answer cell
    says: tuple[str, ...]  # each must appear in the test's message (case-insensitive): the likely cause
    cause: str = ""  # the mistake in words, for the closing table: "does not zero .grad between steps"
