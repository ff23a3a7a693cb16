"""The graded notebook as people read it (autograder.pipeline.present and inert):
what a student wrote or displayed cannot run in the reader's browser, honest
markdown and LaTeX are left exactly as written, and a flooded notebook is cut
under 10 MiB with a note where it was cut, every test keeping its score.

Notebooks are built in the tests; the browser tests render feedback with real
`nbgrader generate_feedback` and load it in headless Chromium.
"""

from __future__ import annotations

import base64
import copy
import io
import os
import warnings
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from helpers import ASSIGNMENT, HeadlessChromium, hand_in_notebook, make_course, submit
from matplotlib.figure import Figure
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade
from sqlalchemy.exc import SAWarning

from autograder.cells import grade_id
from autograder.nbgrader_cli import nbgrader
from autograder.output.report import AssignmentData, CellRate, StudentRow, render
from autograder.pipeline.inert import MADE_INERT, inert_markdown, make_inert
from autograder.pipeline.present import MAX_NOTEBOOK_BYTES, bound_size, notebook_bytes, present

MIB = 2 ** 20
# Each payload, if it ever runs, says so where the browser test reads it back.
SCRIPT = "<script>document.title = 'pwned'; window.pwned = 'script';</script>"
ONERROR = "<img src=x onerror=\"document.title = 'pwned'; window.pwned = 'onerror'\">"
JS_LINK = "[click me](javascript:window.pwned='link')"
HONEST = [
    "Because $a<b$ and $b<c$, so $a<c$.",
    "Use `<tensor>.grad` & `x < y`; **bold**, *em*, ~~gone~~.",
    "$$\\frac{\\partial f}{\\partial x} < 1 \\quad \\text{if } x \\in [0, 1)$$",
    "# Heading\n\n- [x] a task\n- [ ] another\n\n1. one\n2. two\n\n> quoted\n\n---",
    "| x | y |\n|---|:-:|\n| 1 < 2 | a & b |",
    "```python\nif a < b and c > d:\n    print('<b>')\n```\n\n    indented <code>",
    "[docs](https://pytorch.org/docs) [anchor](#top) [file](data.csv) ![plot](plot.png) <https://pytorch.org>",
    "\\begin{align} y &= x^2 \\\\ y' &< 2x + 1 \\end{align}",
    "5 > 3 && 2 < 4, A&B, a -> b <- c, x<y, 3 <= 4",
]


def meta(gid: str, **roles) -> dict:
    nbgrader = {"grade_id": gid, "schema_version": 3, "points": 1,
                **{k: roles.get(k, False) for k in ("grade", "solution", "locked")}}
    return {"nbgrader": nbgrader}


def answer(source: str) -> nbformat.NotebookNode:
    return new_markdown_cell(source, metadata=meta("why", grade=True, solution=True))


def display(data: dict, **metadata) -> nbformat.NotebookNode:
    return new_output("display_data", data=data, metadata=metadata)


def drawing(image_format: str, out: io.IOBase):
    """A small line plot, drawn by matplotlib in `image_format`, as a student's cell would show it."""
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(out, format=image_format)
    return out.getvalue()


def png_bytes() -> bytes:
    return drawing("png", io.BytesIO())


def svg_text() -> str:
    return drawing("svg", io.StringIO())


def classic_html(nb) -> str:
    """The cells of the page nbconvert renders, as nbgrader's feedback and formgrader render notebooks
    (classic); the page's own head holds scripts."""
    page, _ = HTMLExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    return page[page.index("<main>"):]


# --------------------------------------------------------------------------- markdown


@pytest.mark.parametrize("source", HONEST)
def test_honest_markdown_is_left_exactly_as_written(source):
    assert inert_markdown(source) == source
    nb = new_notebook(cells=[answer(source), new_markdown_cell(source)])
    assert make_inert(nb) == []
    assert [c.source for c in nb.cells] == [source, source]


def test_an_honest_notebook_renders_the_same_after_present():
    png = base64.b64encode(png_bytes()).decode()
    nb = new_notebook(cells=[*(answer(s) for s in HONEST), new_code_cell("x", outputs=[
        new_output("stream", name="stdout", text="a < b & c\n"),
        display({"image/png": png, "text/plain": "<Figure>"}, **{"image/png": {"width": 200}}),
        new_output("execute_result", data={"text/plain": "tensor([1., 2.])", "text/latex": "$x<1$"},
                   execution_count=1),
    ])])
    before = classic_html(nb)
    assert present(nb) == []
    assert classic_html(nb) == before


def test_a_script_in_a_written_answer_is_removed_and_its_text_kept():
    nb = new_notebook(cells=[answer(f"Because **autograd** {SCRIPT} records $a<b$.")])
    notes = make_inert(nb)
    assert notes == [f"written-answer cell 'why': {MADE_INERT}"]
    shown = classic_html(nb)
    assert "<script>document.title" not in shown and "pwned" not in shown
    assert "<strong>autograd</strong>" in shown and "$a&lt;b$" in shown


def test_an_onerror_image_in_a_cell_the_student_added_loses_its_handler():
    nb = new_notebook(cells=[new_markdown_cell(f"Look: {ONERROR} and {JS_LINK}")])
    make_inert(nb)
    shown = classic_html(nb)
    assert "onerror" not in shown and "javascript:" not in shown
    assert 'src="x"' in shown and "click me" in shown


def test_a_mermaid_block_and_a_broken_attachment_are_shown_as_text():
    mermaid = new_markdown_cell(f"```mermaid\n{ONERROR}\n```")
    missing = new_markdown_cell("![gone](attachment:nothing.png)")
    nb = new_notebook(cells=[mermaid, missing])
    assert len(make_inert(nb)) == 2
    shown = classic_html(nb)  # nbconvert would have failed the page on the missing attachment
    assert "onerror" not in shown and "attachment:nothing.png" in shown


def test_attachments_keep_only_base64_pictures():
    picture = base64.b64encode(png_bytes()).decode()
    good = new_markdown_cell("![plot](attachment:plot.png)")
    good.attachments = {"plot.png": {"image/png": picture, "text/html": SCRIPT}}
    bad = new_markdown_cell("![x](attachment:x.png)")
    bad.attachments = {"x.png": {"image/png": '" onerror="window.pwned=1'}}
    nb = new_notebook(cells=[good, bad])
    assert make_inert(nb) == [f"cell 2: {MADE_INERT}"]
    assert good.attachments == {"plot.png": {"image/png": picture}} and good.source == "![plot](attachment:plot.png)"
    assert bad.attachments == {} and "onerror" not in classic_html(nb)
    assert f"data:image/png;base64,{picture}" in classic_html(nb)


def test_markdown_made_inert_stays_as_it_is_when_made_inert_again():
    for source in (SCRIPT, ONERROR, JS_LINK, "a\n\n```\ncode\n\nmore\n```\n\n<b>x</b>"):
        once = inert_markdown(source)
        assert once != source and inert_markdown(once) == once


def test_tex_that_asks_mathjax_for_a_link_or_html_is_shown_as_text():
    source = r"Click $\href{javascript:window.pwned=1}{here}$ or $\class{x}{y}$, unlike $\hrefx + \alpha$."
    shown = inert_markdown(source)
    assert shown.startswith('<div class="tex2jax_ignore mathjax_ignore">') and inert_markdown(shown) == shown
    assert inert_markdown(r"$\alpha < \beta$") == r"$\alpha < \beta$"
    nb = new_notebook(cells=[new_code_cell("show()", outputs=[
        display({"text/latex": r"$\href{javascript:evil()}{x}$", "text/plain": "x"}),
        display({"text/latex": r"$\frac{1}{2}$", "text/plain": "1/2"})])])
    make_inert(nb)
    assert [list(o.data) for o in nb.cells[0].outputs] == [["text/plain"], ["text/latex", "text/plain"]]


def test_a_locked_cell_nbgrader_put_back_is_left_alone():
    instructor = "<details><summary>Hint</summary><b>chain rule</b></details>"
    nb = new_notebook(cells=[new_markdown_cell(instructor, metadata=meta("hint", locked=True))])
    assert make_inert(nb) == [] and nb.cells[0].source == instructor


def test_a_locked_looking_cell_without_a_grade_id_is_the_students():
    # nbgrader removes a grade id it does not know, and keeps the cell's "locked": anyone can write that.
    cell = new_markdown_cell(SCRIPT, metadata={"nbgrader": {"locked": True, "schema_version": 3}})
    nb = new_notebook(cells=[cell])
    make_inert(nb)
    assert "script" not in nb.cells[0].source


# --------------------------------------------------------------------------- outputs


def test_outputs_that_can_run_script_are_dropped_with_a_note():
    outputs = [
        display({"application/javascript": "window.pwned = 'js'", "text/plain": "<IPython.Javascript>"}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2}}),
        display({"text/vnd.mermaid": ONERROR}),
        display({"application/vnd.plotly.v1+json": {"data": []}, "text/html": f"<div>plot</div>{SCRIPT}"}),
    ]
    nb = new_notebook(cells=[new_code_cell("show()", outputs=outputs)])
    notes = make_inert(nb)
    assert len(notes) == 1 and "application/javascript" in notes[0] and "text/vnd.mermaid" in notes[0]
    data = [o.data for o in nb.cells[0].outputs]
    assert data[0] == {"text/plain": "<IPython.Javascript>"}
    assert list(data[1]) == ["text/plain"] and "removed this output" in data[1]["text/plain"]
    assert list(data[2]) == ["text/plain"]
    assert data[3] == {"text/html": "<div>plot</div>"}
    assert "pwned" not in classic_html(nb)


def test_html_outputs_are_sanitised_and_a_dataframe_keeps_its_table():
    frame = ('<style scoped>.dataframe td {color: red}</style><table border="1" class="dataframe">'
             '<thead><tr style="text-align: right;"><th></th><th>x</th></tr></thead>'
             '<tbody><tr><th>0</th><td>1.5</td></tr></tbody></table>')
    hostile = f'<p onclick="evil()">hi</p>{ONERROR}<iframe src="https://example.com"></iframe>{SCRIPT}'
    nb = new_notebook(cells=[new_code_cell("df", outputs=[
        new_output("execute_result", data={"text/html": frame + hostile, "text/plain": "   x\n0  1.5"},
                   execution_count=1)])])
    make_inert(nb)
    kept = nb.cells[0].outputs[0].data["text/html"]
    assert '<table border="1" class="dataframe">' in kept and "<td>1.5</td>" in kept
    assert 'style="text-align:right"' in kept
    for gone in ("<style", "onclick", "onerror", "<iframe", "<script", "pwned"):
        assert gone not in kept


def test_an_svg_loses_its_script_but_keeps_its_drawing():
    honest = svg_text()
    hostile = honest.replace("</svg>", f'<script>window.pwned = 1</script><circle r="2" onload="evil()"/>'
                                       f'<foreignObject><body>{ONERROR}</body></foreignObject>'
                                       '<a xlink:href="javascript:evil()"><text>x</text></a></svg>')
    nb = new_notebook(cells=[new_code_cell("plot", outputs=[display({"image/svg+xml": hostile})])])
    make_inert(nb)
    kept = nb.cells[0].outputs[0].data["image/svg+xml"]
    for gone in ("<script", "onload", "foreignObject", "onerror", "javascript:"):
        assert gone not in kept
    assert kept.count("<path") == honest.count("<path") and kept.count("<use") == honest.count("<use")
    ET.fromstring(kept)  # still a well-formed SVG, as an <img> needs


def test_an_image_that_is_not_base64_is_dropped():
    sneaky = '" onerror="window.pwned=1" x="'
    nb = new_notebook(cells=[new_code_cell("show()", outputs=[
        display({"image/png": sneaky, "text/plain": "<Figure>"}),
        display({"image/jpeg": base64.b64encode(b"\xff\xd8\xff\xe0 not really").decode()})])])
    make_inert(nb)
    assert nb.cells[0].outputs[0].data == {"text/plain": "<Figure>"}
    assert "image/jpeg" in nb.cells[0].outputs[1].data  # base64, so it stays inside the src attribute


def test_output_metadata_keeps_only_sizes_and_display_hints():
    png = base64.b64encode(png_bytes()).decode()
    nb = new_notebook(cells=[new_code_cell("show()", outputs=[display(
        {"image/png": png, "text/html": "<b>x</b>"},
        **{"image/png": {"width": 300, "height": "1 onerror=alert(1)", "unconfined": True},
           "filenames": {"image/png": "https://tracker.example/pixel.png"},
           "text/html": {"isolated": True}})])])
    make_inert(nb)
    assert nb.cells[0].outputs[0].metadata == {"image/png": {"width": 300, "unconfined": True}}


def test_widget_state_is_dropped_from_the_notebook():
    nb = new_notebook(cells=[], metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0}}, "kernelspec": {"name": "python3", "display_name": "Python 3"}})
    make_inert(nb)
    assert "widgets" not in nb.metadata and nb.metadata.kernelspec.name == "python3"


# --------------------------------------------------------------------------- size


def test_a_notebook_under_the_limit_is_left_as_it_is():
    nb = new_notebook(cells=[new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")])])
    before = copy.deepcopy(nb)
    assert bound_size(nb) == [] and nb == before


def flooded_notebook() -> nbformat.NotebookNode:
    """About 38 MiB, like the hand-in that flooded its output: a huge image, a million printed lines,
    a huge HTML table, and tests that printed a lot too (one passes, one fails)."""
    image = base64.b64encode(os.urandom(12 * MIB)).decode()
    return new_notebook(cells=[
        new_code_cell("import torch", metadata=meta("setup", locked=True)),
        new_code_cell("def double(x): ...", metadata=meta("double", solution=True), outputs=[
            display({"image/png": image, "text/plain": "<Figure>"}),
            new_output("stream", name="stdout", text="answer computed\n")]),
        new_code_cell("for i in range(10**6): print(i)", outputs=[
            new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(10 ** 6)))]),
        new_code_cell("print('a small one')", outputs=[new_output("stream", name="stdout", text="a small one\n")]),
        new_code_cell("assert double(3) == 6", metadata=meta("test_double", grade=True, locked=True), outputs=[
            new_output("stream", name="stdout", text="checked\n" * 200_000),
            display({"text/html": "<table>" + "<tr><td>1</td></tr>" * 100_000 + "</table>"})]),
        new_code_cell("assert double(x) == 2 * x", metadata=meta("test_more", grade=True, locked=True), outputs=[
            new_output("stream", name="stdout", text="x" * MIB),
            new_output("error", ename="AssertionError", evalue="wrong", traceback=["AssertionError: wrong"])]),
    ])


def scores(nb) -> dict[str, float | None]:
    return {grade_id(c): determine_grade(c)[0] for c in nb.cells if c.cell_type == "code" and grade_id(c)
            and c.metadata.nbgrader.get("grade")}


def test_a_flooded_notebook_is_cut_under_ten_mib_with_a_note_where_it_was_cut():
    nb = flooded_notebook()
    assert notebook_bytes(nb) > 30 * MIB
    graded = scores(nb)
    notes = bound_size(nb)
    assert MAX_NOTEBOOK_BYTES == 10 * MIB and notebook_bytes(nb) <= MAX_NOTEBOOK_BYTES
    assert notes and all("of output cut" in note for note in notes)
    answer_cell, loop, small = nb.cells[1], nb.cells[2], nb.cells[3]
    printed_text = loop.outputs[0].text
    assert printed_text.startswith("0\n1\n2\n") and printed_text.endswith("999998\n999999\n")
    assert "The grader cut about" in printed_text and "kept under 10.0 MiB" in printed_text
    assert "The grader cut about" in answer_cell.outputs[0].text  # the image
    assert answer_cell.outputs[1].text == "answer computed\n"  # one output at a time, largest first
    assert small.outputs[0].text == "a small one\n"
    assert scores(nb) == graded == {"test_double": 1.0, "test_more": 0.0}


def test_a_flood_of_small_outputs_is_cut_as_a_whole():
    many = [nbformat.from_dict({"output_type": "display_data", "metadata": {},
                                "data": {"text/html": f"<p>{i}</p>", "text/plain": str(i)}}) for i in range(5_000)]
    nb = new_notebook(cells=[new_code_cell("for i in range(5_000): display(i)")])
    nb.cells[0].outputs = many
    assert notebook_bytes(nb) > 400_000
    bound_size(nb, limit=100_000)
    assert notebook_bytes(nb) <= 100_000
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream"]
    assert "The grader cut about" in nb.cells[0].outputs[0].text


def test_student_outputs_are_cut_before_anything_a_test_printed():
    nb = flooded_notebook()
    bound_size(nb, limit=20 * MIB)
    test_double, test_more = nb.cells[4], nb.cells[5]
    assert test_double.outputs[0].text == "checked\n" * 200_000 and "text/html" in test_double.outputs[1].data
    assert test_more.outputs[1].output_type == "error"


def test_what_a_test_printed_goes_next_and_its_error_stays():
    nb = flooded_notebook()
    graded = scores(nb)
    bound_size(nb, limit=MIB)
    test_double, test_more = nb.cells[4], nb.cells[5]
    assert [o.output_type for o in test_double.outputs] == ["stream", "stream"]
    assert all("The grader cut about" in o.text for o in test_double.outputs)
    assert [o.output_type for o in test_more.outputs] == ["stream", "error"]
    assert test_more.outputs[1].evalue == "wrong"
    assert notebook_bytes(nb) <= MIB and scores(nb) == graded


def test_even_a_huge_error_of_a_test_stays_an_error():
    huge = "no! " * (3 * MIB)
    nb = new_notebook(cells=[new_code_cell("assert f()", metadata=meta("test_f", grade=True, locked=True), outputs=[
        new_output("stream", name="stderr", text=huge),
        new_output("error", ename="ValueError", evalue=huge, traceback=[huge, huge])])])
    notes = bound_size(nb, limit=MIB)
    assert notebook_bytes(nb) <= MIB and notes
    stderr, error = nb.cells[0].outputs
    assert (stderr.output_type, stderr.name, error.output_type, error.ename) == ("stream", "stderr", "error", "ValueError")
    assert error.evalue.startswith("no! no!") and "the grader cut" in error.evalue
    assert scores(nb) == {"test_f": 0.0}


# --------------------------------------------------------------------------- in a real browser

PAYLOAD_ANSWER = f"Because **honest words** survive. {SCRIPT} {ONERROR} {JS_LINK}"


def hostile_graded_notebook(course: Path) -> nbformat.NotebookNode:
    """A graded hand-in with a payload in every place a student reaches: the written answer, a cell they
    added, and what their code displayed (HTML, JavaScript, SVG, markdown, a fake image)."""
    nb = hand_in_notebook(course)
    png = base64.b64encode(png_bytes()).decode()
    for cell in nb.cells:
        if grade_id(cell) == "why":
            cell.source = PAYLOAD_ANSWER
        elif grade_id(cell) == "double":
            cell.outputs = [
                display({"text/html": f"<b>honest table</b>{SCRIPT}{ONERROR}"}),
                display({"application/javascript": "document.title = 'pwned'; window.pwned = 'js';"}),
                display({"image/svg+xml": svg_text().replace("</svg>", "<script>window.pwned='svg'</script></svg>")}),
                display({"text/markdown": f"markdown output {ONERROR}"}),
                display({"image/png": png, "text/plain": "<Figure>"}),
                display({"image/png": '" onerror="window.pwned=\'png\'" x="', "text/plain": "<Figure>"}),
            ]
    nb.cells.append(new_markdown_cell(f"An added cell. {ONERROR}"))
    return nb


def record_submission(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    """The gradebook rows feedback needs, and the graded notebook where nbgrader reads it."""
    submit(course, student, hand_in_notebook(course))
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's ORM predates SQLAlchemy 2
        gb.update_or_create_student(student)
        gb.update_or_create_submission(ASSIGNMENT, student)
    folder = course / "autograded" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def feedback(tmp_path_factory) -> dict[str, Path]:
    """Real nbgrader feedback of the same hostile hand-in, as written raw (`raw`) and presented (`kept`)."""
    course = make_course(tmp_path_factory.mktemp("feedback") / "course")
    raw = hostile_graded_notebook(course)
    kept = copy.deepcopy(raw)
    present(kept)
    record_submission(course, "raw", raw)
    record_submission(course, "kept", kept)
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    return {s: course / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html" for s in ("raw", "kept")}


def loaded(browser, path: Path) -> None:
    browser.get(path.as_uri())
    # "complete" comes after every image has loaded or failed, so every onerror has run by then
    assert browser.execute_script("return document.readyState") == "complete"


@pytest.mark.slow
def test_the_payloads_run_in_feedback_that_was_not_made_inert(feedback):
    # Proves the browser test can fail: nbgrader's feedback runs what the student put there.
    with HeadlessChromium() as browser:
        loaded(browser, feedback["raw"])
        assert browser.execute_script("return window.pwned || document.title") in {"script", "onerror", "js",
                                                                                    "pwned"}


@pytest.mark.slow
def test_feedback_of_a_hostile_hand_in_runs_none_of_it_and_shows_the_honest_content(feedback):
    from selenium.webdriver.common.by import By

    with HeadlessChromium() as browser:
        loaded(browser, feedback["kept"])
        assert browser.execute_script("return typeof window.pwned") == "undefined"
        assert browser.title == ASSIGNMENT
        text = browser.find_element(By.TAG_NAME, "body").text
        for honest in ("honest words", "honest table", "markdown output", "An added cell", "click me"):
            assert honest in text
        images = browser.find_elements(By.CSS_SELECTOR, "div.output_png img, div.output_svg img")
        drawn = [browser.execute_script("return arguments[0].naturalWidth", img) for img in images]
        assert len(drawn) == 2 and all(width > 0 for width in drawn), "the PNG and the SVG still show"


@pytest.mark.slow
def test_the_instructors_report_runs_no_student_text_in_a_browser(tmp_path):
    from selenium.webdriver.common.by import By

    student = StudentRow(ONERROR, 1, 2, repairs=[SCRIPT], flags=[ONERROR], failures=[SCRIPT], seconds=1.0)
    data = AssignmentData(ASSIGNMENT, 2, [student, StudentRow("ada", 2, 2, seconds=1.0)],
                          [CellRate(f"{ASSIGNMENT}/test_double", 1, 2)], [f"{ASSIGNMENT}/{ONERROR}"])
    page = tmp_path / "report.html"
    page.write_text(render(data, datetime.now().astimezone()), encoding="utf-8")
    with HeadlessChromium() as browser:
        loaded(browser, page)
        assert browser.execute_script("return typeof window.pwned") == "undefined"
        assert browser.title == f"Report: {ASSIGNMENT}"
        assert "onerror" in browser.find_element(By.TAG_NAME, "body").text  # shown as text, not run
