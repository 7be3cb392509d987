r"""The vanilla (Elman) RNN cell: one step, a whole sequence, and BPTT.

.. math:: h_t = \tanh(W_x x_t + W_h h_{t-1} + b)

Shapes: ``x`` (N, D), ``h`` (N, H), ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).
One gate, ``G = 1``.  In code the batch is a matrix of rows, so
:math:`W_x x_t` is written ``x @ W_x.T``.

Beside the cell: :func:`output_layer`, the softmax read-out of every hidden
state (chapter 1), and :func:`jacobian_norms`, the norm of
:math:`\partial h_t / \partial h_0` step by step (chapter 3).
"""

from typing import NamedTuple

import numpy as np

from ._checks import Dims
from .activations import softmax
from .masks import resolve_mask

PARAM_SPECS = {"W_x": ("H", "D"), "W_h": ("H", "H"), "b": ("H",)}


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from :func:`rnn_step_forward`."""

    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    h: np.ndarray  # (N, H), the new state; tanh' = 1 - h**2
    params: dict


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from :func:`rnn_forward`."""

    xs: np.ndarray  # (T, N, D)
    h_all: np.ndarray  # (T + 1, N, H): h_all[0] = h0, h_all[t + 1] = state after step t
    mask: np.ndarray | None  # (T, N) bools, or None when every step is valid
    params: dict


def _check_step(x, h_prev, params):
    dims = Dims()
    params = dims.params(params, PARAM_SPECS)
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    return x, h_prev, params


def rnn_step_forward(x, h_prev, params):
    r"""One step of the vanilla RNN.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Input at this step.
    h_prev : ndarray, shape (N, H)
        Hidden state of the previous step.
    params : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Returns
    -------
    h : ndarray, shape (N, H)
        New hidden state.
    cache : RNNStepCache
        For :func:`rnn_step_backward`.

    Notes
    -----
    .. math:: h_t = \tanh(W_x x_t + W_h h_{t-1} + b)
    """
    x, h_prev, params = _check_step(x, h_prev, params)
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, H)
    h = np.tanh(a)
    return h.copy(), RNNStepCache(x, h_prev, h, params)  # the caller may modify h


def rnn_step_backward(dh, cache):
    r"""Backward pass of one RNN step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient of the loss with respect to the step's output ``h``.
    cache : RNNStepCache

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Notes
    -----
    With :math:`a = W_x x + W_h h_{t-1} + b` and :math:`\tanh'(a) = 1 - h^2`:

    .. math::
        \delta a = \delta h \odot (1 - h^2), \quad
        \delta x = \delta a\, W_x, \quad
        \delta h_{t-1} = \delta a\, W_h, \quad
        \delta W_x = \delta a^\top x, \quad
        \delta W_h = \delta a^\top h_{t-1}, \quad
        \delta b = \textstyle\sum_n \delta a_n
    """
    if not isinstance(cache, RNNStepCache):
        raise ValueError(f"cache must be the RNNStepCache returned by rnn_step_forward, got {type(cache).__name__}")
    dims = Dims()
    dims.array("h (from cache)", cache.h, ("N", "H"))
    dh = dims.array("dh", dh, ("N", "H"))
    W_x, W_h = cache.params["W_x"], cache.params["W_h"]
    da = dh * (1 - cache.h**2)  # (N, H)
    grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return da @ W_x, da @ W_h, grads


def rnn_forward(xs, h0, params, mask=None, *, lengths=None):
    r"""Run the vanilla RNN over a whole (padded) sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
        Inputs, time-major.
        ``T = 0`` is allowed: no step runs, ``hs`` is empty, the final state is
        the initial one and the backward returns ``dh0 = dh_last``.  So is ``N = 0``.
    h0 : ndarray, shape (N, H), or None
        Initial state; None means zeros.
    params : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).
    mask : ndarray of bool, shape (T, N), optional
        Valid steps; see :mod:`rnn_ref.masks`.
    lengths : ndarray of int, shape (N,), optional
        Instead of ``mask``: sequence ``n`` is valid for its first ``lengths[n]`` steps.

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        Output at every step (zero at padded steps).
    h_last : ndarray, shape (N, H)
        State of every sequence at its own last valid step.
    cache : RNNCache

    Notes
    -----
    .. math:: h_t = \tanh(W_x x_t + W_h h_{t-1} + b), \quad t = 1, \dots, T

    The input projection :math:`W_x x_t + b` of every step is one matmul
    before the loop; only the recurrent product stays inside it.
    """
    dims = Dims()
    params = dims.params(params, PARAM_SPECS)
    xs = dims.array("xs", xs, ("T", "N", "D"))
    T, N, D = xs.shape
    H = dims.sizes["H"]
    h0 = np.zeros((N, H), xs.dtype) if h0 is None else dims.array("h0", h0, ("N", "H"))
    mask = resolve_mask(mask, lengths, T, N)
    W_h = params["W_h"]

    a_x = (xs.reshape(T * N, D) @ params["W_x"].T).reshape(T, N, H)  # (T, N, H), all steps at once
    a_x += params["b"]
    h_all = np.empty((T + 1, N, H), dtype=xs.dtype)  # h_all[0] = h0
    h_all[0] = h0
    for t in range(T):
        h_new = np.tanh(a_x[t] + h_all[t] @ W_h.T)  # (N, H)
        # a padded step carries the previous state unchanged
        h_all[t + 1] = h_new if mask is None else np.where(mask[t][:, None], h_new, h_all[t])
    hs = h_all[1:].copy() if mask is None else h_all[1:] * mask[:, :, None]  # zero output at padding
    return hs, h_all[T].copy(), RNNCache(xs, h_all, mask, params)


def rnn_backward(dhs, cache, dh_last=None):
    r"""Backpropagation through time for :func:`rnn_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient of the loss with respect to every output ``hs[t]``
        (ignored at padded steps).
    cache : RNNCache
    dh_last : ndarray, shape (N, H), optional
        Gradient with respect to the final state ``h_last``.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,), summed over every step.

    Notes
    -----
    The *total* derivative of the loss with respect to :math:`h_t` collects
    the loss at step :math:`t` and everything that :math:`h_t` influences later:

    .. math::
        \frac{dL}{dh_t} = \frac{\partial L_t}{\partial h_t}
        + \Big(\frac{dL}{dh_{t+1}} \odot (1 - h_{t+1}^2)\Big) W_h

    The loop runs backward in time carrying this sum; the weight gradients are
    one matmul each over all steps after the loop.
    """
    if not isinstance(cache, RNNCache):
        raise ValueError(f"cache must be the RNNCache returned by rnn_forward, got {type(cache).__name__}")
    xs, h_all, mask, params = cache
    T, N, D = xs.shape
    dims = Dims(T=T, N=N, H=h_all.shape[2])
    dims.array("xs (from cache)", xs, ("T", "N", "D"))
    dhs = dims.array("dhs", dhs, ("T", "N", "H"))
    H = dims.sizes["H"]
    dh = np.zeros((N, H), xs.dtype) if dh_last is None else dims.array("dh_last", dh_last, ("N", "H")).copy()
    W_h = params["W_h"]

    da_all = np.empty((T, N, H), dtype=xs.dtype)  # gradient of every pre-activation
    for t in reversed(range(T)):
        if mask is None:
            dh = dh + dhs[t]  # total derivative: from the output at t and from the future
            da_all[t] = dh * (1 - h_all[t + 1] ** 2)
            dh = da_all[t] @ W_h
        else:
            m = mask[t][:, None]  # (N, 1)
            dh = dh + np.where(m, dhs[t], 0)
            da_all[t] = np.where(m, dh * (1 - h_all[t + 1] ** 2), 0)
            dh = np.where(m, da_all[t] @ W_h, dh)  # a padded step passes dh straight through

    da = da_all.reshape(T * N, H)  # (TN, H)
    grads = {
        "W_x": da.T @ xs.reshape(T * N, D),  # (H, D)
        "W_h": da.T @ h_all[:-1].reshape(T * N, H),  # (H, H)
        "b": da.sum(axis=0),  # (H,)
    }
    dxs = (da @ params["W_x"]).reshape(T, N, D)
    return dxs, dh, grads


# --- reading out, and looking at gradients ---------------------------------------------------------------


def output_layer(hs, W_y, b_y):
    r"""Class probabilities of every step: a linear read-out, then a softmax.

    Parameters
    ----------
    hs : ndarray, shape (T, N, H)
        Hidden states of every step.
    W_y : ndarray, shape (V, H)
    b_y : ndarray, shape (V,)

    Returns
    -------
    p : ndarray, shape (T, N, V)
        Non-negative, summing to 1 over the last axis.

    Notes
    -----
    .. math:: p_t = \operatorname{softmax}(W_y h_t + b_y)
    """
    dims = Dims()
    hs = dims.array("hs", hs, ("T", "N", "H"))
    W_y = dims.array("W_y", W_y, ("V", "H"))
    b_y = dims.array("b_y", b_y, ("V",))
    return softmax(hs @ W_y.T + b_y)  # (T, N, V)


def jacobian_norms(xs, h0, params):
    r"""Spectral norm of :math:`\partial h_t / \partial h_0` for every step and sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
    h0 : ndarray, shape (N, H)
    params : dict
        Vanilla RNN parameters ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Returns
    -------
    norms : ndarray, shape (T, N)
        ``norms[t - 1, n]`` is the largest singular value of the Jacobian of
        the state after step ``t`` with respect to ``h0``, for sequence ``n``.

    Notes
    -----
    One step's Jacobian is :math:`J_t = \operatorname{diag}(1 - h_t^2)\, W_h`
    (:math:`h_t = \tanh(a_t)`), and the chain rule multiplies them, the
    newest on the left:

    .. math::
        \frac{\partial h_t}{\partial h_0} = J_t J_{t-1} \cdots J_1, \qquad
        \|A\|_2 = \sigma_{\max}(A)
    """
    hs, _, _ = rnn_forward(xs, h0, params)  # (T, N, H)
    T, N, H = hs.shape
    W_h = params["W_h"]
    product = np.broadcast_to(np.eye(H, dtype=hs.dtype), (N, H, H))  # dh_0/dh_0 for every sequence
    norms = np.empty((T, N), dtype=hs.dtype)
    for t in range(T):
        J = (1 - hs[t] ** 2)[:, :, None] * W_h  # (N, H, H): row k of W_h scaled by tanh'(a_k)
        product = J @ product  # (N, H, H), newest Jacobian on the left
        norms[t] = np.linalg.norm(product, ord=2, axis=(1, 2))
    return norms
