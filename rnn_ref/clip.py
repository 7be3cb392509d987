r"""Gradient clipping, the standard remedy for exploding gradients.

Two rules, both as in PyTorch, both returning a *new* dict (the gradients
passed in are never modified):

* :func:`clip_grad_norm` rescales *all* gradients together when their global
  L2 norm exceeds ``max_norm`` (Pascanu et al. 2013): the direction of the
  update is kept, only its length is capped.
* :func:`clip_grad_value` clamps every entry to ``[-clip_value, clip_value]``:
  simpler, but it changes the direction of the update.
"""

import numpy as np

from ._checks import as_array


def _check_grads(grads):
    if not isinstance(grads, dict):
        raise ValueError(f"grads must be a dict of arrays, got {type(grads).__name__}")
    checked = {}
    for key, value in grads.items():
        if value is None:
            raise ValueError(f"grads[{key!r}] is None, expected an array")
        array = as_array(f"grads[{key!r}]", value)
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"grads[{key!r}] has dtype {array.dtype}, expected a floating dtype (float32 or float64)")
        checked[key] = array
    return checked


def _check_positive(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not 0 < value < np.inf
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def clip_grad_norm(grads, max_norm):
    r"""Rescale all gradients together so that their global L2 norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str to ndarray
        Any keys and shapes (``W_x``, ``W_h``, ``b``, ...).  Not modified.
    max_norm : float
        Positive.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays, same keys, shapes and dtypes.
    total_norm : float
        The global norm *before* clipping (worth logging: it shows explosions).

    Notes
    -----
    Exactly ``torch.nn.utils.clip_grad_norm_`` with ``norm_type=2``:

    .. math::
        \|g\| = \sqrt{\textstyle\sum_p \sum_k g_{p,k}^2}, \qquad
        \text{coef} = \min\!\Big(1, \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\Big), \qquad
        g_p \leftarrow \text{coef} \cdot g_p

    The :math:`10^{-6}` keeps the division finite when every gradient is
    zero; below ``max_norm`` the coefficient is exactly 1 and the gradients
    come back unchanged.  A NaN or inf gradient gives a NaN or inf norm and
    NaN gradients, as in PyTorch (its default ``error_if_nonfinite=False``).
    """
    grads = _check_grads(grads)
    max_norm = _check_positive("max_norm", max_norm)
    # The norm of the per-array norms is the norm of everything concatenated.
    norms = [np.linalg.norm(g.ravel()) for g in grads.values()]
    total_norm = float(np.linalg.norm(norms)) if norms else 0.0
    clip_coef = min(max_norm / (total_norm + 1e-6), 1.0)  # NaN if total_norm is NaN, as in torch
    return {key: g * g.dtype.type(clip_coef) for key, g in grads.items()}, total_norm


def clip_grad_value(grads, clip_value):
    r"""Clamp every gradient entry to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    grads : dict of str to ndarray
        Not modified.
    clip_value : float
        Positive.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays, same keys, shapes and dtypes.

    Notes
    -----
    Exactly ``torch.nn.utils.clip_grad_value_``:

    .. math:: g_{p,k} \leftarrow \min(\max(g_{p,k}, -c), c)
    """
    grads = _check_grads(grads)
    clip_value = _check_positive("clip_value", clip_value)
    return {key: np.clip(g, -clip_value, clip_value).astype(g.dtype, copy=False) for key, g in grads.items()}
