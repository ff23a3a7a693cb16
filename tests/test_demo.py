"""`make demo` (autograder.course.demo, and the class from autograder.course.forgeries): the class it
builds is what it claims, its Moodle zip is collected whole, and (slow) the whole demo runs and grades
every student as its roster says."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from datetime import timezone

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.cells import grade_id, has_nbgrader_metadata, index_of, nbgrader_metadata
from autograder.collect import MOODLE, collect, templates_from
from autograder.course import demo, forgeries
from autograder.course.topics import REPO_ROOT
from autograder.pipeline.scan import scan_source

A = forgeries.ASSIGNMENT
RELEASE = REPO_ROOT / "release" / A
SOURCE = REPO_ROOT / "source" / A
FULL_MARKS_KINDS = {"correct", "colab", "kaggle", "renamed", "tests_moved"}


@pytest.fixture(scope="module")
def release() -> nbformat.NotebookNode:
    return nbformat.read(RELEASE / forgeries.NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def handins(release) -> list[forgeries.HandIn]:
    return forgeries.build_class(release, nbformat.read(SOURCE / forgeries.NOTEBOOK, as_version=4))


def of_kind(handins, kind: str) -> list[forgeries.HandIn]:
    found = [h for h in handins if h.kind == kind]
    assert found, kind
    return found


def only(handins, kind: str) -> forgeries.HandIn:
    (found,) = of_kind(handins, kind)
    return found


def content(h: forgeries.HandIn) -> bytes:
    ((_, data),) = h.files
    return data


def file_name(h: forgeries.HandIn) -> str:
    ((name, _),) = h.files
    return name


def notebook(h: forgeries.HandIn) -> nbformat.NotebookNode:
    return nbformat.reads(content(h).decode(), as_version=4)


def cell(nb, gid: str):
    return nb.cells[index_of(nb.cells, gid)]


def answer_sources(nb) -> dict[str, str]:
    return {gid: cell(nb, gid).source for gid in forgeries.ANSWERS}


# --------------------------------------------------------------------------- the class


def test_the_class_is_a_dozen_different_students(handins):
    assert 10 <= len(handins) <= 14
    assert len({h.name for h in handins}) == len({h.participant for h in handins}) == len(handins)
    assert all(h.participant.isdigit() and " " in h.name and h.expect for h in handins)
    kinds = {h.kind for h in handins}
    assert {"correct", "partial", "blank", "colab", "kaggle", "renamed", "tests_moved", "crash", "loop",
            "cheat", "pdf"} <= kinds
    assert len(of_kind(handins, "correct")) == 2
    assert all(len(h.expect) < 100 and "\n" not in h.expect for h in handins)


def test_correct_hand_ins_are_honest_code(handins, release):
    for h in of_kind(handins, "correct"):
        nb = notebook(h)
        for gid, src in answer_sources(nb).items():
            assert "BEGIN SOLUTION" not in src and "END SOLUTION" not in src, (h.name, gid)
            assert "NotImplementedError" not in src and f"def {gid}(" in src, (h.name, gid)
        assert cell(nb, forgeries.WRITTEN).source != cell(release, forgeries.WRITTEN).source
        # everything but the answers is the release's
        assert [c.source for c in nb.cells if nbgrader_metadata(c).get("locked")] == \
               [c.source for c in release.cells if nbgrader_metadata(c).get("locked")]
    first, second = (answer_sources(notebook(h)) for h in of_kind(handins, "correct"))
    assert first != second  # two students, two styles


def test_the_honest_answers_are_the_solutions_without_markers():
    source = nbformat.read(SOURCE / forgeries.NOTEBOOK, as_version=4)
    answers = forgeries.honest_answers(source)
    for gid, src in answers.items():
        stripped = [line for line in cell(source, gid).source.splitlines() if "SOLUTION" not in line]
        assert src.splitlines() == stripped
        compile(src, gid, "exec")
    for src in forgeries.OTHER_CORRECT.values():
        compile(src, "other", "exec")


def test_the_partly_done_hand_in_leaves_some_exercises_as_released(handins, release):
    answers = answer_sources(notebook(only(handins, "partial")))
    released = answer_sources(release)
    done = [gid for gid in forgeries.ANSWERS if answers[gid] != released[gid]]
    left = [gid for gid in forgeries.ANSWERS if answers[gid] == released[gid]]
    assert done and left
    assert all("NotImplementedError" in answers[gid] for gid in left)


def test_the_blank_hand_in_is_the_release(handins, release):
    assert notebook(only(handins, "blank")) == release


def test_the_colab_hand_in_is_as_colab_writes_it(handins):
    h = only(handins, "colab")
    assert file_name(h) == f"Copy of {forgeries.NOTEBOOK}"
    raw = json.loads(content(h))
    assert raw["nbformat"] == 4 and raw["nbformat_minor"] == 0
    assert "colab" in raw["metadata"] and raw["metadata"]["accelerator"] == "GPU"
    assert all("id" not in c for c in raw["cells"])
    assert all("colab" in c["metadata"] for c in raw["cells"] if c["cell_type"] == "code")
    stripped = [c for c in raw["cells"] if c["cell_type"] == "code" and not has_nbgrader_metadata(c)]
    assert any("def accumulated_gradient" in "".join(c["source"]) for c in stripped)


def test_the_kaggle_hand_in_is_as_kaggle_writes_it(handins):
    h = only(handins, "kaggle")
    assert file_name(h) == "03-accumulation.ipynb"
    raw = json.loads(content(h))
    assert raw["nbformat_minor"] == 4 and "kaggle" in raw["metadata"]
    assert all("id" not in c and "_cell_guid" in c["metadata"] for c in raw["cells"])


def test_the_renamed_hand_in_has_the_browsers_name(handins):
    assert file_name(only(handins, "renamed")) in (f"Copy of {forgeries.NOTEBOOK}", f"{A} (1).ipynb")
    assert notebook(only(handins, "renamed")) == notebook(of_kind(handins, "correct")[0])


def test_test_cells_deleted_and_moved(handins, release):
    nb = notebook(only(handins, "tests_moved"))
    ids = [grade_id(c) for c in nb.cells]
    assert "test_params_without_grad" not in ids and "test_params_without_grad" in map(grade_id, release.cells)
    assert ids.index("test_accumulate_backward") < ids.index("accumulate_backward")
    assert len(nb.cells) == len(release.cells) - 1


def test_the_crash_exits_the_kernel_in_an_answer(handins):
    answers = answer_sources(notebook(only(handins, "crash")))
    crashing = [gid for gid, src in answers.items() if "os._exit(1)" in src]
    assert len(crashing) == 1
    # at top level of the cell, so it runs when the cell runs
    assert any(line.startswith("os._exit(1)") for line in answers[crashing[0]].splitlines())


def test_the_loop_never_ends(handins):
    src = answer_sources(notebook(only(handins, "loop")))["accumulated_gradient"]
    assert "while start < N:" in src
    assert not any(line.strip().startswith("start +=") for line in src.splitlines())


def test_the_cheat_disables_the_tests_and_the_scan_sees_it(handins):
    answers = answer_sources(notebook(only(handins, "cheat")))
    patched = [gid for gid, src in answers.items() if "torch.testing.assert_close =" in src]
    assert patched
    assert any("assert_close" in f.what for f in scan_source(answers[patched[0]]))
    assert sum("All tests passed" in src for src in answers.values()) >= 1


def test_the_pdf_is_not_a_notebook(handins):
    h = only(handins, "pdf")
    assert file_name(h).endswith(".pdf") and content(h).startswith(b"%PDF")


# --------------------------------------------------------------------------- the Moodle zip and collect


def test_the_zip_has_moodles_layout_and_collect_places_every_notebook(handins, tmp_path):
    download = forgeries.write_moodle_zip(handins, tmp_path / demo.DOWNLOAD)
    with zipfile.ZipFile(download) as z:
        names = z.namelist()
    assert len(names) == sum(len(h.files) for h in handins)
    for h in handins:
        for name, _ in h.files:
            assert f"{h.name}_{h.participant}_assignsubmission_file_/{name}" in names
    for name in names:
        folder, _, _ = name.partition("/")
        assert MOODLE.fullmatch(folder), name

    course = tmp_path / "course"
    course.mkdir()
    templates = templates_from(RELEASE)
    report = collect(course, A, download, sorted(templates), templates)
    notebooks = [h for h in handins if h.kind != "pdf"]
    assert sorted(p.student for p in report.placed) == sorted(h.participant for h in notebooks)
    for h in notebooks:
        placed = course / "submitted" / h.participant / A / forgeries.NOTEBOOK
        assert placed.read_bytes() == content(h), h.name
    (problem,) = report.problems
    assert problem.source.endswith(".pdf") and "not a notebook" in problem.reason


def test_the_worksheet_gives_collect_the_hand_in_times(handins, tmp_path):
    download = forgeries.write_moodle_zip(handins, tmp_path / demo.DOWNLOAD)
    sheet = forgeries.write_moodle_worksheet(handins, tmp_path / demo.WORKSHEET)
    rows = list(csv.DictReader(sheet.open()))
    assert [r["Identifier"] for r in rows] == [f"Participant {h.participant}" for h in handins]
    course = tmp_path / "course"
    course.mkdir()
    templates = templates_from(RELEASE)
    collect(course, A, download, sorted(templates), templates, worksheet=sheet, zone=timezone.utc)
    stamps = {h.participant: parse_utc((course / "submitted" / h.participant / A / "timestamp.txt").read_text())
              for h in handins if h.kind != "pdf"}
    due = parse_utc(forgeries.DUE)
    late = {participant for participant, stamp in stamps.items() if stamp > due}
    assert late == {next(h.participant for h in handins if h.handed_in == forgeries.LATE_HAND_IN)}


# --------------------------------------------------------------------------- the course and the command


def test_the_course_uses_the_repositorys_config_and_its_own_gradebook(tmp_path):
    work = tmp_path / "demo"
    demo.prepare_workdir(work)
    demo.make_course(work)
    config = (work / "nbgrader_config.py").read_text()
    assert config.startswith((REPO_ROOT / "nbgrader_config.py").read_text())
    assert "c.IgnorePattern.pattern" in config
    assert f"sqlite:///{(work / 'gradebook.db').resolve()}" in config
    assert (work / "source" / A / forgeries.NOTEBOOK).is_file()
    assert not (work / "source" / "01_requires_grad").exists()


def test_the_work_folder_is_wiped_only_if_the_demo_made_it(tmp_path):
    work = tmp_path / "demo"
    demo.prepare_workdir(work)
    (work / "old.txt").write_text("from the last run")
    demo.prepare_workdir(work)
    assert not (work / "old.txt").exists() and (work / demo.MARKER).exists()

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(demo.DemoFailed, match="not made by the demo"):
        demo.prepare_workdir(mine)
    assert (mine / "thesis.tex").read_text() == "precious"
    assert demo.main(["--workdir", str(mine)]) == 1


def test_ctrl_c_stops_cleanly_and_says_the_gradebook_is_whole(monkeypatch, tmp_path, capsys):
    def interrupted(workdir):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "run_demo", interrupted)
    assert demo.main(["--workdir", str(tmp_path / "demo")]) == 130
    said = capsys.readouterr().err
    assert "interrupted" in said and "one transaction" in said and "make demo" in said
    assert "Traceback" not in said


def test_a_failing_step_stops_the_demo_with_its_command(capsys):
    with pytest.raises(demo.DemoFailed, match="exit status 3"):
        demo.run_step([sys.executable, "-c", "raise SystemExit(3)"], ["autograder", "grade", A])
    assert f"$ autograder grade {A}" in capsys.readouterr().out


# --------------------------------------------------------------------------- the whole demo


@pytest.mark.slow
def test_the_whole_demo(tmp_path, handins):
    work = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "autograder.course.demo", "--workdir", str(work)],
                         capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
    out = run.stdout
    for command in ("collect", "grade", "feedback", "export"):
        assert f"$ autograder {command} {A}" in out
    assert "Class summary" in out and all(h.name in out for h in handins)

    def auto(student: str) -> tuple[float, float, bool]:
        """Points of the code cells, their maximum, and whether any goes to a person."""
        with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
            grades = [g for nb in gb.find_submission(A, student).notebooks for g in nb.grades
                      if g.cell_type == "code"]
            return (sum(g.auto_score or 0 for g in grades), sum(g.max_score for g in grades),
                    any(g.needs_manual_grade for g in grades))

    def report(student: str) -> dict:
        return json.loads((work / "autograded" / student / A / "autograder.json").read_text())

    graded = [h for h in handins if h.kind != "pdf"]
    for h in graded:
        got, most, _ = auto(h.participant)
        assert most == 12, h.name
        if h.kind in FULL_MARKS_KINDS:
            assert got == most, (h.name, report(h.participant))
            assert report(h.participant)["flags"] == [] and report(h.participant)["failures"] == []
    assert auto(only(handins, "blank").participant)[0] == 0
    assert 0 < auto(only(handins, "partial").participant)[0] < 12
    assert report(only(handins, "colab").participant)["repairs"]
    assert report(only(handins, "tests_moved").participant)["repairs"]

    crash = report(only(handins, "crash").participant)["failures"]
    assert len(crash) == 1 and "kernel died" in crash[0], crash
    loop = report(only(handins, "loop").participant)["failures"]
    assert len(loop) == 1 and "time limit" in loop[0], loop
    # the batch went on: the ones graded after the crash and the loop were graded too
    cheat = only(handins, "cheat").participant
    got, most, to_a_person = auto(cheat)
    assert report(cheat)["flags"] or got < most
    assert to_a_person and got < most

    rows = list(csv.DictReader((work / demo.GRADES).open()))
    assert sorted(r["student"] for r in rows) == sorted(h.participant for h in graded)
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} == {h.participant for h in graded}  # named by collect
        assert {s.student.id for s in gb.find_assignment(A).submissions} == {h.participant for h in graded}
        benali = gb.find_student(only(handins, "crash").participant)
        assert (benali.first_name, benali.last_name) == ("Fatima Zahra", "Benali")
        penalties = {s.student.id: sum(nb.late_submission_penalty or 0 for nb in s.notebooks)
                     for s in gb.find_assignment(A).submissions}
    late = next(h for h in handins if h.handed_in == forgeries.LATE_HAND_IN)
    assert {s for s, penalty in penalties.items() if penalty} == {late.participant}
    for h in graded:
        assert (work / "feedback" / h.participant / A / f"{A}.html").is_file(), h.name
    with zipfile.ZipFile(work / demo.FEEDBACK_ZIP) as z:
        folders = {name.partition("/")[0] for name in z.namelist()}
    assert folders == {h.folder for h in graded}  # Moodle's own folder names: its importer matches them
    worksheet = {r["Identifier"]: r for r in csv.DictReader((work / demo.MOODLE_GRADES).open(encoding="utf-8"))}
    assert set(worksheet) == {f"Participant {r['student']}" for r in rows if r["score"] and r["needs_manual_grade"] == "0"}

    assert (work / "reports" / f"{A}.html").is_file()
    assert f"reports/{A}.html in a browser" in out
