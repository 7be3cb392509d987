r"""Bidirectional layers (Schuster and Paliwal 1997) over any cell.

Two independent cells read the sequence: one from left to right, one from
right to left.  Their outputs at step :math:`t` are merged:

.. math::
    \overrightarrow{h}_t = \mathrm{cell}_{\rightarrow}(x_t, \overrightarrow{h}_{t-1}), \quad
    \overleftarrow{h}_t = \mathrm{cell}_{\leftarrow}(x_t, \overleftarrow{h}_{t+1}), \quad
    y_t = \mathrm{merge}(\overrightarrow{h}_t, \overleftarrow{h}_t)

with ``merge`` one of ``"concat"`` (``[fwd, bwd]``, 2H features), ``"sum"``
and ``"mean"`` (H features).

With padding, "right to left" means from each sequence's *own* last valid
step: sequence ``n`` of length ``L_n`` is reversed within its first ``L_n``
steps (:func:`rnn_ref.masks.reverse_sequences`), run through the backward cell
with the same mask, and its outputs are reversed back.  Reversing the padded
array as a whole would start the backward cell on padding; PyTorch's packed
sequences do it the per-sequence way, and so do we.
"""

from typing import NamedTuple

import numpy as np

from ._checks import Dims, check_choice
from .cells import get_cell, sequence_backward, sequence_forward
from .masks import mask_to_lengths, resolve_mask, reverse_sequences

MERGES = ("concat", "sum", "mean")


class BidirectionalCache(NamedTuple):
    """What :func:`bidirectional_backward` needs from :func:`bidirectional_forward`."""

    cell: str
    merge: str
    lengths: np.ndarray  # (N,) valid length of every sequence
    cache_fwd: object  # the forward cell's own cache
    cache_bwd: object  # the backward cell's cache, on the per-sequence reversed input
    H: int  # hidden size of each direction


def _as_states(name, state, spec):
    """A direction's state as the cells take it: ``h`` -> ``(h,)``, ``(h, c)`` -> ``(h, c)``; None stays None."""
    if state is None:
        return None
    if len(spec.state_names) == 1:
        if isinstance(state, (tuple, list)):
            raise ValueError(
                f"{name} must be one array h of shape (N, H) for cell {spec.name!r} (a state is h), "
                f"got a {type(state).__name__} of {len(state)}"
            )
        return (state,)
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        got = f"a {type(state).__name__}" + (f" of {len(state)}" if isinstance(state, (tuple, list)) else "")
        raise ValueError(f"{name} must be the pair (h, c) of arrays (N, H) for cell {spec.name!r}, got {got}")
    return tuple(state)


def _as_state(states):
    """The cells' tuple of states as a direction's state: ``(h,)`` -> ``h``, ``(h, c)`` -> ``(h, c)``."""
    return states[0] if len(states) == 1 else tuple(states)


def bidirectional_forward(
    cell,
    xs,
    params_fwd,
    params_bwd,
    mask=None,
    merge="concat",
    *,
    state0_fwd=None,
    state0_bwd=None,
    lengths=None,
    **cell_kwargs,
):
    r"""Run a bidirectional layer of ``cell`` over a padded batch.

    A *state* is what the cell carries: ``h`` (N, H) for ``"rnn"`` and
    ``"gru"``, the pair ``(h, c)`` for ``"lstm"`` and ``"peephole"``.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    xs : ndarray, shape (T, N, D)
        ``T = 0`` and ``N = 0`` are allowed: ``ys`` is empty.
    params_fwd, params_bwd : dict
        Parameters of the left-to-right and right-to-left cells (same keys).
    mask : ndarray of bool, shape (T, N), optional
        Left-aligned: each sequence's valid steps first, then padding.
    merge : str
        ``"concat"`` (output 2H), ``"sum"`` or ``"mean"`` (output H).
    state0_fwd : state, optional
        Initial state of the forward direction, before step 0 (PyTorch's
        ``h_0[0]``, ``c_0[0]``); None means zeros.
    state0_bwd : state, optional
        Initial state of the backward direction, which it reads at each
        sequence's own last valid step (PyTorch's ``h_0[1]``, ``c_0[1]``);
        None means zeros.
    lengths : ndarray of int, shape (N,), optional
        Instead of ``mask``.
    **cell_kwargs
        Passed to both cells, e.g. ``reset_after=True`` for the GRU.

    Returns
    -------
    ys : ndarray, shape (T, N, 2H) for concat, (T, N, H) otherwise
        Zero at padded steps.
    last_fwd : state
        Final state of the forward direction, at each sequence's own last
        valid step (PyTorch's ``h_n[0]``, ``c_n[0]``).
    last_bwd : state
        Final state of the backward direction, at ``t = 0``, where it ends
        (PyTorch's ``h_n[1]``, ``c_n[1]``).
    cache : BidirectionalCache

    Notes
    -----
    .. math::
        y_t = [\overrightarrow{h}_t; \overleftarrow{h}_t], \quad
        \overrightarrow{h}_t + \overleftarrow{h}_t
        \quad\text{or}\quad \tfrac12(\overrightarrow{h}_t + \overleftarrow{h}_t)

    The cost is two cells' worth of work, and the backward cell needs the
    whole sequence before it can emit its first output, so a bidirectional
    layer can neither stream nor generate.
    """
    spec = get_cell(cell)
    check_choice("merge", merge, MERGES)
    states0_fwd = _as_states("state0_fwd", state0_fwd, spec)
    states0_bwd = _as_states("state0_bwd", state0_bwd, spec)
    dims = Dims()
    xs = dims.array("xs", xs, ("T", "N", "D"))
    T, N, _ = xs.shape
    mask = resolve_mask(mask, lengths, T, N)
    lengths = np.full(N, T) if mask is None else mask_to_lengths(mask)

    hs_fwd, last_fwd, cache_fwd = sequence_forward(cell, xs, states0_fwd, params_fwd, mask, **cell_kwargs)
    xs_rev = reverse_sequences(xs, lengths)  # each sequence reversed within its own length
    hs_bwd_rev, last_bwd, cache_bwd = sequence_forward(cell, xs_rev, states0_bwd, params_bwd, mask, **cell_kwargs)
    if hs_bwd_rev.shape != hs_fwd.shape:
        raise ValueError(
            f"params_fwd and params_bwd give different hidden sizes: {hs_fwd.shape[-1]} and {hs_bwd_rev.shape[-1]}"
        )
    hs_bwd = reverse_sequences(hs_bwd_rev, lengths)  # back to the original time order

    if merge == "concat":
        ys = np.concatenate([hs_fwd, hs_bwd], axis=-1)  # (T, N, 2H): forward first
    elif merge == "sum":
        ys = hs_fwd + hs_bwd  # (T, N, H)
    else:
        ys = (hs_fwd + hs_bwd) / 2
    cache = BidirectionalCache(cell, merge, lengths, cache_fwd, cache_bwd, hs_fwd.shape[-1])
    return ys, _as_state(last_fwd), _as_state(last_bwd), cache


def bidirectional_backward(dys, cache, dlast_fwd=None, dlast_bwd=None):
    r"""Backward pass of :func:`bidirectional_forward`.

    Parameters
    ----------
    dys : ndarray, shape (T, N, 2H) for concat, (T, N, H) otherwise
        Gradient with respect to ``ys`` (ignored at padded steps).
    cache : BidirectionalCache
    dlast_fwd, dlast_bwd : state, optional
        Gradients with respect to ``last_fwd`` and ``last_bwd`` (``dh`` for
        ``"rnn"`` and ``"gru"``, the pair ``(dh, dc)`` for ``"lstm"`` and
        ``"peephole"``); None means zero.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
        Sum of what both directions send back to the input.
    dstate0_fwd, dstate0_bwd : state
        Gradients with respect to ``state0_fwd`` and ``state0_bwd`` (zeros
        when the forward used zeros), in the same form as a state.
    grads_fwd, grads_bwd : dict
        Gradients of ``params_fwd`` and ``params_bwd``.

    Notes
    -----
    The merge splits the gradient:

    .. math::
        \text{concat: } \delta\overrightarrow{h}_t = \delta y_{t,\,:H},\;
        \delta\overleftarrow{h}_t = \delta y_{t,\,H:}; \quad
        \text{sum: both } \delta y_t; \quad
        \text{mean: both } \tfrac12 \delta y_t

    The backward cell ran on the reversed input, so its upstream gradient is
    reversed the same way before its backward pass, and its input gradient
    reversed back after.  The gradient of ``last_bwd`` enters the backward
    cell where its run ends (its last step, ``t = 0`` of the input), and
    ``dstate0_bwd`` is what reaches its first step (each sequence's own last
    valid step).
    """
    if not isinstance(cache, BidirectionalCache):
        raise ValueError(
            f"cache must be the BidirectionalCache returned by bidirectional_forward, got {type(cache).__name__}"
        )
    spec = get_cell(cache.cell)
    dstates_fwd = _as_states("dlast_fwd", dlast_fwd, spec)
    dstates_bwd = _as_states("dlast_bwd", dlast_bwd, spec)
    xs = cache.cache_fwd.xs
    T, N, _ = xs.shape
    H = cache.H
    width = 2 * H if cache.merge == "concat" else H  # F, the features of ys: 2H or H
    dims = Dims(T=T, N=N, F=width)
    dims.array("xs (from cache)", xs, ("T", "N", "D"))
    dys = dims.array("dys", dys, ("T", "N", "F"))

    if cache.merge == "concat":
        dhs_fwd, dhs_bwd = dys[..., :H], dys[..., H:]
    elif cache.merge == "sum":
        dhs_fwd = dhs_bwd = dys
    else:
        dhs_fwd = dhs_bwd = dys / 2

    dxs_fwd, dstate0_fwd, grads_fwd = sequence_backward(cache.cell, dhs_fwd, cache.cache_fwd, dstates_fwd)
    dhs_bwd_rev = reverse_sequences(dhs_bwd, cache.lengths)
    dxs_bwd_rev, dstate0_bwd, grads_bwd = sequence_backward(cache.cell, dhs_bwd_rev, cache.cache_bwd, dstates_bwd)
    dxs = dxs_fwd + reverse_sequences(dxs_bwd_rev, cache.lengths)
    return dxs, _as_state(dstate0_fwd), _as_state(dstate0_bwd), grads_fwd, grads_bwd
