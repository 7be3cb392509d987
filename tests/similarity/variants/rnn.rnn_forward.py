"""rnn.rnn_forward (exercise 01): independent correct variants."""

import numpy as np


# %% variant list_then_stack
def rnn_forward(xs, h0, params, mask=None):
    outputs = []
    h = h0
    for x_t in xs:
        h, _ = rnn_step_forward(x_t, h, params)
        outputs.append(h)
    if not outputs:
        return np.zeros((0,) + h0.shape, dtype=xs.dtype), h0, None
    return np.stack(outputs), h, None


# %% variant hoisted_projection
def rnn_forward(xs, h0, params, mask=None):
    steps, batch, inputs = xs.shape
    hidden = params["W_h"].shape[0]
    projected = (xs.reshape(-1, inputs) @ params["W_x"].T + params["b"]).reshape(steps, batch, hidden)
    states = np.zeros((steps, batch, hidden), dtype=xs.dtype)
    current = h0
    t = 0
    while t < steps:
        current = np.tanh(projected[t] + current @ params["W_h"].T)
        states[t] = current
        t += 1
    return states, current, (xs, states)


# %% variant index_loop
def rnn_forward(xs, h0, params, mask=None):
    T = len(xs)
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    hs = np.empty((T, h0.shape[0], h0.shape[1]), dtype=xs.dtype)
    prev = h0
    for t in range(T):
        hs[t] = np.tanh(xs[t] @ W_x.T + prev @ W_h.T + b)
        prev = hs[t]
    h_last = hs[-1].copy() if T else h0.copy()
    return hs, h_last, {"h0": h0}
