"""Rewrite the "Open in Colab / Kaggle" badges of every student-facing notebook
from the one repository setting in pyproject.toml."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .topics import BADGES_TAG, REPO_ROOT, Repository, badges_markdown, repository_setting

NOTEBOOK_GLOBS = ("notebooks/*.ipynb", "source/*/*.ipynb", "release/*/*.ipynb")


def badge_notebooks(root: Path) -> list[Path]:
    return sorted(p for pattern in NOTEBOOK_GLOBS for p in root.glob(pattern))


def badge_cell(nb: nbformat.NotebookNode):
    for cell in nb.cells:
        if BADGES_TAG in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def rewrite_badges(root: Path = REPO_ROOT, repo: Repository | None = None) -> list[Path]:
    """Point every badge at `repo` (default: the setting). Returns the notebooks changed."""
    repo = repo or repository_setting(root)
    changed = []
    for path in badge_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        cell = badge_cell(nb)
        if cell is None:
            raise ValueError(
                f"{path.relative_to(root)} has no badge cell (a markdown cell tagged "
                f"'{BADGES_TAG}'); add one at the top and run this again"
            )
        wanted = badges_markdown(path.relative_to(root).as_posix(), repo)
        if cell.source != wanted:
            cell.source = wanted
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def set_repository_setting(root: Path, repo: Repository) -> None:
    """Change [tool.autograder] repository/branch in pyproject.toml, keeping the rest as written."""
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    section = re.search(r"(?ms)^\[tool\.autograder\]\n(.*?)(?=^\[|\Z)", text)
    if section is None:
        raise ValueError(f"{pyproject} has no [tool.autograder] section to hold the repository")
    body = section.group(1)
    body = re.sub(r'(?m)^repository\s*=.*$', f'repository = "{repo.name}"', body)
    body = re.sub(r'(?m)^branch\s*=.*$', f'branch = "{repo.branch}"', body)
    pyproject.write_text(text[: section.start(1)] + body + text[section.end(1):])
