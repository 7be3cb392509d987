"""The graded functions of the exercises: how to make their inputs, what they return.

One :class:`Spec` per function a student writes, keyed by the name of its
reference in :mod:`rnn_ref` (``"lstm.input_gate"``).  A spec says

* how to draw random inputs for given sizes (``make``), caches included: a
  backward pass always receives a cache made by the *reference* forward, so
  that its pre-activations and activations agree;
* the names of the returned values (``None`` for a cache, never compared);
* the functions of the student's notebook it builds on (``builds_on``): while
  it is graded they are the reference's, so that one mistake costs points once;
* which other :mod:`rnn_ref` functions the student may call (``allowed``);
* how to isolate one term at a time (``isolations``: the arguments to zero).

Used by :mod:`rnn_ref.testing` only.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import _extras, bidirectional, clip, gru, losses, lstm, masks, models, peephole, rnn, tbptt
from .activations import sigmoid
from .masks import lengths_to_mask

ALWAYS_ALLOWED = ("activations.*", "_checks.*")


class Spec(NamedTuple):
    """How to grade one function; see the module docstring."""

    key: str
    reference: Callable
    outputs: tuple
    make: Callable  # make(rng, dims, dtype, variant) -> (args, kwargs)
    variants: tuple = ({},)
    builds_on: dict = {}
    allowed: tuple = ()
    isolations: tuple = ()  # (label, targets to zero): "x", "params['b']", "dhs[:-1]"
    rtol: float = 1e-6  # float64; float32 uses FLOAT32_RTOL
    uses: str = "TNDH"  # the dimension letters that matter (for the case labels)


FLOAT32_RTOL, FLOAT32_ATOL, FLOAT64_ATOL = 2e-4, 2e-5, 1e-9
SPECS = {}


def _spec(key, reference, outputs, make, **options):
    SPECS[key] = Spec(key, reference, outputs, make, **options)


# --- random inputs -----------------------------------------------------------------------------------


def _normal(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def _state(rng, shape, dtype):
    """A hidden state: values in (-1, 1), as tanh makes them."""
    return np.tanh(rng.standard_normal(shape)).astype(dtype)


def _gate_values(rng, shape, dtype):
    """Gate activations: values in (0, 1)."""
    return sigmoid(rng.standard_normal(shape)).astype(dtype)


def _cell_params(rng, G, D, H, dtype, extra=()):
    """Stacked weights scaled so that pre-activations are of order 1, and a nonzero bias."""
    params = {
        "W_x": _normal(rng, (G * H, D), dtype, 1 / np.sqrt(D)),
        "W_h": _normal(rng, (G * H, H), dtype, 1 / np.sqrt(H)),
        "b": _normal(rng, (G * H,), dtype, 0.5),
    }
    for key in extra:
        params[key] = _normal(rng, (H,), dtype, 0.5)
    return params


def _params_of(cell, rng, D, H, dtype, reset_after=False):
    if cell == "rnn":
        return _cell_params(rng, 1, D, H, dtype)
    if cell == "gru":
        return _cell_params(rng, 3, D, H, dtype, ("b_hn",) if reset_after else ())
    return _cell_params(rng, 4, D, H, dtype, ("p_i", "p_f", "p_o") if cell == "peephole" else ())


def _mask(rng, T, N):
    """Left-aligned valid steps: the first sequence is full, the others of random length in [1, T]."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    if N > 1 and T > 1:
        lengths[1] = rng.integers(1, T)  # at least one sequence with padding
    return lengths_to_mask(lengths, T)


def _gate_args(rng, d, dtype):
    """``x, h_prev, W_x?, W_h?, b_?`` of one gate (H rows)."""
    N, D, H = d["N"], d["D"], d["H"]
    p = _cell_params(rng, 1, D, H, dtype)
    return (_normal(rng, (N, D), dtype), _state(rng, (N, H), dtype), p["W_x"], p["W_h"], p["b"])


# --- isolating one term at a time ----------------------------------------------------------------------


def _gate_isolations(b):
    return (
        ("only the bias (x = 0, h_prev = 0)", ("x", "h_prev")),
        (f"only the input term (h_prev = 0, {b} = 0)", ("h_prev", b)),
        (f"only the recurrent term (x = 0, {b} = 0)", ("x", b)),
    )


STEP_ISOLATIONS = (
    ("only the bias (x = 0, h_prev = 0)", ("x", "h_prev")),
    ("only the input term (h_prev = 0, b = 0)", ("h_prev", "params['b']")),
    ("only the recurrent term (x = 0, b = 0)", ("x", "params['b']")),
)
SEQUENCE_ISOLATIONS = (
    ("only the inputs (h0 = 0, b = 0)", ("h0", "params['b']")),
    ("only the initial state (xs = 0, b = 0)", ("xs", "params['b']")),
    ("only the bias (xs = 0, h0 = 0)", ("xs", "h0")),
)
BPTT_ISOLATIONS = (
    ("only the gradient of the last output (dhs[:-1] = 0, no dh_last)", ("dhs[:-1]", "dh_last")),
    ("only dh_last (dhs = 0)", ("+dh_last", "dhs")),
    ("only the outputs' gradients (no dh_last)", ("dh_last",)),
)


# --- 01 the RNN cell -------------------------------------------------------------------------------------


def _rnn_step(rng, d, dtype, v):
    N, D, H = d["N"], d["D"], d["H"]
    return (_normal(rng, (N, D), dtype), _state(rng, (N, H), dtype), _cell_params(rng, 1, D, H, dtype)), {}


def _rnn_seq(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    xs, h0 = _normal(rng, (T, N, D), dtype), _state(rng, (N, H), dtype)
    return (xs, h0, _cell_params(rng, 1, D, H, dtype)), {}


def _output_layer(rng, d, dtype, v):
    T, N, H, V = d["T"], d["N"], d["H"], d["V"]
    hs = _state(rng, (T, N, H), dtype)
    return (hs, _normal(rng, (V, H), dtype, 2 / np.sqrt(H)), _normal(rng, (V,), dtype, 0.5)), {}


_spec("rnn.rnn_step_forward", rnn.rnn_step_forward, ("h", None), _rnn_step, isolations=STEP_ISOLATIONS, uses="NDH")
_spec(
    "rnn.rnn_forward",
    rnn.rnn_forward,
    ("hs", "h_last", None),
    _rnn_seq,
    builds_on={"rnn_step_forward": "rnn.rnn_step_forward"},
    isolations=SEQUENCE_ISOLATIONS,
)
_spec(
    "extras.output_layer",
    _extras.output_layer,
    ("p",),
    _output_layer,
    isolations=(("only the bias (hs = 0)", ("hs",)), ("no bias (b_y = 0)", ("b_y",))),
    uses="TNHV",
)


# --- 02 BPTT ---------------------------------------------------------------------------------------------


def _rnn_step_backward(rng, d, dtype, v):
    (x, h_prev, params), _ = _rnn_step(rng, d, dtype, v)
    _, cache = rnn.rnn_step_forward(x, h_prev, params)
    return (_normal(rng, h_prev.shape, dtype), cache), {}


def _rnn_backward(rng, d, dtype, v):
    (xs, h0, params), _ = _rnn_seq(rng, d, dtype, v)
    hs, _, cache = rnn.rnn_forward(xs, h0, params)
    args = (_normal(rng, hs.shape, dtype), cache)
    return (args + (_normal(rng, h0.shape, dtype),) if v.get("dh_last") else args), {}


def _truncated_bptt(rng, d, dtype, v):
    (xs, h0, params), _ = _rnn_seq(rng, d, dtype, v)
    k = d["T"] if v["k"] == "T" else v["k"]
    dhs = _normal(rng, xs.shape[:2] + h0.shape[-1:], dtype)
    kwargs = {"dstate_last": (_normal(rng, h0.shape, dtype),)} if v.get("dstate_last") else {}
    return ("rnn", xs, (h0,), params, dhs, k), kwargs


_spec(
    "rnn.rnn_step_backward",
    rnn.rnn_step_backward,
    ("dx", "dh_prev", "grads"),
    _rnn_step_backward,
    allowed=("rnn.rnn_step_forward", "gradcheck.*"),
    uses="NDH",
)
_spec(
    "rnn.rnn_backward",
    rnn.rnn_backward,
    ("dxs", "dh0", "grads"),
    _rnn_backward,
    variants=({"dh_last": False}, {"dh_last": True}),
    builds_on={"rnn_step_backward": "rnn.rnn_step_backward"},
    allowed=("rnn.rnn_step_forward", "rnn.rnn_forward", "gradcheck.*"),
    isolations=BPTT_ISOLATIONS,
)
_spec(
    "tbptt.truncated_bptt",
    tbptt.truncated_bptt,
    ("dxs", "dstate0", "grads"),
    _truncated_bptt,
    variants=({"k": 1}, {"k": 2}, {"k": "T"}, {"k": 2, "dstate_last": True}),
    builds_on={"rnn_backward": "rnn.rnn_backward"},
    allowed=("rnn.rnn_step_forward", "rnn.rnn_forward", "gradcheck.*", "cells.get_cell", "cells.sequence_forward"),
    isolations=(("only the outputs' gradients (no dstate_last)", ("dstate_last",)),),
)


# --- 03 vanishing and exploding gradients ------------------------------------------------------------------


def _grads_dict(rng, d, dtype):
    D, H = d["D"], d["H"]
    return {
        "W_x": _normal(rng, (H, D), dtype, 3.0),
        "W_h": _normal(rng, (H, H), dtype, 3.0),
        "b": _normal(rng, (H,), dtype),
    }


def _total_norm(grads):
    return float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values())))


def _clip_grad_norm(rng, d, dtype, v):
    grads = _grads_dict(rng, d, dtype)
    return (grads, round(v["max_norm"] * _total_norm(grads), 3)), {}


def _clip_grad_value(rng, d, dtype, v):
    return (_grads_dict(rng, d, dtype), v["clip_value"]), {}


_spec(
    "extras.jacobian_norms",
    _extras.jacobian_norms,
    ("norms",),
    _rnn_seq,
    allowed=("rnn.rnn_step_forward", "rnn.rnn_forward"),
    isolations=(("no bias and no input (xs = 0, b = 0): tanh' depends on h only", ("xs", "params['b']")),),
)
_spec(
    "clip.clip_grad_norm",
    clip.clip_grad_norm,
    ("clipped", "total_norm"),
    _clip_grad_norm,
    variants=({"max_norm": 0.5}, {"max_norm": 2.0}),
    rtol=1e-5,
    uses="DH",
)
_spec(
    "clip.clip_grad_value",
    clip.clip_grad_value,
    ("clipped",),
    _clip_grad_value,
    variants=({"clip_value": 0.5}, {"clip_value": 2.0}),
    uses="DH",
)


# --- 04 LSTM ---------------------------------------------------------------------------------------------


def _gate(rng, d, dtype, v):
    return _gate_args(rng, d, dtype), {}


def _lstm_cell_state(rng, d, dtype, v):
    shape = (d["N"], d["H"])
    f, i = _gate_values(rng, shape, dtype), _gate_values(rng, shape, dtype)
    return (f, _normal(rng, shape, dtype), i, _state(rng, shape, dtype)), {}


def _lstm_hidden_state(rng, d, dtype, v):
    shape = (d["N"], d["H"])
    return (_gate_values(rng, shape, dtype), _normal(rng, shape, dtype, 1.5)), {}


def _lstm_step(rng, d, dtype, v):
    N, D, H = d["N"], d["D"], d["H"]
    x, h_prev, c_prev = _normal(rng, (N, D), dtype), _state(rng, (N, H), dtype), _normal(rng, (N, H), dtype)
    return (x, h_prev, c_prev, _cell_params(rng, 4, D, H, dtype)), {}


def _lstm_seq(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    xs, h0, c0 = _normal(rng, (T, N, D), dtype), _state(rng, (N, H), dtype), _normal(rng, (N, H), dtype)
    return (xs, h0, c0, _cell_params(rng, 4, D, H, dtype)), {}


for _name, _b in (("input_gate", "b_i"), ("forget_gate", "b_f"), ("candidate", "b_g"), ("output_gate", "b_o")):
    _spec(
        f"lstm.{_name}",
        getattr(lstm, _name),
        (_b[-1],),
        _gate,
        isolations=_gate_isolations(_b),
        uses="NDH",
    )
_spec("lstm.cell_state", lstm.cell_state, ("c",), _lstm_cell_state, uses="NH")
_spec("lstm.hidden_state", lstm.hidden_state, ("h",), _lstm_hidden_state, uses="NH")
_LSTM_PIECES = {
    name: f"lstm.{name}"
    for name in ("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state")
}
_spec(
    "lstm.lstm_step_forward",
    lstm.lstm_step_forward,
    ("h", "c", None),
    _lstm_step,
    builds_on=_LSTM_PIECES,
    isolations=STEP_ISOLATIONS + (("no old cell state (c_prev = 0)", ("c_prev",)),),
    uses="NDH",
)
_spec(
    "lstm.lstm_forward",
    lstm.lstm_forward,
    ("hs", "h_last", "c_last", None),
    _lstm_seq,
    builds_on={"lstm_step_forward": "lstm.lstm_step_forward"},
    isolations=(("only the inputs (h0 = 0, c0 = 0)", ("h0", "c0")), ("no initial cell state (c0 = 0)", ("c0",))),
)


# --- 05 GRU ----------------------------------------------------------------------------------------------


def _gru_candidate(rng, d, dtype, v):
    x, h_prev, W_xn, W_hn, b_n = _gate_args(rng, d, dtype)
    r = _gate_values(rng, h_prev.shape, dtype)
    if v["reset_after"]:
        return (x, h_prev, r, W_xn, W_hn, b_n, _normal(rng, b_n.shape, dtype, 0.5)), {"reset_after": True}
    return (x, h_prev, r, W_xn, W_hn, b_n), {"reset_after": False}


def _gru_hidden_state(rng, d, dtype, v):
    shape = (d["N"], d["H"])
    return (_gate_values(rng, shape, dtype), _state(rng, shape, dtype), _state(rng, shape, dtype)), {}


def _gru_step(rng, d, dtype, v):
    N, D, H = d["N"], d["D"], d["H"]
    params = _params_of("gru", rng, D, H, dtype, v["reset_after"])
    return (_normal(rng, (N, D), dtype), _state(rng, (N, H), dtype), params), {"reset_after": v["reset_after"]}


RESET_AFTER = ({"reset_after": False}, {"reset_after": True})
_spec("gru.reset_gate", gru.reset_gate, ("r",), _gate, isolations=_gate_isolations("b_r"), uses="NDH")
_spec("gru.update_gate", gru.update_gate, ("z",), _gate, isolations=_gate_isolations("b_z"), uses="NDH")
_spec(
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
)
_spec("gru.hidden_state", gru.hidden_state, ("h",), _gru_hidden_state, uses="NH")
_spec(
    "gru.gru_step_forward",
    gru.gru_step_forward,
    ("h", None),
    _gru_step,
    variants=RESET_AFTER,
    builds_on={name: f"gru.{name}" for name in ("reset_gate", "update_gate", "candidate", "hidden_state")},
    isolations=STEP_ISOLATIONS,
    uses="NDH",
)


# --- 06 peephole LSTM ------------------------------------------------------------------------------------


def _peephole_gate(rng, d, dtype, v):
    x, h_prev, W_x, W_h, b = _gate_args(rng, d, dtype)
    c = _normal(rng, h_prev.shape, dtype)
    return (x, h_prev, c, W_x, W_h, b, _normal(rng, b.shape, dtype)), {}


def _peephole_step(rng, d, dtype, v):
    (x, h_prev, c_prev, _), _ = _lstm_step(rng, d, dtype, v)
    return (x, h_prev, c_prev, _params_of("peephole", rng, d["D"], d["H"], dtype)), {}


for _name, _g, _c in (("input_gate", "i", "c_prev"), ("forget_gate", "f", "c_prev"), ("output_gate", "o", "c")):
    _spec(
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
    )
_spec(
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
)


# --- 07 bidirectional --------------------------------------------------------------------------------------


def _bidirectional(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    cell, reset_after = v["cell"], v.get("reset_after", False)
    xs = _normal(rng, (T, N, D), dtype)
    params_fwd = _params_of(cell, rng, D, H, dtype, reset_after)
    params_bwd = _params_of(cell, rng, D, H, dtype, reset_after)
    mask = _mask(rng, T, N) if v["mask"] else None
    kwargs = {"reset_after": True} if reset_after else {}
    return (cell, xs, params_fwd, params_bwd, mask, v["merge"]), kwargs


def _reverse(rng, d, dtype, v):
    T, N, D = d["T"], d["N"], d["D"]
    lengths = _mask(rng, T, N).sum(axis=0) if v["padded"] else np.full(N, T)
    return (_normal(rng, (T, N, D), dtype), lengths), {}


_spec(
    "masks.reverse_sequences",
    masks.reverse_sequences,
    ("reversed",),
    _reverse,
    variants=({"padded": True}, {"padded": False}),
    allowed=("masks.lengths_to_mask", "masks.mask_to_lengths"),
    uses="TND",
)
BIDIRECTIONAL_VARIANTS = (
    {"cell": "rnn", "merge": "concat", "mask": False},
    {"cell": "rnn", "merge": "concat", "mask": True},
    {"cell": "lstm", "merge": "sum", "mask": True},
    {"cell": "gru", "merge": "mean", "mask": True},
    {"cell": "gru", "merge": "concat", "mask": True, "reset_after": True},
    {"cell": "peephole", "merge": "sum", "mask": False},
)
_SEQUENCE_FORWARDS = ("rnn.rnn_forward", "lstm.lstm_forward", "gru.gru_forward", "peephole.peephole_forward")
_spec(
    "bidirectional.bidirectional_forward",
    bidirectional.bidirectional_forward,
    ("ys", None),
    _bidirectional,
    variants=BIDIRECTIONAL_VARIANTS,
    builds_on={"reverse_sequences": "masks.reverse_sequences"},
    allowed=_SEQUENCE_FORWARDS
    + ("cells.get_cell", "cells.sequence_forward", "masks.lengths_to_mask", "masks.mask_to_lengths"),
    isolations=(("no mask (every step valid)", ("mask",)),),
)


# --- 08 the gates' gradients -------------------------------------------------------------------------------


def _lstm_step_backward(rng, d, dtype, v):
    (x, h_prev, c_prev, params), _ = _lstm_step(rng, d, dtype, v)
    _, _, cache = lstm.lstm_step_forward(x, h_prev, c_prev, params)
    return (_normal(rng, h_prev.shape, dtype), _normal(rng, h_prev.shape, dtype), cache), {}


def _lstm_backward(rng, d, dtype, v):
    (xs, h0, c0, params), _ = _lstm_seq(rng, d, dtype, v)
    hs, _, _, cache = lstm.lstm_forward(xs, h0, c0, params)
    args = (_normal(rng, hs.shape, dtype), cache)
    if v.get("last"):
        args += (_normal(rng, h0.shape, dtype), _normal(rng, h0.shape, dtype))
    return args, {}


_LSTM_FORWARD = tuple(_LSTM_PIECES.values()) + ("lstm.lstm_step_forward", "lstm.lstm_forward")
_spec(
    "lstm.lstm_step_backward",
    lstm.lstm_step_backward,
    ("dx", "dh_prev", "dc_prev", "grads"),
    _lstm_step_backward,
    allowed=_LSTM_FORWARD + ("gradcheck.*",),
    isolations=(("only dh (dc = 0)", ("dc",)), ("only dc (dh = 0)", ("dh",))),
    uses="NDH",
)
_spec(
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
)


# --- 09 BiLSTM tagger ----------------------------------------------------------------------------------------


def _cross_entropy(rng, d, dtype, v):
    T, N, K = d["T"], d["N"], d["V"]
    logits = _normal(rng, (T, N, K), dtype, 2.0)
    targets = rng.integers(0, K, size=(T, N))
    if v["mask"]:
        mask = _mask(rng, T, N)
        return (logits, np.where(mask, targets, -100), mask), {}
    return (logits, targets), {}


def _bi_tagger_params(rng, d, dtype, merge):
    D, H, K = d["D"], d["H"], d["V"]
    params = {}
    for direction in ("fwd", "bwd"):
        params.update({f"{direction}.{k}": a for k, a in _params_of("lstm", rng, D, H, dtype).items()})
    H_out = 2 * H if merge == "concat" else H
    params["W_y"] = _normal(rng, (K, H_out), dtype, 1 / np.sqrt(H_out))
    params["b_y"] = _normal(rng, (K,), dtype, 0.5)
    return params


def _bi_tagger(rng, d, dtype, v):
    T, N, D = d["T"], d["N"], d["D"]
    params = _bi_tagger_params(rng, d, dtype, v["merge"])
    xs = _normal(rng, (T, N, D), dtype)
    mask = _mask(rng, T, N) if v["mask"] else None
    return (params, xs, mask), {"cell": "lstm", "merge": v["merge"]}


def _bi_tagger_loss(rng, d, dtype, v):
    (params, xs, mask), kwargs = _bi_tagger(rng, d, dtype, v)
    tags = rng.integers(0, d["V"], size=xs.shape[:2])
    if v.get("loss_mask"):
        kwargs["loss_mask"] = rng.random(tags.shape) < 0.7
        kwargs["loss_mask"][0, 0] = True  # at least one scored step
    return (params, xs, tags, mask), kwargs


TAGGER_VARIANTS = (
    {"merge": "concat", "mask": False},
    {"merge": "concat", "mask": True},
    {"merge": "sum", "mask": True},
    {"merge": "mean", "mask": True},
)
_BIDIRECTIONAL = (
    "bidirectional.bidirectional_forward",
    "bidirectional.bidirectional_backward",
    "cells.*",
    "masks.*",
    "lstm.lstm_forward",
    "lstm.lstm_backward",
)
_spec(
    "losses.softmax_cross_entropy",
    losses.softmax_cross_entropy,
    ("loss", "dlogits"),
    _cross_entropy,
    variants=({"mask": False}, {"mask": True}),
    uses="TNV",
)
_spec(
    "models.bi_tagger_logits",
    models.bi_tagger_logits,
    ("logits",),
    _bi_tagger,
    variants=TAGGER_VARIANTS,
    allowed=_BIDIRECTIONAL,
    isolations=(("no mask (every step valid)", ("mask",)), ("no read-out bias (b_y = 0)", ("params['b_y']",))),
    uses="TNDHV",
)
_spec(
    "models.bi_tagger_loss",
    models.bi_tagger_loss,
    ("loss", "grads"),
    _bi_tagger_loss,
    variants=TAGGER_VARIANTS + ({"merge": "concat", "mask": True, "loss_mask": True},),
    builds_on={"softmax_cross_entropy": "losses.softmax_cross_entropy", "bi_tagger_logits": "models.bi_tagger_logits"},
    allowed=_BIDIRECTIONAL,
    isolations=(("no mask (every step valid)", ("mask",)),),
    uses="TNDHV",
)


# --- 10 BiGRU ------------------------------------------------------------------------------------------------


def _gru_seq(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    xs, h0 = _normal(rng, (T, N, D), dtype), _state(rng, (N, H), dtype)
    params = _params_of("gru", rng, D, H, dtype, v["reset_after"])
    mask = _mask(rng, T, N) if v.get("mask") else None
    return (xs, h0, params, mask), {"reset_after": v["reset_after"]}


def _gru_step_backward(rng, d, dtype, v):
    (x, h_prev, params), kwargs = _gru_step(rng, d, dtype, v)
    _, cache = gru.gru_step_forward(x, h_prev, params, **kwargs)
    return (_normal(rng, h_prev.shape, dtype), cache), {}


def _gru_backward(rng, d, dtype, v):
    (xs, h0, params, mask), kwargs = _gru_seq(rng, d, dtype, v)
    hs, _, cache = gru.gru_forward(xs, h0, params, mask, **kwargs)
    args = (_normal(rng, hs.shape, dtype), cache)
    return (args + (_normal(rng, h0.shape, dtype),) if v.get("dh_last") else args), {}


def _bidirectional_backward(rng, d, dtype, v):
    (cell, xs, params_fwd, params_bwd, mask, merge), kwargs = _bidirectional(rng, d, dtype, {"cell": "gru", **v})
    ys, cache = bidirectional.bidirectional_forward(cell, xs, params_fwd, params_bwd, mask, merge, **kwargs)
    return (_normal(rng, ys.shape, dtype), cache), {}


_GRU_FORWARD = tuple(f"gru.{name}" for name in ("reset_gate", "update_gate", "candidate", "hidden_state"))
_GRU_FORWARD += ("gru.gru_step_forward", "gru.gru_forward")
_spec(
    "gru.gru_forward",
    gru.gru_forward,
    ("hs", "h_last", None),
    _gru_seq,
    variants=(
        {"reset_after": False, "mask": False},
        {"reset_after": False, "mask": True},
        {"reset_after": True, "mask": True},
    ),
    allowed=_GRU_FORWARD[:-1],
    isolations=(("no mask (every step valid)", ("mask",)), ("only the inputs (h0 = 0)", ("h0",))),
)
_spec(
    "gru.gru_step_backward",
    gru.gru_step_backward,
    ("dx", "dh_prev", "grads"),
    _gru_step_backward,
    variants=RESET_AFTER,
    allowed=_GRU_FORWARD + ("gradcheck.*",),
    uses="NDH",
)
_spec(
    "gru.gru_backward",
    gru.gru_backward,
    ("dxs", "dh0", "grads"),
    _gru_backward,
    variants=(
        {"reset_after": False, "mask": False, "dh_last": True},
        {"reset_after": False, "mask": True, "dh_last": False},
        {"reset_after": True, "mask": True, "dh_last": True},
    ),
    builds_on={"gru_step_backward": "gru.gru_step_backward"},
    allowed=_GRU_FORWARD + ("gradcheck.*",),
    isolations=BPTT_ISOLATIONS,
)
_spec(
    "bidirectional.bidirectional_backward",
    bidirectional.bidirectional_backward,
    ("dxs", "grads_fwd", "grads_bwd"),
    _bidirectional_backward,
    variants=(
        {"merge": "concat", "mask": False},
        {"merge": "concat", "mask": True},
        {"merge": "sum", "mask": True, "reset_after": True},
        {"merge": "mean", "mask": True},
    ),
    builds_on={"gru_backward": "gru.gru_backward", "gru_forward": "gru.gru_forward"},
    allowed=_GRU_FORWARD + ("bidirectional.bidirectional_forward", "cells.*", "masks.*"),
)
