"""Input validation shared by every public function of :mod:`rnn_ref`.

The numerical modules stay readable because they delegate every "is this the
right shape?" question to :class:`Dims`.  A shape is written with the dimension
letters of the notation table, for example ``("T", "N", "D")`` or
``("4H", "D")``; the first array that mentions a letter binds it, and every
later mention must agree.  A mismatch raises ``ValueError`` naming the argument,
the shape it had and the shape it should have had, e.g.::

    ValueError: h0 has shape (3, 7), expected (N, H) = (4, 7)

so that a student never has to decode a broadcasting error from deep inside
NumPy.
"""

from __future__ import annotations

import functools
import re

import numpy as np

_TERM = re.compile(r"^(\d*)([A-Z])$")


@functools.cache  # every term of every checked array comes here: parse each spelling once
def _parse(term):
    """Split a shape term like ``"4H"`` into ``(4, "H")``; ints stay ints."""
    if isinstance(term, (int, np.integer)):
        return int(term), None
    match = _TERM.match(term)
    if match is None:  # pragma: no cover - programming error in rnn_ref itself
        raise AssertionError(f"bad shape term {term!r}")
    coefficient, letter = match.groups()
    return int(coefficient or 1), letter


def as_array(name, value):
    """``np.asarray(value)``; a value NumPy cannot read (a ragged list) raises ValueError naming ``name``."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} cannot be read as an array: {error}") from None


def _spec_str(spec):
    return "(" + ", ".join(str(t) for t in spec) + ("," if len(spec) == 1 else "") + ")"


class Dims:
    """Bind dimension letters (``T, N, D, H, ...``) while checking arrays.

    Parameters
    ----------
    **known : int
        Letters whose sizes are already known, for example ``G=4``.
    """

    def __init__(self, **known):
        self.sizes = dict(known)
        self.bound_by = {}  # letter -> (name, shape) of the array that fixed its size
        self.dtype = None
        self.dtype_from = None

    def _expected(self, spec):
        """The expected shape, with ``None`` for letters not yet bound."""
        out = []
        for term in spec:
            coefficient, letter = _parse(term)
            if letter is None:
                out.append(coefficient)
            elif letter in self.sizes:
                out.append(coefficient * self.sizes[letter])
            else:
                out.append(None)
        return out

    def array(self, name, value, spec, *, floating=True):
        """Check ``value`` against ``spec``; return it as an ndarray.

        Parameters
        ----------
        name : str
            The argument's name, as the caller wrote it (``"xs"``,
            ``"params['W_x']"``).
        value : array_like
        spec : tuple of int or str
            The expected shape in dimension letters.
        floating : bool
            Require a floating dtype that agrees with every other floating
            array checked by this ``Dims``.
        """
        if value is None:
            raise ValueError(f"{name} is None, expected an array of shape {_spec_str(spec)}")
        array = as_array(name, value)
        if array.ndim != len(spec):
            raise ValueError(
                f"{name} has shape {array.shape} ({array.ndim} dimensions), "
                f"expected {len(spec)} dimensions {_spec_str(spec)}"
            )
        for axis, term in enumerate(spec):
            coefficient, letter = _parse(term)
            size = array.shape[axis]
            if letter is not None and letter not in self.sizes:
                if size % coefficient:
                    raise ValueError(
                        f"{name} has shape {array.shape}, expected {_spec_str(spec)}: "
                        f"axis {axis} has size {size}, which is not a multiple of {coefficient}"
                    )
                self.sizes[letter] = size // coefficient
                self.bound_by[letter] = (name, array.shape)
        expected = tuple(self._expected(spec))
        if array.shape != expected:
            raise ValueError(
                f"{name} has shape {array.shape}, expected {_spec_str(spec)} = {expected}" + self._origin(spec, name)
            )
        if floating:
            self._check_dtype(name, array)
        return array

    def _origin(self, spec, name):
        """Say where the sizes came from, since the earlier array may be the wrong one."""
        notes, seen = [], set()
        for term in spec:
            _, letter = _parse(term)
            if letter in self.bound_by and self.bound_by[letter][0] != name and letter not in seen:
                seen.add(letter)
                source, shape = self.bound_by[letter]
                notes.append(f"{letter} = {self.sizes[letter]} from {source} of shape {shape}")
        return f" ({'; '.join(notes)})" if notes else ""

    def _check_dtype(self, name, array):
        if array.dtype not in (np.float32, np.float64):  # float16 is too coarse for gradients, longdouble not portable
            raise ValueError(f"{name} has dtype {array.dtype}, expected a floating dtype (float32 or float64)")
        if self.dtype is None:
            self.dtype, self.dtype_from = array.dtype, name
        elif array.dtype != self.dtype:
            raise ValueError(
                f"{name} has dtype {array.dtype} but {self.dtype_from} has dtype {self.dtype}: "
                "all arrays must share one dtype (cast them with .astype)"
            )

    def params(self, params, specs, *, name="params"):
        """Check a parameter dict: exactly the keys of ``specs``, each of its shape.

        Returns a new dict of ndarrays (the caller's dict is never modified).
        """
        if not isinstance(params, dict):
            raise ValueError(f"{name} must be a dict of arrays, got {type(params).__name__}")
        missing = [key for key in specs if key not in params]
        extra = [key for key in params if key not in specs]
        if missing or extra:
            raise ValueError(
                f"{name} has keys {sorted(params)}, expected {sorted(specs)}"
                + (f" (missing {missing})" if missing else "")
                + (f" (unexpected {extra})" if extra else "")
            )
        return {key: self.array(f"{name}[{key!r}]", params[key], spec) for key, spec in specs.items()}


def check_mask(mask, T, N, *, name="mask"):
    """Check a mask ``(T, N)`` of bools; return it as a bool ndarray.

    ``None`` means every step of every sequence is valid.
    """
    if mask is None:
        return None
    array = as_array(name, mask)
    if array.shape != (T, N):
        raise ValueError(f"{name} has shape {array.shape}, expected (T, N) = {(T, N)}")
    if array.dtype != np.bool_:
        if not np.issubdtype(array.dtype, np.integer) or not np.isin(array, (0, 1)).all():
            raise ValueError(f"{name} has dtype {array.dtype}, expected bool (or 0/1 integers)")
        array = array.astype(bool)
    return array


def check_choice(name, value, choices):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}, expected one of {', '.join(map(repr, choices))}")
    return value
