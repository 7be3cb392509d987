"""Typical mistakes of chapters 4-10: LSTM, GRU, peephole LSTM, bidirectional layers.

Each mistaken function has the signature and outputs of its reference, with
one mistake put in through a keyword.  See :mod:`rnn_checks.mistakes`.
"""

from functools import partial
from itertools import permutations

import numpy as np

from rnn_ref import lstm
from rnn_ref.activations import sigmoid

from .common import RECOMPUTED, Mistake

# --- 04 LSTM, one equation at a time ---------------------------------------------------------------------


def gate(x, h_prev, W_x, W_h, b, *, act, bias=1, W_x_T=True, W_h_T=True, inputs=True, recurrent=True):
    a = (
        bias * b
        + (x @ (W_x.T if W_x_T else W_x) if inputs else 0)
        + (h_prev @ (W_h.T if W_h_T else W_h) if recurrent else 0)
    )
    return act(a)


def _gate_mistakes(act, name, equation, b):
    other, other_name = (np.tanh, "tanh") if act is sigmoid else (sigmoid, "sigmoid")
    return (
        Mistake(
            f"{other_name} where {name} uses {'sigmoid' if act is sigmoid else 'tanh'} ({equation})",
            partial(gate, act=other),
        ),
        Mistake(f"the bias {b} is missing", partial(gate, act=act, bias=0)),
        Mistake(f"the bias {b} is added twice", partial(gate, act=act, bias=2)),
        Mistake(
            "the recurrent weights are transposed: W_h h_prev is h_prev @ W_h.T in code (math layout)",
            partial(gate, act=act, W_h_T=False),
        ),
        Mistake("the input weights are transposed: W_x x is x @ W_x.T in code", partial(gate, act=act, W_x_T=False)),
        Mistake("the recurrent term (W_h h_prev) is missing", partial(gate, act=act, recurrent=False)),
        Mistake("the input term (W_x x) is missing", partial(gate, act=act, inputs=False)),
        Mistake(
            f"no {'sigmoid' if act is sigmoid else 'tanh'}: the output is the pre-activation",
            partial(gate, act=lambda a: a),
        ),
    )


def cell_state(f, c_prev, i, g, *, form):
    return {
        "no_i": f * c_prev + g,
        "no_f": c_prev + i * g,
        "swap": i * c_prev + f * g,
        "tanh_g": f * c_prev + i * np.tanh(g),
        "product": f * c_prev * i * g,
    }[form]


def hidden_state(o, c, *, form):
    return {"no_tanh": o * c, "outer": np.tanh(o * c), "sigmoid": o * sigmoid(c), "sum": o + np.tanh(c)}[form]


CELL_STATE = (
    Mistake("the input gate is missing: c = f * c_prev + i * g", partial(cell_state, form="no_i")),
    Mistake("the forget gate is missing: c = f * c_prev + i * g", partial(cell_state, form="no_f")),
    Mistake("i and f are swapped: f scales the old cell state, i the candidate", partial(cell_state, form="swap")),
    Mistake("tanh is applied to g again; g is already the candidate tanh(...)", partial(cell_state, form="tanh_g")),
    Mistake(
        "the two terms are multiplied; they are added: c = f * c_prev + i * g", partial(cell_state, form="product")
    ),
)
HIDDEN_STATE = (
    Mistake("tanh is missing: h = o * tanh(c)", partial(hidden_state, form="no_tanh")),
    Mistake("tanh is applied to o * c; it applies to c only: h = o * tanh(c)", partial(hidden_state, form="outer")),
    Mistake("sigmoid where tanh belongs: h = o * tanh(c)", partial(hidden_state, form="sigmoid")),
    Mistake("o is added; it multiplies: h = o * tanh(c)", partial(hidden_state, form="sum")),
)


# --- 04 LSTM step and sequence ------------------------------------------------------------------------


def _split(a, order, G=4):
    """The gate blocks of a stacked (N, G*H) array, read in ``order``."""
    return dict(zip(order, np.split(a, G, axis=-1), strict=True))


def lstm_step(
    x, h_prev, c_prev, params, *, order="ifgo", g_act=np.tanh, gate_act=sigmoid, bias=1, W_h_T=True, h_of="c"
):
    a = x @ params["W_x"].T + h_prev @ (params["W_h"].T if W_h_T else params["W_h"]) + bias * params["b"]
    blocks = _split(a, order)
    i, f, g, o = gate_act(blocks["i"]), gate_act(blocks["f"]), g_act(blocks["g"]), gate_act(blocks["o"])
    c = f * c_prev + i * g
    h = o * {"c": np.tanh(c), "c_prev": np.tanh(c_prev), "no_tanh": c}[h_of]
    return h, c, None


def _order_mistakes(fn, names, what):
    canonical = "".join(names)
    return tuple(
        Mistake(
            f"the gate blocks are {what} in the order ({', '.join(p)}); the rows of W_x, W_h and b are "
            f"({', '.join(names)}), PyTorch's order",
            partial(fn, order="".join(p)),
            f"gate-order-{''.join(p)}",
        )
        for p in permutations(canonical)
        if "".join(p) != canonical
    )


LSTM_STEP = (
    Mistake("sigmoid where the candidate g uses tanh", partial(lstm_step, g_act=sigmoid)),
    Mistake("tanh where the gates i, f, o use sigmoid", partial(lstm_step, gate_act=np.tanh)),
    Mistake("the bias b is missing", partial(lstm_step, bias=0)),
    Mistake("h uses the old cell state; h = o * tanh(c) with the new c", partial(lstm_step, h_of="c_prev")),
    Mistake("tanh is missing in h = o * tanh(c)", partial(lstm_step, h_of="no_tanh")),
) + _order_mistakes(lstm_step, "ifgo", "read")


def lstm_sequence(
    xs, h0, c0, params, mask=None, *, carry_h=True, carry_c=True, reverse=False, store="h", swap_last=False
):
    h, c, hs = h0, c0, []
    T = xs.shape[0]
    for t in reversed(range(T)) if reverse else range(T):
        h_new, c_new, _ = lstm.lstm_step_forward(xs[t], h if carry_h else h0, c if carry_c else c0, params)
        hs.append(c_new if store == "c" else h_new)
        h, c = h_new, c_new
    hs = np.stack(hs[::-1] if reverse else hs)
    return (hs, c, h, None) if swap_last else (hs, h, c, None)


LSTM_SEQUENCE = (
    Mistake("the hidden state is not carried: every step starts from h0", partial(lstm_sequence, carry_h=False)),
    Mistake("the cell state is not carried: every step starts from c0", partial(lstm_sequence, carry_c=False)),
    Mistake(
        "h and c are not carried: every step starts from h0 and c0",
        partial(lstm_sequence, carry_h=False, carry_c=False),
    ),
    Mistake(
        "the loop runs backward in time; the forward pass goes t = 0, 1, ..., T-1", partial(lstm_sequence, reverse=True)
    ),
    Mistake("hs stores the cell states; it holds the hidden states h_t", partial(lstm_sequence, store="c")),
    Mistake("h_last and c_last are swapped", partial(lstm_sequence, swap_last=True)),
)


# --- 08 LSTM backward ------------------------------------------------------------------------------------


def lstm_step_backward(
    dh,
    dc,
    cache,
    *,
    order="ifgo",
    dc_via_h=True,
    dc_prev_f=True,
    tanh_d="tanh_c",
    do_of="tanh_c",
    sig_d="ok",
    g_d="tanh",
    f_of="c_prev",
    dh_prev_T=False,
):
    x, h_prev, c_prev, gates, c, tanh_c, params = cache
    i, f, g, o = np.split(gates, 4, axis=1)
    d_tanh = 1 - (tanh_c**2 if tanh_d == "tanh_c" else c**2)
    dc_t = dc + (dh * o * d_tanh if dc_via_h else 0)

    def ds(s):
        return s * (1 - s) if sig_d == "ok" else 1 - s**2

    da = {
        "i": dc_t * g * ds(i),
        "f": dc_t * (c_prev if f_of == "c_prev" else c) * ds(f),
        "g": dc_t * i * ((1 - g**2) if g_d == "tanh" else g * (1 - g)),
        "o": dh * (tanh_c if do_of == "tanh_c" else c) * ds(o),
    }
    da = np.concatenate([da[k] for k in order], axis=1)  # (N, 4H), blocks placed in ``order``
    W_h = params["W_h"]
    grads = {"W_x": da.T @ x, "W_h": da.T @ h_prev, "b": da.sum(axis=0)}
    return da @ params["W_x"], da @ (W_h.T if dh_prev_T else W_h), (dc_t * f if dc_prev_f else dc_t), grads


def recomputed_lstm_step_backward(dh, dc, cache):
    """The right formulas, at gates computed again from x, h_prev, c_prev and the weights (not the cache's)."""
    _, _, again = lstm.lstm_step_forward(cache.x, cache.h_prev, cache.c_prev, cache.params)
    return lstm.lstm_step_backward(dh, dc, again)


LSTM_STEP_BACKWARD = (
    Mistake(
        RECOMPUTED.format(what="the gates and tanh(c)", marked="cached gates"),
        recomputed_lstm_step_backward,
        "recomputes-the-step",
    ),
    Mistake(
        "dc misses the path through h: the total gradient of c_t is dc + dh * o * (1 - tanh(c)**2)",
        partial(lstm_step_backward, dc_via_h=False),
    ),
    Mistake("dc_prev misses the forget gate: dc_prev = dc_total * f", partial(lstm_step_backward, dc_prev_f=False)),
    Mistake(
        "tanh'(c) is written 1 - c**2; it is 1 - tanh(c)**2 (cache.tanh_c)", partial(lstm_step_backward, tanh_d="c")
    ),
    Mistake(
        "the output gate's gradient uses c; h = o * tanh(c), so do = dh * tanh(c)",
        partial(lstm_step_backward, do_of="c"),
    ),
    Mistake("sigmoid'(a) is written 1 - s**2; it is s * (1 - s)", partial(lstm_step_backward, sig_d="tanh")),
    Mistake(
        "the candidate's derivative is written g * (1 - g); g = tanh(a_g), so it is 1 - g**2",
        partial(lstm_step_backward, g_d="sigmoid"),
    ),
    Mistake("the forget gate's gradient uses c; f multiplies c_prev", partial(lstm_step_backward, f_of="c")),
) + _order_mistakes(lstm_step_backward, "ifgo", "stacked into da")


def lstm_backward(
    dhs,
    cache,
    dh_last=None,
    dc_last=None,
    *,
    forward_loop=False,
    add_dhs=True,
    carry_h=True,
    carry_c=True,
    accumulate=True,
    use_last=True,
    swap=False,
):
    xs, h_all, c_all, gates, tanh_c, _, params = cache
    T = xs.shape[0]
    zeros = np.zeros_like(h_all[0])
    dh_next = dh_last if dh_last is not None and use_last else zeros
    dc_next = dc_last if dc_last is not None and use_last else zeros
    dxs, grads = np.zeros_like(xs), {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(T) if forward_loop else reversed(range(T)):
        step = lstm.LSTMStepCache(xs[t], h_all[t], c_all[t], gates[t], c_all[t + 1], tanh_c[t], params)
        dh = (dhs[t] if add_dhs else 0) + (dh_next if carry_h else 0)
        dxs[t], dh_next, dc_next, g = lstm.lstm_step_backward(dh, dc_next if carry_c else zeros, step)
        grads = {k: grads[k] + g[k] for k in grads} if accumulate else g
    return (dxs, dc_next, dh_next, grads) if swap else (dxs, dh_next, dc_next, grads)


LSTM_BACKWARD = (
    Mistake(
        "the loop runs forward in time; BPTT goes backward: for t in reversed(range(T))",
        partial(lstm_backward, forward_loop=True),
    ),
    Mistake("dhs[t] is not added to the gradient coming back from step t+1", partial(lstm_backward, add_dhs=False)),
    Mistake(
        "the gradient of h from later steps is dropped: step t receives dhs[t] + dh_prev of step t+1",
        partial(lstm_backward, carry_h=False),
    ),
    Mistake(
        "the cell-state gradient is not carried: each step must receive dc_prev of step t+1",
        partial(lstm_backward, carry_c=False),
    ),
    Mistake(
        "the weight gradients are overwritten at every step (`=` where `+=` accumulates): only step 0's is left",
        partial(lstm_backward, accumulate=False),
    ),
    Mistake("dh_last and dc_last are ignored: start the loop from them", partial(lstm_backward, use_last=False)),
    Mistake("dh0 and dc0 are returned in the wrong order", partial(lstm_backward, swap=True)),
)


# --- 05 GRU ---------------------------------------------------------------------------------------------


def gru_candidate(
    x,
    h_prev,
    r,
    W_xn,
    W_hn,
    b_n,
    b_hn=None,
    *,
    reset_after=False,
    side=None,
    b_hn_at="inside",
    act=np.tanh,
    reset=True,
    W_T=True,
    bias=1,
):
    if side == "swapped":  # the other variant's reset
        side = "before" if reset_after else "after"
    side = side or ("after" if reset_after else "before")
    W = W_hn.T if W_T else W_hn
    r = r if reset else 1
    inner = 0 if b_hn is None or b_hn_at == "none" else b_hn
    if side == "after":
        recurrent = r * (h_prev @ W + (inner if b_hn_at == "inside" else 0))
    else:
        recurrent = (r * h_prev) @ W + (r * inner if b_hn_at == "inside" else 0)
    outer = inner if b_hn_at == "outside" else 0
    return act(x @ W_xn.T + bias * b_n + recurrent + outer)


def gru_hidden_state(z, n, h_prev, *, form):
    return {"swap": (1 - z) * h_prev + z * n, "no_mix": z * h_prev + n, "no_old": (1 - z) * n, "sum": h_prev + n}[form]


GRU_CANDIDATE = (
    Mistake(
        "the reset gate is on the wrong side of the matmul: textbook (reset_after=False) W_hn (r * h_prev), "
        "PyTorch (reset_after=True) r * (W_hn h_prev + b_hn)",
        partial(gru_candidate, side="swapped"),
    ),
    Mistake(
        "b_hn is added outside the reset: it belongs inside, r * (W_hn h_prev + b_hn)",
        partial(gru_candidate, b_hn_at="outside"),
    ),
    Mistake(
        "b_hn is missing: with reset_after=True, n = tanh(W_xn x + b_n + r * (W_hn h_prev + b_hn))",
        partial(gru_candidate, b_hn_at="none"),
    ),
    Mistake("sigmoid where the candidate uses tanh", partial(gru_candidate, act=sigmoid)),
    Mistake("the reset gate r is not applied", partial(gru_candidate, reset=False)),
    Mistake("W_hn is transposed: W_hn h is h @ W_hn.T in code", partial(gru_candidate, W_T=False)),
    Mistake("the bias b_n is missing", partial(gru_candidate, bias=0)),
)
GRU_HIDDEN_STATE = (
    Mistake(
        "z and 1 - z are swapped: here (as in Cho et al. and PyTorch) h = z * h_prev + (1 - z) * n, "
        "so z close to 1 keeps the old state",
        partial(gru_hidden_state, form="swap"),
    ),
    Mistake(
        "the candidate is not weighted by 1 - z: h = z * h_prev + (1 - z) * n", partial(gru_hidden_state, form="no_mix")
    ),
    Mistake("the old state is missing: h = z * h_prev + (1 - z) * n", partial(gru_hidden_state, form="no_old")),
    Mistake(
        "h_prev and n are added without the gate: h = z * h_prev + (1 - z) * n", partial(gru_hidden_state, form="sum")
    ),
)


def gru_step(x, h_prev, params, *, reset_after=False, order="rzn", swap_z=False, side=None, act=np.tanh, bias=1):
    H = h_prev.shape[1]
    a_x = x @ params["W_x"].T + bias * params["b"]  # (N, 3H)
    blocks_x, W_h = _split(a_x, order, 3), dict(zip(order, np.split(params["W_h"], 3, axis=0), strict=True))
    r = sigmoid(blocks_x["r"] + h_prev @ W_h["r"].T)
    z = sigmoid(blocks_x["z"] + h_prev @ W_h["z"].T)
    if side == "swapped":  # the other variant's reset
        side = "before" if reset_after else "after"
    side = side or ("after" if reset_after else "before")
    b_hn = params.get("b_hn", np.zeros(H, dtype=x.dtype))
    if side == "after":
        n = act(blocks_x["n"] + r * (h_prev @ W_h["n"].T + b_hn))
    else:
        n = act(blocks_x["n"] + (r * h_prev) @ W_h["n"].T + r * b_hn)
    h = (1 - z) * h_prev + z * n if swap_z else z * h_prev + (1 - z) * n
    return h, None


GRU_STEP = (
    Mistake("z and 1 - z are swapped: h = z * h_prev + (1 - z) * n", partial(gru_step, swap_z=True)),
    Mistake(
        "the reset gate is on the wrong side of the candidate's matmul (see reset_after)",
        partial(gru_step, side="swapped"),
    ),
    Mistake("sigmoid where the candidate n uses tanh", partial(gru_step, act=sigmoid)),
    Mistake("the bias b is missing", partial(gru_step, bias=0)),
) + _order_mistakes(gru_step, "rzn", "read")


# --- 06 peephole LSTM ------------------------------------------------------------------------------------


def peephole_gate(x, h_prev, c, W_x, W_h, b, p, *, peep="inside", act=sigmoid, bias=1, W_h_T=True):
    peek = p * c
    a = x @ W_x.T + h_prev @ (W_h.T if W_h_T else W_h) + bias * b
    if peep == "none":
        return act(a)
    if peep == "outside":
        return act(a) + peek
    if peep == "h_prev":
        return act(a + p * h_prev)
    return act(a + peek)


PEEPHOLE_GATE = (
    Mistake("the peephole term p * c is missing", partial(peephole_gate, peep="none")),
    Mistake("the peephole term is added after the sigmoid; it belongs inside", partial(peephole_gate, peep="outside")),
    Mistake("the peephole looks at h_prev; it looks at the cell state", partial(peephole_gate, peep="h_prev")),
    Mistake("tanh where the gate uses sigmoid", partial(peephole_gate, act=np.tanh)),
    Mistake("the bias is missing", partial(peephole_gate, bias=0)),
    Mistake("the recurrent weights are transposed: h_prev @ W_h.T in code", partial(peephole_gate, W_h_T=False)),
)


def peephole_step(x, h_prev, c_prev, params, *, o_sees="c", peepholes=True, swap_if=False, g_act=np.tanh):
    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    p_i, p_f, p_o = (params[k] * peepholes for k in ("p_i", "p_f", "p_o"))
    if swap_if:
        p_i, p_f = p_f, p_i
    i, f, g = sigmoid(a_i + p_i * c_prev), sigmoid(a_f + p_f * c_prev), g_act(a_g)
    c = f * c_prev + i * g
    o = sigmoid(a_o + p_o * (c if o_sees == "c" else c_prev))
    return o * np.tanh(c), c, None


PEEPHOLE_STEP = (
    Mistake(
        "the output gate looks at c_prev; it looks at the new cell state c (compute c first)",
        partial(peephole_step, o_sees="c_prev"),
    ),
    Mistake("the peepholes are missing (this is the plain LSTM)", partial(peephole_step, peepholes=False)),
    Mistake("p_i and p_f are swapped", partial(peephole_step, swap_if=True)),
    Mistake("sigmoid where the candidate g uses tanh", partial(peephole_step, g_act=sigmoid)),
)


MISTAKES = {
    "lstm.input_gate": _gate_mistakes(sigmoid, "the input gate", "i = sigmoid(W_xi x + W_hi h_prev + b_i)", "b_i"),
    "lstm.forget_gate": _gate_mistakes(sigmoid, "the forget gate", "f = sigmoid(W_xf x + W_hf h_prev + b_f)", "b_f"),
    "lstm.candidate": _gate_mistakes(np.tanh, "the candidate", "g = tanh(W_xg x + W_hg h_prev + b_g)", "b_g"),
    "lstm.output_gate": _gate_mistakes(sigmoid, "the output gate", "o = sigmoid(W_xo x + W_ho h_prev + b_o)", "b_o"),
    "lstm.cell_state": CELL_STATE,
    "lstm.hidden_state": HIDDEN_STATE,
    "lstm.lstm_step_forward": LSTM_STEP,
    "lstm.lstm_forward": LSTM_SEQUENCE,
    "lstm.lstm_step_backward": LSTM_STEP_BACKWARD,
    "lstm.lstm_backward": LSTM_BACKWARD,
    "gru.reset_gate": _gate_mistakes(sigmoid, "the reset gate", "r = sigmoid(W_xr x + W_hr h_prev + b_r)", "b_r"),
    "gru.update_gate": _gate_mistakes(sigmoid, "the update gate", "z = sigmoid(W_xz x + W_hz h_prev + b_z)", "b_z"),
    "gru.candidate": GRU_CANDIDATE,
    "gru.hidden_state": GRU_HIDDEN_STATE,
    "gru.gru_step_forward": GRU_STEP,
    "peephole.input_gate": PEEPHOLE_GATE,
    "peephole.forget_gate": PEEPHOLE_GATE,
    "peephole.output_gate": PEEPHOLE_GATE,
    "peephole.peephole_step_forward": PEEPHOLE_STEP,
}
