"""Other people's nbgrader courses, graded twice: by real `nbgrader autograde` and by `autograder grade`.

Each case is a scratch course made of nbgrader's own material (its test-suite notebooks and its
documentation's example course, vendored in tests/nbgrader_suite/), with nbgrader's own hand-ins
where the material has them and honest, blank and wrong ones typed into the release otherwise. The
course is generated once by real nbgrader and copied; one copy is graded by nbgrader, the other by
our grader (sandboxed), and their gradebooks are compared per student and grade cell. A difference
passes only where our grader asked a person to look (a flag in autograder.json, and needs_manual_grade
in its gradebook) or where it is listed in KNOWN with the reason ours is right. `pytest -s` prints the
table.

Each course is configured as its authors configured it: nbgrader's defaults plus the lines of
nbgrader's own test where it has some. The repository's nbgrader_config.py is not used: its
IgnorePattern is for PyTorch's warnings, no cell here writes to stderr, and with it the comparison
would be of our settings, not theirs.
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from helpers import (
    NBGRADER_SUITE,
    GraderNote,
    grader_notes,
    late_penalties,
    nbgrader_autograde,
    notebook_grades,
    run_autograder,
    sqlite_url,
)

from autograder.cells import grade_id, is_answer
from autograder.cli import GRADED_BUT_FOR_A_PERSON
from autograder.nbgrader_cli import NbgraderFailed, nbgrader

pytestmark = pytest.mark.slow

ASSIGNMENT = "ps1"
FILES = "apps/files"  # nbgrader/tests/apps/files/ upstream
GUIDE = "user_guide"  # nbgrader/docs/source/user_guide/ upstream
# nbgrader's solution delimiters (ClearSolutions' defaults), on a line of their own.
DELIMITER = re.compile(r"^[ \t]*#+[ \t]*(BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


@dataclass(frozen=True)
class Vendored:
    """A file of nbgrader's material, handed in byte for byte."""

    path: str


@dataclass(frozen=True)
class Typed:
    """The generated release with answers typed in: `answers` by grade id, or with `solved` every
    answer as source/ has it (without the delimiters); `lab`: saved by JupyterLab (nbformat 4.5, ids);
    `kernel`: the name of the student's own Python kernel, as nb_conda_kernels names one."""

    answers: dict[str, str] = field(default_factory=dict)
    solved: bool = False
    lab: bool = False
    kernel: str | None = None


BLANK = Typed()
SOLVED = Typed(solved=True, lab=True)


@dataclass(frozen=True)
class Case:
    name: str
    source: dict[str, str]  # file in source/ps1 -> vendored path
    handins: dict[str, dict[str, Vendored | Typed | str]]  # student -> file -> what it holds (str: text)
    config: str = ""  # the lines nbgrader's own test adds to nbgrader_config.py
    course_files: dict[str, str] = field(default_factory=dict)  # file at the course root -> vendored path
    duedate: str | None = None  # given with `nbgrader db assignment add`, as nbgrader's tests do
    lab_source: bool = False  # the instructor saved source/ in JupyterLab (nbformat 4.5, cell ids)
    proof: tuple[str, ...] = ()  # the nbgrader command after which nbgrader gives what KNOWN says ours gives


def guide_handin(student: str) -> dict[str, Vendored]:
    folder = f"{GUIDE}/handed_in/{student}/ps1"
    return {name: Vendored(f"{folder}/{name}") for name in
            ("problem1.ipynb", "problem2.ipynb", "jupyter.png", "timestamp.txt")}


SQUARES = ("def squares(n):\n    if n < 1:\n        raise ValueError(n)\n"
           "    return [i ** 2 for i in range(1, n + 1)]")
SQUARES_OFF_BY_ONE = SQUARES.replace("range(1, n + 1)", "range(n)")
# Right values, but not from squares(): the test that it uses squares() fails.
CLOSED_FORM = "def sum_of_squares(n):\n    return n * (n + 1) * (2 * n + 1) // 6"
DUE = "2015-02-02 14:58:23.948203 America/Los_Angeles"
LATE = "2015-02-02 15:58:23.948203 America/Los_Angeles"  # an hour after DUE
PNG = f"{GUIDE}/source/ps1/jupyter.png"
TRUNCATED = (NBGRADER_SUITE / FILES / "submitted-changed.ipynb").read_text()[:700]  # an interrupted upload

CASES = [
    # The documentation's example course, as its tutorial grades it (no nbgrader_config.py settings).
    Case("user-guide-ps1", {f: f"{GUIDE}/source/ps1/{f}" for f in ("problem1.ipynb", "problem2.ipynb",
                                                                     "jupyter.png")},
         {"bitdiddle": guide_handin("bitdiddle"), "hacker": guide_handin("hacker"),
          "honest": {"problem1.ipynb": SOLVED, "problem2.ipynb": SOLVED},
          "blank": {"problem1.ipynb": BLANK, "problem2.ipynb": BLANK},
          "wrong": {"problem1.ipynb": Typed({"squares": SQUARES_OFF_BY_ONE, "sum_of_squares": CLOSED_FORM}),
                    "problem2.ipynb": BLANK},
          "only-problem1": {"problem1.ipynb": SOLVED},
          "own-kernel": {nb: Typed(solved=True, lab=True, kernel="conda-env-base-py")
                         for nb in ("problem1.ipynb", "problem2.ipynb")}}),
    # test_showtraceback_exploit, with the other hand-ins of nbgrader's test files.
    Case("apps-submitted", {"p1.ipynb": f"{FILES}/submitted-unchanged.ipynb"},
         {student: {"p1.ipynb": Vendored(f"{FILES}/submitted-{kind}.ipynb")} for student, kind in (
             ("foo", "unchanged"), ("bar", "changed"), ("spam", "cheat-attempt"),
             ("eggs", "cheat-attempt-alternative"), ("grade-cell", "grade-cell-changed"),
             ("locked-cell", "locked-cell-changed"))} | {"truncated": {"p1.ipynb": TRUNCATED}},
         config="c.Execute.timeout = None\n"),
    # test_late_submission_penalty_zero, its source saved by JupyterLab: a 4.5 release, 4.0 hand-ins.
    Case("apps-late-zero", {"p1.ipynb": f"{FILES}/submitted-unchanged.ipynb"},
         {"foo": {"p1.ipynb": Vendored(f"{FILES}/submitted-unchanged.ipynb"), "timestamp.txt": DUE},
          "bar": {"p1.ipynb": Vendored(f"{FILES}/submitted-changed.ipynb"), "timestamp.txt": LATE}},
         config="c.LateSubmissionPlugin.penalty_method = 'zero'\n", duedate=DUE, lab_source=True),
    # test_grade_complex_autotest and test_hidden_tests_autotest as one two-notebook assignment.
    Case("apps-autotest", {"p1.ipynb": f"{FILES}/autotest-multi.ipynb",
                           "p2.ipynb": f"{FILES}/autotest-hidden.ipynb"},
         {"foo": {"p1.ipynb": Vendored(f"{FILES}/autotest-multi-unchanged.ipynb"),
                  "p2.ipynb": Vendored(f"{FILES}/autotest-hidden-unchanged.ipynb")},
          "bar": {"p1.ipynb": Vendored(f"{FILES}/autotest-multi-changed.ipynb"),
                  "p2.ipynb": Vendored(f"{FILES}/autotest-hidden-changed-wrong.ipynb")},
          "baz": {"p1.ipynb": SOLVED, "p2.ipynb": Vendored(f"{FILES}/autotest-hidden-changed-right.ipynb")}},
         course_files={"autotests.yml": f"{FILES}/autotests.yml"}),
    # test_hidden_tests_single_notebook: the release passes the visible tests, not the hidden ones.
    Case("apps-hidden-tests", {"p1.ipynb": f"{FILES}/test-hidden-tests.ipynb", "jupyter.png": PNG},
         {"foo": {"p1.ipynb": BLANK},
          "right": {"p1.ipynb": Typed({"squares": SQUARES, "sum_of_squares":
                                       "def sum_of_squares(n):\n    return sum(squares(n))"}, lab=True)},
          "wrong": {"p1.ipynb": Typed({"squares": SQUARES_OFF_BY_ONE})}},
         config='c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")\n'),
    # A data file beside the notebook (nbgrader puts the instructor's copy back over a student's), and
    # test_grade_with_validating_envvar (nbgrader runs the notebook with NBGRADER_EXECUTION=autograde).
    Case("apps-environment", {"p1.ipynb": f"{FILES}/open_relative_file.ipynb",
                              "data.txt": f"{FILES}/data.txt",
                              "p2.ipynb": f"{FILES}/validating-environment-variable.ipynb"},
         {"foo": {"p1.ipynb": BLANK, "p2.ipynb": BLANK},
          "bar": {"p1.ipynb": BLANK, "p2.ipynb": BLANK, "data.txt": "one line only"}}),
    # A hand-in with nbgrader's schema-1 cell metadata (test-v1.ipynb, a solved test.ipynb): nbgrader
    # refuses it and stops the whole run until `nbgrader update .`; it grades students in alphabetical
    # order, so "solved" comes after the refusal.
    Case("apps-old-metadata", {"p1.ipynb": f"{FILES}/test.ipynb", "jupyter.png": PNG},
         {"old-schema": {"p1.ipynb": Vendored(f"{FILES}/test-v1.ipynb")}, "solved": {"p1.ipynb": SOLVED}},
         proof=("update", ".")),
    # test_autograde_timeout with its 2 s: the test sleeps 5 s.
    Case("apps-timeout", {"p1.ipynb": f"{FILES}/timeout.ipynb"},
         {"foo": {"p1.ipynb": Vendored(f"{FILES}/timeout.ipynb")},
          "quick": {"p1.ipynb": Typed({"squares": "def foo():\n    return True"})}},
         config="c.Execute.timeout = 2\n"),
]

# Differences where ours is provably right: (case, student, "notebook:grade id") -> (nbgrader's, ours, why).
# A case with `proof` checks it: after that nbgrader command, nbgrader gives what ours gives.
OLD_SCHEMA = "nbgrader refuses schema-1 metadata until `nbgrader update .`; ours puts the release's back"
STOPPED = "nbgrader's run stopped at the schema-1 hand-in before this one; ours grades it"
KNOWN: dict[tuple[str, str, str], tuple[str, str, str]] = {
    **{("apps-old-metadata", "old-schema", f"p1:{gid}"): ("- manual", score, OLD_SCHEMA) for gid, score in (
        ("correct_squares", "1"), ("squares_invalid_input", "1"), ("correct_sum_of_squares", "0.5"),
        ("sum_of_squares_uses_squares", "0.5"))},
    **{("apps-old-metadata", "solved", f"p1:{gid}"): ("no grade", ours, STOPPED) for gid, ours in (
        ("correct_squares", "1"), ("squares_invalid_input", "1"), ("correct_sum_of_squares", "0.5"),
        ("sum_of_squares_uses_squares", "0.5"), ("sum_of_squares_equation", "- manual"),
        ("sum_of_squares_application", "- manual"))},
}


def saved_by_lab(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.v4.upgrade(nb, from_version=4, from_minor=nb.nbformat_minor)


def typed(spec: Typed, release: Path, source: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(release, as_version=4)
    solutions = {grade_id(c): DELIMITER.sub("", c.source) for c in nbformat.read(source, as_version=4).cells}
    for cell in nb.cells:
        gid = grade_id(cell)
        if is_answer(cell) and (gid in spec.answers or spec.solved):
            cell.source = spec.answers.get(gid, solutions.get(gid, cell.source))
    if spec.kernel:
        nb.metadata.kernelspec = {"name": spec.kernel, "display_name": "Python [conda env:base]",
                                  "language": "python"}
    return saved_by_lab(nb) if spec.lab else nb


def build_course(case: Case, root: Path) -> Path:
    """The case's course, generated by real nbgrader, with every hand-in in submitted/."""
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n" + case.config)
    for name, vendored in case.course_files.items():
        shutil.copy(NBGRADER_SUITE / vendored, root / name)
    for name, vendored in case.source.items():
        if case.lab_source and name.endswith(".ipynb"):
            nbformat.write(saved_by_lab(nbformat.read(NBGRADER_SUITE / vendored, as_version=4)),
                           root / "source" / ASSIGNMENT / name)
        else:
            shutil.copy(NBGRADER_SUITE / vendored, root / "source" / ASSIGNMENT / name)
    if case.duedate:
        nbgrader(root, "db", "assignment", "add", ASSIGNMENT, "--duedate", case.duedate)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    for student, files in case.handins.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, what in files.items():
            if isinstance(what, Vendored):
                shutil.copy(NBGRADER_SUITE / what.path, folder / name)
            elif isinstance(what, Typed):
                nbformat.write(typed(what, root / "release" / ASSIGNMENT / name,
                                     root / "source" / ASSIGNMENT / name), folder / name)
            else:
                (folder / name).write_text(what)
    return root


@dataclass(frozen=True)
class Row:
    case: str
    student: str
    cell: str
    nbgrader: str
    ours: str
    verdict: str
    ok: bool


def shown(row, flagged: bool = False, stopped: bool = False) -> str:
    if row is None:
        return "no grade"
    score = "-" if row.auto_score is None else f"{row.auto_score:g}"
    return (score + (" manual" if row.needs_manual_grade else "") + (" flagged" if flagged else "")
            + (" stopped" if stopped else ""))


def graded(row) -> tuple | None:
    return row and (row.auto_score, row.needs_manual_grade)


def judged(key: tuple[str, str, str], theirs: str, ours: str, same: bool, asked: bool, known: dict) -> Row:
    if same:
        return Row(*key, theirs, ours, "same", True)
    if asked:
        return Row(*key, theirs, ours, "ours asks a person", True)
    if key not in known:
        return Row(*key, theirs, ours, "DIFFERENT", False)
    if known[key][:2] != (theirs, ours):
        return Row(*key, theirs, ours, f"CHANGED (KNOWN says {known[key][0]} / {known[key][1]})", False)
    return Row(*key, theirs, ours, f"known: {known[key][2]}", True)


def compare(case: Case, theirs_course: Path, ours_course: Path, known: dict) -> list[Row]:
    """A row per student and grade cell (and late penalty) of either gradebook, judged."""
    theirs_db, ours_db = sqlite_url(theirs_course), sqlite_url(ours_course)
    theirs, ours = notebook_grades(theirs_db, ASSIGNMENT), notebook_grades(ours_db, ASSIGNMENT)
    theirs_late, ours_late = late_penalties(theirs_db, ASSIGNMENT), late_penalties(ours_db, ASSIGNMENT)
    rows = []
    for student in case.handins:
        notes = grader_notes(ours_course, student, ASSIGNMENT)
        mine, their = ours.get(student, {}), theirs.get(student, {})
        for notebook, gid in sorted(set(mine) | set(their)):
            a, b = their.get((notebook, gid)), mine.get((notebook, gid))
            note = notes.get(notebook, GraderNote(frozenset(), None))
            flagged = bool(note.flagged & {gid, None})
            same = graded(a) == graded(b)
            rows.append(judged((case.name, student, f"{notebook}:{gid}"), shown(a),
                               shown(b, flagged, bool(note.stopped)), same,
                               flagged and b is not None and b.needs_manual_grade, known))
        late = (theirs_late.get(student, {}), ours_late.get(student, {}))
        for notebook in sorted(set(late[0]) | set(late[1])):
            a, b = late[0].get(notebook), late[1].get(notebook)
            if a or b:
                rows.append(judged((case.name, student, f"{notebook}:(late penalty)"), f"{a}", f"{b}",
                                   a == b, False, known))
    seen = {(r.case, r.student, r.cell) for r in rows if r.verdict != "same"}
    return rows + [Row(*key, *value[:2], "KNOWN difference not seen: update KNOWN", False)
                   for key, value in known.items() if key[0] == case.name and key not in seen]


def table(rows: list[Row]) -> str:
    lines = [("case", "student", "cell", "nbgrader", "ours", "verdict")]
    lines += [(r.case, r.student, r.cell, r.nbgrader, r.ours, r.verdict) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[5] for line in lines)


def nbgrader_errors(course: Path) -> str:
    """Real `nbgrader autograde`; the first line of each error it logged (none: it graded everyone)."""
    try:
        nbgrader_autograde(course, ASSIGNMENT)
    except NbgraderFailed as failed:  # some hand-in it could not grade: the gradebook says what it left
        return "\n".join(line for line in str(failed).splitlines() if "| ERROR]" in line)
    return ""


def graded_both_ways(case: Case, tmp_path: Path) -> tuple[Path, Path, str]:
    pristine = build_course(case, tmp_path / "pristine")
    theirs, ours = tmp_path / "nbgrader", tmp_path / "ours"
    shutil.copytree(pristine, theirs)
    shutil.copytree(pristine, ours)
    with ThreadPoolExecutor(2) as pool:
        by_nbgrader = pool.submit(nbgrader_errors, theirs)
        done = pool.submit(run_autograder, ours, "grade", ASSIGNMENT).result()
        errors = by_nbgrader.result()
    assert done.returncode in (0, GRADED_BUT_FOR_A_PERSON), f"autograder grade:\n{done.stdout}\n{done.stderr}"
    return theirs, ours, errors


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_our_grades_match_nbgrader_or_a_person_is_asked_or_ours_is_known_right(case, tmp_path):
    theirs, ours, errors = graded_both_ways(case, tmp_path)
    rows = compare(case, theirs, ours, KNOWN)
    shown_table = table(rows) + (f"\nnbgrader autograde:\n{errors}" if errors else "")
    if case.proof:  # the known differences vanish once nbgrader is helped the way it asks
        nbgrader(theirs, *case.proof)
        after = nbgrader_errors(theirs)
        proof_rows = compare(case, theirs, ours, {})
        shown_table += f"\nafter `nbgrader {' '.join(case.proof)}`:\n{table(proof_rows)}\n{after}"
    print(f"\n{shown_table}")
    assert {r.student for r in rows} == set(case.handins), shown_table
    assert all(r.ok for r in rows), shown_table
    assert not case.proof or all(r.ok for r in proof_rows), shown_table
