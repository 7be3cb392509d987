# %% [markdown]
# # Exercise 5: the gated recurrent unit
#
# $$\begin{aligned}
# r_t &= \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r) &
# z_t &= \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z) \\
# n_t &= \tanh(W_{xn} x_t + W_{hn} (r_t \odot h_{t-1}) + b_n) &
# h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t
# \end{aligned}$$
#
# The candidate $n_t$ comes in two published variants. The textbook one (Cho et al. 2014),
# above, resets the state **before** the recurrent matmul. PyTorch and cuDNN reset **after** it,
# with a bias of its own inside the reset:
# $n_t = \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$. The keyword
# `reset_after` chooses. Here, as in Cho et al. and PyTorch, $z$ close to 1 **keeps** the old
# state (some texts swap $z$ and $1 - z$).

# %% header

# %% [markdown]
# **Shapes and layout.** `x` is `(N, D)`, `h_prev` is `(N, H)`. Each gate function takes its
# own weights `(H, D)`, `(H, H)` and bias `(H,)`. In a step, the gates are stacked in PyTorch's
# order **r, z, n**: `params["W_x"]` is `(3H, D)`, `params["W_h"]` is `(3H, H)`, `params["b"]`
# is `(3H,)`, and with `reset_after=True` there is also `params["b_hn"]` `(H,)`.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref.activations import sigmoid  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. The reset and update gates (1 point each)
#
# On the gates of the GRU, see [chapter 5](../../book/05_gru.md).


# %% solution id="gru_reset_gate"
def reset_gate(x, h_prev, W_xr, W_hr, b_r):
    r"""Reset gate: how much of the previous state the candidate may see.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xr : ndarray, shape (H, D)
    W_hr : ndarray, shape (H, H)
    b_r : ndarray, shape (H,)

    Returns
    -------
    r : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: r_t = \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r)
    """
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xr.T + h_prev @ W_hr.T + b_r)
    ### END SOLUTION


# %% test id="test_gru_reset_gate" points=1
"""reset_gate: a case worked out by hand, then random cases against the reference."""
# W_x x = (1, -1) and W_h h_prev = (0, 1), so W_x x + W_h h_prev = (1, 0); the bias sets the rest.
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
b_r = np.array([np.log(3) - 1, 0.0])  # pre-activation (ln 3, 0): sigmoid gives (3/4, 1/2)
rnn_checks.check_example(reset_gate, "gru.reset_gate", args=(x, h_prev, W_x, W_h, b_r), expected={"r": [[0.75, 0.5]]})
rnn_checks.check(reset_gate, "gru.reset_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(reset_gate, "gru.reset_gate")
### END HIDDEN TESTS


# %% solution id="gru_update_gate"
def update_gate(x, h_prev, W_xz, W_hz, b_z):
    r"""Update gate: how much of the previous state is kept.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xz : ndarray, shape (H, D)
    W_hz : ndarray, shape (H, H)
    b_z : ndarray, shape (H,)

    Returns
    -------
    z : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: z_t = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z)
    """
    ### BEGIN SOLUTION
    return sigmoid(x @ W_xz.T + h_prev @ W_hz.T + b_z)
    ### END SOLUTION


# %% test id="test_gru_update_gate" points=1
"""update_gate: a case worked out by hand, then random cases against the reference."""
x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
b_z = np.array([-1 - np.log(3), np.log(3)])  # pre-activation (-ln 3, ln 3): sigmoid gives (1/4, 3/4)
rnn_checks.check_example(
    update_gate, "gru.update_gate", args=(x, h_prev, W_x, W_h, b_z), expected={"z": [[0.25, 0.75]]}
)
rnn_checks.check(update_gate, "gru.update_gate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(update_gate, "gru.update_gate")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The candidate, in both variants (3 points)
#
# On where the reset gate goes, see [chapter 5](../../book/05_gru.md). With
# `reset_after=False`, reset the state, then multiply: `(r * h_prev) @ W_hn.T`; with
# `reset_after=True`, multiply, add `b_hn`, then reset: `r * (h_prev @ W_hn.T + b_hn)`.
# The two agree only when `b_hn = 0` and `W_hn` is diagonal.


# %% solution id="gru_candidate"
def candidate(x, h_prev, r, W_xn, W_hn, b_n, b_hn=None, *, reset_after=False):
    r"""Candidate state, in either variant.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    r : ndarray, shape (N, H)
        The reset gate of this step.
    W_xn : ndarray, shape (H, D)
    W_hn : ndarray, shape (H, H)
    b_n : ndarray, shape (H,)
    b_hn : ndarray, shape (H,), optional
        Given (and used) only when ``reset_after=True``.
    reset_after : bool
        Reset after the recurrent matmul (PyTorch) instead of before it (textbook).

    Returns
    -------
    n : ndarray, shape (N, H), values in (-1, 1)

    Notes
    -----
    .. math::
        n_t &= \tanh(W_{xn} x_t + W_{hn} (r_t \odot h_{t-1}) + b_n)
            \quad (\text{reset\_after=False}) \\
        n_t &= \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))
            \quad (\text{reset\_after=True})
    """
    ### BEGIN SOLUTION
    if reset_after:
        return np.tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + b_hn))
    return np.tanh(x @ W_xn.T + (r * h_prev) @ W_hn.T + b_n)
    ### END SOLUTION


# %% test id="test_gru_candidate" points=3
"""candidate: both variants worked out by hand, then random cases against the reference."""
# x = 0, h_prev = (1, 1), r = (1/2, 1), W_hn = [[1, 1], [0, 0]] and b_n = 0.
# Textbook: W_hn (r * h_prev) = (1/2 + 1, 0), so n = tanh(1.5, 0).
# PyTorch, with b_hn = (0.5, ln 2): r * (W_hn h_prev + b_hn) = (1/2 * 2.5, ln 2),
# so n = tanh(1.25, ln 2) = (tanh 1.25, 0.6).
x, h_prev, r = np.zeros((1, 1)), np.ones((1, 2)), np.array([[0.5, 1.0]])
W_xn, W_hn, b_n = np.ones((2, 1)), np.array([[1.0, 1.0], [0.0, 0.0]]), np.zeros(2)
rnn_checks.check_example(
    candidate,
    "gru.candidate",
    args=(x, h_prev, r, W_xn, W_hn, b_n),
    kwargs={"reset_after": False},
    expected={"n": [[np.tanh(1.5), 0.0]]},
)
rnn_checks.check_example(
    candidate,
    "gru.candidate",
    args=(x, h_prev, r, W_xn, W_hn, b_n, np.array([0.5, np.log(2)])),
    kwargs={"reset_after": True},
    expected={"n": [[np.tanh(1.25), 0.6]]},
)
rnn_checks.check(candidate, "gru.candidate")
### BEGIN HIDDEN TESTS
rnn_checks.grade(candidate, "gru.candidate")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The new state (1 point)
#
# On interpolating between old and new, see [chapter 5](../../book/05_gru.md).


# %% solution id="gru_hidden_state"
def hidden_state(z, n, h_prev):
    r"""New hidden state: a gate-weighted mix of the old state and the candidate.

    Parameters
    ----------
    z, n, h_prev : ndarray, shape (N, H)

    Returns
    -------
    h : ndarray, shape (N, H)

    Notes
    -----
    .. math:: h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t
    """
    ### BEGIN SOLUTION
    return z * h_prev + (1 - z) * n
    ### END SOLUTION


# %% test id="test_gru_hidden_state" points=1
"""hidden_state: z = (1/4, 1) mixes h_prev = (1, 1) and n = (-1, 0.5): (1/4 - 3/4, 1), then random cases."""
args = (np.array([[0.25, 1.0]]), np.array([[-1.0, 0.5]]), np.array([[1.0, 1.0]]))
rnn_checks.check_example(hidden_state, "gru.hidden_state", args=args, expected={"h": [[-0.5, 1.0]]})
rnn_checks.check(hidden_state, "gru.hidden_state")
### BEGIN HIDDEN TESTS
rnn_checks.grade(hidden_state, "gru.hidden_state")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. One step (2 points)
#
# On one GRU step, see [chapter 5](../../book/05_gru.md). Compute `x @ W_x.T + b` `(N, 3H)`
# for the three gates at once, split it in the order **r, z, n**, and add the recurrent terms
# with the matching rows of `W_h`. You may call your functions above.


# %% solution id="gru_step_forward"
def gru_step_forward(x, h_prev, params, *, reset_after=False):
    r"""One GRU step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    params : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,), gates stacked r, z, n;
        with ``reset_after=True`` also ``b_hn`` (H,).
    reset_after : bool
        Which candidate: textbook (False) or PyTorch (True).

    Returns
    -------
    h : ndarray, shape (N, H)
    cache : object
        Not graded.
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    r = reset_gate(x, h_prev, W_x[:H], W_h[:H], b[:H])
    z = update_gate(x, h_prev, W_x[H : 2 * H], W_h[H : 2 * H], b[H : 2 * H])
    n = candidate(x, h_prev, r, W_x[2 * H :], W_h[2 * H :], b[2 * H :], params.get("b_hn"), reset_after=reset_after)
    return hidden_state(z, n, h_prev), (r, z, n)
    ### END SOLUTION


# %% test id="test_gru_step_forward" points=2
"""gru_step_forward: a step worked out by hand, then random cases against the reference."""
# All weights zero: r = sigmoid(0) = 1/2, z = sigmoid(ln 3) = 3/4, n = tanh(ln 2) = 0.6 in both
# variants (b_hn = 0), so h = 0.75 * h_prev + 0.25 * 0.6.
params = {"W_x": np.zeros((6, 1)), "W_h": np.zeros((6, 2)), "b": np.log([1.0, 1.0, 3.0, 3.0, 2.0, 2.0])}
h_prev = np.array([[1.0, -1.0]])
expected = {"h": [[0.75 + 0.15, -0.75 + 0.15]]}
rnn_checks.check_example(
    gru_step_forward, "gru.gru_step_forward", args=(np.ones((1, 1)), h_prev, params), expected=expected
)
rnn_checks.check(gru_step_forward, "gru.gru_step_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(gru_step_forward, "gru.gru_step_forward")
### END HIDDEN TESTS
