# Every target installs what it needs into .venv first (pip; torch comes from the local wheels where present).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-slow test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install almlit with its dev tools

demo: $(STAMP)  ## train BCE and ALM+BCE on the embedded digits data and print their test metrics
	$(PY) -m almlit.demo

test: $(STAMP)  ## the fast suite (CPU, offline, a few minutes)
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)  ## the longer end-to-end tests
	$(PY) -m pytest -q -m slow

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache
