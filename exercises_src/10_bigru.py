# %% [markdown]
# # Exercise 10: the BiGRU, forward and backward
#
# A bidirectional GRU layer, built from the ground up: the GRU over a padded batch, the
# backward pass of one GRU step, backpropagation through time, and the backward pass of the
# bidirectional layer, which must undo the per-sequence reversal of the backward direction.
#
# The GRU (chapter 5): $r = \sigma(a_r)$, $z = \sigma(a_z)$, $n = \tanh(\cdot)$ in either
# variant (`reset_after`), $h_t = z \odot h_{t-1} + (1 - z) \odot n$; gates stacked **r, z, n**.

# %% header

# %% [markdown]
# **What the forward passes keep for you.** `gru_step_forward(x, h_prev, params, reset_after=...)`
# returns `h` and `GRUStepCache(x, h_prev, gates, u, params, reset_after)`: `gates` `(N, 3H)`
# holds `r, z, n` side by side, and `u` `(N, H)` is the recurrent term the candidate used:
# `r * h_prev` (textbook, `reset_after=False`) or `h_prev @ W_hn.T + b_hn` (PyTorch). A sequence's
# cache is `GRUCache(xs, h_all, gates, u, mask, params, reset_after)`, with `h_all[0] = h0`, and
# `gates`, `u` of every step. The bidirectional layer's cache is
# `BidirectionalCache(cell, merge, lengths, cache_fwd, cache_bwd, H)`: `cache_bwd` belongs to
# the backward cell, which ran on the per-sequence reversed input, and `H` is each direction's
# hidden size.

# %% setup
import numpy as np

import rnn_checks
from rnn_ref import gradcheck
from rnn_ref.bidirectional import bidirectional_forward
from rnn_ref.gru import GRUStepCache, gru_step_forward  # noqa: F401 (for your code)
from rnn_ref.gru import gru_forward as reference_gru_forward  # makes the caches of the tests
from rnn_ref.masks import reverse_sequences  # noqa: F401 (you wrote it in exercise 7)

# %% [markdown]
# ## 1. The GRU over a padded batch (2 points)
#
# On the BiGRU, see [chapter 10](../../book/10_bigru.md) and masks in chapter 7. Call
# `gru_step_forward` at every step; at a padded step (`mask[t, n]` False) the state of that
# sequence is carried unchanged and its output is zero. `h_last` is each sequence's state at
# its own last valid step.


# %% solution id="gru_forward"
def gru_forward(xs, h0, params, mask=None, *, reset_after=False):
    r"""Run the GRU over a padded batch.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
    h0 : ndarray, shape (N, H)
    params : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,) (and ``b_hn`` (H,) with ``reset_after``).
    mask : ndarray of bool, shape (T, N), optional
    reset_after : bool

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        Zero at padded steps.
    h_last : ndarray, shape (N, H)
    cache : object
        Not graded.
    """
    ### BEGIN SOLUTION
    T = xs.shape[0]
    h = h0
    hs = np.zeros((T,) + h0.shape, dtype=xs.dtype)
    for t in range(T):
        h_new, _ = gru_step_forward(xs[t], h, params, reset_after=reset_after)
        valid = np.ones((xs.shape[1], 1), dtype=bool) if mask is None else mask[t][:, None]
        h = np.where(valid, h_new, h)
        hs[t] = np.where(valid, h_new, 0)
    return hs, h, None
    ### END SOLUTION


# %% test id="test_gru_forward" points=2
"""gru_forward: a padded batch of a one-unit GRU by hand, then random cases against the reference."""
# Zero weights: every step has r = 1/2, z = 3/4, n = 0.6, so h_t = 0.75 h_{t-1} + 0.15.
# Sequence 1 from h0 = 1: 0.9, then 0.825. Sequence 2 from -1 has one step: -0.6, then padding.
params = {"W_x": np.zeros((3, 1)), "W_h": np.zeros((3, 1)), "b": np.log([1.0, 3.0, 2.0])}
mask = np.array([[True, True], [True, False]])
rnn_checks.check_example(
    gru_forward,
    "gru.gru_forward",
    args=(np.ones((2, 2, 1)), np.array([[1.0], [-1.0]]), params, mask),
    kwargs={"reset_after": False},
    expected={"hs": [[[0.9], [-0.6]], [[0.825], [0.0]]], "h_last": [[0.825], [-0.6]]},
)
rnn_checks.check(gru_forward, "gru.gru_forward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(gru_forward, "gru.gru_forward")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. One GRU step backward (5 points)
#
# On the GRU's backward pass, see [chapter 10](../../book/10_bigru.md). From
# $h = z \odot h_{t-1} + (1 - z) \odot n$: $\delta a_n = \delta h (1 - z)(1 - n^2)$ and
# $\delta a_z = \delta h (h_{t-1} - n)\, z (1 - z)$; the reset gate's gradient goes through
# the candidate's recurrent term, and $h_{t-1}$ collects three paths: the direct one
# $\delta h \odot z$, the gates' matmuls, and the candidate's. Both variants are graded:
#
# * textbook: $\delta u = \delta a_n W_{hn}$ with $u = r \odot h_{t-1}$, so
#   $\delta a_r = \delta u \odot h_{t-1} \odot r(1 - r)$ and $\delta W_{hn} = \delta a_n^\top u$;
# * PyTorch: $u = W_{hn} h_{t-1} + b_{hn}$ is multiplied by $r$, so
#   $\delta a_r = \delta a_n \odot u \odot r (1 - r)$, and the candidate's recurrent gradient is
#   $\delta a_n \odot r$ (for $W_{hn}$, $b_{hn}$ and $h_{t-1}$).
#
# Take the gates and $u$ from the cache: the backward pass works at the point the forward pass
# stored. Some test cases (marked `cached gates=not from x`) have a cache whose gates were not
# computed from its `x`; only a backward pass that reads the cache is right there, which is also
# how the grader tells a backward pass from a forward pass differentiated numerically.


# %% solution id="gru_step_backward"
def gru_step_backward(dh, cache):
    r"""Backward pass of one GRU step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
    cache : GRUStepCache
        ``x, h_prev, gates (N, 3H), u (N, H), params, reset_after``.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,), and ``b_hn`` (H,) with ``reset_after=True``.
    """
    ### BEGIN SOLUTION
    x, h_prev, gates, u, params, reset_after = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    W_h = params["W_h"]
    da_n = dh * (1 - z) * (1 - n**2)
    da_z = dh * (h_prev - n) * z * (1 - z)
    if reset_after:
        da_r = da_n * u * r * (1 - r)
        dp = np.concatenate([da_r, da_z, da_n * r], axis=1)  # gradient of h_prev @ W_h.T + [0, 0, b_hn]
        dh_prev = dh * z + dp @ W_h
        grads = {"W_h": dp.T @ h_prev, "b_hn": (da_n * r).sum(axis=0)}
    else:
        du = da_n @ W_h[2 * H :]  # gradient of u = r * h_prev
        da_r = du * h_prev * r * (1 - r)
        drz = np.concatenate([da_r, da_z], axis=1)
        dh_prev = dh * z + du * r + drz @ W_h[: 2 * H]
        grads = {"W_h": np.concatenate([drz.T @ h_prev, da_n.T @ u], axis=0)}
    da = np.concatenate([da_r, da_z, da_n], axis=1)  # (N, 3H)
    grads |= {"W_x": da.T @ x, "b": da.sum(axis=0)}
    return da @ params["W_x"], dh_prev, {key: grads[key] for key in params}
    ### END SOLUTION


# %% test id="test_gru_step_backward" points=5
"""gru_step_backward: a step by hand, random cases, then the gradient checker in both variants."""
# x = 0 and W_h = 0: r = 1/2, z = 3/4, n = 0.6 from the biases; h_prev = 1, dh = 1.
# da_n = 0.25 * (1 - 0.36) = 0.16, da_z = (1 - 0.6) * 0.1875 = 0.075, da_r = 0 (W_h = 0);
# dh_prev = dh * z = 0.75; dx = da @ W_x = 0.075 * 2 + 0.16 * 3; dW_hn = da_n * (r * h_prev) = 0.08.
params = {"W_x": np.array([[1.0], [2.0], [3.0]]), "W_h": np.zeros((3, 1)), "b": np.log([1.0, 3.0, 2.0])}
_, cache = gru_step_forward(np.zeros((1, 1)), np.ones((1, 1)), params)
rnn_checks.check_example(
    gru_step_backward,
    "gru.gru_step_backward",
    args=(np.ones((1, 1)), cache),
    expected={
        "dx": [[0.63]],
        "dh_prev": [[0.75]],
        "grads": {"W_x": np.zeros((3, 1)), "W_h": [[0.0], [0.075], [0.08]], "b": [0.0, 0.075, 0.16]},
    },
)

# Random cases against the reference first: a mistake that the example above misses is
# named here, before the gradient checker below can only say that a gradient differs.
rnn_checks.check(gru_step_backward, "gru.gru_step_backward")

# The gradient checker, in both variants: L = sum(dh * h).
rng = np.random.default_rng(10)
for reset_after in (False, True):
    x, h_prev, dh = rng.standard_normal((3, 2)), np.tanh(rng.standard_normal((3, 4))), rng.standard_normal((3, 4))
    params = {"W_x": rng.standard_normal((12, 2)) / 2, "W_h": rng.standard_normal((12, 4)) / 2}
    params |= {"b": rng.standard_normal(12)} | ({"b_hn": rng.standard_normal(4)} if reset_after else {})
    _, cache = gru_step_forward(x, h_prev, params, reset_after=reset_after)
    dx, dh_prev, grads = gru_step_backward(dh, cache)

    def step_loss(p, reset_after=reset_after, dh=dh, keys=tuple(params)):
        h, _ = gru_step_forward(p["x"], p["h_prev"], {k: p[k] for k in keys}, reset_after=reset_after)
        return np.sum(dh * h)

    gradcheck.check_gradients(step_loss, {"x": x, "h_prev": h_prev, **params}, {"x": dx, "h_prev": dh_prev, **grads})
### BEGIN HIDDEN TESTS
rnn_checks.grade(gru_step_backward, "gru.gru_step_backward")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Backpropagation through time (3 points)
#
# Walk backward in time as for the RNN (exercise 2), calling your `gru_step_backward`. With a
# mask, a padded step receives no gradient (neither `dhs[t]` nor the weights get anything from
# it) and passes the carried gradient straight through to the step before, since it carried
# the state unchanged.


# %% solution id="gru_backward"
def gru_backward(dhs, cache, dh_last=None):
    r"""Backpropagation through time for a GRU over a padded batch.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient with respect to every output (ignored at padded steps).
    cache : GRUCache
        ``xs, h_all, gates, u, mask, params, reset_after``.
    dh_last : ndarray, shape (N, H), optional

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        Summed over the steps.
    """
    ### BEGIN SOLUTION
    xs, h_all, gates, u, mask, params, reset_after = cache
    T, N, _ = xs.shape
    dxs = np.empty_like(xs)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dh = np.zeros_like(h_all[0]) if dh_last is None else dh_last
    for t in reversed(range(T)):
        valid = np.ones((N, 1), dtype=bool) if mask is None else mask[t][:, None]
        step = GRUStepCache(xs[t], h_all[t], gates[t], u[t], params, reset_after)
        dxs[t], dh_prev, step_grads = gru_step_backward(np.where(valid, dhs[t] + dh, 0), step)
        for key in grads:
            grads[key] += step_grads[key]
        dh = np.where(valid, dh_prev, dh)
    return dxs, dh, grads
    ### END SOLUTION


# %% test id="test_gru_backward" points=3
"""gru_backward: two steps of a one-unit GRU by hand, then random cases against the reference."""
# Zero weights: r = 1/2, z = 3/4, n = 0.6; from h0 = 1, h_1 = 0.9. With dhs = (1, 1):
# step 2: da_n = 0.16, da_z = (h_1 - 0.6) * 0.1875 = 0.05625, and dh_prev = 0.75;
# step 1: dh = 1.75, da_n = 1.75 * 0.16, da_z = 1.75 * (1 - 0.6) * 0.1875, dh0 = 1.75 * 0.75.
# W_hz sees h_prev (h_1 at step 2, h0 at step 1), W_hn sees u = r * h_prev.
params = {"W_x": np.zeros((3, 1)), "W_h": np.zeros((3, 1)), "b": np.log([1.0, 3.0, 2.0])}
_, _, cache = reference_gru_forward(np.ones((2, 1, 1)), np.ones((1, 1)), params)
da_z, da_n = np.array([0.05625, 1.75 * 0.4 * 0.1875]), np.array([0.16, 1.75 * 0.16])  # steps 2, 1
grads = {
    "W_x": [[0.0], [da_z.sum()], [da_n.sum()]],
    "W_h": [[0.0], [da_z @ [0.9, 1.0]], [da_n @ [0.45, 0.5]]],
    "b": [0.0, da_z.sum(), da_n.sum()],
}
rnn_checks.check_example(
    gru_backward, "gru.gru_backward", args=(np.ones((2, 1, 1)), cache), expected={"dh0": [[1.3125]], "grads": grads}
)
rnn_checks.check(gru_backward, "gru.gru_backward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(gru_backward, "gru.gru_backward")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The bidirectional layer's backward pass (4 points)
#
# On backpropagation in a bidirectional layer, see [chapter 10](../../book/10_bigru.md). Split
# `dys` the way the forward pass merged (concat: the first `H` features are the forward
# direction's; sum: both get `dys`; mean: both get `dys / 2`). The forward direction's
# gradient goes through `gru_backward` with `cache.cache_fwd`. The backward cell ran on the
# per-sequence reversed input: reverse its gradient (`reverse_sequences` with
# `cache.lengths`), take it back through `gru_backward` with `cache.cache_bwd`, and reverse
# the resulting `dxs` back to time order. The input gradient is the sum of both directions'.
#
# The final state of each direction may have a gradient too (`dlast_fwd`, `dlast_bwd`, each
# `(N, H)` or None): it enters that direction's `gru_backward` as `dh_last`. Return what
# reaches each direction's initial state (`dh0` of its `gru_backward`) as `dstate0_fwd` and
# `dstate0_bwd`.


# %% solution id="bidirectional_backward"
def bidirectional_backward(dys, cache, dlast_fwd=None, dlast_bwd=None):
    r"""Backward pass of a bidirectional GRU layer.

    Parameters
    ----------
    dys : ndarray, shape (T, N, 2H) for concat, (T, N, H) otherwise
    cache : BidirectionalCache
        ``cell, merge, lengths, cache_fwd, cache_bwd, H``.
    dlast_fwd, dlast_bwd : ndarray, shape (N, H), optional
        Gradients of the final state of each direction; None means zero.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dstate0_fwd, dstate0_bwd : ndarray, shape (N, H)
        Gradients of the initial state of each direction.
    grads_fwd, grads_bwd : dict
        Gradients of the forward and the backward cell's parameters.
    """
    ### BEGIN SOLUTION
    H = cache.H
    if cache.merge == "concat":
        dhs_fwd, dhs_bwd = dys[..., :H], dys[..., H:]
    elif cache.merge == "sum":
        dhs_fwd = dhs_bwd = dys
    else:
        dhs_fwd = dhs_bwd = dys / 2
    dxs_fwd, dstate0_fwd, grads_fwd = gru_backward(dhs_fwd, cache.cache_fwd, dlast_fwd)
    dhs_rev = reverse_sequences(dhs_bwd, cache.lengths)
    dxs_rev, dstate0_bwd, grads_bwd = gru_backward(dhs_rev, cache.cache_bwd, dlast_bwd)
    dxs = dxs_fwd + reverse_sequences(dxs_rev, cache.lengths)
    return dxs, dstate0_fwd, dstate0_bwd, grads_fwd, grads_bwd
    ### END SOLUTION


# %% test id="test_bidirectional_backward" points=4
"""bidirectional_backward: two steps by hand, then random cases against the reference."""
# Both directions: zero weights, r = 1/2, z = 3/4, n = 0.6, from h0 = 0: h_1 = 0.15. dys = [(1, 0), (0, 1)]
# (concat, H = 1) gives the forward cell (1, 0) and the backward cell, in its own (reversed) time,
# (1, 0) as well. So for both: only the first step gets a gradient, da_n = 0.16 and
# da_z = (0 - 0.6) * 0.1875 = -0.1125; with W_h = 0, the initial state only gets dh_1 * z = 0.75.
params = {"W_x": np.zeros((3, 1)), "W_h": np.zeros((3, 1)), "b": np.log([1.0, 3.0, 2.0])}
_, _, _, cache = bidirectional_forward("gru", np.ones((2, 1, 1)), params, params, None, "concat")
grads = {"W_x": [[0.0], [-0.1125], [0.16]], "W_h": [[0.0], [0.0], [0.0]], "b": [0.0, -0.1125, 0.16]}
rnn_checks.check_example(
    bidirectional_backward,
    "bidirectional.bidirectional_backward",
    args=(np.array([[[1.0, 0.0]], [[0.0, 1.0]]]), cache),
    expected={
        "dxs": np.zeros((2, 1, 1)),
        "dstate0_fwd": [[0.75]],
        "dstate0_bwd": [[0.75]],
        "grads_fwd": grads,
        "grads_bwd": grads,
    },
)
# A gradient of 1 on the forward direction's final state alone (dys = 0) reaches its initial state
# through both steps: 0.75 * 0.75 = 0.5625; the backward direction gets nothing.
rnn_checks.check_example(
    bidirectional_backward,
    "bidirectional.bidirectional_backward",
    args=(np.zeros((2, 1, 2)), cache, np.ones((1, 1)), None),
    expected={"dxs": np.zeros((2, 1, 1)), "dstate0_fwd": [[0.5625]], "dstate0_bwd": [[0.0]]},
)
rnn_checks.check(bidirectional_backward, "bidirectional.bidirectional_backward")
### BEGIN HIDDEN TESTS
rnn_checks.grade(bidirectional_backward, "bidirectional.bidirectional_backward")
### END HIDDEN TESTS
