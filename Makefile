# The two commands of the README: `make book` and `make test`. Both set everything up first.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The test suite and the book run many small matmuls; OpenBLAS threads only fight over the two cores there.
# (make bench leaves the thread count alone: it measures the machine.)
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: help setup test lint format pytest bench

help:
	@echo "make book        build the website into _build/html (sets up .venv first)"
	@echo "make test        set up, then run every test (lint, rnn_ref, the book, the exercises, grading)"
	@echo "make bench       rnn_ref against a naive implementation and torch.nn, forward + backward (~15 min;"
	@echo "                 BENCH_ARGS=--quick for a 1-minute smoke run, see README: Performance)"
	@echo "make release     regenerate exercises/ from solutions/ (nbgrader generate_assignment)"
	@echo "make grade-demo  grade a few sample submissions and print the grade table"
	@echo "make grading-setup   install bubblewrap and check the grading sandbox"
	@echo "make grade A=04_lstm grade submitted/*/04_lstm safely (sandbox + trusted judge); reports/04_lstm.html"
	@echo "make class-report    reports/class.html: what the class got wrong, every graded assignment"

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

# RNN_REQUIRE_TORCH and RNN_REQUIRE_BOOK turn a missing oracle or an unbuilt site from a visible skip into a
# failure, so that `make test` can never pass with part of the evidence silently missing.
pytest: setup
	RNN_REQUIRE_TORCH=1 RNN_REQUIRE_BOOK=1 $(PY) -m pytest $(PYTEST_ARGS)

# Every test: lint first (fast), then the strict book build the site tests need, then the whole suite.
test: setup
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory chromium
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory pytest

bench: setup
	# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, where the machine sets them, pin an older kernel: measure NumPy as it
	# runs by default (threadpoolctl in the output says which kernel it picked).
	env -u OPENBLAS_NUM_THREADS -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench.py $(BENCH_ARGS)

# book, chromium, book-test (make/book.mk); release, grade-demo (make/exercises.mk); grading (make/grading.mk)
include $(wildcard make/*.mk)
