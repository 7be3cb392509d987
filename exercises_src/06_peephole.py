# %% [markdown]
# # Exercise 6: the peephole LSTM
#
# In a peephole LSTM (Gers and Schmidhuber 2000) the gates also look at the cell state,
# through one weight per unit:
#
# $$\begin{aligned}
# i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + p_i \odot c_{t-1} + b_i) &
# f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + p_f \odot c_{t-1} + b_f) \\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t &
# o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + p_o \odot c_t + b_o)
# \end{aligned}$$
#
# with $g_t$ and $h_t = o_t \odot \tanh(c_t)$ as in the LSTM. The input and forget gates look
# at the **old** cell state; the output gate looks at the **new** one, so it is computed after
# the cell update. The peepholes `p_i, p_f, p_o` are vectors `(H,)`, multiplied elementwise.

# %% header

# %% setup
import numpy as np

import rnn_checks
from rnn_ref.activations import sigmoid  # noqa: F401 (for your code)
from rnn_ref.lstm import candidate, cell_state, hidden_state  # noqa: F401 (the LSTM's, for your step)

# %% [markdown]
# ## 1. The three gates that peek (1, 1 and 2 points)
#
# On peepholes, see [chapter 6](../../book/06_peephole.md).


# %% solution id="peephole_input_gate"
def input_gate(x, h_prev, c_prev, W_xi, W_hi, b_i, p_i):
    r"""Input gate, peeking at the previous cell state.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
    W_xi : ndarray, shape (H, D)
    W_hi : ndarray, shape (H, H)
    b_i, p_i : ndarray, shape (H,)

    Returns
    -------
    i : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: i_t = \sigma(W_{xi} x_t + W_{hi} h_{t-1} + p_i \odot c_{t-1} + b_i)
    """
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xi.T + h_prev @ W_hi.T + p_i * c_prev + b_i)
    ### END SOLUTION


# %% test id="test_peephole_input_gate" points=1
"""input_gate: a case worked out by hand, then random cases against the reference."""
# W_x x + W_h h_prev = (1, 0) (as in exercise 4); p_i * c_prev = (2 * 0.5, -1 * ln 3) = (1, -ln 3);
# with b_i = (ln 3 - 2, 0) the pre-activation is (ln 3, -ln 3): i = (3/4, 1/4).
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
c_prev, p_i, b_i = np.array([[0.5, np.log(3)]]), np.array([2.0, -1.0]), np.array([np.log(3) - 2, 0.0])
rnn_checks.check_example(
    input_gate,
    "peephole.input_gate",
    args=(x, h_prev, c_prev, W_x, W_h, b_i, p_i),
    expected={"i": [[0.75, 0.25]]},
)
rnn_checks.check(input_gate, "peephole.input_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(input_gate, "peephole.input_gate")
### END HIDDEN TESTS


# %% solution id="peephole_forget_gate"
def forget_gate(x, h_prev, c_prev, W_xf, W_hf, b_f, p_f):
    r"""Forget gate, peeking at the previous cell state.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
    W_xf : ndarray, shape (H, D)
    W_hf : ndarray, shape (H, H)
    b_f, p_f : ndarray, shape (H,)

    Returns
    -------
    f : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: f_t = \sigma(W_{xf} x_t + W_{hf} h_{t-1} + p_f \odot c_{t-1} + b_f)
    """
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xf.T + h_prev @ W_hf.T + p_f * c_prev + b_f)
    ### END SOLUTION


# %% test id="test_peephole_forget_gate" points=1
"""forget_gate: a case worked out by hand, then random cases against the reference."""
# W_x x + W_h h_prev = (1, 0); p_f * c_prev = (-1, ln 3) with c_prev = (1, ln 3), p_f = (-1, 1);
# b_f = 0, so the pre-activation is (0, ln 3): f = (1/2, 3/4).
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
c_prev, p_f, b_f = np.array([[1.0, np.log(3)]]), np.array([-1.0, 1.0]), np.zeros(2)
rnn_checks.check_example(
    forget_gate,
    "peephole.forget_gate",
    args=(x, h_prev, c_prev, W_x, W_h, b_f, p_f),
    expected={"f": [[0.5, 0.75]]},
)
rnn_checks.check(forget_gate, "peephole.forget_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(forget_gate, "peephole.forget_gate")
### END HIDDEN TESTS

# %% [markdown]
# The output gate takes the cell state **of this step**, `c` (the caller computes it first).


# %% solution id="peephole_output_gate"
def output_gate(x, h_prev, c, W_xo, W_ho, b_o, p_o):
    r"""Output gate, peeking at the new cell state.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    c : ndarray, shape (N, H)
        The cell state of this step, :math:`c_t`.
    W_xo : ndarray, shape (H, D)
    W_ho : ndarray, shape (H, H)
    b_o, p_o : ndarray, shape (H,)

    Returns
    -------
    o : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: o_t = \sigma(W_{xo} x_t + W_{ho} h_{t-1} + p_o \odot c_t + b_o)
    """
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xo.T + h_prev @ W_ho.T + p_o * c + b_o)
    ### END SOLUTION


# %% test id="test_peephole_output_gate" points=2
"""output_gate: a case worked out by hand, then random cases against the reference."""
# x = 0 and h_prev = 0: the pre-activation is p_o * c + b_o = (0.5 * 2 - 1, 3 * ln 3 - 2 ln 3) = (0, ln 3).
x, h_prev = np.zeros((1, 3)), np.zeros((1, 2))
W_x, W_h = np.ones((2, 3)), np.ones((2, 2))
c, p_o, b_o = np.array([[2.0, np.log(3)]]), np.array([0.5, 3.0]), np.array([-1.0, -2 * np.log(3)])
rnn_checks.check_example(
    output_gate,
    "peephole.output_gate",
    args=(x, h_prev, c, W_x, W_h, b_o, p_o),
    expected={"o": [[0.5, 0.75]]},
)
rnn_checks.check(output_gate, "peephole.output_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(output_gate, "peephole.output_gate")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. One step (3 points)
#
# On a peephole step, see [chapter 6](../../book/06_peephole.md). One product per weight
# matrix gives the four pre-activations without peepholes, `(N, 4H)`, in the order
# **i, f, g, o**; add each gate's peephole term, in the right order of computation: `i`, `f`
# and `g` first, then the new cell state, then `o`, then `h`. You may call your gates and
# the LSTM's `cell_state` and `hidden_state` imported above.


# %% solution id="peephole_step_forward"
def peephole_step_forward(x, h_prev, c_prev, params):
    r"""One peephole LSTM step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), gates i, f, g, o;
        peepholes ``p_i``, ``p_f``, ``p_o`` (H,).

    Returns
    -------
    h, c : ndarray, shape (N, H)
    cache : object
        Not graded.
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    rows = [slice(k * H, (k + 1) * H) for k in range(4)]  # i, f, g, o
    i = input_gate(x, h_prev, c_prev, W_x[rows[0]], W_h[rows[0]], b[rows[0]], params["p_i"])
    f = forget_gate(x, h_prev, c_prev, W_x[rows[1]], W_h[rows[1]], b[rows[1]], params["p_f"])
    g = np.tanh(x @ W_x[rows[2]].T + h_prev @ W_h[rows[2]].T + b[rows[2]])
    c = cell_state(f, c_prev, i, g)
    o = output_gate(x, h_prev, c, W_x[rows[3]], W_h[rows[3]], b[rows[3]], params["p_o"])
    return hidden_state(o, c), c, (i, f, g, o)
    ### END SOLUTION


# %% test id="test_peephole_step_forward" points=3
"""peephole_step_forward: a step worked out by hand, then random cases against the reference."""
# Zero weights and biases; c_prev = 2 ln 3; p_i = 1/2, p_f = 0, p_o = 0: i = sigmoid(ln 3) = 3/4,
# f = 1/2, g = tanh(0) = 0, so c = ln 3. Then o = sigmoid(p_o * c) = 1/2 and h = 0.5 * tanh(ln 3) = 0.4.
# With p_o = 1 instead, o = sigmoid(ln 3) = 3/4 and h = 0.6 (second unit).
params = {"W_x": np.zeros((8, 1)), "W_h": np.zeros((8, 2)), "b": np.zeros(8)}
params |= {"p_i": np.array([0.5, 0.5]), "p_f": np.zeros(2), "p_o": np.array([0.0, 1.0])}
c_prev = np.full((1, 2), 2 * np.log(3))
rnn_checks.check_example(
    peephole_step_forward,
    "peephole.peephole_step_forward",
    args=(np.ones((1, 1)), np.ones((1, 2)), c_prev, params),
    expected={"c": [[np.log(3), np.log(3)]], "h": [[0.4, 0.6]]},
)
rnn_checks.check(peephole_step_forward, "peephole.peephole_step_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(peephole_step_forward, "peephole.peephole_step_forward")
### END HIDDEN TESTS
