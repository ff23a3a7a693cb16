"""Which submitted cell is which template cell: the `Matcher` and its strategies.

Strongest evidence first: (a) the grade id in a cell's nbgrader metadata;
(b) its nbformat cell id, when both sides have a real one (releases saved as
nbformat 4.0-4.4 have none); (c) for locked cells, the same source, whitespace
aside; then the template's plain cells as landmarks; (d) position: the
unmatched cell of the same type between the cells matched before and after;
last, content: an answer cell that still holds the template's `def` line.
A locked cell found by position or content must still look like itself both
ways, so that a scratch cell the student put where it was is never taken for
it (nbgrader would overwrite the scratch cell with the template's source).
Matching changes no cell, except that (a) drops grade ids claimed twice or
unknown to the template.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ... import cells
from ...outcome import Flag
from .formats import valid_cell_id
from .repairs import Repair

# The stubs the release puts in answer cells (nbgrader_config.py): no evidence of anything.
_STUB_LINES = frozenset({"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"})
_CONTENT_THRESHOLD = 0.5  # share of a template cell's own lines a candidate must hold


def normalized(source: str) -> str:
    return " ".join(source.split())


def key_lines(source: str) -> set[str]:
    """The lines of a cell that say what it is: not blank, not the release's stub."""
    lines = {normalized(line) for line in source.splitlines()}
    return lines - _STUB_LINES - {""}


def key_line_share(template_source: str, source: str) -> float:
    """Share of the template cell's key lines (e.g. an answer's `def` line) that `source` has."""
    wanted = key_lines(template_source)
    return len(wanted & key_lines(source)) / len(wanted) if wanted else 0.0


@dataclass
class Match:
    sub: int  # index of the submitted cell
    how: str  # the evidence, in words: "grade id", "cell id", "source", "position", "content"
    unsure: bool = False  # position only, among several candidates: a person should check


class Matcher:
    """Which submitted cell is which template cell."""

    def __init__(self, sub: list, template: list, made_up_ids: Iterable[str] = ()) -> None:
        """`made_up_ids`: ids the repair gave submitted cells that had none; no evidence of anything."""
        made_up_ids = set(made_up_ids)
        self.sub, self.template = sub, template
        self.graded = [t for t, cell in enumerate(template) if cells.is_nbgrader_cell(cell)]
        self.by_grade_id = {cells.grade_id(template[t]): t for t in self.graded}
        self.matches: dict[int, Match] = {}  # template index -> match (graded and plain cells)
        self.copies: set[int] = set()  # submitted cells that lost a duplicate claim: never matched
        self.used: set[int] = set()  # submitted cells matched to a template cell
        self.normalized = [normalized(cell.source) for cell in sub]
        count = Counter(cell.get("id") for cell in template)
        # An id the template lacks, or repeats, says nothing about which cell is which.
        self.template_ids = [cell.get("id") if valid_cell_id(cell.get("id")) and count[cell.get("id")] == 1
                             else None for cell in template]
        self.sub_ids = [{i for i in (cell.get("id"), cell.metadata.get("id"))  # Colab keeps an id in metadata
                         if valid_cell_id(i) and i not in made_up_ids} for cell in sub]

    def is_free(self, s: int) -> bool:
        return s not in self.copies and s not in self.used

    def match(self, t: int, s: int, how: str, unsure: bool = False) -> None:
        self.matches[t] = Match(s, how, unsure)
        self.used.add(s)

    def unmatched(self, indices: Iterable[int]) -> list[int]:
        return [t for t in indices if t not in self.matches]

    def free_cells(self, cell_type: str, lo: int = -1, hi: int | None = None) -> list[int]:
        hi = len(self.sub) if hi is None else hi
        return [s for s in range(lo + 1, hi) if self.sub[s].cell_type == cell_type and self.is_free(s)]

    def window(self, first: int, last: int) -> tuple[int, int]:
        """Submitted indices (exclusive) of the matched template cells around template cells first..last."""
        before = [self.matches[t].sub for t in range(first - 1, -1, -1) if t in self.matches][:1]
        after = [self.matches[t].sub for t in range(last + 1, len(self.template)) if t in self.matches][:1]
        return (before[0] if before else -1), (after[0] if after else len(self.sub))

    def unmatched_runs(self) -> list[tuple[int, int]]:
        """Maximal runs first..last of consecutive unmatched template cells holding a graded cell."""
        runs, start = [], None
        for t in range(len(self.template) + 1):
            if t < len(self.template) and t not in self.matches:
                start = t if start is None else start
                continue
            if start is not None and any(g in self.graded for g in range(start, t)):
                runs.append((start, t - 1))
            start = None
        return runs


def match_by_grade_id(matcher: Matcher, repairs: list[Repair]) -> None:
    """(a) grade ids: resolve duplicates, drop grade ids the template does not know."""
    claims: dict[str, list[int]] = {}
    for s, cell in enumerate(matcher.sub):
        if (grade_id := cells.grade_id(cell)) is not None:
            claims.setdefault(grade_id, []).append(s)
    for grade_id, subs in claims.items():
        t = matcher.by_grade_id.get(grade_id)
        if t is None:
            for s in subs:
                del matcher.sub[s].metadata["nbgrader"]
                repairs.append(Repair(
                    "metadata", grade_id,
                    f"removed nbgrader metadata naming '{grade_id}', a cell the template does not have, "
                    f"from cell {s + 1} of the handed-in notebook",
                ))
            continue
        keep = _best_claim(matcher, t, subs)
        for i, s in enumerate(subs):
            if i == keep:
                continue
            del matcher.sub[s].metadata["nbgrader"]
            matcher.copies.add(s)
            repairs.append(Repair(
                "duplicate", grade_id,
                f"cell {s + 1} of the handed-in notebook also claimed to be {cells.describe(matcher.template[t])}; "
                f"kept cell {subs[keep] + 1} and removed the nbgrader metadata from this copy",
            ))
        matcher.match(t, subs[keep], "grade id")


def _best_claim(matcher: Matcher, t: int, subs: list[int]) -> int:
    """Of several submitted cells claiming template cell t's grade id, the one to grade (index into `subs`)."""
    template_cell, claimants = matcher.template[t], [matcher.sub[s] for s in subs]
    same_type = [i for i, c in enumerate(claimants) if c.cell_type == template_cell.cell_type] or list(
        range(len(claimants)))
    if cells.is_answer(template_cell):
        return same_type[-1]  # the student's last edit is the later copy
    wanted = normalized(template_cell.source)
    same_source = [i for i in same_type if normalized(claimants[i].source) == wanted] or same_type
    same_id = [i for i in same_source if matcher.template_ids[t] in matcher.sub_ids[subs[i]]]
    return (same_id or same_source)[0]


def match_by_cell_id(matcher: Matcher, indices: Iterable[int]) -> None:
    """(b) the nbformat cell id, or the id Colab keeps in the cell's metadata; a real id on both sides.

    Only an answer cell may have changed type (a stray keypress in Jupyter turns it into markdown)."""
    for t in matcher.unmatched(indices):
        tcell = matcher.template[t]
        if matcher.template_ids[t] is None:
            continue
        for s, cell in enumerate(matcher.sub):
            if (matcher.template_ids[t] in matcher.sub_ids[s] and matcher.is_free(s)
                    and (cell.cell_type == tcell.cell_type or t in matcher.graded and cells.is_answer(tcell))):
                matcher.match(t, s, "cell id")
                break


def match_by_source(matcher: Matcher, indices: Iterable[int]) -> None:
    """(c) the same source, whitespace aside; the first free copy wins."""
    for t in matcher.unmatched(indices):
        tcell = matcher.template[t]
        wanted = normalized(tcell.source)
        if not wanted:
            continue
        for s in matcher.free_cells(tcell.cell_type):
            if matcher.normalized[s] == wanted:
                matcher.match(t, s, "source")
                break


def wrong_notebook_flag(matcher: Matcher) -> Flag | None:
    """A flag when most nbgrader cells, and most cells, went unfound by strong evidence (grade id, cell id,
    source); the template's instructions found by source vouch for a hand-in that lost its metadata."""
    strong = sum(t in matcher.matches for t in matcher.graded)
    if matcher.graded and strong * 2 < len(matcher.graded) and len(matcher.matches) * 2 < len(matcher.template):
        return Flag(None, f"this does not look like the assignment's notebook: only {strong} of the "
                          f"template's {len(matcher.graded)} nbgrader cells were found by metadata, cell "
                          "id or source; check that the student handed in the right file")
    return None


def match_plain_anchors(matcher: Matcher) -> None:
    """The template's other cells (instructions, demos), as landmarks for matching by position."""
    plain = [t for t in range(len(matcher.template)) if t not in matcher.graded]
    match_by_cell_id(matcher, plain)
    sources = [normalized(c.source) for c in matcher.template]
    unique = [t for t in plain if sources.count(sources[t]) == 1]
    match_by_source(matcher, unique)


def match_by_position(matcher: Matcher) -> None:
    """(d) the free cell of the same type between the matched cells around a template cell."""
    for first, last in matcher.unmatched_runs():
        lo, hi = matcher.window(first, last)
        for cell_type in ("code", "markdown", "raw"):
            run = [t for t in range(first, last + 1) if matcher.template[t].cell_type == cell_type]
            candidates = matcher.free_cells(cell_type, lo, hi)
            if not any(t in matcher.graded for t in run) or not candidates:
                continue
            if len(candidates) == len(run):
                for t, s in zip(run, candidates):
                    if t in matcher.graded and _plausible(matcher, t, s):
                        matcher.match(t, s, "position")
                continue
            _match_crowded(matcher, [t for t in run if t in matcher.graded], candidates)


def _plausible(matcher: Matcher, t: int, s: int) -> bool:
    """Any cell may hold a student's answer; a locked cell must still look like itself."""
    return cells.is_answer(matcher.template[t]) or looks_like(matcher.template[t].source, matcher.sub[s].source)


def looks_like(template_source: str, source: str) -> bool:
    """Most of the template cell's lines are there, and most of the cell's lines are the template's:
    a scratch cell the student put where a test was deleted shares a line or two, no more."""
    return (key_line_share(template_source, source) >= _CONTENT_THRESHOLD
            and key_line_share(source, template_source) > _CONTENT_THRESHOLD)


def _match_crowded(matcher: Matcher, wanted: list[int], candidates: list[int]) -> None:
    """More (or fewer) candidates than template cells: content decides, else order, for answers only."""
    for t in wanted:
        if (s := _unique_best(matcher, t, [s for s in candidates if matcher.is_free(s)])) is not None:
            matcher.match(t, s, "position and content")
    floor = -1
    for t in wanted:
        if t in matcher.matches:
            floor = max(floor, matcher.matches[t].sub)
            continue
        free = [s for s in candidates if matcher.is_free(s) and s > floor]
        # A locked cell with no clear match is put back from the template instead.
        if cells.is_answer(matcher.template[t]) and free:
            # A student's scratch cells usually sit below the answer they try out.
            matcher.match(t, free[0], "position", unsure=True)
            floor = free[0]


def _unique_best(matcher: Matcher, t: int, candidates: list[int]) -> int | None:
    candidates = [s for s in candidates if _plausible(matcher, t, s)]
    scores = {s: key_line_share(matcher.template[t].source, matcher.sub[s].source) for s in candidates}
    best = max(scores.values(), default=0.0)
    winners = [s for s, score in scores.items() if score == best]
    return winners[0] if best >= _CONTENT_THRESHOLD and len(winners) == 1 else None


def match_by_content(matcher: Matcher) -> None:
    """Last resort, anywhere in the notebook: the one free cell holding all of a cell's key lines."""
    for t in matcher.unmatched(matcher.graded):
        tcell = matcher.template[t]
        if not key_lines(tcell.source):
            continue
        hits = [s for s in matcher.free_cells(tcell.cell_type)
                if key_line_share(tcell.source, matcher.sub[s].source) == 1.0 and _plausible(matcher, t, s)]
        if len(hits) == 1:
            matcher.match(t, hits[0], "content")
