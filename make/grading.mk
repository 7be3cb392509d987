# Safe grading: student code in a sandbox, points from a trusted judge. Included by the Makefile
# (`include make/grading.mk`); uses its VENV, PY and setup.
#
#   make grading-setup          install bubblewrap (apt, as root) if missing, then check that the sandbox works
#   make grade A=04_lstm        grade submitted/*/04_lstm: gradebook, autograded/, feedback/, reports/04_lstm.md
#                               (and .csv, .json, and the class report reports/04_lstm.html)
#   make class-report           reports/class.html: every graded assignment (reports/*.json) on one page
#   make grading-test           the grader's tests (sandbox, judge, the hostile corpus, every assignment)
#   make grading-bench          100 submissions: this command against plain sequential `nbgrader autograde`
#   make scan-bench             the static scan on crafted cells (its bounds, measured)
#
# GRADE_ARGS adds options to `make grade`, e.g. GRADE_ARGS="--student alice --jobs 4".
# Including this file also makes `make pytest` set up the sandbox first and require it (RNN_REQUIRE_SANDBOX=1).

GRADE_ARGS ?=
GRADING_BENCH_ARGS ?=

.PHONY: grading-setup grade class-report grading-test grading-bench scan-bench

# Idempotent and quiet: nothing is installed when bwrap and the util-linux tools are there.
grading-setup: setup
	@if command -v bwrap >/dev/null 2>&1 && command -v prlimit >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "grading-setup: installing bubblewrap and util-linux (apt-get)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends bubblewrap util-linux >/dev/null; \
	else \
		echo "grading-setup: bubblewrap not found. Grading needs it: sudo apt-get install bubblewrap"; \
	fi
	@$(PY) -m grader check-sandbox || echo "grading-setup: the sandbox does not work here; grading will refuse to run"
# check-sandbox also says which walls hold here: the seccomp filter (x86_64, aarch64) and a cgroup per sandbox
# (where systemd-run can make one; otherwise a note, and book/instructors.md says how to get a hard total).

# `python -m grader grade` exits 3 when every submission was graded but some need a human look: that is a
# result, not a failure, so make says so and succeeds (any other non-zero status stays an error).
grade: grading-setup
	@test -n "$(A)" || { echo "usage: make grade A=<assignment>, e.g. A=04_lstm"; exit 2; }
	@status=0; PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grader grade "$(A)" $(GRADE_ARGS) || status=$$?; \
	if [ "$$status" = 3 ]; then \
		echo "make grade: every submission was graded; some need a human look (reports/$(A).md or .html)"; \
	elif [ "$$status" != 0 ]; then exit "$$status"; fi

class-report: setup
	$(PY) -m grader.classreport --class reports

grading-test: grading-setup
	RNN_REQUIRE_SANDBOX=1 $(PY) -m pytest tests/test_grader_wire.py tests/test_grader_views.py \
		tests/test_grader_scan.py tests/test_grader_seccomp.py tests/test_grader_sandbox.py \
		tests/test_grader_layouts.py tests/test_grader_corpus.py tests/test_grader_assignments.py

grading-bench: grading-setup
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) benchmarks/grading.py $(GRADING_BENCH_ARGS)

scan-bench: setup
	$(PY) benchmarks/scan.py

# `make test` runs the grader's tests with the rest: the sandbox must be set up, and present.
pytest: grading-setup
pytest: export RNN_REQUIRE_SANDBOX = 1
