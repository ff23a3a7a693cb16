"""Reading a handed-in notebook: the one reader `collect` and `grade` share, so
that a file one of them accepts the other can read too.

Tolerant of what students' tools write: UTF-8 with or without a byte order
mark, UTF-16 and UTF-32 (json's own detection), nbformat 3 and 4.0 to 4.5, any
tool's extra metadata. It changes nothing: upgrading and repairing is the
repair stage's job. What it cannot read it refuses with a reason and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat


class UnreadableNotebook(ValueError):
    """The file is not a notebook the grader can read; the message says why and what to do."""


def parse_json(data: bytes | str, name: str = "the notebook") -> object:
    """The file's JSON, decoded as json itself detects it; UnreadableNotebook if it is not JSON text.

    `collect` stops here (any JSON with cells can be placed); `read_submission` goes on."""
    text = _decode(data, name)
    if not text.strip():
        raise UnreadableNotebook(f"{name} is empty; ask the student to download the notebook again and resubmit")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if isinstance(data, str) and len(data) < 4096 and Path(data.strip()).suffix == ".ipynb":
            raise UnreadableNotebook(f"got the text {data.strip()!r}, which looks like a file name: "
                                     "pass a pathlib.Path to read a file") from error
        raise UnreadableNotebook(
            f"{name} is not a Jupyter notebook: it is not JSON ({error.msg}, line {error.lineno}); "
            "ask the student to download it again as .ipynb (File > Download > .ipynb) and resubmit"
        ) from error


def read_submission(data: bytes | str | Path) -> nbformat.NotebookNode:
    """Read a handed-in notebook, as tolerantly as possible, without changing it.

    `data` is the file's bytes, its text, or a Path to it. The notebook comes
    back as it was (no upgrade, no validation): `repair_submission` does that
    and records it. Raises UnreadableNotebook for anything that is not an
    nbformat 3 or 4 notebook.
    """
    name = "the notebook"
    if isinstance(data, Path):
        name = data.name
        try:
            data = data.read_bytes()
        except OSError as error:
            raise UnreadableNotebook(f"cannot read {name}: {error.strerror}; check the path") from error
    raw = parse_json(data, name)
    _check_notebook_shape(raw, name)
    for cell in _cells(raw):
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
    if raw["nbformat"] == 4:
        return nbformat.v4.to_notebook_json(raw)
    try:
        return nbformat.v3.to_notebook_json(raw)  # joins sources split into lines, like the v4 reader
    except (AttributeError, KeyError, TypeError) as error:
        raise UnreadableNotebook(_DAMAGED.format(name=name, major=3)) from error


def _decode(data: bytes | str, name: str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        # json's own detection: UTF-8 (a BOM is dropped), UTF-16 or UTF-32.
        return data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as error:
        raise UnreadableNotebook(
            f"{name} is not a text file (it is not UTF-8); "
            "ask the student to download the notebook again as .ipynb and resubmit"
        ) from error


_DAMAGED = ("{name} says it is nbformat {major} but its cells are missing or damaged; "
            "ask the student to download the notebook again and resubmit")


def _cells(raw: dict) -> list:
    """The cells of an nbformat 4 notebook, or of every worksheet of an nbformat 3 one."""
    if raw["nbformat"] == 4:
        return raw["cells"]
    return [cell for sheet in raw["worksheets"] for cell in sheet["cells"]]


def _check_notebook_shape(raw: object, name: str) -> None:
    """Refuse, with a reason, JSON that is not an nbformat 3 or 4 notebook."""
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise UnreadableNotebook(
            f"{name} is JSON but not a Jupyter notebook (it has no nbformat version); "
            "check that the student handed in the .ipynb file"
        )
    major = raw["nbformat"]
    if not isinstance(major, int) or major < 3:
        raise UnreadableNotebook(
            f"{name} is in nbformat {major}, older than the nbformat 3 and 4 this grader reads; "
            "open it in a current Jupyter, save it (which upgrades it) and grade that file, "
            "or ask the student to start again from the released notebook"
        )
    if major > 4:
        raise UnreadableNotebook(
            f"{name} is in nbformat {major}, newer than the nbformat 4 that this grader and nbgrader read; "
            "save it as nbformat 4 with the Jupyter that wrote it (`jupyter nbconvert --to notebook "
            "--nbformat 4 FILE`), or ask the student to, and grade that file"
        )
    sheets = raw.get("worksheets") if major == 3 else [raw]
    whole = isinstance(sheets, list) and all(isinstance(s, dict) and isinstance(s.get("cells"), list) for s in sheets)
    if not whole or not all(isinstance(c, dict) and isinstance(c.get("cell_type"), str) for c in _cells(raw)):
        raise UnreadableNotebook(_DAMAGED.format(name=name, major=major))

