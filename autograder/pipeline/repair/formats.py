"""The notebook as a file: nbformat 4.5 with valid, unique cell ids, tidy cells,
and in the end a notebook the nbformat schema accepts.

The first and the last step of the repair stage; what lies between (which cell
is which) is match, restore and order's business.
"""

from __future__ import annotations

import copy
import re
import warnings

import nbformat
from nbformat.corpus.words import generate_corpus_id
from nbformat.validator import isvalid, normalize

from ... import cells
from ...handin import UnreadableNotebook
from .repairs import Repair

NBFORMAT_MINOR = 5  # nbformat 4.5: the first minor version with cell ids, what nbgrader writes
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # nbformat 4.5 schema, definitions.cell_id
# Cell metadata the release sets with the nbgrader metadata (read-only cells in Jupyter).
LOCK_KEYS = ("deletable", "editable")


def upgrade_format(nb: nbformat.NotebookNode, repairs: list[Repair]) -> tuple[nbformat.NotebookNode, set[str]]:
    """`nb` as nbformat 4.5 with a valid, unique id on every cell, all else kept; and the ids
    made up here (for cells that had none, or no valid or unique one), which are no evidence."""
    before = _version(nb)
    if nb.get("nbformat") == 3:
        nb = _from_nbformat_3(nb)
    if nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise UnreadableNotebook(f"the notebook is in nbformat {nb.get('nbformat')}, not 3 or 4; "
                                 "read it with read_submission, which says what to do")
    nb.nbformat, nb.nbformat_minor = 4, NBFORMAT_MINOR
    if not isinstance(nb.get("metadata"), dict):
        nb.metadata = nbformat.NotebookNode()
    for cell in nb.cells:
        tidy_cell(cell)
    ids_before = [cell.get("id") for cell in nb.cells]
    for cell in nb.cells:
        if not valid_cell_id(cell.get("id")):
            cell.pop("id", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # normalize warns about each id it adds: we record them instead
        _, fixed = normalize(nb)
    nb.cells = fixed["cells"]
    made_up = {cell.id for before_id, cell in zip(ids_before, nb.cells) if before_id != cell.id}
    parts = []
    if before != f"4.{NBFORMAT_MINOR}":
        parts.append(f"converted the notebook from nbformat {before} to 4.{NBFORMAT_MINOR}")
    if made_up:
        parts.append(f"gave {len(made_up)} cell{'s' if len(made_up) != 1 else ''} a new cell id "
                     "(missing, invalid or repeated)")
    if parts:
        repairs.append(Repair("format", None, " and ".join(parts)))
    return nb, made_up


def valid_cell_id(value: object) -> bool:
    """An id the nbformat 4.5 schema accepts; anything else (None too) says nothing about a cell."""
    return isinstance(value, str) and CELL_ID.fullmatch(value) is not None


def _version(nb: nbformat.NotebookNode) -> str:
    """The notebook's nbformat version as a person writes it: "3", "4.0", ..."""
    major = nb.get("nbformat")
    return f"{major}" if major != 4 else f"4.{nb.get('nbformat_minor', 0)}"


def _from_nbformat_3(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """nbformat's own upgrade, as `nbgrader update` does it; the cell ids it invents are dropped
    (they are made again below, and counted as made up)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            upgraded = nbformat.convert(nb, 4)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise UnreadableNotebook(f"the notebook is in nbformat 3 and could not be converted to 4 ({error}); "
                                 "open it in Jupyter, save it (which upgrades it) and grade that file") from error
    for cell in upgraded.cells:
        cell.pop("id", None)
    for key in ("orig_nbformat", "orig_nbformat_minor"):  # nbformat's own note of the conversion: ours is a Repair
        upgraded.metadata.pop(key, None)
    return upgraded


def tidy_cell(cell: nbformat.NotebookNode) -> None:
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


def fresh_id(taken: set[str]) -> str:
    """A cell id like the ones nbformat makes, not yet in `taken`."""
    while (cell_id := generate_corpus_id()) in taken:
        pass
    return cell_id


def make_valid(nb: nbformat.NotebookNode, template: nbformat.NotebookNode, repairs: list[Repair]) -> None:
    """Drop what the nbformat 4.5 schema rejects: outputs first (grading makes new ones)."""
    if isvalid(nb):  # one pass over the notebook; cell by cell only when something is wrong
        return
    for n, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code":
            good = [o for o in cell.outputs if _valid(o, "output")]
            if len(good) != len(cell.outputs):
                repairs.append(Repair("outputs", cells.grade_id(cell),
                                      f"dropped {len(cell.outputs) - len(good)} damaged output(s) of cell {n}, "
                                      "which grading makes again"))
                cell.outputs = good
        ref = {"code": "code_cell", "markdown": "markdown_cell", "raw": "raw_cell"}.get(cell.cell_type)
        if ref is None or not _valid(cell, ref):
            _rebuild(cell)
            repairs.append(Repair("format", cells.grade_id(cell),
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
    keep = {k: cell.metadata[k] for k in ("nbgrader", *LOCK_KEYS) if k in cell.metadata}
    fresh = getattr(nbformat.v4, f"new_{kind}_cell")(source=source, metadata=keep)
    fresh.id = cell.id
    cell.clear()
    cell.update(fresh)
