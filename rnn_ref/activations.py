r"""Activation functions, computed in the dtype of their input.

``sigmoid`` is written so that it never overflows: ``exp`` only ever sees
``-|a|``, which is at most zero.
"""

import numpy as np


def sigmoid(a):
    r"""Logistic sigmoid, numerically stable for every finite input.

    Parameters
    ----------
    a : ndarray, any shape (integers are computed in float64)

    Returns
    -------
    s : ndarray, same shape and dtype as ``a`` (float64 for integer input), values in [0, 1]

    Notes
    -----
    .. math:: \sigma(a) = \frac{1}{1 + e^{-a}} = \frac{e^{a}}{1 + e^{a}}

    The first form overflows in ``exp(-a)`` for very negative ``a``, the second
    for very positive ``a``.  With :math:`e = e^{-|a|} \in (0, 1]` both become
    safe: :math:`\sigma(a) = 1 / (1 + e)` for :math:`a \ge 0` and
    :math:`e / (1 + e)` for :math:`a < 0`.
    """
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)  # integers and bools: compute in floating point, never truncate
    with np.errstate(under="ignore"):  # exp(-|a|) may underflow to 0.0, which is the right value
        e = np.exp(-np.abs(a))  # in [0, 1]: cannot overflow
        s = 1.0 / (1.0 + e)
        return np.where(a >= 0, s, e * s).astype(a.dtype, copy=False)


def tanh(a):
    r"""Hyperbolic tangent, :math:`\tanh(a) = (e^a - e^{-a}) / (e^a + e^{-a})`.

    Parameters
    ----------
    a : ndarray, any shape, floating dtype

    Returns
    -------
    ndarray, same shape and dtype as ``a``, values in [-1, 1]
    """
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
    with np.errstate(over="ignore", under="ignore"):
        # logits spanning more than the float range give -inf here, whose exp is the right 0
        shifted = logits - logits.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)
