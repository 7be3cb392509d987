# The two commands of the README: `make book` and `make test`. Both set everything up first.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup test lint format pytest

help:
	@echo "make book   build the website into _build/html (sets up .venv first)"
	@echo "make test   set up, then run every test (lint, package, book, exercises)"

# The virtual environment is (re)built when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,book,grade,browser,dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# RNN_REQUIRE_TORCH turns a missing torch from a visible skip into a failure.
pytest: setup
	RNN_REQUIRE_TORCH=1 $(PY) -m pytest

test: lint pytest
