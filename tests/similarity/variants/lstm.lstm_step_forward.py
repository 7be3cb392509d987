"""lstm.lstm_step_forward (exercise 04): independent correct variants."""

import numpy as np

from rnn_ref.activations import sigmoid


# %% variant split_then_gates
def lstm_step_forward(x, h_prev, c_prev, params):
    z = np.dot(x, params["W_x"].T) + np.dot(h_prev, params["W_h"].T) + params["b"]
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
    in_gate = sigmoid(z_i)
    keep = sigmoid(z_f)
    cand = np.tanh(z_g)
    out_gate = sigmoid(z_o)
    c_next = keep * c_prev + in_gate * cand
    h_next = out_gate * np.tanh(c_next)
    return h_next, c_next, {"i": in_gate, "f": keep, "g": cand, "o": out_gate}


# %% variant per_gate_helpers
def lstm_step_forward(x, h_prev, c_prev, params):
    H = h_prev.shape[-1]

    def rows(k):
        return params["W_x"][k * H : (k + 1) * H], params["W_h"][k * H : (k + 1) * H], params["b"][k * H : (k + 1) * H]

    i = input_gate(x, h_prev, *rows(0))
    f = forget_gate(x, h_prev, *rows(1))
    g = candidate(x, h_prev, *rows(2))
    o = output_gate(x, h_prev, *rows(3))
    c = cell_state(f, c_prev, i, g)
    return hidden_state(o, c), c, [i, f, g, o, c]


# %% variant reshaped_gates
def lstm_step_forward(x, h_prev, c_prev, params):
    N, H = h_prev.shape
    pre = (x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]).reshape(N, 4, H)
    act = np.empty_like(pre)
    act[:, [0, 1, 3]] = 1 / (1 + np.exp(-pre[:, [0, 1, 3]]))
    act[:, 2] = np.tanh(pre[:, 2])
    new_c = act[:, 1] * c_prev + act[:, 0] * act[:, 2]
    new_h = act[:, 3] * np.tanh(new_c)
    return new_h, new_c, act
