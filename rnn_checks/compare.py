"""Comparing a student's outputs with the reference's: which output, which entry, how far.

Every comparison is between values (arrays, dicts and tuples of arrays): no
code of the student runs here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .cases import tolerance


class Problem(NamedTuple):
    """One output that disagrees."""

    label: str  # "h", "grads['W_x']"
    kind: str  # "shape", "dtype", "value", "type"
    detail: str  # the message, without numbers from the inputs
    values: str = ""  # expected and got (shown in visible tests only)
    expected: object = None
    got: object = None


def fmt(x):
    return f"{x:.6g}"


def index(k):
    return "[" + ", ".join(str(int(i)) for i in k) + "]"


def compare_value(label, expected, got, rtol, atol, problems, check_dtype=True):
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
                compare_value(f"{label}[{key!r}]", expected[key], got[key], rtol, atol, problems, check_dtype)
        return
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            text = f"{label} should be a tuple of {len(expected)} arrays, got {type(got).__name__}"
            problems.append(Problem(label, "type", text))
            return
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            compare_value(f"{label}[{i}]", e, g, rtol, atol, problems, check_dtype)
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
    at = f" at {label}{index(k)}" if expected.ndim else ""
    count = f"{int(bad.sum())} of {bad.size} entries differ; worst" if expected.ndim else "differs"
    if abs(e64[k]) > 1e-8:
        text = f"{label}: {count}{at}, relative error {error / abs(e64[k]):.2g}"
    else:
        text = f"{label}: {count}{at}, absolute error {error:.2g}"
    if not np.isfinite(g64).all():
        text += f" ({label} contains {'NaN' if np.isnan(g64).any() else 'inf'})"
    values = f"expected {fmt(e64[k])}, got {fmt(g64[k])}"
    problems.append(Problem(label, "value", text, values, expected, g))


def compare_all(spec, expected_outputs, got_outputs, dtype):
    rtol, atol = tolerance(spec, dtype)
    problems = []
    for label, e, g in zip(spec.outputs, expected_outputs, got_outputs, strict=True):
        if label is not None and e is not None:
            compare_value(label, e, g, rtol, atol, problems)
    return problems


def compare_named(spec, expected, outputs, dtype):
    expected_full = tuple(expected.get(label) if label else None for label in spec.outputs)
    return compare_all(spec, expected_full, outputs, dtype)


def outputs_close(spec, a, b, dtype):
    """True when two sets of outputs agree (used to match a typical mistake)."""
    return not compare_all(spec, a, b, dtype)
