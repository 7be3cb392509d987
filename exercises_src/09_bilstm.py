# %% [markdown]
# # Exercise 9: a BiLSTM tagger
#
# A tagger gives every step of a sequence a class (a part of speech, a named-entity tag, ...).
# A BiLSTM tagger reads the sequence in both directions, so that each step's tag can depend on
# what comes before and after it:
#
# $$y_t = [\overrightarrow{h}_t; \overleftarrow{h}_t], \qquad
# a_t = W_y y_t + b_y, \qquad
# L = -\frac{1}{M} \sum_{\text{valid } (t, n)} \log \operatorname{softmax}(a_{t,n})[\text{tag}_{t,n}]$$
#
# where the mean runs over the $M$ valid (not padded) steps. You will write the masked loss,
# the forward pass of the tagger and its loss with every gradient.

# %% header

# %% [markdown]
# **What you may use.** `bidirectional_forward(cell, xs, params_fwd, params_bwd, mask, merge)`
# returns `ys` `(T, N, 2H)` (for `"concat"`), the final states of both directions and a cache;
# `bidirectional_backward(dys, cache)` returns `dxs`, the gradients of both initial states,
# `grads_fwd` and `grads_bwd` (you wrote the forward in exercise 7).
#
# **The tagger's parameters** are one flat dict: the forward LSTM's `"fwd.W_x"`, `"fwd.W_h"`,
# `"fwd.b"`, the backward LSTM's `"bwd.W_x"`, `"bwd.W_h"`, `"bwd.b"`, and the read-out
# `"W_y"` `(K, 2H)` (or `(K, H)` when `merge` is `"sum"` or `"mean"`) and `"b_y"` `(K,)`.
# Gradients come back in a dict with the same keys.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref.bidirectional import bidirectional_backward, bidirectional_forward  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. The masked cross-entropy (3 points)
#
# On the loss of a tagger, see [chapter 9](../../book/09_bilstm.md). Compute the softmax of
# each step's logits stably (subtract the maximum), the mean of $-\log p[\text{target}]$ over
# the valid steps only, and its gradient with respect to the logits,
# $(p - \text{onehot}(\text{target})) / M$ at valid steps and $0$ at padded ones. At padded
# steps the targets can be anything (for example -100): never index with them.


# %% solution id="softmax_cross_entropy"
def softmax_cross_entropy(logits, targets, mask=None):
    r"""Mean cross-entropy of a softmax over ``V`` classes, at every valid step.

    Parameters
    ----------
    logits : ndarray, shape (T, N, V)
    targets : ndarray of int, shape (T, N)
        Classes in ``[0, V)`` at valid steps; anything at padded steps.
    mask : ndarray of bool, shape (T, N), optional
        True at valid steps; None means every step is valid.

    Returns
    -------
    loss : float
        Mean of :math:`-\log p_{t,n}[y_{t,n}]` over the valid steps.
    dlogits : ndarray, shape (T, N, V), dtype of ``logits``
        Zero at padded steps.

    Notes
    -----
    .. math::
        L = -\frac{1}{M} \sum_{\text{valid } (t, n)} \log p_{t,n}[y_{t,n}], \qquad
        \frac{\partial L}{\partial a_{t,n,k}} = \frac{1}{M}\big(p_{t,n,k} - [k = y_{t,n}]\big)
    """
    ### BEGIN SOLUTION
    valid = np.ones(targets.shape, dtype=bool) if mask is None else mask
    y = np.where(valid, targets, 0)  # any class at padded steps; they are masked out below
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # (T, N, V)
    M = valid.sum()
    loss = -np.sum(np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0] * valid) / M
    one_hot = np.arange(logits.shape[-1]) == y[..., None]  # (T, N, V)
    dlogits = (np.exp(log_p) - one_hot) * valid[..., None] / M
    return loss, dlogits.astype(logits.dtype)
    ### END SOLUTION


# %% test id="test_softmax_cross_entropy" points=3
"""softmax_cross_entropy: two steps by hand, with and without padding, then random cases."""
# Step 1: logits (0, 0), p = (1/2, 1/2), target 0: -log p = ln 2.
# Step 2: logits (ln 3, 0), p = (3/4, 1/4), target 1: -log p = ln 4.
logits = np.array([[[0.0, 0.0]], [[np.log(3), 0.0]]])  # (T=2, N=1, V=2)
rnn_checks.check_example(
    softmax_cross_entropy,
    "losses.softmax_cross_entropy",
    args=(logits, np.array([[0], [1]])),
    expected={"loss": 1.5 * np.log(2), "dlogits": [[[-0.25, 0.25]], [[0.375, -0.375]]]},
)
# The second step padded (target -100 ignored): the mean is over one step.
rnn_checks.check_example(
    softmax_cross_entropy,
    "losses.softmax_cross_entropy",
    args=(logits, np.array([[0], [-100]]), np.array([[True], [False]])),
    expected={"loss": np.log(2), "dlogits": [[[-0.5, 0.5]], [[0.0, 0.0]]]},
)
rnn_checks.check(softmax_cross_entropy, "losses.softmax_cross_entropy")
### BEGIN HIDDEN TESTS
rnn_checks.grade(softmax_cross_entropy, "losses.softmax_cross_entropy")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The tagger's logits (3 points)
#
# On a BiLSTM tagger, see [chapter 9](../../book/09_bilstm.md). Split the parameters by prefix,
# run the bidirectional layer (`cell` is `"lstm"` here) with the mask, then read out every
# step: `ys @ W_y.T + b_y`.


# %% solution id="bi_tagger_logits"
def bi_tagger_logits(params, xs, mask=None, *, cell, merge="concat"):
    r"""Logits of every step of a bidirectional tagger.

    Parameters
    ----------
    params : dict
        ``"fwd.*"`` and ``"bwd.*"`` (the two cells), ``"W_y"`` (K, 2H or H), ``"b_y"`` (K,).
    xs : ndarray, shape (T, N, D)
    mask : ndarray of bool, shape (T, N), optional
    cell : str
        ``"lstm"`` in this exercise.
    merge : str
        ``"concat"``, ``"sum"`` or ``"mean"``.

    Returns
    -------
    logits : ndarray, shape (T, N, K)
    """
    ### BEGIN SOLUTION
    params_fwd = {key[4:]: value for key, value in params.items() if key.startswith("fwd.")}
    params_bwd = {key[4:]: value for key, value in params.items() if key.startswith("bwd.")}
    ys, _, _, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, mask, merge)
    return ys @ params["W_y"].T + params["b_y"]
    ### END SOLUTION


# %% test id="test_bi_tagger_logits" points=3
"""bi_tagger_logits: a padded batch worked out by hand, then random cases against the reference."""
# Both LSTMs have zero weights and biases giving i = 3/4, f = 1/2, g = 0.6, o = 3/4 at every step.
# From c = 0: c = 0.45 after one step, 0.675 after two, and h = 0.75 tanh(c). Sequence 1 (2 steps):
# forward (h(0.45), h(0.675)), backward (h(0.675), h(0.45)). Sequence 2 (1 step): h(0.45) both ways,
# then padding (zero). W_y = identity and b_y = (0, 1): the logits are ys plus 1 on the second class.
lstm = {"W_x": np.zeros((4, 1)), "W_h": np.zeros((4, 1)), "b": np.array([np.log(3), 0.0, np.log(2), np.log(3)])}
params = {f"{d}.{k}": v for d in ("fwd", "bwd") for k, v in lstm.items()}
params |= {"W_y": np.eye(2), "b_y": np.array([0.0, 1.0])}
h1, h2 = 0.75 * np.tanh(0.45), 0.75 * np.tanh(0.675)
mask = np.array([[True, True], [True, False]])
rnn_checks.check_example(
    bi_tagger_logits,
    "models.bi_tagger_logits",
    args=(params, np.ones((2, 2, 1)), mask),
    kwargs={"cell": "lstm"},
    expected={"logits": [[[h1, h2 + 1], [h1, h1 + 1]], [[h2, h1 + 1], [0.0, 1.0]]]},
)
rnn_checks.check(bi_tagger_logits, "models.bi_tagger_logits")
### BEGIN HIDDEN TESTS
rnn_checks.grade(bi_tagger_logits, "models.bi_tagger_logits")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The loss and every gradient (4 points)
#
# On training the tagger, see [chapter 9](../../book/09_bilstm.md). Forward: the bidirectional
# layer (keep its cache), the read-out, and your masked cross-entropy over the steps that are
# valid **and** in `loss_mask` (when it is given). Backward: `dlogits` gives the read-out's
# gradients (sums over every step) and `dys = dlogits @ W_y`, which
# `bidirectional_backward` takes back through both LSTMs. Return the gradients under the keys
# of `params`.


# %% solution id="bi_tagger_loss"
def bi_tagger_loss(params, xs, tags, mask=None, *, cell, merge="concat", loss_mask=None):
    r"""Mean cross-entropy of a bidirectional tagger, and its gradients.

    Parameters
    ----------
    params : dict
        As for ``bi_tagger_logits``.
    xs : ndarray, shape (T, N, D)
    tags : ndarray of int, shape (T, N)
    mask : ndarray of bool, shape (T, N), optional
        Valid steps.
    cell : str
    merge : str
    loss_mask : ndarray of bool, shape (T, N), optional
        Score only these steps (besides being valid).

    Returns
    -------
    loss : float
    grads : dict
        The keys of ``params``, same shapes.
    """
    ### BEGIN SOLUTION
    params_fwd = {key[4:]: value for key, value in params.items() if key.startswith("fwd.")}
    params_bwd = {key[4:]: value for key, value in params.items() if key.startswith("bwd.")}
    ys, _, _, cache = bidirectional_forward(cell, xs, params_fwd, params_bwd, mask, merge)
    W_y = params["W_y"]
    logits = ys @ W_y.T + params["b_y"]  # (T, N, K)
    scored = mask
    if loss_mask is not None:
        scored = loss_mask if mask is None else mask & loss_mask
    loss, dlogits = softmax_cross_entropy(logits, tags, scored)
    K, F = W_y.shape
    grads = {"W_y": dlogits.reshape(-1, K).T @ ys.reshape(-1, F), "b_y": dlogits.reshape(-1, K).sum(axis=0)}
    _, _, _, grads_fwd, grads_bwd = bidirectional_backward(dlogits @ W_y, cache)
    grads |= {f"fwd.{key}": value for key, value in grads_fwd.items()}
    grads |= {f"bwd.{key}": value for key, value in grads_bwd.items()}
    return loss, grads
    ### END SOLUTION


# %% test id="test_bi_tagger_loss" points=4
"""bi_tagger_loss: a tagger that reads nothing, by hand, then random cases against the reference."""
# All weights zero except b_y = (0, ln 3): every step has p = (1/4, 3/4); every tag is 0, so the loss
# is ln 4 and dL/db_y = p - (1, 0) = (-3/4, 3/4) (a mean over the steps). h = 0 for zero biases,
# so W_y and the LSTMs get no gradient.
lstm = {"W_x": np.zeros((4, 1)), "W_h": np.zeros((4, 1)), "b": np.zeros(4)}
params = {f"{d}.{k}": v for d in ("fwd", "bwd") for k, v in lstm.items()}
params |= {"W_y": np.zeros((2, 2)), "b_y": np.array([0.0, np.log(3)])}
zeros = {key: np.zeros_like(value) for key, value in params.items()}
rnn_checks.check_example(
    bi_tagger_loss,
    "models.bi_tagger_loss",
    args=(params, np.ones((2, 2, 1)), np.zeros((2, 2), dtype=int), np.array([[True, True], [True, False]])),
    kwargs={"cell": "lstm"},
    expected={"loss": np.log(4), "grads": zeros | {"b_y": np.array([-0.75, 0.75])}},
)
rnn_checks.check(bi_tagger_loss, "models.bi_tagger_loss")
### BEGIN HIDDEN TESTS
rnn_checks.grade(bi_tagger_loss, "models.bi_tagger_loss")
### END HIDDEN TESTS
