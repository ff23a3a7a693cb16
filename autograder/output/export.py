"""`autograder export`: one CSV row per student and assignment, a column per
graded cell, and what the grader repaired, flagged or could not run.

Scores are nbgrader's: a person's score wins over the tests', and the total
has the late penalty taken off, as `nbgrader export` gives it. A total stays
empty while a test the grader could not run awaits a person, so that no LMS
reads it as 0; `needs_manual_grade` counts the cells that await a person."""

from __future__ import annotations

import csv
import io

from nbgrader.api import Gradebook

from ..coursedir import Course
from ..pipeline.record import read_report, submission_totals


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
