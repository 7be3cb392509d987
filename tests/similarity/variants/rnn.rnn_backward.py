"""rnn.rnn_backward (exercise 02): independent correct variants."""

import numpy as np

from rnn_ref.rnn import RNNStepCache  # noqa: F401


# %% variant inline_all_steps
def rnn_backward(dhs, cache, dh_last=None):
    xs, h_all, mask, params = cache
    T, N, D = xs.shape
    H = h_all.shape[-1]
    carry = np.zeros((N, H), dtype=xs.dtype) if dh_last is None else dh_last.copy()
    dW_x = np.zeros_like(params["W_x"])
    dW_h = np.zeros_like(params["W_h"])
    db = np.zeros_like(params["b"])
    dxs = np.zeros_like(xs)
    for t in range(T - 1, -1, -1):
        total = carry + dhs[t]
        da = total * (1 - h_all[t + 1] ** 2)
        dW_x += da.T @ xs[t]
        dW_h += da.T @ h_all[t]
        db += da.sum(axis=0)
        dxs[t] = da @ params["W_x"]
        carry = da @ params["W_h"]
    return dxs, carry, {"W_x": dW_x, "W_h": dW_h, "b": db}


# %% variant batched_weights
def rnn_backward(dhs, cache, dh_last=None):
    inputs, states, _, p = cache
    n_steps = inputs.shape[0]
    upstream = np.zeros_like(states[0]) if dh_last is None else dh_last
    deltas = []
    for step in reversed(range(n_steps)):
        delta = (dhs[step] + upstream) * (1 - states[step + 1] ** 2)
        deltas.append(delta)
        upstream = delta @ p["W_h"]
    deltas = np.array(deltas[::-1]).reshape(n_steps, *states.shape[1:])
    grads = {
        "W_x": np.einsum("tnh,tnd->hd", deltas, inputs),
        "W_h": np.einsum("tnh,tnk->hk", deltas, states[:-1]),
        "b": deltas.sum(axis=(0, 1)),
    }
    return deltas @ p["W_x"], upstream, grads


# %% variant step_function_helper
def _accumulate(total, extra):
    return {name: total[name] + extra[name] for name in total}


def rnn_backward(dhs, cache, dh_last=None):
    xs = cache.xs
    h_all = cache.h_all
    params = cache.params
    gradient_h = np.zeros(h_all.shape[1:], dtype=xs.dtype)
    if dh_last is not None:
        gradient_h = gradient_h + dh_last
    sums = {name: np.zeros_like(value) for name, value in params.items()}
    dx_list = [None] * xs.shape[0]
    for t in reversed(range(xs.shape[0])):
        piece = RNNStepCache(x=xs[t], h_prev=h_all[t], h=h_all[t + 1], params=params)
        dx_list[t], gradient_h, one = rnn_step_backward(gradient_h + dhs[t], piece)
        sums = _accumulate(sums, one)
    dxs = np.stack(dx_list) if dx_list else np.zeros_like(xs)
    return dxs, gradient_h, sums
