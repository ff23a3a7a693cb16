"""`autograder report`: the instructor's HTML page for one assignment.

The class is recorded without kernels: synthetic outcomes go through the real
record stage (gradebook rows and autograder.json) of a real nbgrader course, so
every number on the page is known in advance. One student was graded by plain
nbgrader (no autograder.json) and one has a name that is HTML.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import (
    ASSIGNMENT,
    comments,
    gradebook_grades,
    hand_in_notebook,
    make_course,
    release_notebook,
    run_autograder,
    sqlite_url,
    submit,
)
from nbgrader.api import Gradebook
from PIL import Image, ImageStat

from autograder import cli
from autograder.coursedir import CourseError, open_course
from autograder.outcome import CellScore, Flag, NotebookOutcome, SubmissionOutcome
from autograder.output.report import build_report, write_report
from autograder.pipeline import grade
from autograder.pipeline.record import record_grades

XSS = "<img src=x onerror=alert(1)>"  # a student id may not hold "/": it names folders
XSS_REASON = "<script>alert(1)</script> in a cell"
HEADINGS = ["Summary", "Score distribution", "Pass rate of each graded cell", "Flagged for review",
            "Repairs", "Failures", "Students"]
REPAIR = "restored the nbgrader metadata of answer cell 'derivative'"
FLAG = "reaches for the grader's machinery (sys.settrace)"
FAILURE = "the kernel died (out of memory)"


def _outcome(student: str, double: float, derivative: float, seconds: float, **extra) -> SubmissionOutcome:
    scores = [CellScore("test_double", double, 2), CellScore("test_derivative", derivative, 3),
              CellScore("why", None, 1)]
    return SubmissionOutcome(student, ASSIGNMENT, [NotebookOutcome(ASSIGNMENT, None, scores, seconds=seconds, **extra)])


# student -> outcome; scores out of 6 (the written answer "why", 1 point, is not graded yet)
CLASS = {
    "ada": _outcome("ada", 2, 3, 1.5),  # 5
    "ben": _outcome("ben", 2, 0, 2.0),  # 2
    "cy": _outcome("cy", 0, 0, 1.0),  # 0
    "dee": _outcome("dee", 2, 3, 3.0, flags=[Flag("test_derivative", FLAG)]),  # 5, flagged
    "eve": _outcome("eve", 2, 3, 2.5, repairs=[REPAIR]),  # 5, repaired
    "fay": SubmissionOutcome("fay", ASSIGNMENT, [NotebookOutcome(ASSIGNMENT, None, [], failure=FAILURE,
                                                                 seconds=10.0)]),  # 0, failed
    XSS: _outcome(XSS, 2, 0, 1.0, flags=[Flag(None, XSS_REASON)]),  # 2, flagged
}
PLAIN = _outcome("nbgrader_only", 2, 3, 0.0)  # 5; gradebook rows only, no autograder.json


@pytest.fixture(scope="module")
def course_root(tmp_path_factory) -> Path:
    root = make_course(tmp_path_factory.mktemp("report") / "course")
    course = open_course(root)
    for student, outcome in CLASS.items():
        submit(root, student, hand_in_notebook(root))
        grade.record(course, outcome)
    record_grades(course.db_url, PLAIN)
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


def test_a_hand_in_awaiting_a_person_for_its_tests_is_no_zero_in_the_mean(tmp_path):
    root = make_course(tmp_path / "course")
    course = open_course(root)
    ungraded = NotebookOutcome(ASSIGNMENT, None, [], ungraded="the grader could not read it")
    for student, outcome in {"ada": _outcome("ada", 2, 3, 1.0),
                             "bo": SubmissionOutcome("bo", ASSIGNMENT, [ungraded])}.items():
        submit(root, student, hand_in_notebook(root))
        grade.record(course, outcome)
    page = build_report(course, ASSIGNMENT)
    got = summary(page)
    assert got["Mean score"] == "5 / 6" and got["Median score"] == "5 / 6"  # bo's tests await a person: no 0
    assert got["Awaiting a person for a test"] == "1"
    assert re.search(r"<td>bo</td><td class=num>—</td>", page)


def test_a_cell_the_graded_notebook_has_no_result_for_goes_to_a_person_not_to_zero(tmp_path):
    root = make_course(tmp_path / "course")
    submit(root, "cy", hand_in_notebook(root))
    graded = NotebookOutcome(ASSIGNMENT, release_notebook(root), [CellScore("test_double", 2.0, 2.0)])
    grade.record(open_course(root), SubmissionOutcome("cy", ASSIGNMENT, [graded]))
    rows = gradebook_grades(sqlite_url(root))["cy"]
    assert (rows["test_double"].auto_score, rows["test_double"].needs_manual_grade) == (2.0, False)
    assert (rows["test_derivative"].auto_score, rows["test_derivative"].needs_manual_grade) == (None, True)
    assert "no result for this cell" in (comments(root, "cy")["derivative"] or "")


def test_summary_counts(page):
    got = summary(page)
    assert got["Assignment"] == ASSIGNMENT
    assert got["Submissions"] == "8"
    assert got["Mean score"] == "3 / 6"  # (5+2+0+5+5+0+2+5) / 8
    assert got["Median score"] == "3.5 / 6"
    assert got["Flagged for review"] == "2"  # dee, and the student with the HTML name
    assert got["With failures"] == "1" and got["Repaired"] == "1"
    assert got["Grading time"] == "21.0 s in all, 3.0 s a submission"  # 7 with autograder.json
    assert got["Graded by plain nbgrader"].startswith("1 ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d.*", got["Generated"])


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
    assert "tiny/test_double 6 of 8 full marks" in alt  # all but cy and fay
    assert "tiny/test_derivative 4 of 8 full marks" in alt  # ada, dee, eve, nbgrader_only
    assert "tiny/why" not in alt
    assert "Graded by a person, not shown: tiny/why." in section(page, "Pass rate of each graded cell")


def test_flags_repairs_and_failures_are_listed_per_student(page):
    flagged = section(page, "Flagged for review")
    assert "<td>dee</td>" in flagged and f"tiny:test_derivative: {FLAG}" in flagged.replace("&#x27;", "'")
    # the flagged cell is pending in formgrader: the gradebook says so too
    assert "needs manual grading in formgrader: tiny/test_derivative" in flagged
    assert "<td>ada</td>" not in flagged and "<td>fay</td>" not in flagged
    assert f"tiny: {REPAIR}" in section(page, "Repairs").replace("&#x27;", "'")
    assert f"<td>fay</td><td><ul><li>tiny: {FAILURE}</li>" in section(page, "Failures")


def test_per_student_table(page):
    table = section(page, "Students")
    assert table.count("<tr>") == 9  # header and 8 students
    assert ("<tr><td>dee</td><td class=num>5</td><td class=num>6</td><td class=num>0</td>"
            "<td class=num>2</td><td class=num>0</td><td class=num>3.0</td></tr>") in table
    assert "<tr><td>nbgrader_only</td><td class=num>5</td>" in table and "<td class=num>—</td>" in table


def test_student_text_is_escaped(page):
    assert XSS not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in section(page, "Students")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; in a cell" in section(page, "Flagged for review")


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

CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get install chromium chromium-driver"


def _install_chromium() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(f"the browser test needs headless Chromium and its driver: run `sudo {INSTALL}` "
                    f"(Debian/Ubuntu), so that {CHROMIUM} and chromedriver exist")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "chromium-driver"]):
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if run.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` failed; install it by hand ({INSTALL}):\n{run.stderr[-2000:]}")


@pytest.fixture(scope="session")
def chromedriver() -> str:
    if not (Path(CHROMIUM).exists() and shutil.which("chromedriver")):
        _install_chromium()
    return shutil.which("chromedriver")


@pytest.fixture
def browser(chromedriver):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path too, Selenium Manager downloads nothing
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--window-size=1280,2000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    yield driver
    driver.quit()


@pytest.mark.slow
def test_the_report_renders_in_a_browser(course_root, browser, tmp_path):
    from selenium.webdriver.common.by import By

    path = write_report(open_course(course_root), ASSIGNMENT, tmp_path / "report.html")
    browser.get(path.as_uri())
    imgs = browser.find_elements(By.TAG_NAME, "img")
    assert len(imgs) == 2
    for img in imgs:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
    headings = browser.find_elements(By.TAG_NAME, "h2")
    assert [h.text for h in headings] == HEADINGS
    assert all(h.is_displayed() for h in headings)

    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    image = Image.open(shot).convert("RGB")
    assert image.size[0] == 1280
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the page is blank or flat"
    spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10, f"pixel standard deviation {spread:.1f}: the page looks blank"
