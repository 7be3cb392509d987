"""Backward passes earn nothing without backpropagation: the hostile corpus of 08_lstm_gates in one batch.

The cases of ``OWN_WORK_CASES`` (tests/hostile/corpus.py): numerical differentiation of the reference's
forward and of an own forward (batched), a thread that takes the runner's place and answers the
grader's steps itself, automatic differentiation by torch; graded in one batch with an honest correct
student, an honest one with loops, and the blank release.  Every case gets exactly its points, and
each stolen point is refused for the reason the mechanism gives (the made-up cache of a step, the
timed case, or the hidden library), not by accident.
"""

from __future__ import annotations

import importlib.util

import pytest
from hostile.corpus import OWN_WORK_ASSIGNMENT, OWN_WORK_CASES, write_corpus
from hostile.course import make_course, require_sandbox, tight_limits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from grader.course import Course
    from grader.pipeline import Grader

    sandbox = require_sandbox(tight_limits())
    course = make_course(tmp_path_factory.mktemp("course"), [OWN_WORK_ASSIGNMENT])
    write_corpus(course, OWN_WORK_ASSIGNMENT, OWN_WORK_CASES)
    grader = Grader(Course.load(course), OWN_WORK_ASSIGNMENT, sandbox, jobs=2, log=lambda line: None)
    try:
        report = grader.grade(feedback=False)
        hidden = list(grader.judge.hidden)
    finally:
        grader.close()
    return report, hidden


def _rows(report, student):
    return [row for row in report.rows if row.student == student]


@pytest.mark.parametrize("case", OWN_WORK_CASES, ids=lambda c: c.name)
def test_every_case_gets_exactly_its_points(graded, case):
    report, _ = graded
    rows = _rows(report, case.name)
    got = tuple(row.points / row.max_points for row in rows)
    assert got == case.expect, [(row.grade_id, row.points, row.reason[:400]) for row in rows]


@pytest.mark.parametrize("case", [c for c in OWN_WORK_CASES if c.name.startswith("fd_")], ids=lambda c: c.name)
def test_numerical_differentiation_is_refused_by_the_made_up_cache_or_the_clock(graded, case):
    """The stolen points are refused for the mechanism's reason.

    A step's backward, by the cases whose cache was not computed from its x: differentiating the step computed
    again answers for other activations (and the message says to read the cache).  A sequence's backward, by the
    clock: the same code is right on every small case.
    """
    report, _ = graded
    for row in _rows(report, case.name):
        reason = " ".join(row.reason.split())
        if row.grade_id == "test_lstm_step_backward":
            assert "cached gates=not from x" in reason and "computes the step again" in reason, row.reason
        else:
            assert "timed case" in reason and "graded cases" in reason, row.reason


def test_the_runner_taken_over_answers_the_small_cases_but_not_the_timed_one(graded):
    report, _ = graded
    backward = next(row for row in _rows(report, "takes_over_the_runner") if row.grade_id == "test_lstm_backward")
    assert "timed case" in backward.reason, backward.reason


def test_the_clock_runs_outside_the_sandbox_and_a_slow_right_answer_is_refused(graded):
    report, _ = graded
    step = next(row for row in _rows(report, "slow_on_the_timed_case") if row.grade_id == "test_lstm_step_backward")
    took = float(step.reason.split(" took ")[1].split(" s ")[0])
    allowed = float(step.reason.split(" at most ")[1].split(" s ")[0])
    assert 4.0 <= took < 6.0 and allowed < took, step.reason


def test_autodiff_libraries_are_hidden_from_the_judge(graded):
    report, hidden = graded
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed here: nothing to hide")
    assert any(place.endswith("torch") for place in hidden), hidden
    step = next(row for row in _rows(report, "autodiff") if row.grade_id == "test_lstm_step_backward")
    assert "torch" in step.reason and "timed case" not in step.reason, step.reason


def test_honest_students_are_judged_without_a_death(graded):
    report, _ = graded
    for case in OWN_WORK_CASES:
        summary = next(s for s in report.students if s.student == case.name)
        assert not summary.error and not summary.quarantined, summary
        if case.honest:
            assert not summary.deaths, summary


def test_every_lost_point_has_a_reason(graded):
    report, _ = graded
    for row in report.rows:
        if row.points < row.max_points:
            assert row.reason.strip(), row
