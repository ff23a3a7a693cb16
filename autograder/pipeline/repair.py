"""Repair a handed-in notebook against its template, the student (release) version.

Colab, Kaggle, VS Code and students themselves take things away from a notebook
that nbgrader needs: the nbgrader cell metadata, cell ids, the nbformat version,
whole test cells, the order of cells. `repair_submission` gives them back, so an
honest correct solution gets full marks whatever happened to the file, and flags
for a person what it cannot match, so nothing is silently scored 0. Every change
is recorded as a `Repair` with a sentence a person can read.

How a template nbgrader cell is found in the submission, strongest evidence first:
(a) its grade_id in the cell's nbgrader metadata; (b) its nbformat cell id;
(c) for locked cells (tests, read-only cells), the same source, whitespace aside;
(d) its position: the unmatched cell of the same type between the cells matched
before and after it; and last, for a cell found nowhere near its place, its
content (an answer cell that still holds the template's `def` line).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import nbformat
from nbformat.corpus.words import generate_corpus_id
from nbformat.validator import isvalid, normalize
from nbgrader import utils as nbgrader_utils

from ..handin import UnreadableNotebook

__all__ = [
    "Flag",
    "Repair",
    "RepairResult",
    "UnreadableNotebook",
    "repair_submission",
]

NBFORMAT_MINOR = 5  # nbformat 4.5: the first minor version with cell ids, what nbgrader writes
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # nbformat 4.5 schema, definitions.cell_id
# The stubs the release puts in answer cells (nbgrader_config.py): no evidence of anything.
_STUB_LINES = frozenset({"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"})
_CONTENT_THRESHOLD = 0.5  # share of a template cell's own lines a candidate must hold
# Cell metadata the release sets with the nbgrader metadata (read-only cells in Jupyter).
_LOCK_KEYS = ("deletable", "editable")


@dataclass(frozen=True)
class Repair:
    kind: str  # "format", "metadata", "cell_type", "restored_cell", "moved_cell", "duplicate", "outputs"
    grade_id: str | None  # the nbgrader cell concerned, if any
    detail: str  # one sentence for a person


@dataclass(frozen=True)
class Flag:
    grade_id: str | None  # None: the whole notebook
    reason: str  # one sentence for a person


@dataclass
class RepairResult:
    notebook: nbformat.NotebookNode
    repairs: list[Repair] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


# --------------------------------------------------------------------------- cells


def _nbgrader(cell: nbformat.NotebookNode) -> dict | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    meta = _nbgrader(cell)
    grade_id = meta.get("grade_id") if meta else None
    return grade_id if isinstance(grade_id, str) and grade_id else None


def _is_graded(cell: nbformat.NotebookNode) -> bool:
    """A cell nbgrader cares about: answer, test, read-only or task cell."""
    return _grade_id(cell) is not None and any(
        f(cell) for f in (nbgrader_utils.is_solution, nbgrader_utils.is_grade,
                          nbgrader_utils.is_locked, nbgrader_utils.is_task)
    )


def _is_answer(cell: nbformat.NotebookNode) -> bool:
    return bool(nbgrader_utils.is_solution(cell))


def _role(cell: nbformat.NotebookNode) -> str:
    if _is_answer(cell):
        return "written-answer cell" if cell.cell_type == "markdown" else "answer cell"
    if nbgrader_utils.is_task(cell):
        return "task cell"
    return "test cell" if nbgrader_utils.is_grade(cell) else "read-only cell"


def _describe(cell: nbformat.NotebookNode) -> str:
    return f"{_role(cell)} '{_grade_id(cell)}'"


def _normalized(source: str) -> str:
    return " ".join(source.split())


def _key_lines(source: str) -> set[str]:
    """The lines of a cell that say what it is: not blank, not the release's stub."""
    lines = {_normalized(line) for line in source.splitlines()}
    return lines - _STUB_LINES - {""}


def _content_score(template_source: str, source: str) -> float:
    """Share of the template cell's key lines (e.g. an answer's `def` line) that `source` has."""
    wanted = _key_lines(template_source)
    return len(wanted & _key_lines(source)) / len(wanted) if wanted else 0.0


def _excerpt(cell: nbformat.NotebookNode, width: int = 40) -> str:
    """The first line of a cell, short enough for a sentence."""
    line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


def _fresh_id(taken: set[str]) -> str:
    while (cell_id := generate_corpus_id()) in taken:
        pass
    return cell_id


# --------------------------------------------------------------------------- format


def _upgrade_format(nb: nbformat.NotebookNode, repairs: list[Repair]) -> None:
    """Make `nb` nbformat 4.5 with a valid, unique id on every cell; keep all else."""
    if nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise UnreadableNotebook(f"the notebook is in nbformat {nb.get('nbformat')}, not 4; "
                                 "read it with read_submission, which says what to do")
    old_minor = nb.get("nbformat_minor", 0)
    nb.nbformat, nb.nbformat_minor = 4, NBFORMAT_MINOR
    if not isinstance(nb.get("metadata"), dict):
        nb.metadata = nbformat.NotebookNode()
    for cell in nb.cells:
        _tidy_cell(cell)
    ids_before = [cell.get("id") for cell in nb.cells]
    for cell in nb.cells:
        if not (isinstance(cell.get("id"), str) and _CELL_ID.match(cell.id)):
            cell.pop("id", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # normalize warns about each id it adds: we record them instead
        _, fixed = normalize(nb)
    nb.cells = fixed["cells"]
    changed = sum(before != cell.id for before, cell in zip(ids_before, nb.cells))
    parts = []
    if old_minor != NBFORMAT_MINOR:
        parts.append(f"converted the notebook from nbformat 4.{old_minor} to 4.{NBFORMAT_MINOR}")
    if changed:
        parts.append(f"gave {changed} cell{'s' if changed != 1 else ''} a new cell id (missing, invalid or repeated)")
    if parts:
        repairs.append(Repair("format", None, " and ".join(parts)))


def _tidy_cell(cell: nbformat.NotebookNode) -> None:
    """Fields older nbformat writers leave out or put in the wrong kind of cell."""
    if not isinstance(cell.get("metadata"), dict):
        cell.metadata = nbformat.NotebookNode()
    if isinstance(cell.get("source"), list):
        cell.source = "".join(cell.source)
    cell.setdefault("source", "")
    if cell.cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


# --------------------------------------------------------------------------- matching


@dataclass
class _Match:
    sub: int  # index of the submitted cell
    how: str  # the evidence, in words: "grade id", "cell id", "source", "position", "content"
    unsure: bool = False  # position only, among several candidates: a person should check


class _Matcher:
    """Which submitted cell is which template cell."""

    def __init__(self, sub: list, template: list) -> None:
        self.sub, self.template = sub, template
        self.graded = [t for t, cell in enumerate(template) if _is_graded(cell)]
        self.by_grade_id = {_grade_id(template[t]): t for t in self.graded}
        self.matches: dict[int, _Match] = {}  # template index -> match (graded and plain cells)
        self.copies: set[int] = set()  # submitted cells that lost a duplicate claim: never matched
        self.used: set[int] = set()  # submitted cells matched to a template cell
        self.normalized = [_normalized(cell.source) for cell in sub]

    def is_free(self, s: int) -> bool:
        return s not in self.copies and s not in self.used

    def match(self, t: int, s: int, how: str, unsure: bool = False) -> None:
        self.matches[t] = _Match(s, how, unsure)
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


def _claims(matcher: _Matcher, repairs: list[Repair]) -> None:
    """(a) grade ids: resolve duplicates, drop grade ids the template does not know."""
    claims: dict[str, list[int]] = {}
    for s, cell in enumerate(matcher.sub):
        if (grade_id := _grade_id(cell)) is not None:
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
        keep = _best_claim(matcher.template[t], [matcher.sub[s] for s in subs])
        for i, s in enumerate(subs):
            if i == keep:
                continue
            del matcher.sub[s].metadata["nbgrader"]
            matcher.copies.add(s)
            repairs.append(Repair(
                "duplicate", grade_id,
                f"cell {s + 1} of the handed-in notebook also claimed to be {_describe(matcher.template[t])}; "
                f"kept cell {subs[keep] + 1} and removed the nbgrader metadata from this copy",
            ))
        matcher.match(t, subs[keep], "grade id")


def _best_claim(template_cell: nbformat.NotebookNode, cells: list) -> int:
    """Of several cells claiming one grade id, the one to grade (index into `cells`)."""
    same_type = [i for i, c in enumerate(cells) if c.cell_type == template_cell.cell_type] or list(
        range(len(cells)))
    if _is_answer(template_cell):
        return same_type[-1]  # the student's last edit is the later copy
    wanted = _normalized(template_cell.source)
    same_source = [i for i in same_type if _normalized(cells[i].source) == wanted] or same_type
    same_id = [i for i in same_source if cells[i].get("id") == template_cell.get("id")]
    return (same_id or same_source)[0]


def _match_by_cell_id(matcher: _Matcher, indices: Iterable[int]) -> None:
    """(b) the nbformat cell id, or the id Colab keeps in the cell's metadata.

    Only an answer cell may have changed type (a stray keypress in Jupyter turns it into markdown)."""
    for t in matcher.unmatched(indices):
        tcell = matcher.template[t]
        for s, cell in enumerate(matcher.sub):
            if (tcell.get("id") in (cell.get("id"), cell.metadata.get("id")) and matcher.is_free(s)
                    and (cell.cell_type == tcell.cell_type or t in matcher.graded and _is_answer(tcell))):
                matcher.match(t, s, "cell id")
                break


def _match_by_source(matcher: _Matcher, indices: Iterable[int]) -> None:
    """(c) the same source, whitespace aside; the first free copy wins."""
    for t in matcher.unmatched(indices):
        tcell = matcher.template[t]
        wanted = _normalized(tcell.source)
        if not wanted:
            continue
        for s in matcher.free_cells(tcell.cell_type):
            if matcher.normalized[s] == wanted:
                matcher.match(t, s, "source")
                break


def _match_plain_anchors(matcher: _Matcher) -> None:
    """The template's other cells (instructions, demos), as landmarks for matching by position."""
    plain = [t for t in range(len(matcher.template)) if t not in matcher.graded]
    _match_by_cell_id(matcher, plain)
    sources = [_normalized(c.source) for c in matcher.template]
    unique = [t for t in plain if sources.count(sources[t]) == 1]
    _match_by_source(matcher, unique)


def _match_by_position(matcher: _Matcher) -> None:
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


def _plausible(matcher: _Matcher, t: int, s: int) -> bool:
    """Any cell may hold a student's answer; a locked cell must still look like itself,
    or a scratch cell the student put where it was deleted would take its place."""
    tcell = matcher.template[t]
    return _is_answer(tcell) or _content_score(tcell.source, matcher.sub[s].source) >= _CONTENT_THRESHOLD


def _match_crowded(matcher: _Matcher, wanted: list[int], candidates: list[int]) -> None:
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
        if _is_answer(matcher.template[t]) and free:
            # A student's scratch cells usually sit below the answer they try out.
            matcher.match(t, free[0], "position", unsure=True)
            floor = free[0]


def _unique_best(matcher: _Matcher, t: int, candidates: list[int]) -> int | None:
    scores = {s: _content_score(matcher.template[t].source, matcher.sub[s].source) for s in candidates}
    best = max(scores.values(), default=0.0)
    winners = [s for s, score in scores.items() if score == best]
    return winners[0] if best >= _CONTENT_THRESHOLD and len(winners) == 1 else None


def _match_by_content(matcher: _Matcher) -> None:
    """Last resort, anywhere in the notebook: the one free cell holding all of a cell's key lines."""
    for t in matcher.unmatched(matcher.graded):
        tcell = matcher.template[t]
        if not _key_lines(tcell.source):
            continue
        hits = [s for s in matcher.free_cells(tcell.cell_type)
                if _content_score(tcell.source, matcher.sub[s].source) == 1.0]
        if len(hits) == 1:
            matcher.match(t, hits[0], "content")


# --------------------------------------------------------------------------- repairing cells


def _restore_metadata(matcher: _Matcher, repairs: list[Repair], flags: list[Flag]) -> None:
    for t in matcher.graded:
        if (m := matcher.matches.get(t)) is None:
            continue
        tcell, cell = matcher.template[t], matcher.sub[m.sub]
        grade_id, wanted = _grade_id(tcell), tcell.metadata.nbgrader
        if cell.cell_type != tcell.cell_type:
            _set_cell_type(cell, tcell.cell_type)
            repairs.append(Repair("cell_type", grade_id,
                                  f"turned {_describe(tcell)} back into a {tcell.cell_type} cell, as in the template"))
        if m.how == "grade id":
            changed = sorted(k for k in set(wanted) | set(cell.metadata.nbgrader)
                             if cell.metadata.nbgrader.get(k) != wanted.get(k))
            if changed:
                cell.metadata.nbgrader = copy.deepcopy(wanted)
                repairs.append(Repair("metadata", grade_id,
                                      f"reset the nbgrader metadata of {_describe(tcell)} to the template's "
                                      f"({', '.join(changed)} differed)"))
            continue
        cell.metadata.nbgrader = copy.deepcopy(wanted)
        for key in _LOCK_KEYS:
            if key in tcell.metadata:
                cell.metadata[key] = tcell.metadata[key]
        repairs.append(Repair("metadata", grade_id,
                              f"restored the nbgrader metadata of {_describe(tcell)} (matched by {m.how})"))
        if m.unsure:
            flags.append(Flag(grade_id, f"found {_describe(tcell)} by position only, among several cells the "
                                        "student added there: check that the graded cell is the student's answer"))


def _set_cell_type(cell: nbformat.NotebookNode, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.pop("attachments", None)  # only markdown and raw cells may have attachments
    _tidy_cell(cell)


def _strip_strays(matcher: _Matcher, repairs: list[Repair]) -> None:
    """nbgrader metadata on a cell that is no template nbgrader cell would make nbgrader choke."""
    graded_subs = {matcher.matches[t].sub for t in matcher.graded if t in matcher.matches}
    for s, cell in enumerate(matcher.sub):
        if s in graded_subs or "nbgrader" not in cell.metadata:
            continue
        meta = _nbgrader(cell)
        if meta is not None and not any(meta.get(k) for k in ("grade", "solution", "locked", "task")):
            continue  # harmless: nbgrader ignores a cell that is none of these
        del cell.metadata["nbgrader"]
        repairs.append(Repair("metadata", None,
                              f"removed nbgrader metadata without a grade id from cell {s + 1} of the "
                              "handed-in notebook, which matches no cell of the template"))


def _missing_cells(matcher: _Matcher, taken_ids: set[str], repairs: list[Repair],
                   flags: list[Flag]) -> dict[int, nbformat.NotebookNode]:
    """Template cells found nowhere: copies of them (the release's stub for an answer cell)."""
    missing = {}
    for t in matcher.unmatched(matcher.graded):
        tcell = matcher.template[t]
        cell = nbformat.from_dict(copy.deepcopy(tcell))
        _tidy_cell(cell)
        if cell.get("id") in taken_ids or not _CELL_ID.match(str(cell.get("id"))):
            cell.id = _fresh_id(taken_ids)
        taken_ids.add(cell.id)
        missing[t] = cell
        grade_id = _grade_id(tcell)
        if _is_answer(tcell):
            flags.append(Flag(grade_id, f"could not find the {_role(tcell)} '{grade_id}' (no cell with its "
                                        "nbgrader metadata, cell id, position or content); inserted the "
                                        "template's empty cell, so its tests will fail: look for the "
                                        "student's answer elsewhere in the notebook"))
            repairs.append(Repair("restored_cell", grade_id,
                                  f"inserted the template's empty {_describe(tcell)}, which was not found"))
        else:
            repairs.append(Repair("restored_cell", grade_id,
                                  f"put back {_describe(tcell)}, which the student had deleted, from the template"))
    return missing


# --------------------------------------------------------------------------- order


@dataclass
class _Item:
    cell: nbformat.NotebookNode
    t: int | None  # template index when the cell is a matched or restored template cell
    graded: bool  # a head: nbgrader cells must come in template order
    new: bool = False


def _order(matcher: _Matcher, missing: dict[int, nbformat.NotebookNode],
           repairs: list[Repair]) -> list[nbformat.NotebookNode]:
    """Put nbgrader cells in template order, moving as few cells as possible."""
    sub_to_t = {m.sub: t for t, m in matcher.matches.items()}
    items = [_Item(cell, sub_to_t.get(s), sub_to_t.get(s) in matcher.graded)
             for s, cell in enumerate(matcher.sub)]
    heads = [i for i, item in enumerate(items) if item.graded]
    settled = {id(items[i]) for i in _kept_in_place(items, heads, matcher.template)}
    moving = sorted((items[i] for i in heads if id(items[i]) not in settled), key=lambda it: it.t)
    to_place = sorted(moving + [_Item(cell, t, True, new=True) for t, cell in missing.items()],
                      key=lambda it: it.t)
    for item in to_place:
        block = [item]
        if not item.new:  # the student's own cells that followed it go with it
            start = next(i for i, it in enumerate(items) if it is item)
            end = start + 1
            while end < len(items) and items[end].t is None:
                end += 1
            block = items[start:end]
            del items[start:end]
        at, where = _place(items, item.t, settled, matcher.template)
        items[at:at] = block
        settled.add(id(item))
        if not item.new:
            repairs.append(Repair("moved_cell", _grade_id(item.cell),
                                  f"moved {_describe(item.cell)}, which was out of the template's order, "
                                  f"back {where}"))
    return [item.cell for item in items]


def _kept_in_place(items: list[_Item], heads: list[int], template: list) -> list[int]:
    """The heaviest increasing run of heads (answers weigh more: tests move to them)."""
    weight = [2 if _is_answer(template[items[i].t]) else 1 for i in heads]
    best, prev = weight[:], [-1] * len(heads)
    for j in range(len(heads)):
        for i in range(j):
            if items[heads[i]].t < items[heads[j]].t and best[i] + weight[j] > best[j]:
                best[j], prev[j] = best[i] + weight[j], i
    kept, j = [], max(range(len(heads)), key=best.__getitem__, default=-1)
    while j != -1:
        kept.append(heads[j])
        j = prev[j]
    return kept[::-1]


def _place(items: list[_Item], t: int, settled: set[int], template: list) -> tuple[int, str]:
    """Where template cell t goes, and that place in words: right after the nearest
    preceding template cell that keeps nbgrader cells in order."""
    heads = [(i, it.t) for i, it in enumerate(items) if it.graded and id(it) in settled]
    lo = max((i for i, ht in heads if ht < t), default=-1)
    hi = min((i for i, ht in heads if ht > t), default=len(items))
    before = sorted(((i, it) for i, it in enumerate(items) if it.t is not None and it.t < t),
                    key=lambda pair: -pair[1].t)
    for i, item in before:
        if lo <= i < hi and (not item.graded or id(item) in settled):
            what = _describe(item.cell) if item.graded else f"the cell '{_excerpt(template[item.t])}'"
            return i + 1, f"after {what}"
    if hi == len(items):
        return hi, "at the end of the notebook"
    return (0, "at the start of the notebook") if t == 0 else (hi, f"before {_describe(items[hi].cell)}")


# --------------------------------------------------------------------------- validity


def _make_valid(nb: nbformat.NotebookNode, template: nbformat.NotebookNode, repairs: list[Repair]) -> None:
    """Drop what the nbformat 4.5 schema rejects: outputs first (grading makes new ones)."""
    if isvalid(nb):  # one pass over the notebook; cell by cell only when something is wrong
        return
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code":
            good = [o for o in cell.outputs if _valid(o, "output")]
            if len(good) != len(cell.outputs):
                repairs.append(Repair("outputs", _grade_id(cell),
                                      f"dropped {len(cell.outputs) - len(good)} damaged output(s) of cell {n}, "
                                      "which grading makes again"))
                cell.outputs = good
        ref = {"code": "code_cell", "markdown": "markdown_cell", "raw": "raw_cell"}.get(cell.cell_type)
        if ref is None or not _valid(cell, ref):
            _rebuild(cell)
            repairs.append(Repair("format", _grade_id(cell),
                                  f"rebuilt cell {n}, which the notebook schema rejected, keeping its source"))
    if not isvalid(nb):
        _repair_notebook_metadata(nb, template)
        repairs.append(Repair("format", None, "replaced notebook metadata that the notebook schema rejected "
                                              "(kernel or language) with the template's"))
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:  # pragma: no cover - every cell was rebuilt above
        raise UnreadableNotebook(f"the notebook could not be made valid: {error.message}") from error


def _repair_notebook_metadata(nb: nbformat.NotebookNode, template: nbformat.NotebookNode) -> None:
    """Keep what the schema accepts of the notebook's metadata; the template's kernel where needed."""
    _, stripped = normalize(nb, strip_invalid_metadata=True)
    from_template = {k: copy.deepcopy(v) for k, v in template.metadata.items() if k in ("kernelspec", "language_info")}
    candidates = ({**from_template, **stripped.metadata}, {**stripped.metadata, **from_template},
                  copy.deepcopy(template.metadata))
    for metadata in candidates:
        nb.metadata = nbformat.from_dict(metadata)
        if isvalid(nb):
            return


def _valid(node: dict, ref: str) -> bool:
    return isvalid(node, ref=ref, version=4, version_minor=NBFORMAT_MINOR)


def _rebuild(cell: nbformat.NotebookNode) -> None:
    """A fresh cell of a known type with this one's id, source and the metadata grading needs."""
    kind = cell.cell_type if cell.cell_type in ("code", "markdown", "raw") else "raw"
    source = cell.source if isinstance(cell.source, str) else str(cell.source)
    keep = {k: cell.metadata[k] for k in ("nbgrader", *_LOCK_KEYS) if k in cell.metadata}
    fresh = getattr(nbformat.v4, f"new_{kind}_cell")(source=source, metadata=keep)
    fresh.id = cell.id
    cell.clear()
    cell.update(fresh)


# --------------------------------------------------------------------------- the stage


def repair_submission(submitted: nbformat.NotebookNode, template: nbformat.NotebookNode) -> RepairResult:
    """Give back to a handed-in notebook what nbgrader needs, measured against its template.

    `template` is the release (student) version of the same notebook. Neither
    argument is changed. The result's notebook is valid nbformat 4.5 with every
    template nbgrader cell present once, with the template's nbgrader metadata,
    in the template's order; `repairs` says what was changed, `flags` what a
    person should look at.
    """
    nb = nbformat.from_dict(copy.deepcopy(submitted))
    repairs: list[Repair] = []
    flags: list[Flag] = []
    _upgrade_format(nb, repairs)

    matcher = _Matcher(nb.cells, template.cells)
    _claims(matcher, repairs)
    _match_by_cell_id(matcher, matcher.graded)
    _match_by_source(matcher, [t for t in matcher.graded if not _is_answer(template.cells[t])])
    strong = len(matcher.matches)
    if matcher.graded and strong * 2 < len(matcher.graded):
        flags.append(Flag(None, f"this does not look like the assignment's notebook: only {strong} of the "
                                f"template's {len(matcher.graded)} nbgrader cells were found by metadata, cell "
                                "id or source; check that the student handed in the right file"))
    _match_plain_anchors(matcher)
    _match_by_position(matcher)
    _match_by_content(matcher)

    _restore_metadata(matcher, repairs, flags)
    _strip_strays(matcher, repairs)
    missing = _missing_cells(matcher, {c.id for c in nb.cells}, repairs, flags)
    nb.cells = _order(matcher, missing, repairs)
    _make_valid(nb, template, repairs)
    return RepairResult(nb, repairs, flags)
