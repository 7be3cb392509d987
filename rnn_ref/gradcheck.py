r"""Numerical gradient checking: the first evidence that a backward pass is right.

A backward pass computes :math:`\partial L / \partial \theta` analytically.
Central differences estimate the same numbers from the forward pass alone,

.. math::
    \frac{\partial L}{\partial \theta_k} \approx
    \frac{L(\theta + \varepsilon e_k) - L(\theta - \varepsilon e_k)}{2 \varepsilon},

with an error of about :math:`\varepsilon^2 |L^{(3)}| / 6` from the Taylor
series plus about :math:`u\,|L| / \varepsilon` from rounding (:math:`u` the
unit roundoff).  In float64 (:math:`u \approx 1.1 \times 10^{-16}`) with
:math:`\varepsilon = 10^{-6}` and a loss of order 1, the first is near
:math:`10^{-13}` and the second near :math:`10^{-10}`: far below any real
mistake, but not below a gradient entry that is itself tiny (see
:func:`relative_error`); :math:`\varepsilon = 10^{-5}` balances the two
terms.  In float32 (:math:`u \approx 6 \times 10^{-8}`) the
rounding term alone is near :math:`10^{-1}`: the estimate is noise, so every
function here refuses float32.

The checker never touches the caller's arrays: it perturbs copies.
"""

import numpy as np

_TINY = np.finfo(np.float64).tiny


def _as_float64(name, x):
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise ValueError(
            f"{name} has dtype {x.dtype}, expected float64: a central difference "
            "(f(x + eps) - f(x - eps)) / (2 eps) subtracts two nearly equal numbers, and with the "
            "7 significant digits of float32 (or none, for integers) the result is mostly rounding "
            "noise; cast a copy with .astype(np.float64)"
        )
    return x


def _scalar(value, where):
    """The float value of ``f``'s result; ValueError unless it is a real scalar."""
    array = np.asarray(value)
    if array.ndim != 0 or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(
            f"f must return a real scalar (the loss), got {type(value).__name__} "
            f"with shape {array.shape} and dtype {array.dtype} {where}"
        )
    return float(array)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < np.inf:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def numerical_gradient(f, x, eps=1e-6):
    r"""Gradient of a scalar function by central differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``: the loss as a function of an array shaped like ``x``.
        It is called with a perturbed *copy* of ``x``, never with ``x`` itself.
    x : ndarray, float64, any shape
        The point where the gradient is estimated.  Not modified.
    eps : float
        The step :math:`\varepsilon`.

    Returns
    -------
    grad : ndarray, float64, same shape as ``x``

    Raises
    ------
    ValueError
        If ``x`` is not float64 (see the module docstring: float32 makes the
        estimate noise), if ``eps`` is not positive, or if ``f`` does not
        return a scalar.

    Notes
    -----
    For every index :math:`k` of ``x``, two calls of ``f``:

    .. math::
        g_k = \frac{f(x + \varepsilon e_k) - f(x - \varepsilon e_k)}{2 \varepsilon}

    Cost: ``2 * x.size`` calls, so keep the shapes small.
    """
    if not callable(f):
        raise ValueError(f"f must be a callable f(x) -> float, got {type(f).__name__}")
    x = _as_float64("x", x)
    eps = _check_positive("eps", eps)
    x_work = x.copy()  # the only array we perturb; the caller's x is never touched
    grad = np.empty_like(x_work)
    for k in np.ndindex(x_work.shape):
        original = x_work[k]
        x_work[k] = original + eps
        f_plus = _scalar(f(x_work), f"(at index {k} + eps)")
        x_work[k] = original - eps
        f_minus = _scalar(f(x_work), f"(at index {k} - eps)")
        x_work[k] = original  # restore before the next index
        grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b, *, floor=_TINY):
    r"""Largest elementwise relative error between two arrays.

    Parameters
    ----------
    a, b : array_like, same shape
        Typically an analytic and a numerical gradient.
    floor : float
        Lower bound of the denominator.  The default, the smallest normal
        float64 (about 2.2e-308), only avoids 0 / 0: two exact zeros have
        error 0.  A larger floor makes entries smaller than it count by their
        absolute difference instead (error :math:`|a_k - b_k| / \text{floor}`).

    Returns
    -------
    float
        0 when ``a == b``; at most 1 (1 when the signs differ or one is
        zero) for finite values; ``inf`` when an entry is NaN, so that a NaN
        is never mistaken for agreement.  An empty array gives 0.

    Notes
    -----
    .. math::
        e(a, b) = \max_k \frac{|a_k - b_k|}{\max(|a_k| + |b_k|, \text{floor})}

    Symmetric in ``a`` and ``b`` and unchanged when both are scaled by the
    same positive number, so one tolerance fits gradients of every size.
    Caveat: an entry whose true value is tiny compared with the others (say
    1e-9 where the loss is about 1) is dominated by the rounding noise of the
    numerical estimate (about 1e-10) and shows a large relative error although
    the code is right; raise ``floor`` (1e-4 makes such entries count by their
    absolute error, 1e-10 at tol 1e-6) or build the test so that no gradient
    entry is tiny.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"b has shape {b.shape}, expected the shape of a, {a.shape}")
    for name, array in (("a", a), ("b", b)):
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise ValueError(f"{name} has dtype {array.dtype}, expected real numbers")
    floor = _check_positive("floor", floor)
    if a.size == 0:
        return 0.0
    return float(np.max(_elementwise_error(a.astype(np.float64), b.astype(np.float64), floor)))


def _elementwise_error(a, b, floor):
    """``|a - b| / max(|a| + |b|, floor)``, with NaN (from a NaN or inf - inf) counted as inf."""
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, then replaced
        error = np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)
    return np.where(np.isnan(error), np.inf, error)


def check_gradients(f, params, grads, eps=1e-6, tol=1e-6, *, floor=_TINY):
    r"""Compare analytic gradients with numerical ones, for every key of a dict.

    Parameters
    ----------
    f : callable
        ``f(params) -> float``: the loss as a function of a dict shaped like
        ``params``.  It receives a new dict of copies in which one entry is
        perturbed, never the caller's dict or arrays.
    params : dict of str to ndarray (float64)
        The point of the check.  Any named arrays: weights, and also inputs
        and initial states if ``f`` reads them from the dict (for example
        ``{"xs": xs, "h0": h0, **params}``).  Not modified.
    grads : dict of str to ndarray
        The analytic gradients: exactly the keys of ``params``, same shapes.
        Not modified.
    eps : float
        Step of the central differences.
    tol : float
        Largest accepted :func:`relative_error` for each key.
    floor : float
        Passed to :func:`relative_error` (see the caveat there).

    Returns
    -------
    errors : dict of str to float
        The relative error of each key, all at most ``tol``.

    Raises
    ------
    AssertionError
        If some key's error exceeds ``tol``.  The message names the worst key
        and index with both values, and lists the error of every key.
    ValueError
        If the keys or shapes of ``grads`` differ from those of ``params``,
        or an array of ``params`` is not float64.

    Notes
    -----
    For each key :math:`p` and index :math:`k`, with
    :math:`g^\text{num}` from :func:`numerical_gradient`:

    .. math::
        e_p = \max_k \frac{|g_{p,k} - g^\text{num}_{p,k}|}
                          {\max(|g_{p,k}| + |g^\text{num}_{p,k}|, \text{floor})}
        \le \text{tol}

    Every key is checked before anything is reported, so one message shows
    all failing keys at once.
    """
    if not callable(f):
        raise ValueError(f"f must be a callable f(params) -> float, got {type(f).__name__}")
    for name, value in (("params", params), ("grads", grads)):
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be a dict of arrays, got {type(value).__name__}")
    if set(params) != set(grads):
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        raise ValueError(
            f"grads has keys {sorted(grads)}, expected the keys of params {sorted(params)}"
            + (f" (missing {missing})" if missing else "")
            + (f" (unexpected {extra})" if extra else "")
        )
    eps = _check_positive("eps", eps)
    tol = _check_positive("tol", tol)
    floor = _check_positive("floor", floor)
    work = {key: _as_float64(f"params[{key!r}]", value).copy() for key, value in params.items()}
    analytic = {}
    for key in work:
        g = np.asarray(grads[key])
        if g.shape != work[key].shape:
            raise ValueError(
                f"grads[{key!r}] has shape {g.shape}, expected the shape of params[{key!r}], {work[key].shape}"
            )
        if not np.issubdtype(g.dtype, np.floating):
            raise ValueError(f"grads[{key!r}] has dtype {g.dtype}, expected a floating dtype")
        analytic[key] = g.astype(np.float64)  # a copy: grads are never touched

    errors, worst = {}, None
    for key in work:

        def f_of_one(value, key=key):
            return f({**work, key: value})  # a new dict: the other entries are our own copies

        numeric = numerical_gradient(f_of_one, work[key], eps)
        if numeric.size == 0:
            errors[key] = 0.0
            continue
        elementwise = _elementwise_error(analytic[key], numeric, floor)
        k = np.unravel_index(np.argmax(elementwise), elementwise.shape)
        errors[key] = float(elementwise[k])
        if worst is None or errors[key] > worst[1]:
            worst = (key, errors[key], k, analytic[key][k], numeric[k])

    if worst is not None and worst[1] > tol:
        key, error, k, a, n = worst
        summary = ", ".join(f"{name} {e:.2e}" + (" (FAIL)" if e > tol else "") for name, e in errors.items())
        raise AssertionError(
            f"gradient check failed: worst key {key!r} at index {tuple(int(i) for i in k)}: "
            f"analytic {a:.10g}, numerical {n:.10g}, relative error {error:.2e} > tol {tol:g}. "
            f"Relative error of every key: {summary}"
        )
    return errors
