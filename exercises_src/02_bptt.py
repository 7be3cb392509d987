# %% [markdown]
# # Exercise 2: backpropagation through time
#
# The forward pass of the vanilla RNN is given (`rnn_ref.rnn`). You will write its backward
# pass: one step, the whole sequence (BPTT), and truncated BPTT, and check your gradients
# against numerical derivatives with the gradient checker.

# %% header

# %% [markdown]
# **What the forward pass keeps for you.** `rnn_step_forward(x, h_prev, params)` returns
# `h` and a cache `RNNStepCache(x, h_prev, h, params)`; read its fields by name
# (`cache.x`, `cache.h`, ...). `rnn_forward(xs, h0, params)` returns `hs`, `h_last` and a cache
# `RNNCache(xs, h_all, mask, params)`, where `h_all` is `(T + 1, N, H)`: `h_all[0]` is `h0` and
# `h_all[t + 1]` the state after step `t`; `mask` is `None` in this exercise.
#
# Gradients have the names of what they are the gradient of, with a `d` in front: `dh` is
# $\partial L / \partial h$. Weight gradients come back as a dict with the keys of `params`.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref import gradcheck
from rnn_ref.rnn import RNNStepCache, rnn_forward, rnn_step_forward  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. The backward pass of one step (3 points)
#
# On the backward pass of one step, see [chapter 2](../../book/02_bptt.md). With
# $a = W_x x + W_h h_{t-1} + b$ and $h = \tanh(a)$, the chain rule gives
# $\delta a = \delta h \odot (1 - h^2)$, then one product per input of the matmuls.
#
# Take $h$ from the cache (`cache.h`): the backward pass works at the point the forward pass
# stored. One of the test cases (marked `cached h=not from x`) has a cache whose `h` was not
# computed from its `x`; only a backward pass that reads the cache is right there, which is
# also how the grader tells a backward pass from a forward pass differentiated numerically.


# %% solution id="rnn_step_backward"
def rnn_step_backward(dh, cache):
    r"""Backward pass of one RNN step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient of the loss with respect to the step's output ``h``.
    cache : RNNStepCache
        ``x`` (N, D), ``h_prev`` (N, H), ``h`` (N, H), ``params``, from ``rnn_step_forward``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Notes
    -----
    .. math::
        \delta a = \delta h \odot (1 - h^2), \quad
        \delta x = \delta a\, W_x, \quad
        \delta h_{t-1} = \delta a\, W_h, \quad
        \delta W_x = \delta a^\top x, \quad
        \delta W_h = \delta a^\top h_{t-1}, \quad
        \delta b = \textstyle\sum_n \delta a_n
    """
    ### BEGIN SOLUTION
    da = dh * (1 - cache.h**2)  # (N, H)
    grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return da @ cache.params["W_x"], da @ cache.params["W_h"], grads
    ### END SOLUTION


# %% test id="test_rnn_step_backward" points=3
"""rnn_step_backward: a step worked out by hand, random cases, then the gradient checker."""
# x @ W_x.T = 0 and h_prev @ W_h.T = 0, so a = b = (ln 2, ln 2) and h = tanh(ln 2) = 0.6:
# 1 - h**2 = 0.64 and da = dh * 0.64 = (0.64, -1.28).
x = np.array([[1.0, 1.0]])
h_prev = np.array([[1.0, 0.0]])
params = {
    "W_x": np.array([[1.0, -1.0], [2.0, -2.0]]),
    "W_h": np.array([[0.0, 2.0], [0.0, -1.0]]),
    "b": np.log(np.array([2.0, 2.0])),
}
_, cache = rnn_step_forward(x, h_prev, params)
rnn_checks.check_example(
    rnn_step_backward,
    "rnn.rnn_step_backward",
    args=(np.array([[1.0, -2.0]]), cache),
    expected={
        "dx": np.array([[0.64 - 2.56, -0.64 + 2.56]]),  # da @ W_x
        "dh_prev": np.array([[0.0, 1.28 + 1.28]]),  # da @ W_h
        "grads": {
            "W_x": np.array([[0.64, 0.64], [-1.28, -1.28]]),  # da.T @ x
            "W_h": np.array([[0.64, 0.0], [-1.28, 0.0]]),  # da.T @ h_prev
            "b": np.array([0.64, -1.28]),
        },
    },
)

# Random cases against the reference first: a mistake that the example above misses is
# named here, before the gradient checker below can only say that a gradient differs.
rnn_checks.check(rnn_step_backward, "rnn.rnn_step_backward")

# The gradient checker: L = sum(dh * h) has dL/dh = dh, so your gradients must match the
# central differences of L with respect to every input.
rng = np.random.default_rng(2)
x, h_prev, dh = rng.standard_normal((3, 4)), np.tanh(rng.standard_normal((3, 5))), rng.standard_normal((3, 5))
params = {"W_x": rng.standard_normal((5, 4)) / 2, "W_h": rng.standard_normal((5, 5)) / 2, "b": rng.standard_normal(5)}
_, cache = rnn_step_forward(x, h_prev, params)
dx, dh_prev, grads = rnn_step_backward(dh, cache)


def step_loss(p):
    h, _ = rnn_step_forward(p["x"], p["h_prev"], {"W_x": p["W_x"], "W_h": p["W_h"], "b": p["b"]})
    return np.sum(dh * h)


gradcheck.check_gradients(step_loss, {"x": x, "h_prev": h_prev, **params}, {"x": dx, "h_prev": dh_prev, **grads})
### BEGIN HIDDEN TESTS
rnn_checks.grade(rnn_step_backward, "rnn.rnn_step_backward")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Backpropagation through time (4 points)
#
# On BPTT, see [chapter 2](../../book/02_bptt.md). The state $h_t$ reaches the loss twice:
# through the output at step $t$ (`dhs[t]`) and through every later step (what `dh_prev` of
# step $t+1$ sends back). So walk backward in time, carrying the gradient:
#
# $$\frac{dL}{dh_t} = \frac{\partial L}{\partial h_t} + \Big(\frac{dL}{dh_{t+1}} \odot (1 - h_{t+1}^2)\Big) W_h.$$
#
# The weights are shared by every step: their gradients are summed over the steps. `dh_last`
# is the gradient of the final state (for example from a layer that reads it); it enters at
# the last step. `dh0` is what leaves the first step. You may call your `rnn_step_backward`
# with an `RNNStepCache(x, h_prev, h, params)` built from the sequence's cache.


# %% solution id="rnn_backward"
def rnn_backward(dhs, cache, dh_last=None):
    r"""Backpropagation through time for ``rnn_forward``.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient of the loss with respect to every output ``hs[t]``.
    cache : RNNCache
        ``xs`` (T, N, D), ``h_all`` (T + 1, N, H), ``mask`` (None here), ``params``.
    dh_last : ndarray, shape (N, H), optional
        Gradient with respect to the final state ``h_last``; None means zero.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,), summed over every step.
    """
    ### BEGIN SOLUTION
    xs, h_all, _, params = cache
    T = xs.shape[0]
    dxs = np.empty_like(xs)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dh_next = np.zeros_like(h_all[0]) if dh_last is None else dh_last
    for t in reversed(range(T)):
        step = RNNStepCache(xs[t], h_all[t], h_all[t + 1], params)
        dxs[t], dh_next, step_grads = rnn_step_backward(dhs[t] + dh_next, step)
        for key in grads:
            grads[key] += step_grads[key]
    return dxs, dh_next, grads
    ### END SOLUTION


# %% test id="test_rnn_backward" points=4
"""rnn_backward: two steps of a one-unit RNN worked out by hand, then random cases."""
# W_x = 1, W_h = 0.5, b = 0, h0 = 0, inputs 1, 1 and dhs = 1, 1 (no dh_last):
# forward: h_1 = tanh(1), h_2 = tanh(1 + 0.5 h_1);
# step 2: da_2 = 1 * (1 - h_2**2); step 1: da_1 = (1 + 0.5 da_2) * (1 - h_1**2); dh0 = 0.5 da_1.
xs = np.ones((2, 1, 1))
params = {"W_x": np.array([[1.0]]), "W_h": np.array([[0.5]]), "b": np.array([0.0])}
_, _, cache = rnn_forward(xs, np.zeros((1, 1)), params)
h_1 = np.tanh(1.0)
h_2 = np.tanh(1.0 + 0.5 * h_1)
da_2 = 1 - h_2**2
da_1 = (1 + 0.5 * da_2) * (1 - h_1**2)
rnn_checks.check_example(
    rnn_backward,
    "rnn.rnn_backward",
    args=(np.ones((2, 1, 1)), cache),
    expected={
        "dxs": np.array([[[da_1]], [[da_2]]]),
        "dh0": np.array([[0.5 * da_1]]),
        "grads": {"W_x": np.array([[da_1 + da_2]]), "W_h": np.array([[da_2 * h_1]]), "b": np.array([da_1 + da_2])},
    },
)
rnn_checks.check(rnn_backward, "rnn.rnn_backward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(rnn_backward, "rnn.rnn_backward")
### END HIDDEN TESTS

# %% [markdown]
# **Try it (not graded).** Check your whole BPTT with the gradient checker, as in the test of
# task 1: the loss below has `dL/dhs = dhs` and `dL/dh_last = dh_last`.

# %% code id="try_gradient_check"
rng = np.random.default_rng(0)
xs, h0 = rng.standard_normal((4, 2, 3)), np.tanh(rng.standard_normal((2, 5)))
params = {"W_x": rng.standard_normal((5, 3)) / 2, "W_h": rng.standard_normal((5, 5)) / 2, "b": rng.standard_normal(5)}
dhs, dh_last = rng.standard_normal((4, 2, 5)), rng.standard_normal((2, 5))
_, _, cache = rnn_forward(xs, h0, params)
dxs, dh0, grads = rnn_backward(dhs, cache, dh_last)


def sequence_loss(p):
    hs, h_last, _ = rnn_forward(p["xs"], p["h0"], {"W_x": p["W_x"], "W_h": p["W_h"], "b": p["b"]})
    return np.sum(dhs * hs) + np.sum(dh_last * h_last)


print(gradcheck.check_gradients(sequence_loss, {"xs": xs, "h0": h0, **params}, {"xs": dxs, "h0": dh0, **grads}))

# %% [markdown]
# ## 3. Truncated BPTT (3 points)
#
# On truncated BPTT, see [chapter 2](../../book/02_bptt.md). Cut the sequence into windows of
# `k` steps (the last one may be shorter). The forward pass goes on unchanged: each window
# starts from the state the previous window ended in. The backward pass stops at each window's
# start: run BPTT inside the window only, with nothing coming back from the next window. Sum
# the weight gradients of the windows. `dstate_last` belongs to the last window only, and
# `dstate0` is what the first window sends back.
#
# The function has the signature of `rnn_ref.tbptt.truncated_bptt`, which works for any cell;
# here `cell` is always `"rnn"` and the states are 1-tuples: `state0 = (h0,)`. Use
# `rnn_forward` for each window and your `rnn_backward`.


# %% solution id="truncated_bptt"
def truncated_bptt(cell, xs, state0, params, dhs, k, mask=None, dstate_last=None):
    r"""Gradients of truncated BPTT with windows of ``k`` steps.

    Parameters
    ----------
    cell : str
        ``"rnn"`` in this exercise.
    xs : ndarray, shape (T, N, D)
    state0 : tuple of one ndarray (N, H)
        ``(h0,)``.
    params : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).
    dhs : ndarray, shape (T, N, H)
        Gradient of the loss with respect to every output.
    k : int
        Window length, at least 1.
    mask : None
        Not used in this exercise.
    dstate_last : tuple of one ndarray (N, H), optional
        ``(dh_last,)``: gradient of the final state; it reaches the last window only.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dstate0 : tuple of one ndarray (N, H)
        ``(dh0,)``: what the first window sends back to ``h0``.
    grads : dict
        Summed over the windows.
    """
    ### BEGIN SOLUTION
    T = xs.shape[0]
    h = state0[0]
    dxs = np.empty_like(xs)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dh0 = None
    for start in range(0, T, k):
        stop = min(start + k, T)
        _, h_end, cache = rnn_forward(xs[start:stop], h, params)
        dh_end = dstate_last[0] if dstate_last is not None and stop == T else None
        dxs[start:stop], dh_start, window_grads = rnn_backward(dhs[start:stop], cache, dh_end)
        for key in grads:
            grads[key] += window_grads[key]
        if start == 0:
            dh0 = dh_start
        h = h_end  # the state goes on; its gradient stops here
    return dxs, (dh0,), grads
    ### END SOLUTION


# %% test id="test_truncated_bptt" points=3
"""truncated_bptt: the two-step RNN of task 2 with windows of one step, then random cases."""
# W_x = 1, W_h = 0.5, b = 0, h0 = 0, inputs 1, 1 and dhs = 1, 1, windows of k = 1 step.
# The forward pass is unchanged: h_1 = tanh(1), h_2 = tanh(1 + 0.5 h_1).
# Window 2 (step 2): da_2 = 1 - h_2**2.  Window 1 (step 1): nothing comes back from window 2,
# so da_1 = 1 * (1 - h_1**2), and dh0 = 0.5 da_1.
params = {"W_x": np.array([[1.0]]), "W_h": np.array([[0.5]]), "b": np.array([0.0])}
h_1 = np.tanh(1.0)
h_2 = np.tanh(1.0 + 0.5 * h_1)
da_2 = 1 - h_2**2
da_1 = 1 - h_1**2
rnn_checks.check_example(
    truncated_bptt,
    "tbptt.truncated_bptt",
    args=("rnn", np.ones((2, 1, 1)), (np.zeros((1, 1)),), params, np.ones((2, 1, 1)), 1),
    expected={
        "dxs": np.array([[[da_1]], [[da_2]]]),
        "dstate0": (np.array([[0.5 * da_1]]),),
        "grads": {"W_x": np.array([[da_1 + da_2]]), "W_h": np.array([[da_2 * h_1]]), "b": np.array([da_1 + da_2])},
    },
)
rnn_checks.check(truncated_bptt, "tbptt.truncated_bptt")
### BEGIN HIDDEN TESTS
rnn_checks.grade(truncated_bptt, "tbptt.truncated_bptt")
### END HIDDEN TESTS
