"""The reference's version of a helper, called the way the student's code calls its own (inside the sandbox).

The same rules as ``rnn_checks/adapter.py``, which the notebooks' tests use (this runner cannot
import :mod:`rnn_checks`; ``tests/test_grader_adapter.py`` checks that both agree): while a
function is graded, the reference's helper it builds on accepts a tuple, a list or a dict where it
takes its NamedTuple cache, lists where it takes arrays, 1-D rows where it takes a batch, and the
keyword names of the student's own helper; when it still refuses a call, the error says which
helper refused what (never an error from inside rnn_ref).  What each argument is expected to be
comes from the job (``rnn_checks.conventions``, computed outside).
"""

import importlib
import inspect

import numpy as np


def _named_class(path):
    """A NamedTuple class of the view of rnn_ref (nothing else is imported from a name that came in data)."""
    module, _, name = path.rpartition(".")
    if module != "rnn_ref" and not module.startswith("rnn_ref."):
        raise ImportError(module)
    return getattr(importlib.import_module(module), name)


def tolerant(reference, convention, own=None, graded="the graded function"):
    """``reference``, accepting the calling conventions listed in the module docstring.

    Parameters
    ----------
    reference : callable
        The reference's helper (``rnn_ref.rnn.rnn_step_forward``).
    convention : dict
        Its :func:`conventions`.
    own : callable, optional
        The student's own helper of that name (for the keyword names of its signature).
    graded : str
        The name of the function being graded (for the messages).
    """
    signature = inspect.signature(reference)
    own_signature = _signature(own)
    name = convention.get("name", getattr(reference, "__name__", "helper"))

    def helper(*args, **kwargs):
        __tracebackhide__ = True
        bound = _bind(signature, own_signature, args, kwargs)
        if bound is None:
            raise TypeError(
                f"{name} stands for rnn_ref's {name} while {graded} is graded, and it takes "
                f"{name}{signature}: the call {name}({_described(args, kwargs)}) does not fit it"
            )
        rows = _adapt(bound.arguments, convention.get("arguments", {}))
        try:
            result = reference(*bound.args, **bound.kwargs)
        except Exception as exc:  # the reference's checks refused an argument: say so, from here
            message = (
                f"{name} stands for rnn_ref's {name} while {graded} is graded, and it refused the call "
                f"{name}({_described(args, kwargs)}): {exc}"
            )
            raise _same_kind(exc, message) from None
        return _squeezed(result, convention.get("outputs", [])) if rows else result

    helper.__wrapped__ = reference
    helper.__name__ = helper.__qualname__ = name
    return helper


def _signature(fn):
    try:
        return inspect.signature(fn) if callable(fn) else None
    except (TypeError, ValueError):
        return None


def _bind(signature, own_signature, args, kwargs):
    try:
        return signature.bind(*args, **kwargs)
    except TypeError:
        pass
    if own_signature is None or not kwargs:
        return None
    try:  # keyword names of the student's own helper: pass the values in its order
        mine = own_signature.bind(*args, **kwargs)
        return signature.bind(*mine.args, **mine.kwargs)
    except TypeError:
        return None


def _adapt(arguments, expected):
    """Convert ``arguments`` in place; True when 1-D rows were made a batch of one."""
    for key, value in list(arguments.items()):
        kind = expected.get(key)
        if isinstance(kind, dict):
            arguments[key] = _as_named(value, kind)
        elif kind in ("array", "row") and isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            try:
                arguments[key] = np.asarray(value)
            except (ValueError, TypeError):
                pass
    rows = [key for key, kind in expected.items() if kind == "row" and arguments.get(key) is not None]
    if rows and all(isinstance(arguments[key], np.ndarray) and arguments[key].ndim == 1 for key in rows):
        for key in rows:
            arguments[key] = arguments[key][None, :]
        return True
    return False


def _as_named(value, kind):
    try:
        cls = _named_class(kind["named"])
    except (ImportError, AttributeError, ValueError):
        return value
    fields = list(kind["fields"])
    if isinstance(value, cls):
        return value
    if isinstance(value, (tuple, list)) and len(value) == len(fields):
        return cls(*value)
    if isinstance(value, dict) and all(field in value for field in fields):
        return cls(*(value[field] for field in fields))
    if not isinstance(value, (tuple, list, dict)) and all(hasattr(value, field) for field in fields):
        return cls(*(getattr(value, field) for field in fields))
    return value


def _squeezed(result, outputs):
    def squeeze(value, kind):
        if kind == "row" and isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == 1:
            return value[0]
        return value

    if len(outputs) == 1:
        return squeeze(result, outputs[0])
    if isinstance(result, tuple) and not hasattr(result, "_fields") and len(result) == len(outputs):
        return tuple(squeeze(value, kind) for value, kind in zip(result, outputs, strict=True))
    return result


def _described(args, kwargs):
    """The arguments of a call, by type and shape (no values)."""

    def one(value):
        if isinstance(value, np.ndarray):
            return f"array{tuple(value.shape)}"
        if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
            return f"{type(value).__name__} of {len(value)}"
        return type(value).__name__

    return ", ".join([one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()])


def _same_kind(exc, message):
    """An exception of the builtin class of ``exc`` (ValueError, TypeError, ...) with ``message``."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins" and cls not in (KeyError, BaseException, object):
            try:
                return cls(message)
            except Exception:  # a builtin class with another constructor
                break
    return ValueError(message)
