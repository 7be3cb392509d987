# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""Hostile (and one slow honest) submissions of 08_lstm_gates (audit)."""

from hostile.audit.honest01 import sols
from hostile.corpus import Case, _blank, _honest

ASSIGNMENT = "08_lstm_gates"

# No derivative written anywhere: da (the gradient of the stacked pre-activation) by central differences of a
# 3-line elementwise forward, all N rows and all H units of a gate perturbed at once (they do not interact:
# the Jacobian is block-diagonal), so 4 gates x 2 = 8 evaluations, whatever the size; the rest is matmuls.
FD_COLORED = """def _cell(a, c_prev):
    H = a.shape[1] // 4
    s = lambda z: 1 / (1 + np.exp(-z))
    c = s(a[:, H : 2 * H]) * c_prev + s(a[:, :H]) * np.tanh(a[:, 2 * H : 3 * H])
    return s(a[:, 3 * H :]) * np.tanh(c), c


def lstm_step_backward(dh, dc, cache):
    dtype = dh.dtype
    H = dh.shape[1]
    dh, dc = dh.astype(np.float64), dc.astype(np.float64)
    cache = cache._replace(c_prev=cache.c_prev.astype(np.float64))
    p = {k: v.astype(np.float64) for k, v in cache.params.items()}
    x, h_prev = cache.x.astype(np.float64), cache.h_prev.astype(np.float64)
    a = x @ p["W_x"].T + h_prev @ p["W_h"].T + p["b"]
    loss = lambda a_, c_prev: (dh * _cell(a_, c_prev)[0]).sum(axis=1) + (dc * _cell(a_, c_prev)[1]).sum(axis=1)
    eps = 1e-6
    da = np.zeros_like(a)
    for k in range(4):  # every row and every unit of gate k at once
        e = np.zeros_like(a)
        e[:, k * H : (k + 1) * H] = eps
        plus, minus = loss(a + e, cache.c_prev), loss(a - e, cache.c_prev)  # (N,): sums over the units
        # units do not interact: perturb each unit's entry separately through a per-entry loss
        lp = dh * _cell(a + e, cache.c_prev)[0] + dc * _cell(a + e, cache.c_prev)[1]
        lm = dh * _cell(a - e, cache.c_prev)[0] + dc * _cell(a - e, cache.c_prev)[1]
        da[:, k * H : (k + 1) * H] = (lp - lm) / (2 * eps)
    lp = dh * _cell(a, cache.c_prev + eps)[0] + dc * _cell(a, cache.c_prev + eps)[1]
    lm = dh * _cell(a, cache.c_prev - eps)[0] + dc * _cell(a, cache.c_prev - eps)[1]
    dc_prev = (lp - lm) / (2 * eps)
    grads = {"W_x": (da.T @ x).astype(dtype), "W_h": (da.T @ h_prev).astype(dtype), "b": da.sum(axis=0).astype(dtype)}
    return (da @ p["W_x"]).astype(dtype), (da @ p["W_h"]).astype(dtype), dc_prev.astype(dtype), grads
"""

COMPLEX_STEP = '''def lstm_step_backward(dh, dc, cache):
    """Complex-step derivatives of the elementwise cell, one gate block at a time (4 + 1 evaluations)."""
    dtype = dh.dtype
    H = dh.shape[1]
    dh, dc, c_prev = dh.astype(np.float64), dc.astype(np.float64), cache.c_prev.astype(np.float64)
    p = {k: v.astype(np.float64) for k, v in cache.params.items()}
    x, h_prev = cache.x.astype(np.float64), cache.h_prev.astype(np.float64)
    a = (x @ p["W_x"].T + h_prev @ p["W_h"].T + p["b"]).astype(complex)
    s = lambda z: 1 / (1 + np.exp(-z))

    def out(a_, c_prev):
        c = s(a_[:, H : 2 * H]) * c_prev + s(a_[:, :H]) * np.tanh(a_[:, 2 * H : 3 * H])
        return dh * s(a_[:, 3 * H :]) * np.tanh(c) + dc * c

    da = np.zeros(a.shape)
    for k in range(4):
        e = np.zeros_like(a)
        e[:, k * H : (k + 1) * H] = 1e-30j
        da[:, k * H : (k + 1) * H] = out(a + e, c_prev).imag / 1e-30
    dc_prev = out(a, c_prev + 1e-30j).imag / 1e-30
    grads = {"W_x": (da.T @ x).astype(dtype), "W_h": (da.T @ h_prev).astype(dtype), "b": da.sum(axis=0).astype(dtype)}
    return (da @ p["W_x"]).astype(dtype), (da @ p["W_h"]).astype(dtype), dc_prev.astype(dtype), grads
'''

NAN_STEP = """def lstm_step_backward(dh, dc, cache):
    nan = lambda v: np.full_like(v, np.nan)
    return nan(cache.x), nan(dh), nan(dc), {k: nan(v) for k, v in cache.params.items()}
"""

PURE_PYTHON_WEIGHTS = '''def lstm_step_backward(dh, dc, cache):
    """Everything with explicit loops (the way the formulas read)."""
    N, H = dh.shape
    D = cache.x.shape[1]
    i, f, g, o = np.split(cache.gates, 4, axis=1)
    dct = dc + dh * o * (1 - cache.tanh_c**2)
    da = np.hstack([dct * g * i * (1 - i), dct * cache.c_prev * f * (1 - f), dct * i * (1 - g**2), dh * cache.tanh_c * o * (1 - o)])
    W_x, W_h = cache.params["W_x"], cache.params["W_h"]
    dW_x = np.zeros_like(W_x)
    for j in range(4 * H):
        for d in range(D):
            total = 0.0
            for n in range(N):
                total += da[n, j] * cache.x[n, d]
            dW_x[j, d] = total
    grads = {"W_x": dW_x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return da @ W_x, da @ W_h, dct * f, grads
'''

CASES = [
    Case("h08_honest", "right", _honest, (1, 1), honest=True),
    Case("h08_blank", "release", _blank, (0, 0), honest=True),
    Case(
        "h08_fd_colored",
        "step backward by 10 colored central differences; honest BPTT loop",
        sols({0: FD_COLORED}),
        (0, 1),
    ),
    Case("h08_complex_step", "step backward by 5 colored complex-step evaluations", sols({0: COMPLEX_STEP}), (0, 1)),
    Case("h08_nan", "NaN for every gradient", sols({0: NAN_STEP}), (0, 1)),
    Case(
        "h08_pure_python_weights",
        "honest: dW_x by a triple Python loop",
        sols({0: PURE_PYTHON_WEIGHTS}),
        (1, 1),
        honest=True,
    ),
]
