"""gru.gru_backward (exercise 10): independent correct variants."""

import numpy as np

from rnn_ref.gru import GRUStepCache  # noqa: F401


# %% variant masked_where
def gru_backward(dhs, cache, dh_last=None):
    T = cache.xs.shape[0]
    carried = np.zeros_like(cache.h_all[-1]) if dh_last is None else np.array(dh_last)
    sums = {k: np.zeros_like(v) for k, v in cache.params.items()}
    dxs = np.zeros_like(cache.xs)
    for t in range(T - 1, -1, -1):
        step = GRUStepCache(cache.xs[t], cache.h_all[t], cache.gates[t], cache.u[t], cache.params, cache.reset_after)
        if cache.mask is None:
            dxs[t], carried, g = gru_step_backward(carried + dhs[t], step)
        else:
            live = cache.mask[t][:, None]
            dx_t, dprev, g = gru_step_backward((carried + dhs[t]) * live, step)
            dxs[t] = dx_t
            carried = np.where(live, dprev, carried)
        for k in sums:
            sums[k] += g[k]
    return dxs, carried, sums


# %% variant lists_reversed
def gru_backward(dhs, cache, dh_last=None):
    xs, h_all, gates, u, mask, params, reset_after = cache
    steps, batch = xs.shape[:2]
    valid = np.ones((steps, batch), dtype=bool) if mask is None else mask
    grad_h = np.zeros(h_all.shape[1:], dtype=xs.dtype) if dh_last is None else dh_last
    dx_rev, grad_list = [], []
    for t in reversed(range(steps)):
        keep = valid[t].reshape(batch, 1)
        incoming = np.where(keep, grad_h + dhs[t], 0.0)
        dx, to_prev, grads = gru_step_backward(
            incoming, GRUStepCache(xs[t], h_all[t], gates[t], u[t], params, reset_after)
        )
        grad_h = np.where(keep, to_prev, grad_h)
        dx_rev.append(dx)
        grad_list.append(grads)
    dxs = np.stack(dx_rev[::-1]) if dx_rev else np.zeros_like(xs)
    total = {name: sum((g[name] for g in grad_list), np.zeros_like(params[name])) for name in params}
    return dxs, grad_h, total


# %% variant helper_accumulator
def _add_into(acc, grads, scale=1.0):
    for name, value in grads.items():
        acc[name] = acc[name] + scale * value


def gru_backward(dhs, cache, dh_last=None):
    n_steps = len(cache.xs)
    dh = 0 * cache.h_all[0] if dh_last is None else dh_last + 0
    accumulated = {name: np.zeros(value.shape, value.dtype) for name, value in cache.params.items()}
    dxs = np.empty(cache.xs.shape, cache.xs.dtype)
    t = n_steps - 1
    while t >= 0:
        m = np.ones((dh.shape[0], 1), dh.dtype) if cache.mask is None else cache.mask[t].astype(dh.dtype)[:, None]
        pieces = GRUStepCache(cache.xs[t], cache.h_all[t], cache.gates[t], cache.u[t], cache.params, cache.reset_after)
        dx_t, dh_prev, grads = gru_step_backward(m * (dh + dhs[t]), pieces)
        dxs[t] = dx_t
        _add_into(accumulated, grads)
        dh = m * dh_prev + (1 - m) * dh
        t -= 1
    return dxs, dh, accumulated
