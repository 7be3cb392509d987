# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""02_bptt: a backward with no calculus at all, by colored complex-step differentiation of its own forward (audit)."""

from hostile.audit.honest01 import sols
from hostile.corpus import Case, _blank, _honest

ASSIGNMENT = "02_bptt"

# Only the forward h = tanh(x W_x^T + h_prev W_h^T + b) is written. Each gradient by complex steps, with
# the entries perturbed together whenever no output depends on two of them (Jacobian coloring):
# a column of x (every row at once), a column of W_x or W_h (every unit at once), all of b at once.
# 2D + 2H + 1 evaluations, whatever N: no derivative, no chain rule written anywhere.
COMPLEX_STEP_BLIND = """def _forward(x, h_prev, W_x, W_h, b):
    return np.tanh(x @ W_x.T + h_prev @ W_h.T + b)


def rnn_step_backward(dh, cache):
    dtype = dh.dtype
    f64 = lambda v: np.asarray(v, dtype=np.float64)
    args = [f64(cache.x), f64(cache.h_prev), f64(cache.params["W_x"]), f64(cache.params["W_h"]), f64(cache.params["b"])]
    dh = f64(dh)
    step = 1e-30

    def weighted(k, perturb):
        z = [a.astype(complex) for a in args]
        z[k] = z[k] + 1j * step * perturb
        return (dh * _forward(*z)).imag / step  # (N, H)

    grad = [np.zeros_like(a) for a in args]
    for k in (0, 1):  # x, h_prev: a column for every row at once; each row's loss is its own
        for d in range(args[k].shape[1]):
            e = np.zeros_like(args[k])
            e[:, d] = 1
            grad[k][:, d] = weighted(k, e).sum(axis=1)
    for k in (2, 3):  # W_x, W_h: a column for every unit at once; each unit's loss is its own
        for d in range(args[k].shape[1]):
            e = np.zeros_like(args[k])
            e[:, d] = 1
            grad[k][:, d] = weighted(k, e).sum(axis=0)
    grad[4] = weighted(4, np.ones_like(args[4])).sum(axis=0)
    out = [g.astype(dtype) for g in grad]
    return out[0], out[1], {"W_x": out[2], "W_h": out[3], "b": out[4]}
"""

CASES = [
    Case("h02_honest", "right", _honest, (1, 1, 1), honest=True),
    Case("h02_blank", "release", _blank, (0, 0, 0), honest=True),
    Case(
        "h02_complex_step_blind",
        "step backward by colored complex steps of its own forward; honest BPTT and TBPTT",
        sols({0: COMPLEX_STEP_BLIND}),
        (0, 1, 1),
    ),
]

# The one derivative of the step (da = dh * tanh'(a)) by one complex step of its own forward, all entries at once
# (each output depends on its own pre-activation only); the matmuls of the chain rule written by hand.
COMPLEX_STEP_DA = """def rnn_step_backward(dh, cache):
    dtype = dh.dtype
    x, h_prev = cache.x.astype(np.float64), cache.h_prev.astype(np.float64)
    W_x, W_h, b = (cache.params[k].astype(np.float64) for k in ("W_x", "W_h", "b"))
    a = x @ W_x.T + h_prev @ W_h.T + b
    da = dh.astype(np.float64) * np.tanh(a + 1e-30j).imag / 1e-30
    grads = {"W_x": (da.T @ x).astype(dtype), "W_h": (da.T @ h_prev).astype(dtype), "b": da.sum(axis=0).astype(dtype)}
    return (da @ W_x).astype(dtype), (da @ W_h).astype(dtype), grads
"""

CASES += [
    Case(
        "h02_complex_step_da", "da by one complex step of tanh; the rest by hand", sols({0: COMPLEX_STEP_DA}), (0, 1, 1)
    ),
]
