r"""Long short-term memory (Hochreiter and Schmidhuber 1997, with the forget
gate of Gers et al. 2000): one function per equation, a step, a sequence.

.. math::
    i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i) \\
    f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f) \\
    g_t &= \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g) \\
    o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)

The four gates are stacked in PyTorch's order ``i, f, g, o``: ``W_x`` is
(4H, D), ``W_h`` (4H, H), ``b`` (4H,), and rows ``k*H:(k+1)*H`` belong to
gate ``k``.  A step makes one matmul for all four gates.
"""

from typing import NamedTuple

import numpy as np

from ._checks import Dims
from .activations import sigmoid
from .masks import resolve_mask

PARAM_SPECS = {"W_x": ("4H", "D"), "W_h": ("4H", "H"), "b": ("4H",)}
GATES = ("i", "f", "g", "o")


# --- one function per equation ---------------------------------------------------------------


def _gate_preactivation(x, h_prev, W_x, W_h, b, name):
    """Check the arrays of gate ``name`` and return ``W_x x + W_h h_prev + b`` (N, H); the GRU's gates use it too."""
    dims = Dims()
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    W_x = dims.array(f"W_x{name}", W_x, ("H", "D"))
    W_h = dims.array(f"W_h{name}", W_h, ("H", "H"))
    b = dims.array(f"b_{name}", b, ("H",))
    return x @ W_x.T + h_prev @ W_h.T + b  # (N, H)


def input_gate(x, h_prev, W_xi, W_hi, b_i):
    r"""Input gate: how much of the candidate enters the cell.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xi : ndarray, shape (H, D)
    W_hi : ndarray, shape (H, H)
    b_i : ndarray, shape (H,)

    Returns
    -------
    i : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: i_t = \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i)
    """
    return sigmoid(_gate_preactivation(x, h_prev, W_xi, W_hi, b_i, "i"))


def forget_gate(x, h_prev, W_xf, W_hf, b_f):
    r"""Forget gate: how much of the old cell state is kept.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xf : ndarray, shape (H, D)
    W_hf : ndarray, shape (H, H)
    b_f : ndarray, shape (H,)

    Returns
    -------
    f : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: f_t = \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f)
    """
    return sigmoid(_gate_preactivation(x, h_prev, W_xf, W_hf, b_f, "f"))


def candidate(x, h_prev, W_xg, W_hg, b_g):
    r"""Candidate cell values (called :math:`\tilde c_t` in many texts).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xg : ndarray, shape (H, D)
    W_hg : ndarray, shape (H, H)
    b_g : ndarray, shape (H,)

    Returns
    -------
    g : ndarray, shape (N, H), values in (-1, 1)

    Notes
    -----
    .. math:: g_t = \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g)
    """
    return np.tanh(_gate_preactivation(x, h_prev, W_xg, W_hg, b_g, "g"))


def output_gate(x, h_prev, W_xo, W_ho, b_o):
    r"""Output gate: how much of the squashed cell state is shown as ``h``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xo : ndarray, shape (H, D)
    W_ho : ndarray, shape (H, H)
    b_o : ndarray, shape (H,)

    Returns
    -------
    o : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: o_t = \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o)
    """
    return sigmoid(_gate_preactivation(x, h_prev, W_xo, W_ho, b_o, "o"))


def cell_state(f, c_prev, i, g):
    r"""New cell state: keep part of the old one, add part of the candidate.

    Parameters
    ----------
    f, c_prev, i, g : ndarray, shape (N, H)

    Returns
    -------
    c : ndarray, shape (N, H)

    Notes
    -----
    .. math:: c_t = f_t \odot c_{t-1} + i_t \odot g_t
    """
    dims = Dims()
    for name, value in (("f", f), ("c_prev", c_prev), ("i", i), ("g", g)):
        dims.array(name, value, ("N", "H"))
    return f * c_prev + i * g


def hidden_state(o, c):
    r"""New hidden state: the output gate applied to the squashed cell state.

    Parameters
    ----------
    o, c : ndarray, shape (N, H)

    Returns
    -------
    h : ndarray, shape (N, H)

    Notes
    -----
    .. math:: h_t = o_t \odot \tanh(c_t)
    """
    dims = Dims()
    dims.array("o", o, ("N", "H"))
    dims.array("c", c, ("N", "H"))
    return o * np.tanh(c)


# --- shared by the step and the sequence -----------------------------------------------------


def _gates_from_preactivation(a):
    """Apply the gate nonlinearities to a stacked pre-activation.

    ``a`` (N, 4H) -> ``i, f, g, o``, each (N, H) and contiguous: sigmoid on
    the three gates, tanh on the candidate block.  (Working on contiguous
    blocks is faster than writing the gates back into ``a`` in place.)
    """
    H = a.shape[-1] // 4
    return sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])


def _cell_backward(dh, dc, gates, c_prev, tanh_c, da):
    """Backward through one step's elementwise part.

    Takes the gradients of ``h_t`` and ``c_t`` (N, H), writes ``da``, the
    gradient of the stacked pre-activation (N, 4H), in place, and returns
    ``dc_prev`` (N, H).  Each gate's gradient is built in its own block of
    ``da`` with ``out=`` and ``*=``: the same products as the Notes of
    :func:`lstm_step_backward`, without a temporary array per factor.
    """
    H = dh.shape[-1]
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))  # views, no copies
    da_i, da_f, da_g, da_o = (da[:, k * H : (k + 1) * H] for k in range(4))  # views: writing them fills da
    dc = dc + dh * o * (1 - tanh_c**2)  # total derivative of c_t: directly and through h_t
    np.multiply(dh, tanh_c, out=da_o)  # do
    da_o *= o
    da_o *= 1 - o  # through o: sigmoid' = o (1 - o)
    np.multiply(dc, g, out=da_i)  # di
    da_i *= i
    da_i *= 1 - i  # through i
    np.multiply(dc, c_prev, out=da_f)  # df
    da_f *= f
    da_f *= 1 - f  # through f
    np.multiply(dc, i, out=da_g)  # dg
    da_g *= 1 - g**2  # through g: tanh' = 1 - g^2
    return dc * f  # the cell path: dc_prev = dc * f


# --- one step --------------------------------------------------------------------------------


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from :func:`lstm_step_forward`."""

    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    gates: np.ndarray  # (N, 4H): i, f, g, o after their nonlinearities
    c: np.ndarray  # (N, H)
    tanh_c: np.ndarray  # (N, H)
    params: dict


def lstm_step_forward(x, h_prev, c_prev, params):
    r"""One LSTM step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c_prev : ndarray, shape (N, H)
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates in the order ``i, f, g, o``.

    Returns
    -------
    h : ndarray, shape (N, H)
    c : ndarray, shape (N, H)
    cache : LSTMStepCache

    Notes
    -----
    .. math::
        [a_i; a_f; a_g; a_o] = W_x x_t + W_h h_{t-1} + b, \quad
        c_t = \sigma(a_f) \odot c_{t-1} + \sigma(a_i) \odot \tanh(a_g), \quad
        h_t = \sigma(a_o) \odot \tanh(c_t)
    """
    dims = Dims()
    params = dims.params(params, PARAM_SPECS)
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    c_prev = dims.array("c_prev", c_prev, ("N", "H"))
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, 4H)
    i, f, g, o = _gates_from_preactivation(a)
    gates = np.concatenate([i, f, g, o], axis=1)  # (N, 4H), for the cache
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c.copy(), LSTMStepCache(x, h_prev, c_prev, gates, c, tanh_c, params)  # the caller may modify c


def lstm_step_backward(dh, dc, cache):
    r"""Backward pass of one LSTM step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient with respect to ``h_t``.
    dc : ndarray, shape (N, H)
        Gradient with respect to ``c_t`` from later steps (zeros at the last step).
    cache : LSTMStepCache

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    dc_prev : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,).

    Notes
    -----
    .. math::
        \delta c_t &\mathrel{+}= \delta h_t \odot o_t \odot (1 - \tanh^2 c_t) \\
        \delta a_o &= \delta h_t \odot \tanh c_t \odot o_t (1 - o_t), \quad
        \delta a_i = \delta c_t \odot g_t \odot i_t (1 - i_t) \\
        \delta a_f &= \delta c_t \odot c_{t-1} \odot f_t (1 - f_t), \quad
        \delta a_g = \delta c_t \odot i_t \odot (1 - g_t^2) \\
        \delta c_{t-1} &= \delta c_t \odot f_t, \quad
        \delta h_{t-1} = \delta a\, W_h, \quad \delta x_t = \delta a\, W_x
    """
    if not isinstance(cache, LSTMStepCache):
        raise ValueError(f"cache must be the LSTMStepCache returned by lstm_step_forward, got {type(cache).__name__}")
    dims = Dims()
    dims.array("c (from cache)", cache.c, ("N", "H"))
    dh = dims.array("dh", dh, ("N", "H"))
    dc = dims.array("dc", dc, ("N", "H"))
    da = np.empty_like(cache.gates)  # (N, 4H)
    dc_prev = _cell_backward(dh, dc, cache.gates, cache.c_prev, cache.tanh_c, da)
    grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return da @ cache.params["W_x"], da @ cache.params["W_h"], dc_prev, grads


# --- a whole sequence ------------------------------------------------------------------------


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`, and what a chapter plots."""

    xs: np.ndarray  # (T, N, D)
    h_all: np.ndarray  # (T + 1, N, H): h_all[0] = h0, h_all[t + 1] = state after step t
    c_all: np.ndarray  # (T + 1, N, H): likewise for the cell state
    gates: np.ndarray  # (T, N, 4H): i, f, g, o of every step
    tanh_c: np.ndarray  # (T, N, H): tanh of the new cell state of every step
    mask: np.ndarray | None  # (T, N)
    params: dict


def lstm_forward(xs, h0, c0, params, mask=None, *, lengths=None):
    r"""Run the LSTM over a whole (padded) sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
        ``T = 0`` is allowed: no step runs, ``hs`` is empty, the final states are
        the initial ones and the backward returns ``dh0, dc0 = dh_last, dc_last``.
        So is ``N = 0``.
    h0, c0 : ndarray, shape (N, H), or None for zeros
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates ``i, f, g, o``.
    mask : ndarray of bool, shape (T, N), optional
    lengths : ndarray of int, shape (N,), optional
        Instead of ``mask``.

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        Output at every step, zero at padded steps.
    h_last, c_last : ndarray, shape (N, H)
        States at each sequence's own last valid step.
    cache : LSTMCache
        Also holds the gate activations ``gates`` (T, N, 4H) and cell states
        ``c_all`` (T + 1, N, H) for plotting.

    Notes
    -----
    The equations of the module docstring, applied for :math:`t = 1, \dots, T`:

    .. math::
        [a_i; a_f; a_g; a_o] = W_x x_t + W_h h_{t-1} + b, \quad
        c_t = \sigma(a_f) \odot c_{t-1} + \sigma(a_i) \odot \tanh(a_g), \quad
        h_t = \sigma(a_o) \odot \tanh(c_t)

    At a padded step :math:`h_t = h_{t-1}` and :math:`c_t = c_{t-1}`.  The loop
    computes what :func:`lstm_step_forward` computes, fused for speed (the
    comments in the code say how and why).
    """
    dims = Dims()
    params = dims.params(params, PARAM_SPECS)
    xs = dims.array("xs", xs, ("T", "N", "D"))
    T, N, D = xs.shape
    H = dims.sizes["H"]
    h0 = np.zeros((N, H), xs.dtype) if h0 is None else dims.array("h0", h0, ("N", "H"))
    c0 = np.zeros((N, H), xs.dtype) if c0 is None else dims.array("c0", c0, ("N", "H"))
    mask = resolve_mask(mask, lengths, T, N)

    # The fused loop: see _fused_input_projection for how the four gates become one tanh call
    W_hT, gates, scale, shift, bias = _fused_input_projection(xs, params)
    h_all = np.empty((T + 1, N, H), dtype=xs.dtype)
    c_all = np.empty((T + 1, N, H), dtype=xs.dtype)
    tanh_c = np.empty((T, N, H), dtype=xs.dtype)
    h_all[0], c_all[0] = h0, c0
    i_all, f_all, g_all, o_all = (gates[:, :, k * H : (k + 1) * H] for k in range(4))  # views (T, N, H)
    a_h = np.empty((N, 4 * H), dtype=xs.dtype)  # the recurrent term of one step
    ig = np.empty((N, H), dtype=xs.dtype)
    padded = None if mask is None else ~mask[:, :, None]  # (T, N, 1)
    for t in range(T):  # every result is written into a preallocated array (out=): no temporaries
        a = gates[t]  # (N, 4H), half * W_x x_t so far
        np.matmul(h_all[t], W_hT, out=a_h)
        a += a_h
        a += bias  # half * (W_x x_t + W_h h_{t-1} + b)
        np.tanh(a, out=a)
        a *= scale
        a += shift  # i, f, g, o
        c = c_all[t + 1]
        np.multiply(f_all[t], c_all[t], out=c)
        np.multiply(i_all[t], g_all[t], out=ig)
        c += ig  # c_t = f c_{t-1} + i g
        if padded is not None:  # a padded step carries the previous cell state
            np.copyto(c, c_all[t], where=padded[t])
        np.tanh(c, out=tanh_c[t])
        np.multiply(o_all[t], tanh_c[t], out=h_all[t + 1])  # h_t = o tanh(c_t)
        if padded is not None:
            np.copyto(h_all[t + 1], h_all[t], where=padded[t])
    hs = h_all[1:].copy() if mask is None else h_all[1:] * mask[:, :, None]
    cache = LSTMCache(xs, h_all, c_all, gates, tanh_c, mask, params)
    return hs, h_all[T].copy(), c_all[T].copy(), cache


def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    r"""Backpropagation through time for :func:`lstm_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient with respect to every output (ignored at padded steps).
    cache : LSTMCache
    dh_last, dc_last : ndarray, shape (N, H), optional
        Gradients with respect to the final states.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0, dc0 : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,).

    Notes
    -----
    Two quantities travel backward in time: the total derivative of the loss
    with respect to :math:`h_t` (through :math:`W_h`) and with respect to
    :math:`c_t` (through :math:`\delta c_{t-1} = \delta c_t \odot f_t`, the
    path that lets gradients survive many steps when :math:`f_t \approx 1`):

    .. math::
        \frac{dL}{dc_{t-1}} = \frac{dL}{dc_t} \odot f_t
        + \text{(the paths through } a_t = W_x x_t + W_h h_{t-1} + b\text{, via } h_{t-1})
    """
    if not isinstance(cache, LSTMCache):
        raise ValueError(f"cache must be the LSTMCache returned by lstm_forward, got {type(cache).__name__}")
    xs, h_all, c_all, gates, tanh_c, mask, params = cache
    T, N, D = xs.shape
    H = h_all.shape[2]
    dims = Dims(T=T, N=N, H=H)
    dims.array("xs (from cache)", xs, ("T", "N", "D"))
    dhs = dims.array("dhs", dhs, ("T", "N", "H"))
    dh = np.zeros((N, H), xs.dtype) if dh_last is None else dims.array("dh_last", dh_last, ("N", "H")).copy()
    dc = np.zeros((N, H), xs.dtype) if dc_last is None else dims.array("dc_last", dc_last, ("N", "H")).copy()
    return _fused_backward(dhs, dh, dc, cache)


# --- the fused parts of the sequence, shared with the peephole LSTM ------------------------------


def _fused_input_projection(xs, params):
    r"""What the fused loop of :func:`lstm_forward` prepares before its first step.

    Returns ``W_hT`` (H, 4H), ``gates`` (T, N, 4H) holding the input
    projection ``half * W_x x_t`` of every step, and three (N, 4H) constants
    for the step: ``scale``, ``shift`` and ``bias = half * b``.

    The four nonlinearities of a step become one ``np.tanh`` call over its
    (N, 4H) pre-activation ``a``, since :math:`\sigma(a) = (1 + \tanh(a / 2)) / 2`:
    with ``half`` 1/2 on the columns of ``i, f, o`` and 1 on those of ``g``,
    every gate is ``scale * tanh(half * a) + shift`` with ``scale = half`` and
    ``shift = 1 - half``.  The inner ``half`` is folded into the weights here,
    once (scaling by 1/2 is exact in floating point).  One call instead of
    four matters at small sizes, where a step costs what its number of NumPy
    calls costs.  The constants are full (N, 4H) arrays because NumPy
    multiplies two arrays of one shape about twice as fast as it broadcasts a
    (4H,) vector over the rows.  The input projection of every step is one
    matmul, written straight into ``gates``, where step ``t`` replaces it by
    the gate values.  ``W_hT`` is C-ordered because OpenBLAS's ``h @ W_hT``
    is faster than the product with a transposed view.
    """
    T, N, D = xs.shape
    H = params["W_h"].shape[1]
    half = np.full(4 * H, 0.5, dtype=xs.dtype)
    half[2 * H : 3 * H] = 1
    W_hT = (params["W_h"] * half[:, None]).T.copy()  # (H, 4H)
    gates = np.empty((T, N, 4 * H), dtype=xs.dtype)
    np.matmul(xs.reshape(T * N, D), (params["W_x"] * half[:, None]).T, out=gates.reshape(T * N, 4 * H))
    scale, shift, bias = (np.repeat(row[None, :], N, axis=0) for row in (half, 1 - half, params["b"] * half))
    return W_hT, gates, scale, shift, bias


def _fused_backward(dhs, dh, dc, cache, peepholes=None):
    r"""The loop of :func:`lstm_backward` (and, with ``peepholes``, of the peephole LSTM's backward).

    Takes the checked ``dhs`` (T, N, H), the gradients ``dh``, ``dc`` (N, H)
    of the last states, which it updates in place, and the forward's cache;
    returns ``dxs`` (T, N, D), the gradients of the initial states and the
    dict of parameter gradients.

    It computes what :func:`lstm_step_backward` computes, in two parts.  The
    *local derivatives* need only the cache (see :func:`_local_derivatives`):

    .. math::
        P = [g \odot i(1-i);\; c_{t-1} \odot f(1-f);\; i \odot (1-g^2);\;
        \tanh c_t \odot o(1-o)], \quad Q = o \odot (1 - \tanh^2 c_t), \quad F = f

    and the rest needs the gradients flowing back from later steps:

    .. math::
        \delta c_t \mathrel{+}= \delta h_t \odot Q, \quad
        \delta a = [\delta c_t, \delta c_t, \delta c_t, \delta h_t] \odot P, \quad
        \delta c_{t-1} = \delta c_t \odot F, \quad \delta h_{t-1} = \delta a\, W_h

    The peepholes ``(p_i, p_f, p_o)`` change only :math:`Q` and :math:`F`
    (see :func:`rnn_ref.peephole.peephole_step_backward`):
    :math:`Q \mathrel{+}= P_o \odot p_o` and
    :math:`F = f + P_i \odot p_i + P_f \odot p_f`, and add their own
    gradients, :math:`\delta p_i = \sum \delta a_i \odot c_{t-1}` and so on.

    The local derivatives are computed for a block of steps at once, in as
    few NumPy calls as the block allows, straight into the block's rows of
    ``da_all``, which the loop then multiplies in place; a block is as many
    steps as fit in 256 KB, so that it is still in the CPU's cache when the
    loop reads it (the whole sequence at the small sizes, one step at the
    large ones).  The weight gradients and ``dxs`` are sums or products over
    all steps: one matmul each after the loop.  (Measured, with OpenBLAS's
    two threads: one matmul over all steps is faster than one per block of
    steps while its ``da`` is in the cache, although the latter is faster on
    one thread.)
    """
    xs, h_all, c_all, gates, tanh_c, mask, params = cache
    T, N, D = xs.shape
    H = h_all.shape[2]
    dtype = xs.dtype
    W_x, W_h = params["W_x"], params["W_h"]
    block = max(1, min(T, (1 << 18) // max(1, N * 4 * H * dtype.itemsize)))  # steps whose da fit in 256 KB
    da_all = np.empty((T, N, 4 * H), dtype=dtype)
    Q = np.empty((block, N, H), dtype=dtype)
    F = np.empty((block, N, H), dtype=dtype) if peepholes is not None else None
    dc_dh = np.empty((N, H), dtype=dtype)  # dh * Q of one step
    dp = np.zeros((3, H), dtype=dtype)  # of the peepholes p_i, p_f, p_o
    for stop in range(T, 0, -block):
        start = max(0, stop - block)
        n = stop - start
        da, q = da_all[start:stop], Q[:n]  # (n, N, 4H), (n, N, H)
        da_i, da_f, da_g, da_o = (da[:, :, k * H : (k + 1) * H] for k in range(4))  # views (n, N, H)
        _local_derivatives(gates[start:stop], c_all[start:stop], tanh_c[start:stop], out=(da, q))
        if peepholes is None:
            cell_path = gates[start:stop, :, H : 2 * H]  # F = f
        else:
            p_i, p_f, p_o = peepholes
            q += da_o * p_o  # c_t also reaches o_t through its peephole
            cell_path = F[:n]
            np.multiply(da_i, p_i, out=cell_path)
            cell_path += da_f * p_f
            cell_path += gates[start:stop, :, H : 2 * H]  # F = f + P_i p_i + P_f p_f
        for t in reversed(range(start, stop)):
            k = t - start
            if mask is None:
                dh += dhs[t]  # total derivative of h_t: from the output at t and from the future
                np.multiply(dh, q[k], out=dc_dh)
                dc += dc_dh  # total derivative of c_t: from the future and through h_t
                da_i[k] *= dc  # one call per gate: as fast as one broadcasting call over an (N, 3, H)
                da_f[k] *= dc  # view at the large size (measured), and plainer
                da_g[k] *= dc
                da_o[k] *= dh
                dc *= cell_path[k]  # dc_{t-1}
                np.matmul(da[k], W_h, out=dh)  # dh_{t-1} = da W_h
            else:  # padded rows: nothing enters the cell, the gradients pass straight through
                m = mask[t][:, None]  # (N, 1)
                dh_t = np.where(m, dh + dhs[t], 0)
                dc_t = np.where(m, dc + dh_t * q[k], 0)
                for da_gate in (da_i, da_f, da_g):
                    da_gate[k] *= dc_t
                da_o[k] *= dh_t
                dc = np.where(m, dc_t * cell_path[k], dc)
                dh = np.where(m, da[k] @ W_h, dh)
        if peepholes is not None:  # i and f looked at c_{t-1}, o at c_t
            dp[0] += (da_i * c_all[start:stop]).sum(axis=(0, 1))
            dp[1] += (da_f * c_all[start:stop]).sum(axis=(0, 1))
            dp[2] += (da_o * c_all[start + 1 : stop + 1]).sum(axis=(0, 1))
    da = da_all.reshape(T * N, 4 * H)  # (TN, 4H)
    grads = {
        "W_x": da.T @ xs.reshape(T * N, D),  # (4H, D)
        "W_h": da.T @ h_all[:-1].reshape(T * N, H),  # (4H, H): with the h_{t-1} of each step
        "b": da.sum(axis=0),  # (4H,)
    }
    dxs = (da @ W_x).reshape(T, N, D)  # dx_t = da W_x
    if peepholes is not None:
        grads.update(p_i=dp[0], p_f=dp[1], p_o=dp[2])
    return dxs, dh, dc, grads


def _local_derivatives(gates, c_prev, tanh_c, out):
    r"""The factors of the backward pass that depend only on the forward pass.

    ``gates`` (..., 4H), ``c_prev`` and ``tanh_c`` (..., H), for one step or a
    block of steps; writes ``P`` (..., 4H) and ``Q`` (..., H) into ``out``:

    .. math::
        P = [g_t \odot i_t (1 - i_t);\; c_{t-1} \odot f_t (1 - f_t);\;
        i_t \odot (1 - g_t^2);\; \tanh c_t \odot o_t (1 - o_t)], \quad
        Q = o_t \odot (1 - \tanh^2 c_t)

    so that :math:`\delta a = [\delta c_t, \delta c_t, \delta c_t, \delta h_t] \odot P`
    once :math:`\delta c_t` has received :math:`\delta h_t \odot Q`.  The
    derivatives of the nonlinearities are taken on all four blocks at once
    (NumPy is faster on the whole contiguous array than on its column blocks).
    """
    P, Q = out
    H = tanh_c.shape[-1]
    i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))
    P_i, P_f, P_g, P_o = (P[..., k * H : (k + 1) * H] for k in range(4))
    one_minus = 1 - gates
    np.multiply(gates, one_minus, out=P)  # s (1 - s): the sigmoid's derivative, of i, f and o
    P_g += one_minus[..., 2 * H : 3 * H]  # g (1 - g) + (1 - g) = 1 - g^2: the tanh's derivative, of g
    P_i *= g
    P_f *= c_prev
    P_g *= i
    P_o *= tanh_c
    np.multiply(tanh_c, tanh_c, out=Q)
    np.subtract(1, Q, out=Q)
    Q *= o
