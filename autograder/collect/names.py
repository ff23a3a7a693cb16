"""Which of the assignment's notebooks a file name stands for, once the
decorations that browsers, Colab, Canvas, Jupyter and file managers add are
taken off; and, for a file that is no notebook at all, what it is instead.

Only the file name: who handed the file in is `lms`'s job, and recognising a
notebook by what is inside it is `content`'s.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path

NOTEBOOK_SUFFIXES = (".ipynb", ".ipynb.txt", ".ipynb.json")  # browsers sometimes add .txt or .json
OTHER_ARCHIVES = (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")

# Decorations browsers, Colab, Canvas, Jupyter and file managers add to a name.
# Tried one at a time, so "lab-1 (1)" first becomes "lab-1", then "lab".
DECORATIONS = (
    re.compile(r"^copy\s+of\s+", re.IGNORECASE),  # Colab "Save a copy in Drive"
    re.compile(r"\s*\(\d+\)$"),  # browsers: "X (1)", "X(2)"
    re.compile(r"-\d+$"),  # Canvas re-submission: "X-1"
    re.compile(r"-checkpoint$", re.IGNORECASE),  # Jupyter autosave copy
    re.compile(r"(\s+-)?\s+copy(\s+\d+)?$", re.IGNORECASE),  # Windows "X - Copy", macOS "X copy 2"
    re.compile(r"\.ipynb$", re.IGNORECASE),  # "X.ipynb.ipynb"
)


def _fold(name: str) -> str:
    """Case, spaces, hyphens and dots do not tell notebooks apart."""
    return re.sub(r"[\s_.\-]+", "_", name.lower()).strip("_")


def strip_notebook_suffix(file_name: str) -> str:
    """The name without ".ipynb" (or the ".ipynb.txt" a browser made of it); other names as they are."""
    lower = file_name.lower()
    for suffix in NOTEBOOK_SUFFIXES[::-1]:  # longest first
        if lower.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


def name_candidates(file_name: str) -> list[str]:
    """The file's name, then the name with one more decoration removed each time."""
    stem = strip_notebook_suffix(file_name).strip()
    found = [stem]
    while True:
        for pattern in DECORATIONS:
            shorter = pattern.sub("", stem).strip()
            if shorter and shorter != stem:
                stem = shorter
                found.append(stem)
                break
        else:
            return found


def match_name(file_name: str, notebooks: Iterable[str]) -> str | None:
    """The notebook this file name stands for, or None. Less-stripped forms win,
    so a notebook really named "lab-1" is not mistaken for "lab"."""
    if file_name in {f"{nb}.ipynb" for nb in notebooks}:
        return file_name[: -len(".ipynb")]
    folded = {_fold(nb): nb for nb in notebooks}
    for candidate in name_candidates(file_name):
        if _fold(candidate) in folded:
            return folded[_fold(candidate)]
    return None


def is_notebook_name(file_name: str) -> bool:
    return file_name.lower().endswith(NOTEBOOK_SUFFIXES)


def other_file_reason(name: str) -> str:
    """Why a file not named like a notebook is not collected, and what to ask the student for."""
    lower = name.lower()
    if lower.endswith(OTHER_ARCHIVES):
        return "archive format not read (only zip): unpack it into a folder and collect the folder"
    if lower.endswith(".py"):
        return ("a Python script, not a notebook: ask the student for the .ipynb "
                "(File > Download > Download .ipynb) and collect again")
    kind = Path(name).suffix or "no extension"
    return (f"not a notebook ({kind}): only .ipynb files are collected; if it holds the student's work, "
            "ask for the notebook")


def canvas_copy_number(file_name: str, notebook: str) -> int:
    """N of the "-N" Canvas adds to a file handed in again under a name the student's Submissions folder
    already holds (Attachment.make_unique_filename: "tiny.ipynb", then "tiny-1.ipynb", "tiny-2.ipynb");
    0 when the name has none. Only a suffix taken off on the way to `notebook` counts, so a notebook
    really named "lab-1" handed in as "lab-1.ipynb" is 0."""
    target = _fold(notebook)
    found = name_candidates(file_name)
    number = 0
    for longer, shorter in itertools.pairwise(found):
        if _fold(longer) == target:
            return number
        suffix = re.fullmatch(re.escape(shorter) + r"\s*-(\d+)", longer)
        if suffix and not number:  # the outermost "-N" is Canvas's; one inside it is the student's own
            number = int(suffix[1])
    return number if found and _fold(found[-1]) == target else 0
