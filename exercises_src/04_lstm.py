# %% [markdown]
# # Exercise 4: the LSTM, one equation at a time
#
# $$\begin{aligned}
# i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i) &
# f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f) \\
# g_t &= \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g) &
# o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o) \\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t &
# h_t &= o_t \odot \tanh(c_t)
# \end{aligned}$$
#
# You will write one function per equation, then a step that computes all four gates with a
# single matrix product, then the loop over a sequence.

# %% header

# %% [markdown]
# **Shapes and layout.** `x` is `(N, D)`, `h_prev` and `c_prev` are `(N, H)`. Each gate has
# its own `W_x?` `(H, D)`, `W_h?` `(H, H)` and `b_?` `(H,)`. In a step, the four gates are
# stacked in PyTorch's order **i, f, g, o**: `params["W_x"]` is `(4H, D)`, `params["W_h"]` is
# `(4H, H)` and `params["b"]` is `(4H,)`; rows `k*H:(k+1)*H` belong to gate `k`. Use the
# `sigmoid` imported below (it never overflows) and `np.tanh`.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref.activations import sigmoid  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. The four gates (1 point each)
#
# On the gates, see [chapter 4](../../book/04_lstm.md). The input gate `i` decides how much of
# the candidate enters the cell, the forget gate `f` how much of the old cell state is kept,
# the candidate `g` what could be written, the output gate `o` how much of the cell is shown.


# %% solution id="lstm_input_gate"
def input_gate(x, h_prev, W_xi, W_hi, b_i):
    r"""Input gate.

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
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xi.T + h_prev @ W_hi.T + b_i)
    ### END SOLUTION


# %% test id="test_lstm_input_gate" points=1
"""input_gate: a case worked out by hand, then random cases against the reference."""
# For every gate below: W_x x = (1, -1) and W_h h_prev = (0, 1), so W_x x + W_h h_prev = (1, 0);
# the bias then sets the pre-activation. sigmoid(ln 3) = 3/4, sigmoid(0) = 1/2, sigmoid(-ln 3) = 1/4.
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
b_i = np.array([np.log(3) - 1, -np.log(3)])  # pre-activation (ln 3, -ln 3)
rnn_checks.check_example(input_gate, "lstm.input_gate", args=(x, h_prev, W_x, W_h, b_i), expected={"i": [[0.75, 0.25]]})
rnn_checks.check(input_gate, "lstm.input_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(input_gate, "lstm.input_gate")
### END HIDDEN TESTS


# %% solution id="lstm_forget_gate"
def forget_gate(x, h_prev, W_xf, W_hf, b_f):
    r"""Forget gate.

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
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xf.T + h_prev @ W_hf.T + b_f)
    ### END SOLUTION


# %% test id="test_lstm_forget_gate" points=1
"""forget_gate: a case worked out by hand, then random cases against the reference."""
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
b_f = np.array([-1.0, np.log(3)])  # pre-activation (0, ln 3)
rnn_checks.check_example(
    forget_gate, "lstm.forget_gate", args=(x, h_prev, W_x, W_h, b_f), expected={"f": [[0.5, 0.75]]}
)
rnn_checks.check(forget_gate, "lstm.forget_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(forget_gate, "lstm.forget_gate")
### END HIDDEN TESTS


# %% solution id="lstm_candidate"
def candidate(x, h_prev, W_xg, W_hg, b_g):
    r"""Candidate cell values (often written :math:`\tilde c_t`).

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
    ### BEGIN SOLUTION
    return np.tanh(x @ W_xg.T + h_prev @ W_hg.T + b_g)
    ### END SOLUTION


# %% test id="test_lstm_candidate" points=1
"""candidate: a case worked out by hand, then random cases against the reference."""
# tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6 and tanh(0) = 0.
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
b_g = np.array([np.log(2) - 1, 0.0])  # pre-activation (ln 2, 0)
rnn_checks.check_example(candidate, "lstm.candidate", args=(x, h_prev, W_x, W_h, b_g), expected={"g": [[0.6, 0.0]]})
rnn_checks.check(candidate, "lstm.candidate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(candidate, "lstm.candidate")
### END HIDDEN TESTS


# %% solution id="lstm_output_gate"
def output_gate(x, h_prev, W_xo, W_ho, b_o):
    r"""Output gate.

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
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xo.T + h_prev @ W_ho.T + b_o)
    ### END SOLUTION


# %% test id="test_lstm_output_gate" points=1
"""output_gate: a case worked out by hand, then random cases against the reference."""
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
b_o = np.array([-1 - np.log(3), 0.0])  # pre-activation (-ln 3, 0)
rnn_checks.check_example(
    output_gate, "lstm.output_gate", args=(x, h_prev, W_x, W_h, b_o), expected={"o": [[0.25, 0.5]]}
)
rnn_checks.check(output_gate, "lstm.output_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(output_gate, "lstm.output_gate")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The cell state and the hidden state (1 point each)
#
# On the memory cell, see [chapter 4](../../book/04_lstm.md): the cell keeps part of its old
# value and adds part of the candidate; the hidden state shows the squashed cell through the
# output gate.


# %% solution id="lstm_cell_state"
def cell_state(f, c_prev, i, g):
    r"""New cell state.

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
    ### BEGIN SOLUTION
    return f * c_prev + i * g
    ### END SOLUTION


# %% test id="test_lstm_cell_state" points=1
"""cell_state: (0.5 * 2 + 0.75 * 0.6, 0.75 * -4 + 0.25 * -0.8) = (1.45, -3.2), then random cases."""
f, c_prev, i, g = [[0.5, 0.75]], [[2.0, -4.0]], [[0.75, 0.25]], [[0.6, -0.8]]
args = tuple(np.array(a) for a in (f, c_prev, i, g))
rnn_checks.check_example(cell_state, "lstm.cell_state", args=args, expected={"c": [[1.45, -3.2]]})
rnn_checks.check(cell_state, "lstm.cell_state")
### BEGIN HIDDEN TESTS
rnn_checks.grade(cell_state, "lstm.cell_state")
### END HIDDEN TESTS


# %% solution id="lstm_hidden_state"
def hidden_state(o, c):
    r"""New hidden state.

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
    ### BEGIN SOLUTION
    return o * np.tanh(c)
    ### END SOLUTION


# %% test id="test_lstm_hidden_state" points=1
"""hidden_state: tanh(ln 2) = 0.6 and tanh(-ln 3) = -0.8, so h = (0.25 * 0.6, 0.5 * -0.8), then random cases."""
o, c = np.array([[0.25, 0.5]]), np.array([[np.log(2), -np.log(3)]])
rnn_checks.check_example(hidden_state, "lstm.hidden_state", args=(o, c), expected={"h": [[0.15, -0.4]]})
rnn_checks.check(hidden_state, "lstm.hidden_state")
### BEGIN HIDDEN TESTS
rnn_checks.grade(hidden_state, "lstm.hidden_state")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. One step (2 points)
#
# On one LSTM step, see [chapter 4](../../book/04_lstm.md). Compute the four pre-activations
# with **one** product for each weight matrix, `x @ W_x.T + h_prev @ W_h.T + b` of shape
# `(N, 4H)`, then split it into the blocks of `i, f, g, o` (in that order). You may call your
# functions above (with the matching rows of the weights) or write the equations inline.


# %% solution id="lstm_step_forward"
def lstm_step_forward(x, h_prev, c_prev, params):
    r"""One LSTM step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates stacked in the order i, f, g, o.

    Returns
    -------
    h, c : ndarray, shape (N, H)
    cache : object
        Whatever a backward pass would need (not graded).
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, 4H)
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    c = cell_state(f, c_prev, i, g)
    h = hidden_state(o, c)
    return h, c, (x, h_prev, c_prev, i, f, g, o, c)
    ### END SOLUTION


# %% test id="test_lstm_step_forward" points=2
"""lstm_step_forward: a step worked out by hand, then random cases against the reference."""
# All weights are zero, so each gate is its bias: i = sigmoid(ln 3) = 0.75, f = sigmoid(0) = 0.5,
# g = tanh(+-ln 2) = +-0.6, o = sigmoid(+-ln 3) = 0.75 or 0.25. With c_prev = (2, -2):
# c = 0.5 * (2, -2) + 0.75 * (0.6, -0.6) = (1.45, -1.45) and h = o * tanh(c).
ln2, ln3 = np.log(2), np.log(3)
params = {
    "W_x": np.zeros((8, 3)),
    "W_h": np.zeros((8, 2)),
    "b": np.array([ln3, ln3, 0.0, 0.0, ln2, -ln2, ln3, -ln3]),  # i, f, g, o
}
x, h_prev, c_prev = np.ones((1, 3)), np.ones((1, 2)), np.array([[2.0, -2.0]])
rnn_checks.check_example(
    lstm_step_forward,
    "lstm.lstm_step_forward",
    args=(x, h_prev, c_prev, params),
    expected={"c": [[1.45, -1.45]], "h": [[0.75 * np.tanh(1.45), 0.25 * np.tanh(-1.45)]]},
)
rnn_checks.check(lstm_step_forward, "lstm.lstm_step_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(lstm_step_forward, "lstm.lstm_step_forward")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. A whole sequence (2 points)
#
# On the LSTM over a sequence, see [chapter 4](../../book/04_lstm.md). Start from `h0` and
# `c0` and carry **both** states from step to step. Return every hidden state and the final
# `h` and `c`. (The `mask` argument is for padded batches, chapter 7: ignore it here.)


# %% solution id="lstm_forward"
def lstm_forward(xs, h0, c0, params, mask=None):
    r"""Run the LSTM over a whole sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
    h0, c0 : ndarray, shape (N, H)
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates i, f, g, o.
    mask : None
        Not used in this exercise.

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        ``hs[t]`` is the hidden state after reading ``xs[t]``.
    h_last, c_last : ndarray, shape (N, H)
        The states after the last step.
    cache : object
        Not graded.
    """
    ### BEGIN SOLUTION
    T, N, _ = xs.shape
    hs = np.empty((T, N, h0.shape[1]), dtype=xs.dtype)
    h, c = h0, c0
    for t in range(T):
        h, c, _ = lstm_step_forward(xs[t], h, c, params)
        hs[t] = h
    return hs, h, c, None
    ### END SOLUTION


# %% test id="test_lstm_forward" points=2
"""lstm_forward: two steps worked out by hand, then random cases against the reference."""
# One unit, zero weights: every step has i = 0.75, f = 0.5, g = 0.6 and o = 0.75.
# From c0 = 0: c_1 = 0.75 * 0.6 = 0.45, c_2 = 0.5 * 0.45 + 0.45 = 0.675, h_t = 0.75 * tanh(c_t).
params = {"W_x": np.zeros((4, 1)), "W_h": np.zeros((4, 1)), "b": np.array([np.log(3), 0.0, np.log(2), np.log(3)])}
h_1, h_2 = 0.75 * np.tanh(0.45), 0.75 * np.tanh(0.675)
rnn_checks.check_example(
    lstm_forward,
    "lstm.lstm_forward",
    args=(np.ones((2, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), params),
    expected={"hs": [[[h_1]], [[h_2]]], "h_last": [[h_2]], "c_last": [[0.675]]},
)
rnn_checks.check(lstm_forward, "lstm.lstm_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(lstm_forward, "lstm.lstm_forward")
### END HIDDEN TESTS
