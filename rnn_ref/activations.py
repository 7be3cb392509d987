r"""Activation functions, computed in the dtype of their input.

``sigmoid`` never warns for a finite input: where ``exp`` overflows or
underflows, the limit it produces is the right answer (see its Notes).
"""

import numpy as np


def _real(a, name="a"):
    """``a`` as an ndarray of real numbers; ValueError for None, strings, objects and complex numbers."""
    a = np.asarray(a)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise ValueError(f"{name} has dtype {a.dtype}, expected real numbers (float32 or float64)")
    return a


def sigmoid(a, out=None):
    r"""Logistic sigmoid, numerically stable for every finite input.

    Parameters
    ----------
    a : ndarray, any shape (integers are computed in float64)
    out : ndarray, optional
        Where to write the result (it may be ``a`` itself); same shape as ``a``.

    Returns
    -------
    s : ndarray, same shape and dtype as ``a`` (float64 for integer input), values in [0, 1]

    Notes
    -----
    .. math:: \sigma(a) = \frac{1}{1 + e^{-a}}

    For very negative ``a`` (below about -709 in float64, -88 in float32)
    :math:`e^{-a}` overflows to ``inf``, and :math:`1 / (1 + \infty) = 0` is
    the correctly rounded limit; for very positive ``a`` it underflows to 0 and
    the result is 1.  Both are right, so the two floating-point warnings are
    silenced here and nowhere else.  Written as four in-place steps because the
    LSTM and GRU call it on every time step.
    """
    a = _real(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)  # integers and bools: compute in floating point, never truncate
    if out is None:
        out = np.empty_like(a)
    elif not isinstance(out, np.ndarray) or out.shape != a.shape or out.dtype != a.dtype:
        raise ValueError(
            f"out has shape {np.shape(out)} and dtype {getattr(out, 'dtype', type(out).__name__)}, "
            f"expected an ndarray of shape {a.shape} and dtype {a.dtype}, like a"
        )
    with np.errstate(over="ignore", under="ignore"):
        np.negative(a, out=out)
        np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    return out


def tanh(a):
    r"""Hyperbolic tangent, :math:`\tanh(a) = (e^a - e^{-a}) / (e^a + e^{-a})`.

    Parameters
    ----------
    a : ndarray, any shape (integers are computed in float64)

    Returns
    -------
    ndarray, same shape and dtype as ``a`` (float64 for integer input), values in [-1, 1]
    """
    a = _real(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)  # as in sigmoid (NumPy alone would give float16 for bools and int8)
    return np.tanh(a)


def softmax(logits, axis=-1):
    r"""Softmax along ``axis``, shifted by the maximum so ``exp`` cannot overflow.

    Parameters
    ----------
    logits : ndarray, shape (..., V)
    axis : int

    Returns
    -------
    p : ndarray, same shape and dtype, non-negative, summing to 1 along ``axis``

    Notes
    -----
    .. math:: p_k = \frac{e^{a_k - \max_j a_j}}{\sum_l e^{a_l - \max_j a_j}}
    """
    logits = _real(logits, "logits")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -logits.ndim <= axis < logits.ndim:
        raise ValueError(f"axis must be an int in [-{logits.ndim}, {logits.ndim}) for logits of shape {logits.shape}")
    if logits.shape[axis] == 0:
        raise ValueError(f"logits has shape {logits.shape}: a softmax over zero classes (axis {axis}) is undefined")
    with np.errstate(over="ignore", under="ignore"):
        # logits spanning more than the float range give -inf here, whose exp is the right 0
        shifted = logits - logits.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)
