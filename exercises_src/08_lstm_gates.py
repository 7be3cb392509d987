# %% [markdown]
# # Exercise 8: the gradients of the LSTM's gates
#
# The forward pass of the LSTM is given (`rnn_ref.lstm`). You will write its backward pass:
# the gradient of every gate in one step, then backpropagation through time, where two
# gradients travel backward: the one of the hidden state and the one of the cell state.

# %% header

# %% [markdown]
# **What the forward pass keeps for you.** `lstm_step_forward(x, h_prev, c_prev, params)`
# returns `h`, `c` and `LSTMStepCache(x, h_prev, c_prev, gates, c, tanh_c, params)`, where
# `gates` is `(N, 4H)`: the activations `i, f, g, o` side by side (after their sigmoid or
# tanh), and `tanh_c` is `tanh(c)`. `lstm_forward(xs, h0, c0, params)` returns `hs`, `h_last`,
# `c_last` and `LSTMCache(xs, h_all, c_all, gates, tanh_c, mask, params)`: `h_all` and `c_all`
# are `(T + 1, N, H)` with the initial states at index 0, `gates` is `(T, N, 4H)`, `tanh_c`
# is `(T, N, H)`, and `mask` is `None` here. Weights are stacked in the order **i, f, g, o**.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref import gradcheck
from rnn_ref.lstm import LSTMStepCache, lstm_forward, lstm_step_forward  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. One step backward (5 points)
#
# On the backward pass through the gates, see [chapter 8](../../book/08_lstm_gates.md). Work
# from the output back: $h = o \odot \tanh(c)$ sends gradient to `o` and, through
# $\tanh$, to `c`; that adds to the `dc` that comes from the next step. Then each gate's
# pre-activation gets its gradient (remember $\sigma' = \sigma(1 - \sigma)$ and
# $\tanh' = 1 - \tanh^2$), stacked in the order i, f, g, o like the weights' rows, and the
# matrix products are those of the RNN step.
#
# Take the gates, $c_{t-1}$ and $\tanh(c_t)$ from the cache: the backward pass works at the
# point the forward pass stored. One of the test cases (marked `cached gates=not from x`) has a
# cache whose gates were not computed from its `x`; only a backward pass that reads the cache is
# right there, which is also how the grader tells a backward pass from a forward pass
# differentiated numerically.


# %% solution id="lstm_step_backward"
def lstm_step_backward(dh, dc, cache):
    r"""Backward pass of one LSTM step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient with respect to ``h_t``.
    dc : ndarray, shape (N, H)
        Gradient with respect to ``c_t`` coming from later steps.
    cache : LSTMStepCache
        ``x, h_prev, c_prev, gates (N, 4H), c, tanh_c, params``.

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
        \delta c_t &= \delta c + \delta h_t \odot o_t \odot (1 - \tanh^2 c_t), \quad
        \delta a_o = \delta h_t \odot \tanh c_t \odot o_t (1 - o_t) \\
        \delta a_i &= \delta c_t \odot g_t \odot i_t (1 - i_t), \quad
        \delta a_f = \delta c_t \odot c_{t-1} \odot f_t (1 - f_t), \quad
        \delta a_g = \delta c_t \odot i_t \odot (1 - g_t^2) \\
        \delta c_{t-1} &= \delta c_t \odot f_t, \quad
        \delta h_{t-1} = \delta a\, W_h, \quad \delta x_t = \delta a\, W_x
    """
    ### BEGIN SOLUTION
    H = dh.shape[1]
    i, f, g, o = (cache.gates[:, k * H : (k + 1) * H] for k in range(4))
    dc_total = dc + dh * o * (1 - cache.tanh_c**2)
    da = np.concatenate(
        [
            dc_total * g * i * (1 - i),
            dc_total * cache.c_prev * f * (1 - f),
            dc_total * i * (1 - g**2),
            dh * cache.tanh_c * o * (1 - o),
        ],
        axis=1,
    )  # (N, 4H)
    grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return da @ cache.params["W_x"], da @ cache.params["W_h"], dc_total * f, grads
    ### END SOLUTION


# %% test id="test_lstm_step_backward" points=5
"""lstm_step_backward: a step worked out by hand, random cases, then the gradient checker."""
# One unit, x = 0 and W_h = 0, so each gate is its bias: i = 0.75, f = 0.5, g = 0.6, o = 0.75;
# c_prev = 2 gives c = 0.5 * 2 + 0.75 * 0.6 = 1.45. With dh = 1 and dc = 0:
ln2, ln3 = np.log(2), np.log(3)
params = {"W_x": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]), "W_h": np.zeros((4, 1))}
params["b"] = np.array([ln3, 0.0, ln2, ln3])  # i, f, g, o
_, _, cache = lstm_step_forward(np.zeros((1, 2)), np.ones((1, 1)), np.array([[2.0]]), params)
tanh_c = np.tanh(1.45)
dc_total = 1 * 0.75 * (1 - tanh_c**2)
da = np.array(
    [dc_total * 0.6 * 0.75 * 0.25, dc_total * 2 * 0.5 * 0.5, dc_total * 0.75 * (1 - 0.36), tanh_c * 0.75 * 0.25]
)
rnn_checks.check_example(
    lstm_step_backward,
    "lstm.lstm_step_backward",
    args=(np.ones((1, 1)), np.zeros((1, 1)), cache),
    expected={
        "dx": [[da @ [1.0, 3.0, 5.0, 7.0], da @ [2.0, 4.0, 6.0, 8.0]]],  # da @ W_x
        "dh_prev": [[0.0]],  # W_h = 0
        "dc_prev": [[0.5 * dc_total]],  # dc_total * f
        "grads": {"W_x": np.zeros((4, 2)), "W_h": da[:, None], "b": da},  # x = 0, h_prev = 1
    },
)

# Random cases against the reference first: a mistake that the example above misses is
# named here, before the gradient checker below can only say that a gradient differs.
rnn_checks.check(lstm_step_backward, "lstm.lstm_step_backward")

# The gradient checker: L = sum(dh * h) + sum(dc * c).
rng = np.random.default_rng(8)
x, h_prev, c_prev = rng.standard_normal((3, 4)), np.tanh(rng.standard_normal((3, 2))), rng.standard_normal((3, 2))
params = {"W_x": rng.standard_normal((8, 4)) / 2, "W_h": rng.standard_normal((8, 2)) / 2, "b": rng.standard_normal(8)}
dh, dc = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
_, _, cache = lstm_step_forward(x, h_prev, c_prev, params)
dx, dh_prev, dc_prev, grads = lstm_step_backward(dh, dc, cache)


def step_loss(p):
    h, c, _ = lstm_step_forward(p["x"], p["h_prev"], p["c_prev"], {k: p[k] for k in ("W_x", "W_h", "b")})
    return np.sum(dh * h) + np.sum(dc * c)


gradcheck.check_gradients(
    step_loss,
    {"x": x, "h_prev": h_prev, "c_prev": c_prev, **params},
    {"x": dx, "h_prev": dh_prev, "c_prev": dc_prev, **grads},
)
### BEGIN HIDDEN TESTS
rnn_checks.grade(lstm_step_backward, "lstm.lstm_step_backward")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Backpropagation through time (5 points)
#
# On BPTT in the LSTM, see [chapter 8](../../book/08_lstm_gates.md). Walk backward in time
# carrying two gradients: `dh` (add `dhs[t]`, the gradient of the output at step `t`) and
# `dc` (the cell path: each step returns `dc_prev = dc * f`, which lets the gradient survive
# many steps when `f` is close to 1). Sum the weight gradients over the steps. `dh_last` and
# `dc_last` are the gradients of the final states; they enter at the last step. You may call
# your `lstm_step_backward` with an `LSTMStepCache` built from the sequence's cache.


# %% solution id="lstm_backward"
def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    r"""Backpropagation through time for ``lstm_forward``.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient with respect to every output.
    cache : LSTMCache
        ``xs, h_all, c_all, gates, tanh_c, mask (None here), params``.
    dh_last, dc_last : ndarray, shape (N, H), optional
        Gradients with respect to the final states; None means zero.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0, dc0 : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``b`` (4H,), summed over the steps.
    """
    ### BEGIN SOLUTION
    xs, h_all, c_all, gates, tanh_c, _, params = cache
    T = xs.shape[0]
    dxs = np.empty_like(xs)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dh = np.zeros_like(h_all[0]) if dh_last is None else dh_last
    dc = np.zeros_like(c_all[0]) if dc_last is None else dc_last
    for t in reversed(range(T)):
        step = LSTMStepCache(xs[t], h_all[t], c_all[t], gates[t], c_all[t + 1], tanh_c[t], params)
        dxs[t], dh, dc, step_grads = lstm_step_backward(dhs[t] + dh, dc, step)
        for key in grads:
            grads[key] += step_grads[key]
    return dxs, dh, dc, grads
    ### END SOLUTION


# %% test id="test_lstm_backward" points=5
"""lstm_backward: two steps of one unit worked out by hand, then random cases."""
# Zero weights: every step has i = 0.75, f = 0.5, g = 0.6, o = 0.75; from c0 = 0,
# c_1 = 0.45 and c_2 = 0.675. With dhs = (1, 1): only the cell path carries gradient back
# (W_h = 0), dc_t = dc_next + 0.75 * (1 - tanh(c_t)**2) and dc_prev = 0.5 * dc_t.
params = {"W_x": np.zeros((4, 1)), "W_h": np.zeros((4, 1)), "b": np.array([np.log(3), 0.0, np.log(2), np.log(3)])}
_, _, _, cache = lstm_forward(np.ones((2, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), params)
c_1, c_2 = 0.45, 0.675
dc_2 = 0.75 * (1 - np.tanh(c_2) ** 2)
dc_1 = 0.5 * dc_2 + 0.75 * (1 - np.tanh(c_1) ** 2)


def da_of(dc_t, c_prev, c_t):
    """The four gates' gradients of a step: i, f, g, o."""
    return np.array([dc_t * 0.6 * 0.1875, dc_t * c_prev * 0.25, dc_t * 0.75 * 0.64, np.tanh(c_t) * 0.1875])


da_1, da_2 = da_of(dc_1, 0.0, c_1), da_of(dc_2, c_1, c_2)
rnn_checks.check_example(
    lstm_backward,
    "lstm.lstm_backward",
    args=(np.ones((2, 1, 1)), cache),
    expected={
        "dh0": [[0.0]],
        "dc0": [[0.5 * dc_1]],
        "grads": {"W_x": (da_1 + da_2)[:, None], "W_h": (da_2 * 0.75 * np.tanh(c_1))[:, None], "b": da_1 + da_2},
    },
)
rnn_checks.check(lstm_backward, "lstm.lstm_backward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(lstm_backward, "lstm.lstm_backward")
### END HIDDEN TESTS
