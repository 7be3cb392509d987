# %% [markdown]
# # Exercise 1: the RNN cell
#
# A vanilla (Elman) RNN reads a sequence one step at a time and keeps a hidden state:
#
# $$h_t = \tanh(W_x x_t + W_h h_{t-1} + b), \qquad p_t = \operatorname{softmax}(W_y h_t + b_y).$$
#
# You will write one step, the loop over a whole sequence, and the output layer.

# %% header

# %% [markdown]
# **Shapes and layout.** Sequences are time-major: `xs` is `(T, N, D)` (steps, batch,
# features), a hidden state is `(N, H)`. Weights are stored as in the equations (and as in
# PyTorch): `W_x` is `(H, D)`, `W_h` is `(H, H)`, `b` is `(H,)`. A batch is a matrix of rows, so
# $W_x x_t$ is written `x @ W_x.T` in code.

# %% setup
import numpy as np

import rnn_checks

# %% [markdown]
# ## 1. One step (2 points)
#
# On the RNN cell, see [chapter 1](../../book/01_rnn_cell.md).
# Write `rnn_step_forward`: one step of the recurrence, for a whole batch at once. It also
# returns a cache (anything the backward pass of chapter 2 would need); it is not graded here.


# %% solution id="rnn_step_forward"
def rnn_step_forward(x, h_prev, params):
    r"""One step of the vanilla RNN.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Input at this step.
    h_prev : ndarray, shape (N, H)
        Hidden state of the previous step.
    params : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Returns
    -------
    h : ndarray, shape (N, H)
        New hidden state, in the dtype of the inputs.
    cache : tuple
        Whatever a backward pass would need (not graded).

    Notes
    -----
    .. math:: h_t = \tanh(W_x x_t + W_h h_{t-1} + b)
    """
    ### BEGIN SOLUTION
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, H)
    h = np.tanh(a)
    return h, (x, h_prev, h, params)
    ### END SOLUTION


# %% test id="test_rnn_step_forward" points=2
"""rnn_step_forward: a step worked out by hand, then random cases against the reference."""
# Row 0: W_x x = (0.5, -0.5), W_h h_prev = (0.25, 0), b = (0.25, 0.5), so a = (1, 0).
# Row 1: x = 0 and h_prev = 0, so a = b = (0.25, 0.5).
x = np.array([[1.0, 2.0], [0.0, 0.0]])
h_prev = np.array([[1.0, -1.0], [0.0, 0.0]])
params = {
    "W_x": np.array([[0.5, 0.0], [0.0, -0.25]]),
    "W_h": np.array([[0.25, 0.0], [0.5, 0.5]]),
    "b": np.array([0.25, 0.5]),
}
h_by_hand = np.tanh(np.array([[1.0, 0.0], [0.25, 0.5]]))
rnn_checks.check_example(rnn_step_forward, "rnn.rnn_step_forward", args=(x, h_prev, params), expected={"h": h_by_hand})
rnn_checks.check(rnn_step_forward, "rnn.rnn_step_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(rnn_step_forward, "rnn.rnn_step_forward")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. A whole sequence (2 points)
#
# On unrolling the RNN in time, see [chapter 1](../../book/01_rnn_cell.md).
# Write `rnn_forward`: start from `h0` and apply the step `T` times, feeding each step the
# state of the previous one. Return every hidden state and the last one. You may call your
# `rnn_step_forward`. (The `mask` argument is for padded batches, chapter 7: ignore it here.)


# %% solution id="rnn_forward"
def rnn_forward(xs, h0, params, mask=None):
    r"""Run the vanilla RNN over a whole sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
        Inputs, time-major.
    h0 : ndarray, shape (N, H)
        Initial hidden state.
    params : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).
    mask : None
        Not used in this exercise.

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        Hidden state after every step: ``hs[t]`` is :math:`h_{t+1}`, the state after reading ``xs[t]``.
    h_last : ndarray, shape (N, H)
        The state after the last step.
    cache : object
        Not graded.

    Notes
    -----
    .. math:: h_t = \tanh(W_x x_t + W_h h_{t-1} + b), \quad t = 1, \dots, T
    """
    ### BEGIN SOLUTION
    T, N, _ = xs.shape
    hs = np.empty((T, N, h0.shape[1]), dtype=xs.dtype)
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(xs[t], h, params)
        hs[t] = h
    return hs, h, None
    ### END SOLUTION


# %% test id="test_rnn_forward" points=2
"""rnn_forward: two steps of a one-unit RNN worked out by hand, then random cases."""
# D = H = 1, W_x = 1, W_h = 2, b = 0, h0 = 0 and inputs 1 then 0:
# h_1 = tanh(1), h_2 = tanh(0 + 2 h_1).
xs = np.array([[[1.0]], [[0.0]]])
h0 = np.zeros((1, 1))
params = {"W_x": np.array([[1.0]]), "W_h": np.array([[2.0]]), "b": np.array([0.0])}
h_1 = np.tanh(1.0)
h_2 = np.tanh(2 * h_1)
rnn_checks.check_example(
    rnn_forward,
    "rnn.rnn_forward",
    args=(xs, h0, params),
    expected={"hs": np.array([[[h_1]], [[h_2]]]), "h_last": np.array([[h_2]])},
)
rnn_checks.check(rnn_forward, "rnn.rnn_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(rnn_forward, "rnn.rnn_forward")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The output layer (2 points)
#
# On the output layer, see [chapter 1](../../book/01_rnn_cell.md).
# Write `output_layer`: at every step, a linear read-out of the hidden state into `V` scores
# (the logits), then a softmax over the `V` classes. Subtract the maximum of each step's
# logits before `np.exp` so that it cannot overflow.


# %% solution id="output_layer"
def output_layer(hs, W_y, b_y):
    r"""Class probabilities of every step: a linear read-out, then a softmax.

    Parameters
    ----------
    hs : ndarray, shape (T, N, H)
    W_y : ndarray, shape (V, H)
    b_y : ndarray, shape (V,)

    Returns
    -------
    p : ndarray, shape (T, N, V)
        Non-negative; each ``p[t, n]`` sums to 1.

    Notes
    -----
    .. math:: p_t = \operatorname{softmax}(W_y h_t + b_y), \quad
        \operatorname{softmax}(a)_k = \frac{e^{a_k}}{\sum_j e^{a_j}}
    """
    ### BEGIN SOLUTION
    logits = hs @ W_y.T + b_y  # (T, N, V)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


# %% test id="test_output_layer" points=2
"""output_layer: probabilities worked out by hand, then random cases."""
# Step 0: h = 0, so the logits are b_y = log(1, 2, 3): p = (1, 2, 3) / 6.
# Step 1: h = (1, 0) adds the first column of W_y, log 3, to the first logit: p = (3, 2, 3) / 8.
hs = np.array([[[0.0, 0.0]], [[1.0, 0.0]]])
W_y = np.array([[np.log(3.0), 5.0], [0.0, -1.0], [0.0, 2.0]])
b_y = np.log(np.array([1.0, 2.0, 3.0]))
p_by_hand = np.array([[[1 / 6, 2 / 6, 3 / 6]], [[3 / 8, 2 / 8, 3 / 8]]])
rnn_checks.check_example(output_layer, "rnn.output_layer", args=(hs, W_y, b_y), expected={"p": p_by_hand})
rnn_checks.check(output_layer, "rnn.output_layer")
### BEGIN HIDDEN TESTS
rnn_checks.grade(output_layer, "rnn.output_layer")
### END HIDDEN TESTS
