"""lstm.lstm_step_backward (exercise 08): independent correct variants."""

import numpy as np

from rnn_ref.lstm import LSTMStepCache  # noqa: F401


# %% variant named_gradients
def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, gates, c, tanh_c, params = cache
    H = c.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    d_o = dh * tanh_c
    d_c = dc + dh * o * (1.0 - tanh_c**2)
    d_i = d_c * g
    d_f = d_c * c_prev
    d_g = d_c * i
    dc_prev = d_c * f
    da_i = d_i * i * (1 - i)
    da_f = d_f * f * (1 - f)
    da_g = d_g * (1 - g * g)
    da_o = d_o * o * (1 - o)
    da = np.hstack((da_i, da_f, da_g, da_o))
    dx = da @ params["W_x"]
    dh_prev = da @ params["W_h"]
    return dx, dh_prev, dc_prev, {"W_x": da.T @ x, "W_h": da.T @ h_prev, "b": np.sum(da, axis=0)}


# %% variant derivative_table
def lstm_step_backward(dh, dc, cache):
    gates = cache.gates
    H = cache.c.shape[-1]
    # derivative of each activation, from its value: sigmoid' = s (1 - s), tanh' = 1 - t^2
    slope = gates * (1 - gates)
    slope[:, 2 * H : 3 * H] = 1 - gates[:, 2 * H : 3 * H] ** 2
    dcell = dc + dh * gates[:, 3 * H :] * (1 - cache.tanh_c**2)
    upstream = np.concatenate(
        [dcell * gates[:, 2 * H : 3 * H], dcell * cache.c_prev, dcell * gates[:, :H], dh * cache.tanh_c], axis=1
    )
    dpre = upstream * slope
    grads = dict(W_x=np.einsum("ng,nd->gd", dpre, cache.x), W_h=np.einsum("ng,nk->gk", dpre, cache.h_prev))
    grads["b"] = dpre.sum(axis=0)
    return dpre.dot(cache.params["W_x"]), dpre.dot(cache.params["W_h"]), dcell * gates[:, H : 2 * H], grads


# %% variant gate_loop
def lstm_step_backward(dh, dc, cache):
    H = cache.c.shape[1]
    act = {name: cache.gates[:, k * H : (k + 1) * H] for k, name in enumerate("ifgo")}
    dc_full = dc + dh * act["o"] * (1 - cache.tanh_c**2)
    upstream = {"i": dc_full * act["g"], "f": dc_full * cache.c_prev, "g": dc_full * act["i"], "o": dh * cache.tanh_c}
    parts = []
    for name in "ifgo":
        value = act[name]
        local = 1 - value**2 if name == "g" else value * (1 - value)
        parts.append(upstream[name] * local)
    da = np.concatenate(parts, axis=-1)
    W_x, W_h = cache.params["W_x"], cache.params["W_h"]
    return da @ W_x, da @ W_h, act["f"] * dc_full, {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(0)}
