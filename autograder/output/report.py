"""`autograder report`: the instructor's view of one graded assignment, as a single
self-contained HTML page (inline CSS, charts embedded as PNG data URIs), so that it
can be mailed, archived or opened offline.

What a teacher acts on: who awaits a person and for which cells, means over final
totals only, each test's pass rate and what the class got wrong, and the grader's
reasons told once with a count. The drawing only: report_data reads the course,
report_reasons groups repeated sentences."""

from __future__ import annotations

import base64
import html
import io
import statistics
from datetime import datetime
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..coursedir import Course
from ..files import write_atomically
from .report_data import AssignmentData, CellRate, Reason, StudentRow, load
from .report_reasons import group_reasons

__all__ = ["AssignmentData", "CellRate", "Reason", "StudentRow", "build_report", "load", "render", "write_report"]

DPI = 100
WIDTH = 7.0  # inches: 700 px at DPI, small PNGs that fit the page


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
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; } td.num, th.num { text-align: right; }
td ul { margin: 0; padding-left: 1.1rem; } img { max-width: 100%; height: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dt { color: #555; }
code { font-size: .9em; overflow-wrap: anywhere; } summary { cursor: pointer; }
.muted { color: #777; } .note { background: #fff4d6; padding: .4rem .6rem; }
"""
NAMED_IN_SUMMARY = 3  # more students (or places) than this: a short line, the whole list one click away


def _num(value: float, digits: int) -> str:
    return f"{round(value, digits):g}"


def _total(student: StudentRow) -> str:
    if student.score is None:
        return "—"
    return f"{student.score:g}" if student.final else f'{student.score:g} <span class="muted">so far</span>'


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _scored(data: AssignmentData) -> list[float]:
    """The totals that are grades: a student still awaiting a person is no 0, nor a partial score."""
    return [s.score for s in data.students if s.final]


def _average(data: AssignmentData, how) -> str:
    scores, everyone = _scored(data), len(data.students)
    if not scores:
        return f"— (no total is final yet: all {everyone} await a person)"
    return f"{_num(how(scores), 2)} / {data.max_score:g} over {len(scores)} graded of {everyone}"


def summary_html(data: AssignmentData, generated: datetime) -> str:
    students = data.students
    timed = [s.seconds for s in students if s.seconds is not None]
    untimed = len(students) - len(timed)
    total = sum(timed)
    items = [
        ("Assignment", html.escape(data.name)),
        ("Submissions", str(len(students))),
        ("Mean score", _average(data, statistics.mean)),
        ("Median score", _average(data, statistics.median)),
        ("Students awaiting a person", str(sum(bool(s.awaiting) for s in students))),
        ("Cells awaiting a person", str(sum(len(s.awaiting) for s in students))),
        ("Flagged by the grader", str(sum(bool(s.flags) for s in students))),
        ("With failures", str(sum(bool(s.failures) for s in students))),
        ("Repaired", str(sum(bool(s.repairs) for s in students))),
        ("Grading time", f"{total:.1f} s in all, {total / len(timed):.1f} s a submission" if timed else "—"),
        ("Generated", generated.strftime("%Y-%m-%d %H:%M %Z").strip()),
    ]
    if untimed:
        items.insert(-1, ("Graded by plain nbgrader", f"{untimed} (no grader's record: no repairs, flags or time)"))
    rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in data.notes)
    return f"<dl>{rows}</dl>{notes}"


def _who(students: dict[str, list[str]]) -> str:
    """Students (with the places concerned), named when few, behind a click when many."""
    items = "".join(f"<li>{html.escape(s)}" + (f": {html.escape(', '.join(p))}" if p else "") + "</li>"
                    for s, p in students.items())
    if len(students) <= NAMED_IN_SUMMARY and sum(map(len, students.values())) <= NAMED_IN_SUMMARY:
        return f"<ul>{items}</ul>"
    label = ", ".join(students) if len(students) <= NAMED_IN_SUMMARY else _plural(len(students), "student")
    return f"<details><summary>{html.escape(label)}</summary><ul>{items}</ul></details>"


def reasons_html(rows: dict[str, list[Reason]], column: str) -> str:
    """One line per reason with how many times and who; 'None.' when no student has any."""
    groups = group_reasons([(student, reasons) for student, reasons in rows.items() if reasons])
    if not groups:
        return '<p class="muted">None.</p>'
    body = "".join(f"<tr><td>{html.escape(g.text)}</td><td class=num>{g.count_text}</td><td>{_who(g.students)}</td>"
                   "</tr>" for g in groups)
    return f"<table><tr><th>{column}</th><th class=num>Times</th><th>Students</th></tr>{body}</table>"


def awaiting_html(data: AssignmentData) -> str:
    """Each cell formgrader shows as pending, with the students it is pending for."""
    by_cell: dict[str, dict[str, list[str]]] = {}
    for s in data.students:
        for cell in s.awaiting:
            by_cell.setdefault(cell, {})[s.label] = []
    if not by_cell:
        return '<p class="muted">None: every cell has a grade.</p>'
    manual = set(data.manual_cells)
    body = "".join(
        f"<tr><td>{html.escape(cell)}</td><td>{'graded by a person' if cell in manual else 'test held for a person'}"
        f"</td><td class=num>{len(who)}</td><td>{_who(who)}</td></tr>"
        for cell, who in sorted(by_cell.items(), key=lambda item: (-len(item[1]), item[0])))
    return ("<table><tr><th>Cell</th><th>Kind</th><th class=num>Students</th><th>Who</th></tr>"
            f"{body}</table>")


def students_html(students: list[StudentRow]) -> str:
    head = ("<tr><th>Student</th><th class=num>Score</th><th class=num>Max</th><th class=num>Awaiting</th>"
            "<th class=num>Repairs</th><th class=num>Flags</th><th class=num>Failures</th><th class=num>Seconds</th>"
            "</tr>")
    body = "".join(
        f"<tr><td>{html.escape(s.label)}</td><td class=num>{_total(s)}</td><td class=num>{s.max_score:g}</td>"
        f"<td class=num>{len(s.awaiting)}</td><td class=num>{len(s.repairs)}</td><td class=num>{len(s.flags)}</td>"
        f"<td class=num>{len(s.failures)}</td><td class=num>{_seconds(s.seconds)}</td></tr>"
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


def wrong_html(cells: list[CellRate]) -> str:
    """Per test: full marks, and the messages its failures printed most often across the class."""
    if not cells:
        return '<p class="muted">No autograded cells.</p>'
    rows = []
    for c in cells:
        shown = "".join(f"<li><code>{html.escape(m)}</code> × {n}</li>" for m, n in c.messages)
        if c.other_failures:
            shown += f'<li class="muted">{_plural(c.other_failures, "other failure")}</li>'
        rate = f"{c.full_marks} of {c.submissions} ({c.full_marks / c.submissions:.0%})"
        rows.append(f"<tr><td>{html.escape(c.label)}</td><td class=num>{rate}</td>"
                    f"<td>{f'<ul>{shown}</ul>' if shown else '<span class=muted>—</span>'}</td></tr>")
    return ("<table><tr><th>Cell</th><th class=num>Full marks</th><th>Most common failure messages</th></tr>"
            + "".join(rows) + "</table>")


def render(data: AssignmentData, generated: datetime) -> str:
    labels = {s.label: s for s in data.students}
    scores = _scored(data)
    histogram = _img(histogram_png(scores, data.max_score),
                     f"Histogram of the final total scores of {len(scores)} of {len(data.students)} submissions, "
                     f"from 0 to {data.max_score:g}")
    sections = [
        ("Summary", summary_html(data, generated)),
        ("Score distribution", histogram),
        ("Pass rate of each graded cell", pass_rates_html(data)),
        ("What the class got wrong", wrong_html(data.cells)),
        ("Awaiting a person", awaiting_html(data)),
        ("Flagged for review", reasons_html({k: s.flags for k, s in labels.items()}, "Reason")),
        ("Repairs", reasons_html({k: s.repairs for k, s in labels.items()}, "Repair")),
        ("Failures", reasons_html({k: s.failures for k, s in labels.items()}, "Cause")),
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
