"""What happened when a student's function ran on one case, as data.

The notebooks' tests run the function in their own process
(:mod:`rnn_checks.running`); the judge receives the same facts from a
sandbox.  Either way they end up in a :class:`Run`: the returned values, the
exception (as a :class:`Raised`, never the exception object itself), the
calls into the reference, the arguments modified in place, the warnings, and
the comparisons that failed.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np

from .compare import Problem


class Raised(NamedTuple):
    """An exception, as data: its type's name, its message, and the builtin classes it derives from."""

    type: str  # "ValueError", or the name of the student's own class
    message: str
    bases: tuple = ()  # names of builtin exception classes in its MRO ("KeyError", "LookupError", ...)

    @classmethod
    def of(cls, exc):
        """The record of an exception object (its ``__str__`` may raise: it is the student's)."""
        try:
            message = str(exc)
        except Exception:
            message = "<unprintable>"
        bases = tuple(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
        return cls(type(exc).__name__, message, bases)

    def is_a(self, name):
        """True when the exception is, or derives from, the builtin class ``name``."""
        return self.type == name or name in self.bases

    def __str__(self):
        return self.message


class Run(NamedTuple):
    """What happened when the student's function ran on one case."""

    outputs: tuple | None  # the returned values, one per name of spec.outputs
    error: Raised | None
    where: str  # the line of the student's code that raised
    calls: tuple  # rnn_ref functions called that are not allowed
    mutated: tuple  # arguments modified in place
    warnings: tuple
    problems: list  # comparisons that failed

    @property
    def passed(self):
        """Right on this case: no error, every output agrees, nothing modified (and nothing of the reference called)."""
        return not self.calls and self.error is None and not self.problems and not self.mutated


def choose(runs):
    """The run that counts among the attempts of one case (with the reference's helpers, then the student's own).

    A run that calls the reference counts at once; else the first that passes; else the first.
    """
    first = None
    for run in runs:
        if run.calls or run.passed:
            return run
        first = first or run
    return first


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
    try:
        return bool(a == b)
    except Exception:  # a value whose comparison raises or is ambiguous has changed, as far as we can tell
        return False


def mutations(spec, case, args_after, kwargs_after):
    """Paths of the arguments of ``case`` whose content differs in ``args_after``/``kwargs_after`` (the first of each).

    Named as in the reference's signature (``dh``, ``params['W_x']``, ``cache.c``).
    """
    params = list(inspect.signature(spec.reference).parameters)
    names = [params[i] if i < len(params) else f"argument {i}" for i in range(len(case.args))] + list(case.kwargs)
    pristine = tuple(case.args) + tuple(case.kwargs.values())
    given = tuple(args_after) + tuple(kwargs_after.values())
    if len(given) != len(pristine):
        return ()
    changed = []
    for name, before, after in zip(names, pristine, given, strict=True):
        old, new = dict(_leaves(before, name)), dict(_leaves(after, name))
        diff = [path for path in old if path not in new or not _same(old[path], new[path])]
        if diff:
            changed.append(diff[0])
    return tuple(changed)
