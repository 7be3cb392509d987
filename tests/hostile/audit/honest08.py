# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""Honest variants of 08_lstm_gates (audit)."""

from hostile.audit.honest01 import sols
from hostile.corpus import Case

ASSIGNMENT = "08_lstm_gates"

EINSUM_CLASS = '''class StepBackward:
    """Backward of one step, with the cache's pieces as attributes."""

    def __init__(self, cache):
        self.cache = cache
        H = cache.c.shape[1]
        self.i, self.f, self.g, self.o = np.split(cache.gates, 4, axis=1)

    def __call__(self, dh, dc):
        c = self.cache
        dct = dc + dh * self.o * (1 - c.tanh_c**2)
        da = np.hstack([dct * self.g * self.i * (1 - self.i), dct * c.c_prev * self.f * (1 - self.f),
                        dct * self.i * (1 - self.g**2), dh * c.tanh_c * self.o * (1 - self.o)])
        grads = {"W_x": np.einsum("nj,nd->jd", da, c.x), "W_h": np.einsum("nj,nk->jk", da, c.h_prev),
                 "b": np.einsum("nj->j", da)}
        return np.einsum("nj,jd->nd", da, c.params["W_x"]), np.einsum("nj,jk->nk", da, c.params["W_h"]), dct * self.f, grads


def lstm_step_backward(dh, dc, cache):
    return StepBackward(cache)(dh, dc)
'''

OUTER_LOOP = """def lstm_step_backward(dh, dc, cache):
    N, H = dh.shape
    i, f, g, o = np.split(cache.gates, 4, axis=1)
    dct = dc + dh * o * (1 - cache.tanh_c**2)
    da = np.hstack([dct * g * i * (1 - i), dct * cache.c_prev * f * (1 - f), dct * i * (1 - g**2), dh * cache.tanh_c * o * (1 - o)])
    grads = {k: np.zeros_like(v) for k, v in cache.params.items()}
    dx = np.zeros_like(cache.x)
    dh_prev = np.zeros_like(cache.h_prev)
    for n in range(N):  # one example at a time, as in the lecture's derivation
        grads["W_x"] += np.outer(da[n], cache.x[n])
        grads["W_h"] += np.outer(da[n], cache.h_prev[n])
        grads["b"] += da[n]
        dx[n] = cache.params["W_x"].T @ da[n]
        dh_prev[n] = cache.params["W_h"].T @ da[n]
    return dx, dh_prev, dct * f, grads
"""

PURE_PYTHON = '''import math


def lstm_step_backward(dh, dc, cache):
    """Element by element, with Python floats (how I first understood it)."""
    N, H = dh.shape
    D = cache.x.shape[1]
    W_x, W_h = cache.params["W_x"], cache.params["W_h"]
    da = np.zeros((N, 4 * H))
    dc_prev = np.zeros((N, H))
    for n in range(N):
        for j in range(H):
            i, f, g, o = (float(cache.gates[n, k * H + j]) for k in range(4))
            t = math.tanh(float(cache.c[n, j]))
            dct = float(dc[n, j]) + float(dh[n, j]) * o * (1 - t * t)
            da[n, j] = dct * g * i * (1 - i)
            da[n, H + j] = dct * float(cache.c_prev[n, j]) * f * (1 - f)
            da[n, 2 * H + j] = dct * i * (1 - g * g)
            da[n, 3 * H + j] = float(dh[n, j]) * t * o * (1 - o)
            dc_prev[n, j] = dct * f
    grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return (da @ W_x).astype(dh.dtype), (da @ W_h).astype(dh.dtype), dc_prev.astype(dh.dtype), {k: v.astype(dh.dtype) for k, v in grads.items()}
'''

CASES = [
    Case("v08_einsum_class", "step backward through a class and einsum", sols({0: EINSUM_CLASS}), (1, 1), honest=True),
    Case(
        "v08_outer_loop",
        "step backward with a loop over the batch and np.outer",
        sols({0: OUTER_LOOP}),
        (1, 1),
        honest=True,
    ),
    Case(
        "v08_pure_python_gates",
        "gate gradients element by element with Python floats, matmuls vectorized",
        sols({0: PURE_PYTHON}),
        (1, 1),
        honest=True,
    ),
]

DICT_CACHE_STEP = """def lstm_step_backward(dh, dc, cache):
    c = cache._asdict() if hasattr(cache, "_asdict") else cache  # my BPTT passes a dict
    H = dh.shape[1]
    i, f, g, o = (c["gates"][:, k * H : (k + 1) * H] for k in range(4))
    dct = dc + dh * o * (1 - c["tanh_c"] ** 2)
    da = np.concatenate([dct * g * i * (1 - i), dct * c["c_prev"] * f * (1 - f), dct * i * (1 - g**2), dh * c["tanh_c"] * o * (1 - o)], axis=1)
    grads = {"W_x": da.T @ c["x"], "W_h": da.T @ c["h_prev"], "b": da.sum(axis=0)}
    return da @ c["params"]["W_x"], da @ c["params"]["W_h"], dct * f, grads
"""

DICT_CACHE_BPTT = """def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    xs, h_all, c_all, gates, tanh_c, _, params = cache
    dxs = np.empty_like(xs)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh = np.zeros_like(h_all[0]) if dh_last is None else dh_last
    dc = np.zeros_like(c_all[0]) if dc_last is None else dc_last
    for t in range(xs.shape[0] - 1, -1, -1):
        step = dict(x=xs[t], h_prev=h_all[t], c_prev=c_all[t], gates=gates[t], tanh_c=tanh_c[t], params=params)
        dxs[t], dh, dc, g = lstm_step_backward(dh=dhs[t] + dh, dc=dc, cache=step)
        for k in grads:
            grads[k] += g[k]
    return dxs, dh, dc, grads
"""

CASES += [
    Case(
        "v08_dict_cache",
        "BPTT passes its step a dict as the cache, by keyword",
        sols({0: DICT_CACHE_STEP, 1: DICT_CACHE_BPTT}),
        (1, 1),
        honest=True,
    ),
]
