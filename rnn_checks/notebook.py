r"""Grade a student's function against the reference in a notebook's test cell, with messages that help.

The exercise notebooks call three functions, each with the student's function
and the name of its reference in :mod:`rnn_ref`::

    import rnn_checks

    # a case worked out by hand: inputs and expected outputs written in the cell
    rnn_checks.check_example(rnn_step_forward, "rnn.rnn_step_forward",
                             args=(x, h_prev, params), expected={"h": h_by_hand})
    # random cases against the reference (visible tests: values are shown)
    rnn_checks.check(rnn_step_forward, "rnn.rnn_step_forward")
    # more random cases (hidden tests: values are withheld from the feedback)
    rnn_checks.grade(rnn_step_forward, "rnn.rnn_step_forward")

Each runs every case, then raises one :class:`GradingFailure` listing every
failure: which output or gradient, the index of its worst entry, expected
against got, the relative error, and the likely mistake.  The likely mistake
is found two ways:

* by recognizing typical mistakes (:mod:`rnn_checks.mistakes`): the student's
  output is compared with what sigmoid-for-tanh, a missing bias, transposed
  weights, a wrong gate order, ... would have produced on the same inputs;
* by isolating terms: the function is run again with only the bias, only the
  input or only the recurrent state nonzero, which tells which term is wrong.

Rules of the grade:

* inputs are random, over several sizes (``N = 1`` and ``T = 1`` among them),
  float64 and float32; a backward pass gets a cache made by the reference
  forward;
* the student's function receives copies, and must not modify them;
* while a function is graded, the functions of the notebook it builds on are
  the reference's (``lstm_forward`` runs with the reference
  ``lstm_step_forward``), so that one mistake costs points once; if it only
  works with the student's own versions, those are used;
* a function that is the reference, or calls it, earns nothing.

This module runs the student's code in the current process (through
:mod:`rnn_checks.running`) and is no sandbox; the judge of :mod:`grader`
grades the same way from a sandbox's data (:mod:`rnn_checks.judge`).
"""

from __future__ import annotations

import numpy as np

from . import mistakes
from .cases import Case, arrays, cases, reference_outputs
from .compare import compare_all, compare_named, compare_value
from .report import Report, calls_message, fit
from .running import is_reference_file, module_of, run_case
from .specs import FLOAT64_ATOL, spec_of

__all__ = ["GradingFailure", "check", "grade", "check_example", "assert_close"]


class GradingFailure(AssertionError):
    """A graded function disagrees with the reference; the message says where and why."""


# --- the three calls of a test cell ------------------------------------------------------------------------


def check(fn, key):
    """Compare ``fn`` with the reference ``rnn_ref.<key>`` on random inputs; show the values.

    Parameters
    ----------
    fn : callable
        The student's function.
    key : str
        The reference, relative to :mod:`rnn_ref`: ``"lstm.input_gate"``.

    Raises
    ------
    GradingFailure
        With every failing case and the likely mistake.
    """
    __tracebackhide__ = True
    _grade(fn, key, hidden=False)


def grade(fn, key):
    """Like :func:`check` with more cases; expected values are not shown (hidden tests)."""
    __tracebackhide__ = True
    _grade(fn, key, hidden=True)


def check_example(fn, key, args, expected, kwargs=None):
    """Run ``fn(*args, **kwargs)`` and compare the outputs named in ``expected``.

    Parameters
    ----------
    fn : callable
    key : str
        The reference's name (for the names of the outputs and the diagnosis).
    args : tuple
    expected : dict of str to array_like
        Expected values of some outputs, by name (``{"h": ..., "c": ...}``),
        worked out by hand in the notebook.
    kwargs : dict, optional

    Raises
    ------
    GradingFailure
    """
    __tracebackhide__ = True
    spec = spec_of(key)
    name = _check_callable(fn, spec)
    kwargs = {} if kwargs is None else kwargs
    unknown = [label for label in expected if label not in spec.outputs]
    if unknown:  # a mistake in the notebook, not the student's
        raise ValueError(f"expected has {unknown}, but {key} returns {[o for o in spec.outputs if o]}")
    dtype = np.result_type(*[a for a in arrays(args)]) if arrays(args) else np.float64
    case = Case("example", tuple(args), dict(kwargs), dtype)
    run = run_case(fn, spec, case, lambda outputs: compare_named(spec, expected, outputs, dtype))
    if run.calls:
        raise GradingFailure(calls_message(name, spec, run.calls)) from None
    if run.error is None and not run.problems and not run.mutated:
        print(f"✓ {name}: the example agrees with the values worked out by hand")
        return
    expected_full = tuple(expected.get(label) if label else None for label in spec.outputs)
    report = Report(name, spec, hidden=False, rerun=_rerun(fn, spec))
    report.add_failure(case, run, expected_full)
    raise GradingFailure(report.text(n_cases=1, example=True)) from None


def assert_close(label, got, expected, *, rtol=1e-6, atol=FLOAT64_ATOL):
    """Assert ``got`` is close to ``expected``; the message names the worst entry.

    Parameters
    ----------
    label : str
        What is compared, for the message (``"dW_x"``).
    got, expected : array_like
    rtol, atol : float
        Entry ``k`` agrees when ``|got[k] - expected[k]| <= atol + rtol * |expected[k]|``.
    """
    __tracebackhide__ = True
    problems = []
    compare_value(label, np.asarray(expected), got, rtol, atol, problems, check_dtype=False)
    if problems:
        raise GradingFailure("\n".join(p.detail + (f": {p.values}" if p.values else "") for p in problems)) from None


# --- the grade ----------------------------------------------------------------------------------------------


def _check_callable(fn, spec):
    __tracebackhide__ = True
    name = spec.key.split(".")[-1]
    if not callable(fn):
        raise GradingFailure(
            f"{name}: expected the function itself, got a {type(fn).__name__}. "
            f"Pass the function without calling it: rnn_checks.check({name}, {spec.key!r})"
        ) from None
    own = getattr(fn, "__name__", name)
    code = getattr(fn, "__code__", None)
    if fn is spec.reference or (code is not None and is_reference_file(code.co_filename)):
        raise GradingFailure(
            f"{own} is rnn_ref.{module_of(code.co_filename)[8:] if code else spec.key}.{own} itself, "
            "imported from the reference. The grade compares your code with rnn_ref: write the function "
            "yourself (and do not import it from rnn_ref) to earn its points."
        ) from None
    return own


def _grade(fn, key, hidden):
    __tracebackhide__ = True
    spec = spec_of(key)
    name = _check_callable(fn, spec)
    every_case = cases(spec, hidden)
    report = Report(name, spec, hidden, rerun=_rerun(fn, spec))
    passed = []
    for case in every_case:
        expected = reference_outputs(spec, case)
        run = run_case(fn, spec, case, lambda outputs, e=expected, c=case: compare_all(spec, e, outputs, c.dtype))
        if run.calls:
            raise GradingFailure(calls_message(name, spec, run.calls)) from None
        if run.error is not None or run.problems or run.mutated:
            report.add_failure(case, run, expected)
        else:
            passed.append((expected, run))
    if report.failures:
        raise GradingFailure(report.text(n_cases=len(every_case))) from None
    dtypes = sorted({np.dtype(c.dtype).name for c in every_case})
    kind = "graded" if hidden else "random"
    reference = f"{spec.reference.__module__}.{spec.reference.__name__}"
    print(
        f"✓ {name} agrees with the reference ({reference}) on {len(every_case)} {kind} cases ({' and '.join(dtypes)})"
    )
    overflow = mistakes.overflow_hint(spec, passed)
    if overflow is not None:  # right values, but only because inf happened to round to the limit
        print(fit([f"  Note: {overflow.text}"]))


def _rerun(fn, spec):
    """``rerun(case) -> Run``: ``fn`` on another case, compared with the reference (for one term at a time)."""

    def rerun(case):
        expected = reference_outputs(spec, case)
        return run_case(fn, spec, case, lambda outputs: compare_all(spec, expected, outputs, case.dtype))

    return rerun
