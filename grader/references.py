"""Where the references live: what a judge's view of rnn_ref keeps for a graded function, and what it stubs.

Keys name a function of :mod:`rnn_ref` by module and name (``"lstm.lstm_forward"``),
as :mod:`rnn_checks` does; a key may name a function that another module defines
and re-exports, so the views (:mod:`grader.views`) work with *locations*, the
module that defines it.  What a graded function builds on and may call comes
from its :class:`rnn_checks.Spec`.
"""

from __future__ import annotations

import importlib

import rnn_checks


def locate(key):
    """``"module.name"`` of the module of rnn_ref that defines ``key`` (``"module.*"`` stays as it is)."""
    module, _, name = key.partition(".")
    if name == "*":
        return key
    try:
        reference = getattr(importlib.import_module(f"rnn_ref.{module}"), name)
    except (ImportError, AttributeError):
        return key
    return f"{reference.__module__.split('.', 1)[1]}.{reference.__name__}"


def allowed(key):
    """What the graded function may call, located (``rnn_checks.ALWAYS_ALLOWED`` and the spec's ``allowed``)."""
    return tuple(locate(k) for k in rnn_checks.ALWAYS_ALLOWED + tuple(rnn_checks.spec(key).allowed))


def builds_on(key):
    """Helper name in the notebook -> located reference, bound while ``key`` is graded."""
    return {name: locate(k) for name, k in rnn_checks.spec(key).builds_on.items()}


def available(key):
    """Everything a view for ``key`` must keep working (the seeds of :mod:`grader.views`)."""
    return tuple(sorted(set(allowed(key)) | set(builds_on(key).values())))


def conventions(key):
    """Helper name in the notebook -> what its reference expects of its arguments (``rnn_checks.conventions``)."""
    return {name: rnn_checks.conventions(k) for name, k in rnn_checks.spec(key).builds_on.items()}
