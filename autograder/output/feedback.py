"""`autograder feedback`: nbgrader's HTML feedback in the student view
(autograder/feedback_view.py), and the zip an LMS takes back as it is.

The zip, by what `collect` recorded in roster.json:

- Moodle ("Upload multiple feedback files in a zip"): one folder per student,
  named as the download named the student's folder ("Amelia Hart_418201_
  assignsubmission_file_"). Moodle's importer (mod/assign/feedback/file/
  importziplib.php, is_valid_filename_for_import) splits each path part at
  "_" into at most 5 pieces, takes the 2nd as the participant id and the 3rd
  and 4th as the plugin type and name; what follows is the file's name.
- Canvas ("Re-upload submissions" on the assignment's Submissions page): one
  file per page, "<name>_<user id>_<attachment id>_feedback-<notebook>.html".
  Canvas (app/models/assignment.rb, generate_comments_from_files and
  infer_comment_context_from_filename) splits a file's base name at "_" and
  takes the first two all-digit pieces as the user id and the id of a file of
  that user's submission, which must exist; a name whose last piece starts
  with "link", or that starts with "._", is ignored.
- No LMS (a folder or zip of <student>/... files): one folder per student id.

A student who should have feedback and has none, or whom the LMS could not
match by the file's name, is named in a warning; such a page is put in the zip
under unmatched/<student>/, where neither importer takes it, for a person to
upload by hand.

The grader's own files (autograder.json, beside the graded notebooks) are kept
out of feedback/ by nbgrader's CourseDirectory.ignore, which nbgrader applies when
it copies autograded/ to feedback/: the course's nbgrader_config.py names them for
formgrader's "Generate feedback" button, and this command adds them for a course
whose config does not. (The same setting keeps a hand-in's own file of that name
from its kernel and from autograded/, where the grader would take it for its own.)

Not for: what the page shows (feedback_view.py) nor who handed in what (roster.py).
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from ..coursedir import Course, CourseError
from ..files import give_to_course_owner, write_atomically
from ..nbgrader_cli import NbgraderFailed, nbgrader
from ..pipeline.record import REPORT_FILE, read_report
from ..roster import CANVAS, MOODLE, LmsHandIn, read_roster

# nbgrader's own feedback preprocessors with ours: the student view after GetGrades, which puts the
# gradebook's comments in the notebook.
STUDENT_VIEW = "autograder.feedback_view.StudentView"
# Named by course configs written before CourseDirectory.ignore took over its work: left out, so they still run.
RETIRED = ("autograder.feedback_view.LeaveOutGraderFiles",)
GRADER_FILES = (REPORT_FILE,)  # beside the graded notebooks: the instructor's, never the student's
NBGRADER_DEFAULT = ["nbgrader.preprocessors.GetGrades", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
UNMATCHED = "unmatched"  # zip folder of pages no LMS importer takes (neither importer reads this path)
MOODLE_PLUGIN = "assignsubmission_file"  # the plugin a Moodle download names in its folders
LAYOUTS = {  # what a zip is laid out for, and where the instructor uploads it
    MOODLE: "Moodle: in the assignment, View all submissions > Grading action > Upload multiple feedback "
            "files in a zip",
    CANVAS: "Canvas: in the assignment, Submissions > Re-upload submissions (each page becomes a comment)",
    None: "a folder per student id (no Moodle or Canvas download was collected)",
}


@dataclass
class Feedback:
    """What `autograder feedback` made: each student's pages, and who has none."""

    pages: dict[str, list[Path]]
    missing: dict[str, str] = field(default_factory=dict)  # student -> why no page
    nbgrader_failed: str | None = None  # nbgrader's log when it could not write some pages


def preprocessors(course: Course) -> list[str]:
    """The course's feedback preprocessors (nbgrader's when it sets none) with the student view added
    where missing, after GetGrades, so that a course whose config lacks it still gets it."""
    section = course.config.GenerateFeedback if "GenerateFeedback" in course.config else {}
    chosen = [p if isinstance(p, str) else f"{p.__module__}.{p.__qualname__}"
              for p in section.get("preprocessors", NBGRADER_DEFAULT) if p not in RETIRED]
    if not any(name.rsplit(".", 1)[-1] == STUDENT_VIEW.rsplit(".", 1)[-1] for name in chosen):
        after = next((i + 1 for i, name in enumerate(chosen) if name.rsplit(".", 1)[-1] == "GetGrades"), 0)
        chosen.insert(after, STUDENT_VIEW)
    return chosen


def nbgrader_options(course: Course, show_hidden_tests: bool, show_flags: bool) -> list[str]:
    """nbgrader generate_feedback's options for the student view, and CourseDirectory.ignore with the
    grader's files added where the course's config does not name them (see the module's docstring)."""
    ignore = list(dict.fromkeys([*course.dirs.ignore, *GRADER_FILES]))
    return [f"--GenerateFeedback.preprocessors={json.dumps(preprocessors(course))}",
            f"--CourseDirectory.ignore={json.dumps(ignore)}",
            f"--StudentView.show_hidden_tests={show_hidden_tests}",
            f"--StudentView.show_flags={show_flags}"]


def _students_in(course: Course, kind: str, assignment: str) -> set[str]:
    """Students with a folder of the assignment in nbgrader's `kind` folder (autograded, feedback)."""
    step = getattr(course.dirs, f"{kind}_directory")
    pattern = course.dirs.format_path(re.escape(step), "(?P<student>[^/]+)", re.escape(assignment), escape=True)
    return {match["student"] for folder in glob.glob(str(course.path(kind, "*", glob.escape(assignment))))
            if (match := re.fullmatch(pattern, folder)) and os.path.isdir(folder)}


def _grader_report(folder: Path) -> dict:
    try:
        return read_report(folder) or {}
    except ValueError:  # damaged: the warning then says less
        return {}


def expected_students(course: Course, assignment: str) -> set[str]:
    """Who should get feedback: every student collected (roster.json), recorded in the gradebook, or graded."""
    with Gradebook(course.db_url) as gb:
        recorded = {s.student.id for s in gb.find_assignment(assignment).submissions}
    return set(read_roster(course.root, assignment)) | recorded | _students_in(course, "autograded", assignment)


def generate(course: Course, assignment: str, students: list[str], show_hidden_tests: bool = False,
             show_flags: bool = False) -> Feedback:
    """nbgrader generate_feedback for the students (all graded when none), in the student view."""
    course.check_assignment(assignment)
    attempted = _students_in(course, "autograded", assignment)
    # the grader writes no notebook for a hand-in it could not read: nbgrader has nothing to render
    graded = {s for s in attempted if any(course.path("autograded", s, assignment).glob("*.ipynb"))}
    if not graded:
        raise CourseError(f"nothing of {assignment} is graded yet (no notebook in "
                          f"{course.path('autograded', '*', assignment)}): run `autograder grade {assignment}` first")
    options = nbgrader_options(course, show_hidden_tests, show_flags)
    failed = None
    for student in sorted(set(students) & graded) if students else [None]:
        chosen = [f"--student={student}"] if student else []
        try:
            nbgrader(course.root, "generate_feedback", assignment, "--force", *options, *chosen)
        except NbgraderFailed as error:  # nbgrader goes on with the others; those it failed have no page
            failed = str(error)
    pages, missing = {}, {}
    for student in sorted(set(students) or expected_students(course, assignment)):
        folder = course.path("feedback", student, assignment)
        found = sorted(folder.glob("*.html")) if student in graded else []
        if found:
            pages[student] = found
        elif student in graded:
            missing[student] = "no feedback: nbgrader could not write their page" + (
                " (its log is above)" if failed else "")
        elif student in attempted:
            why = "; ".join(_grader_report(course.path("autograded", student, assignment)).get("failures", []))
            missing[student] = (f"no feedback: the grader could not grade the hand-in ({why or 'see autograder.json'})"
                                "; a person grades it in formgrader and gives feedback by hand")
        else:
            missing[student] = ("no feedback: nothing of theirs is graded (collect and grade the hand-in, then run "
                                "feedback again)")
    return Feedback(pages, missing, failed)


def moodle_participant(part: str) -> int | None:
    """The participant id Moodle's importer reads from one path part (see the module's docstring)."""
    pieces = part.split("_", 4)
    return int(pieces[1]) if len(pieces) >= 4 and pieces[1].isdigit() else None


def moodle_folder(student: str, record: LmsHandIn | None) -> str | None:
    """The student's folder as the download named it, or as Moodle names it when the roster has none;
    None when the student id is not a Moodle participant id."""
    recorded = (record.folder or "").strip("/") if record else ""
    if recorded and student.isdigit() and moodle_participant(recorded) == int(student):
        return recorded
    if not student.isdigit():
        return None
    name = (record.full_name if record and record.full_name else "Participant").replace("_", " ").replace("/", " ")
    return f"{name}_{student}_{MOODLE_PLUGIN}"


def canvas_file(student: str, record: LmsHandIn | None, page: Path) -> str | None:
    """The page's name as Canvas's re-upload matches it (see the module's docstring); None without the
    user id and the id of the handed-in file (Canvas's download names both)."""
    if not (student.isdigit() and record and record.submission_id is not None):
        return None
    name = "".join(ch for ch in (record.full_name or "") if ch.isalpha()) or "student"
    # no "_" in what follows the ids, so that no later piece is read as an id, and none starts with "link"
    return f"{name}_{student}_{record.submission_id}_feedback-{page.stem.replace('_', '-')}{page.suffix}"


def zip_layout(lms: str | None, student: str, record: LmsHandIn | None, page: Path) -> tuple[str, str | None]:
    """(name in the zip, why the LMS will not match it or None) for one feedback page."""
    if lms == MOODLE:
        folder = moodle_folder((record.lms_id if record else None) or student, record)
        if folder is None:
            return f"{UNMATCHED}/{student}/{page.name}", (f"the page is in {UNMATCHED}/ of the zip: the id is not a "
                                                          "Moodle participant id; upload it by hand")
        recorded = record is not None and folder == (record.folder or "").strip("/")
        return f"{folder}/{page.name}", None if recorded else ("named by the id as Moodle names folders (roster.json "
                                                              "has no folder for it): check Moodle matched it")
    if lms == CANVAS:
        name = canvas_file(student, record, page)
        if name is None:
            return f"{UNMATCHED}/{student}/{page.name}", (f"the page is in {UNMATCHED}/ of the zip: roster.json has no "
                                                          "Canvas user id and file id for it; upload it by hand")
        return name, None
    return f"{student}/{page.name}", None


def roster_lms(roster: dict[str, LmsHandIn]) -> str | None:
    found = {r.lms for r in roster.values() if r.lms}
    if len(found) > 1:
        raise CourseError(f"roster.json mixes hand-ins from {' and '.join(sorted(found))}: one zip cannot go back "
                          "to both; collect each LMS's downloads as a separate assignment")
    return found.pop() if found else None


def pack(course: Course, assignment: str, feedback: Feedback, dest: Path) -> tuple[str | None, dict[str, str]]:
    """Write the zip (atomically); the LMS its layout is for, and student -> why a person must look."""
    roster = read_roster(course.root, assignment)
    lms = roster_lms(roster)
    problems = dict(feedback.missing)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, pages in sorted(feedback.pages.items()):
            for page in pages:
                name, problem = zip_layout(lms, student, roster.get(student), page)
                archive.write(page, name)
                if problem:
                    problems[student] = problem
    write_atomically(dest, buffer.getvalue())
    return lms, problems


def feedback_command(course: Course, assignment: str, students: list[str], zip_path: Path | None = None,
                     show_hidden_tests: bool = False, show_flags: bool = False) -> bool:
    """`autograder feedback`: the pages, the zip when asked for, and what a person reads of them (stdout;
    stderr for each student a person must see to). True when there is such a student."""
    made = generate(course, assignment, students, show_hidden_tests, show_flags)
    give_to_course_owner(course.root / "feedback", course.root)
    shown = [what for what, asked in (("hidden tests' source", show_hidden_tests),
                                      ("the grader's flags", show_flags)) if asked]
    print(f"feedback pages of {len(made.pages)} students written to {course.path('feedback', '*', assignment)}"
          + (f"; it shows {' and '.join(shown)}" if shown else ""))
    if made.nbgrader_failed:
        print(f"autograder: {made.nbgrader_failed}", file=sys.stderr)
    problems = made.missing
    if zip_path is not None:
        lms, problems = pack(course, assignment, made, zip_path)
        give_to_course_owner(zip_path, course.root)
        print(f"{sum(map(len, made.pages.values()))} pages packed in {zip_path}, for {LAYOUTS[lms]}")
    names = {s: r.full_name for s, r in read_roster(course.root, assignment).items() if r.full_name}
    for student, why in sorted(problems.items()):
        who = f"{student} ({names[student]})" if student in names else student
        print(f"autograder: {who}: {why}", file=sys.stderr)
    return bool(problems)
