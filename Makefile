# photoscrape + faces: the everyday commands. Every target creates the
# virtual environment and installs the pinned requirements first if needed.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test demo clean-venv

install: $(STAMP)

# Reinstall when a requirements file changes; `pip check` keeps the set consistent.
$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required; set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip check
	@touch $(STAMP)

test: install
	$(PY) -m pytest

# Crawl the bundled demo site and find one person in it; output in demo-output/ (see demo/README.md).
demo: install
	$(PY) -m demo.run

clean-venv:
	rm -rf $(VENV)
