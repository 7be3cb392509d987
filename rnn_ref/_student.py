"""Running a student's function: on copies, with the reference's helpers, watching what it calls.

* The function receives copies of the inputs; afterwards the copies are compared with the
  originals, so that modifying an argument in place is caught.
* While it runs, the functions of the notebook it builds on are bound to the reference's
  (:func:`patched`), so that a mistake in a helper costs the helper's points only; when the
  function only works with the student's own helpers, those are used.
* A profile hook (:class:`CallWatch`) records every call from the student's code into the
  numerical modules of :mod:`rnn_ref` that the exercise does not allow.

This is no sandbox: the code runs in the current process. Used by :mod:`rnn_ref.testing`.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import os
import sys
import traceback
import warnings
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from ._compare import Problem
from ._specs import ALWAYS_ALLOWED

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_REFERENCE_MODULES = ("rnn", "lstm", "gru", "peephole", "bidirectional", "cells", "tbptt", "models")
# Files of the grading machinery: calls from them are not calls of a student.
MACHINERY = {
    "testing.py",
    "_cases.py",
    "_compare.py",
    "_student.py",
    "_report.py",
    "_specs.py",
    "_specs_rnn.py",
    "_specs_gated.py",
    "_specs_bi.py",
    "_mistakes.py",
    "_mistakes_rnn.py",
    "_mistakes_gated.py",
    "_mistakes_bi.py",
}


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
def patched(fn, replacements):
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


def is_reference_file(filename):
    """True for the numerical modules of rnn_ref (not for this grading machinery)."""
    if filename not in _reference_file_cache:
        path = os.path.abspath(filename)
        _reference_file_cache[filename] = (
            os.path.dirname(path) == PACKAGE_DIR and os.path.basename(path) not in MACHINERY
        )
    return _reference_file_cache[filename]


def module_of(filename):
    return "rnn_ref." + os.path.splitext(os.path.basename(filename))[0]


def allowed(spec, replacements):
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


class CallWatch:
    """A profile hook that records calls from outside rnn_ref into rnn_ref's numerical code."""

    def __init__(self, allowed_codes, allowed_files):
        self.allowed_codes, self.allowed_files = allowed_codes, allowed_files
        self.calls = []

    def __call__(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if not is_reference_file(code.co_filename) or code in self.allowed_codes:
            return
        if os.path.abspath(code.co_filename) in self.allowed_files or code in _cache_codes():
            return  # an allowed module, or a property of a cache (cache.r)
        qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python >= 3.11
        caller = frame.f_back
        if caller is None or not is_reference_file(caller.f_code.co_filename):
            name = f"{module_of(code.co_filename)}.{qualname}"
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


def student_line(exc):
    """The last line of the student's own code in the traceback, and where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [
        f
        for f in frames
        if os.path.dirname(os.path.abspath(f.filename)) != PACKAGE_DIR
        and f"{os.sep}site-packages{os.sep}" not in f.filename
        and f"{os.sep}numpy{os.sep}" not in f.filename
    ]
    where = f"line {own[-1].lineno} of {own[-1].name}: {(own[-1].line or '').strip()}" if own else ""
    if frames and is_reference_file(frames[-1].filename):
        where += f" (raised inside {module_of(frames[-1].filename)}.{frames[-1].name})"
    return where


def call(fn, spec, case, replacements):
    """Call ``fn`` on copies of the case's inputs, watching what it calls and modifies."""
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    watch = CallWatch(*allowed(spec, replacements))
    result, error, where = None, None, ""
    with patched(fn, replacements), warnings.catch_warnings(record=True) as caught:
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
        where = student_line(error)
    names = _argument_names(spec, case.args) + list(case.kwargs)
    pristine = tuple(case.args) + tuple(case.kwargs.values())
    mutated = _mutations(names, pristine, tuple(args) + tuple(kwargs.values()))
    notes = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return result, error, where, tuple(watch.calls), mutated, notes


def as_outputs(spec, result, name):
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


def run_case(fn, spec, case, compare, replacements=None):
    """Run one case: with the reference's helpers first, then the student's own (see the module docstring)."""
    name = getattr(fn, "__name__", spec.key)
    if replacements is None:
        replacements = {n: reference_function(k) for n, k in spec.builds_on.items()}
    attempts = [replacements]
    namespace = getattr(fn, "__globals__", {})
    if replacements and any(n in namespace for n in replacements):
        attempts.append({})
    first = None
    for attempt in attempts:
        result, error, where, calls, mutated, notes = call(fn, spec, case, attempt)
        problems = []
        outputs = None
        if error is None:
            outputs, problem = as_outputs(spec, result, name)
            problems = [problem] if problem else compare(outputs)
        run = Run(outputs, error, where, calls, mutated, notes, problems)
        if calls:
            return run
        if error is None and not problems and not mutated:
            return run
        first = first or run
    return first


def reference_function(key):
    module_name, _, name = key.partition(".")
    return getattr(importlib.import_module(f"rnn_ref.{module_name}"), name)
