"""A naive textbook implementation, kept here only as a benchmark baseline.

This is how the equations are often first typed in: one matmul per gate and
per step, the input projection recomputed inside the time loop, every
intermediate a fresh array, weight gradients accumulated step by step.  It is
correct (``benchmarks/bench.py`` checks it against ``rnn_ref``) but slow, and it
shows what the vectorized reference gains.  Never import it from ``rnn_ref``.
"""

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _split(params, G):
    """Per-gate blocks of W_x, W_h and b."""
    H = params["W_h"].shape[1]
    return [
        (params["W_x"][k * H : (k + 1) * H], params["W_h"][k * H : (k + 1) * H], params["b"][k * H : (k + 1) * H])
        for k in range(G)
    ]


def rnn_forward_backward(xs, params, dhs):
    """Forward and backward of the vanilla RNN, step by step."""
    T, N, _ = xs.shape
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    H = W_h.shape[0]
    h = np.zeros((N, H), xs.dtype)
    hs = []
    for t in range(T):
        h = np.tanh(xs[t] @ W_x.T + h @ W_h.T + b)
        hs.append(h)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dxs = np.zeros_like(xs)
    dh = np.zeros((N, H), xs.dtype)
    for t in reversed(range(T)):
        dh = dh + dhs[t]
        da = dh * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else np.zeros_like(hs[0])
        grads["W_x"] += da.T @ xs[t]
        grads["W_h"] += da.T @ h_prev
        grads["b"] += da.sum(axis=0)
        dxs[t] = da @ W_x
        dh = da @ W_h
    return np.stack(hs), dxs, grads


def lstm_forward_backward(xs, params, dhs):
    """Forward and backward of the LSTM, one matmul per gate and per step."""
    T, N, _ = xs.shape
    (Wxi, Whi, bi), (Wxf, Whf, bf), (Wxg, Whg, bg), (Wxo, Who, bo) = _split(params, 4)
    H = Whi.shape[0]
    h, c = np.zeros((N, H), xs.dtype), np.zeros((N, H), xs.dtype)
    steps = []
    for t in range(T):
        x = xs[t]
        i = _sigmoid(x @ Wxi.T + h @ Whi.T + bi)
        f = _sigmoid(x @ Wxf.T + h @ Whf.T + bf)
        g = np.tanh(x @ Wxg.T + h @ Whg.T + bg)
        o = _sigmoid(x @ Wxo.T + h @ Who.T + bo)
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        steps.append((x, h_prev, c_prev, i, f, g, o, c, h))
    dW = {name: np.zeros_like(w) for name, w in (("xi", Wxi), ("xf", Wxf), ("xg", Wxg), ("xo", Wxo))}
    dU = {name: np.zeros_like(w) for name, w in (("hi", Whi), ("hf", Whf), ("hg", Whg), ("ho", Who))}
    db = {name: np.zeros(H, xs.dtype) for name in "ifgo"}
    dxs = np.zeros_like(xs)
    dh, dc = np.zeros((N, H), xs.dtype), np.zeros((N, H), xs.dtype)
    for t in reversed(range(T)):
        x, h_prev, c_prev, i, f, g, o, c, h = steps[t]
        dh = dh + dhs[t]
        tc = np.tanh(c)
        do = dh * tc
        dc = dc + dh * o * (1 - tc**2)
        di, df, dg = dc * g, dc * c_prev, dc * i
        dai, daf, dag, dao = di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)
        dxs[t] = dai @ Wxi + daf @ Wxf + dag @ Wxg + dao @ Wxo
        for name, da in (("i", dai), ("f", daf), ("g", dag), ("o", dao)):
            dW["x" + name] += da.T @ x
            dU["h" + name] += da.T @ h_prev
            db[name] += da.sum(axis=0)
        dh = dai @ Whi + daf @ Whf + dag @ Whg + dao @ Who
        dc = dc * f
    grads = {
        "W_x": np.concatenate([dW["x" + k] for k in "ifgo"]),
        "W_h": np.concatenate([dU["h" + k] for k in "ifgo"]),
        "b": np.concatenate([db[k] for k in "ifgo"]),
    }
    return np.stack([s[-1] for s in steps]), dxs, grads


def peephole_forward_backward(xs, params, dhs):
    """Forward and backward of the peephole LSTM, one matmul per gate and per step."""
    T, N, _ = xs.shape
    (Wxi, Whi, bi), (Wxf, Whf, bf), (Wxg, Whg, bg), (Wxo, Who, bo) = _split(params, 4)
    p_i, p_f, p_o = params["p_i"], params["p_f"], params["p_o"]
    H = Whi.shape[0]
    h, c = np.zeros((N, H), xs.dtype), np.zeros((N, H), xs.dtype)
    steps = []
    for t in range(T):
        x = xs[t]
        i = _sigmoid(x @ Wxi.T + h @ Whi.T + p_i * c + bi)
        f = _sigmoid(x @ Wxf.T + h @ Whf.T + p_f * c + bf)
        g = np.tanh(x @ Wxg.T + h @ Whg.T + bg)
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        o = _sigmoid(x @ Wxo.T + h_prev @ Who.T + p_o * c + bo)
        h = o * np.tanh(c)
        steps.append((x, h_prev, c_prev, i, f, g, o, c, h))
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dxs = np.zeros_like(xs)
    dh, dc = np.zeros((N, H), xs.dtype), np.zeros((N, H), xs.dtype)
    for t in reversed(range(T)):
        x, h_prev, c_prev, i, f, g, o, c, h = steps[t]
        dh = dh + dhs[t]
        tc = np.tanh(c)
        dao = dh * tc * o * (1 - o)
        dc = dc + dh * o * (1 - tc**2) + dao * p_o
        dai, daf, dag = dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2)
        for k, da in enumerate((dai, daf, dag, dao)):
            grads["W_x"][k * H : (k + 1) * H] += da.T @ x
            grads["W_h"][k * H : (k + 1) * H] += da.T @ h_prev
            grads["b"][k * H : (k + 1) * H] += da.sum(axis=0)
        grads["p_i"] += (dai * c_prev).sum(axis=0)
        grads["p_f"] += (daf * c_prev).sum(axis=0)
        grads["p_o"] += (dao * c).sum(axis=0)
        dxs[t] = dai @ Wxi + daf @ Wxf + dag @ Wxg + dao @ Wxo
        dh = dai @ Whi + daf @ Whf + dag @ Whg + dao @ Who
        dc = dc * f + dai * p_i + daf * p_f
    return np.stack([s[-1] for s in steps]), dxs, grads


def gru_forward_backward(xs, params, dhs):
    """Forward and backward of the GRU with ``reset_after=True``, per gate and per step."""
    T, N, _ = xs.shape
    (Wxr, Whr, br), (Wxz, Whz, bz), (Wxn, Whn, bn) = _split(params, 3)
    b_hn = params["b_hn"]
    H = Whr.shape[0]
    h = np.zeros((N, H), xs.dtype)
    steps = []
    for t in range(T):
        x = xs[t]
        r = _sigmoid(x @ Wxr.T + h @ Whr.T + br)
        z = _sigmoid(x @ Wxz.T + h @ Whz.T + bz)
        hn = h @ Whn.T + b_hn
        n = np.tanh(x @ Wxn.T + bn + r * hn)
        h_prev = h
        h = z * h_prev + (1 - z) * n
        steps.append((x, h_prev, r, z, hn, n, h))
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dxs = np.zeros_like(xs)
    dh = np.zeros((N, H), xs.dtype)
    for t in reversed(range(T)):
        x, h_prev, r, z, hn, n, h = steps[t]
        dh = dh + dhs[t]
        dn, dz = dh * (1 - z), dh * (h_prev - n)
        dan = dn * (1 - n**2)
        dar, daz = dan * hn * r * (1 - r), dz * z * (1 - z)
        dhn = dan * r
        for k, (dax, dah) in enumerate(((dar, dar), (daz, daz), (dan, dhn))):
            grads["W_x"][k * H : (k + 1) * H] += dax.T @ x
            grads["W_h"][k * H : (k + 1) * H] += dah.T @ h_prev
            grads["b"][k * H : (k + 1) * H] += dax.sum(axis=0)
        grads["b_hn"] += dhn.sum(axis=0)
        dxs[t] = dar @ Wxr + daz @ Wxz + dan @ Wxn
        dh = dh * z + dar @ Whr + daz @ Whz + dhn @ Whn
    return np.stack([s[-1] for s in steps]), dxs, grads


NAIVE = {
    "rnn": rnn_forward_backward,
    "lstm": lstm_forward_backward,
    "gru": gru_forward_backward,
    "peephole": peephole_forward_backward,
}
