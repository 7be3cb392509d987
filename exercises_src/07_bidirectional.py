# %% [markdown]
# # Exercise 7: bidirectional layers, with padded batches
#
# A bidirectional layer runs two cells over the sequence, one from left to right and one from
# right to left, and merges their outputs at every step:
# $y_t = [\overrightarrow{h}_t; \overleftarrow{h}_t]$ (concatenation, 2H features), or their
# sum, or their mean (H features).
#
# Batches hold sequences of different lengths, padded at the end. A mask `(T, N)` of bools
# says which steps are real: `mask[t, n]` is True for the first `lengths[n]` steps of
# sequence `n`. "Right to left" must then start at each sequence's **own** last valid step,
# not at the end of the padded array.

# %% header

# %% [markdown]
# **What you may use.** `sequence_forward(cell, xs, state0, params, mask, **cell_kwargs)` runs
# any cell (`"rnn"`, `"lstm"`, `"gru"`, `"peephole"`) over a padded batch and returns `hs`
# `(T, N, H)`, the final states and a cache; at a padded step it carries the state and outputs
# zero. `mask_to_lengths(mask)` gives the lengths `(N,)`. Pass `None` as `state0` for zeros.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref.cells import sequence_forward  # noqa: F401 (for your code)
from rnn_ref.masks import mask_to_lengths  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. Reversing each sequence within its own length (2 points)
#
# On padding and reversal, see [chapter 7](../../book/07_bidirectional.md). For sequence `n`
# of length `L`, step `t < L` of the output is step `L - 1 - t` of the input; padded steps
# (`t >= L`) are copied unchanged. Reversing twice gives back the input.


# %% solution id="reverse_sequences"
def reverse_sequences(xs, lengths):
    r"""Reverse every sequence of a padded batch within its own length.

    Parameters
    ----------
    xs : ndarray, shape (T, N, ...)
    lengths : ndarray of int, shape (N,), values in [0, T]

    Returns
    -------
    out : ndarray, shape (T, N, ...), same dtype
        ``out[t, n] = xs[lengths[n] - 1 - t, n]`` for ``t < lengths[n]``, ``xs[t, n]`` otherwise.
    """
    ### BEGIN SOLUTION
    T, N = xs.shape[:2]
    t = np.arange(T)[:, None]  # (T, 1)
    index = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, N)
    return xs[index, np.arange(N)[None, :]]
    ### END SOLUTION


# %% test id="test_reverse_sequences" points=2
"""reverse_sequences: two sequences of lengths 3 and 1 by hand, then random cases."""
xs = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])[:, :, None]  # (T=4, N=2, D=1)
rnn_checks.check_example(
    reverse_sequences,
    "masks.reverse_sequences",
    args=(xs, np.array([3, 1])),
    expected={"reversed": np.array([[3.0, 10.0], [2.0, 20.0], [1.0, 30.0], [4.0, 40.0]])[:, :, None]},
)
rnn_checks.check(reverse_sequences, "masks.reverse_sequences")
### BEGIN HIDDEN TESTS
rnn_checks.grade(reverse_sequences, "masks.reverse_sequences")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The bidirectional forward pass (4 points)
#
# On bidirectional layers, see [chapter 7](../../book/07_bidirectional.md). Run the forward
# cell on `xs` with the mask. For the backward direction, reverse each sequence (your
# function above), run the backward cell with its own parameters and the same mask, and
# reverse its outputs back, so that both directions' outputs at index `t` belong to step `t`.
# Then merge: `"concat"` puts the forward half first. Pass `**cell_kwargs` on to both cells
# (the GRU's `reset_after`).
#
# **States.** A direction's state is `h` `(N, H)` for `"rnn"` and `"gru"`, and the pair
# `(h, c)` for `"lstm"` and `"peephole"`, as in PyTorch's `h_0`/`c_0` and `h_n`/`c_n`.
# `sequence_forward` takes and returns the states of a cell as a tuple, `(h,)` or `(h, c)`:
# convert between the two forms. Each direction starts from its own initial state (None means
# zeros); return the final state of each direction: the forward one at each sequence's own last
# valid step (what `sequence_forward` returns), the backward one where it ends, at `t = 0`. The
# cache is not graded.


# %% solution id="bidirectional_forward"
def bidirectional_forward(
    cell, xs, params_fwd, params_bwd, mask=None, merge="concat", *, state0_fwd=None, state0_bwd=None, **cell_kwargs
):
    r"""Run a bidirectional layer of ``cell`` over a padded batch.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    xs : ndarray, shape (T, N, D)
    params_fwd, params_bwd : dict
        Parameters of the left-to-right and the right-to-left cell.
    mask : ndarray of bool, shape (T, N), optional
        Valid steps, left-aligned; None means every step is valid.
    merge : str
        ``"concat"`` (output 2H), ``"sum"`` or ``"mean"`` (output H).
    state0_fwd, state0_bwd : state, optional
        Initial state of each direction: ``h`` (N, H), or ``(h, c)`` for the LSTMs; None means zeros.
    **cell_kwargs
        Passed to both cells.

    Returns
    -------
    ys : ndarray, shape (T, N, 2H) or (T, N, H)
        Zero at padded steps.
    last_fwd, last_bwd : state
        Final state of each direction, in the same form as an initial state.
    cache : object
        Not graded.

    Notes
    -----
    .. math::
        y_t = [\overrightarrow{h}_t; \overleftarrow{h}_t], \quad
        \overrightarrow{h}_t + \overleftarrow{h}_t
        \quad\text{or}\quad \tfrac12(\overrightarrow{h}_t + \overleftarrow{h}_t)
    """

    ### BEGIN SOLUTION
    def as_tuple(state):  # a direction's state -> the cells' tuple of states
        return None if state is None else tuple(state) if isinstance(state, tuple) else (state,)

    def as_state(states):  # the cells' tuple of states -> a direction's state
        return states[0] if len(states) == 1 else states

    T, N, _ = xs.shape
    lengths = np.full(N, T) if mask is None else mask_to_lengths(mask)
    hs_fwd, last_fwd, _ = sequence_forward(cell, xs, as_tuple(state0_fwd), params_fwd, mask, **cell_kwargs)
    xs_rev = reverse_sequences(xs, lengths)
    hs_rev, last_bwd, _ = sequence_forward(cell, xs_rev, as_tuple(state0_bwd), params_bwd, mask, **cell_kwargs)
    hs_bwd = reverse_sequences(hs_rev, lengths)
    if merge == "concat":
        ys = np.concatenate([hs_fwd, hs_bwd], axis=-1)
    elif merge == "sum":
        ys = hs_fwd + hs_bwd
    else:
        ys = (hs_fwd + hs_bwd) / 2
    return ys, as_state(last_fwd), as_state(last_bwd), None
    ### END SOLUTION


# %% test id="test_bidirectional_forward" points=4
"""bidirectional_forward: a padded batch of linear one-unit cells by hand, then random cases."""
# Vanilla RNN cells with W_h = 0 and b = 0: every output is tanh(W_x x_t), whatever the reading
# order, so this checks the halves and the padding. Forward W_x = 1, backward W_x = 2; sequence 2
# has one valid step, and its padded step gives 0.
xs = np.array([[0.1, 0.3], [0.2, 0.0]])[:, :, None]  # (T=2, N=2, D=1); sequence 1 has length 1
mask = np.array([[True, True], [True, False]])
fwd = {"W_x": np.array([[1.0]]), "W_h": np.array([[0.0]]), "b": np.array([0.0])}
bwd = {"W_x": np.array([[2.0]]), "W_h": np.array([[0.0]]), "b": np.array([0.0])}
by_hand = np.array(
    [[[np.tanh(0.1), np.tanh(0.2)], [np.tanh(0.3), np.tanh(0.6)]], [[np.tanh(0.2), np.tanh(0.4)], [0, 0]]]
)
rnn_checks.check_example(
    bidirectional_forward,
    "bidirectional.bidirectional_forward",
    args=("rnn", xs, fwd, bwd, mask, "concat"),
    expected={"ys": by_hand},
)
# With W_h = 1 the order matters: the forward cell reads 0.1 then 0.2, the backward one 0.2 then 0.1.
fwd["W_h"], bwd["W_h"] = np.array([[1.0]]), np.array([[1.0]])
h_f1, h_b2 = np.tanh(0.1), np.tanh(0.4)  # first forward step; first backward step (step 2, doubled)
h_f2, h_b1 = np.tanh(0.2 + h_f1), np.tanh(0.2 + h_b2)
by_hand = np.array([[[h_f1 + h_b1], [np.tanh(0.3) + np.tanh(0.6)]], [[h_f2 + h_b2], [0.0]]]) / 2
# The final states: forward at each sequence's last valid step, backward at t = 0.
rnn_checks.check_example(
    bidirectional_forward,
    "bidirectional.bidirectional_forward",
    args=("rnn", xs, fwd, bwd, mask, "mean"),
    expected={
        "ys": by_hand,
        "last_fwd": np.array([[h_f2], [np.tanh(0.3)]]),
        "last_bwd": np.array([[h_b1], [np.tanh(0.6)]]),
    },
)
# Initial states: the forward cell starts from 0.5, the backward one from -0.5 at each sequence's last valid step.
h_f1, h_b2 = np.tanh(0.1 + 0.5), np.tanh(0.4 - 0.5)
h_f2, h_b1 = np.tanh(0.2 + h_f1), np.tanh(0.2 + h_b2)
rnn_checks.check_example(
    bidirectional_forward,
    "bidirectional.bidirectional_forward",
    args=("rnn", xs, fwd, bwd, mask, "concat"),
    kwargs={"state0_fwd": np.full((2, 1), 0.5), "state0_bwd": np.full((2, 1), -0.5)},
    expected={
        "ys": np.array([[[h_f1, h_b1], [np.tanh(0.3 + 0.5), np.tanh(0.6 - 0.5)]], [[h_f2, h_b2], [0.0, 0.0]]]),
        "last_fwd": np.array([[h_f2], [np.tanh(0.3 + 0.5)]]),
        "last_bwd": np.array([[h_b1], [np.tanh(0.6 - 0.5)]]),
    },
)
rnn_checks.check(bidirectional_forward, "bidirectional.bidirectional_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(bidirectional_forward, "bidirectional.bidirectional_forward")
### END HIDDEN TESTS
