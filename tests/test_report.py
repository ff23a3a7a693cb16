"""`autograder report`: the instructor's HTML page for one assignment.

The class is recorded without kernels: synthetic outcomes go through the real
record stage (gradebook rows and autograder.json) of a real nbgrader course, so
every number on the page is known in advance. One student was graded by plain
nbgrader (no autograder.json) and one has a name that is HTML.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import statistics
from pathlib import Path

import nbformat
import pytest
from helpers import (
    ASSIGNMENT,
    HeadlessChromium,
    comments,
    gradebook_grades,
    hand_in_notebook,
    make_course,
    release_notebook,
    run_autograder,
    sqlite_url,
    submit,
)
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from PIL import Image, ImageStat

from autograder import cli
from autograder.cells import grade_id
from autograder.coursedir import CourseError, open_course
from autograder.outcome import CellScore, Flag, NotebookOutcome, SubmissionOutcome
from autograder.output.report import build_report, write_report
from autograder.output.report_data import Reason, failure_message
from autograder.output.report_reasons import group_reasons, normalised
from autograder.pipeline import grade
from autograder.pipeline.record import record_grades
from autograder.roster import MOODLE, LmsHandIn, roster_path, write_roster

XSS = "<img src=x onerror=alert(1)>"  # a student id may not hold "/": it names folders
XSS_REASON = "<script>alert(1)</script> in a cell"
HEADINGS = ["Summary", "Score distribution", "Pass rate of each graded cell", "What the class got wrong",
            "Awaiting a person", "Flagged for review", "Repairs", "Failures", "Students"]
# As pipeline/repair/restore.py and pipeline/sanitize.py word them.
RESTORED = "restored the nbgrader metadata of {} (matched by cell id)"
COLAB = [RESTORED.format(c) for c in ("answer cell 'double'", "test cell 'test_double'", "answer cell 'derivative'",
                                      "test cell 'test_derivative'", "written-answer cell 'why'")]
NEW_IDS = "gave 5 cells a new cell id (missing, invalid or repeated)"
CHEAT = "answer cell 'double', line 2: uses sys.settrace (the debugger's hook)"
FAILURE = "the kernel died (out of memory)"
NOT_CLOSE = ("AssertionError", "Tensor-likes are not close!\n\nMismatched elements: 2 / 2 (100.0%)")


def _graded_notebook(root: Path, errors: dict[str, tuple[str, str]], stderr: dict[str, str]):
    """The release as grading leaves it: each test's error output (ename, evalue) or text on stderr."""
    nb = release_notebook(root)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in errors:
            ename, evalue = errors[gid]
            cell.outputs = [new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])]
        elif gid in stderr:
            cell.outputs = [new_output("stream", name="stderr", text=stderr[gid])]
    return nb


def _outcome(student: str, double: float, derivative: float, seconds: float = 1.0, *, root: Path | None = None,
             errors: dict | None = None, stderr: dict | None = None, **extra) -> SubmissionOutcome:
    """Scores of the two tests (the written answer "why" awaits a person); with `root`, a graded notebook too."""
    scores = [CellScore("test_double", double, 2), CellScore("test_derivative", derivative, 3),
              CellScore("why", None, 1)]
    nb = _graded_notebook(root, errors or {}, stderr or {}) if root else None
    return SubmissionOutcome(student, ASSIGNMENT, [NotebookOutcome(ASSIGNMENT, nb, scores, seconds=seconds, **extra)])


def _class(root: Path) -> dict[str, SubmissionOutcome]:
    """12 students; scores out of 6 (test_double 2, test_derivative 3, the written answer "why" 1)."""
    return {
        XSS: _outcome(XSS, 2, 0, root=root, errors={"test_derivative": ("NameError", "name 'torch' is not defined")},
                      flags=[Flag(None, XSS_REASON)]),  # 2 so far, every cell awaits a person
        "ada": _outcome("ada", 2, 3),  # 5 + why 1 = 6
        "ben": _outcome("ben", 2, 0, root=root, errors={"test_derivative": NOT_CLOSE}),  # 2 + why 1 = 3
        "cy": _outcome("cy", 0, 0, root=root, errors={"test_double": ("AssertionError", ""),
                                                      "test_derivative": NOT_CLOSE}),  # 0 + why 0 = 0
        "dee": _outcome("dee", 2, 3, flags=[Flag("test_double", CHEAT), Flag("test_derivative", CHEAT)]),  # 5 so far
        "eve": _outcome("eve", 2, 3, repairs=[COLAB[2]]),  # 5 + why 1 = 6
        "fay": SubmissionOutcome("fay", ASSIGNMENT, [NotebookOutcome(ASSIGNMENT, None, [], failure=FAILURE,
                                                                     seconds=10.0)]),  # 0, nothing awaits
        "gus": _outcome("gus", 2, 3, repairs=[*COLAB, NEW_IDS]),  # 5 so far: why awaits
        "hal": _outcome("hal", 2, 0, root=root, errors={"test_derivative": NOT_CLOSE},
                        flags=[Flag("test_double", CHEAT), Flag("test_derivative", CHEAT)]),  # 2 so far
        "ivy": _outcome("ivy", 1, 3, root=root, stderr={"test_double": "\x1b[31mUserWarning: slow\x1b[0m\nmore\n"}),
        "jo": _outcome("jo", 0, 0, root=root, errors={"test_double": ("AssertionError", ""),
                                                      "test_derivative": ("ZeroDivisionError", "division by zero")}),
    }


WHY_GRADED = {"ada": 1, "ben": 1, "cy": 0, "eve": 1, "ivy": 1, "jo": 0, "nbgrader_only": 1}  # by a person
FINAL = [6, 3, 0, 6, 0, 5, 0, 6]  # ada ben cy eve fay ivy jo nbgrader_only; the other four await a person
NAIVE = FINAL + [2, 5, 5, 2]  # what a mean counting what awaits a person as 0 would take


def grade_by_hand(root: Path, manual: dict[str, float], cell: str = "why") -> None:
    """What a person does in formgrader: a manual score, and the cell no longer pending."""
    with Gradebook(sqlite_url(root)) as gb:
        for student, score in manual.items():
            grade_row = gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student)
            grade_row.manual_score, grade_row.needs_manual_grade = score, False
        gb.db.commit()


@pytest.fixture(scope="module")
def course_root(tmp_path_factory) -> Path:
    root = make_course(tmp_path_factory.mktemp("report") / "course")
    course = open_course(root)
    for student, outcome in _class(root).items():
        submit(root, student, hand_in_notebook(root))
        grade.record(course, outcome)
    record_grades(course.db_url, _outcome("nbgrader_only", 2, 3))  # gradebook rows only, no autograder.json
    grade_by_hand(root, WHY_GRADED)
    with Gradebook(sqlite_url(root)) as gb:
        gb.update_or_create_student("ada", first_name="Ada", last_name="Lovelace")
        gb.update_or_create_student("dee", first_name="", last_name="leedee")  # a Canvas name slug
    write_roster(root, ASSIGNMENT, {"ada": LmsHandIn("ada", MOODLE, "Wrong Name"),  # the gradebook's name wins
                                    "ben": LmsHandIn("ben", MOODLE, "Ben Okafor"),
                                    "zed": LmsHandIn("zed", MOODLE, "Zed Never Graded")})
    return root


@pytest.fixture(scope="module")
def page(course_root) -> str:
    return build_report(open_course(course_root), ASSIGNMENT)


def summary(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))


def images(page: str) -> list[tuple[bytes, str]]:
    """(PNG bytes, alt text) of every <img>."""
    found = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', page)
    assert len(found) == page.count("<img"), "every image is an embedded PNG with alt text"
    return [(base64.b64decode(data, validate=True), alt) for data, alt in found]


def section(page: str, heading: str) -> str:
    start = page.index(f"<h2>{heading}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start:end if end != -1 else None]


# --------------------------------------------------------------------------- content


def test_sections_come_in_order_with_their_headings(page):
    positions = [page.index(f"<h2>{h}</h2>") for h in HEADINGS]
    assert positions == sorted(positions)
    assert f"<h1>Report: {ASSIGNMENT}</h1>" in page


def test_summary_counts_what_awaits_a_person_written_answers_included(page):
    got = summary(page)
    assert got["Assignment"] == ASSIGNMENT
    assert got["Submissions"] == "12"
    # the written answer "why" awaits a person for gus alone: he counts, though nothing of his is flagged
    assert got["Students awaiting a person"] == "4"  # the HTML-named student, dee, gus, hal
    assert got["Cells awaiting a person"] == "10"  # 3 (a flag on the notebook) + 3 (flags and why) + 1 + 3
    assert got["Flagged by the grader"] == "3"
    assert got["With failures"] == "1" and got["Repaired"] == "2"
    assert got["Grading time"] == "20.0 s in all, 1.8 s a submission"  # 11 with autograder.json
    assert got["Graded by plain nbgrader"].startswith("1 ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d.*", got["Generated"])


def test_mean_and_median_are_over_final_totals_only(page):
    got = summary(page)
    assert statistics.mean(FINAL) == 3.25 and round(statistics.mean(NAIVE), 2) == 3.33  # the test tells them apart
    assert got["Mean score"] == "3.25 / 6 over 8 graded of 12"
    assert got["Median score"] == "4 / 6 over 8 graded of 12"  # (3 + 5) / 2; counting the four: 4 still, so
    assert statistics.median(NAIVE) == 4  # the mean is what tells the two apart
    _, hist_alt = images(page)[0]
    assert "of 8 of 12 submissions" in hist_alt


def test_a_hand_in_awaiting_a_person_for_its_tests_is_no_zero_in_the_mean(tmp_path):
    root = make_course(tmp_path / "course")
    course = open_course(root)
    ungraded = NotebookOutcome(ASSIGNMENT, None, [], ungraded="the grader could not read it")
    for student, outcome in {"ada": _outcome("ada", 2, 3),
                             "bo": SubmissionOutcome("bo", ASSIGNMENT, [ungraded])}.items():
        submit(root, student, hand_in_notebook(root))
        grade.record(course, outcome)
    got = summary(build_report(course, ASSIGNMENT))
    assert got["Mean score"].startswith("— (no total is final yet: all 2 await a person")  # ada's why too
    grade_by_hand(root, {"ada": 1})
    page = build_report(course, ASSIGNMENT)
    got = summary(page)
    assert got["Mean score"] == "6 / 6 over 1 graded of 2" and got["Median score"] == "6 / 6 over 1 graded of 2"
    assert got["Students awaiting a person"] == "1" and got["Cells awaiting a person"] == "3"
    assert re.search(r"<td>bo</td><td class=num>—</td>", page)  # bo's tests await a person: no 0


def test_a_cell_the_graded_notebook_has_no_result_for_goes_to_a_person_not_to_zero(tmp_path):
    root = make_course(tmp_path / "course")
    submit(root, "cy", hand_in_notebook(root))
    graded = NotebookOutcome(ASSIGNMENT, release_notebook(root), [CellScore("test_double", 2.0, 2.0)])
    grade.record(open_course(root), SubmissionOutcome("cy", ASSIGNMENT, [graded]))
    rows = gradebook_grades(sqlite_url(root))["cy"]
    assert (rows["test_double"].auto_score, rows["test_double"].needs_manual_grade) == (2.0, False)
    assert (rows["test_derivative"].auto_score, rows["test_derivative"].needs_manual_grade) == (None, True)
    assert "no result for this cell" in (comments(root, "cy")["derivative"] or "")


def test_names_stand_beside_ids(page):
    table = section(page, "Students")
    assert "<td>Ada Lovelace (ada)</td>" in table  # the gradebook's
    assert "Wrong Name" not in page and "Zed" not in page  # the roster's only when the gradebook has none
    assert "<td>Ben Okafor (ben)</td>" in table  # the LMS download's
    assert "<td>leedee (dee)</td>" in table  # a Canvas slug, as collect stores it
    assert "<td>cy</td>" in table  # no name anywhere: the id alone
    assert "leedee (dee): tiny/test_double, tiny/test_derivative" in section(page, "Flagged for review")
    assert "<li>leedee (dee)</li>" in section(page, "Awaiting a person")
    assert "<li>Ben Okafor (ben)</li>" not in section(page, "Awaiting a person")  # graded by hand


def test_the_page_is_self_contained(page):
    assert "<style>" in page
    for external in ("http://", "https://", "<link", "<script", "src=\"http", "url("):
        assert external not in page


def test_histogram_and_pass_rates_are_embedded_pngs(page):
    (histogram, hist_alt), (bars, bars_alt) = images(page)
    for png in (histogram, bars):
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) < 100_000  # fixed size and dpi keep the page small
    assert Image.open(io.BytesIO(histogram)).size == (700, 320)
    assert Image.open(io.BytesIO(bars)).size[0] == 700
    assert "Histogram" in hist_alt and "from 0 to 6" in hist_alt and bars_alt.startswith("Bar chart")
    assert "<img" in section(page, "Score distribution") and "<img" in section(page, "Pass rate of each graded cell")


def test_pass_rate_counts_autograded_cells_only(page):
    _, (_, alt) = images(page)
    assert "tiny/test_double 8 of 12 full marks" in alt  # all but cy, fay, ivy (1 of 2) and jo
    assert "tiny/test_derivative 6 of 12 full marks" in alt  # ada, dee, eve, gus, ivy, nbgrader_only
    assert "tiny/why" not in alt
    assert "Graded by a person, not shown: tiny/why." in section(page, "Pass rate of each graded cell")


def _failure_messages(page: str, cell: str) -> list[str]:
    row = re.search(rf"<tr><td>{cell}</td>(.*?)</tr>", section(page, "What the class got wrong")).group(1)
    return re.findall(r"<li[^>]*>(.*?)</li>", row)


def test_what_the_class_got_wrong_counts_each_tests_messages(page):
    wrong = section(page, "What the class got wrong")
    assert "<td class=num>8 of 12 (67%)</td>" in wrong and "<td class=num>6 of 12 (50%)</td>" in wrong
    # first line of the evalue; an empty evalue is the name alone; stderr (colour codes off) when no error;
    # a notebook that never ran: why it stopped
    assert _failure_messages(page, "tiny/test_double") == [
        "<code>AssertionError</code> × 2", "<code>UserWarning: slow</code> × 1", f"<code>{FAILURE}</code> × 1"]
    # the hidden test's message (the instructor's page), three of the class's; then the fourth, one click on
    assert _failure_messages(page, "tiny/test_derivative") == [
        "<code>AssertionError: Tensor-likes are not close!</code> × 3",
        "<code>NameError: name &#x27;torch&#x27; is not defined</code> × 1",
        "<code>ZeroDivisionError: division by zero</code> × 1",
        "1 other failure"]
    assert "Mismatched elements" not in page and "tiny/why" not in wrong
    assert '<p class="note">' not in page  # fay has no graded notebook, and her failure says why


def _row_with(page: str, heading: str, text: str) -> str:
    rows = [r for r in section(page, heading).split("<tr>") if text in r]
    assert len(rows) == 1, f"{text!r} is in {len(rows)} rows of {heading}"
    return rows[0]


def test_a_reason_repeated_over_cells_and_students_is_one_line_with_a_count(page):
    flagged = section(page, "Flagged for review").replace("&#x27;", "'")
    assert flagged.count(CHEAT) == 1  # two students, two tests each: told once
    cheat = _row_with(page.replace("&#x27;", "'"), "Flagged for review", CHEAT)
    assert "<td class=num>4 cells</td>" in cheat
    assert "hal: tiny/test_double, tiny/test_derivative" in cheat  # who and where, one click away

    repairs = section(page, "Repairs")
    assert repairs.count("restored the nbgrader metadata") == 1  # six sentences, differing in the cell only
    restored = _row_with(page.replace("&#x27;", "'"), "Repairs", "restored the nbgrader metadata of cell '…' "
                                                                 "(matched by cell id)")
    assert "<td class=num>6 cells</td>" in restored and "<summary>eve, gus</summary>" in restored
    assert "gus: tiny/double, tiny/test_double, tiny/derivative, tiny/test_derivative, tiny/why" in restored
    assert "eve: tiny/derivative" in restored
    assert "<td class=num>× 1</td>" in _row_with(page, "Repairs", NEW_IDS)  # another sentence: its own line

    failed = _row_with(page, "Failures", FAILURE)
    assert "<td class=num>× 1</td>" in failed and "<li>fay: tiny</li>" in failed  # few: no click needed


def test_awaiting_a_person_names_each_cell_and_who(page):
    awaiting = section(page, "Awaiting a person")
    why = _row_with(page, "Awaiting a person", "<td>tiny/why</td>")
    assert "<td>graded by a person</td><td class=num>4</td>" in why and "<summary>4 students</summary>" in why
    assert "<li>gus</li>" in why and "ada" not in why
    double = _row_with(page, "Awaiting a person", "<td>tiny/test_double</td>")
    assert "<td>test held for a person</td><td class=num>3</td>" in double
    assert awaiting.index("tiny/why") < awaiting.index("tiny/test_double")  # most students first


def test_per_student_table(page):
    table = section(page, "Students")
    assert table.count("<tr>") == 13  # header and 12 students
    assert ("<tr><td>leedee (dee)</td><td class=num>5 <span class=\"muted\">so far</span></td><td class=num>6</td>"
            "<td class=num>3</td><td class=num>0</td><td class=num>2</td><td class=num>0</td>"
            "<td class=num>1.0</td></tr>") in table
    assert "<tr><td>Ada Lovelace (ada)</td><td class=num>6</td>" in table  # final: no "so far"
    assert "<tr><td>nbgrader_only</td><td class=num>6</td>" in table and "<td class=num>—</td>" in table
    assert "<tr><td>gus</td><td class=num>5 <span class=\"muted\">so far</span></td>" in table


def test_student_text_is_escaped(page):
    assert XSS not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in section(page, "Students")
    assert "&lt;img src=x onerror=alert(1)&gt;" in section(page, "Awaiting a person")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; in a cell" in section(page, "Flagged for review")


def test_what_cannot_be_read_costs_names_and_messages_not_the_page(tmp_path):
    root = make_course(tmp_path / "course")
    submit(root, "ada", hand_in_notebook(root))
    grade.record(open_course(root), _outcome("ada", 2, 0))  # no graded notebook, and no failure to say why
    roster_path(root, ASSIGNMENT).parent.mkdir(parents=True)
    roster_path(root, ASSIGNMENT).write_text("{not json")
    page = build_report(open_course(root), ASSIGNMENT)
    assert "<td>ada</td>" in section(page, "Students")
    notes = re.findall(r'<p class="note">(.*?)</p>', page)
    assert len(notes) == 2
    assert re.match(r"Names from the LMS download are not shown: .*roster.json is damaged", notes[0])
    assert notes[1].startswith("No graded notebook could be read for ada: tiny:") and "autograder grade tiny" in notes[1]
    assert _failure_messages(page, "tiny/test_derivative") == ["<code>(no graded notebook to read)</code> × 1"]


# --------------------------------------------------------------------------- the pieces on their own


@pytest.mark.parametrize("outputs, message", [
    ([{"output_type": "error", "ename": "ValueError", "evalue": "\n  bad shape\nmore", "traceback": []}],
     "ValueError: bad shape"),
    ([{"output_type": "stream", "name": "stdout", "text": "hello"},
      {"output_type": "error", "ename": "", "evalue": "", "traceback": []}], "Error"),
    ([{"output_type": "stream", "name": "stdout", "text": "0.5\n"}], "(no error shown)"),
    ([{"output_type": "error", "ename": "AssertionError", "evalue": "x" * 500, "traceback": []}],
     "AssertionError: " + "x" * 183 + "…"),
])
def test_failure_message(outputs, message):
    assert failure_message([nbformat.from_dict(o) for o in outputs]) == message


def test_sentences_group_by_what_they_say_not_by_the_cell_they_name():
    same = [Reason("removed nbgrader metadata without a grade id from cell 3 of the handed-in notebook", "nb"),
            Reason("removed nbgrader metadata without a grade id from cell 7 of the handed-in notebook", "nb")]
    other = Reason("answer cell 'f', line 1: uses sys.settrace (the debugger's hook)", "nb", "test_f")
    groups = group_reasons([("ann", [*same, other]), ("bob", [other, Reason("plain words")])])
    by_text = {g.text: g for g in groups}
    numbered = by_text["removed nbgrader metadata without a grade id from cell … of the handed-in notebook"]
    assert (numbered.count, numbered.count_text, numbered.students) == (2, "× 2", {"ann": ["nb"]})
    kept = by_text[other.text]  # the same sentence for two students keeps its own words
    assert (kept.count_text, kept.students) == ("2 cells", {"ann": ["nb/test_f"], "bob": ["nb/test_f"]})
    assert by_text["plain words"].students == {"bob": []}
    assert [g.count for g in groups] == [2, 2, 1]
    assert normalised("reset the nbgrader metadata of test cell 'a' to the template's") == (
        "reset the nbgrader metadata of cell '…' to the template's", ["a"])


# --------------------------------------------------------------------------- errors


def test_an_unknown_assignment_says_how_to_get_one(course_root):
    with pytest.raises(CourseError, match=r"no assignment 'nosuch'.*autograder grade nosuch"):
        build_report(open_course(course_root), "nosuch")


def test_an_assignment_nobody_handed_in_says_grade_it_first(course_root):
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment("empty")
    with pytest.raises(CourseError, match=r"no graded submissions of 'empty'.*autograder grade empty"):
        build_report(open_course(course_root), "empty")


def test_a_course_without_gradebook_is_left_without_one(tmp_path):
    shutil.copy(Path(cli.__file__).parent.parent / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    with pytest.raises(CourseError, match="no gradebook"):
        build_report(open_course(tmp_path), ASSIGNMENT)
    assert not (tmp_path / "gradebook.db").exists()


# --------------------------------------------------------------------------- writing and the command


def test_write_report_defaults_to_the_courses_reports_folder(course_root):
    path = write_report(open_course(course_root), ASSIGNMENT)
    assert path == course_root / "reports" / f"{ASSIGNMENT}.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_command_writes_the_report_and_prints_its_path(course_root, tmp_path):
    out = tmp_path / "out" / "tiny.html"
    run = run_autograder(course_root, "report", ASSIGNMENT, "--output", str(out), timeout=300)
    assert run.returncode == 0, run.stderr
    assert str(out) in run.stdout
    assert "<h2>Students</h2>" in out.read_text(encoding="utf-8")


def test_command_default_path_and_errors(course_root, capsys):
    assert cli.main(["report", ASSIGNMENT, "--course", str(course_root)]) == 0
    assert str(course_root / "reports" / f"{ASSIGNMENT}.html") in capsys.readouterr().out
    assert cli.main(["report", "nosuch", "--course", str(course_root)]) == 2
    assert "autograder grade nosuch" in capsys.readouterr().err


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.slow
def test_the_report_renders_in_a_browser(course_root, tmp_path):
    from selenium.webdriver.common.by import By

    path = write_report(open_course(course_root), ASSIGNMENT, tmp_path / "report.html")
    with HeadlessChromium() as browser:
        browser.get(path.as_uri())
        imgs = browser.find_elements(By.TAG_NAME, "img")
        assert len(imgs) == 2
        for img in imgs:
            assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
        headings = browser.find_elements(By.TAG_NAME, "h2")
        assert [h.text for h in headings] == HEADINGS
        assert all(h.is_displayed() for h in headings)

        # who a grouped repair concerns is hidden until asked for, then shown
        who = browser.find_element(By.XPATH, "//summary[text()='eve, gus']")
        detail = who.find_element(By.XPATH, "following-sibling::ul/li[starts-with(., 'gus:')]")
        assert not detail.is_displayed()
        browser.execute_script("arguments[0].scrollIntoView()", who)
        who.click()
        assert detail.is_displayed() and "tiny/test_derivative" in detail.text

        browser.execute_script("window.scrollTo(0, 0)")
        shot = tmp_path / "report.png"
        assert browser.save_screenshot(str(shot))
    image = Image.open(shot).convert("RGB")
    assert image.size[0] == 1280
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the page is blank or flat"
    spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10, f"pixel standard deviation {spread:.1f}: the page looks blank"
