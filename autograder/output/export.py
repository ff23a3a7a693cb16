"""`autograder export`: the command (its options checked, the file written, what it
says), and its default CSV: one row per student and assignment, a column per
graded cell, and what the grader repaired, flagged or could not run. The files
Canvas and Moodle import are lms_export.py's.

Scores are nbgrader's: a person's score wins over the tests', and the total
has the late penalty taken off, as `nbgrader export` gives it. A total stays
empty while a test the grader could not run awaits a person, so that no LMS
reads it as 0; `needs_manual_grade` counts the cells that await a person."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from nbgrader.api import Gradebook

from ..coursedir import Course
from ..files import give_to_course_owner
from ..pipeline.record import read_report, submission_totals
from . import lms_export

FORMATS = ("csv", *lms_export.FORMATS)
KINDS = {lms_export.CANVAS: "Canvas gradebook import", lms_export.MOODLE: "Moodle grading worksheet"}


def check_options(assignments: list[str], chosen: str, canvas_column: str | None, out_of: float | None) -> None:
    """Refuse (ValueError) options that do not go together, before anything is read or written."""
    lms_only = [name for name, value in (("--canvas-column", canvas_column), ("--out-of", out_of)) if value is not None]
    if chosen == "csv" and lms_only:
        raise ValueError(f"{lms_only[0]} is for --format canvas or moodle; the CSV keeps nbgrader's points")
    if canvas_column is not None and chosen != lms_export.CANVAS:
        raise ValueError("--canvas-column names the column of Canvas's import file: use it with --format canvas")
    if chosen != "csv" and len(assignments) != 1:
        given = ", ".join(assignments) or "none"
        raise ValueError(f"--format {chosen} takes exactly one assignment, as the LMS imports one "
                         f"assignment's grades at a time (given: {given}); run it once per assignment")


def export_command(course: Course, assignments: list[str], chosen: str = "csv", output: str | None = None,
                   canvas_column: str | None = None, out_of: float | None = None) -> bool:
    """`autograder export`: the file (or standard output for "-") and what a person reads of it; True when
    a student is left out of an LMS file (each is named on stderr)."""
    check_options(assignments, chosen, canvas_column, out_of)
    for assignment in assignments:
        course.check_assignment(assignment)
    if chosen == "csv":
        text, warnings = export_csv(course, assignments or None), []
        output, written = output or "grades.csv", f"{len(text.splitlines()) - 1} rows"
    else:
        result = lms_export.export_for_lms(course, assignments[0], chosen, column=canvas_column, out_of=out_of)
        text, warnings = result.text, result.warnings
        output, written = output or f"{assignments[0]}-{chosen}.csv", f"{result.rows} students"
    if output == "-":
        sys.stdout.write(text)
    else:
        lms_export.save(text, Path(output))
        give_to_course_owner(Path(output), course.root)
        print(f"{written} written to {output}" + (f" ({KINDS[chosen]})" if chosen in KINDS else ""))
    for line in warnings:
        print(line, file=sys.stderr)
    return bool(warnings)


def export_csv(course: Course, assignments: list[str] | None = None) -> str:
    with Gradebook(course.db_url) as gb:
        chosen = [gb.find_assignment(a) for a in assignments] if assignments else list(gb.assignments)
        cells = [(a.name, nb.name, cell.name) for a in chosen for nb in a.notebooks for cell in nb.grade_cells]
        header = ["student", "assignment", "score", "max_score", "late_penalty", "needs_manual_grade"]
        header += [f"{a}/{nb}/{cell}" for a, nb, cell in cells]
        header += ["repairs", "flags", "failures"]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for assignment in chosen:
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
                report = read_report(course.path("autograded", submission.student.id, assignment.name)) or {}
                totals = submission_totals(submission)
                row = [submission.student.id, assignment.name, _number(totals.score), f"{totals.max_score:g}",
                       f"{totals.late_penalty:g}", totals.awaiting]
                for a, nb, cell in cells:
                    grade = grades.get((nb, cell)) if a == assignment.name else None
                    value = None if grade is None else (grade.manual_score if grade.manual_score is not None
                                                        else grade.auto_score)
                    row.append(_number(value))
                row += [" | ".join(report.get(k, [])) for k in ("repairs", "flags", "failures")]
                writer.writerow(row)
    return out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
