r"""rnn_checks: what each graded function of the exercises is, and how a result is checked and explained.

The exercises of the course ask students to write functions of :mod:`rnn_ref`
themselves (``lstm.input_gate``, ``rnn.rnn_backward``, ...).  This package
knows, for each of them, how to draw its inputs (sizes, dtypes, variants, a
cache made by the reference forward for a backward pass), what it returns,
which other functions of :mod:`rnn_ref` it builds on or may call, how to
compare a result with the reference's, and how to explain a failure: which
output and entry differ, the typical mistake that would give the student's
numbers, and which term is wrong when run one term at a time.

It serves two sides, through this public API only.

**The notebooks' test cells** (the student's code runs in the notebook's own
process)::

    import rnn_checks

    rnn_checks.check_example(fn, "rnn.rnn_step_forward", args=(...), expected={"h": ...})
    rnn_checks.check(fn, "rnn.rnn_step_forward")    # visible random cases, values shown
    rnn_checks.grade(fn, "rnn.rnn_step_forward")    # hidden cases, no values shown

=====================  ==========================================================
``check_example``      the function on a case worked out by hand in the notebook
``check``, ``grade``   the function against the reference on random cases
``assert_close``       one array against another, naming the worst entry
``GradingFailure``     the AssertionError they raise, with the whole message
=====================  ==========================================================

**A judge**, which runs the student's code elsewhere (a sandbox) and gets back
its results as data; nothing here runs the student's code:

=====================  ==========================================================
``SPECS``, ``spec``    the graded functions by key, and one :class:`Spec`:
                       ``outputs``, ``builds_on`` (helpers bound to the
                       reference while it is graded), ``allowed`` (what of
                       rnn_ref it may call besides ``ALWAYS_ALLOWED``)
``judge_cases``        the cases of a function from a seed (visible and hidden sizes)
``timed_case``         the large case on which a function that returns gradients is
                       timed (None for the others)
``expected_outputs``   the reference's outputs on a case
``conventions``        what the reference of a helper expects of its arguments (for
                       calling it the way the student's code calls its own)
``isolated_cases``     a case with one term at a time (only the bias, ...)
``run_of``             a :class:`Run` from a result reported as data, compared
``choose``             the attempt that counts among those of one case
``explain``            the message of a failing function (likely mistake, what differs)
``explained_case``     the failing case whose one-term-at-a-time runs ``explain`` uses
``mistakes_of``        the recognized mistakes of a failing function, as data
                       (``id``, ``hint``, ``section`` of the book), for a class report
``calls_message``      the message for a function that calls the reference
``right``              whether a one-term-at-a-time run was right
=====================  ==========================================================

Inside: :mod:`rnn_checks.specs` (one module per chapter group),
:mod:`rnn_checks.cases`, :mod:`rnn_checks.compare`, :mod:`rnn_checks.outcome`,
:mod:`rnn_checks.mistakes` (the catalogue of typical mistakes, one module per
chapter group), :mod:`rnn_checks.report` (the message),
:mod:`rnn_checks.running` (running in this process, for the notebooks),
:mod:`rnn_checks.adapter` (the reference's helpers, called the student's way),
:mod:`rnn_checks.notebook` and :mod:`rnn_checks.judge` (the two sides).

Imports go one way: ``rnn_ref`` <- ``rnn_checks`` <- ``grader``.  This package
imports :mod:`rnn_ref` (public names only) and NumPy; it never imports
``grader``, and :mod:`rnn_ref` never imports it.
"""

from .judge import (
    calls_message,
    choose,
    conventions,
    expected_outputs,
    explain,
    explained_case,
    isolated_cases,
    judge_cases,
    mistakes_of,
    right,
    run_of,
    timed_case,
)
from .notebook import GradingFailure, assert_close, check, check_example, grade
from .outcome import Raised, Run
from .specs import ALWAYS_ALLOWED, SPECS, Spec
from .specs import spec_of as spec

__all__ = [
    "ALWAYS_ALLOWED",
    "GradingFailure",
    "Raised",
    "Run",
    "SPECS",
    "Spec",
    "assert_close",
    "calls_message",
    "check",
    "check_example",
    "choose",
    "conventions",
    "expected_outputs",
    "explain",
    "explained_case",
    "grade",
    "isolated_cases",
    "judge_cases",
    "mistakes_of",
    "right",
    "run_of",
    "spec",
    "timed_case",
]
