"""The checks for a judge that never runs the student's code: cases, comparisons and explanations, from data.

A judge (:mod:`grader.judge`) runs the student's functions somewhere else (a
sandbox), on inputs it draws here, and gets back what they returned, as data.
Everything it then needs is here, and none of it calls the student's code:

* :func:`judge_cases`: the cases of a graded function, drawn from a seed the
  student cannot know (the notebooks' own tests use fixed seeds, so a
  notebook could carry a table of their answers); the sizes, dtypes and
  variants are those of the visible and the hidden tests together;
* :func:`expected_outputs`: the reference's outputs on a case;
* :func:`timed_case`: for a function that returns gradients, the large case on which a judge
  times it (numerical differentiation is orders of magnitude slower there than backpropagation);
* :func:`conventions`: what the reference of a helper expects of its arguments, so that a judge
  can call it the way the student's code calls its own helper (:mod:`rnn_checks.adapter`);
* :func:`isolated_cases`: a case with one term at a time, for the explanation;
* :func:`run_of`: a :class:`~rnn_checks.outcome.Run` from what the sandbox
  reported (outputs or an exception, calls, warnings, the arguments after the
  call), compared with the reference's outputs;
* :func:`choose`: the attempt that counts among those of one case;
* :func:`explain` and :func:`calls_message`: the message of a failure, with
  the likely mistake, as the notebooks' tests write it, without values;
* :func:`mistakes_of`: the recognized mistakes of a failure, as data (an id,
  the hint, the book's section), for a class report.

What a reported result looks like (every field optional)::

    {"outputs": <the returned value>,
     "error": {"type": str, "builtin_base": str, "message": str, "where": str},
     "calls": [str, ...], "warnings": [str, ...],
     "args_after": tuple, "kwargs_after": dict}
"""

from __future__ import annotations

from .cases import HIDDEN_SHAPES, VISIBLE_SHAPES, Case, cases, reference_outputs
from .cases import isolated_cases as _isolated_cases
from .cases import timed_case as _timed_case
from .compare import compare_all
from .mistakes import section_of
from .outcome import Raised, Run, as_outputs, choose, mutations
from .report import Report, right
from .report import calls_message as _calls_message
from .running import helper_conventions
from .specs import spec_of

__all__ = [
    "Case",
    "HIDDEN_SHAPES",
    "VISIBLE_SHAPES",
    "calls_message",
    "choose",
    "conventions",
    "expected_outputs",
    "explain",
    "explained_case",
    "isolated_cases",
    "judge_cases",
    "mistakes_of",
    "right",
    "run_of",
    "timed_case",
]


def judge_cases(key, seed):
    """The cases of ``key`` for a judge: visible and hidden sizes, every variant, values drawn from ``seed``."""
    spec = spec_of(key)
    return cases(spec, hidden=False, seed=seed) + cases(spec, hidden=True, seed=seed)


def expected_outputs(key, case):
    """The reference's outputs on ``case``: a tuple, one per name of the spec's outputs."""
    return reference_outputs(spec_of(key), case)


def timed_case(key, seed):
    """The timed case of ``key`` with values drawn from ``seed``, or None for a function that returns no gradients.

    Its sizes are large (``Spec.timed``): computing the gradients there by numerical
    differentiation, one or two forward passes per input entry, takes orders of magnitude longer
    than backpropagation.  A judge times the student's function on it, from outside.
    """
    return _timed_case(spec_of(key), seed)


def conventions(key):
    """What the reference ``key`` expects of each argument and returns, as JSON-compatible data.

    For a judge that binds the reference's version of a helper while a function is graded, and
    must accept the student's own calling conventions as the notebooks' tests do (see
    :mod:`rnn_checks.adapter` for the rules and the format).
    """
    return helper_conventions(key)


def isolated_cases(key, case):
    """``[(label, case)]``: ``case`` with one term at a time (only the bias, only the input, ...)."""
    return _isolated_cases(spec_of(key), case)


def run_of(key, name, case, expected, result):
    """The :class:`~rnn_checks.outcome.Run` of one reported result, compared with ``expected``.

    Parameters
    ----------
    key : str
        The graded function (``"lstm.lstm_forward"``).
    name : str
        Its name in the notebook (for the messages).
    case : Case
        The inputs it was called with.
    expected : tuple
        :func:`expected_outputs` of the case.
    result : dict
        What the sandbox reported (see the module docstring), already decoded.
    """
    spec = spec_of(key)
    calls = tuple(str(c) for c in result.get("calls") or ())
    warnings = tuple(str(w) for w in result.get("warnings") or ())
    mutated = ()
    if isinstance(result.get("args_after"), tuple) and isinstance(result.get("kwargs_after"), dict):
        mutated = mutations(spec, case, result["args_after"], result["kwargs_after"])
    error = result.get("error")
    if error is not None:
        base = str(error.get("builtin_base") or "Exception")
        raised = Raised(str(error.get("type") or "Exception"), str(error.get("message", "")), (base,))
        return Run(None, raised, str(error.get("where", "")), calls, mutated, warnings, [])
    outputs, problem = as_outputs(spec, result.get("outputs"), name)
    problems = [problem] if problem else compare_all(spec, expected, outputs, case.dtype)
    return Run(outputs, None, "", calls, mutated, warnings, problems)


def calls_message(key, name, calls):
    """The message for a function that calls the reference (it earns nothing)."""
    return _calls_message(name, spec_of(key), calls)


def explain(key, name, failures, n_cases, isolations=None):
    """The message of a failing function, as the notebooks' graded tests write it (no values).

    The same text as a failing ``rnn_checks.grade`` in the notebook: the headline, the likely mistake,
    what differs in each case, and, when no mistake is recognized, the runs with one term at a time
    (with what it means when every one of them is right).

    Parameters
    ----------
    failures : list of (Case, Run, tuple)
        The failing cases, their runs, and the expected outputs.
    n_cases : int
        How many cases were graded.
    isolations : list of (str, bool), optional
        For the first failing case whose outputs differ (:func:`explained_case`), the label of each
        run with one term at a time and whether it was right (see :func:`right`).
    """
    return _report(key, name, failures, isolations).text(n_cases)


def mistakes_of(key, failures):
    """The recognized mistakes of a failing function, as data: ``[{"id": str, "hint": str, "section": str}]``.

    ``id`` is short and the same for every student (``"the-bias-b-is-missing"``, ``"constant-factor"``,
    ``"activation-overflows"``, ``"not-written"``), so that a class report can count them; ``hint`` is
    the text the student is shown; ``section`` is where the book explains the function
    (``"book/02_bptt.html#truncated-bptt"``, relative to the built site).  Empty when nothing is
    recognized.  ``failures`` are as for :func:`explain`.
    """
    section = section_of(key)
    return [{"id": hint.id, "hint": hint.text, "section": section} for hint in _report(key, "", failures).mistakes()]


def _report(key, name, failures, isolations=None):
    report = Report(name, spec_of(key), hidden=True, isolations=isolations)
    for case, run, expected in failures:
        report.add_failure(case, run, expected)
    return report


def explained_case(key, failures):
    """The failing case that :func:`explain` would explain with one term at a time, or None."""
    return _report(key, "", failures).first_value_failure()
