"""What `autograder report` shows, read out of the course: the gradebook (scores, cells
awaiting a person, students' names), the grader's autograder.json (repairs, flags,
failures, time), the LMS roster (names when the gradebook has none) and the autograded
notebooks (what each failing test printed). Plain data for report.py to draw; nothing
here writes, and nothing here is HTML."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.filters import strip_ansi
from nbgrader.api import Gradebook, GradeCell, MissingEntry

from ..cells import grade_id
from ..coursedir import Course, CourseError
from ..pipeline.record import read_report, submission_totals
from ..roster import read_roster
from .students import display_name, is_final

TOP_MESSAGES = 3  # failure messages shown per cell
MESSAGE_CHARS = 200  # a message longer than this is cut: the page is a summary, formgrader has the rest
NO_MESSAGE = "(no error shown)"
NO_NOTEBOOK = "(no graded notebook to read)"


@dataclass(frozen=True)
class Reason:
    """One sentence of the grader's (a repair, a flag, a failure) and where it applies."""

    text: str
    notebook: str | None = None
    cell: str | None = None  # grade id; None: the whole notebook

    @property
    def where(self) -> str:
        return "/".join(p for p in (self.notebook, self.cell) if p)


def _reasons(items: list) -> list[Reason]:
    # A bare sentence (an older autograder.json, a page built in a test) is a reason with no place.
    return [r if isinstance(r, Reason) else Reason(str(r)) for r in items]


@dataclass
class StudentRow:
    student: str
    score: float | None  # as nbgrader's export counts it; None while a test the grader could not run awaits a person
    max_score: float
    repairs: list[Reason] = field(default_factory=list)
    flags: list[Reason] = field(default_factory=list)  # the grader's flags
    failures: list[Reason] = field(default_factory=list)
    seconds: float | None = None  # None: no autograder.json (graded by plain nbgrader)
    name: str | None = None  # from the gradebook, else from the LMS roster
    awaiting: list[str] = field(default_factory=list)  # notebook/grade id of each cell formgrader shows as pending

    def __post_init__(self) -> None:
        self.repairs, self.flags, self.failures = (_reasons(x) for x in (self.repairs, self.flags, self.failures))

    @property
    def final(self) -> bool:
        return is_final(self.score, len(self.awaiting))

    @property
    def label(self) -> str:
        return f"{self.name} ({self.student})" if self.name else self.student


@dataclass
class CellRate:
    label: str  # notebook/grade_id
    full_marks: int
    submissions: int
    messages: list[tuple[str, int]] = field(default_factory=list)  # the most common failure messages, with counts
    other_failures: int = 0  # failing submissions whose message is not among `messages`


@dataclass
class AssignmentData:
    name: str
    max_score: float
    students: list[StudentRow]
    cells: list[CellRate]  # autograded cells only
    manual_cells: list[str]  # graded by a person: no pass rate
    notes: list[str] = field(default_factory=list)  # what could not be read, for the instructor


# --------------------------------------------------------------------------- the gradebook


def _is_autograded(cell, answer_names: set[str]) -> bool:
    """nbgrader grades a code test cell itself; a graded answer cell (solution and grade) or a task goes to a person."""
    return isinstance(cell, GradeCell) and cell.cell_type == "code" and cell.name not in answer_names


def _check_gradebook(course: Course) -> None:
    # Opening a Gradebook creates a missing SQLite file; a report must not leave an empty one behind.
    prefix = "sqlite:///"
    if course.db_url.startswith(prefix) and not Path(course.db_url[len(prefix):]).is_file():
        raise CourseError(f"no gradebook at {course.db_url}: generate and grade the assignment first "
                          "(`nbgrader generate_assignment ASSIGNMENT`, then `autograder grade ASSIGNMENT`)")


def load(course: Course, assignment: str) -> AssignmentData:
    """Everything the page shows, copied out of the gradebook while its session is open."""
    _check_gradebook(course)
    notes: list[str] = []
    roster_names = _roster_names(course, assignment, notes)
    with Gradebook(course.db_url) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
            raise CourseError(f"the gradebook ({course.db_url}) has no assignment {assignment!r} (it has: {known}): "
                              f"grade it first with `autograder grade {assignment}`") from None
        submissions = sorted(found.submissions, key=lambda s: s.student.id)
        if not submissions:
            raise CourseError(f"no graded submissions of {assignment!r} in the gradebook: "
                              f"grade them first with `autograder grade {assignment}`")
        auto, manual = [], []
        for nb in found.notebooks:
            answers = {c.name for c in nb.solution_cells}
            for cell in nb.grade_cells:
                (auto if _is_autograded(cell, answers) else manual).append((nb.name, cell.name))
        grades = {s.student.id: {(nb.name, g.name): g for nb in s.notebooks for g in nb.grades} for s in submissions}
        students = [_student_row(course, s, grades[s.student.id], roster_names) for s in submissions]
        # the same cells the pass rate counts as short of full marks, less those no test has scored
        failing = {s: [key for key, g in cells.items() if key in auto and g.auto_score is not None
                       and not _full_marks(g)] for s, cells in grades.items()}
        cells = [CellRate(f"{nb}/{gid}", sum(_full_marks(grades[s].get((nb, gid))) for s in grades), len(grades))
                 for nb, gid in auto]
        max_score = found.max_score  # read while the session is open
    _add_messages(course, assignment, cells, failing, students, notes)
    return AssignmentData(assignment, max_score, students, cells, [f"{nb}/{gid}" for nb, gid in manual], notes)


def _full_marks(grade) -> bool:
    return grade is not None and grade.score is not None and grade.score >= grade.max_score - 1e-9


def _roster_names(course: Course, assignment: str, notes: list[str]) -> dict[str, str]:
    try:
        roster = read_roster(course.root, assignment)
    except ValueError as error:  # names are a help, not a reason to withhold the page
        notes.append(f"Names from the LMS download are not shown: {error}")
        return {}
    return {student: record.full_name for student, record in roster.items() if record.full_name}


def _student_row(course: Course, submission, grades: dict, roster_names: dict[str, str]) -> StudentRow:
    student = submission.student.id
    record = read_report(course.path("autograded", student, submission.assignment.name))
    row = StudentRow(student, submission_totals(submission).score, submission.max_score,
                     name=display_name(submission.student.first_name, submission.student.last_name,
                                       roster_names.get(student)),
                     awaiting=sorted(f"{nb}/{gid}" for (nb, gid), g in grades.items() if g.needs_manual_grade))
    if record is not None:
        row.repairs, row.flags, row.failures = _record_reasons(record)
        row.seconds = sum(nb.get("seconds", 0.0) for nb in record.get("notebooks", []))
    return row


def _record_reasons(record: dict) -> tuple[list[Reason], list[Reason], list[Reason]]:
    """(repairs, flags, failures) of autograder.json, each with its notebook and cell."""
    notebooks = record.get("notebooks")
    if not notebooks:  # no per-notebook detail: the sentences as they are
        return tuple(_reasons(list(record.get(k, []))) for k in ("repairs", "flags", "failures"))
    repairs, flags, failures = [], [], []
    for nb in notebooks:
        name = nb.get("name")
        repairs += [Reason(str(r), name) for r in nb.get("repairs", [])]
        flags += [Reason(str(f.get("reason")), name, f.get("grade_id")) for f in nb.get("flags", [])]
        if nb.get("failure") or nb.get("ungraded"):
            failures.append(Reason(str(nb.get("failure") or nb.get("ungraded")), name))
    return repairs, flags, failures


# --------------------------------------------------------------------------- the autograded notebooks


def _add_messages(course: Course, assignment: str, cells: list[CellRate], failing: dict[str, list],
                  students: list[StudentRow], notes: list[str]) -> None:
    """Count what each failing test printed across the class, from the graded notebooks."""
    counts: dict[str, Counter] = {c.label: Counter() for c in cells}
    unread: list[str] = []
    rows = {s.student: s for s in students}
    for student, cells_failed in failing.items():
        for notebook in sorted({nb for nb, _ in cells_failed}):
            messages = _test_messages(course.path("autograded", student, assignment) / f"{notebook}.ipynb")
            if messages is None:  # no notebook (nothing ran, or it is gone): the run's own reason, if it has one
                stopped = [r.text for r in rows[student].failures if r.notebook == notebook]
                missing = stopped[0] if stopped else NO_NOTEBOOK
                if not stopped:
                    unread.append(f"{rows[student].label}: {notebook}")
            for nb, gid in cells_failed:
                if nb == notebook:
                    counts[f"{nb}/{gid}"][missing if messages is None else messages.get(gid, NO_MESSAGE)] += 1
    for cell in cells:
        # most frequent first; a tie in the same order every time
        ranked = sorted(counts[cell.label].items(), key=lambda item: (-item[1], item[0]))
        cell.messages = ranked[:TOP_MESSAGES]
        cell.other_failures = sum(counts[cell.label].values()) - sum(n for _, n in cell.messages)
    if unread:
        notes.append(f"No graded notebook could be read for {', '.join(unread)}: their failing tests count as "
                     f"{NO_NOTEBOOK} below; grade them again (`autograder grade {assignment}`) to see what they printed.")


def _test_messages(path: Path) -> dict[str, str] | None:
    """grade id -> what each test cell of a graded notebook printed when it failed; None when it cannot be read."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    return {gid: failure_message(cell.get("outputs", [])) for cell in nb.cells if (gid := grade_id(cell))}


def failure_message(outputs: list) -> str:
    """'ename: first line of evalue' of a cell's error, else its first line on stderr, as one short line."""
    for out in outputs:
        if out.get("output_type") == "error":
            ename = _line(str(out.get("ename") or "")) or "Error"
            evalue = _line(str(out.get("evalue") or ""))
            return _cut(f"{ename}: {evalue}" if evalue else ename)
    stderr = "".join(str(o.get("text", "")) for o in outputs if o.get("output_type") == "stream"
                     and o.get("name") == "stderr")
    return _cut(_line(stderr)) or NO_MESSAGE


def _line(text: str) -> str:
    return next((line.strip() for line in strip_ansi(text).splitlines() if line.strip()), "")


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"
