"""The course's layout: its topics, where their notebooks live, and the two
cells every student-facing notebook starts with (badges and setup)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomllib

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    # APIs a lesson and an assignment on this topic must both use: the
    # coverage test reads them, so a topic cannot quietly lose its subject.
    must_use: tuple[str, ...]
    # APIs only the lesson must use: what it teaches that the exercises do not grade.
    lesson_uses: tuple[str, ...] = ()

    @property
    def lesson(self) -> str:
        return f"notebooks/{self.slug}.ipynb"

    @property
    def source(self) -> str:
        return f"source/{self.slug}/{self.slug}.ipynb"

    @property
    def release(self) -> str:
        return f"release/{self.slug}/{self.slug}.ipynb"


TOPICS: tuple[Topic, ...] = (
    Topic("01_requires_grad", "requires_grad and the graph",
          ("requires_grad", "is_leaf", "grad_fn", "next_functions", "detach")),
    Topic("02_backward", "backward and torch.autograd.grad",
          ("backward", "retain_grad", "torch.autograd.grad", "gradcheck")),
    Topic("03_accumulation", "Accumulation of gradients",
          ("backward", "zero_", "zero_grad")),
    Topic("04_retain_graph", "retain_graph",
          ("retain_graph", "RuntimeError"),
          ("torch.utils.checkpoint", "save_on_cpu", "saved_tensors_hooks")),
    Topic("05_no_grad", "Switching autograd off",
          ("no_grad", "inference_mode", "requires_grad_(False)", "eval()")),
    Topic("06_higher_order", "create_graph and higher-order derivatives",
          ("create_graph", "torch.func")),
    Topic("07_capstone", "Capstone: gradient descent and a reverse-mode engine",
          ("backward", "Value"),
          ("sum_to_size",)),
    Topic("08_extending_autograd", "Extending autograd: custom Functions",
          ("torch.autograd.Function", "setup_context", "save_for_backward", "gradcheck"),
          ("needs_input_grad", "mark_non_differentiable", "mark_dirty", "once_differentiable", "gradgradcheck",
           "float64")),
    Topic("09_hooks_debugging", "Hooks and debugging",
          ("register_hook", "detect_anomaly", "clip_grad_norm_", "torch.where"),
          ("register_post_accumulate_grad_hook", "register_full_backward_hook", "clip_grad_value_", "_version")),
    Topic("10_forward_mode", "Forward mode and Jacobians",
          ("torch.func", "jvp", "jacfwd", "jacrev", "vmap", "functional_call"),
          ("forward_ad", "make_dual", "unpack_dual", "vjp")),
)


def topic(slug: str) -> Topic:
    for t in TOPICS:
        if t.slug == slug:
            return t
    known = ", ".join(t.slug for t in TOPICS)
    raise KeyError(f"no topic {slug!r}; the course has: {known}")


@dataclass(frozen=True)
class Repository:
    """Where students open the notebooks from (the badges point here)."""

    name: str  # owner/name on GitHub
    branch: str


def repository_setting(root: Path = REPO_ROOT) -> Repository:
    """The one setting all badge URLs come from: [tool.autograder] in pyproject.toml."""
    with open(root / "pyproject.toml", "rb") as f:
        settings = tomllib.load(f)["tool"]["autograder"]
    return Repository(settings["repository"], settings["branch"])


BADGES_TAG = "badges"
SETUP_TAG = "setup"


def student_path(notebook: str) -> str:
    """The path students open: an assignment's source notebook is opened as its release."""
    if notebook.startswith("source/"):
        return "release/" + notebook[len("source/"):]
    return notebook


def badges_markdown(notebook: str, repo: Repository) -> str:
    path = student_path(notebook)
    github = f"github/{repo.name}/blob/{repo.branch}/{path}"
    colab = f"https://colab.research.google.com/{github}"
    kaggle = f"https://kaggle.com/kernels/welcome?src=https://github.com/{repo.name}/blob/{repo.branch}/{path}"
    return (
        f'<a href="{colab}" target="_blank">'
        '<img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a> '
        f'<a href="{kaggle}" target="_blank">'
        '<img src="https://kaggle.com/static/images/open-in-kaggle.svg" alt="Open In Kaggle"/></a>'
    )


# The first code cell of every lesson and assignment. It must run unchanged in
# Colab, Kaggle and a local Jupyter, and in the grader's sandbox (no network:
# there everything is already installed, so pip is never called).
SETUP_SOURCE = '''\
# Setup: runs in Colab, Kaggle (internet on or off) and local Jupyter; installs only what is missing.
import importlib.util
import subprocess
import sys

for package in ("icecream", "matplotlib"):
    if importlib.util.find_spec(package) is None:
        # Offline (Kaggle with internet off) pip fails: go on, with the stand-in for ic below.
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=False)

import matplotlib.pyplot as plt
import torch

try:
    from icecream import ic
    ic.configureOutput(prefix="ic| ", outputFunction=print)  # to stdout, with the cell's other output
except ImportError:  # icecream could not be installed: print the values, as ic does, without their names
    def ic(*values):
        print("ic|", *values)
        return values[0] if len(values) == 1 else (values or None)

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
print(f"torch {torch.__version__} on {DEVICE}")'''
