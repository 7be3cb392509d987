"""The graded functions of chapters 1-3: the RNN cell, BPTT, clipping and the Jacobian.

See :mod:`rnn_checks.specs.common`.
"""

import numpy as np

from rnn_ref import clip, rnn, tbptt

from .common import (
    BPTT_ISOLATIONS,
    MADE_UP_CACHE,
    SEQUENCE_ISOLATIONS,
    STEP_ISOLATIONS,
    Spec,
    cell_params,
    normal,
    state,
)

SPECS = []  # the graded functions of chapters 1-3, in the order of the exercises

# --- 01 the RNN cell -------------------------------------------------------------------------------------


def _rnn_step(rng, d, dtype, v):
    N, D, H = d["N"], d["D"], d["H"]
    return (normal(rng, (N, D), dtype), state(rng, (N, H), dtype), cell_params(rng, 1, D, H, dtype)), {}


def _rnn_seq(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    xs, h0 = normal(rng, (T, N, D), dtype), state(rng, (N, H), dtype)
    return (xs, h0, cell_params(rng, 1, D, H, dtype)), {}


def _output_layer(rng, d, dtype, v):
    T, N, H, V = d["T"], d["N"], d["H"], d["V"]
    hs = state(rng, (T, N, H), dtype)
    return (hs, normal(rng, (V, H), dtype, 2 / np.sqrt(H)), normal(rng, (V,), dtype, 0.5)), {}


SPECS.append(
    Spec(
        "rnn.rnn_step_forward",
        rnn.rnn_step_forward,
        ("h", None),
        _rnn_step,
        isolations=STEP_ISOLATIONS,
        uses="NDH",
        large=("params['b']",),
    )
)
SPECS.append(
    Spec(
        "rnn.rnn_forward",
        rnn.rnn_forward,
        ("hs", "h_last", None),
        _rnn_seq,
        builds_on={"rnn_step_forward": "rnn.rnn_step_forward"},
        isolations=SEQUENCE_ISOLATIONS,
    )
)
SPECS.append(
    Spec(
        "rnn.output_layer",
        rnn.output_layer,
        ("p",),
        _output_layer,
        isolations=(("only the bias (hs = 0)", ("hs",)), ("no bias (b_y = 0)", ("b_y",))),
        uses="TNHV",
        large=("b_y",),
    )
)


# --- 02 BPTT ---------------------------------------------------------------------------------------------


def _rnn_step_backward(rng, d, dtype, v):
    (x, h_prev, params), _ = _rnn_step(rng, d, dtype, v)
    _, cache = rnn.rnn_step_forward(x, h_prev, params)
    dh = normal(rng, h_prev.shape, dtype)
    if v.get("cached h") == MADE_UP_CACHE:  # an h that is not tanh(a) of this x (see MADE_UP_CACHE)
        cache = cache._replace(h=state(rng, cache.h.shape, dtype))
    return (dh, cache), {}


def _rnn_backward(rng, d, dtype, v):
    (xs, h0, params), _ = _rnn_seq(rng, d, dtype, v)
    hs, _, cache = rnn.rnn_forward(xs, h0, params)
    args = (normal(rng, hs.shape, dtype), cache)
    return (args + (normal(rng, h0.shape, dtype),) if v.get("dh_last") else args), {}


def _truncated_bptt(rng, d, dtype, v):
    (xs, h0, params), _ = _rnn_seq(rng, d, dtype, v)
    k = d["T"] if v["k"] == "T" else v["k"]
    dhs = normal(rng, xs.shape[:2] + h0.shape[-1:], dtype)
    kwargs = {"dstate_last": (normal(rng, h0.shape, dtype),)} if v.get("dstate_last") else {}
    return ("rnn", xs, (h0,), params, dhs, k), kwargs


SPECS.append(
    Spec(
        "rnn.rnn_step_backward",
        rnn.rnn_step_backward,
        ("dx", "dh_prev", "grads"),
        _rnn_step_backward,
        variants=({}, {"cached h": MADE_UP_CACHE}),
        allowed=("rnn.rnn_step_forward", "gradcheck.*"),
        uses="NDH",
        timed=({"N": 256, "D": 128, "H": 256}, 0),
    )
)
SPECS.append(
    Spec(
        "rnn.rnn_backward",
        rnn.rnn_backward,
        ("dxs", "dh0", "grads"),
        _rnn_backward,
        variants=({"dh_last": False}, {"dh_last": True}),
        builds_on={"rnn_step_backward": "rnn.rnn_step_backward"},
        allowed=("rnn.rnn_step_forward", "rnn.rnn_forward", "gradcheck.*"),
        isolations=BPTT_ISOLATIONS,
        timed=({"T": 20, "N": 16, "D": 64, "H": 256}, 1),
    )
)
SPECS.append(
    Spec(
        "tbptt.truncated_bptt",
        tbptt.truncated_bptt,
        ("dxs", "dstate0", "grads"),
        _truncated_bptt,
        variants=({"k": 1}, {"k": 2}, {"k": "T"}, {"k": 2, "dstate_last": True}),
        builds_on={"rnn_backward": "rnn.rnn_backward"},
        allowed=("rnn.rnn_step_forward", "rnn.rnn_forward", "gradcheck.*", "cells.get_cell", "cells.sequence_forward"),
        isolations=(("only the outputs' gradients (no dstate_last)", ("dstate_last",)),),
        timed=({"T": 20, "N": 16, "D": 64, "H": 256}, 3),
    )
)


# --- 03 vanishing and exploding gradients ------------------------------------------------------------------


def _grads_dict(rng, d, dtype):
    D, H = d["D"], d["H"]
    return {
        "W_x": normal(rng, (H, D), dtype, 3.0),
        "W_h": normal(rng, (H, H), dtype, 3.0),
        "b": normal(rng, (H,), dtype),
    }


def _total_norm(grads):
    return float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values())))


def _clip_grad_norm(rng, d, dtype, v):
    grads = _grads_dict(rng, d, dtype)
    return (grads, round(v["max_norm"] * _total_norm(grads), 3)), {}


def _clip_grad_value(rng, d, dtype, v):
    return (_grads_dict(rng, d, dtype), v["clip_value"]), {}


SPECS.append(
    Spec(
        "rnn.jacobian_norms",
        rnn.jacobian_norms,
        ("norms",),
        _rnn_seq,
        allowed=("rnn.rnn_step_forward", "rnn.rnn_forward"),
        isolations=(("no bias and no input (xs = 0, b = 0): tanh' depends on h only", ("xs", "params['b']")),),
    )
)
SPECS.append(
    Spec(
        "clip.clip_grad_norm",
        clip.clip_grad_norm,
        ("clipped", "total_norm"),
        _clip_grad_norm,
        variants=({"max_norm": 0.5}, {"max_norm": 2.0}),
        rtol=1e-5,
        uses="DH",
    )
)
SPECS.append(
    Spec(
        "clip.clip_grad_value",
        clip.clip_grad_value,
        ("clipped",),
        _clip_grad_value,
        variants=({"clip_value": 0.5}, {"clip_value": 2.0}),
        uses="DH",
    )
)
