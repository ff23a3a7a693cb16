"""The last step before a graded notebook is written to autograded/, where
formgrader and nbgrader's feedback render it: student HTML made inert
(inert.py), and the notebook kept under MAX_NOTEBOOK_BYTES (10 MiB).

A submission can print or draw without end (one produced a 38 MiB notebook;
nbgrader's LimitOutput bounds lines of text, not a long line, images or HTML).
When the notebook is over the limit, outputs are cut, largest first, each
leaving a note where it was (printed text keeps its first and last lines):

1. outputs of the student's cells (every code cell but the tests), one by one;
2. then, for a flood of small outputs, all of a student's cell at once;
3. then what test cells displayed besides what scores them (an error, text
   on stderr, the result), one by one, then all of a test's at once;
4. then, if still over, the long texts of what scores a test are shortened:
   an error stays an error, and every score stays what it was.

What the student wrote (cell sources, attachments) is never cut: it is the
answer a person grades, and collect/ bounds a hand-in's size.
"""

from __future__ import annotations

import json
import logging

import nbformat

from ..cells import is_test
from .inert import make_inert

log = logging.getLogger(__name__)

MAX_NOTEBOOK_BYTES = 10 * 1024 * 1024
LINE_OVERHEAD = 12  # bytes nbformat adds for each line of a text (quotes, comma, indent)
KEPT_CHARACTERS = 20_000  # of a long text that is shortened rather than cut: half its head, half its tail
KEPT_OF_PRINTED = 4_000  # of a cut stream: its first and last lines, this many characters in all


def notebook_bytes(nb) -> int:
    """The size of the notebook as nbformat writes it."""
    return len(nbformat.writes(nb).encode("utf-8"))


def _mib(size: int) -> str:
    return f"{size / 2 ** 20:.1f} MiB"


def _output_bytes(output) -> int:
    """About what nbformat writes for it: its JSON, each line of text on a line of its own."""
    text = json.dumps(output, ensure_ascii=False)
    return len(text.encode("utf-8")) + LINE_OVERHEAD * text.count("\\n")


def _scores_the_test(output) -> bool:
    """What nbgrader's determine_grade reads: an error, text on stderr, the cell's result."""
    kind = output.get("output_type")
    return kind in ("error", "execute_result") or (kind == "stream" and output.get("name") == "stderr")


def _note(size: int, limit: int) -> str:
    return (f"[The grader cut about {_mib(size)} of output here: a graded notebook is kept under {_mib(limit)}. "
            "What the code computed is unchanged.]")


def _printed(text: str, name: str = "stdout"):
    # from_dict: nbformat's new_output validates each one, too slow for a flood of thousands
    return nbformat.from_dict({"output_type": "stream", "name": name, "text": text})


def _cut_one(output, limit: int):
    """A smaller stand-in: printed text keeps its head and tail, anything else becomes the note."""
    size = _output_bytes(output)
    text = output.get("text") if output.get("output_type") == "stream" else None
    if isinstance(text, str) and len(text) > KEPT_OF_PRINTED:
        half = KEPT_OF_PRINTED // 2
        return _printed(f"{text[:half]}\n{_note(size, limit)}\n{text[-half:]}", output.get("name", "stdout"))
    return _printed(_note(size, limit) + "\n")


def _cuttable(cell) -> list[int]:
    """Indices of the outputs that may be cut: all of a student's cell, what does not score a test."""
    outputs = cell.get("outputs", [])
    if is_test(cell):
        return [i for i, output in enumerate(outputs) if not _scores_the_test(output)]
    return list(range(len(outputs)))


def _units(nb, tests: bool, whole: bool) -> list[tuple[int, list[int]]]:
    """(cell, output indices) cut together: each output alone, or all of a cell's at once."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and is_test(cell) == tests and _cuttable(cell):
            indices = _cuttable(cell)
            found += [(index, indices)] if whole and len(indices) > 1 else [(index, [i]) for i in indices]
    return found


def _cut(cell, indices: list[int], limit: int) -> int:
    """Replace the outputs at `indices` by one stand-in, where that is smaller; about the bytes saved."""
    before = sum(_output_bytes(cell.outputs[i]) for i in indices)
    stand_in = _cut_one(cell.outputs[indices[0]], limit) if len(indices) == 1 else _printed(_note(before, limit) + "\n")
    saved = before - _output_bytes(stand_in)
    if saved > 0:
        kept = [o for i, o in enumerate(cell.outputs) if i not in indices]
        kept.insert(indices[0], stand_in)
        cell.outputs = kept
    return saved


def _cut_largest_first(nb, limit: int, size: int, tests: bool, whole: bool) -> tuple[list[str], int]:
    """One step of the order above, until the notebook fits; what it cut, and the size then."""
    notes = []
    excess = size - limit
    units = _units(nb, tests, whole)
    sizes = [sum(_output_bytes(nb.cells[c].outputs[i]) for i in indices) for c, indices in units]
    for unit_size, (index, indices) in sorted(zip(sizes, units), key=lambda unit: -unit[0]):
        if excess <= 0:
            break
        saved = _cut(nb.cells[index], indices, limit)
        if saved <= 0:
            continue  # left as it was: too small to gain from; the whole cell may go in a later step
        excess -= saved
        notes.append(f"cell {index + 1}: about {_mib(unit_size)} of output cut")
        if excess <= 0:
            excess = notebook_bytes(nb) - limit  # the estimate says it fits: measure
    return notes, (notebook_bytes(nb) if notes and excess > 0 else excess + limit)


def _shorten(text: str) -> str:
    if len(text) <= KEPT_CHARACTERS:
        return text
    half = KEPT_CHARACTERS // 2
    return f"{text[:half]}\n[... the grader cut {len(text) - KEPT_CHARACTERS} characters here ...]\n{text[-half:]}"


def _shorten_in_place(output) -> None:
    if output.output_type == "error":
        output.evalue = _shorten(str(output.get("evalue", "")))
        output.traceback = [_shorten(line) for line in output.get("traceback", [])][:100]
    elif output.output_type == "stream":
        output.text = _shorten(output.get("text", ""))
    else:  # the result: text/plain is what nbgrader reads for partial credit
        data = output.get("data", {})
        for mimetype in [m for m in data if m != "text/plain" and len(str(data[m])) > KEPT_CHARACTERS]:
            del data[mimetype]
        data["text/plain"] = _shorten(str(data.get("text/plain", "")))


def _shorten_scoring_outputs(nb) -> list[str]:
    """The last step: long texts of what scores a test shortened in place; their kinds stay."""
    notes = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if is_test(cell) else []:
            if _scores_the_test(output):
                before = _output_bytes(output)
                _shorten_in_place(output)
                if _output_bytes(output) < before:
                    notes.append(f"cell {index + 1}: a long {output.output_type} of a test shortened")
    return notes


def bound_size(nb, limit: int = MAX_NOTEBOOK_BYTES) -> list[str]:
    """Keep the notebook under `limit` bytes, cutting outputs in the order above; what was cut."""
    notes: list[str] = []
    size = notebook_bytes(nb)
    for tests, whole in ((False, False), (False, True), (True, False), (True, True)):
        if size <= limit:
            return notes
        cut, size = _cut_largest_first(nb, limit, size, tests, whole)
        notes += cut
    if size > limit:
        notes += _shorten_scoring_outputs(nb)
        size = notebook_bytes(nb)
    if size > limit:
        log.warning("a graded notebook is still %s with every output cut: what the student wrote is that large",
                    _mib(size))
    return notes


def present(nb, limit: int = MAX_NOTEBOOK_BYTES) -> list[str]:
    """Make the graded notebook safe to render and small enough to open, in place; what changed, in
    sentences for a person."""
    return make_inert(nb) + bound_size(nb, limit)
