"""lstm.lstm_forward (exercise 04): independent correct variants."""

import numpy as np

from rnn_ref.activations import sigmoid


# %% variant step_calls_list
def lstm_forward(xs, h0, c0, params, mask=None):
    h_list = []
    state = (h0, c0)
    for x in xs:
        h, c, _ = lstm_step_forward(x, state[0], state[1], params)
        state = (h, c)
        h_list.append(h)
    hs = np.array(h_list, dtype=xs.dtype).reshape((len(xs),) + h0.shape)
    return hs, state[0], state[1], None


# %% variant inline_hoisted
def lstm_forward(xs, h0, c0, params, mask=None):
    T, N, D = xs.shape
    H = h0.shape[1]
    proj = np.einsum("tnd,gd->tng", xs, params["W_x"]) + params["b"]
    out = np.zeros((T, N, H), dtype=xs.dtype)
    h, c = h0.copy(), c0.copy()
    for t in range(T):
        a = proj[t] + h @ params["W_h"].T
        gi, gf, go = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
        gg = np.tanh(a[:, 2 * H : 3 * H])
        c = gf * c + gi * gg
        h = go * np.tanh(c)
        out[t] = h
    return out, h, c, (proj, out)


# %% variant while_loop
def lstm_forward(xs, h0, c0, params, mask=None):
    steps = xs.shape[0]
    outputs = np.empty(xs.shape[:2] + (h0.shape[1],), dtype=xs.dtype)
    h_t = h0
    c_t = c0
    t = 0
    while t < steps:
        h_t, c_t, _cache = lstm_step_forward(xs[t], h_t, c_t, params)
        outputs[t] = h_t
        t = t + 1
    return outputs, h_t, c_t, []
