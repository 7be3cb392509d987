"""Running a student's function in this process: on copies, with the reference's helpers, watching its calls.

This is how the notebooks' test cells run the student's code (the judge runs
it in a sandbox instead, and receives the same facts as data):

* the function receives copies of the inputs; afterwards the copies are compared with the
  originals, so that modifying an argument in place is caught;
* while it runs, the functions of the notebook it builds on are bound to the reference's
  (:func:`patched`), so that a mistake in a helper costs the helper's points only; the reference's
  helpers accept the student's own calling conventions (a tuple for a cache, 1-D rows, keyword
  names of the student's signature: :mod:`rnn_checks.adapter`); when the function only works with
  the student's own helpers, those are used;
* a profile hook (:class:`CallWatch`) records every call from the student's code into the
  modules of :mod:`rnn_ref` that the exercise does not allow.

This is no sandbox: the code runs in the current process.
"""

from __future__ import annotations

import copy
import functools
import importlib
import os
import sys
import traceback
import warnings
from contextlib import contextmanager

import rnn_ref

from .adapter import conventions, tolerant
from .compare import Problem
from .outcome import Raised, Run, as_outputs, choose, mutations
from .specs import ALWAYS_ALLOWED

REFERENCE_DIR = os.path.dirname(os.path.abspath(rnn_ref.__file__))
CHECKS_DIR = os.path.dirname(os.path.abspath(__file__))
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


@functools.cache
def is_reference_file(filename):
    """True for the modules of rnn_ref."""
    return os.path.dirname(os.path.abspath(filename)) == REFERENCE_DIR


def module_of(filename):
    return "rnn_ref." + os.path.splitext(os.path.basename(filename))[0]


def reference_function(key):
    """The function of rnn_ref called ``key`` (``"lstm.input_gate"``)."""
    module_name, _, name = key.partition(".")
    return getattr(importlib.import_module(f"rnn_ref.{module_name}"), name)


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
    codes.update(getattr(f, "__wrapped__", f).__code__ for f in replacements.values())
    return codes, files


@functools.cache
def _cache_codes():
    """Code of the properties and methods of the caches (``GRUCache.r``): reading a cache is allowed."""
    codes = set()
    for module in (rnn_ref.rnn, rnn_ref.lstm, rnn_ref.gru, rnn_ref.peephole, rnn_ref.bidirectional):
        for name, value in vars(module).items():
            if isinstance(value, type) and name.endswith("Cache"):
                for attribute in vars(value).values():
                    function = attribute.fget if isinstance(attribute, property) else attribute
                    if hasattr(function, "__code__"):
                        codes.add(function.__code__)
    return codes


class CallWatch:
    """A profile hook that records calls from outside rnn_ref into rnn_ref's code."""

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


def student_line(exc):
    """The last line of the student's own code in the traceback, and where the error was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [
        f
        for f in frames
        if os.path.dirname(os.path.abspath(f.filename)) not in (REFERENCE_DIR, CHECKS_DIR)
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
    result, error = None, None
    with patched(fn, replacements), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the student's error is reported, never raised
            error = exc
        finally:
            sys.setprofile(previous)
    where = student_line(error) if error is not None else ""
    mutated = mutations(spec, case, args, kwargs)
    notes = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return result, error, where, tuple(watch.calls), mutated, notes


@functools.cache
def helper_conventions(key):
    """:func:`rnn_checks.adapter.conventions` of the reference ``key`` (a graded function's spec key)."""
    from .specs import spec_of  # the specs import rnn_ref's modules: only when a helper is bound

    return conventions(spec_of(key))


def reference_helpers(fn, spec):
    """The reference's versions of the helpers ``fn`` builds on, tolerant of the student's conventions."""
    namespace = getattr(fn, "__globals__", None)
    namespace = namespace if isinstance(namespace, dict) else {}
    name = getattr(fn, "__name__", spec.key)
    return {
        helper: tolerant(reference_function(key), helper_conventions(key), namespace.get(helper), name)
        for helper, key in spec.builds_on.items()
    }


def run_case(fn, spec, case, compare, replacements=None):
    """Run one case: with the reference's helpers first, then the student's own (see the module docstring)."""
    name = getattr(fn, "__name__", spec.key)
    if replacements is None:
        replacements = reference_helpers(fn, spec)
    attempts = [replacements]
    namespace = getattr(fn, "__globals__", {})
    if replacements and any(n in namespace for n in replacements):
        attempts.append({})
    runs = []
    for attempt in attempts:
        result, error, where, calls, mutated, notes = call(fn, spec, case, attempt)
        problems: list[Problem] = []
        outputs = None
        if error is None:
            outputs, problem = as_outputs(spec, result, name)
            problems = [problem] if problem else compare(outputs)
        raised = Raised.of(error) if error is not None else None
        runs.append(Run(outputs, raised, where, calls, mutated, notes, problems))
        if calls or runs[-1].passed:
            break
    return choose(runs)
