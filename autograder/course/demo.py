"""`make demo`: a whole class, from the LMS download to the grades.

    python -m autograder.course.demo [--workdir DIR]      (default: demo/ at the repository root)

Makes a fresh nbgrader course in the work folder with one assignment and a
deadline, takes the class of hand-ins that `autograder.course.forgeries` builds
(correct, partly done, blank, saved by Colab or Kaggle, renamed by the browser,
test cells deleted or moved, a crash, an endless loop, a cheat, a PDF instead of
the notebook, one a day late), packs them as Moodle's "Download all submissions"
zip with Moodle's grading worksheet, and runs the real commands an instructor
runs on them, from the LMS download back to the LMS: `autograder collect`,
`grade`, `feedback --zip` (Moodle's feedback-files upload), `export` (CSV, and
Moodle's grading worksheet to upload) and `report`. Each command is printed as a
shell line before it runs, so what you see is what you would type; a class
summary ends it.

Not for: the hand-ins themselves (they are in `forgeries`, which the tests use
without running anything), nor for grading a real course: the work folder is
wiped each time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from ..nbgrader_cli import NbgraderFailed, nbgrader
from ..pipeline.record import read_report
from .forgeries import (
    ASSIGNMENT,
    DUE,
    NOTEBOOK,
    HandIn,
    build_class,
    write_moodle_worksheet,
    write_moodle_zip,
)
from .topics import REPO_ROOT

DEFAULT_WORKDIR = REPO_ROOT / "demo"
MARKER = ".autograder-demo"  # written into the work folder: only a folder holding it is ever wiped
DOWNLOAD = "moodle-download.zip"
WORKSHEET = "moodle-grading-worksheet.csv"  # as Moodle gives it: the hand-in times the zip lacks
FEEDBACK_ZIP = "moodle-feedback.zip"
GRADES = "grades.csv"
MOODLE_GRADES = "moodle-grades.csv"  # the worksheet filled in, for Moodle's "Upload grading worksheet"
# Short, so the endless loop costs 10 s (the loop's hand-in in forgeries says so to the reader).
CELL_TIMEOUT, TOTAL_TIMEOUT = 10, 60


class DemoFailed(RuntimeError):
    pass


# --------------------------------------------------------------------------- the course


def prepare_workdir(workdir: Path) -> None:
    """Wipe the work folder of an earlier demo; never a folder the demo did not make."""
    if workdir.exists():
        if not workdir.is_dir() or (any(workdir.iterdir()) and not (workdir / MARKER).exists()):
            raise DemoFailed(f"{workdir} exists and was not made by the demo: choose another --workdir, "
                             "or remove it yourself")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by `python -m autograder.course.demo`; wiped when the demo runs again\n")


def make_course(workdir: Path, root: Path = REPO_ROOT) -> None:
    """nbgrader_config.py from the repository (IgnorePattern and all), its gradebook here; one assignment."""
    config = (root / "nbgrader_config.py").read_text()
    db = (workdir / "gradebook.db").resolve()
    config += ("\n# The demo's own gradebook, and nbgrader's late penalty: a late hand-in scores 0\n"
               "# (added by autograder.course.demo).\n"
               f"c.CourseDirectory.db_url = {f'sqlite:///{db}'!r}\n"
               'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    (workdir / "nbgrader_config.py").write_text(config)
    shutil.copytree(root / "source" / ASSIGNMENT, workdir / "source" / ASSIGNMENT)


def release_differences(generated: Path, committed: Path) -> list[str]:
    """Notebooks of the generated release that differ from the committed release/."""
    names = sorted({p.name for p in generated.glob("*.ipynb")} | {p.name for p in committed.glob("*.ipynb")})
    differ = []
    for name in names:
        new, old = generated / name, committed / name
        if not (new.is_file() and old.is_file()
                and json.loads(new.read_text()) == json.loads(old.read_text())):
            differ.append(name)
    return differ


# --------------------------------------------------------------------------- running the commands


def _shown(path: Path) -> str:
    """A path as a person would type it from here."""
    try:
        text = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if text.startswith("..") else text


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./:=@+,-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def heading(number: int, total: int, text: str) -> None:
    print(f"\n=== {number}/{total}  {text}", flush=True)


def run_step(args: list[str], shown: list[str], expected: dict[int, str] | None = None) -> None:
    """Run a command with its output streaming live; raise DemoFailed unless it succeeds, or exits with
    one of the `expected` statuses (status -> why the demo's class gives it).

    On Ctrl-C the command gets the interrupt too (same terminal); it is given a moment to stop by itself
    (the grader then finishes no more than the transaction it is in) before it is terminated."""
    print("$ " + " ".join(_quote(a) for a in shown), flush=True)
    started = time.monotonic()
    process = subprocess.Popen(args)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        raise
    why = (expected or {}).get(code)
    if code != 0 and why is None:
        raise DemoFailed(f"`{' '.join(shown)}` failed (exit status {code}); its output is above")
    print(f"  ({time.monotonic() - started:.1f} s{f'; exit status {code}: {why}' if why else ''})", flush=True)


def autograder_step(*args: str, course: Path, expected: dict[int, str] | None = None) -> None:
    run_step([sys.executable, "-m", "autograder", *args, "--course", str(course)],
             ["autograder", *args, "--course", _shown(course) + "/"], expected)


def nbgrader_step(course: Path, *args: str) -> None:
    """nbgrader's own command in the course folder; its log only when it fails."""
    print(f"$ (cd {_shown(course)} && nbgrader {' '.join(_quote(a) for a in args)})", flush=True)
    try:
        nbgrader(course, *args)
    except NbgraderFailed as error:
        raise DemoFailed(str(error)) from None


# --------------------------------------------------------------------------- the summary


def auto_points(course: Path, student: str) -> tuple[float, float, float] | None:
    """Points of the autograded (code) cells in the gradebook and the late penalty, or None if the student
    has no submission; a written answer waits for a person, so it is left out."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            submission = gb.find_submission(ASSIGNMENT, student)
        except MissingEntry:
            return None
        auto = [g for nb in submission.notebooks for g in nb.grades if g.cell_type == "code"]
        late = sum(nb.late_submission_penalty or 0 for nb in submission.notebooks)
        return sum(g.score for g in auto), sum(g.max_score for g in auto), late


def summary(course: Path, handins: list[HandIn]) -> str:
    width = max(len(h.name) for h in handins)
    lines = ["Class summary (autograded points; the written answer, 3 points, waits for a person in formgrader):"]
    for h in handins:
        report, points = read_report(course / "autograded" / h.participant / ASSIGNMENT), auto_points(course, h.participant)
        if report is None or points is None:
            got, notes = "     -", "not collected, not graded"
        else:
            got = f"{points[0]:>3g}/{points[1]:<3g}"
            notes = ", ".join(filter(None, [
                f"late: -{points[2]:g}" if points[2] else "",
                "FLAGGED" if report.get("flags") else "",
                f"repaired ({len(report['repairs'])})" if report.get("repairs") else "",
                "failure recorded" if report.get("failures") else ""])) or "ok"
        lines.append(f"  {h.name:<{width}}  {h.participant}  {got}  {notes:<28}  expected: {h.expect}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the demo


def run_demo(workdir: Path, root: Path = REPO_ROOT) -> None:
    started = time.monotonic()
    course = workdir.resolve()
    steps = 7
    say = _shown(course) + "/"

    heading(1, steps, f"A fresh nbgrader course in {say} with one assignment, {ASSIGNMENT}")
    prepare_workdir(course)
    make_course(course, root)
    print(f"  {say}nbgrader_config.py (the repository's, gradebook at {say}gradebook.db), "
          f"{say}source/{ASSIGNMENT}/")
    nbgrader_step(course, "generate_assignment", ASSIGNMENT, "--force")
    generated = course / "release" / ASSIGNMENT
    differ = release_differences(generated, root / "release" / ASSIGNMENT)
    if differ:
        print(f"  note: release/{ASSIGNMENT} in the repository is not what source/ generates "
              f"({', '.join(differ)}): run `make release` and commit. The demo uses the generated one.")
    else:
        print(f"  {say}release/{ASSIGNMENT}/ generated: the same as the committed release/{ASSIGNMENT}/")

    nbgrader_step(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    print(f"  due {DUE}; a late hand-in scores 0 (nbgrader's LateSubmissionPlugin, penalty_method 'zero')")

    heading(2, steps, "The class: who handed in what")
    release = nbformat.read(generated / NOTEBOOK, as_version=4)
    source = nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    handins = build_class(release, source)
    width = max(len(h.name) for h in handins)
    for h in handins:
        files = ", ".join(name for name, _ in h.files)
        print(f"  {h.name:<{width}}  {h.participant}  {files:<32}  {h.expect}")
    download = write_moodle_zip(handins, course / DOWNLOAD)
    worksheet = write_moodle_worksheet(handins, course / WORKSHEET)
    print(f"  {_shown(download)}: Moodle's \"Download all submissions\" zip, a folder per student "
          f"({handins[0].folder}/...)")
    print(f"  {_shown(worksheet)}: Moodle's grading worksheet, with the hand-in times the zip lacks")

    heading(3, steps, "Collect: the Moodle zip becomes submitted/<student id>/, names and times included")
    autograder_step("collect", ASSIGNMENT, _shown(download), "--worksheet", _shown(worksheet),
                    "--timezone", "UTC", course=course,
                    expected={3: "the PDF could not be placed, as it should not (a person is told)"})

    heading(4, steps, f"Grade: each hand-in repaired, run in the sandbox (cells {CELL_TIMEOUT} s, "
                      f"a hand-in {TOTAL_TIMEOUT} s), scored, recorded")
    autograder_step("grade", ASSIGNMENT, "--timeout", str(CELL_TIMEOUT), "--total-timeout", str(TOTAL_TIMEOUT),
                    course=course, expected={3: "hand-ins the grader could not finish wait for a person"})

    heading(5, steps, "Feedback: a page per student, as a student should see it, zipped for Moodle")
    feedback_zip = course / FEEDBACK_ZIP
    autograder_step("feedback", ASSIGNMENT, "--zip", _shown(feedback_zip), course=course,
                    expected={3: "a student without a page is named above"})

    heading(6, steps, "Export: grades as CSV, and as Moodle's grading worksheet to upload")
    csv_path, moodle_path = course / GRADES, course / MOODLE_GRADES
    autograder_step("export", ASSIGNMENT, "--output", _shown(csv_path), course=course)
    autograder_step("export", ASSIGNMENT, "--format", "moodle", "--output", _shown(moodle_path), course=course,
                    expected={3: "totals still waiting for a person (the written answer) are left out, so Moodle keeps what it has"})

    heading(7, steps, "Report: the class at a glance")
    report_html = course / "reports" / f"{ASSIGNMENT}.html"
    autograder_step("report", ASSIGNMENT, course=course)

    print("\n" + summary(course, handins))
    print(f"\nDone in {time.monotonic() - started:.0f} s.")
    print(f"  report:     {_shown(report_html)}")
    print(f"  feedback:   {_shown(course / 'feedback')}/<student id>/{ASSIGNMENT}/{ASSIGNMENT}.html, and "
          f"{_shown(feedback_zip)} for Moodle's \"Upload multiple feedback files in a zip\"")
    print(f"  grades:     {_shown(csv_path)}, and {_shown(moodle_path)} for Moodle's \"Upload grading worksheet\"")
    print(f"  gradebook:  {_shown(course / 'gradebook.db')} (nbgrader's: run `jupyter lab` in {say} and open "
          "Nbgrader > Formgrader to grade the written answers and review what was flagged)")
    print(f"Open {_shown(report_html)} in a browser.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.course.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"folder for the demo's course, wiped first (default: {_shown(DEFAULT_WORKDIR)})")
    args = parser.parse_args(argv)
    try:
        run_demo(args.workdir)
    except KeyboardInterrupt:
        print("\n\ndemo: interrupted. Nothing is half-written: the grader records each student's grades in one "
              "transaction, so the gradebook holds complete grades for the students graded so far and none for "
              "the others. Running `make demo` again starts over from a fresh course.", file=sys.stderr)
        return 130
    except DemoFailed as error:
        print(f"\ndemo: stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
