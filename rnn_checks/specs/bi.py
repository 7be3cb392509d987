"""The graded functions of chapters 7, 9 and 10: masks, bidirectional layers, the tagger, the BiGRU.

See :mod:`rnn_checks.specs.common`.
"""

import numpy as np

from rnn_ref import bidirectional, gru, losses, masks, models

from .common import BPTT_ISOLATIONS, MADE_UP_CACHE, Spec, gate_values, mask_of, normal, params_of, state
from .gated import RESET_AFTER, gru_step_case

SPECS = []  # the graded functions of chapters 7, 9 and 10, in the order of the exercises

# --- 07 bidirectional --------------------------------------------------------------------------------------


def _bidirectional(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    cell, reset_after = v["cell"], v.get("reset_after", False)
    xs = normal(rng, (T, N, D), dtype)
    params_fwd = params_of(cell, rng, D, H, dtype, reset_after)
    params_bwd = params_of(cell, rng, D, H, dtype, reset_after)
    mask = mask_of(rng, T, N) if v["mask"] else None
    kwargs = {"reset_after": True} if reset_after else {}
    if v.get("states"):  # initial states of both directions: h, or (h, c) for the LSTMs
        kwargs["state0_fwd"] = _direction_state(rng, cell, N, H, dtype)
        kwargs["state0_bwd"] = _direction_state(rng, cell, N, H, dtype)
    return (cell, xs, params_fwd, params_bwd, mask, v["merge"]), kwargs


def _direction_state(rng, cell, N, H, dtype, gradient=False):
    """A state of one direction (or its gradient): ``h`` for rnn and gru, ``(h, c)`` for lstm and peephole."""
    h = normal(rng, (N, H), dtype) if gradient else state(rng, (N, H), dtype)
    return (h, normal(rng, (N, H), dtype)) if cell in ("lstm", "peephole") else h


def _reverse(rng, d, dtype, v):
    T, N, D = d["T"], d["N"], d["D"]
    lengths = mask_of(rng, T, N).sum(axis=0) if v["padded"] else np.full(N, T)
    return (normal(rng, (T, N, D), dtype), lengths), {}


SPECS.append(
    Spec(
        "masks.reverse_sequences",
        masks.reverse_sequences,
        ("reversed",),
        _reverse,
        variants=({"padded": True}, {"padded": False}),
        allowed=("masks.lengths_to_mask", "masks.mask_to_lengths"),
        uses="TND",
    )
)
BIDIRECTIONAL_VARIANTS = (
    {"cell": "rnn", "merge": "concat", "mask": False},
    {"cell": "rnn", "merge": "concat", "mask": True, "states": True},
    {"cell": "lstm", "merge": "sum", "mask": True, "states": True},
    {"cell": "gru", "merge": "mean", "mask": True},
    {"cell": "gru", "merge": "concat", "mask": True, "reset_after": True, "states": True},
    {"cell": "peephole", "merge": "sum", "mask": False, "states": True},
)
_SEQUENCE_FORWARDS = ("rnn.rnn_forward", "lstm.lstm_forward", "gru.gru_forward", "peephole.peephole_forward")
SPECS.append(
    Spec(
        "bidirectional.bidirectional_forward",
        bidirectional.bidirectional_forward,
        ("ys", "last_fwd", "last_bwd", None),
        _bidirectional,
        variants=BIDIRECTIONAL_VARIANTS,
        builds_on={"reverse_sequences": "masks.reverse_sequences"},
        allowed=_SEQUENCE_FORWARDS
        + ("cells.get_cell", "cells.sequence_forward", "masks.lengths_to_mask", "masks.mask_to_lengths"),
        isolations=(
            ("no mask (every step valid)", ("mask",)),
            ("zero initial states (state0_fwd = state0_bwd = None)", ("state0_fwd", "state0_bwd")),
        ),
    )
)


# --- 09 BiLSTM tagger ----------------------------------------------------------------------------------------


def _cross_entropy(rng, d, dtype, v):
    T, N, K = d["T"], d["N"], d["V"]
    logits = normal(rng, (T, N, K), dtype, 2.0)
    targets = rng.integers(0, K, size=(T, N))
    if v["mask"]:
        mask = mask_of(rng, T, N)
        return (logits, np.where(mask, targets, -100), mask), {}
    return (logits, targets), {}


def _bi_tagger_params(rng, d, dtype, merge):
    D, H, K = d["D"], d["H"], d["V"]
    params = {}
    for direction in ("fwd", "bwd"):
        params.update({f"{direction}.{k}": a for k, a in params_of("lstm", rng, D, H, dtype).items()})
    H_out = 2 * H if merge == "concat" else H
    params["W_y"] = normal(rng, (K, H_out), dtype, 1 / np.sqrt(H_out))
    params["b_y"] = normal(rng, (K,), dtype, 0.5)
    return params


def _bi_tagger(rng, d, dtype, v):
    T, N, D = d["T"], d["N"], d["D"]
    params = _bi_tagger_params(rng, d, dtype, v["merge"])
    xs = normal(rng, (T, N, D), dtype)
    mask = mask_of(rng, T, N) if v["mask"] else None
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
SPECS.append(
    Spec(
        "losses.softmax_cross_entropy",
        losses.softmax_cross_entropy,
        ("loss", "dlogits"),
        _cross_entropy,
        variants=({"mask": False}, {"mask": True}),
        uses="TNV",
        large=("logits",),
        timed=({"T": 32, "N": 32, "V": 256}, 1),
    )
)
SPECS.append(
    Spec(
        "models.bi_tagger_logits",
        models.bi_tagger_logits,
        ("logits",),
        _bi_tagger,
        variants=TAGGER_VARIANTS,
        allowed=_BIDIRECTIONAL,
        isolations=(("no mask (every step valid)", ("mask",)), ("no read-out bias (b_y = 0)", ("params['b_y']",))),
        uses="TNDHV",
    )
)
SPECS.append(
    Spec(
        "models.bi_tagger_loss",
        models.bi_tagger_loss,
        ("loss", "grads"),
        _bi_tagger_loss,
        variants=TAGGER_VARIANTS + ({"merge": "concat", "mask": True, "loss_mask": True},),
        builds_on={
            "softmax_cross_entropy": "losses.softmax_cross_entropy",
            "bi_tagger_logits": "models.bi_tagger_logits",
        },
        allowed=_BIDIRECTIONAL,
        isolations=(("no mask (every step valid)", ("mask",)),),
        uses="TNDHV",
        timed=({"T": 20, "N": 16, "D": 32, "H": 64, "V": 16}, 4),
    )
)


# --- 10 BiGRU ------------------------------------------------------------------------------------------------


def _gru_seq(rng, d, dtype, v):
    T, N, D, H = d["T"], d["N"], d["D"], d["H"]
    xs, h0 = normal(rng, (T, N, D), dtype), state(rng, (N, H), dtype)
    params = params_of("gru", rng, D, H, dtype, v["reset_after"])
    mask = mask_of(rng, T, N) if v.get("mask") else None
    return (xs, h0, params, mask), {"reset_after": v["reset_after"]}


def _gru_step_backward(rng, d, dtype, v):
    (x, h_prev, params), kwargs = gru_step_case(rng, d, dtype, v)
    _, cache = gru.gru_step_forward(x, h_prev, params, **kwargs)
    dh = normal(rng, h_prev.shape, dtype)
    if v.get("cached gates") == MADE_UP_CACHE:  # gates not computed from this x (see MADE_UP_CACHE)
        r, z = gate_values(rng, h_prev.shape, dtype), gate_values(rng, h_prev.shape, dtype)
        n = state(rng, h_prev.shape, dtype)
        # u stays what it is for these gates: r * h_prev, or W_hn h_prev + b_hn (which no gate changes)
        u = cache.u if cache.reset_after else r * h_prev
        cache = cache._replace(gates=np.concatenate([r, z, n], axis=1), u=u)
    return (dh, cache), {}


def _gru_backward(rng, d, dtype, v):
    (xs, h0, params, mask), kwargs = _gru_seq(rng, d, dtype, v)
    hs, _, cache = gru.gru_forward(xs, h0, params, mask, **kwargs)
    args = (normal(rng, hs.shape, dtype), cache)
    return (args + (normal(rng, h0.shape, dtype),) if v.get("dh_last") else args), {}


def _bidirectional_backward(rng, d, dtype, v):
    (cell, xs, params_fwd, params_bwd, mask, merge), kwargs = _bidirectional(rng, d, dtype, {"cell": "gru", **v})
    ys, _, _, cache = bidirectional.bidirectional_forward(cell, xs, params_fwd, params_bwd, mask, merge, **kwargs)
    args = (normal(rng, ys.shape, dtype), cache)
    if v.get("dlast"):  # gradients of both directions' final states
        N, H = d["N"], d["H"]
        args += (_direction_state(rng, cell, N, H, dtype, True), _direction_state(rng, cell, N, H, dtype, True))
    return args, {}


_GRU_FORWARD = tuple(f"gru.{name}" for name in ("reset_gate", "update_gate", "candidate", "hidden_state"))
_GRU_FORWARD += ("gru.gru_step_forward", "gru.gru_forward")
SPECS.append(
    Spec(
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
)
SPECS.append(
    Spec(
        "gru.gru_step_backward",
        gru.gru_step_backward,
        ("dx", "dh_prev", "grads"),
        _gru_step_backward,
        variants=(*RESET_AFTER, *({**v, "cached gates": MADE_UP_CACHE} for v in RESET_AFTER)),
        allowed=_GRU_FORWARD + ("gradcheck.*",),
        uses="NDH",
        timed=({"N": 256, "D": 64, "H": 128}, 1),
    )
)
SPECS.append(
    Spec(
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
        timed=({"T": 20, "N": 8, "D": 64, "H": 128}, 2),
    )
)
SPECS.append(
    Spec(
        "bidirectional.bidirectional_backward",
        bidirectional.bidirectional_backward,
        ("dxs", "dstate0_fwd", "dstate0_bwd", "grads_fwd", "grads_bwd"),
        _bidirectional_backward,
        variants=(
            {"merge": "concat", "mask": False},
            {"merge": "concat", "mask": True, "states": True, "dlast": True},
            {"merge": "sum", "mask": True, "reset_after": True, "dlast": True},
            {"merge": "mean", "mask": True, "states": True},
        ),
        builds_on={"gru_backward": "gru.gru_backward", "gru_forward": "gru.gru_forward"},
        allowed=_GRU_FORWARD + ("bidirectional.bidirectional_forward", "cells.*", "masks.*"),
        isolations=(
            ("only the outputs' gradients (no dlast_fwd, dlast_bwd)", ("dlast_fwd", "dlast_bwd")),
            ("only the final states' gradients (dys = 0)", ("+dlast_fwd", "dys")),
        ),
        timed=({"T": 20, "N": 16, "D": 32, "H": 64}, 2),
    )
)
