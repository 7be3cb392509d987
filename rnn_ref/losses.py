r"""Losses with their gradients, masked per time step.

Each loss returns ``(loss, dlogits)`` or ``(loss, dpred)``: the value and its
gradient with respect to the first argument, ready for a backward pass.  The
loss is a **mean over the valid steps** (or elements) only: a padded step
contributes nothing to the loss, its gradient is zero, and it does not count
in the denominator, so a batch's loss does not depend on how much padding it
carries.
"""

import numpy as np

from ._checks import as_array


def _check_floating(name, array):
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} has dtype {array.dtype}, expected a floating dtype (float32 or float64)")


def _check_loss_mask(mask, shape, expected):
    """The mask as bools of ``shape`` (all True when None)."""
    if mask is None:
        if 0 in shape:
            raise ValueError(f"there are no steps ({expected} = {shape}): the mean loss over zero steps is undefined")
        return np.ones(shape, dtype=bool)
    mask = as_array("mask", mask)
    if mask.shape != shape:
        raise ValueError(f"mask has shape {mask.shape}, expected {expected} = {shape}")
    if mask.dtype != np.bool_:
        if not np.issubdtype(mask.dtype, np.integer) or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"mask has dtype {mask.dtype}, expected bool (or 0/1 integers)")
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("mask has no valid step: the mean loss over zero steps is undefined")
    return mask


def softmax_cross_entropy(logits, targets, mask=None):
    r"""Mean cross-entropy of a softmax over ``V`` classes, at every valid step.

    Parameters
    ----------
    logits : ndarray, shape (T, N, V), or (N, V) for a single step
        Unnormalized scores (the output layer's pre-activation).
    targets : ndarray of int, shape (T, N), or (N,)
        The correct class of each step, in ``[0, V)`` at valid steps; at
        padded steps any integer is accepted and ignored (``-100``, PyTorch's
        ``ignore_index``, for example).
    mask : ndarray of bool, shape (T, N), or (N,), optional
        True at valid steps.  None means every step is valid.

    Returns
    -------
    loss : float (NumPy scalar of the logits' dtype)
        Mean of :math:`-\log p_{t,n}[y_{t,n}]` over the valid steps.
    dlogits : ndarray, same shape and dtype as ``logits``
        Zero at padded steps.

    Raises
    ------
    ValueError
        On bad shapes or dtypes, a target outside ``[0, V)`` at a valid step,
        or a mask with no valid step.

    Notes
    -----
    With :math:`M` valid steps, computed through the log-sum-exp (shifted by
    the maximum, so that ``exp`` cannot overflow and ``log`` never sees 0):

    .. math::
        \log p_k = a_k - m - \log \textstyle\sum_j e^{a_j - m}, \quad m = \max_j a_j, \qquad
        L = -\frac{1}{M} \sum_{\text{valid } (t, n)} \log p_{t,n}[y_{t,n}]

    and the gradient, the famous "prediction minus target":

    .. math::
        \frac{\partial L}{\partial a_{t,n,k}} = \frac{1}{M}\big(p_{t,n,k} - [k = y_{t,n}]\big)
        \text{ at valid steps}, \quad 0 \text{ at padded steps}
    """
    logits = as_array("logits", logits)
    targets = as_array("targets", targets)
    if logits.ndim not in (2, 3):
        raise ValueError(f"logits has shape {logits.shape} ({logits.ndim} dimensions), expected (T, N, V) or (N, V)")
    _check_floating("logits", logits)
    if logits.shape[-1] == 0:
        raise ValueError(f"logits has shape {logits.shape}, expected at least one class (V >= 1)")
    lead = logits.shape[:-1]  # (T, N) or (N,)
    lead_letters = "(T, N)" if logits.ndim == 3 else "(N,)"
    if targets.shape != lead:
        raise ValueError(f"targets has shape {targets.shape}, expected {lead_letters} = {lead} to match logits")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets has dtype {targets.dtype}, expected integer class indices")
    mask = _check_loss_mask(mask, lead, lead_letters)
    V = logits.shape[-1]
    bad = mask & ((targets < 0) | (targets >= V))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"targets[{', '.join(map(str, index))}] = {targets[index]} at a valid step, "
            f"expected a class in [0, V) = [0, {V})"
        )

    y = np.where(mask, targets, 0)  # (T, N): any valid index at padded steps, masked out below
    with np.errstate(over="ignore"):  # only for |a| near 1e308: a - m = -inf is right (p = 0)
        shifted = logits - logits.max(axis=-1, keepdims=True)  # (T, N, V), max 0: exp cannot overflow
    exp_shifted = np.exp(shifted)
    sum_exp = exp_shifted.sum(axis=-1, keepdims=True)  # (T, N, 1), at least 1
    log_p = shifted - np.log(sum_exp)  # (T, N, V)
    log_p_target = np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]  # (T, N): log_p[t, n, y[t, n]]
    M = mask.sum()
    loss = -np.sum(log_p_target, where=mask) / M

    dlogits = exp_shifted / sum_exp  # softmax p, (T, N, V)
    # p - onehot(y): subtract 1 at the target of every step, dlogits[t, n, y[t, n]] -= 1
    np.put_along_axis(dlogits, y[..., None], np.take_along_axis(dlogits, y[..., None], axis=-1) - 1, axis=-1)
    dlogits *= mask[..., None] / logits.dtype.type(M)  # zero at padded steps, 1/M at valid ones
    return logits.dtype.type(loss), dlogits


def mse(pred, target, mask=None):
    r"""Mean squared error over the valid elements.

    Parameters
    ----------
    pred : ndarray, any shape, for example (T, N, K)
    target : ndarray, same shape and dtype as ``pred``
    mask : ndarray of bool, optional
        Either the shape of ``pred`` (one flag per element) or its leading
        dimensions, for example (T, N) for a ``pred`` of shape (T, N, K): a
        False there masks all ``K`` outputs of that step.

    Returns
    -------
    loss : float (NumPy scalar of ``pred``'s dtype)
    dpred : ndarray, same shape and dtype as ``pred``
        Zero at masked elements.

    Notes
    -----
    With :math:`M` valid elements (a masked step of ``K`` outputs removes
    ``K`` of them), as ``torch.nn.functional.mse_loss`` on the valid elements:

    .. math::
        L = \frac{1}{M} \sum_{\text{valid } k} (\hat y_k - y_k)^2, \qquad
        \frac{\partial L}{\partial \hat y_k} = \frac{2}{M} (\hat y_k - y_k)
    """
    pred = as_array("pred", pred)
    target = as_array("target", target)
    _check_floating("pred", pred)
    if target.shape != pred.shape:
        raise ValueError(f"target has shape {target.shape}, expected the shape of pred, {pred.shape}")
    _check_floating("target", target)
    if target.dtype != pred.dtype:
        raise ValueError(
            f"target has dtype {target.dtype} but pred has dtype {pred.dtype}: cast one of them with .astype"
        )
    if pred.size == 0:
        raise ValueError(f"pred has shape {pred.shape}: the mean over zero elements is undefined")
    if mask is not None:  # a mask of the leading dimensions is broadcast over the trailing ones
        ndim = np.ndim(mask)
        if ndim > pred.ndim:
            raise ValueError(
                f"mask has shape {np.shape(mask)}, expected the shape of pred {pred.shape} or a prefix of it"
            )
        mask = _check_loss_mask(mask, pred.shape[:ndim], "a prefix of pred's shape")
        mask = np.broadcast_to(mask.reshape(mask.shape + (1,) * (pred.ndim - ndim)), pred.shape)  # (like pred)
    else:
        mask = np.ones(pred.shape, dtype=bool)
    M = mask.sum()
    diff = np.where(mask, pred - target, 0)  # zero at masked elements
    loss = np.sum(diff * diff) / M
    dpred = (2 / pred.dtype.type(M)) * diff
    return pred.dtype.type(loss), dpred.astype(pred.dtype, copy=False)
