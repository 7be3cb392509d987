"""Helpers shared by the cell tests: central differences, exact comparison, bad-input checks.

Nothing here imports :mod:`rnn_ref`, so the numerical gradient is an
independent instrument: it only ever calls a forward function.
"""

import re

import numpy as np
import pytest


def numerical_gradient(f, x, eps=1e-6):
    r"""Central-difference gradient of a scalar function of one array.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.  It receives a fresh copy at every call, so even an
        ``f`` that modified its argument could not corrupt the next evaluation.
    x : ndarray, float64
        The point at which to differentiate.  Never modified.
    eps : float
        Step size.

    Returns
    -------
    grad : ndarray, float64, same shape as ``x``

    Notes
    -----
    .. math:: \frac{\partial f}{\partial x_k} \approx \frac{f(x + \epsilon e_k) - f(x - \epsilon e_k)}{2 \epsilon}

    The truncation error is :math:`O(\epsilon^2)` and the rounding error
    :math:`O(u / \epsilon)`: both about ``1e-10`` in float64 with ``eps = 1e-6``.
    In float32 the rounding error alone would be about ``1e-1``, so float32 is refused.
    """
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"numerical gradients need float64, got {x.dtype}")
    point = x.copy()
    grad = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + eps
        f_plus = f(point.copy())
        point[index] = original - eps
        f_minus = f(point.copy())
        point[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def check_gradients(loss, inputs, analytic, *, rtol=1e-6, atol=1e-8):
    """Compare ``analytic[name]`` with the numerical gradient of ``loss`` for every input.

    Parameters
    ----------
    loss : callable
        ``loss(inputs) -> float`` where ``inputs`` is a dict of float64 arrays.
    inputs : dict of ndarray
        The point; every entry is differentiated.  Never modified.
    analytic : dict of ndarray
        The gradients to check, with the keys of ``inputs``.
    """
    assert sorted(analytic) == sorted(inputs), f"gradients for {sorted(analytic)}, inputs {sorted(inputs)}"
    for name, value in inputs.items():

        def loss_of(v, name=name):
            return loss({**inputs, name: v})

        numeric = numerical_gradient(loss_of, value)
        assert analytic[name].shape == value.shape, f"d{name} has shape {analytic[name].shape}, expected {value.shape}"
        np.testing.assert_allclose(analytic[name], numeric, rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


def assert_same(actual, expected, path="value"):
    """Exact, recursive equality of arrays, dicts, tuples (NamedTuples included), lists and scalars.

    Arrays must agree in dtype, shape and every bit (NaNs compare equal).
    """
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{path}: {type(actual).__name__} instead of ndarray"
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{path}: shape {actual.shape} != {expected.shape}"
        np.testing.assert_array_equal(actual, expected, err_msg=path)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {type(actual).__name__} instead of dict"
        assert sorted(actual) == sorted(expected), f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected), f"{path}: {type(actual).__name__} != {type(expected).__name__}"
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        fields = getattr(expected, "_fields", range(len(expected)))
        for field, a, e in zip(fields, actual, expected, strict=True):
            assert_same(a, e, f"{path}.{field}")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def arrays_in(value):
    """Every ndarray inside a (nested) tuple, dict or array: for dtype and aliasing checks."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from arrays_in(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from arrays_in(item)


# --- bad input ---------------------------------------------------------------------------------


def expect_value_error(call, name, *fragments):
    """``call()`` raises ValueError naming ``name`` (as a whole word) and containing every fragment."""
    pattern = r"(?<![\w'\[])" + re.escape(name) + r"(?![\w'])"
    with pytest.raises(ValueError, match=pattern) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in the message {message!r}"
    return message


def expect_shape_error(call, name, bad, expected):
    """``call()`` raises ValueError naming ``name`` and its shape ``bad``.

    With ``expected`` (a fragment such as ``"expected (N, H) = (2, 5)"``) the message must say
    ``"<name> has shape <bad>"`` and state that expected shape.  With ``expected=None`` the wrong
    argument was the first to mention a dimension letter, so the message blames a later argument and
    must say where the size came from: ``"from <name> of shape <bad>"``.
    """
    if expected is None:
        fragments = [f"from {name} of shape {bad}"]
    else:
        fragments = [f"{name} has shape {bad}", expected]
    return expect_value_error(call, name, *fragments)


def shape_cases(arguments, *, bound_first=(), free=(), expected_for=None):
    """``pytest.param(name, bad_shape, expected_fragment)`` for every axis one too long, and a wrong rank.

    Parameters
    ----------
    arguments : dict
        ``name -> (valid shape, spec string such as "(N, H)")``.
    bound_first : set of (name, axis)
        Axes whose letter the argument is the first to mention (``N`` of ``x``, ``H`` and ``D`` of
        ``params['W_x']``): a wrong size there is only seen at a later argument, and the message must
        name this one as the origin of the size (``expected_fragment`` is None).
    free : set of (name, axis)
        Axes that nothing else constrains (T of ``xs``): any size is right, no case.
    expected_for : dict, optional
        ``(name, axis) -> fragment`` where the expected shape cannot be given in numbers.
    """
    cases = []
    for name, (shape, spec) in arguments.items():
        for axis in range(len(shape)):
            if (name, axis) in free:
                continue
            bad = tuple(size + (i == axis) for i, size in enumerate(shape))
            expected = (expected_for or {}).get((name, axis), f"expected {spec} = {shape}")
            if (name, axis) in bound_first:
                expected = None
            cases.append(pytest.param(name, bad, expected, id=f"{name}-axis{axis}"))
        cases.append(pytest.param(name, shape + (1,), f"expected {len(shape)} dimensions {spec}", id=f"{name}-rank"))
    return cases
