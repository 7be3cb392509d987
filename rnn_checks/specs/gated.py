"""The graded functions of the gated cells: LSTM (chapters 4 and 8), GRU (5), peephole LSTM (6).

See :mod:`rnn_checks.specs.common`.
"""

import numpy as np

from rnn_ref import gru, lstm, peephole

from .common import (
    MADE_UP_CACHE,
    STEP_ISOLATIONS,
    Spec,
    cell_params,
    gate_args,
    gate_isolations,
    gate_values,
    normal,
    params_of,
    state,
)

SPECS = []  # the graded functions of chapters 4, 5, 6 and 8, in the order of the exercises

# --- 04 LSTM ---------------------------------------------------------------------------------------------


def _gate(rng, d, dtype, v):
    return gate_args(rng, d, dtype), {}


def _lstm_cell_state(rng, d, dtype, v):
    shape = (d["N"], d["H"])
    f, i = gate_values(rng, shape, dtype), gate_values(rng, shape, dtype)
    return (f, normal(rng, shape, dtype), i, state(rng, shape, dtype)), {}


def _lstm_hidden_state(rng, d, dtype, v):
    shape = (d["N"], d["H"])
    return (gate_values(rng, shape, dtype), normal(rng, shape, dtype, 1.5)), {}


def _lstm_step(rng, d, dtype, v):
    N, D, H = d["N"], d["D"], d["H"]
    x, h_prev, c_prev = normal(rng, (N, D), dtype), state(rng, (N, H), dtype), normal(rng, (N, H), dtype)
    return (x, h_prev, c_prev, cell_params(rng, 4, D, H, dtype)), {}


def _lstm_seq(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    xs, h0, c0 = normal(rng, (T, N, D), dtype), state(rng, (N, H), dtype), normal(rng, (N, H), dtype)
    return (xs, h0, c0, cell_params(rng, 4, D, H, dtype)), {}


for _name, _b in (("input_gate", "b_i"), ("forget_gate", "b_f"), ("candidate", "b_g"), ("output_gate", "b_o")):
    SPECS.append(
        Spec(
            f"lstm.{_name}",
            getattr(lstm, _name),
            (_b[-1],),
            _gate,
            isolations=gate_isolations(_b),
            uses="NDH",
            large=(_b,),
        )
    )
SPECS.append(Spec("lstm.cell_state", lstm.cell_state, ("c",), _lstm_cell_state, uses="NH"))
SPECS.append(Spec("lstm.hidden_state", lstm.hidden_state, ("h",), _lstm_hidden_state, uses="NH", large=("c",)))
_LSTM_PIECES = {
    name: f"lstm.{name}"
    for name in ("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state")
}
SPECS.append(
    Spec(
        "lstm.lstm_step_forward",
        lstm.lstm_step_forward,
        ("h", "c", None),
        _lstm_step,
        builds_on=_LSTM_PIECES,
        isolations=STEP_ISOLATIONS + (("no old cell state (c_prev = 0)", ("c_prev",)),),
        uses="NDH",
        large=("params['b']",),
    )
)
SPECS.append(
    Spec(
        "lstm.lstm_forward",
        lstm.lstm_forward,
        ("hs", "h_last", "c_last", None),
        _lstm_seq,
        builds_on={"lstm_step_forward": "lstm.lstm_step_forward"},
        isolations=(("only the inputs (h0 = 0, c0 = 0)", ("h0", "c0")), ("no initial cell state (c0 = 0)", ("c0",))),
    )
)


# --- 05 GRU ----------------------------------------------------------------------------------------------


def _gru_candidate(rng, d, dtype, v):
    x, h_prev, W_xn, W_hn, b_n = gate_args(rng, d, dtype)
    r = gate_values(rng, h_prev.shape, dtype)
    if v["reset_after"]:
        return (x, h_prev, r, W_xn, W_hn, b_n, normal(rng, b_n.shape, dtype, 0.5)), {"reset_after": True}
    return (x, h_prev, r, W_xn, W_hn, b_n), {"reset_after": False}


def _gru_hidden_state(rng, d, dtype, v):
    shape = (d["N"], d["H"])
    return (gate_values(rng, shape, dtype), state(rng, shape, dtype), state(rng, shape, dtype)), {}


def gru_step_case(rng, d, dtype, v):
    N, D, H = d["N"], d["D"], d["H"]
    params = params_of("gru", rng, D, H, dtype, v["reset_after"])
    return (normal(rng, (N, D), dtype), state(rng, (N, H), dtype), params), {"reset_after": v["reset_after"]}


RESET_AFTER = ({"reset_after": False}, {"reset_after": True})
for _name, _b in (("reset_gate", "b_r"), ("update_gate", "b_z")):
    SPECS.append(
        Spec(
            f"gru.{_name}",
            getattr(gru, _name),
            (_b[-1],),
            _gate,
            isolations=gate_isolations(_b),
            uses="NDH",
            large=(_b,),
        )
    )
SPECS.append(
    Spec(
        "gru.candidate",
        gru.candidate,
        ("n",),
        _gru_candidate,
        variants=RESET_AFTER,
        isolations=(
            ("only the input term (h_prev = 0)", ("h_prev",)),
            ("only the recurrent term (x = 0, b_n = 0)", ("x", "b_n")),
            ("reset gate closed (r = 0)", ("r",)),
        ),
        uses="NDH",
        large=("b_n",),
    )
)
SPECS.append(Spec("gru.hidden_state", gru.hidden_state, ("h",), _gru_hidden_state, uses="NH"))
SPECS.append(
    Spec(
        "gru.gru_step_forward",
        gru.gru_step_forward,
        ("h", None),
        gru_step_case,
        variants=RESET_AFTER,
        builds_on={name: f"gru.{name}" for name in ("reset_gate", "update_gate", "candidate", "hidden_state")},
        isolations=STEP_ISOLATIONS,
        uses="NDH",
        large=("params['b']",),
    )
)


# --- 06 peephole LSTM ------------------------------------------------------------------------------------


def _peephole_gate(rng, d, dtype, v):
    x, h_prev, W_x, W_h, b = gate_args(rng, d, dtype)
    c = normal(rng, h_prev.shape, dtype)
    return (x, h_prev, c, W_x, W_h, b, normal(rng, b.shape, dtype)), {}


def _peephole_step(rng, d, dtype, v):
    (x, h_prev, c_prev, _), _ = _lstm_step(rng, d, dtype, v)
    return (x, h_prev, c_prev, params_of("peephole", rng, d["D"], d["H"], dtype)), {}


for _name, _g, _c in (("input_gate", "i", "c_prev"), ("forget_gate", "f", "c_prev"), ("output_gate", "o", "c")):
    SPECS.append(
        Spec(
            f"peephole.{_name}",
            getattr(peephole, _name),
            (_g,),
            _peephole_gate,
            isolations=(
                (f"only the peephole term (x = 0, h_prev = 0, b_{_g} = 0)", ("x", "h_prev", f"b_{_g}")),
                (f"no peephole ({_c} = 0)", (_c,)),
                (f"only the bias (x = 0, h_prev = 0, {_c} = 0)", ("x", "h_prev", _c)),
            ),
            uses="NDH",
            large=(f"b_{_g}",),
        )
    )
SPECS.append(
    Spec(
        "peephole.peephole_step_forward",
        peephole.peephole_step_forward,
        ("h", "c", None),
        _peephole_step,
        builds_on={name: f"peephole.{name}" for name in ("input_gate", "forget_gate", "output_gate")},
        allowed=("lstm.candidate", "lstm.cell_state", "lstm.hidden_state"),
        isolations=(
            ("no peepholes (p_i = p_f = p_o = 0)", ("params['p_i']", "params['p_f']", "params['p_o']")),
            ("only the output gate's peephole (p_i = p_f = 0)", ("params['p_i']", "params['p_f']")),
            ("no old cell state (c_prev = 0)", ("c_prev",)),
        ),
        uses="NDH",
        large=("params['b']",),
    )
)


# --- 08 the gates' gradients -------------------------------------------------------------------------------


def _lstm_step_backward(rng, d, dtype, v):
    (x, h_prev, c_prev, params), _ = _lstm_step(rng, d, dtype, v)
    _, _, cache = lstm.lstm_step_forward(x, h_prev, c_prev, params)
    args = (normal(rng, h_prev.shape, dtype), normal(rng, h_prev.shape, dtype))
    if v.get("cached gates") == MADE_UP_CACHE:  # gates not computed from this x (see MADE_UP_CACHE)
        i, f, o = (gate_values(rng, h_prev.shape, dtype) for _ in range(3))
        g = state(rng, h_prev.shape, dtype)
        c = f * c_prev + i * g  # the cell state of these gates: the cache stays consistent with itself
        gates = np.concatenate([i, f, g, o], axis=1)
        cache = cache._replace(gates=gates, c=c, tanh_c=np.tanh(c))
    return (*args, cache), {}


def _lstm_backward(rng, d, dtype, v):
    (xs, h0, c0, params), _ = _lstm_seq(rng, d, dtype, v)
    hs, _, _, cache = lstm.lstm_forward(xs, h0, c0, params)
    args = (normal(rng, hs.shape, dtype), cache)
    if v.get("last"):
        args += (normal(rng, h0.shape, dtype), normal(rng, h0.shape, dtype))
    return args, {}


_LSTM_FORWARD = tuple(_LSTM_PIECES.values()) + ("lstm.lstm_step_forward", "lstm.lstm_forward")
SPECS.append(
    Spec(
        "lstm.lstm_step_backward",
        lstm.lstm_step_backward,
        ("dx", "dh_prev", "dc_prev", "grads"),
        _lstm_step_backward,
        variants=({}, {"cached gates": MADE_UP_CACHE}),
        allowed=_LSTM_FORWARD + ("gradcheck.*",),
        isolations=(("only dh (dc = 0)", ("dc",)), ("only dc (dh = 0)", ("dh",))),
        uses="NDH",
        timed=({"N": 256, "D": 64, "H": 128}, 0),
    )
)
SPECS.append(
    Spec(
        "lstm.lstm_backward",
        lstm.lstm_backward,
        ("dxs", "dh0", "dc0", "grads"),
        _lstm_backward,
        variants=({"last": False}, {"last": True}),
        builds_on={"lstm_step_backward": "lstm.lstm_step_backward"},
        allowed=_LSTM_FORWARD + ("gradcheck.*",),
        isolations=(
            (
                "only the gradient of the last output (dhs[:-1] = 0, no dh_last, dc_last)",
                ("dhs[:-1]", "dh_last", "dc_last"),
            ),
            ("only dc_last (dhs = 0, dh_last = 0)", ("+dc_last", "dhs", "dh_last")),
            ("only dh_last (dhs = 0, dc_last = 0)", ("+dh_last", "dhs", "dc_last")),
        ),
        timed=({"T": 20, "N": 8, "D": 64, "H": 128}, 1),
    )
)
