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
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Regenerate the student release, then run every lesson and autograde every
# assignment twice with nbgrader: the solution (full marks) and the blank release (zero).
demo: $(STAMP)
	$(PY) -m autograder release
	$(PY) -m autograder check

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

bench: $(STAMP)
	$(PY) bench/notebook_times.py

lint: $(STAMP)
	$(PY) -m ruff check autograder tests bench

clean:
	rm -rf $(VENV) gradebook.db submitted autograded feedback solution
