"""Recognising a hand-in by what is inside it: its fingerprint (grade ids and
cell sources), and the one release notebook it matches best, for files whose
name says nothing ("Untitled1.ipynb").

Reads a hand-in with `autograder.handin`, the reader `grade` uses, so that
collect places every notebook grade can read; but it asks only for JSON with
cells: missing metadata and old versions are the repair stage's job. Cell
roles come from `autograder.cells`. Not here: matching by name (`names`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..cells import grade_id, is_answer
from ..handin import UnreadableNotebook, parse_json

CONTENT_THRESHOLD = 0.5  # share of a template's graded cells a file must contain to match it


@dataclass(frozen=True)
class Fingerprint:
    """What a notebook's content is recognised by."""

    grade_ids: frozenset[str]
    sources: frozenset[str]


def _cells(nb: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    cells = nb.get("cells")
    if isinstance(cells, list):
        yield from (c for c in cells if isinstance(c, Mapping))
    for sheet in nb.get("worksheets") or []:  # nbformat 3
        if isinstance(sheet, Mapping):
            yield from (c for c in sheet.get("cells") or [] if isinstance(c, Mapping))


def _source(cell: Mapping[str, Any]) -> str:
    text = cell.get("source", cell.get("input", ""))
    if isinstance(text, list):
        text = "".join(str(t) for t in text)
    return "\n".join(line.rstrip() for line in str(text).splitlines()).strip()


def _fingerprint(nb: Mapping[str, Any]) -> Fingerprint:
    cells = list(_cells(nb))
    ids = {gid for gid in map(grade_id, cells) if gid}
    return Fingerprint(frozenset(ids), frozenset(s for s in map(_source, cells) if s))


def read_fingerprint(data: bytes, name: str) -> Fingerprint:
    """The hand-in's fingerprint; UnreadableNotebook, saying why and what to do, if it is no notebook."""
    nb = parse_json(data, name)
    # nbformat 3 keeps its cells in worksheets: still a notebook, which repair upgrades.
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        raise UnreadableNotebook(f"{name} is JSON but has no notebook cells; ask the student to download it again "
                                 "as .ipynb (File > Download > .ipynb) and resubmit")
    return _fingerprint(nb)


def _template_items(template: Mapping[str, Any]) -> list[tuple[str | None, str | None]]:
    """(grade id, locked source) of each nbgrader cell; any one of them found counts.
    Colab may drop the metadata, so locked sources are the second way to recognise a cell."""
    items = []
    for cell in _cells(template):
        gid = grade_id(cell)
        if gid:
            # Answers change in every hand-in; any other cell's source stays as released.
            locked = None if is_answer(cell) else _source(cell) or None
            items.append((gid, locked))
    if not items:  # a template without nbgrader cells: use all its cells
        items = [(None, s) for s in map(_source, _cells(template)) if s]
    return items


def share_of_template_found(template: Mapping[str, Any], fp: Fingerprint) -> float:
    """The share (0 to 1) of the template's nbgrader cells found in the hand-in, by grade id or source."""
    items = _template_items(template)
    found = sum(1 for gid, src in items if gid in fp.grade_ids or (src is not None and src in fp.sources))
    return found / len(items) if items else 0.0


def match_content(fp: Fingerprint, templates: Mapping[str, Any]) -> tuple[str | None, float]:
    """The one template this content matches best above the threshold (None on a tie), and its share."""
    scores = sorted(((share_of_template_found(t, fp), nb) for nb, t in templates.items()), reverse=True)
    if not scores:
        return None, 0.0
    best, nb = scores[0]
    if best < CONTENT_THRESHOLD or (len(scores) > 1 and scores[1][0] == best):
        return None, best
    return nb, best
