"""The cases of a grade: random inputs of several sizes, and the reference's outputs on them.

Used by :mod:`rnn_ref.testing`.
"""

from __future__ import annotations

import copy
import zlib
from typing import NamedTuple

import numpy as np

from ._specs import FLOAT32_ATOL, FLOAT32_RTOL, FLOAT64_ATOL, SPECS

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


def spec_of(key):
    if key not in SPECS:
        close = [k for k in SPECS if k.split(".")[-1] == str(key).split(".")[-1]]
        raise ValueError(f"unknown reference {key!r}" + (f"; did you mean {' or '.join(close)}?" if close else ""))
    return SPECS[key]


def cases(spec, hidden):
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
