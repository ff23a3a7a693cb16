"""The repository around the course: environments agree, CI runs the README's command,
notebooks are committed clean."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
import tomllib
import yaml
from helpers import committed_notebooks
from packaging.requirements import Requirement

from autograder.course.topics import REPO_ROOT

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements(repo_root) -> dict[str, str]:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    # Markers (python_version and the like) do not exist in conda: its env pins Python.
    return {_normalise(r.name): str(r.specifier) for r in reqs if r.marker is None}


def conda_requirements(repo_root) -> dict[str, str]:
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    found = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict) or dep.split(">")[0].split("=")[0] in ("python", "pip"):
            continue
        req = Requirement(dep)
        found[_normalise(CONDA_NAMES.get(req.name, req.name))] = str(req.specifier)
    return found


def test_environment_yml_has_the_same_dependencies_as_pyproject(repo_root):
    assert conda_requirements(repo_root) == pyproject_requirements(repo_root)


def test_environment_yml_installs_the_package_itself(repo_root):
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_section and "-e ." in pip_section[0]["pip"]


def test_make_pins_the_cpu_build_of_torch(repo_root):
    lines = (repo_root / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in lines
    makefile = (repo_root / "Makefile").read_text()
    assert "-c constraints.txt" in makefile


def test_every_pyproject_dependency_is_pinned_in_the_lock(repo_root):
    pinned = {_normalise(line.split("==")[0]) for line in (repo_root / "constraints.txt").read_text().splitlines()
              if "==" in line}
    missing = set(pyproject_requirements(repo_root)) - pinned
    assert not missing, f"add these to constraints.txt: {sorted(missing)}"


def test_ci_runs_the_readme_test_command(repo_root):
    assert "make test" in (repo_root / ".ci" / "run").read_text()
    readme = (repo_root / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.name)
def test_notebook_is_valid_and_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


def test_code_is_ruff_clean(repo_root):
    import subprocess

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "autograder", "tests", "bench"],
                          cwd=repo_root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- the Python floor


def _lock_installs_on(python_version: str, tmp_path) -> subprocess.CompletedProcess:
    """pip's resolver, run as for a machine with that Python, on every pinned wheel (torch aside:
    the CPU build comes from the machine's own index, not PyPI)."""
    pins = [line for line in (REPO_ROOT / "constraints.txt").read_text().splitlines()
            if line and not line.startswith(("#", "torch=="))]
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "lock.txt").write_text("\n".join(pins) + "\n")
    return subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--only-binary=:all:", "--python-version", python_version, "--target",
                           str(tmp_path / "target"), "-r", str(tmp_path / "lock.txt")],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_the_lock_installs_on_the_python_floor_the_project_states_and_not_below(tmp_path):
    floor = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert floor == ">=3.11.5"
    assert "Python 3.11.5+" in (REPO_ROOT / "README.md").read_text()
    assert "python>=3.11.5" in (REPO_ROOT / "environment.yml").read_text()
    at_floor = _lock_installs_on("3.11.5", tmp_path / "floor")
    assert at_floor.returncode == 0, at_floor.stderr[-3000:]
    below = _lock_installs_on("3.11.4", tmp_path / "below")
    assert below.returncode != 0 and "Requires-Python" in below.stderr, below.stderr[-3000:]
