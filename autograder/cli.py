"""The `autograder` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# jsonschema (under nbformat) imports rfc3987_syntax when it is installed, as the
# Jupyter stack has it, and that builds 39 parsers: 3.5 s at the start of every
# command. No schema the commands validate uses the "iri" formats it checks.
sys.modules.setdefault("rfc3987_syntax", None)

from . import collect
from .course.commands import cmd_badges, cmd_check, cmd_lesson, cmd_release
from .course.topics import TOPICS
from .coursedir import CourseError, open_course
from .files import give_to_course_owner
from .nbgrader_cli import NbgraderFailed
from .output import export
from .pipeline import grade
from .pipeline.execute import Timeouts
from .sandbox import Limits, SandboxSettings, SandboxUnavailable, bubblewrap
from .terminal import Progress, needing_a_person, table


def _course(args: argparse.Namespace):
    return open_course(Path(args.course))


def cmd_collect(args: argparse.Namespace) -> int:
    """Exit status: 0 all placed; 3 some placed and some files (or, with --worksheet, some hand-in times)
    need a person; 1 nothing placed."""
    from subprocess import CalledProcessError  # nbgrader runs alembic to make a new gradebook

    from sqlalchemy.exc import SQLAlchemyError  # nbgrader's gradebook

    from .roster import roster_path

    course = _course(args)
    zone = collect.timezone_named(args.timezone)
    templates = collect.templates_from(course.path("release", ".", args.assignment))
    if not templates:
        raise CourseError(f"no release notebooks for {args.assignment!r} in {course.root / 'release'}: "
                          f"generate them with `nbgrader generate_assignment {args.assignment}` first")
    report = collect.collect(course.root, args.assignment, Path(args.path), sorted(templates), templates,
                             zone=zone, worksheet=Path(args.worksheet) if args.worksheet else None,
                             student_ids=args.student_ids,
                             gradebook=lambda: collect.gradebook_emails(course.db_url, course.dirs.course_id))
    for placed in report.placed:
        give_to_course_owner(placed.dest.parent, course.root)
    if report.records:
        give_to_course_owner(roster_path(course.root, args.assignment).parent, course.root)
    print(collect.format_report(report))
    try:
        collect.name_students(course.db_url, course.dirs.course_id, report.records)
    except (SQLAlchemyError, OSError, CalledProcessError) as error:  # the hand-ins are placed; names are not
        print(f"autograder: the students' names could not be written to the gradebook ({error}); the hand-ins "
              "are placed. Run the same collect again once the gradebook can be written", file=sys.stderr)
        return 3
    if not report.placed:
        print(f"autograder: {collect.nothing_placed(report, args.path)}", file=sys.stderr)
        return 1
    return 3 if report.problems or report.warnings else 0  # 3: placed, but some files or times need a person


GRADED_BUT_FOR_A_PERSON = 3  # exit status: all recorded that could be; some hand-ins need a person


def _check_options(args: argparse.Namespace) -> None:
    """Settings no kernel can work with, refused before anything is read or written."""
    for option, value, unit in (("--timeout", args.timeout, "seconds a cell may run"),
                                ("--total-timeout", args.total_timeout, "seconds a whole submission may run"),
                                ("--memory", args.memory, "MiB each kernel may use"),
                                ("--workers", args.workers, "submissions graded at once")):
        if value is not None and value < 1:
            raise ValueError(f"{option} {value}: it is the {unit}, so it must be at least 1. Nothing was "
                             "graded; run the command again with a positive value, or without the option "
                             "for its default")


def cmd_grade(args: argparse.Namespace) -> int:
    _check_options(args)
    course = _course(args)
    settings = SandboxSettings(enabled=not args.no_sandbox, warm=not args.cold,
                               limits=Limits(memory_bytes=args.memory << 20))
    if settings.enabled and not args.dask:
        bubblewrap()  # before anything is read: say now if there is no sandbox here
    elif not settings.enabled:
        print("autograder: --no-sandbox: student code runs with your rights, and can read and change "
              "anything you can (the gradebook included)", file=sys.stderr)
    cell = args.timeout or course.cell_timeout(Timeouts.cell, unlimited=args.total_timeout)  # the option wins
    progress = Progress()
    choice = grade.GradeOptions(args.student, Timeouts(cell, args.total_timeout), settings,
                                workers=args.workers, dask=args.dask, kernels_ahead=args.kernels_ahead)
    try:
        outcomes = grade.grade_assignment(course, args.assignment, choice, on_done=progress.done,
                                          on_start=progress.start)
    except KeyboardInterrupt:
        progress.close()
        print(f"\nautograder: interrupted. {progress.recorded} students were graded and recorded, each in one "
              "transaction; nobody else's grades were touched. Run the same command again to grade "
              "everyone (grading again gives the same grades).", file=sys.stderr)
        return 130
    progress.close()
    print(table(outcomes))
    print(f"graded notebooks and reports: {course.path('autograded', '*', args.assignment)}; "
          f"grades: {course.db_url}")
    unfinished = needing_a_person(outcomes, args.assignment)
    for line in unfinished:
        print(line, file=sys.stderr)
    return GRADED_BUT_FOR_A_PERSON if unfinished else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from .output.feedback import feedback_command

    someone_needs_a_person = feedback_command(_course(args), args.assignment, args.student,
                                              Path(args.zip) if args.zip else None,
                                              args.show_hidden_tests, args.show_flags)
    return GRADED_BUT_FOR_A_PERSON if someone_needs_a_person else 0


def cmd_export(args: argparse.Namespace) -> int:
    someone_has_no_grade = export.export_command(_course(args), args.assignment, args.format, args.output,
                                                 args.canvas_column, args.out_of)
    return GRADED_BUT_FOR_A_PERSON if someone_has_no_grade else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .output import report  # matplotlib loads only for this command

    course = _course(args)
    path = report.write_report(course, args.assignment, Path(args.output) if args.output else None)
    give_to_course_owner(path, course.root)
    print(f"report written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    topics = ", ".join(t.slug for t in TOPICS)

    p = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader generate_assignment")
    p.add_argument("assignments", nargs="*", help=f"default: all ({topics})")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("badges", help="point every Open-in-Colab/Kaggle badge at the repository setting")
    p.add_argument("--repository", help="OWNER/NAME on GitHub; saved in pyproject.toml [tool.autograder]")
    p.add_argument("--branch", help="branch the badges open; saved in pyproject.toml")
    p.set_defaults(run=cmd_badges)

    p = sub.add_parser("check", help="run lessons, and autograde each solution (full marks) and blank (zero)")
    p.add_argument("assignments", nargs="*", help=f"default: all ({topics})")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("lesson", help="run one lesson and list its errors and stderr output")
    p.add_argument("topic")
    p.set_defaults(run=cmd_lesson)

    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course", default=".", help="the nbgrader course directory (default: here)")

    p = sub.add_parser("collect", parents=[course], help="place an LMS download (zip or folder) in submitted/")
    p.add_argument("assignment")
    p.add_argument("path", help="zip or folder from Moodle, Canvas, or of <student>.ipynb / <student>/<nb>.ipynb")
    p.add_argument("--worksheet", metavar="CSV",
                   help="Moodle only: the assignment's grading worksheet (Submissions > Grading action > Download "
                        "grading worksheet, in English), downloaded with the zip: the hand-in times it lists become "
                        "nbgrader's timestamp.txt, so the late penalty applies")
    p.add_argument("--timezone", metavar="ZONE",
                   help="IANA time zone the download's zip times and the worksheet's times are in: the zone of the "
                        "LMS user who downloaded them (Moodle: their profile's Timezone) (default: this machine's)")
    p.add_argument("--student-ids", choices=collect.STUDENT_ID_CHOICES, default=collect.PARTICIPANT_IDS,
                   help="Moodle only: the nbgrader student id of each hand-in. participant (default): Moodle's "
                        "participant id, which is this assignment's own, so one person is a different student in "
                        "each assignment; email: one id per person, from the worksheet's e-mail address (the "
                        "gradebook student with that address, else the address), with --worksheet")
    p.set_defaults(run=cmd_collect)

    p = sub.add_parser("grade", parents=[course], help="repair, run in the sandbox, score and record hand-ins")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    p.add_argument("--timeout", type=int, default=None,
                   help=f"seconds a cell may run (default: the course's Execute.timeout, else {Timeouts.cell})")
    p.add_argument("--total-timeout", type=int, default=Timeouts.total,
                   help=f"seconds a whole submission may run (default {Timeouts.total})")
    p.add_argument("--memory", type=int, default=Limits.memory_bytes >> 20,
                   help=f"memory limit of each kernel in MiB (default {Limits.memory_bytes >> 20})")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code without the sandbox, with your rights (only for code you trust)")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: one a core, as many as fit in memory "
                        "at --memory each; with --dask: the cluster's threads)")
    p.add_argument("--cold", action="store_true",
                   help="start a new interpreter for every submission instead of forking warm kernels")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the hand-ins on a Dask cluster (e.g. tcp://10.0.0.5:8786); the workers sandbox "
                        "them, and repair, scoring and the gradebook stay here")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("feedback", parents=[course], help="nbgrader's HTML feedback as students should read it, "
                       "and a zip of it for Moodle or Canvas")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=[], help="only this student (repeatable)")
    p.add_argument("--zip", metavar="FILE", help="also pack the pages in FILE, laid out as the LMS of the "
                   "collected download takes them back (Moodle's folders, Canvas's file names)")
    p.add_argument("--show-hidden-tests", action="store_true",
                   help="show the hidden tests' source, what their cells displayed and failing checks' "
                        "tracebacks (default: messages only)")
    p.add_argument("--show-flags", action="store_true",
                   help="show why the grader sent work to a person (default: one neutral sentence)")
    p.set_defaults(run=cmd_feedback)

    p = sub.add_parser("export", parents=[course], help="grades: our CSV, or the file Canvas or Moodle imports")
    p.add_argument("assignment", nargs="*", help="default: every assignment in the gradebook (csv only; "
                   "canvas and moodle take exactly one)")
    p.add_argument("--format", choices=export.FORMATS, default="csv",
                   help="csv: a row per student and assignment (default); canvas: Canvas's gradebook import "
                        "CSV; moodle: Moodle's offline grading worksheet")
    p.add_argument("--output", help="file to write, or - for standard output (default: grades.csv; "
                                    "ASSIGNMENT-canvas.csv or ASSIGNMENT-moodle.csv)")
    p.add_argument("--canvas-column", metavar="NAME", help="the column's header: the Canvas assignment as "
                   "Canvas's export names it, \"NAME (ID)\" (default: the assignment's name, a new column)")
    p.add_argument("--out-of", type=float, metavar="POINTS", help="scale each total to POINTS, the LMS "
                   "assignment's maximum (default: the gradebook's points)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("report", parents=[course], help="one HTML page: scores, pass rates, flags, repairs, failures")
    p.add_argument("assignment")
    p.add_argument("--output", metavar="PATH", help="file to write (default: reports/ASSIGNMENT.html in the course)")
    p.set_defaults(run=cmd_report)
    return parser


def _log_to_stderr() -> None:
    """The grader's own warnings, one line each; other libraries' logging is left as they set it."""
    logger = logging.getLogger("autograder")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("autograder: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
    # nbgrader's gradebook logs a database error it raises with its traceback, through tornado's
    # application log; the grader reports that error itself, on the student's line.
    logging.getLogger("tornado.application").addHandler(logging.NullHandler())


def main(argv: list[str] | None = None, kernels_ahead=None) -> int:
    """`kernels_ahead`: a warm sandbox entry.py started before this module loaded (grade only)."""
    args = build_parser().parse_args(argv)
    args.kernels_ahead = kernels_ahead
    # Diagnostics from deep inside (a warm sandbox restarted, a hand-in the grader could not
    # grade) go to stderr through logging; what a person reads is printed here.
    _log_to_stderr()
    try:
        return args.run(args)
    except (KeyError, ValueError, NbgraderFailed, SandboxUnavailable, collect.CollectError) as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
