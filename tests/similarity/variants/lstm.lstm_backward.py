"""lstm.lstm_backward (exercise 08): independent correct variants."""

import numpy as np

from rnn_ref.lstm import LSTMStepCache  # noqa: F401


# %% variant fields_by_name
def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    T = cache.xs.shape[0]
    N, H = cache.h_all.shape[1:]
    dh_next = np.zeros((N, H), dtype=cache.xs.dtype) if dh_last is None else dh_last.copy()
    dc_next = np.zeros((N, H), dtype=cache.xs.dtype) if dc_last is None else dc_last.copy()
    totals = {name: 0 * value for name, value in cache.params.items()}
    dx_steps = []
    for t in range(T - 1, -1, -1):
        step_cache = LSTMStepCache(
            x=cache.xs[t],
            h_prev=cache.h_all[t],
            c_prev=cache.c_all[t],
            gates=cache.gates[t],
            c=cache.c_all[t + 1],
            tanh_c=cache.tanh_c[t],
            params=cache.params,
        )
        dx_t, dh_next, dc_next, g = lstm_step_backward(dh_next + dhs[t], dc_next, step_cache)
        dx_steps.insert(0, dx_t)
        totals = {name: totals[name] + g[name] for name in totals}
    dxs = np.array(dx_steps).reshape(cache.xs.shape) if T else np.zeros_like(cache.xs)
    return dxs, dh_next, dc_next, totals


# %% variant all_inline
def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    xs, h_all, c_all, gates, tanh_c, mask, params = cache
    T, N, D = xs.shape
    H = h_all.shape[2]
    dh = np.zeros((N, H), xs.dtype) if dh_last is None else dh_last
    dc = np.zeros((N, H), xs.dtype) if dc_last is None else dc_last
    da_steps = np.zeros((T, N, 4 * H), dtype=xs.dtype)
    for t in reversed(range(T)):
        i, f, g, o = np.split(gates[t], 4, axis=1)
        dh = dh + dhs[t]
        dc = dc + dh * o * (1 - tanh_c[t] ** 2)
        da_steps[t] = np.concatenate(
            [dc * g * i * (1 - i), dc * c_all[t] * f * (1 - f), dc * i * (1 - g**2), dh * tanh_c[t] * o * (1 - o)],
            axis=1,
        )
        dc = dc * f
        dh = da_steps[t] @ params["W_h"]
    flat = da_steps.reshape(-1, 4 * H)
    grads = {
        "W_x": flat.T @ xs.reshape(-1, D),
        "W_h": flat.T @ h_all[:-1].reshape(-1, H),
        "b": flat.sum(axis=0),
    }
    return (flat @ params["W_x"]).reshape(T, N, D), dh, dc, grads


# %% variant recursive_helper
def _backward_from(t, dh, dc, dhs, cache, collected):
    if t < 0:
        return dh, dc
    step = LSTMStepCache(
        cache.xs[t], cache.h_all[t], cache.c_all[t], cache.gates[t], cache.c_all[t + 1], cache.tanh_c[t], cache.params
    )
    dx, dh_prev, dc_prev, grads = lstm_step_backward(dh + dhs[t], dc, step)
    collected.append((t, dx, grads))
    return _backward_from(t - 1, dh_prev, dc_prev, dhs, cache, collected)


def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    zeros = np.zeros_like(cache.h_all[0])
    collected = []
    dh0, dc0 = _backward_from(
        len(cache.xs) - 1,
        zeros if dh_last is None else dh_last,
        zeros if dc_last is None else dc_last,
        dhs,
        cache,
        collected,
    )
    dxs = np.zeros_like(cache.xs)
    grads = {key: np.zeros_like(value) for key, value in cache.params.items()}
    for t, dx, step_grads in collected:
        dxs[t] = dx
        for key, value in step_grads.items():
            grads[key] = grads[key] + value
    return dxs, dh0, dc0, grads
