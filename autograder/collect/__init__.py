"""collect: an LMS download (zip or folder) becomes
``submitted/<student>/<assignment>/<notebook>.ipynb``.

Works like ``nbgrader zip_collect`` (unpack first, then read the student id
and the file from each name), but knows the Moodle and Canvas naming itself,
matches renamed notebooks, and lists every file it does not place with the
reason. Nothing is written until every file has been read and every decision
made; each destination is then written atomically.

The names inside a download are never used as paths: only the student id
(checked to be a plain folder name) and the assignment's own notebook names
make up a destination, so an entry like ``../../gradebook.db`` cannot escape.

This module is the stage itself; its steps live in the modules beside it:
`archive` (what the download holds, within limits), `lms` (who handed in
what), `names` and `content` (which notebook a file is), `place` (deciding
and writing) and `report` (what the user is told).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import nbformat

from .archive import Limits, list_download
from .lms import CANVAS, MOODLE, SAFE_ID, assign_students, strip_wrappers
from .names import is_notebook_name, match_name, name_candidates, strip_notebook_suffix
from .place import decide, place, read_all
from .report import CollectError, CollectReport, Placed, Unplaced, format_report

__all__ = [
    "CANVAS", "MOODLE", "CollectError", "CollectReport", "Limits", "Placed", "Unplaced", "collect",
    "format_report", "is_notebook_name", "match_name", "name_candidates", "templates_from",
]


def _notebook_stems(notebook_names: Iterable[str]) -> list[str]:
    """Accepts "02_backward", "02_backward.ipynb" or a path to the release notebook."""
    stems = [strip_notebook_suffix(Path(n).name) for n in notebook_names]
    if not stems:
        raise CollectError("the assignment has no notebooks: generate its release first")
    for stem in stems:
        if not SAFE_ID.fullmatch(stem):
            raise CollectError(f"notebook name {stem!r} is not a plain file name: rename it in source/")
    return stems


def templates_from(release: Path) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of one assignment (release/<assignment>/*.ipynb), by name, for `collect`."""
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(release).glob("*.ipynb"))}


def collect(course: Path, assignment: str, path: Path, notebook_names: list[str],
            templates: dict[str, nbformat.NotebookNode] | None = None,
            limits: Limits | None = None) -> CollectReport:
    """Place each notebook of an LMS download at submitted/<student>/<assignment>/<notebook>.ipynb.

    `templates` (notebook name -> release notebook) lets files that are neither
    named right nor the only one be recognised by their content. `limits` bounds
    what the download may unpack to (by default `Limits()`, which suits a class)."""
    if not SAFE_ID.fullmatch(assignment):
        raise CollectError(f"assignment name {assignment!r} is not a plain folder name")
    if not Path(course).is_dir():
        raise CollectError(f"course folder {course} does not exist: run this from the course directory")
    notebooks = _notebook_stems(notebook_names)
    by_stem = {strip_notebook_suffix(Path(k).name): v for k, v in (templates or {}).items()}
    known = {nb: by_stem[nb] for nb in notebooks if nb in by_stem}
    report = CollectReport()
    with tempfile.TemporaryDirectory(prefix="autograder-collect-") as tmp, ExitStack() as stack:
        download = list_download(Path(path), Path(tmp), stack, limits or Limits())
        handins, unplaced = assign_students(strip_wrappers(download.entries, notebooks), notebooks)
        candidates, unreadable = read_all(handins, download)
        decisions, unmatched = decide(candidates, notebooks, known)
        submitted = Path(course) / "submitted"
        for d in sorted(decisions, key=lambda d: (d.candidate.handin.student, d.notebook)):
            got = place(d, submitted, assignment)
            (report.placed if isinstance(got, Placed) else report.unplaced).append(got)
        report.unplaced += download.unplaced + unplaced + unreadable + unmatched
    report.unplaced.sort(key=lambda u: (u.ignored, u.source))
    return report
