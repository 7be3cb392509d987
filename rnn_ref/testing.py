r"""Grade a student's function against the reference, with messages that help.

The exercise notebooks call three functions, each with the student's function
and the name of its reference in :mod:`rnn_ref`::

    from rnn_ref import testing

    # a case worked out by hand: inputs and expected outputs written in the cell
    testing.check_example(rnn_step_forward, "rnn.rnn_step_forward",
                          args=(x, h_prev, params), expected={"h": h_by_hand})
    # random cases against the reference (visible tests: values are shown)
    testing.check(rnn_step_forward, "rnn.rnn_step_forward")
    # more random cases (hidden tests: values are withheld from the feedback)
    testing.grade(rnn_step_forward, "rnn.rnn_step_forward")

Each runs every case, then raises one :class:`GradingFailure` listing every
failure: which output or gradient, the index of its worst entry, expected
against got, the relative error, and the likely mistake.  The likely mistake
is found two ways:

* by recognizing typical mistakes (:mod:`rnn_ref._mistakes`): the student's
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

This module compares and diagnoses; it runs the student's code in the current
process and is no sandbox.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import os
import re
import sys
import traceback
import warnings
import zlib
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from . import _mistakes
from ._specs import ALWAYS_ALLOWED, FLOAT32_ATOL, FLOAT32_RTOL, FLOAT64_ATOL, SPECS

__all__ = ["GradingFailure", "check", "grade", "check_example", "assert_close"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# Files of the grading machinery: calls from them are not calls of a student.
_REFERENCE_MODULES = ("rnn", "lstm", "gru", "peephole", "bidirectional", "cells", "tbptt", "models")
_MACHINERY = {"testing.py", "_specs.py", "_mistakes.py", "_mistakes_rnn.py", "_mistakes_gated.py", "_mistakes_bi.py"}

VISIBLE_SHAPES = (
    ({"T": 3, "N": 2, "D": 4, "H": 3, "V": 5}, np.float64),
    ({"T": 1, "N": 1, "D": 2, "H": 2, "V": 3}, np.float64),  # one sequence of one step
    ({"T": 4, "N": 3, "D": 3, "H": 3, "V": 4}, np.float64),  # D = H: a transposed W_x still runs
    ({"T": 2, "N": 2, "D": 3, "H": 2, "V": 3}, np.float32),
)
HIDDEN_SHAPES = (
    ({"T": 5, "N": 4, "D": 3, "H": 5, "V": 4}, np.float64),
    ({"T": 1, "N": 3, "D": 4, "H": 2, "V": 6}, np.float64),
    ({"T": 2, "N": 1, "D": 1, "H": 3, "V": 2}, np.float64),
    ({"T": 6, "N": 2, "D": 5, "H": 5, "V": 3}, np.float64),
    ({"T": 3, "N": 5, "D": 2, "H": 4, "V": 5}, np.float32),
    ({"T": 4, "N": 3, "D": 4, "H": 3, "V": 4}, np.float32),
)
_MAX_DETAILED_CASES = 2  # cases reported line by line; the others get one line each
_MAX_LINES_PER_CASE = 4


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
    spec = _spec_of(key)
    name = _check_callable(fn, spec)
    kwargs = {} if kwargs is None else kwargs
    unknown = [label for label in expected if label not in spec.outputs]
    if unknown:  # a mistake in the notebook, not the student's
        raise ValueError(f"expected has {unknown}, but {key} returns {[o for o in spec.outputs if o]}")
    dtype = np.result_type(*[a for a in _arrays(args)]) if _arrays(args) else np.float64
    case = Case("example", tuple(args), dict(kwargs), dtype)
    run = _run_case(fn, spec, case, lambda outputs: _compare_named(spec, expected, outputs, dtype))
    if run.calls:
        raise GradingFailure(_calls_message(name, spec, run.calls)) from None
    if run.error is None and not run.problems and not run.mutated:
        print(f"✓ {name}: the example agrees with the values worked out by hand")
        return
    expected_full = tuple(expected.get(label) if label else None for label in spec.outputs)
    report = _Report(fn, name, spec, hidden=False)
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
    _compare_value(label, np.asarray(expected), got, rtol, atol, problems, check_dtype=False)
    if problems:
        raise GradingFailure("\n".join(p.detail + (f": {p.values}" if p.values else "") for p in problems)) from None


# --- cases -------------------------------------------------------------------------------------------------


class Case(NamedTuple):
    """One set of inputs."""

    label: str
    args: tuple
    kwargs: dict
    dtype: type


def _spec_of(key):
    if key not in SPECS:
        close = [k for k in SPECS if k.split(".")[-1] == str(key).split(".")[-1]]
        raise ValueError(f"unknown reference {key!r}" + (f"; did you mean {' or '.join(close)}?" if close else ""))
    return SPECS[key]


def _cases(spec, hidden):
    shapes = HIDDEN_SHAPES if hidden else VISIBLE_SHAPES
    cases = []
    for i, (dims, dtype) in enumerate(shapes):
        for j, variant in enumerate(spec.variants):
            rng = np.random.default_rng([2 if hidden else 1, zlib.crc32(spec.key.encode()), i, j])
            args, kwargs = spec.make(rng, dims, dtype, variant)
            sizes = ", ".join(f"{letter}={dims[letter]}" for letter in spec.uses)
            extra = "".join(f", {k}={v}" for k, v in variant.items())
            cases.append(Case(f"{sizes}, {np.dtype(dtype).name}{extra}", args, kwargs, dtype))
    return cases


def _tolerance(spec, dtype):
    if np.dtype(dtype) == np.float32:
        return max(spec.rtol, FLOAT32_RTOL), FLOAT32_ATOL
    return spec.rtol, FLOAT64_ATOL


def _arrays(value):
    """Every ndarray inside nested tuples, lists, dicts and NamedTuples."""
    if isinstance(value, np.ndarray):
        return [value] if np.issubdtype(value.dtype, np.floating) else []
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    return []


# --- running the student's function ---------------------------------------------------------------------


class Run(NamedTuple):
    """What happened when the student's function ran on one case."""

    outputs: tuple | None  # the returned values, one per name of spec.outputs
    error: BaseException | None
    where: str  # the line of the student's code that raised
    calls: tuple  # rnn_ref functions called that are not allowed
    mutated: tuple  # arguments modified in place
    warnings: tuple
    problems: list  # comparisons that failed


_MISSING = object()


@contextmanager
def _patched(fn, replacements):
    """Temporarily bind names of ``fn``'s module (the notebook) to other functions."""
    namespace = getattr(fn, "__globals__", None)
    if namespace is None or not replacements:
        yield
        return
    saved = {name: namespace.get(name, _MISSING) for name in replacements}
    try:
        namespace.update(replacements)
        yield
    finally:
        for name, old in saved.items():
            if old is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = old


_reference_file_cache = {}


def _is_reference_file(filename):
    """True for the numerical modules of rnn_ref (not for this grading machinery)."""
    if filename not in _reference_file_cache:
        path = os.path.abspath(filename)
        _reference_file_cache[filename] = (
            os.path.dirname(path) == _PACKAGE_DIR and os.path.basename(path) not in _MACHINERY
        )
    return _reference_file_cache[filename]


def _module_of(filename):
    return "rnn_ref." + os.path.splitext(os.path.basename(filename))[0]


def _allowed(spec, replacements):
    """Code objects and files of rnn_ref that the student's function may call."""
    codes, files = set(), set()
    for key in ALWAYS_ALLOWED + tuple(spec.allowed):
        module_name, _, name = key.partition(".")
        module = importlib.import_module(f"rnn_ref.{module_name}")
        if name == "*":
            files.add(os.path.abspath(module.__file__))
        else:
            codes.add(getattr(module, name).__code__)
    codes.update(f.__code__ for f in replacements.values())
    return codes, files


@functools.cache
def _cache_codes():
    """Code of the properties and methods of the caches (``GRUCache.r``): reading a cache is allowed."""
    codes = set()
    for module_name in _REFERENCE_MODULES:
        module = importlib.import_module(f"rnn_ref.{module_name}")
        for name, value in vars(module).items():
            if isinstance(value, type) and name.endswith("Cache"):
                for attribute in vars(value).values():
                    function = attribute.fget if isinstance(attribute, property) else attribute
                    if hasattr(function, "__code__"):
                        codes.add(function.__code__)
    return codes


class _CallWatch:
    """A profile hook that records calls from outside rnn_ref into rnn_ref's numerical code."""

    def __init__(self, allowed_codes, allowed_files):
        self.allowed_codes, self.allowed_files = allowed_codes, allowed_files
        self.calls = []

    def __call__(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if not _is_reference_file(code.co_filename) or code in self.allowed_codes:
            return
        if os.path.abspath(code.co_filename) in self.allowed_files or code in _cache_codes():
            return  # an allowed module, or a property of a cache (cache.r)
        qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python >= 3.11
        caller = frame.f_back
        if caller is None or not _is_reference_file(caller.f_code.co_filename):
            name = f"{_module_of(code.co_filename)}.{qualname}"
            if name not in self.calls:
                self.calls.append(name)


def _leaves(value, path):
    """(path, leaf) for every array and scalar inside nested containers."""
    if isinstance(value, dict):
        yield path + ".keys()", tuple(value)
        for key, item in value.items():
            yield from _leaves(item, f"{path}[{key!r}]")
    elif isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple cache
        for field, item in zip(value._fields, value, strict=True):
            yield from _leaves(item, f"{path}.{field}")
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True)
    return a == b


def _mutations(names, pristine, given):
    """Paths of the arguments whose content changed during the call (the first of each)."""
    changed = []
    for name, before, after in zip(names, pristine, given, strict=True):
        old, new = dict(_leaves(before, name)), dict(_leaves(after, name))
        diff = [path for path in old if path not in new or not _same(old[path], new[path])]
        if diff:
            changed.append(diff[0])
    return tuple(changed)


def _argument_names(spec, values):
    params = list(inspect.signature(spec.reference).parameters)
    return [params[i] if i < len(params) else f"argument {i}" for i in range(len(values))]


def _student_line(exc):
    """The last line of the student's own code in the traceback, and where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [
        f
        for f in frames
        if os.path.dirname(os.path.abspath(f.filename)) != _PACKAGE_DIR
        and f"{os.sep}site-packages{os.sep}" not in f.filename
        and f"{os.sep}numpy{os.sep}" not in f.filename
    ]
    where = f"line {own[-1].lineno} of {own[-1].name}: {(own[-1].line or '').strip()}" if own else ""
    if frames and _is_reference_file(frames[-1].filename):
        where += f" (raised inside {_module_of(frames[-1].filename)}.{frames[-1].name})"
    return where


def _call(fn, spec, case, replacements):
    """Call ``fn`` on copies of the case's inputs, watching what it calls and modifies."""
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    watch = _CallWatch(*_allowed(spec, replacements))
    result, error, where = None, None, ""
    with _patched(fn, replacements), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the student's error is reported, never raised
            error, where = exc, None
        finally:
            sys.setprofile(previous)
    if error is not None:
        where = _student_line(error)
    names = _argument_names(spec, case.args) + list(case.kwargs)
    pristine = tuple(case.args) + tuple(case.kwargs.values())
    mutated = _mutations(names, pristine, tuple(args) + tuple(kwargs.values()))
    notes = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return result, error, where, tuple(watch.calls), mutated, notes


def _as_outputs(spec, result, name):
    """The returned values as a tuple, one per name of ``spec.outputs``; or a Problem."""
    n = len(spec.outputs)
    if n == 1:
        return (result,), None
    names = ", ".join(label or "cache" for label in spec.outputs)
    if result is None:
        return None, Problem("return", "shape", f"{name} returned None: did you forget `return {names}`?")
    if not isinstance(result, (tuple, list)):
        got = f"one {type(result).__name__}" + (f" of shape {result.shape}" if hasattr(result, "shape") else "")
        return None, Problem("return", "shape", f"{name} returned {got}, expected {n} values: {names}")
    if len(result) != n:
        return None, Problem("return", "shape", f"{name} returned {len(result)} values, expected {n}: {names}")
    return tuple(result), None


def _run_case(fn, spec, case, compare, replacements=None):
    """Run one case: with the reference's helpers first, then the student's own (see the module docstring)."""
    name = getattr(fn, "__name__", spec.key)
    if replacements is None:
        replacements = {n: _reference_function(k) for n, k in spec.builds_on.items()}
    attempts = [replacements]
    namespace = getattr(fn, "__globals__", {})
    if replacements and any(n in namespace for n in replacements):
        attempts.append({})
    first = None
    for attempt in attempts:
        result, error, where, calls, mutated, notes = _call(fn, spec, case, attempt)
        problems = []
        outputs = None
        if error is None:
            outputs, problem = _as_outputs(spec, result, name)
            problems = [problem] if problem else compare(outputs)
        run = Run(outputs, error, where, calls, mutated, notes, problems)
        if calls:
            return run
        if error is None and not problems and not mutated:
            return run
        first = first or run
    return first


def _reference_function(key):
    module_name, _, name = key.partition(".")
    return getattr(importlib.import_module(f"rnn_ref.{module_name}"), name)


# --- comparing ----------------------------------------------------------------------------------------------


class Problem(NamedTuple):
    """One output that disagrees."""

    label: str  # "h", "grads['W_x']"
    kind: str  # "shape", "dtype", "value", "type"
    detail: str  # the message, without numbers from the inputs
    values: str = ""  # expected and got (shown in visible tests only)
    expected: object = None
    got: object = None


def _fmt(x):
    return f"{x:.6g}"


def _index(k):
    return "[" + ", ".join(str(int(i)) for i in k) + "]"


def _compare_value(label, expected, got, rtol, atol, problems, check_dtype=True):
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            problems.append(Problem(label, "type", f"{label} is a {type(got).__name__}, expected a dict"))
            return
        missing, extra = [k for k in expected if k not in got], [k for k in got if k not in expected]
        if missing or extra:
            text = f"{label} has keys {sorted(got)}, expected {sorted(expected)}"
            problems.append(Problem(label, "type", text))
        for key in expected:
            if key in got:
                _compare_value(f"{label}[{key!r}]", expected[key], got[key], rtol, atol, problems, check_dtype)
        return
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            text = f"{label} should be a tuple of {len(expected)} arrays, got {type(got).__name__}"
            problems.append(Problem(label, "type", text))
            return
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            _compare_value(f"{label}[{i}]", e, g, rtol, atol, problems, check_dtype)
        return
    expected = np.asarray(expected)
    if got is None:
        problems.append(Problem(label, "type", f"{label} is None, expected an array of shape {expected.shape}"))
        return
    try:
        g = np.asarray(got)
    except Exception:  # ragged lists and other oddities
        g = np.asarray(None)
    if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
        text = f"{label} is a {type(got).__name__}, expected an array of shape {expected.shape}"
        problems.append(Problem(label, "type", text))
        return
    if g.shape != expected.shape:
        text = f"{label} has shape {g.shape}, expected {expected.shape}"
        if g.ndim == 2 and g.shape == expected.shape[::-1]:
            text += " (transposed?)"
        problems.append(Problem(label, "shape", text, expected=expected, got=g))
        return
    if check_dtype and expected.ndim > 0 and g.dtype != expected.dtype:
        text = (
            f"{label} has dtype {g.dtype}, expected {expected.dtype}, the dtype of the inputs "
            "(make new arrays with dtype=x.dtype, or np.zeros_like, np.empty_like)"
        )
        problems.append(Problem(label, "dtype", text, expected=expected, got=g))
    e64, g64 = expected.astype(np.float64), g.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(g64 - e64) / (atol + rtol * np.abs(e64))
    excess = np.where(np.isnan(excess), np.inf, excess)
    bad = excess > 1
    if not bad.any():
        return
    k = np.unravel_index(np.argmax(excess), excess.shape)
    error = abs(g64[k] - e64[k]) if np.isfinite(g64[k]) else np.inf
    at = f" at {label}{_index(k)}" if expected.ndim else ""
    count = f"{int(bad.sum())} of {bad.size} entries differ; worst" if expected.ndim else "differs"
    if abs(e64[k]) > 1e-8:
        text = f"{label}: {count}{at}, relative error {error / abs(e64[k]):.2g}"
    else:
        text = f"{label}: {count}{at}, absolute error {error:.2g}"
    if not np.isfinite(g64).all():
        text += f" ({label} contains {'NaN' if np.isnan(g64).any() else 'inf'})"
    values = f"expected {_fmt(e64[k])}, got {_fmt(g64[k])}"
    problems.append(Problem(label, "value", text, values, expected, g))


def _compare_all(spec, expected_outputs, got_outputs, dtype):
    rtol, atol = _tolerance(spec, dtype)
    problems = []
    for label, e, g in zip(spec.outputs, expected_outputs, got_outputs, strict=True):
        if label is not None and e is not None:
            _compare_value(label, e, g, rtol, atol, problems)
    return problems


def _compare_named(spec, expected, outputs, dtype):
    expected_full = tuple(expected.get(label) if label else None for label in spec.outputs)
    return _compare_all(spec, expected_full, outputs, dtype)


def _outputs_close(spec, a, b, dtype):
    """True when two sets of outputs agree (used to match a typical mistake)."""
    return not _compare_all(spec, a, b, dtype)


# --- the grade ----------------------------------------------------------------------------------------------


def _check_callable(fn, spec):
    __tracebackhide__ = True
    name = spec.key.split(".")[-1]
    if not callable(fn):
        raise GradingFailure(
            f"{name}: expected the function itself, got a {type(fn).__name__}. "
            f"Pass the function without calling it: testing.check({name}, {spec.key!r})"
        ) from None
    own = getattr(fn, "__name__", name)
    code = getattr(fn, "__code__", None)
    if fn is spec.reference or (code is not None and _is_reference_file(code.co_filename)):
        raise GradingFailure(
            f"{own} is rnn_ref.{_module_of(code.co_filename)[8:] if code else spec.key}.{own} itself, "
            "imported from the reference. The grade compares your code with rnn_ref: write the function "
            "yourself (and do not import it from rnn_ref) to earn its points."
        ) from None
    return own


def _grade(fn, key, hidden):
    __tracebackhide__ = True
    spec = _spec_of(key)
    name = _check_callable(fn, spec)
    cases = _cases(spec, hidden)
    report = _Report(fn, name, spec, hidden)
    for case in cases:
        expected = _reference_outputs(spec, case)
        run = _run_case(fn, spec, case, lambda outputs, e=expected, c=case: _compare_all(spec, e, outputs, c.dtype))
        if run.calls:
            raise GradingFailure(_calls_message(name, spec, run.calls)) from None
        if run.error is not None or run.problems or run.mutated:
            report.add_failure(case, run, expected)
    if report.failures:
        raise GradingFailure(report.text(n_cases=len(cases))) from None
    dtypes = sorted({np.dtype(c.dtype).name for c in cases})
    kind = "graded" if hidden else "random"
    reference = f"{spec.reference.__module__}.{spec.reference.__name__}"
    print(f"✓ {name} agrees with the reference ({reference}) on {len(cases)} {kind} cases ({' and '.join(dtypes)})")


def _reference_outputs(spec, case):
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    result = spec.reference(*args, **kwargs)
    return (result,) if len(spec.outputs) == 1 else tuple(result)


def _calls_message(name, spec, calls):
    allowed = [key for key in spec.allowed if not key.startswith("gradcheck")]
    return (
        f"{name} calls {', '.join(calls)}, from the reference implementation. The grade compares your "
        f"code with rnn_ref, so a function that calls it earns nothing: write this computation yourself. "
        f"From rnn_ref you may call sigmoid and tanh (rnn_ref.activations)"
        + (f" and {', '.join('rnn_ref.' + k for k in allowed)}." if allowed else ".")
    )


# --- the report ---------------------------------------------------------------------------------------------


class _Report:
    """Collects the failing cases of one function and writes the message."""

    def __init__(self, fn, name, spec, hidden):
        self._fn, self.name, self.spec, self.hidden = fn, name, spec, hidden
        self.failures = []  # (case, run, expected)

    def add_failure(self, case, run, expected):
        self.failures.append((case, run, expected))

    def text(self, n_cases, example=False):
        if example:
            lines = [f"{self.name} does not give the values worked out by hand in the example."]
        else:
            kind = "graded" if self.hidden else "random"
            lines = [f"{self.name} does not match the reference: {len(self.failures)} of {n_cases} {kind} cases fail."]
        hints, recognized = self._likely_mistakes()
        if hints:
            lines += ["", "Likely mistake:"] + [f"  * {hint}" for hint in hints]
        lines += ["", "What differs:"]
        lines += self._case_lines()
        if not recognized:
            lines += self._isolation_lines()
        if self.hidden:
            lines += ["", "(Graded tests do not show input or expected values; the visible tests above do.)"]
        return "\n".join(lines)

    def _case_lines(self):
        lines, errors = [], {}
        for number, (case, run, _) in enumerate(self.failures, 1):
            if run.error is not None:  # identical errors are reported once
                text = f"{type(run.error).__name__}: {run.error}"
                errors.setdefault((text, run.where), []).append(case.label)
                continue
            mutated = [f"{path} modified in place" for path in run.mutated]
            if number > _MAX_DETAILED_CASES:
                differ = [f"{label} differs" for label in dict.fromkeys(p.label for p in run.problems)]
                lines.append(f"  Case {case.label}: {', '.join(differ + mutated)}")
                continue
            lines.append("  In the example:" if case.label == "example" else f"  Case {case.label}:")
            details = [p.detail + (f" ({p.values})" if p.values and not self.hidden else "") for p in run.problems]
            if len(details) > _MAX_LINES_PER_CASE:
                more = len(details) - _MAX_LINES_PER_CASE + 1
                details = details[: _MAX_LINES_PER_CASE - 1] + [f"... and {more} more outputs differ"]
            lines += [f"    {text}" for text in details + mutated]
            lines += [f"    NumPy warned: {note}" for note in run.warnings]
        for (text, where), labels in errors.items():
            cases = "every case" if len(labels) == len(self.failures) else f"cases {'; '.join(labels)}"
            lines.append(f"  In {cases}, {self.name} raised {text}")
            if where:
                lines.append(f"    at {where}")
            hint = _mistakes.error_hint(text, self.spec)
            if hint:
                lines.append(f"    Hint: {hint}")
        return lines

    def _likely_mistakes(self):
        hints = []
        errors = [run.error for _, run, _ in self.failures if run.error is not None]
        if errors and all(isinstance(e, NotImplementedError) for e in errors):
            return [f"{self.name} is not written yet: replace `raise NotImplementedError(...)` with your code."], True
        matches = {}
        evaluated = 0
        for case, run, _ in self.failures:
            if run.outputs is None or not any(p.kind == "value" for p in run.problems):
                continue
            evaluated += 1
            for mistake in _mistakes.for_key(self.spec.key):
                if self._matches(mistake, case, run):
                    matches[mistake.hint] = matches.get(mistake.hint, 0) + 1
        if evaluated and not matches:  # two mistakes at once?
            for mistake in _mistakes.pairs_for_key(self.spec.key):
                if all(self._matches(mistake, case, run) for case, run, _ in self._value_failures()[:3]):
                    matches[mistake.hint] = evaluated
                    break
        for hint, count in sorted(matches.items(), key=lambda item: -item[1]):
            if count * 2 >= evaluated:
                suffix = "" if count == evaluated else f" (in {count} of {evaluated} failing cases)"
                hints.append(f"{hint}: your outputs equal what that gives{suffix}")
        recognized = bool(hints)
        if not hints:
            hints += self._output_hints()
        mutated = sorted({path for _, run, _ in self.failures for path in run.mutated})
        if mutated:
            name = mutated[0].split("[")[0].split(".")[0]
            hints.append(
                f"{self.name} modifies its argument {', '.join(mutated)} in place (`+=`, `*=` or `[...] =` on an "
                f"argument changes the caller's array): work on a new array, e.g. `{name} = {name} + ...` or "
                f"`{name}.copy()`"
            )
        return hints[:4], recognized

    def _value_failures(self):
        return [(case, run, e) for case, run, e in self.failures if any(p.kind == "value" for p in run.problems)]

    def _matches(self, mistake, case, run):
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = mistake.fn(*args, **kwargs)
        except Exception:  # a mistake that cannot run on these shapes does not match
            return False
        outputs = (result,) if len(self.spec.outputs) == 1 else tuple(result)
        return _outputs_close(self.spec, outputs, run.outputs, case.dtype)

    def _output_hints(self):
        hints = []
        for case, run, expected in self.failures:
            if run.outputs is None:
                continue
            named = dict(zip(self.spec.outputs, expected, strict=True))
            for p in run.problems:
                for hint in _mistakes.output_hints(self.spec, p, named, case):
                    if hint not in hints:
                        hints.append(hint)
        return hints

    def _isolation_lines(self):
        first = next(iter(self._value_failures()), None)
        if first is None or not self.spec.isolations:
            return []
        case = first[0]
        lines = []
        verdicts = []
        for label, targets in self.spec.isolations:
            isolated = _isolate(self.spec, case, targets)
            if isolated is None:
                continue
            expected = _reference_outputs(self.spec, isolated)
            run = _run_case(
                self._fn, self.spec, isolated, lambda o, e=expected: _compare_all(self.spec, e, o, case.dtype)
            )
            ok = run.error is None and not run.problems
            verdicts.append(ok)
            lines.append(f"    {label}: {'right' if ok else 'wrong'}")
        if not lines:
            return []
        where = "the example" if case.label == "example" else f"case {case.label}"
        if not any(verdicts):
            return ["", f"Run again with one term at a time ({where}), every run is wrong:"] + lines
        return ["", f"Run again with one term at a time ({where}), to see which part is wrong:"] + lines


_OPTIONAL = ("mask", "dh_last", "dc_last", "dstate_last")


def _isolate(spec, case, targets):
    """A copy of ``case`` with the ``targets`` zeroed; None when that changes nothing or a target is absent.

    A target is an argument (``"x"``), an entry of a dict argument (``"params['b']"``), every step
    but the last (``"dhs[:-1]"``), or ``"+name"``: that argument must be given (and is kept).
    """
    bound = inspect.signature(spec.reference).bind(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    arguments = bound.arguments
    changed = False
    for target in targets:
        match = re.fullmatch(r"(\+?)(\w+)(?:\['(\w+)'\])?(\[:-1\])?", target)
        required, name, key, head = match.groups()
        if arguments.get(name) is None:
            if required or name not in _OPTIONAL:
                return None
            continue  # an optional argument that is already absent
        changed = changed or not required
        if required:
            continue
        if name in _OPTIONAL:
            arguments[name] = None  # no mask, no gradient on the final state
        elif key is not None:
            arguments[name][key] = np.zeros_like(arguments[name][key])
        elif head is not None:
            arguments[name][:-1] = 0
        else:
            arguments[name] = np.zeros_like(arguments[name])
    if not changed:
        return None
    return Case(case.label, tuple(bound.args), dict(bound.kwargs), case.dtype)
