r"""Truncated backpropagation through time (Williams and Peng 1990; Williams
and Zipser 1995).

Full BPTT sends the gradient back through all :math:`T` steps.  Truncated BPTT
cuts the sequence into windows of :math:`k` steps.  The *state* is carried from
one window to the next, so the forward pass computes exactly the same values,
but the *gradient* stops at every window boundary: the loss in window
:math:`w` only trains through the steps of window :math:`w`.

Memory then grows with :math:`k` instead of :math:`T`, at the price of a
biased gradient that cannot see dependencies longer than a window.  With
:math:`k \ge T` there is a single window and the result is full BPTT.
"""

import numpy as np

from ._checks import Dims
from .cells import get_cell, sequence_backward, sequence_forward
from .masks import resolve_mask


def truncated_bptt(cell, xs, state0, params, dhs, k, mask=None, dstate_last=None, *, lengths=None, **cell_kwargs):
    r"""Gradients of truncated BPTT with windows of ``k`` steps.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    xs : ndarray, shape (T, N, D)
        ``T = 0`` is allowed: ``dxs`` is empty, ``dstate0``
        is ``dstate_last`` (zeros when None) and the parameter gradients are zero.
    state0 : tuple of ndarray (N, H), or None
        Initial state, ``(h0,)`` or ``(h0, c0)``; None means zeros.
    params : dict
    dhs : ndarray, shape (T, N, H)
        Gradient of the loss with respect to every output.
    k : int
        Window length, at least 1.
    mask : ndarray of bool, shape (T, N), optional
        Valid steps, as in the cells; each window uses its rows of the mask.
    dstate_last : tuple of ndarray (N, H), optional
        Gradient with respect to the final state (it reaches the last window only).
    lengths : ndarray of int, shape (N,), optional
        Instead of ``mask``: sequence ``n`` is valid for its first ``lengths[n]`` steps.
    **cell_kwargs
        Passed to the cell (``reset_after=`` for the GRU).

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dstate0 : tuple of ndarray (N, H)
        Gradient with respect to the initial state: what the first window sends back.
    grads : dict
        Parameter gradients summed over the windows.

    Notes
    -----
    For window :math:`w` covering steps :math:`s_w, \dots, e_w`, the
    recursion of full BPTT is applied inside the window and started afresh at
    its end:

    .. math::
        \frac{dL}{dh_{e_w}} = \frac{\partial L_{e_w}}{\partial h_{e_w}}
        \quad\text{(nothing arrives from window } w + 1\text{)}
    """
    get_cell(cell)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer window length, got {k!r}")
    dims = Dims()
    xs = dims.array("xs", xs, ("T", "N", "D"))
    T, N, _ = xs.shape
    dhs = dims.array("dhs", dhs, ("T", "N", "H"))  # H is checked against the cell after the first window
    mask = resolve_mask(mask, lengths, T, N)  # the whole batch's mask, cut into windows below

    dxs = np.empty_like(xs)
    grads, dstate0, state = None, None, state0
    # max(T, 1): with T = 0 a single empty window still returns dstate0 and zero gradients
    for start in range(0, max(T, 1), k):
        stop = min(start + k, T)
        window_mask = None if mask is None else mask[start:stop]
        hs, state_next, cache = sequence_forward(cell, xs[start:stop], state, params, window_mask, **cell_kwargs)
        if hs.shape[-1] != dhs.shape[-1]:
            raise ValueError(f"dhs has shape {dhs.shape}, expected (T, N, H) = {(T, N, hs.shape[-1])}")
        dlast = dstate_last if stop == T else None  # the final state's gradient belongs to the last window
        dxs_w, dstate, grads_w = sequence_backward(cell, dhs[start:stop], cache, dlast)
        dxs[start:stop] = dxs_w
        if start == 0:
            dstate0 = dstate
        grads = grads_w if grads is None else {key: grads[key] + grads_w[key] for key in grads}
        state = state_next  # the state goes on; its gradient stops here
    return dxs, dstate0, grads
