"""A class of hand-ins of one assignment, made the way real students make them.

For `make demo` and the tests of the grader: each `HandIn` is one student's
Moodle upload of `03_accumulation` (correct in two styles, partly done, blank,
saved by Colab or Kaggle, renamed by the browser, test cells deleted or moved,
a crash, an endless loop, a cheat, a PDF instead of the notebook, a late one),
built from the release and the instructor's source, and packed as Moodle's
"Download all submissions" zip with the grading worksheet Moodle gives beside it
(the hand-in times the zip lacks).

Not for: running anything. Nothing here grades, starts a kernel or touches a
course folder; `autograder.course.demo` does that with what this builds.
"""

from __future__ import annotations

import copy
import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..cells import grade_id, index_of

ASSIGNMENT = "03_accumulation"  # the quickest of the seven to grade: small tensors, no plots
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

ANSWERS = ("accumulate_backward", "train_step", "params_without_grad", "accumulated_gradient")
WRITTEN = "written_scaling"

DUE = "2026-03-01 23:59:00 UTC"  # the assignment's deadline in the demo's gradebook
LATE_HAND_IN = "Monday, 2 March 2026, 9:15 AM"  # the day after

# A second student's correct code, in a style of their own.
OTHER_CORRECT = {
    "accumulate_backward": (
        "PREDICTED = dict(three_passes=12, two_losses=16, cleared_in_loop=4, kept_reference=8,\n"
        "                 reference_then_none=4, non_leaf=None)\n"
        "\n"
        "\n"
        "def accumulate_backward(f, x, k):\n"
        "    snapshots = []\n"
        "    for _ in range(k):\n"
        "        loss = f(x)\n"
        "        loss.backward()  # adds into x.grad\n"
        "        snapshots.append(x.grad.detach().clone())\n"
        "    return snapshots"
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
        "    none, zeros = [], []\n"
        "    for name, p in model.named_parameters():\n"
        "        if p.grad is None:\n"
        "            none.append(name)\n"
        "        elif torch.count_nonzero(p.grad) == 0:\n"
        "            zeros.append(name)\n"
        "    return sorted(none), sorted(zeros)"
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
    handed_in: str = "Sunday, 1 March 2026, 10:00 AM"  # as Moodle's grading worksheet writes it (UTC here)

    @property
    def folder(self) -> str:
        """Moodle's "Download all submissions" folder of this student."""
        return f"{self.name}_{self.participant}_assignsubmission_file_"


def honest_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """The instructor's solutions as a student would write them: no solution markers."""
    found = {}
    for cell in source.cells:
        gid = grade_id(cell)
        if gid in ANSWERS:
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            found[gid] = "\n".join(lines)
    missing = set(ANSWERS) - set(found)
    if missing:
        raise ValueError(f"source/{ASSIGNMENT} has no answer cells {sorted(missing)}: the demo needs updating")
    return found


def filled(release: nbformat.NotebookNode, answers: dict[str, str], written: str | None = None
           ) -> nbformat.NotebookNode:
    """The release with some answer cells written; the others left as the release has them."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = grade_id(cell)
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
        meta = {} if grade_id(cell) in strip else cell["metadata"]
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
    del nb.cells[index_of(nb.cells, "test_params_without_grad")]
    test = nb.cells.pop(index_of(nb.cells, "test_accumulate_backward"))
    nb.cells.insert(index_of(nb.cells, "accumulate_backward"), test)
    return nb


def _bytes(nb: nbformat.NotebookNode | str) -> bytes:
    return (nb if isinstance(nb, str) else nbformat.writes(nb)).encode()


def build_class(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[HandIn]:
    """About a dozen students, each handing in what real students hand in."""
    right = honest_answers(source)
    correct = filled(release, right, STUDENT_ANSWER)
    first_two = {gid: right[gid] for gid in ANSWERS[:2]}

    def one(name, participant, kind, expect, content, file_name=NOTEBOOK, handed_in=HandIn.handed_in):
        return HandIn(name, participant, kind, expect, ((file_name, _bytes(content)),), handed_in)

    return [
        one("Amelia Hart", "418201", "correct", "correct, saved by Jupyter: full marks", correct),
        one("Omar Haddad", "418202", "correct",
            "correct, in a style of his own, but a day late: nbgrader's late penalty takes it all",
            filled(release, OTHER_CORRECT, STUDENT_ANSWER), handed_in=LATE_HAND_IN),
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


def write_moodle_worksheet(handins: list[HandIn], path: Path) -> Path:
    """Moodle's grading worksheet of the assignment (Grading action > Download grading worksheet): what
    `collect --worksheet` reads the hand-in times from, as Moodle writes it (English, the user's zone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                         "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                         "Feedback comments"])
        for h in handins:
            email = h.name.split()[0].lower() + f".{h.participant}@student.example"
            writer.writerow([f"Participant {h.participant}", h.name, email, "Submitted for grading", "", "15.00",
                             "Yes", h.handed_in, "-", ""])
    return path
