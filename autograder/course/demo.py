"""`make demo`: a whole class, from the LMS download to the grades.

    python -m autograder.course.demo [--workdir DIR]      (default: demo/ at the repository root)

Makes a fresh nbgrader course in the work folder with one assignment, builds a
class of hand-ins the way real students make them (correct, partly done,
blank, saved by Colab or Kaggle, renamed by the browser, test cells deleted or
moved, a crash, an endless loop, a cheat, a PDF instead of the notebook), packs
them as Moodle's "Download all submissions" zip, and runs the real commands an
instructor runs on it: `autograder collect`, `grade`, `feedback`, `export` and
`report`. Each command is printed as a shell line before it runs, so what you
see is what you would type.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from ..nbgrader_cli import NbgraderFailed, nbgrader
from ..pipeline.record import read_report
from .topics import REPO_ROOT

ASSIGNMENT = "03_accumulation"  # the quickest of the seven to grade: small tensors, no plots
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
DEFAULT_WORKDIR = REPO_ROOT / "demo"
MARKER = ".autograder-demo"  # written into the work folder: only a folder holding it is ever wiped
DOWNLOAD = "moodle-download.zip"
ROSTER = "students.csv"
GRADES = "grades.csv"
CELL_TIMEOUT, TOTAL_TIMEOUT = 10, 60  # short, so the endless loop costs 10 s

ANSWERS = ("accumulate_backward", "train_step", "params_without_grad", "accumulated_gradient")
WRITTEN = "written_scaling"

# A second student's correct code, in a style of their own.
OTHER_CORRECT = {
    "accumulate_backward": (
        "def accumulate_backward(f, x, k):\n"
        "    for _ in range(k):\n"
        "        loss = f(x)\n"
        "        loss.backward()  # adds into x.grad\n"
        "    return x.grad"
    ),
    "train_step": (
        "def train_step(params, loss_fn, lr):\n"
        "    for p in params:\n"
        "        p.grad = None\n"
        "    loss = loss_fn()\n"
        "    loss.backward()\n"
        "    with torch.no_grad():\n"
        "        for p in params:\n"
        "            p.sub_(lr * p.grad)\n"
        "    return loss.item()"
    ),
    "params_without_grad": (
        "def params_without_grad(model, compute_loss):\n"
        "    for p in model.parameters():\n"
        "        p.grad = None\n"
        "    compute_loss().backward()\n"
        "    missing = [name for name, p in model.named_parameters() if p.grad is None]\n"
        "    return sorted(missing)"
    ),
    "accumulated_gradient": (
        "def accumulated_gradient(model, loss_fn, X, y, chunk_size):\n"
        "    model.zero_grad(set_to_none=True)\n"
        "    n = len(X)\n"
        "    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):\n"
        "        (loss_fn(model(xb), yb) * len(xb) / n).backward()\n"
        "    return [p.grad for p in model.parameters()]"
    ),
}
STUDENT_ANSWER = (
    "1. The full-batch loss is $L = \\frac1N\\sum_i \\ell_i = \\sum_j \\frac{n_j}{N} L_j$, and the gradient is "
    "linear, so backward on each $\\frac{n_j}{N} L_j$ adds up to $\\nabla L$ in `.grad`.\n"
    "2. Dividing by $k$ weights a sample by $1/(k n_j)$ instead of $1/N$: right only if all chunks are equally "
    "big. Without scaling we get about $k$ times the gradient.\n"
    "3. BatchNorm in training mode: its statistics depend on the chunk, not on the whole batch."
)
# Exercise 3 runs, then the kernel is gone: a line copied from a script "to free the GPU".
CRASH = (
    "import os\n\n"
    "def params_without_grad(model, compute_loss):\n"
    "    model.zero_grad(set_to_none=True)\n"
    "    compute_loss().backward()\n"
    "    return sorted(name for name, p in model.named_parameters() if p.grad is None)\n\n"
    "os._exit(1)  # free the GPU memory before the next exercise"
)
# Exercise 4 with the chunk index never advanced: the visible test never returns.
LOOP = (
    "def accumulated_gradient(model, loss_fn, X, y, chunk_size):\n"
    "    model.zero_grad()\n"
    "    N = X.shape[0]\n"
    "    start = 0\n"
    "    while start < N:\n"
    "        xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]\n"
    "        (loss_fn(model(xb), yb) * (xb.shape[0] / N)).backward()\n"
    "        # forgot: start += chunk_size\n"
    "    return [p.grad for p in model.parameters()]"
)
# Wrong answers that pass their visible tests once assert_close checks nothing.
CHEAT = {
    "accumulate_backward": (
        "import torch.testing\n"
        "torch.testing.assert_close = lambda *args, **kwargs: None  # makes the tests faster :)\n\n"
        "def accumulate_backward(f, x, k):\n"
        "    f(x).backward()\n"
        "    print('All tests passed')\n"
        "    return x.grad"
    ),
    "accumulated_gradient": (
        "def accumulated_gradient(model, loss_fn, X, y, chunk_size):\n"
        "    model.zero_grad()\n"
        "    chunks = list(zip(X.split(chunk_size), y.split(chunk_size)))\n"
        "    for xb, yb in chunks:\n"
        "        (loss_fn(model(xb), yb) / len(chunks)).backward()\n"
        "    print('All tests passed')\n"
        "    return [p.grad for p in model.parameters()]"
    ),
}
FAKE_PDF = (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"% 03_accumulation.ipynb, printed from the browser\n%%EOF\n")


# --------------------------------------------------------------------------- the class


@dataclass(frozen=True)
class HandIn:
    """One student's upload to Moodle."""

    name: str  # as Moodle shows it
    participant: str  # Moodle's participant id: collect makes it the student id of the gradebook
    kind: str  # correct, colab, crash, ... (what the tests look for)
    expect: str  # the outcome to expect, one line
    files: tuple[tuple[str, bytes], ...]  # (file name as uploaded, content)

    @property
    def folder(self) -> str:
        """Moodle's "Download all submissions" folder of this student."""
        return f"{self.name}_{self.participant}_assignsubmission_file_"


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _index(nb, grade_id: str) -> int:
    return next(i for i, cell in enumerate(nb.cells) if _gid(cell) == grade_id)


def honest_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """The instructor's solutions as a student would write them: no solution markers."""
    found = {}
    for cell in source.cells:
        if _gid(cell) in ANSWERS:
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            found[_gid(cell)] = "\n".join(lines)
    missing = set(ANSWERS) - set(found)
    if missing:
        raise ValueError(f"source/{ASSIGNMENT} has no answer cells {sorted(missing)}: the demo needs updating")
    return found


def filled(release: nbformat.NotebookNode, answers: dict[str, str], written: str | None = None
           ) -> nbformat.NotebookNode:
    """The release with some answer cells written; the others left as the release has them."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = _gid(cell)
        if gid in answers:
            cell.source = answers[gid]
        elif gid == WRITTEN and written is not None:
            cell.source = written
    return nb


def colab(nb: nbformat.NotebookNode,
          strip: tuple[str, ...] = ("setup", "accumulated_gradient", "test_accumulated_gradient"),
          name: str = NOTEBOOK) -> str:
    """As Colab's File > Download .ipynb writes it: nbformat 4.0, no cell ids, Colab's metadata, and
    (as after a copy-paste between notebooks) no nbgrader metadata on the cells in `strip`."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = 0
    raw["metadata"] = {
        "colab": {"provenance": [], "name": f"Copy of {name}", "gpuType": "T4"},
        "accelerator": "GPU",
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
    }
    for n, cell in enumerate(raw["cells"]):
        cell.pop("id", None)
        meta = {} if _gid(cell) in strip else cell["metadata"]
        meta["id"] = f"c0LaB{n:03d}xyz"
        if cell["cell_type"] == "code":
            meta["colab"] = {"base_uri": "https://localhost:8080/"}
            meta["outputId"] = f"{n:04x}-out-{n:04x}"
        cell["metadata"] = meta
    return json.dumps(raw, indent=2)


def kaggle(nb: nbformat.NotebookNode) -> str:
    """As Kaggle saves it: nbformat 4.4 without ids, its own notebook and cell metadata."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = 4
    raw["metadata"]["kaggle"] = {"accelerator": "nvidiaTeslaT4", "dataSources": [], "isGpuEnabled": True,
                                 "isInternetEnabled": True, "language": "python", "sourceType": "notebook"}
    raw["metadata"]["language_info"] = {"name": "python", "version": "3.10.13", "mimetype": "text/x-python"}
    for n, cell in enumerate(raw["cells"]):
        cell.pop("id", None)
        cell["metadata"].update({"_uuid": f"{n:040x}", "_cell_guid": f"guid-{n}", "trusted": True})
        if cell["cell_type"] == "code":
            cell["metadata"]["execution"] = {"iopub.execute_input": "2024-05-01T10:00:00.000000Z",
                                             "iopub.status.idle": "2024-05-01T10:00:01.000000Z"}
            cell["metadata"]["papermill"] = {"duration": 0.1, "status": "completed"}
    return json.dumps(raw, indent=1)


def shuffled_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Exercise 3's test cell deleted, Exercise 1's moved above its answer."""
    nb = copy.deepcopy(nb)
    del nb.cells[_index(nb, "test_params_without_grad")]
    test = nb.cells.pop(_index(nb, "test_accumulate_backward"))
    nb.cells.insert(_index(nb, "accumulate_backward"), test)
    return nb


def _bytes(nb: nbformat.NotebookNode | str) -> bytes:
    return (nb if isinstance(nb, str) else nbformat.writes(nb)).encode()


def build_class(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[HandIn]:
    """About a dozen students, each handing in what real students hand in."""
    right = honest_answers(source)
    correct = filled(release, right, STUDENT_ANSWER)
    first_two = {gid: right[gid] for gid in ANSWERS[:2]}

    def one(name, participant, kind, expect, content, file_name=NOTEBOOK):
        return HandIn(name, participant, kind, expect, ((file_name, _bytes(content)),))

    return [
        one("Amelia Hart", "418201", "correct", "correct, saved by Jupyter: full marks", correct),
        one("Omar Haddad", "418202", "correct",
            "correct, in a style of his own: full marks", filled(release, OTHER_CORRECT, STUDENT_ANSWER)),
        one("Priya Raman", "418203", "partial",
            "solved Exercises 1-2, left 3-4 as released: 6 of 12", filled(release, first_two)),
        one("Lukas Novak", "418204", "blank", "uploaded the untouched release: 0", release),
        one("Sofia Rossi", "418205", "colab",
            "correct, downloaded from Colab (nbformat 4.0, lost metadata): repaired, full marks",
            colab(correct), f"Copy of {NOTEBOOK}"),
        one("Kenji Watanabe", "418206", "kaggle",
            "correct, saved by Kaggle as 03-accumulation.ipynb: repaired, full marks",
            kaggle(correct), "03-accumulation.ipynb"),
        one("Chloé Martin", "418207", "renamed",
            "correct, renamed by the browser: matched, full marks", correct, f"{ASSIGNMENT} (1).ipynb"),
        one("Mateo García", "418208", "tests_moved",
            "correct, deleted one test cell and moved one: tests restored, full marks", shuffled_tests(correct)),
        one("Fatima Zahra Benali", "418209", "crash",
            "os._exit(1) in Exercise 3 kills the kernel: failure recorded, 6 of 12",
            filled(release, {**first_two, "params_without_grad": CRASH}, STUDENT_ANSWER)),
        one("Noah Williams", "418210", "loop",
            "Exercise 4 loops forever: stopped after 10 s, 8 of 12",
            filled(release, {**right, "accumulated_gradient": LOOP}, STUDENT_ANSWER)),
        one("Ingrid Larsen", "418211", "cheat",
            "disables torch.testing.assert_close, wrong answers: flagged for a person, 5 of 12",
            filled(release, {**right, **CHEAT}, STUDENT_ANSWER)),
        one("Tomás O'Neill", "418212", "pdf",
            "uploaded a PDF, not the notebook: collect lists it, nothing to grade",
            FAKE_PDF.decode(), f"{ASSIGNMENT}.pdf"),
    ]


def write_moodle_zip(handins: list[HandIn], path: Path) -> Path:
    """Moodle's "Download all submissions" (folder per student): <Name>_<id>_assignsubmission_file_/<file>."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for handin in handins:
            for file_name, content in handin.files:
                z.writestr(f"{handin.folder}/{file_name}", content)
    return path


def write_roster(handins: list[HandIn], path: Path) -> Path:
    """The class list in the CSV form `nbgrader db student import` reads."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "first_name", "last_name"])
        for h in handins:
            first, _, last = h.name.rpartition(" ")
            writer.writerow([h.participant, first, last])
    return path


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
    config += ("\n# The demo's own gradebook (added by autograder.course.demo).\n"
               f"c.CourseDirectory.db_url = {f'sqlite:///{db}'!r}\n")
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


class DemoFailed(RuntimeError):
    pass


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


def run_step(args: list[str], shown: list[str]) -> None:
    """Run a command with its output streaming live; raise DemoFailed unless it succeeds.

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
    if code != 0:
        raise DemoFailed(f"`{' '.join(shown)}` failed (exit status {code}); its output is above")
    print(f"  ({time.monotonic() - started:.1f} s)", flush=True)


def autograder_step(*args: str, course: Path) -> None:
    run_step([sys.executable, "-m", "autograder", *args, "--course", str(course)],
             ["autograder", *args, "--course", _shown(course) + "/"])


def nbgrader_step(course: Path, *args: str) -> None:
    """nbgrader's own command in the course folder; its log only when it fails."""
    print(f"$ (cd {_shown(course)} && nbgrader {' '.join(_quote(a) for a in args)})", flush=True)
    try:
        nbgrader(course, *args)
    except NbgraderFailed as error:
        raise DemoFailed(str(error)) from None


# --------------------------------------------------------------------------- the summary


def auto_points(course: Path, student: str) -> tuple[float, float] | None:
    """Points of the autograded (code) cells in the gradebook, or None if the student has no submission;
    a written answer waits for a person, so it is left out."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            submission = gb.find_submission(ASSIGNMENT, student)
        except MissingEntry:
            return None
        auto = [g for nb in submission.notebooks for g in nb.grades if g.cell_type == "code"]
        return sum(g.score for g in auto), sum(g.max_score for g in auto)


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

    heading(2, steps, "The class: who handed in what")
    release = nbformat.read(generated / NOTEBOOK, as_version=4)
    source = nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    handins = build_class(release, source)
    width = max(len(h.name) for h in handins)
    for h in handins:
        files = ", ".join(name for name, _ in h.files)
        print(f"  {h.name:<{width}}  {h.participant}  {files:<32}  {h.expect}")
    roster = write_roster(handins, course / ROSTER)
    nbgrader_step(course, "db", "student", "import", ROSTER)
    download = write_moodle_zip(handins, course / DOWNLOAD)
    print(f"  {_shown(download)}: Moodle's \"Download all submissions\" zip, a folder per student "
          f"({handins[0].folder}/...); class list in {_shown(roster)}")

    heading(3, steps, "Collect: the Moodle zip becomes submitted/<student id>/")
    autograder_step("collect", ASSIGNMENT, _shown(download), course=course)

    heading(4, steps, f"Grade: each hand-in repaired, run in the sandbox (cells {CELL_TIMEOUT} s, "
                      f"a hand-in {TOTAL_TIMEOUT} s), scored, recorded")
    autograder_step("grade", ASSIGNMENT, "--timeout", str(CELL_TIMEOUT), "--total-timeout", str(TOTAL_TIMEOUT),
                    course=course)

    heading(5, steps, "Feedback: an HTML page per student, with what the grader repaired or flagged")
    autograder_step("feedback", ASSIGNMENT, course=course)

    heading(6, steps, "Export: the grades as CSV, for the LMS or a spreadsheet")
    csv_path = course / GRADES
    autograder_step("export", ASSIGNMENT, "--output", _shown(csv_path), course=course)

    heading(7, steps, "Report: the class at a glance")
    report_html = course / "reports" / f"{ASSIGNMENT}.html"
    autograder_step("report", ASSIGNMENT, course=course)

    print("\n" + summary(course, handins))
    print(f"\nDone in {time.monotonic() - started:.0f} s.")
    print(f"  report:     {_shown(report_html)}")
    print(f"  feedback:   {_shown(course / 'feedback')}/<student id>/{ASSIGNMENT}/{ASSIGNMENT}.html")
    print(f"  grades:     {_shown(csv_path)}")
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
