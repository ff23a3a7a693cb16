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


def upgrade_format(nb: nbformat.NotebookNode, repairs: list[Repair]) -> None:
    """Make `nb` nbformat 4.5 with a valid, unique id on every cell; keep all else."""
    if nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise UnreadableNotebook(f"the notebook is in nbformat {nb.get('nbformat')}, not 4; "
                                 "read it with read_submission, which says what to do")
    old_minor = nb.get("nbformat_minor", 0)
    nb.nbformat, nb.nbformat_minor = 4, NBFORMAT_MINOR
    if not isinstance(nb.get("metadata"), dict):
        nb.metadata = nbformat.NotebookNode()
    for cell in nb.cells:
        tidy_cell(cell)
    ids_before = [cell.get("id") for cell in nb.cells]
    for cell in nb.cells:
        if not (isinstance(cell.get("id"), str) and CELL_ID.match(cell.id)):
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
