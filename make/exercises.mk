# The nbgrader exercises. Included by the Makefile (`include make/exercises.mk`); uses its VENV, PY and setup.
#
#   make notebooks      solutions/ from the authoring sources in exercises_src/
#   make release        exercises/ from solutions/ (nbgrader generate_assignment), after make notebooks
#   make validate       nbgrader validate: the solutions pass, the release fails every test
#   make autograde A=02_bptt      grade submitted/<student>/02_bptt/02_bptt.ipynb for every student
#   make feedback A=02_bptt       feedback/<student>/02_bptt/02_bptt.html
#   make grades         grades.csv: one row per student and assignment
#   make grade-demo     sample submissions graded in a throwaway copy of the course; prints the table
#
# nbgrader runs `alembic` from the PATH, hence the venv's bin first.

EXERCISES := 01_rnn_cell 02_bptt 03_vanishing_exploding 04_lstm 05_gru 06_peephole \
	07_bidirectional 08_lstm_gates 09_bilstm 10_bigru
NBGRADER := PATH="$(abspath $(VENV))/bin:$$PATH" $(abspath $(VENV))/bin/nbgrader
A ?=

.PHONY: notebooks release validate autograde feedback grades grade-demo

notebooks: setup
	$(PY) scripts/make_notebooks.py

release: notebooks
	$(NBGRADER) generate_assignment '*' --force --log-level=WARN
	@echo "exercises/ regenerated from solutions/: review with git diff, then commit both"

validate: setup
	$(NBGRADER) validate solutions/*/*.ipynb
	$(NBGRADER) validate --invert exercises/*/*.ipynb

autograde: setup
	@test -n "$(A)" || { echo "usage: make autograde A=<assignment>, e.g. A=02_bptt"; exit 2; }
	$(NBGRADER) autograde "$(A)"

feedback: setup
	@test -n "$(A)" || { echo "usage: make feedback A=<assignment>, e.g. A=02_bptt"; exit 2; }
	$(NBGRADER) generate_feedback "$(A)"

grades: setup
	$(NBGRADER) export --to grades.csv
	@echo "wrote grades.csv"

grade-demo: setup
	$(PY) scripts/grade_demo.py $(A)
