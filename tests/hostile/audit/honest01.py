# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""Honest variants of 01_rnn_cell written in other styles (audit)."""

import nbformat

from hostile.corpus import Case

ASSIGNMENT = "01_rnn_cell"


def sols(codes, after=None):
    """Replace solution cells by index -> code; after: {test index: code of a student cell after it}."""

    def make(kit):
        nb = kit.honest()
        for i, code in codes.items():
            kit.solution(nb, i).source = code
        for i, code in (after or {}).items():
            pos = nb.cells.index(kit.test(nb, i)) + 1
            nb.cells.insert(pos, nbformat.v4.new_code_cell(code))
        kit.write(nb)

    return make


STEP_CLASS = '''class Cell:
    """Holds nothing, computes one step."""

    def __call__(self, x, h_prev, params):
        a = np.einsum("nd,hd->nh", x, params["W_x"]) + np.einsum("nk,hk->nh", h_prev, params["W_h"]) + params["b"]
        return np.tanh(a), None


rnn_step_forward = Cell()
'''

STEP_PARTIAL = """import functools


def _step(x, h_prev, params, activation):
    return activation(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), (x, h_prev)


rnn_step_forward = functools.partial(_step, activation=np.tanh)
"""

STEP_DECORATED = """import functools


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        print("called", fn.__name__, "->", out[0].shape)
        return out
    return wrapper


@logged
def rnn_step_forward(x, h_prev, params):
    return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None
"""

STEP_NAMEDTUPLE = """from collections import namedtuple

StepOut = namedtuple("StepOut", ["h", "cache"])
ACT = np.tanh  # a global constant of the solution cell, used later too


def rnn_step_forward(x, h_prev, params):
    return StepOut(ACT(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None)
"""

FORWARD_GLOBAL = """def rnn_forward(xs, h0, params, mask=None):
    h = h0
    hs = []
    for x in xs:
        h = ACT(x @ params["W_x"].T + h @ params["W_h"].T + params["b"])
        hs.append(h)
    return np.stack(hs), h, None
"""

FORWARD_DEBUG = """def rnn_forward(xs, h0, params, mask=None):
    print("xs", xs.shape, "h0", h0.shape)
    hs = np.zeros(xs.shape[:2] + (h0.shape[1],), dtype=xs.dtype)
    h = h0
    for t in range(len(xs)):
        h = rnn_step_forward(xs[t], h, params)[0]
        hs[t] = h
        print(f"t={t} |h|={np.abs(h).max():.3f}")
    return hs, h, {"hs": hs}
"""

OUTPUT_LAMBDA = """softmax = lambda a: np.exp(a - a.max(-1, keepdims=True)) / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)
output_layer = lambda hs, W_y, b_y: softmax(np.einsum("tnh,vh->tnv", hs, W_y) + b_y)
"""

OUTPUT_FLOATS = """import math


def output_layer(hs, W_y, b_y):
    T, N, H = hs.shape
    V = W_y.shape[0]
    p = np.zeros((T, N, V), dtype=hs.dtype)
    for t in range(T):
        for n in range(N):
            logits = [float(b_y[v]) + sum(float(W_y[v, k]) * float(hs[t, n, k]) for k in range(H)) for v in range(V)]
            top = max(logits)
            e = [math.exp(z - top) for z in logits]
            s = math.fsum(e)
            for v in range(V):
                p[t, n, v] = e[v] / s
    return p
"""

OUTPUT_HELPER_LATER = """def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def output_layer(hs, W_y, b_y):
    return softmax(hs @ W_y.T + b_y)
"""

FULL = (1, 1, 1)
CASES = [
    Case("v_class_einsum", "step as a callable instance using einsum", sols({0: STEP_CLASS}), FULL, honest=True),
    Case("v_partial", "step as functools.partial", sols({0: STEP_PARTIAL}), FULL, honest=True),
    Case(
        "v_decorated_debug",
        "step decorated with a printing wraps decorator; forward prints",
        sols({0: STEP_DECORATED, 1: FORWARD_DEBUG}),
        FULL,
        honest=True,
    ),
    Case(
        "v_namedtuple_global",
        "step returns a namedtuple; global ACT used by forward",
        sols({0: STEP_NAMEDTUPLE, 1: FORWARD_GLOBAL}),
        FULL,
        honest=True,
    ),
    Case("v_lambdas", "output_layer as lambdas with einsum", sols({2: OUTPUT_LAMBDA}), FULL, honest=True),
    Case(
        "v_python_floats",
        "output_layer with math on Python floats in loops",
        sols({2: OUTPUT_FLOATS}),
        FULL,
        honest=True,
    ),
    Case(
        "v_helper_redefined_after_test",
        "softmax redefined (wrong) after output_layer's test; ACT rebound after the step's test, so that"
        " rnn_forward (which uses ACT) fails in the notebook itself: its 0 is right",
        sols(
            {0: STEP_NAMEDTUPLE, 1: FORWARD_GLOBAL, 2: OUTPUT_HELPER_LATER},
            after={0: "ACT = None  # scratch: done with the step", 2: "def softmax(a):\n    return a  # scratch\n"},
        ),
        FULL,
        honest=True,
    ),
    Case("blank", "release", lambda kit: kit.write(kit.blank()), (0, 0, 0), honest=True),
]
