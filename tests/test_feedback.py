"""Feedback as students read it, and the zip an LMS takes back.

The student view (autograder/feedback_view.py) runs on notebooks built here,
shaped as `autograder grade` writes them and nbgrader's GetGrades leaves them.
The zip's names are read back with each importer's own rule, written here from
its source: Moodle's mod/assign/feedback/file/importziplib.php
(is_valid_filename_for_import) and Canvas's app/models/assignment.rb
(infer_comment_context_from_filename, used by generate_comments_from_files).
One slow test takes a tiny course through `autograder grade`, `autograder
feedback --zip` and formgrader's "Generate feedback" button, and reads the HTML.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import (
    ASSIGNMENT,
    WRONG,
    Formgrader,
    hand_in_notebook,
    make_course,
    run_autograder,
    submit,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from autograder.coursedir import CourseError, open_course
from autograder.feedback_view import HIDDEN_CHECKS_NOTE, NOT_SHOWN, UNDER_REVIEW, StudentView, without_flags
from autograder.nbgrader_cli import nbgrader
from autograder.outcome import Flag, NotebookOutcome
from autograder.output.feedback import STUDENT_VIEW, Feedback, nbgrader_options, pack, preprocessors
from autograder.pipeline.guard import GuardSession
from autograder.pipeline.inert import inert_markdown
from autograder.pipeline.record import FLAG_COMMENT_PREFIX, REPORT_FILE, report_cell
from autograder.roster import CANVAS, MOODLE, LmsHandIn, write_roster

SECRET = "probe_zx81"  # only in hidden tests: must never reach a student's page
FAILING = "AssertionError: the gradient was not zeroed"
REASON = "answer cell 'double', line 6: assigns torch.testing.assert_close (replaces what the tests call)"
REPAIR = "restored the nbgrader metadata of answer cell 'double'"

# --------------------------------------------------------------------------- the student view


def _meta(gid: str, *, grade=False, solution=False, comment=None) -> dict:
    meta = {"grade_id": gid, "grade": grade, "solution": solution, "locked": not solution, "schema_version": 3}
    if comment is not None:
        meta["comment"] = comment  # as GetGrades leaves it: the gradebook's comment
    return {"nbgrader": meta}


def _error(ename: str, evalue: str, traceback: list[str]):
    return new_output("error", ename=ename, evalue=evalue, traceback=traceback)


FLAGGED = (Flag("test_grad", REASON),)


def graded(flags=FLAGGED, repairs=(REPAIR,)) -> nbformat.NotebookNode:
    """A graded notebook: the grader's report, an answer with a flag in its comment, a test with
    hidden checks that failed (its traceback quotes them), and a visible test that failed."""
    hidden_test = (f"assert grad is not None\n### BEGIN HIDDEN TESTS\n{SECRET} = torch.ones(3)\n"
                   f"assert {SECRET}.grad is None, 'the gradient was not zeroed'\n### END HIDDEN TESTS")
    traceback = ["\x1b[31m------\x1b[39m", "AssertionError    Traceback (most recent call last)",
                 f"Cell In[3], line 4\n      2 ### BEGIN HIDDEN TESTS\n----> 4 assert {SECRET}.grad is None",
                 "\x1b[31mAssertionError\x1b[39m: the gradient was not zeroed"]
    report = report_cell(NotebookOutcome(ASSIGNMENT, None, repairs=list(repairs), flags=list(flags)))
    cells = [report] if report is not None else []
    return new_notebook(cells=[
        *cells,
        new_code_cell("def grad_of(f):\n    return 1", metadata=_meta(
            "answer", solution=True, comment=f"Nicely done.\n{FLAG_COMMENT_PREFIX}[test_grad] {REASON}")),
        new_code_cell(hidden_test, metadata=_meta("test_grad", grade=True), outputs=[
            new_output("stream", name="stderr",  # a warning quotes the line that raised it
                       text=f"<cell>:4: UserWarning: grad of a non-leaf\n  assert {SECRET}.grad is None, "
                            "'the gradient was not zeroed'\n"),
            _error("AssertionError", "the gradient was not zeroed", traceback)]),
        new_code_cell("assert grad_of(abs) == 2, 'grad_of(abs) is wrong'", metadata=_meta("test_visible", grade=True),
                      outputs=[_error("AssertionError", "grad_of(abs) is wrong",
                                      ["Traceback", "----> 1 assert grad_of(abs) == 2", "AssertionError: ..."])]),
        new_markdown_cell("Why?", metadata=_meta("why", grade=True, solution=True, comment="No response.")),
    ])


def student_view(nb, folder: Path | None = None, **options) -> str:
    """The notebook after the student view, as the JSON the feedback page is rendered from."""
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "student": "s", "assignment": ASSIGNMENT},
                 "metadata": {"path": str(folder) if folder else ""}}
    view = StudentView(config=Config({"StudentView": options}))
    nb, _ = view(nbformat.from_dict(json.loads(json.dumps(nb))), resources)
    return nbformat.writes(nb)


def _with_report_file(tmp_path: Path, nb_outcome: NotebookOutcome) -> Path:
    """autograder.json beside the graded notebook, as `autograder grade` writes it."""
    entry = {"name": nb_outcome.name, "repairs": nb_outcome.repairs, "failure": nb_outcome.failure,
             "ungraded": nb_outcome.ungraded, "flags": [{"grade_id": f.grade_id, "reason": f.reason}
                                                        for f in nb_outcome.flags]}
    (tmp_path / REPORT_FILE).write_text(json.dumps({"notebooks": [entry]}))
    return tmp_path


def test_the_graded_notebook_holds_what_the_student_must_not_see():
    # Proves the assertions below can fail: the raw notebook has all of it.
    raw = nbformat.writes(graded())
    assert SECRET in raw and REASON in raw and FLAG_COMMENT_PREFIX in raw and "Traceback" in raw


@pytest.mark.parametrize("with_report_file", [True, False], ids=["autograder.json", "notebook only"])
def test_the_student_sees_answers_messages_and_repairs_but_no_hidden_code_nor_flags(tmp_path, with_report_file):
    outcome = NotebookOutcome(ASSIGNMENT, None, repairs=[REPAIR], flags=[Flag("test_grad", REASON)])
    shown = student_view(graded(), _with_report_file(tmp_path, outcome) if with_report_file else None)
    nb = nbformat.reads(shown, as_version=4)
    assert SECRET not in shown and "BEGIN HIDDEN TESTS" not in shown
    assert REASON not in shown and FLAG_COMMENT_PREFIX.strip() not in shown
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_grad")
    assert test.source == f"assert grad is not None\n{HIDDEN_CHECKS_NOTE}"  # the visible line stays
    assert test.outputs[-1].traceback == [FAILING]
    visible = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_visible")
    assert visible.source == "assert grad_of(abs) == 2, 'grad_of(abs) is wrong'"
    assert visible.outputs[0].traceback == ["AssertionError: grad_of(abs) is wrong"]
    report = nb.cells[0].source
    assert REPAIR in report and "Repaired before grading" in report and UNDER_REVIEW in report
    answer = nb.cells[1]
    assert answer.source == "def grad_of(f):\n    return 1"
    assert answer.metadata.nbgrader.comment == "Nicely done."
    assert nb.cells[-1].metadata.nbgrader.comment == "No response."


def test_without_flags_the_report_says_nothing_of_a_person(tmp_path):
    outcome = NotebookOutcome(ASSIGNMENT, None, repairs=[REPAIR])
    for folder in (None, _with_report_file(tmp_path, outcome)):
        report = nbformat.reads(student_view(graded(flags=()), folder), as_version=4).cells[0].source
        assert REPAIR in report and UNDER_REVIEW not in report


def test_options_show_instructors_hidden_tests_and_flags():
    shown = student_view(graded(), show_hidden_tests=True)
    assert SECRET in shown and "Traceback (most recent call last)" in shown and REASON not in shown
    shown = student_view(graded(), show_flags=True)
    assert REASON in shown and FLAG_COMMENT_PREFIX in shown and SECRET not in shown


def test_a_report_rendered_as_html_is_cut_safely(tmp_path):
    # A reason that quotes HTML makes the whole report one sanitised HTML block (inert_markdown).
    quoting = "names '<b>evil</b>' in a string"
    nb = graded(flags=(Flag("test_grad", quoting),))
    assert nb.cells[0].source.startswith("<div>") and "evil" in nb.cells[0].source
    alone = nbformat.reads(student_view(nb), as_version=4).cells[0].source
    assert "evil" not in alone and UNDER_REVIEW in alone
    outcome = NotebookOutcome(ASSIGNMENT, None, repairs=[REPAIR], flags=[Flag("test_grad", quoting)])
    rebuilt = nbformat.reads(student_view(nb, _with_report_file(tmp_path, outcome)), as_version=4).cells[0].source
    assert "evil" not in rebuilt and UNDER_REVIEW in rebuilt and REPAIR in rebuilt


def test_comments_lose_flag_lines_even_rendered_as_html():
    assert without_flags(f"No response.\n{FLAG_COMMENT_PREFIX}{REASON}") == "No response."
    assert without_flags(f"{FLAG_COMMENT_PREFIX}{REASON}") is None
    block = inert_markdown(f"No response.\n{FLAG_COMMENT_PREFIX}names '<i>x</i>'")
    assert FLAG_COMMENT_PREFIX.strip() in block and without_flags(block) is None


def test_the_course_hidden_test_markers_are_honoured_and_an_open_region_hides_the_rest():
    nb = new_notebook(cells=[new_code_cell(f"x = 1\n# BEGIN SECRET\n{SECRET} = 2\n# END SECRET\nassert x",
                                           metadata=_meta("t", grade=True)),
                             new_code_cell(f"y = 1\n### BEGIN HIDDEN TESTS\n{SECRET} = 3", metadata=_meta("u", grade=True))])
    resources = {"nbgrader": {"notebook": ASSIGNMENT}, "metadata": {"path": ""}}
    config = Config({"ClearHiddenTests": {"begin_test_delimeter": "BEGIN SECRET", "end_test_delimeter": "END SECRET"}})
    shown, _ = StudentView(config=config)(nb, resources)
    assert shown.cells[0].source == f"x = 1\n{HIDDEN_CHECKS_NOTE}\nassert x"
    shown, _ = StudentView()(nbformat.from_dict(json.loads(json.dumps(nb))), resources)
    assert shown.cells[1].source == f"y = 1\n{HIDDEN_CHECKS_NOTE}"


HIDDEN_LINE = f"{SECRET} = torch.ones(3)"


def _leaked(nb) -> tuple[str, str, str]:
    """A test cell's source as student code can read it (linecache), printed, raised, returned and
    displayed as HTML; and the code the grader's guard installs in the kernel, as linecache holds it."""
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_grad")
    return test.source, GuardSession().install_code(), GuardSession().name


def leaking(show_more=False) -> nbformat.NotebookNode:
    """graded(), where the answer read the test cell's source and the guard's, and showed them in the test
    cell and in a later cell of its own (a second answer)."""
    nb = graded()
    source, guard, snapshot = _leaked(nb)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "test_grad")
    test = nb.cells[index]
    test.outputs = [
        new_output("stream", name="stdout", text=f"LEAK: {source!r}\n"),
        new_output("display_data", data={"text/html": f"<pre>{html.escape(guard + source)}</pre>",
                                         "text/plain": "<IPython.core.display.HTML object>"}),
        new_output("execute_result", data={"text/plain": repr(source.split("\n"))}, execution_count=3),
        _error("ValueError", f"SRC {source!r}", ["\x1b[31mValueError\x1b[39m: SRC ...", f"SRC {source!r}"]),
    ]
    coloured = HIDDEN_LINE.replace("torch", "\x1b[32mtorch\x1b[39m")  # a traceback's source is highlighted
    own = new_code_cell("def later():\n    return 2", metadata=_meta("answer2", solution=True), outputs=[
        new_output("stream", name="stdout", text=f"tensor([2., 4.])\n{source}\n{guard}"),
        new_output("display_data", data={"text/html": f"<b>{html.escape(HIDDEN_LINE)}</b>",
                                         "application/json": {"read": [HIDDEN_LINE, snapshot]},
                                         "image/png": "iVBORw0KGgo="}),
        _error("NameError", f"name {snapshot!r} is not defined",
               ["Traceback", f"      4 {coloured}", f"NameError: {snapshot}"]),
    ])
    nb.cells.insert(index + 1, own)
    return nb


def test_what_student_code_read_of_the_tests_and_the_grader_is_not_shown():
    nb = leaking()
    raw = nbformat.writes(nb)
    assert SECRET in raw and "_autograder_install" in raw and "_ag_" in raw  # the leak is there to be found
    shown = student_view(nb)
    for secret in (SECRET, "BEGIN HIDDEN TESTS", "_autograder_install", "_ag_", "types.SimpleNamespace(restore"):
        assert secret not in shown, secret
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.reads(shown, as_version=4).cells}
    # the test cell: what it displayed or returned is the test's, not the student's work
    assert [o.output_type for o in cells["test_grad"].outputs] == ["stream", "error"]
    leak = cells["test_grad"].outputs[0].text  # the visible line stays, each hidden one is replaced
    assert leak == 'LEAK: "assert grad is not None\\n' + "\\n".join([NOT_SHOWN] * 4) + '"\n'
    # the student's own cell keeps what it showed, but for the tests' and the grader's lines
    stream, display, error = cells["answer2"].outputs
    assert stream.text.startswith("tensor([2., 4.])\nassert grad is not None\n") and NOT_SHOWN in stream.text
    assert display.data["text/html"] == f"<b>{NOT_SHOWN}</b>" and display.data["image/png"] == "iVBORw0KGgo="
    assert display.data["application/json"] == {"read": [NOT_SHOWN, NOT_SHOWN]}
    assert error.traceback == ["Traceback", f"      4 {NOT_SHOWN}", f"NameError: {NOT_SHOWN}"]


def test_an_instructor_who_shows_the_hidden_tests_still_does_not_see_the_grader():
    shown = student_view(leaking(), show_hidden_tests=True)
    assert HIDDEN_LINE in shown and "Traceback" in shown
    assert "_autograder_install" not in shown and "_ag_" not in shown


def test_short_lines_and_the_students_own_output_are_left_alone():
    nb = new_notebook(cells=[
        new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\ny = 2\nok(y)\n)\n### END HIDDEN TESTS",
                      metadata=_meta("t", grade=True)),
        new_code_cell("print('y = 2; ok(y) )')", metadata=_meta("a", solution=True),
                      outputs=[new_output("stream", name="stdout", text="y = 2; ok(y) )\n")])])
    shown = nbformat.reads(student_view(nb), as_version=4)
    assert shown.cells[1].outputs[0].text == "y = 2; ok(y) )\n"  # lines under 8 characters say too little


def test_a_course_without_the_student_view_gets_it_and_its_own_preprocessors_stay(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    course = open_course(tmp_path)
    assert preprocessors(course) == [
        "nbgrader.preprocessors.GetGrades", STUDENT_VIEW, "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    # nbgrader leaves autograder.json out of feedback/ for this run, the course's own ignores kept
    ignore = next(o for o in nbgrader_options(course, False, False) if o.startswith("--CourseDirectory.ignore="))
    assert json.loads(ignore.partition("=")[2]) == [*course.dirs.ignore, REPORT_FILE]
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.GenerateFeedback.preprocessors = ['nbgrader.preprocessors.GetGrades', 'my.Extra', "
        "'autograder.feedback_view.LeaveOutGraderFiles']\n")  # retired: CourseDirectory.ignore does its work
    assert preprocessors(open_course(tmp_path)) == ["nbgrader.preprocessors.GetGrades", STUDENT_VIEW, "my.Extra"]


def test_the_repository_config_names_the_student_view_and_keeps_the_grader_files_out(repo_root):
    course = open_course(repo_root)
    chosen = preprocessors(course)
    assert chosen.index(STUDENT_VIEW) == chosen.index("nbgrader.preprocessors.GetGrades") + 1
    # formgrader's "Generate feedback" copies autograded/ to feedback/ but for what this names
    assert REPORT_FILE in course.dirs.ignore


# --------------------------------------------------------------------------- the zip, read as each LMS reads it


def moodle_import(member: str, participants: set[int], plugins: set[tuple[str, str]]):
    """Moodle's is_valid_filename_for_import, rewritten: (participant, plugin, file name) or None."""
    if member.endswith("/"):
        return None  # a folder
    name = member.rsplit("/", 1)[-1]
    if name.startswith((".", "~")):
        return None
    parts = f"/import/{member}".split("/")  # the importer reads the path it extracted the zip to
    while parts:
        info = parts.pop(0).split("_", 4)  # PHP explode('_', part, 5)
        if len(info) < 4 or not re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", info[1]):
            continue
        participant = int(float(info[1]))
        if participant not in participants or (info[2], info[3]) not in plugins:
            continue
        return participant, (info[2], info[3]), "/".join([info[4] if len(info) > 4 else "", *parts])
    return None


def canvas_import(member: str) -> tuple[str, str] | None:
    """Canvas's infer_comment_context_from_filename, rewritten: (user id, attachment id) or None."""
    name = member.rsplit("/", 1)[-1]
    pieces = name.split("_")
    ids = [p for p in pieces if re.fullmatch(r"\d+", p)][:2]
    if len(ids) < 2 or pieces[-1].startswith("link") or name.startswith("._"):
        return None
    return ids[0], ids[1]


def _pack(tmp_path: Path, records: dict[str, LmsHandIn], pages: dict[str, list[str]]):
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    if records:
        write_roster(course, ASSIGNMENT, records)
    found = {}
    for student, names in pages.items():
        folder = course / "feedback" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text(f"<html>{student}</html>")
        found[student] = sorted(folder.glob("*.html"))
    dest = tmp_path / "out" / "feedback.zip"
    lms, problems = pack(open_course(course), ASSIGNMENT, Feedback(found, {"418299": "no feedback: not graded"}), dest)
    with zipfile.ZipFile(dest) as archive:
        return lms, problems, {n: archive.read(n).decode() for n in archive.namelist()}


MOODLE_PLUGINS = {("assignsubmission", "file"), ("assignfeedback", "file")}


def test_moodle_takes_each_page_for_its_participant(tmp_path):
    records = {
        "418201": LmsHandIn("418201", MOODLE, "Amelia Hart", "Amelia Hart_418201_assignsubmission_file_"),
        "418202": LmsHandIn("418202", MOODLE, "Omar Haddad", "Omar Haddad_418202_assignsubmission_file"),  # 4.1+
        "418203": LmsHandIn("418203", MOODLE, "Chloé Martin", "Chloé Martin_418203_assignsubmission_file_"),
    }
    lms, problems, members = _pack(tmp_path, records, {"418201": ["tiny.html", "part_2.html"], "418202": ["tiny.html"],
                                                       "418204": ["tiny.html"], "mallory": ["tiny.html"]})
    assert lms == MOODLE
    participants = {418201, 418202, 418203, 418204}
    read = {name: moodle_import(name, participants, MOODLE_PLUGINS) for name in members}
    taken = {(r[0], r[2].lstrip("/")): members[n] for n, r in read.items() if r}
    assert taken == {(418201, "tiny.html"): "<html>418201</html>", (418201, "part_2.html"): "<html>418201</html>",
                     (418202, "tiny.html"): "<html>418202</html>",
                     (418204, "tiny.html"): "<html>418204</html>"}  # not in the roster: its folder built from the id
    assert "Amelia Hart_418201_assignsubmission_file_/tiny.html" in members  # the download's own folder
    assert [n for n, r in read.items() if r is None] == ["unmatched/mallory/tiny.html"]
    assert set(problems) == {"418204", "mallory", "418299"}  # each named; none silently left out


def test_canvas_takes_each_page_for_its_user_and_handed_in_file(tmp_path):
    records = {
        "5001": LmsHandIn("5001", CANVAS, "lovelaceada", submission_id=90001),
        "5002": LmsHandIn("5002", CANVAS, "o_neil_2", submission_id=90002, late=True),  # "2" is no id
        "5003": LmsHandIn("5003", CANVAS, "hoppergrace"),  # no file id: Canvas could not match it
    }
    lms, problems, members = _pack(tmp_path, records, {"5001": ["tiny.html"], "5002": ["week_3_link.html"],
                                                       "5003": ["tiny.html"]})
    assert lms == CANVAS
    read = {name: canvas_import(name) for name in members}
    assert sorted(r for r in read.values() if r) == [("5001", "90001"), ("5002", "90002")]
    assert [n for n, r in read.items() if r is None] == ["unmatched/5003/tiny.html"]
    assert all("/" not in n for n, r in read.items() if r)  # one file per page, no folders
    assert set(problems) == {"5003", "418299"}


def test_without_an_lms_each_student_has_a_folder(tmp_path):
    lms, problems, members = _pack(tmp_path, {}, {"alice": ["tiny.html"], "bob": ["tiny.html"]})
    assert lms is None and set(members) == {"alice/tiny.html", "bob/tiny.html"}
    assert set(problems) == {"418299"}


def test_a_roster_of_two_lmses_is_refused(tmp_path):
    records = {"1": LmsHandIn("1", MOODLE, "A B", "A B_1_assignsubmission_file_"),
               "2": LmsHandIn("2", CANVAS, "b", submission_id=3)}
    with pytest.raises(CourseError, match="canvas and moodle"):
        _pack(tmp_path, records, {"1": ["tiny.html"]})
    assert not (tmp_path / "out" / "feedback.zip").exists()


# --------------------------------------------------------------------------- end to end

HIDDEN_TEST = (f"assert double(3) == 6\n### BEGIN HIDDEN TESTS\n{SECRET} = torch.arange(4.0)\n"
               f"assert torch.equal(double({SECRET}), 2 * {SECRET}), 'double must also work on tensors'\n"
               "### END HIDDEN TESTS")
ONLY_INTS = "def double(x):\n    return 2 * x if isinstance(x, int) else 3 * x"
CHEAT = WRONG["double"] + "\nimport torch\ndef _noop(*a, **k):\n    return None\ntorch.testing.assert_close = _noop\n"
# reads the source of every cell that ran, the grader's guard included (linecache), and shows it: from the
# test cell that calls it (printed, displayed, raised), and from the student's next cell of their own
LEAKY = ("def double(x):\n    import linecache\n    from IPython.display import HTML, display\n"
         "    ran = '|'.join(''.join(v[2]) for v in list(linecache.cache.values()) if len(v) > 2)\n"
         "    print(ran)\n    display(HTML('<pre>' + ran + '</pre>'))\n    raise ValueError(repr(ran))\n")
LEAKY_LATER = "import linecache\nprint([v[2] for v in list(linecache.cache.values()) if len(v) > 2])\n"
SNAPSHOT_NAME = re.compile(r"_ag_[0-9a-f]{8}")
OUR_FEEDBACK_SETTINGS = "# Feedback as students should read it"  # where nbgrader_config.py sets them
CLASS = {"418201": "Amelia Hart", "418202": "Omar Haddad", "418203": "Chloé Martin",  # 418203: collected, not graded
         "418204": "Lou Leaky"}
GRADED = ("418201", "418202", "418204")


def _pages(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*.html")}


def _text(page: str) -> str:
    """What a browser shows of a page: no tags (code is highlighted token by token), entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.DOTALL)))


@pytest.mark.slow
def test_a_graded_class_gets_the_student_view_through_the_command_and_formgrader(tmp_path):
    course = make_course(tmp_path / "course")
    source = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(source, as_version=4)
    next(c for c in nb.cells if c.get("id") == "test_double").source = HIDDEN_TEST
    nbformat.write(nb, source)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    submit(course, "418201", hand_in_notebook(course, {"double": ONLY_INTS}))
    submit(course, "418202", hand_in_notebook(course, {"double": CHEAT}))
    submit(course, "418204", hand_in_notebook(course, {"double": LEAKY, "derivative": LEAKY_LATER}))
    write_roster(course, ASSIGNMENT, {s: LmsHandIn(s, MOODLE, name, f"{name}_{s}_assignsubmission_file_")
                                      for s, name in CLASS.items()})
    run = run_autograder(course, "grade", ASSIGNMENT, "--workers", "1")
    assert run.returncode in (0, 3), run.stdout + run.stderr
    raw = {s: (course / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() for s in GRADED}
    report = json.loads((course / "autograded" / "418202" / ASSIGNMENT / REPORT_FILE).read_text())
    flag_reasons = {f["reason"] for f in report["notebooks"][0]["flags"]}
    assert SECRET in raw["418201"] and flag_reasons and all(r in raw["418202"] for r in flag_reasons)
    leaked = {c.metadata.get("nbgrader", {}).get("grade_id"): json.dumps(c.get("outputs", []))
              for c in nbformat.reads(raw["418204"], as_version=4).cells}
    for outputs in (leaked["test_double"], leaked["derivative"]):  # the leak works, in both cells
        assert SECRET in outputs and "_autograder_install" in outputs and SNAPSHOT_NAME.search(outputs)

    # A course whose config lacks the student view: the command brings it.
    config = (course / "nbgrader_config.py").read_text()
    assert STUDENT_VIEW in config
    (course / "nbgrader_config.py").write_text(config[:config.index(OUR_FEEDBACK_SETTINGS)])
    feedback_zip = tmp_path / "feedback.zip"
    run = run_autograder(course, "feedback", ASSIGNMENT, "--zip", str(feedback_zip))
    assert run.returncode == 3, run.stdout + run.stderr  # 418203 has no page, and is named
    assert "418203 (Chloé Martin)" in run.stderr and "418201" not in run.stderr
    with zipfile.ZipFile(feedback_zip) as archive:
        zipped = {n: archive.read(n).decode() for n in archive.namelist()}
    assert {moodle_import(n, {418201, 418202, 418203, 418204}, MOODLE_PLUGINS)[0] for n in zipped} == {
        418201, 418202, 418204}
    assert not list((course / "feedback").rglob(REPORT_FILE)) and not [n for n in zipped if REPORT_FILE in n]
    pages = _pages(course / "feedback")
    assert set(pages) == {f"{s}/{ASSIGNMENT}/{ASSIGNMENT}.html" for s in GRADED}
    assert sorted(zipped.values()) == sorted(pages.values())
    _assert_student_view(pages, flag_reasons)

    run = run_autograder(course, "feedback", ASSIGNMENT, "--show-hidden-tests", "--show-flags")
    assert run.returncode == 3, run.stdout + run.stderr
    shown = _pages(course / "feedback")
    assert SECRET in _text(shown[f"418201/{ASSIGNMENT}/{ASSIGNMENT}.html"])
    assert all(r in _text(shown[f"418202/{ASSIGNMENT}/{ASSIGNMENT}.html"]) for r in flag_reasons)
    assert not [p for p in shown.values() if "_autograder_install" in p or SNAPSHOT_NAME.search(p)]

    (course / "nbgrader_config.py").write_text(config)
    with Formgrader(course) as server:  # the "Generate feedback" button: the course's config alone
        reply = server.post(f"/formgrader/api/assignment/{ASSIGNMENT}/generate_feedback")
    assert reply["success"], reply
    assert not list((course / "feedback").rglob(REPORT_FILE))
    _assert_student_view(_pages(course / "feedback"), flag_reasons)


def _assert_student_view(pages: dict[str, str], flag_reasons: set[str]) -> None:
    failing = _text(pages[f"418201/{ASSIGNMENT}/{ASSIGNMENT}.html"])
    flagged = _text(pages[f"418202/{ASSIGNMENT}/{ASSIGNMENT}.html"])
    assert "AssertionError: double must also work on tensors" in failing
    assert f"assert double(3) == 6\n{HIDDEN_CHECKS_NOTE}" in failing  # the visible test stays, the rest is one line
    assert "Grader's report" in flagged and UNDER_REVIEW in flagged and UNDER_REVIEW not in failing
    assert not [r for r in flag_reasons if r in flagged]
    for page in pages.values():
        for shown in (page, _text(page)):
            assert SECRET not in shown and "BEGIN HIDDEN TESTS" not in shown
            assert "_autograder_install" not in shown and not SNAPSHOT_NAME.search(shown)
            assert FLAG_COMMENT_PREFIX.strip() not in shown and "Sent to a person for review" not in shown
    assert NOT_SHOWN in _text(pages[f"418204/{ASSIGNMENT}/{ASSIGNMENT}.html"])  # what it read, replaced
