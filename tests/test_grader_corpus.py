"""The hostile corpus, graded in one batch with honest students: no point stolen, nothing broken, all explained.

One throwaway copy of the course (``01_rnn_cell``), every case of
``tests/hostile/corpus.py`` submitted into it, one run of the grading command
with tight limits.  Then:

* every submission gets exactly the points its case expects: honest students
  keep theirs, tricks that give plain nbgrader full marks earn nothing, a cell
  that kills the kernel costs only what it defines;
* broken submissions are quarantined with their reason, and none of their
  code ran (they have no autograded notebook and no grades);
* the gradebook is intact (SQLite integrity check, the assignment's cells
  unchanged), and so are the course files;
* nothing the sandbox must hide (the solutions, the gradebook, the grader's
  environment) appears in any autograded notebook or feedback;
* every lost point has a reason, every killed run names its cell, and the
  hostile submissions are listed for a human look;
* no process of the batch outlives it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3

import pytest
from hostile.corpus import CASES, write_corpus
from hostile.course import make_course, require_sandbox, tight_limits
from hostile.inert_check import active_html, assert_inert_markdown_report

from grader.text import is_printable_name, plain

ASSIGNMENT = "01_rnn_cell"
SECRET = "the-grader-environment-must-not-leak-7d1f"

pytestmark = pytest.mark.slow


def _digest(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _cells_of_the_assignment(db):
    with sqlite3.connect(db) as connection:
        return sorted(
            connection.execute("SELECT name, cell_type, locked, source, checksum FROM source_cell").fetchall()
        )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course, the report and the state of the gradebook before and after one batch of every case."""
    from grader.course import Course
    from grader.pipeline import Grader

    sandbox = require_sandbox(tight_limits())
    course_dir = make_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    write_corpus(course_dir, ASSIGNMENT)
    before = {
        "cells": _cells_of_the_assignment(course_dir / "gradebook.db"),
        "solutions": _digest(course_dir / "solutions"),
        "exercises": _digest(course_dir / "exercises"),
    }
    os.environ["RNN_GRADER_TEST_SECRET"] = SECRET
    grader = Grader(Course.load(course_dir), ASSIGNMENT, sandbox, jobs=2, log=lambda line: None)
    try:
        report = grader.grade(feedback=True)
        workdir = str(grader.workdir)
    finally:
        grader.close()
        del os.environ["RNN_GRADER_TEST_SECRET"]
    return course_dir, report, before, workdir


def _rows(report, student):
    return [row for row in report.rows if row.student == student]


def _summary(report, student):
    return next(s for s in report.students if s.student == student)


def test_corpus_is_large_enough_and_graded_in_one_batch(graded):
    _, report, _, _ = graded
    assert len([c for c in CASES if not c.honest]) >= 20
    assert sorted(s.student for s in report.students) == sorted(c.name for c in CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c.expect is not None], ids=lambda c: c.name)
def test_every_case_gets_exactly_its_points(graded, case):
    """No point stolen; honest answers keep theirs; a killer cell costs only what it defines."""
    _, report, _, _ = graded
    rows = _rows(report, case.name)
    assert [row.status for row in rows if row.status in ("quarantined", "error")] == []
    got = tuple(row.points / row.max_points for row in rows)
    assert got == case.expect, [(row.grade_id, row.points, row.reason[:300]) for row in rows]


@pytest.mark.parametrize("case", [c for c in CASES if c.expect is None], ids=lambda c: c.name)
def test_broken_submissions_are_quarantined_with_their_reason(graded, case):
    course_dir, report, _, _ = graded
    summary = _summary(report, case.name)
    assert summary.quarantined, f"{case.name} was graded"
    assert case.reason in " ".join(summary.quarantined).lower(), summary.quarantined
    assert all(row.status == "quarantined" and row.points is None for row in _rows(report, case.name))
    assert not (course_dir / "autograded" / case.name).exists(), "a quarantined submission must not run"


@pytest.mark.parametrize("case", [c for c in CASES if c.review], ids=lambda c: c.name)
def test_hostile_submissions_need_a_human_look_and_say_why(graded, case):
    _, report, _, _ = graded
    summary = _summary(report, case.name)
    assert summary.needs_review
    assert case.name in {s.student for s in report.review()}
    if case.reason:
        text = " ".join(summary.quarantined + summary.deaths + summary.restored).lower()
        assert case.reason in text, text


def test_every_killed_run_names_the_cell_or_call(graded):
    _, report, _, _ = graded
    deaths = [(summary.student, death) for summary in report.students for death in summary.deaths]
    assert deaths
    for student, death in deaths:
        # a run whose events name no cell of the notebook (forged by the student) is the runner's
        forged = student in ("carries_the_reference_out", "forges_the_steps", "forged_death")
        # a run never started, the student's time budget being spent, has no cell to name: it names the budget
        assert (
            " cell " in death
            or "a call of" in death
            or "time budget" in death
            or (forged and "the grader's runner" in death)
        ), death
        # a cell index comes from the grader's own list of cells: a forged one (which can carry any data) is not
        # repeated in the report
        assert not re.search(r"\d{7}", death), death[:200]


def test_every_lost_point_has_a_reason(graded):
    _, report, _, _ = graded
    for row in report.rows:
        if row.points is None or row.points < row.max_points:
            assert row.reason.strip(), row


def test_honest_students_are_not_flagged(graded):
    _, report, _, _ = graded
    for case in CASES:
        if case.honest:
            summary = _summary(report, case.name)
            assert not summary.flags and not summary.deaths and not summary.quarantined, summary


def test_gradebook_and_course_files_are_intact(graded):
    from nbgrader.api import Gradebook, MissingEntry

    course_dir, report, before, _ = graded
    with sqlite3.connect(course_dir / "gradebook.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert _cells_of_the_assignment(course_dir / "gradebook.db") == before["cells"]
    assert _digest(course_dir / "solutions") == before["solutions"]
    assert _digest(course_dir / "exercises") == before["exercises"]
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for case in CASES:
            if case.expect is None:
                if not is_printable_name(case.name):
                    continue  # not even a valid query: such an id cannot be in the gradebook
                with pytest.raises(MissingEntry):
                    gb.find_submission(ASSIGNMENT, case.name)
                continue
            submission = gb.find_submission(ASSIGNMENT, case.name)
            expected = sum(row.points for row in _rows(report, case.name))
            assert submission.score == pytest.approx(expected)


def test_nothing_secret_reaches_a_notebook_or_the_feedback(graded):
    """The solutions, the gradebook and the grader's environment stay out of what the students get back."""
    course_dir, _, _, _ = graded
    solution_text = json.loads((course_dir / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    hidden_solution_line = next(
        line.strip()
        for cell in solution_text["cells"]
        for line in "".join(cell["source"]).splitlines()
        if "### BEGIN SOLUTION" in line
    )
    produced = list((course_dir / "autograded").rglob("*.ipynb")) + list((course_dir / "feedback").rglob("*.html"))
    assert len(produced) >= 2 * len([c for c in CASES if c.expect is not None])
    for path in produced:
        text = path.read_text(errors="replace")
        assert hidden_solution_line not in text, path
        assert "SQLite format 3" not in text, path
        assert SECRET not in text, path
    read = (course_dir / "autograded" / "read_solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "cannot read" in read  # the attempt ran and failed


def test_no_process_outlives_the_batch(graded):
    _, _, _, workdir = graded
    leftovers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    cmdline = file.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if workdir in cmdline:
                leftovers.append(cmdline[:200])
    assert leftovers == []


# --- area C: the batch survives any student, and the feedback is inert ---------------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if c.reason], ids=lambda c: c.name)
def test_every_case_says_why_in_the_report(graded, case):
    """Quarantines, deaths, cells restored from the source and notes each name their cause."""
    _, report, _, _ = graded
    summary = _summary(report, case.name)
    text = " ".join(summary.quarantined + summary.deaths + summary.restored + summary.notes).lower()
    assert case.reason in text, text


def test_the_report_is_whole_and_says_only_what_the_grader_says(graded, tmp_path):
    """Student text (ids, file names, messages, forged events) cannot add a heading, a row, a comment or a formula."""
    _, report, _, _ = graded
    md_path, csv_path, json_path = report.write(tmp_path)
    for path in (md_path, csv_path, json_path):
        text = path.read_bytes().decode("utf-8")  # valid UTF-8: no lone surrogate reached the file
        assert not any(c in text for c in "\x00\x1b\x07\u202e"), path
    assert_inert_markdown_report(md_path.read_text(encoding="utf-8"), report)
    with open(csv_path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 1 + len(report.rows)
    assert all(not field.startswith(("=", "+", "-", "@")) for row in rows for field in row)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [s["student"] for s in data["students"]] == [plain(s.student, 4000, one_line=False) for s in report.students]


def test_feedback_files_hold_no_active_html(graded):
    """Every feedback page has the template's two MathJax scripts and nothing active of the student's."""
    course_dir, _, _, _ = graded
    pages = sorted((course_dir / "feedback").rglob("*.html"))
    assert pages
    baseline = active_html((course_dir / "feedback" / "honest_correct" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
    assert len(baseline["scripts"]) == 2 and not baseline["handlers"] and not baseline["urls"]
    for page in pages:
        found = active_html(page.read_text(encoding="utf-8"))
        assert found["scripts"] == baseline["scripts"], page
        assert found["elements"] == baseline["elements"], page
        assert not found["handlers"] and not found["urls"], (page, found)


def test_every_graded_student_has_feedback(graded):
    course_dir, report, _, _ = graded
    for summary in report.students:
        if not summary.quarantined and not summary.error:
            assert not summary.feedback, summary
            assert (course_dir / "feedback" / summary.student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_a_sleeper_costs_at_most_its_time_budget(graded):
    """Sleeping just under every limit in every cell and call costs one student's budget, not hours (area B)."""
    _, report, _, _ = graded
    budget = tight_limits().student_seconds
    sleeper = _summary(report, "sleeper")
    assert any("time budget" in death for death in sleeper.deaths), sleeper.deaths
    assert sleeper.seconds <= budget + 20, sleeper.seconds  # the runs themselves; the rest is the grader's own work


@pytest.mark.parametrize("student", ["scan_deep_bomb", "scan_chain_bomb"])
def test_a_cell_too_deep_to_compile_is_an_error_of_that_cell_not_a_dead_run(graded, student):
    """Python cannot parse 40000 nested operators (MemoryError, RecursionError): the cell fails, nothing dies."""
    _, report, _, _ = graded
    assert _summary(report, student).deaths == []
