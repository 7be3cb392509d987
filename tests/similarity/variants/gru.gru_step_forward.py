"""gru.gru_step_forward (exercise 05): independent correct variants."""

import numpy as np

from rnn_ref.activations import sigmoid


# %% variant two_products
def gru_step_forward(x, h_prev, params, *, reset_after=False):
    H = h_prev.shape[1]
    gx = x @ params["W_x"].T + params["b"]  # (N, 3H)
    gh = h_prev @ params["W_h"][: 2 * H].T  # (N, 2H): r and z only
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H : 2 * H] + gh[:, H:])
    W_hn = params["W_h"][2 * H :]
    if reset_after:
        n = np.tanh(gx[:, 2 * H :] + r * (h_prev @ W_hn.T + params["b_hn"]))
    else:
        n = np.tanh(gx[:, 2 * H :] + (r * h_prev) @ W_hn.T)
    h = z * h_prev + (1 - z) * n
    return h, (r, z, n)


# %% variant sliced_weights
def gru_step_forward(x, h_prev, params, *, reset_after=False):
    size = h_prev.shape[-1]
    Wxr, Wxz, Wxn = np.split(params["W_x"], 3)
    Whr, Whz, Whn = np.split(params["W_h"], 3)
    br, bz, bn = np.split(params["b"], 3)
    reset = 1.0 / (1.0 + np.exp(-(np.dot(x, Wxr.T) + np.dot(h_prev, Whr.T) + br)))
    update = 1.0 / (1.0 + np.exp(-(np.dot(x, Wxz.T) + np.dot(h_prev, Whz.T) + bz)))
    if not reset_after:
        cand = np.tanh(np.dot(x, Wxn.T) + np.dot(reset * h_prev, Whn.T) + bn)
    else:
        cand = np.tanh(np.dot(x, Wxn.T) + bn + reset * (np.dot(h_prev, Whn.T) + params["b_hn"]))
    new_h = cand + update * (h_prev - cand)
    assert new_h.shape[-1] == size
    return new_h, None


# %% variant gate_helpers
def gru_step_forward(x, h_prev, params, *, reset_after=False):
    H = h_prev.shape[1]
    part = {name: [params[name][k * H : (k + 1) * H] for k in range(3)] for name in ("W_x", "W_h", "b")}
    r = reset_gate(x, h_prev, part["W_x"][0], part["W_h"][0], part["b"][0])
    z = update_gate(x, h_prev, part["W_x"][1], part["W_h"][1], part["b"][1])
    extra = params["b_hn"] if reset_after else None
    n = candidate(x, h_prev, r, part["W_x"][2], part["W_h"][2], part["b"][2], extra, reset_after=reset_after)
    return hidden_state(z, n, h_prev), {"r": r, "z": z, "n": n}
