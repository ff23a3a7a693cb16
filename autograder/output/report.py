"""`autograder report`: the instructor's view of one graded assignment, as a single
self-contained HTML page (inline CSS, charts embedded as PNG data URIs), so that it
can be mailed, archived or opened offline."""

from __future__ import annotations

import base64
import html
import io
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from nbgrader.api import Gradebook, GradeCell, MissingEntry

from ..coursedir import Course, CourseError
from ..files import write_atomically
from ..pipeline.record import read_report, submission_totals

DPI = 100
WIDTH = 7.0  # inches: 700 px at DPI, small PNGs that fit the page


@dataclass
class StudentRow:
    student: str
    score: float | None  # as nbgrader's export counts it; None while a test the grader could not run awaits a person
    max_score: float
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # the grader's flags, then cells formgrader shows as pending
    failures: list[str] = field(default_factory=list)
    seconds: float | None = None  # None: no autograder.json (graded by plain nbgrader)


@dataclass
class CellRate:
    label: str  # notebook/grade_id
    full_marks: int
    submissions: int


@dataclass
class AssignmentData:
    name: str
    max_score: float
    students: list[StudentRow]
    cells: list[CellRate]  # autograded cells only
    manual_cells: list[str]  # graded by a person: no pass rate


# --------------------------------------------------------------------------- reading


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
        cells = [CellRate(f"{nb}/{gid}", sum(_full_marks(grades[s].get((nb, gid))) for s in grades), len(grades))
                 for nb, gid in auto]
        students = [_student_row(course, s, grades[s.student.id], set(auto)) for s in submissions]
        return AssignmentData(assignment, found.max_score, students, cells, [f"{nb}/{gid}" for nb, gid in manual])


def _full_marks(grade) -> bool:
    return grade is not None and grade.score is not None and grade.score >= grade.max_score - 1e-9


def _student_row(course: Course, submission, grades: dict, auto: set[tuple[str, str]]) -> StudentRow:
    student = submission.student.id
    record = read_report(course.path("autograded", student, submission.assignment.name))
    row = StudentRow(student, submission_totals(submission).score, submission.max_score)
    if record is not None:
        row.repairs, row.flags, row.failures = (list(record.get(k, [])) for k in ("repairs", "flags", "failures"))
        row.seconds = sum(nb.get("seconds", 0.0) for nb in record.get("notebooks", []))
    # An autograded cell formgrader shows as pending was flagged, or re-graded after a manual grade.
    pending = [f"{nb}/{gid}" for (nb, gid), g in grades.items() if (nb, gid) in auto and g.needs_manual_grade]
    if pending:
        row.flags.append("needs manual grading in formgrader: " + ", ".join(pending))
    return row


# --------------------------------------------------------------------------- charts


def _png(fig: Figure) -> bytes:
    # A bare Figure renders with Agg and is never registered with pyplot: no GUI backend, and
    # nothing to close, so reports built in a loop or a server do not pile up figures.
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def histogram_png(scores: list[float], max_score: float) -> bytes:
    fig = Figure(figsize=(WIDTH, 3.2), layout="constrained")
    ax = fig.add_subplot()
    if max_score <= 40:  # one bar a point, centred on whole scores
        bins = [k - 0.5 for k in range(int(max_score) + 2)]
    else:
        bins = [max_score * k / 20 for k in range(21)]
    ax.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlim(bins[0], bins[-1])
    ax.set_xlabel(f"score (out of {max_score:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def pass_rate_png(cells: list[CellRate]) -> bytes:
    fig = Figure(figsize=(WIDTH, 1.0 + 0.35 * len(cells)), layout="constrained")
    ax = fig.add_subplot()
    rates = [c.full_marks / c.submissions for c in cells]
    bars = ax.barh([c.label for c in cells], rates, color="#55a868")
    ax.bar_label(bars, labels=[f"{r:.0%}" for r in rates], padding=3)
    ax.set_xlim(0, 1.1)  # room for the 100% label
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.invert_yaxis()  # first cell of the notebook on top
    ax.set_xlabel("submissions with full marks")
    return _png(fig)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


# --------------------------------------------------------------------------- HTML

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; } td.num, th.num { text-align: right; }
td ul { margin: 0; padding-left: 1.1rem; } img { max-width: 100%; height: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dt { color: #555; }
.muted { color: #777; }
"""


def _num(value: float, digits: int) -> str:
    return f"{round(value, digits):g}"


def _total(score: float | None) -> str:
    return "—" if score is None else f"{score:g}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _scored(data: AssignmentData) -> list[float]:
    """The totals that are grades: a student still awaiting a person for a test is no 0."""
    return [s.score for s in data.students if s.score is not None]


def summary_html(data: AssignmentData, generated: datetime) -> str:
    scores = _scored(data) or [0.0]
    timed = [s.seconds for s in data.students if s.seconds is not None]
    untimed = len(data.students) - len(timed)
    total = sum(timed)
    items = [
        ("Assignment", html.escape(data.name)),
        ("Submissions", str(len(data.students))),
        ("Mean score", f"{_num(statistics.mean(scores), 2)} / {data.max_score:g}"),
        ("Awaiting a person for a test", str(sum(s.score is None for s in data.students))),
        ("Median score", f"{_num(statistics.median(scores), 2)} / {data.max_score:g}"),
        ("Flagged for review", str(sum(bool(s.flags) for s in data.students))),
        ("With failures", str(sum(bool(s.failures) for s in data.students))),
        ("Repaired", str(sum(bool(s.repairs) for s in data.students))),
        ("Grading time", f"{total:.1f} s in all, {total / len(timed):.1f} s a submission" if timed else "—"),
        ("Generated", generated.strftime("%Y-%m-%d %H:%M %Z").strip()),
    ]
    if untimed:
        items.insert(-1, ("Graded by plain nbgrader", f"{untimed} (no grader's record: no repairs, flags or time)"))
    rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return f"<dl>{rows}</dl>"


def reasons_html(rows: dict[str, list[str]], column: str) -> str:
    """A table student -> list; 'None.' when no student has any."""
    shown = {student: reasons for student, reasons in rows.items() if reasons}
    if not shown:
        return '<p class="muted">None.</p>'
    body = "".join(
        f"<tr><td>{html.escape(student)}</td><td><ul>"
        + "".join(f"<li>{html.escape(r)}</li>" for r in reasons) + "</ul></td></tr>"
        for student, reasons in shown.items())
    return f"<table><tr><th>Student</th><th>{column}</th></tr>{body}</table>"


def students_html(students: list[StudentRow]) -> str:
    head = ("<tr><th>Student</th><th class=num>Score</th><th class=num>Max</th><th class=num>Repairs</th>"
            "<th class=num>Flags</th><th class=num>Failures</th><th class=num>Seconds</th></tr>")
    body = "".join(
        f"<tr><td>{html.escape(s.student)}</td><td class=num>{_total(s.score)}</td><td class=num>{s.max_score:g}</td>"
        f"<td class=num>{len(s.repairs)}</td><td class=num>{len(s.flags)}</td><td class=num>{len(s.failures)}</td>"
        f"<td class=num>{_seconds(s.seconds)}</td></tr>"
        for s in students)
    return f"<table>{head}{body}</table>"


def pass_rates_html(data: AssignmentData) -> str:
    if data.cells:
        alt = "Bar chart: " + "; ".join(f"{c.label} {c.full_marks} of {c.submissions} full marks" for c in data.cells)
        parts = [_img(pass_rate_png(data.cells), alt)]
    else:
        parts = ['<p class="muted">No autograded cells.</p>']
    if data.manual_cells:
        names = ", ".join(html.escape(c) for c in data.manual_cells)
        parts.append(f'<p class="muted">Graded by a person, not shown: {names}.</p>')
    return "\n".join(parts)


def render(data: AssignmentData, generated: datetime) -> str:
    students = {s.student: s for s in data.students}
    scores = _scored(data)
    histogram = _img(histogram_png(scores, data.max_score),
                     f"Histogram of the total scores of {len(scores)} submissions, from 0 to {data.max_score:g}")
    sections = [
        ("Summary", summary_html(data, generated)),
        ("Score distribution", histogram),
        ("Pass rate of each graded cell", pass_rates_html(data)),
        ("Flagged for review", reasons_html({k: s.flags for k, s in students.items()}, "Reasons")),
        ("Repairs", reasons_html({k: s.repairs for k, s in students.items()}, "Repairs")),
        ("Failures", reasons_html({k: s.failures for k, s in students.items()}, "Cause")),
        ("Students", students_html(data.students)),
    ]
    title = f"Report: {html.escape(data.name)}"
    body = "\n".join(f"<h2>{heading}</h2>\n{content}" for heading, content in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n")


# --------------------------------------------------------------------------- API


def build_report(course: Course, assignment: str) -> str:
    return render(load(course, assignment), datetime.now().astimezone())


def write_report(course: Course, assignment: str, output: Path | None = None) -> Path:
    path = Path(output) if output is not None else course.root / "reports" / f"{assignment}.html"
    write_atomically(path, build_report(course, assignment).encode("utf-8"))
    return path
