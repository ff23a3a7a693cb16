"""`autograder export`: one CSV row per student and assignment, a column per
graded cell, and what the grader repaired, flagged or could not run."""

from __future__ import annotations

import csv
import io

from nbgrader.api import Gradebook

from ..coursedir import Course
from ..pipeline.record import read_report


def export_csv(course: Course, assignments: list[str] | None = None) -> str:
    with Gradebook(course.db_url) as gb:
        chosen = [gb.find_assignment(a) for a in assignments] if assignments else list(gb.assignments)
        cells = [(a.name, nb.name, cell.name) for a in chosen for nb in a.notebooks for cell in nb.grade_cells]
        header = ["student", "assignment", "score", "max_score", "needs_manual_grade"]
        header += [f"{a}/{nb}/{cell}" for a, nb, cell in cells]
        header += ["repairs", "flags", "failures"]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for assignment in chosen:
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
                report = read_report(course.path("autograded", submission.student.id, assignment.name)) or {}
                row = [submission.student.id, assignment.name, f"{submission.score:g}", f"{submission.max_score:g}",
                       sum(g.needs_manual_grade for g in grades.values())]
                for a, nb, cell in cells:
                    grade = grades.get((nb, cell)) if a == assignment.name else None
                    value = None if grade is None else (grade.manual_score if grade.manual_score is not None
                                                        else grade.auto_score)
                    row.append("" if value is None else f"{value:g}")
                row += [" | ".join(report.get(k, [])) for k in ("repairs", "flags", "failures")]
                writer.writerow(row)
    return out.getvalue()
