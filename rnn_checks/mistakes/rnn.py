"""Typical mistakes of chapters 1-3: the RNN cell, BPTT, clipping and the Jacobian.

Each mistaken function has the signature and outputs of its reference, with
one mistake put in through a keyword (``act=sigmoid``, ``bias=False``, ...).
See :mod:`rnn_checks.mistakes`.
"""

from functools import partial

import numpy as np

from rnn_ref import clip, rnn
from rnn_ref.activations import sigmoid, softmax

from .common import RECOMPUTED, Mistake


def _identity(a):
    return a


def _relu(a):
    return np.maximum(a, 0)


# --- 01 the RNN cell -------------------------------------------------------------------------------------


def rnn_step(x, h_prev, params, *, act=np.tanh, bias=1, W_x_T=True, W_h_T=True, inputs=True, recurrent=True):
    W_x = params["W_x"].T if W_x_T else params["W_x"]
    W_h = params["W_h"].T if W_h_T else params["W_h"]
    a = bias * params["b"] + (x @ W_x if inputs else 0) + (h_prev @ W_h if recurrent else 0)
    return act(a), None


def rnn_sequence(xs, h0, params, mask=None, *, carry=True, reverse=False, store="new", last="new", same_x=False):
    T = xs.shape[0]
    h, hs = h0, []
    for t in reversed(range(T)) if reverse else range(T):
        h_new, _ = rnn.rnn_step_forward(xs[0] if same_x else xs[t], h if carry else h0, params)
        hs.append(h if store == "old" else h_new)
        h = h_new
    hs = np.stack(hs[::-1] if reverse else hs)
    return hs, (h0 if last == "h0" else hs[0] if last == "first" else h), None


def output_layer(hs, W_y, b_y, *, normalize="softmax", bias=True, W_T=True):
    a = hs @ (W_y.T if W_T else W_y) + (b_y if bias else 0)
    if normalize == "none":
        return a
    if normalize == "sigmoid":
        return sigmoid(a)
    if normalize == "all":
        e = np.exp(a - a.max())
        return e / e.sum()
    return softmax(a, axis=-1 if normalize == "softmax" else normalize)


_TANH = "h = tanh(W_x x + W_h h_prev + b)"
RNN_STEP = (
    Mistake(f"sigmoid where the RNN uses tanh ({_TANH})", partial(rnn_step, act=sigmoid)),
    Mistake(f"no tanh: the new state is the pre-activation itself ({_TANH})", partial(rnn_step, act=_identity)),
    Mistake(f"ReLU where the RNN uses tanh ({_TANH})", partial(rnn_step, act=_relu)),
    Mistake("the bias b is missing", partial(rnn_step, bias=0)),
    Mistake("the bias b is added twice", partial(rnn_step, bias=2)),
    Mistake(
        "the recurrent weights are transposed: W_h h_prev is h_prev @ W_h.T in code (W_h is in math layout)",
        partial(rnn_step, W_h_T=False),
    ),
    Mistake("the input weights are transposed: W_x x is x @ W_x.T in code", partial(rnn_step, W_x_T=False)),
    Mistake("the recurrent term W_h h_prev is missing", partial(rnn_step, recurrent=False)),
    Mistake("the input term W_x x is missing", partial(rnn_step, inputs=False)),
)
RNN_SEQUENCE = (
    Mistake(
        "the state is not carried: every step starts again from h0 instead of the previous step's h",
        partial(rnn_sequence, carry=False),
    ),
    Mistake(
        "the loop runs backward in time; the forward pass goes t = 0, 1, ..., T-1", partial(rnn_sequence, reverse=True)
    ),
    Mistake("hs[t] holds the state before step t; it must hold the new state h_t", partial(rnn_sequence, store="old")),
    Mistake("h_last is h0; it must be the state after the last step", partial(rnn_sequence, last="h0")),
    Mistake("h_last is the state after the first step; it must be after the last", partial(rnn_sequence, last="first")),
    Mistake("every step reads xs[0]; step t reads xs[t]", partial(rnn_sequence, same_x=True)),
)
OUTPUT_LAYER = (
    Mistake(
        "the softmax normalizes over the time axis; normalize over the classes (axis=-1)",
        partial(output_layer, normalize=0),
    ),
    Mistake(
        "the softmax normalizes over the batch axis; normalize over the classes (axis=-1)",
        partial(output_layer, normalize=1),
    ),
    Mistake("the softmax is missing: these are the logits W_y h + b_y", partial(output_layer, normalize="none")),
    Mistake("sigmoid where the output layer uses a softmax", partial(output_layer, normalize="sigmoid")),
    Mistake(
        "the softmax normalizes over the whole array; normalize each step's V classes",
        partial(output_layer, normalize="all"),
    ),
    Mistake("the bias b_y is missing", partial(output_layer, bias=False)),
)


# --- 02 BPTT ---------------------------------------------------------------------------------------------


def rnn_step_backward(dh, cache, *, deriv="tanh", dh_prev_T=False, dW_h_T=False, db="sum"):
    x, h_prev, h, params = cache
    local = {"tanh": 1 - h**2, "none": 1.0, "tanh_twice": 1 - np.tanh(h) ** 2, "sigmoid": h * (1 - h)}
    local["h_prev"] = 1 - h_prev**2
    da = dh * local[deriv]
    W_h = params["W_h"]
    grads = {
        "W_x": da.T @ x,
        "W_h": (h_prev.T @ da) if dW_h_T else da.T @ h_prev,
        "b": da.sum(axis=0) if db == "sum" else da.mean(axis=0),
    }
    return da @ params["W_x"], da @ (W_h.T if dh_prev_T else W_h), grads


def rnn_backward(
    dhs,
    cache,
    dh_last=None,
    *,
    forward_loop=False,
    add_dhs=True,
    carry=True,
    accumulate=True,
    use_dh_last=True,
    dh0="carried",
    dxs_reversed=False,
):
    xs, h_all, _, params = cache
    T = xs.shape[0]
    dh_next = np.zeros_like(h_all[0]) if dh_last is None or not use_dh_last else dh_last
    dxs = np.zeros_like(xs)
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    dh_prev = dh_next
    for t in range(T) if forward_loop else reversed(range(T)):
        dh = (dhs[t] if add_dhs else 0) + (dh_next if carry else 0)
        step = rnn.RNNStepCache(xs[t], h_all[t], h_all[t + 1], params)
        dxs[T - 1 - t if dxs_reversed else t], dh_prev, g = rnn.rnn_step_backward(dh, step)
        grads = {k: grads[k] + g[k] for k in grads} if accumulate else g
        dh_next = dh_prev
    return dxs, (dh_prev if dh0 == "carried" else np.zeros_like(dh_prev)), grads


def truncated_bptt(
    cell,
    xs,
    state0,
    params,
    dhs,
    k,
    mask=None,
    dstate_last=None,
    *,
    carry=True,
    cut=True,
    last_everywhere=False,
    accumulate=True,
    dstate0="first",
):
    T = xs.shape[0]
    h0 = state0[0]
    dh_last = None if dstate_last is None else dstate_last[0]
    if not cut:
        _, _, cache = rnn.rnn_forward(xs, h0, params)
        dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last)
        return dxs, (dh0,), grads
    dxs, grads, h, first, last = np.zeros_like(xs), None, h0, None, None
    for start in range(0, T, k):
        stop = min(start + k, T)
        _, h_next, cache = rnn.rnn_forward(xs[start:stop], h if carry else h0, params)
        d_end = dh_last if stop == T or last_everywhere else None
        dxs[start:stop], dh, g = rnn.rnn_backward(dhs[start:stop], cache, d_end)
        grads = g if grads is None or not accumulate else {key: grads[key] + g[key] for key in grads}
        first, last = (dh if first is None else first), dh
        h = h_next
    return dxs, ((first if dstate0 == "first" else last),), grads


def recomputed_rnn_step_backward(dh, cache):
    """The right formulas, at the h of the step computed again from x, h_prev and the weights (not the cache's)."""
    x, h_prev, _, params = cache
    h, _ = rnn.rnn_step_forward(x, h_prev, params)
    return rnn.rnn_step_backward(dh, cache._replace(h=h))


RNN_STEP_BACKWARD = (
    Mistake(RECOMPUTED.format(what="h", marked="cached h"), recomputed_rnn_step_backward, "recomputes-the-step"),
    Mistake(
        "the tanh derivative is missing: da = dh * (1 - h**2) before the matmuls",
        partial(rnn_step_backward, deriv="none"),
    ),
    Mistake(
        "1 - tanh(h)**2 applies tanh twice: cache.h is already tanh(a), so tanh'(a) = 1 - h**2",
        partial(rnn_step_backward, deriv="tanh_twice"),
    ),
    Mistake(
        "h * (1 - h) is the sigmoid's derivative; tanh'(a) = 1 - h**2", partial(rnn_step_backward, deriv="sigmoid")
    ),
    Mistake("the derivative uses h_prev; it must use this step's output h", partial(rnn_step_backward, deriv="h_prev")),
    Mistake(
        "dh_prev = da @ W_h.T goes back through the transpose; since a = h_prev @ W_h.T + ..., dh_prev = da @ W_h",
        partial(rnn_step_backward, dh_prev_T=True),
    ),
    Mistake("grads['W_h'] is transposed: it is da.T @ h_prev", partial(rnn_step_backward, dW_h_T=True)),
    Mistake("db is averaged over the batch; it is a sum, da.sum(axis=0)", partial(rnn_step_backward, db="mean")),
)
RNN_BACKWARD = (
    Mistake(
        "the loop runs forward in time; BPTT goes backward: for t in reversed(range(T))",
        partial(rnn_backward, forward_loop=True),
    ),
    Mistake(
        "dhs[t] is not added: the gradient at step t is dhs[t] plus what comes back from step t+1",
        partial(rnn_backward, add_dhs=False),
    ),
    Mistake(
        "the gradient from later steps is dropped: step t receives dhs[t] plus dh_prev of step t+1",
        partial(rnn_backward, carry=False),
    ),
    Mistake(
        "the weight gradients are overwritten at every step (`=` where `+=` accumulates): only step 0's is left",
        partial(rnn_backward, accumulate=False),
    ),
    Mistake("dh_last is ignored: the loop must start from dh_next = dh_last", partial(rnn_backward, use_dh_last=False)),
    Mistake("dh0 is zero: it is the dh_prev that leaves the first step", partial(rnn_backward, dh0="zeros")),
    Mistake("dxs is stored in reverse time order: dxs[t] belongs to step t", partial(rnn_backward, dxs_reversed=True)),
)
TRUNCATED_BPTT = (
    Mistake(
        "every window starts from state0: the state must carry on from the previous window",
        partial(truncated_bptt, carry=False),
    ),
    Mistake(
        "the gradient crosses window boundaries (this is full BPTT): truncated BPTT starts every window's "
        "backward pass afresh",
        partial(truncated_bptt, cut=False),
    ),
    Mistake(
        "dstate_last is added at the end of every window; it belongs to the last window only",
        partial(truncated_bptt, last_everywhere=True),
    ),
    Mistake(
        "the windows' parameter gradients are not summed (`=` where `+=` accumulates)",
        partial(truncated_bptt, accumulate=False),
    ),
    Mistake(
        "dstate0 comes from the last window; it is what the first window sends back",
        partial(truncated_bptt, dstate0="last"),
    ),
)


# --- 03 vanishing and exploding gradients ------------------------------------------------------------------


def jacobian_norms(xs, h0, params, *, norm=2, newest_left=True, deriv="h", W_T=False, rows=True, product=True):
    hs, _, _ = rnn.rnn_forward(xs, h0, params)
    T, N, H = hs.shape
    W_h = params["W_h"].T if W_T else params["W_h"]
    P = np.broadcast_to(np.eye(H), (N, H, H))
    norms = np.empty((T, N))
    for t in range(T):
        h = hs[t] if deriv == "h" else (hs[t - 1] if t else h0)
        d = 1 - h**2 if deriv != "none" else np.ones_like(h)
        J = d[:, :, None] * W_h if rows else W_h * d[:, None, :]
        P = (J @ P if newest_left else P @ J) if product else J
        norms[t] = np.linalg.norm(P, ord=norm, axis=(1, 2))
    return norms.astype(hs.dtype)


def clip_grad_norm(grads, max_norm, *, per_array=False, always=False, after=False, norm="l2", inverted=False):
    def l2(arrays):
        return float(np.sqrt(sum(np.sum(g**2) for g in arrays)))

    total = l2(grads.values()) if norm == "l2" else float(sum(np.linalg.norm(g) for g in grads.values()))
    if per_array:
        out = {k: g * min(1.0, max_norm / (l2([g]) + 1e-6)) for k, g in grads.items()}
    else:
        coef = total / max_norm if inverted else max_norm / (total + 1e-6)
        out = {k: g * (coef if always else min(coef, 1.0)) for k, g in grads.items()}
    out = {k: v.astype(grads[k].dtype) for k, v in out.items()}
    return out, (l2(out.values()) if after else total)


def clip_grad_value(grads, clip_value, *, low=True, by_norm=False, absolute=False):
    if by_norm:
        return clip.clip_grad_norm(grads, clip_value)[0]
    if absolute:
        return {k: np.clip(np.abs(g), 0, clip_value) for k, g in grads.items()}
    return {k: np.clip(g, -clip_value if low else None, clip_value) for k, g in grads.items()}


JACOBIAN_NORMS = (
    Mistake(
        "this is the Frobenius norm; measure the spectral norm (np.linalg.norm(..., ord=2))",
        partial(jacobian_norms, norm="fro"),
    ),
    Mistake(
        "the product is built in the wrong order: the newest Jacobian goes on the left, P = J_t @ P",
        partial(jacobian_norms, newest_left=False),
    ),
    Mistake("the tanh' factor is missing: J_t = diag(1 - h_t**2) W_h", partial(jacobian_norms, deriv="none")),
    Mistake("tanh' uses h_{t-1}; it must use h_t, the output of step t", partial(jacobian_norms, deriv="h_prev")),
    Mistake("W_h is transposed: dh_t/dh_{t-1} = diag(1 - h_t**2) W_h", partial(jacobian_norms, W_T=True)),
    Mistake(
        "diag(1 - h_t**2) multiplies W_h from the right (its columns); it scales the rows: d[:, :, None] * W_h",
        partial(jacobian_norms, rows=False),
    ),
    Mistake(
        "this is the norm of one step's Jacobian; measure the product dh_t/dh_0 = J_t ... J_1",
        partial(jacobian_norms, product=False),
    ),
)
CLIP_GRAD_NORM = (
    Mistake(
        "each array is clipped by its own norm; clip_grad_norm uses one global norm over all arrays",
        partial(clip_grad_norm, per_array=True),
    ),
    Mistake(
        "the gradients are always rescaled to max_norm, even when their norm is already below it: coef = min(1, ...)",
        partial(clip_grad_norm, always=True),
    ),
    Mistake("total_norm is measured after clipping; return the norm before", partial(clip_grad_norm, after=True)),
    Mistake(
        "the global norm is sqrt of the sum of squares of every entry, not the sum of the arrays' norms",
        partial(clip_grad_norm, norm="sum"),
    ),
    Mistake("the scale is inverted: multiply by max_norm / total_norm", partial(clip_grad_norm, inverted=True)),
)
CLIP_GRAD_VALUE = (
    Mistake("only the upper bound is applied: clamp to [-clip_value, clip_value]", partial(clip_grad_value, low=False)),
    Mistake(
        "this rescales by the norm; clip_grad_value clamps every entry separately",
        partial(clip_grad_value, by_norm=True),
    ),
    Mistake("the sign of the entries is lost", partial(clip_grad_value, absolute=True)),
)

MISTAKES = {
    "rnn.rnn_step_forward": RNN_STEP,
    "rnn.rnn_forward": RNN_SEQUENCE,
    "rnn.output_layer": OUTPUT_LAYER,
    "rnn.rnn_step_backward": RNN_STEP_BACKWARD,
    "rnn.rnn_backward": RNN_BACKWARD,
    "tbptt.truncated_bptt": TRUNCATED_BPTT,
    "rnn.jacobian_norms": JACOBIAN_NORMS,
    "clip.clip_grad_norm": CLIP_GRAD_NORM,
    "clip.clip_grad_value": CLIP_GRAD_VALUE,
}
