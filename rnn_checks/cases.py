"""The cases of a grade: random inputs of several sizes, the reference's outputs on them, and the
same inputs with one term at a time.

The sizes are fixed (visible and hidden ones, with ``N = 1`` and ``T = 1``
among them, float64 and float32); the values come from a seed.  A function
that computes an activation (a gate, a step, a softmax) also gets a float32
case with large pre-activations (``spec.large``: about +-100, both signs),
where a textbook ``sigmoid``, ``tanh`` or softmax written with ``np.exp``
overflows: ``(e^a - e^-a) / (e^a + e^-a)`` is NaN above about 44 in float32.  The
notebooks' tests use the seeds 1 (visible) and 2 (hidden); the judge draws
its own secret seed, so that no notebook can carry a table of the answers.
"""

from __future__ import annotations

import copy
import inspect
import re
import zlib
from typing import NamedTuple

import numpy as np

from .specs import FLOAT32_ATOL, FLOAT32_RTOL, FLOAT64_ATOL

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


class Case(NamedTuple):
    """One set of inputs."""

    label: str
    args: tuple
    kwargs: dict
    dtype: type


def cases(spec, hidden, seed=None):
    """The visible (``hidden=False``) or hidden cases of ``spec``, every size and every variant.

    With ``seed=None`` the notebooks' fixed seeds; with a seed, the values are drawn from it
    (the judge's), over the same sizes and variants.
    """
    shapes = HIDDEN_SHAPES if hidden else VISIBLE_SHAPES
    made = []
    for i, (dims, dtype) in enumerate(shapes):
        for j, variant in enumerate(spec.variants):
            if seed is None:
                entropy = [2 if hidden else 1, zlib.crc32(spec.key.encode()), i, j]
            else:
                entropy = [seed, zlib.crc32(spec.key.encode()), int(hidden), i, j]
            args, kwargs = spec.make(np.random.default_rng(entropy), dims, dtype, variant)
            sizes = ", ".join(f"{letter}={dims[letter]}" for letter in spec.uses)
            extra = "".join(f", {k}={v}" for k, v in variant.items())
            made.append(Case(f"{sizes}, {np.dtype(dtype).name}{extra}", args, kwargs, dtype))
    if spec.large:  # one more case per variant: the first size, in float32, with large pre-activations
        dims = shapes[0][0]
        for j, variant in enumerate(spec.variants):
            if seed is None:
                entropy = [2 if hidden else 1, zlib.crc32(spec.key.encode()), len(shapes), j]
            else:
                entropy = [seed, zlib.crc32(spec.key.encode()), int(hidden), len(shapes), j]
            args, kwargs = spec.make(np.random.default_rng(entropy), dims, np.float32, variant)
            sizes = ", ".join(f"{letter}={dims[letter]}" for letter in spec.uses)
            extra = "".join(f", {k}={v}" for k, v in variant.items())
            case = Case(f"{sizes}, float32{extra}, {LARGE_LABEL}", args, kwargs, np.float32)
            made.append(enlarge(spec, case))
    return made


LARGE = 100.0  # added to the pre-activations of the large cases, with alternating signs
LARGE_LABEL = "large pre-activations"


def enlarge(spec, case):
    """``case`` with ``+-LARGE`` (alternating along the last axis) added to each of ``spec.large``.

    With the bias (or the logits, or ``c``) shifted so, every row has pre-activations near +100 and
    near -100: ``np.exp`` of either sign overflows float32 (above about 88) in a textbook activation.
    """
    bound = inspect.signature(spec.reference).bind(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    arguments = bound.arguments
    for target in spec.large:
        name, key = re.fullmatch(r"(\w+)(?:\['(\w+)'\])?", target).groups()
        holder, slot = (arguments[name], key) if key is not None else (arguments, name)
        value = holder[slot]
        signs = np.where(np.arange(value.shape[-1]) % 2 == 0, 1.0, -1.0)
        holder[slot] = (value + LARGE * signs).astype(value.dtype)
    return Case(case.label, tuple(bound.args), dict(bound.kwargs), case.dtype)


def timed_case(spec, seed=0):
    """The timed case of ``spec`` (see :class:`~rnn_checks.specs.Spec`), float64, values from ``seed``; or None.

    Only functions that return gradients have one.  Its sizes are large enough that numerical
    differentiation (one or two forward passes per input entry) is orders of magnitude slower than
    backpropagation; a judge times the student's function on it.
    """
    if not spec.timed:
        return None
    dims, index = spec.timed
    dims = {"T": 1, "N": 1, "D": 1, "H": 1, "V": 2, **dims}
    variant = spec.variants[index]
    entropy = [seed, zlib.crc32(spec.key.encode()), 2, index]  # 2: neither the visible (0) nor the hidden (1) sizes
    args, kwargs = spec.make(np.random.default_rng(entropy), dims, np.float64, variant)
    sizes = ", ".join(f"{letter}={dims[letter]}" for letter in spec.uses)
    extra = "".join(f", {k}={v}" for k, v in variant.items())
    return Case(f"{sizes}, float64{extra}", args, kwargs, np.float64)


def tolerance(spec, dtype):
    if np.dtype(dtype) == np.float32:
        return max(spec.rtol, FLOAT32_RTOL), FLOAT32_ATOL
    return spec.rtol, FLOAT64_ATOL


def arrays(value):
    """Every ndarray inside nested tuples, lists, dicts and NamedTuples."""
    if isinstance(value, np.ndarray):
        return [value] if np.issubdtype(value.dtype, np.floating) else []
    if isinstance(value, dict):
        return [a for v in value.values() for a in arrays(v)]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in arrays(v)]
    return []


def reference_outputs(spec, case):
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    result = spec.reference(*args, **kwargs)
    return (result,) if len(spec.outputs) == 1 else tuple(result)


# --- one term at a time --------------------------------------------------------------------------------------

_OPTIONAL = ("mask", "dh_last", "dc_last", "dstate_last", "state0_fwd", "state0_bwd", "dlast_fwd", "dlast_bwd")


def isolated_cases(spec, case):
    """``[(label, case)]``: ``case`` with one term at a time (``spec.isolations``), where that changes it."""
    made = []
    for label, targets in spec.isolations:
        isolated = isolate(spec, case, targets)
        if isolated is not None:
            made.append((label, isolated))
    return made


def isolate(spec, case, targets):
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
            arguments[name] = None  # no mask, no gradient on the final state, zero initial states
        elif key is not None:
            arguments[name][key] = np.zeros_like(arguments[name][key])
        elif head is not None:
            arguments[name][:-1] = 0
        else:
            arguments[name] = np.zeros_like(arguments[name])
    if not changed:
        return None
    return Case(case.label, tuple(bound.args), dict(bound.kwargs), case.dtype)
