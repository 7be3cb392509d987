r"""Peephole LSTM (Gers and Schmidhuber 2000) with diagonal peepholes.

The plain LSTM's gates see only :math:`x_t` and :math:`h_{t-1}`; here they also
look at the cell state through one weight per unit (a "peephole"):

.. math::
    i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + p_i \odot c_{t-1} + b_i) \\
    f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + p_f \odot c_{t-1} + b_f) \\
    g_t &= \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + p_o \odot c_t + b_o) \\
    h_t &= o_t \odot \tanh(c_t)

The input and forget gates look at the *old* cell state :math:`c_{t-1}`; the
output gate looks at the *new* one, :math:`c_t`, so it is computed after the
cell update.  The peepholes are diagonal: ``p_i, p_f, p_o`` are vectors (H,)
multiplied elementwise, not (H, H) matrices.  With ``p_i = p_f = p_o = 0``
this is exactly :mod:`rnn_ref.lstm`.

``W_x`` (4H, D), ``W_h`` (4H, H) and ``b`` (4H,) stack the gates in the LSTM's
order ``i, f, g, o``.  The candidate, the cell update and the hidden state are
the LSTM's equations and are re-exported from :mod:`rnn_ref.lstm`.
"""

from typing import NamedTuple

import numpy as np

from ._checks import Dims
from .activations import sigmoid
from .lstm import PARAM_SPECS as LSTM_PARAM_SPECS
from .lstm import (
    _fused_backward,
    _fused_input_projection,
    candidate,
    cell_state,
    hidden_state,
)
from .masks import resolve_mask

__all__ = [
    "PARAM_SPECS",
    "input_gate",
    "forget_gate",
    "candidate",
    "cell_state",
    "output_gate",
    "hidden_state",
    "PeepholeStepCache",
    "peephole_step_forward",
    "peephole_step_backward",
    "PeepholeCache",
    "peephole_forward",
    "peephole_backward",
]

PARAM_SPECS = {**LSTM_PARAM_SPECS, "p_i": ("H",), "p_f": ("H",), "p_o": ("H",)}
GATES = ("i", "f", "g", "o")


# --- one function per equation ---------------------------------------------------------------


def _peephole_preactivation(x, h_prev, c, W_x, W_h, b, p, gate, c_name):
    """Check the arrays of one gate and return ``W_x x + W_h h_prev + p * c + b`` (N, H)."""
    dims = Dims()
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    c = dims.array(c_name, c, ("N", "H"))
    W_x = dims.array(f"W_x{gate}", W_x, ("H", "D"))
    W_h = dims.array(f"W_h{gate}", W_h, ("H", "H"))
    b = dims.array(f"b_{gate}", b, ("H",))
    p = dims.array(f"p_{gate}", p, ("H",))
    return x @ W_x.T + h_prev @ W_h.T + p * c + b  # (N, H); p * c is elementwise: (H,) * (N, H)


def input_gate(x, h_prev, c_prev, W_xi, W_hi, b_i, p_i):
    r"""Input gate, peeking at the previous cell state.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c_prev : ndarray, shape (N, H)
    W_xi : ndarray, shape (H, D)
    W_hi : ndarray, shape (H, H)
    b_i : ndarray, shape (H,)
    p_i : ndarray, shape (H,)
        Diagonal peephole weights.

    Returns
    -------
    i : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: i_t = \sigma(W_{xi} x_t + W_{hi} h_{t-1} + p_i \odot c_{t-1} + b_i)
    """
    return sigmoid(_peephole_preactivation(x, h_prev, c_prev, W_xi, W_hi, b_i, p_i, "i", "c_prev"))


def forget_gate(x, h_prev, c_prev, W_xf, W_hf, b_f, p_f):
    r"""Forget gate, peeking at the previous cell state.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c_prev : ndarray, shape (N, H)
    W_xf : ndarray, shape (H, D)
    W_hf : ndarray, shape (H, H)
    b_f : ndarray, shape (H,)
    p_f : ndarray, shape (H,)
        Diagonal peephole weights.

    Returns
    -------
    f : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: f_t = \sigma(W_{xf} x_t + W_{hf} h_{t-1} + p_f \odot c_{t-1} + b_f)
    """
    return sigmoid(_peephole_preactivation(x, h_prev, c_prev, W_xf, W_hf, b_f, p_f, "f", "c_prev"))


def output_gate(x, h_prev, c, W_xo, W_ho, b_o, p_o):
    r"""Output gate, peeking at the *new* cell state.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c : ndarray, shape (N, H)
        The cell state of this step, :math:`c_t` (not :math:`c_{t-1}`).
    W_xo : ndarray, shape (H, D)
    W_ho : ndarray, shape (H, H)
    b_o : ndarray, shape (H,)
    p_o : ndarray, shape (H,)
        Diagonal peephole weights.

    Returns
    -------
    o : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: o_t = \sigma(W_{xo} x_t + W_{ho} h_{t-1} + p_o \odot c_t + b_o)
    """
    return sigmoid(_peephole_preactivation(x, h_prev, c, W_xo, W_ho, b_o, p_o, "o", "c"))


# --- shared by the step and the sequence -----------------------------------------------------


def _cell_forward(a, c_prev, p_i, p_f, p_o):
    """The elementwise part of one step.

    ``a`` (N, 4H) is the stacked ``W_x x + W_h h_prev + b`` *without* the
    peepholes; they are added here, gate by gate, because the output gate
    needs the new cell state first.  Returns ``gates`` (N, 4H) holding
    ``i, f, g, o`` side by side, and ``c``, ``tanh_c``, ``h`` (N, H).
    """
    H = c_prev.shape[-1]
    a_i, a_f, a_g, a_o = (a[:, k * H : (k + 1) * H] for k in range(4))  # views, (N, H) each
    i = sigmoid(a_i + p_i * c_prev)  # i and f look at the old cell state
    f = sigmoid(a_f + p_f * c_prev)
    g = np.tanh(a_g)
    c = f * c_prev + i * g
    o = sigmoid(a_o + p_o * c)  # o looks at the new cell state
    tanh_c = np.tanh(c)
    h = o * tanh_c
    gates = np.concatenate([i, f, g, o], axis=1)  # (N, 4H)
    return gates, c, tanh_c, h


def _cell_backward(dh, dc, gates, c_prev, tanh_c, p_i, p_f, p_o):
    """Backward through one step's elementwise part.

    Takes the gradients of ``h_t`` and ``c_t`` (N, H) and returns ``da``, the
    gradient of the stacked pre-activation ``W_x x + W_h h_prev + p * c + b``
    (N, 4H), and ``dc_prev`` (N, H).  The order matters: ``c_t`` feeds the
    output gate, so ``da_o`` is needed before the total ``dc_t`` is known.
    """
    H = dh.shape[-1]
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))  # views, no copies
    da_o = dh * tanh_c * o * (1 - o)  # through o
    # total derivative of c_t: from later steps, through tanh(c_t) in h_t, and through the o peephole
    dc = dc + dh * o * (1 - tanh_c**2) + da_o * p_o
    da_i = dc * g * i * (1 - i)  # through i
    da_f = dc * c_prev * f * (1 - f)  # through f
    da_g = dc * i * (1 - g**2)  # through g
    # c_{t-1} reaches the loss through the cell path and through the i and f peepholes
    dc_prev = dc * f + da_i * p_i + da_f * p_f
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (N, 4H)
    return da, dc_prev


# --- one step --------------------------------------------------------------------------------


class PeepholeStepCache(NamedTuple):
    """What :func:`peephole_step_backward` needs from :func:`peephole_step_forward`."""

    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    gates: np.ndarray  # (N, 4H): i, f, g, o after their nonlinearities
    c: np.ndarray  # (N, H)
    tanh_c: np.ndarray  # (N, H)
    params: dict


def peephole_step_forward(x, h_prev, c_prev, params):
    r"""One peephole LSTM step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c_prev : ndarray, shape (N, H)
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates in the order
        ``i, f, g, o``; peepholes ``p_i``, ``p_f``, ``p_o`` (H,).

    Returns
    -------
    h : ndarray, shape (N, H)
    c : ndarray, shape (N, H)
    cache : PeepholeStepCache

    Notes
    -----
    With :math:`[a_i; a_f; a_g; a_o] = W_x x_t + W_h h_{t-1} + b` (one matmul
    for the four gates):

    .. math::
        i_t &= \sigma(a_i + p_i \odot c_{t-1}), \quad
        f_t = \sigma(a_f + p_f \odot c_{t-1}), \quad
        g_t = \tanh(a_g) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \quad
        o_t = \sigma(a_o + p_o \odot c_t), \quad
        h_t = o_t \odot \tanh(c_t)
    """
    dims = Dims()
    params = dims.params(params, PARAM_SPECS)
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    c_prev = dims.array("c_prev", c_prev, ("N", "H"))
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, 4H)
    gates, c, tanh_c, h = _cell_forward(a, c_prev, params["p_i"], params["p_f"], params["p_o"])
    return h, c.copy(), PeepholeStepCache(x, h_prev, c_prev, gates, c, tanh_c, params)  # the caller may modify c


def peephole_step_backward(dh, dc, cache):
    r"""Backward pass of one peephole LSTM step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient with respect to ``h_t``.
    dc : ndarray, shape (N, H)
        Gradient with respect to ``c_t`` from later steps (zeros at the last step).
    cache : PeepholeStepCache

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    dc_prev : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), ``p_i``, ``p_f``, ``p_o`` (H,).

    Notes
    -----
    Write :math:`\hat a_i = a_i + p_i \odot c_{t-1}`,
    :math:`\hat a_f = a_f + p_f \odot c_{t-1}`,
    :math:`\hat a_o = a_o + p_o \odot c_t` for the full pre-activations, and
    :math:`\delta` for the gradient of the loss.  Work backward from
    :math:`h_t = o_t \odot \tanh c_t`.  The output gate comes first, because
    :math:`c_t` feeds it:

    .. math::
        \delta \hat a_o = \delta h_t \odot \tanh c_t \odot o_t (1 - o_t)

    The *total* gradient of :math:`c_t` then has three terms: from later steps
    (the argument ``dc``), through :math:`\tanh c_t` in :math:`h_t`, and, new
    in the peephole LSTM, through the output gate's peephole:

    .. math::
        \delta c_t \leftarrow \delta c_t
        + \delta h_t \odot o_t \odot (1 - \tanh^2 c_t)
        + \delta \hat a_o \odot p_o

    From :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`:

    .. math::
        \delta \hat a_i = \delta c_t \odot g_t \odot i_t (1 - i_t), \quad
        \delta \hat a_f = \delta c_t \odot c_{t-1} \odot f_t (1 - f_t), \quad
        \delta a_g = \delta c_t \odot i_t \odot (1 - g_t^2)

    :math:`c_{t-1}` reaches the loss through the cell path and, again new,
    through the peepholes of :math:`i_t` and :math:`f_t`:

    .. math::
        \delta c_{t-1} = \delta c_t \odot f_t
        + \delta \hat a_i \odot p_i + \delta \hat a_f \odot p_f

    Every pre-activation is linear in the weights, so with
    :math:`\delta a = [\delta \hat a_i; \delta \hat a_f; \delta a_g; \delta \hat a_o]`
    (N, 4H):

    .. math::
        \delta x_t &= \delta a\, W_x, \quad
        \delta h_{t-1} = \delta a\, W_h, \quad
        \delta W_x = \delta a^\top x_t, \quad
        \delta W_h = \delta a^\top h_{t-1}, \quad
        \delta b = \textstyle\sum_n \delta a_n \\
        \delta p_i &= \textstyle\sum_n \delta \hat a_i \odot c_{t-1}, \quad
        \delta p_f = \textstyle\sum_n \delta \hat a_f \odot c_{t-1}, \quad
        \delta p_o = \textstyle\sum_n \delta \hat a_o \odot c_t
    """
    if not isinstance(cache, PeepholeStepCache):
        raise ValueError(
            f"cache must be the PeepholeStepCache returned by peephole_step_forward, got {type(cache).__name__}"
        )
    dims = Dims()
    dims.array("c (from cache)", cache.c, ("N", "H"))
    dh = dims.array("dh", dh, ("N", "H"))
    dc = dims.array("dc", dc, ("N", "H"))
    params = cache.params
    H = dims.sizes["H"]
    da, dc_prev = _cell_backward(
        dh, dc, cache.gates, cache.c_prev, cache.tanh_c, params["p_i"], params["p_f"], params["p_o"]
    )
    grads = {
        "W_x": da.T @ cache.x,  # (4H, D)
        "W_h": da.T @ cache.h_prev,  # (4H, H)
        "b": da.sum(axis=0),  # (4H,)
        "p_i": (da[:, 0 * H : 1 * H] * cache.c_prev).sum(axis=0),  # (H,)
        "p_f": (da[:, 1 * H : 2 * H] * cache.c_prev).sum(axis=0),  # (H,)
        "p_o": (da[:, 3 * H : 4 * H] * cache.c).sum(axis=0),  # (H,): o looked at the new c
    }
    return da @ params["W_x"], da @ params["W_h"], dc_prev, grads


# --- a whole sequence ------------------------------------------------------------------------


class PeepholeCache(NamedTuple):
    """What :func:`peephole_backward` needs from :func:`peephole_forward`, and what a chapter plots."""

    xs: np.ndarray  # (T, N, D)
    h_all: np.ndarray  # (T + 1, N, H): h_all[0] = h0, h_all[t + 1] = state after step t
    c_all: np.ndarray  # (T + 1, N, H): likewise for the cell state
    gates: np.ndarray  # (T, N, 4H): i, f, g, o of every step
    tanh_c: np.ndarray  # (T, N, H): tanh of the new cell state of every step
    mask: np.ndarray | None  # (T, N)
    params: dict


def peephole_forward(xs, h0, c0, params, mask=None, *, lengths=None):
    r"""Run the peephole LSTM over a whole (padded) sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
        ``T = 0`` is allowed: no step runs, ``hs`` is empty, the final states are
        the initial ones and the backward returns ``dh0, dc0 = dh_last, dc_last``.
        So is ``N = 0``.
    h0, c0 : ndarray, shape (N, H), or None for zeros
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates ``i, f, g, o``;
        peepholes ``p_i``, ``p_f``, ``p_o`` (H,).
    mask : ndarray of bool, shape (T, N), optional
    lengths : ndarray of int, shape (N,), optional
        Instead of ``mask``.

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        Output at every step, zero at padded steps.
    h_last, c_last : ndarray, shape (N, H)
        States at each sequence's own last valid step.
    cache : PeepholeCache
        Also holds the gate activations ``gates`` (T, N, 4H) and cell states
        ``c_all`` (T + 1, N, H) for plotting.

    Notes
    -----
    The equations of the module docstring, applied for :math:`t = 1, \dots, T`:

    .. math::
        i_t = \sigma(a_i + p_i \odot c_{t-1}), \quad
        f_t = \sigma(a_f + p_f \odot c_{t-1}), \quad
        c_t = f_t \odot c_{t-1} + i_t \odot \tanh(a_g), \quad
        o_t = \sigma(a_o + p_o \odot c_t), \quad
        h_t = o_t \odot \tanh(c_t)

    with :math:`[a_i; a_f; a_g; a_o] = W_x x_t + W_h h_{t-1} + b`.  At a
    padded step :math:`h_t = h_{t-1}` and :math:`c_t = c_{t-1}`.  The loop
    computes what :func:`peephole_step_forward` computes, fused as in
    :func:`rnn_ref.lstm.lstm_forward`.
    """
    dims = Dims()
    params = dims.params(params, PARAM_SPECS)
    xs = dims.array("xs", xs, ("T", "N", "D"))
    T, N, D = xs.shape
    H = dims.sizes["H"]
    h0 = np.zeros((N, H), xs.dtype) if h0 is None else dims.array("h0", h0, ("N", "H"))
    c0 = np.zeros((N, H), xs.dtype) if c0 is None else dims.array("c0", c0, ("N", "H"))
    mask = resolve_mask(mask, lengths, T, N)

    # The LSTM's fused loop (see lstm._fused_input_projection): the gates are scale * tanh(half * a) + shift,
    # with the inner half folded into the weights, the peepholes included.  The output gate must wait for the
    # new cell state: its pre-activation is set aside, the four blocks go through tanh together as in the
    # LSTM (faster than calls on the i, f, g columns alone), and o is then computed on its own.
    W_hT, gates, scale, shift, bias = _fused_input_projection(xs, params)
    p_i, p_f, p_o = (np.repeat(params[key][None, :] / 2, N, axis=0) for key in ("p_i", "p_f", "p_o"))  # (N, H)
    h_all = np.empty((T + 1, N, H), dtype=xs.dtype)
    c_all = np.empty((T + 1, N, H), dtype=xs.dtype)
    tanh_c = np.empty((T, N, H), dtype=xs.dtype)
    h_all[0], c_all[0] = h0, c0
    i_all, f_all, g_all, o_all = (gates[:, :, k * H : (k + 1) * H] for k in range(4))  # views (T, N, H)
    a_h = np.empty((N, 4 * H), dtype=xs.dtype)  # the recurrent term of one step
    o = np.empty((N, H), dtype=xs.dtype)  # the output gate of one step
    term = np.empty((N, H), dtype=xs.dtype)
    padded = None if mask is None else ~mask[:, :, None]  # (T, N, 1)
    for t in range(T):  # every result is written into a preallocated array (out=): no temporaries
        a = gates[t]  # (N, 4H), half * W_x x_t so far
        np.matmul(h_all[t], W_hT, out=a_h)
        a += a_h
        a += bias  # half * (W_x x_t + W_h h_{t-1} + b)
        np.multiply(c_all[t], p_i, out=term)
        i_all[t] += term  # i and f look at the old cell state
        np.multiply(c_all[t], p_f, out=term)
        f_all[t] += term
        np.copyto(o, o_all[t])  # o's pre-activation, set aside
        np.tanh(a, out=a)
        a *= scale
        a += shift  # i, f, g (and a provisional o, replaced below)
        c = c_all[t + 1]
        np.multiply(f_all[t], c_all[t], out=c)
        np.multiply(i_all[t], g_all[t], out=term)
        c += term  # c_t = f c_{t-1} + i g
        np.multiply(c, p_o, out=term)
        o += term  # o looks at the new cell state
        np.tanh(o, out=o)
        o *= 0.5
        o += 0.5
        np.copyto(o_all[t], o)  # o
        if padded is not None:  # a padded step carries the previous cell state
            np.copyto(c, c_all[t], where=padded[t])
        np.tanh(c, out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h_all[t + 1])  # h_t = o tanh(c_t)
        if padded is not None:
            np.copyto(h_all[t + 1], h_all[t], where=padded[t])
    hs = h_all[1:].copy() if mask is None else h_all[1:] * mask[:, :, None]
    cache = PeepholeCache(xs, h_all, c_all, gates, tanh_c, mask, params)
    return hs, h_all[T].copy(), c_all[T].copy(), cache


def peephole_backward(dhs, cache, dh_last=None, dc_last=None):
    r"""Backpropagation through time for :func:`peephole_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient with respect to every output (ignored at padded steps).
    cache : PeepholeCache
    dh_last, dc_last : ndarray, shape (N, H), optional
        Gradients with respect to the final states.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0, dc0 : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), ``p_i``, ``p_f``, ``p_o`` (H,).

    Notes
    -----
    As in the LSTM, two quantities travel backward in time: the total
    derivative with respect to :math:`h_t` (through :math:`W_h`) and with
    respect to :math:`c_t`, which now has two extra paths (see
    :func:`peephole_step_backward`): :math:`\delta c_t` also receives
    :math:`\delta \hat a_o \odot p_o`, and
    :math:`\delta c_{t-1} = \delta c_t \odot f_t + \delta \hat a_i \odot p_i
    + \delta \hat a_f \odot p_f`.  The peephole gradients are sums over every
    step and sequence, taken after the loop:

    .. math::
        \delta p_i = \sum_t \sum_n \delta \hat a_{i,t} \odot c_{t-1}, \quad
        \delta p_f = \sum_t \sum_n \delta \hat a_{f,t} \odot c_{t-1}, \quad
        \delta p_o = \sum_t \sum_n \delta \hat a_{o,t} \odot c_t
    """
    if not isinstance(cache, PeepholeCache):
        raise ValueError(f"cache must be the PeepholeCache returned by peephole_forward, got {type(cache).__name__}")
    xs, h_all, c_all, gates, tanh_c, mask, params = cache
    T, N, D = xs.shape
    H = h_all.shape[2]
    dims = Dims(T=T, N=N, H=H)
    dims.array("xs (from cache)", xs, ("T", "N", "D"))
    dhs = dims.array("dhs", dhs, ("T", "N", "H"))
    dh = np.zeros((N, H), xs.dtype) if dh_last is None else dims.array("dh_last", dh_last, ("N", "H")).copy()
    dc = np.zeros((N, H), xs.dtype) if dc_last is None else dims.array("dc_last", dc_last, ("N", "H")).copy()
    # The LSTM's fused loop, with the two extra paths of the peepholes (see lstm._fused_backward)
    return _fused_backward(dhs, dh, dc, cache, peepholes=(params["p_i"], params["p_f"], params["p_o"]))
