"""peephole.peephole_step_forward (exercise 06): independent correct variants."""

import numpy as np

from rnn_ref.activations import sigmoid
from rnn_ref.lstm import candidate, cell_state, hidden_state  # noqa: F401


# %% variant one_product
def peephole_step_forward(x, h_prev, c_prev, params):
    H = h_prev.shape[1]
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]
    i = sigmoid(a[:, :H] + params["p_i"] * c_prev)
    f = sigmoid(a[:, H : 2 * H] + params["p_f"] * c_prev)
    g = np.tanh(a[:, 2 * H : 3 * H])
    c = f * c_prev + i * g
    o = sigmoid(a[:, 3 * H :] + params["p_o"] * c)
    h = o * np.tanh(c)
    return h, c, (i, f, g, o)


# %% variant peepholes_stacked
def peephole_step_forward(x, h_prev, c_prev, params):
    n_hidden = c_prev.shape[1]
    pre = np.dot(x, params["W_x"].T) + np.dot(h_prev, params["W_h"].T) + params["b"]
    blocks = pre.reshape(len(x), 4, n_hidden)
    peep_old = np.stack([params["p_i"], params["p_f"]])[None] * c_prev[:, None, :]  # (N, 2, H)
    in_forget = sigmoid(blocks[:, :2] + peep_old)
    cell = in_forget[:, 1] * c_prev + in_forget[:, 0] * np.tanh(blocks[:, 2])
    out = sigmoid(blocks[:, 3] + params["p_o"] * cell)
    return out * np.tanh(cell), cell, {"gates": in_forget, "o": out}


# %% variant gate_function
def _gate(x, h, W_x, W_h, b, peek=0.0):
    return sigmoid(x @ W_x.T + h @ W_h.T + b + peek)


def peephole_step_forward(x, h_prev, c_prev, params):
    H = h_prev.shape[1]
    Wx, Wh, bb = params["W_x"], params["W_h"], params["b"]
    sl = lambda k: slice(k * H, (k + 1) * H)  # noqa: E731
    ig = _gate(x, h_prev, Wx[sl(0)], Wh[sl(0)], bb[sl(0)], params["p_i"] * c_prev)
    fg = _gate(x, h_prev, Wx[sl(1)], Wh[sl(1)], bb[sl(1)], params["p_f"] * c_prev)
    cand = candidate(x, h_prev, Wx[sl(2)], Wh[sl(2)], bb[sl(2)])
    cell = cell_state(fg, c_prev, ig, cand)
    og = _gate(x, h_prev, Wx[sl(3)], Wh[sl(3)], bb[sl(3)], params["p_o"] * cell)
    return hidden_state(og, cell), cell, None
