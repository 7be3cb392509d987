"""rnn.rnn_step_backward (exercise 02): independent correct variants."""

import numpy as np

from rnn_ref.rnn import RNNStepCache  # noqa: F401


# %% variant unpacked
def rnn_step_backward(dh, cache):
    x, h_prev, h, params = cache
    dtanh = 1.0 - np.square(h)
    g = dh * dtanh
    dW_x = np.dot(g.T, x)
    dW_h = np.dot(g.T, h_prev)
    db = np.sum(g, axis=0)
    dx = np.dot(g, params["W_x"])
    dh_prev = np.dot(g, params["W_h"])
    return dx, dh_prev, {"W_x": dW_x, "W_h": dW_h, "b": db}


# %% variant einsum
def rnn_step_backward(dh, cache):
    delta = dh * (1 - cache.h * cache.h)
    grads = {
        "b": delta.sum(0),
        "W_h": np.einsum("nh,nk->hk", delta, cache.h_prev),
        "W_x": np.einsum("nh,nd->hd", delta, cache.x),
    }
    dx = np.einsum("nh,hd->nd", delta, cache.params["W_x"])
    dhp = np.einsum("nh,hk->nk", delta, cache.params["W_h"])
    return dx, dhp, grads


# %% variant stacked_weights
def rnn_step_backward(dh, cache):
    W_x, W_h = cache.params["W_x"], cache.params["W_h"]
    D = W_x.shape[1]
    da = dh - dh * cache.h**2
    W = np.concatenate([W_x, W_h], axis=1)  # (H, D + H)
    inputs = np.concatenate([cache.x, cache.h_prev], axis=1)  # (N, D + H)
    dW = da.T @ inputs
    dinputs = da @ W
    return dinputs[:, :D], dinputs[:, D:], {"W_x": dW[:, :D], "W_h": dW[:, D:], "b": da.sum(axis=0)}
