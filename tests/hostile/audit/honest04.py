# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""Honest variants of 04_lstm (audit): helpers and calling conventions of the student's own."""

from hostile.audit.honest01 import sols
from hostile.corpus import Case

ASSIGNMENT = "04_lstm"
FULL = (1,) * 8

OWN_SIGMOID = '''def sigmoid(a):
    """My own, stable on both sides."""
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1 / (1 + np.exp(-a[pos]))
    e = np.exp(a[~pos])
    out[~pos] = e / (1 + e)
    return out


def input_gate(x, h_prev, W_xi, W_hi, b_i):
    return sigmoid(x @ W_xi.T + h_prev @ W_hi.T + b_i)
'''

STATE_TUPLE_STEP = '''def lstm_step_forward(x, state, c_prev_or_params, params=None):
    """Accepts (x, (h, c), params) as I like it, or the spec's (x, h_prev, c_prev, params)."""
    if params is None:
        (h_prev, c_prev), params = state, c_prev_or_params
    else:
        h_prev, c_prev = state, c_prev_or_params
    H = h_prev.shape[1]
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
    c = cell_state(i=i, g=g, f=f, c_prev=c_prev)
    return hidden_state(c=c, o=o), c, None
'''

STATE_TUPLE_FORWARD = """def lstm_forward(xs, h0, c0, params, mask=None):
    state, hs = (h0, c0), []
    for x in xs:
        h, c, _ = lstm_step_forward(x, state, params)
        state = (h, c)
        hs.append(h)
    return np.stack(hs), state[0], state[1], None
"""

GATE_LOOP_STEP = """GATES = {"i": (0, sigmoid), "f": (1, sigmoid), "g": (2, np.tanh), "o": (3, sigmoid)}


def lstm_step_forward(x, h_prev, c_prev, params):
    H = h_prev.shape[1]
    blk = lambda k: slice(k * H, (k + 1) * H)
    z = {n: act(x @ params["W_x"][blk(k)].T + h_prev @ params["W_h"][blk(k)].T + params["b"][blk(k)])
         for n, (k, act) in GATES.items()}
    c = cell_state(z["f"], c_prev, z["i"], z["g"])
    return hidden_state(z["o"], c), c, z
"""

CASES = [
    Case(
        "v04_own_sigmoid",
        "own stable sigmoid shadowing the import, in the first gate cell",
        sols({0: OWN_SIGMOID}),
        FULL,
        honest=True,
    ),
    Case(
        "v04_hidden_lambda",
        "hidden_state as a lambda",
        sols({5: "hidden_state = lambda o, c: o * np.tanh(c)\n"}),
        FULL,
        honest=True,
    ),
    Case(
        "v04_state_tuple",
        "step takes (x, (h, c), params) too; forward passes a tuple",
        sols({6: STATE_TUPLE_STEP, 7: STATE_TUPLE_FORWARD}),
        FULL,
        honest=True,
    ),
    Case(
        "v04_gate_dict",
        "step computes gates in a dict comprehension from a global table",
        sols({6: GATE_LOOP_STEP}),
        FULL,
        honest=True,
    ),
    Case(
        "v04_sigmoid_broken_after_step_test",
        "a scratch cell after the step's test rebinds sigmoid",
        sols({}, after={6: "sigmoid = lambda a: a  # scratch: trying identity\n"}),
        None,
        honest=True,
    ),
]
