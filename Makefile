# Two commands a newcomer needs: `make demo` and `make test`. Both build the
# environment first (.venv, pinned by constraints.txt: torch 2.13.0 CPU).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast release badges check bench lint clean sandbox

# The grader runs student code inside bubblewrap (Debian package `bubblewrap`).
# As root on Debian/Ubuntu it is installed here; otherwise install it yourself.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "bubblewrap is missing: install it (sudo apt-get install bubblewrap) to run the grader's tests"; exit 1; \
	  fi; }

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11, 5))' || { \
	  echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); the pinned dependencies need 3.11.5 or newer: run make PYTHON=python3.12 (or another)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Regenerate the student release, then play a whole class in demo/ (wiped first):
# a dozen hand-ins (correct, partial, blank, Colab, Kaggle, renamed, a crash, an
# endless loop, a cheat, a PDF) in a Moodle zip, run through `autograder collect`,
# `grade` (sandboxed: needs bubblewrap; rootless as you, faster as root), `feedback`, `export` and `report`.
# A few minutes; open demo/reports/03_accumulation.html afterwards.
demo: $(STAMP) sandbox
	$(PY) -m autograder release
	$(PY) -m autograder.course.demo

test: $(STAMP) sandbox
	$(PY) -m pytest

# The quick part of the suite: no kernels, no nbgrader runs.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

release: $(STAMP)
	$(PY) -m autograder release

# make badges REPO=owner/name [BRANCH=main]
badges: $(STAMP)
	$(PY) -m autograder badges $(if $(REPO),--repository $(REPO)) $(if $(BRANCH),--branch $(BRANCH))

# Timings, by hand (not in CI: the machines are shared and noisy).
bench: $(STAMP) sandbox
	$(PY) bench/notebook_times.py
	$(PY) bench/grade_profile.py
	$(PY) bench/grade_speed.py

lint: $(STAMP)
	$(PY) -m ruff check autograder tests bench

clean:
	rm -rf $(VENV) gradebook.db submitted autograded feedback solution
