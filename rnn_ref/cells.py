"""One interface over the four cells, for code that works with any of them.

The cell modules keep the signatures of the equations (an LSTM has ``h`` and
``c``, an RNN only ``h``).  Code that should not care which cell it runs, the
bidirectional wrapper, truncated BPTT and the models, goes through
:func:`sequence_forward` and :func:`sequence_backward`, where the state is
always a tuple: ``(h,)`` or ``(h, c)``.
"""

from typing import NamedTuple

from . import gru, lstm, peephole, rnn
from ._checks import check_choice


class Cell(NamedTuple):
    """How to run one kind of cell over a sequence."""

    name: str
    n_gates: int  # G: rows of W_x are G * H
    state_names: tuple  # ("h",) or ("h", "c")
    module: object
    keywords: tuple = ()  # the keyword arguments its forward takes besides mask and lengths


CELLS = {
    "rnn": Cell("rnn", 1, ("h",), rnn),
    "lstm": Cell("lstm", 4, ("h", "c"), lstm),
    "gru": Cell("gru", 3, ("h",), gru, ("reset_after",)),
    "peephole": Cell("peephole", 4, ("h", "c"), peephole),
}


def get_cell(name):
    """The :class:`Cell` called ``name``.

    Parameters
    ----------
    name : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.

    Returns
    -------
    Cell
        Its gate count ``G``, the names of its states and its module.

    Raises
    ------
    ValueError
        For any other name, listing the known ones.
    """
    return CELLS[check_choice("cell", name, tuple(CELLS))]


def _check_states(name, states, spec):
    """``states`` must be a tuple (or list) with one array per state of the cell, or None."""
    n = len(spec.state_names)
    if states is None:
        return (None,) * n
    if not isinstance(states, (tuple, list)):
        # a bare array would be unpacked row by row: refuse it with the form that is expected
        raise ValueError(
            f"{name} must be a tuple of {n} arrays {spec.state_names} for cell {spec.name!r}, "
            f"for example {'(h0,)' if n == 1 else '(h0, c0)'}, got {type(states).__name__}"
        )
    if len(states) != n:
        raise ValueError(f"{name} has {len(states)} arrays, expected {n} {spec.state_names} for cell {spec.name!r}")
    return tuple(states)


def sequence_forward(cell, xs, state0, params, mask=None, **cell_kwargs):
    """Run any cell over a sequence.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    xs : ndarray, shape (T, N, D)
    state0 : tuple of ndarray (N, H) or None
        ``(h0,)`` or ``(h0, c0)``; None means zeros.
    params : dict
    mask : ndarray of bool, shape (T, N), optional
    **cell_kwargs
        Passed to the cell (``reset_after=`` for the GRU).

    Returns
    -------
    hs : ndarray, shape (T, N, H)
    state_last : tuple of ndarray (N, H)
    cache
        The cell's own cache.
    """
    spec = get_cell(cell)
    state0 = _check_states("state0", state0, spec)
    unknown = sorted(set(cell_kwargs) - set(spec.keywords))
    if unknown:
        accepted = ", ".join(f"{key}=" for key in spec.keywords) or "none"
        raise ValueError(f"cell {cell!r} takes no keyword argument {', '.join(unknown)} (it accepts: {accepted})")
    forward = getattr(spec.module, f"{cell}_forward")
    out = forward(xs, *state0, params, mask, **cell_kwargs)
    hs, *state_last, cache = out
    return hs, tuple(state_last), cache


def sequence_backward(cell, dhs, cache, dstate_last=None):
    """Backward of :func:`sequence_forward`.

    Parameters
    ----------
    cell : str
    dhs : ndarray, shape (T, N, H)
    cache
        From :func:`sequence_forward` with the same ``cell``.
    dstate_last : tuple of ndarray (N, H) or None, optional
        Gradients with respect to the final states.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dstate0 : tuple of ndarray (N, H)
    grads : dict
    """
    spec = get_cell(cell)
    dstate_last = _check_states("dstate_last", dstate_last, spec)
    backward = getattr(spec.module, f"{cell}_backward")
    dxs, *dstate0, grads = backward(dhs, cache, *dstate_last)
    return dxs, tuple(dstate0), grads
