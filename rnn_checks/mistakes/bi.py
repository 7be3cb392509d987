"""Typical mistakes of chapters 7, 9 and 10: masks, bidirectional layers, the tagger, the GRU backward.

Each mistaken function has the signature and outputs of its reference, with
one mistake put in through a keyword.  See :mod:`rnn_checks.mistakes`.
"""

from functools import partial

import numpy as np

from rnn_ref import bidirectional, gru, losses
from rnn_ref.cells import sequence_backward, sequence_forward
from rnn_ref.masks import mask_to_lengths, reverse_sequences

from .common import RECOMPUTED, Mistake

# --- 07 reversing padded sequences, bidirectional forward ------------------------------------------------


def reverse(xs, lengths, *, form):
    if form == "whole":
        return xs[::-1].copy()
    if form == "batch":
        return xs[:, ::-1].copy()
    out = np.zeros_like(xs)  # form == "zero_padding"
    for n, length in enumerate(lengths):
        out[:length, n] = xs[:length, n][::-1]
    return out


REVERSE = (
    Mistake(
        "the whole padded array is reversed (xs[::-1]); each sequence must be reversed within its own length, "
        "so that its backward reading starts at its last valid step",
        partial(reverse, form="whole"),
    ),
    Mistake("the batch axis is reversed; time is axis 0", partial(reverse, form="batch")),
    Mistake("the padded steps are zeroed; they must be copied unchanged", partial(reverse, form="zero_padding")),
)


def _states(state):
    """A direction's state (``h`` or ``(h, c)``) as the cells take it: ``(h,)`` or ``(h, c)``; None stays None."""
    if state is None:
        return None
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _state(states):
    """The cells' ``(h,)`` or ``(h, c)`` as a direction's state: ``h`` or ``(h, c)``."""
    return states[0] if len(states) == 1 else tuple(states)


def bidirectional_fwd(
    cell,
    xs,
    params_fwd,
    params_bwd,
    mask=None,
    merge="concat",
    *,
    state0_fwd=None,
    state0_bwd=None,
    reversal="sequence",
    back=True,
    order="fb",
    merge_as=None,
    same_params=False,
    masked=True,
    states="given",
    **cell_kwargs,
):
    T, N, _ = xs.shape
    lengths = np.full(N, T) if mask is None else mask_to_lengths(mask)
    cell_mask = mask if masked else None
    s_f, s_b = {"given": (state0_fwd, state0_bwd), "swapped": (state0_bwd, state0_fwd), "zero": (None, None)}[states]
    hs_f, last_f, _ = sequence_forward(cell, xs, _states(s_f), params_fwd, cell_mask, **cell_kwargs)
    xs_r = xs[::-1] if reversal == "whole" else reverse_sequences(xs, lengths)
    p_b = params_fwd if same_params else params_bwd
    hs_b, last_b, _ = sequence_forward(cell, xs_r, _states(s_b), p_b, cell_mask, **cell_kwargs)
    if back:
        hs_b = hs_b[::-1] if reversal == "whole" else reverse_sequences(hs_b, lengths)
    first, second = (hs_f, hs_b) if order == "fb" else (hs_b, hs_f)
    merge = merge_as or merge
    if merge == "concat":
        ys = np.concatenate([first, second], axis=-1)
    else:
        ys = (hs_f + hs_b) / (2 if merge == "mean" else 1)
    return ys, _state(last_f), _state(last_b), None


BIDIRECTIONAL = (
    Mistake(
        "the backward direction reverses the whole padded array: with padding it starts on padded steps; "
        "reverse each sequence within its own length",
        partial(bidirectional_fwd, reversal="whole"),
    ),
    Mistake(
        "the backward direction's outputs are not put back in time order: reverse them (per sequence) again",
        partial(bidirectional_fwd, back=False),
    ),
    Mistake(
        "the halves are concatenated as [backward, forward]; the order is [forward, backward]",
        partial(bidirectional_fwd, order="bf"),
    ),
    Mistake(
        "the merge is the sum where the mean is asked (or the reverse)", partial(bidirectional_fwd, merge_as="sum")
    ),
    Mistake("the merge is the mean where the sum is asked", partial(bidirectional_fwd, merge_as="mean")),
    Mistake(
        "the backward direction uses params_fwd; it has its own params_bwd",
        partial(bidirectional_fwd, same_params=True),
    ),
    Mistake(
        "the mask is not passed to the cells: padded steps are read as data", partial(bidirectional_fwd, masked=False)
    ),
    Mistake(
        "the initial states are not passed to the cells: each direction starts from its own state0_fwd or state0_bwd",
        partial(bidirectional_fwd, states="zero"),
    ),
    Mistake(
        "the initial states are swapped: state0_fwd belongs to the left-to-right cell, state0_bwd to the other",
        partial(bidirectional_fwd, states="swapped"),
    ),
)


# --- 09 masked cross-entropy, the bidirectional tagger -----------------------------------------------------


def cross_entropy(logits, targets, mask=None, *, count="valid", scale=True, one_hot=True, zero_padding=True):
    valid = np.ones(targets.shape, bool) if mask is None else np.asarray(mask, bool)
    y = np.where(valid, targets, 0)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]
    M = valid.sum() if count == "valid" else (valid.size if count == "all" else 1)
    loss = -np.sum(picked * valid) / M
    d = np.exp(log_p)
    if one_hot:
        np.put_along_axis(d, y[..., None], np.take_along_axis(d, y[..., None], axis=-1) - 1, axis=-1)
    d = d * (valid[..., None] if zero_padding else 1) / (M if scale else 1)
    return logits.dtype.type(loss), d.astype(logits.dtype)


CROSS_ENTROPY = (
    Mistake(
        "the mean counts the padded steps: divide by the number of valid steps", partial(cross_entropy, count="all")
    ),
    Mistake("the loss is a sum; it is the mean over the valid steps", partial(cross_entropy, count="sum")),
    Mistake("dlogits is not divided by the number of valid steps M", partial(cross_entropy, scale=False)),
    Mistake("dlogits is the softmax p; it is p minus the one-hot target", partial(cross_entropy, one_hot=False)),
    Mistake("dlogits is not zero at padded steps", partial(cross_entropy, zero_padding=False)),
)


def _split_params(params):
    fwd = {k[4:]: v for k, v in params.items() if k.startswith("fwd.")}
    bwd = {k[4:]: v for k, v in params.items() if k.startswith("bwd.")}
    return fwd, bwd


def tagger_logits(params, xs, mask=None, *, cell, merge="concat", bias=True, **mistake):
    fwd, bwd = _split_params(params)
    ys, _, _, _ = bidirectional_fwd(cell, xs, fwd, bwd, mask, merge, **mistake)
    return ys @ params["W_y"].T + (params["b_y"] if bias else 0)


TAGGER_LOGITS = (
    Mistake(
        "the backward LSTM reverses the whole padded array; reverse each sequence",
        partial(tagger_logits, reversal="whole"),
    ),
    Mistake("the halves are concatenated as [backward, forward]", partial(tagger_logits, order="bf")),
    Mistake("the backward outputs are not put back in time order", partial(tagger_logits, back=False)),
    Mistake("the read-out bias b_y is missing", partial(tagger_logits, bias=False)),
    Mistake("the mask is not passed to the LSTMs", partial(tagger_logits, masked=False)),
)


def tagger_loss(params, xs, tags, mask=None, *, cell, merge="concat", loss_mask=None, scored="both", cells=True):
    fwd, bwd = _split_params(params)
    ys, _, _, cache = bidirectional.bidirectional_forward(cell, xs, fwd, bwd, mask, merge)
    logits = ys @ params["W_y"].T + params["b_y"]
    keep = {"both": _both(mask, loss_mask), "mask": mask, "none": None}[scored]
    loss, dlogits = losses.softmax_cross_entropy(logits, tags, keep)
    K, F = params["W_y"].shape
    flat = dlogits.reshape(-1, K)
    grads = {"W_y": flat.T @ ys.reshape(-1, F), "b_y": flat.sum(axis=0)}
    dys = dlogits @ params["W_y"]
    _, _, _, g_f, g_b = bidirectional.bidirectional_backward(dys if cells else np.zeros_like(dys), cache)
    grads.update({f"fwd.{k}": v for k, v in g_f.items()})
    grads.update({f"bwd.{k}": v for k, v in g_b.items()})
    return loss, grads


def _both(mask, loss_mask):
    if mask is None:
        return loss_mask
    return mask if loss_mask is None else mask & loss_mask


TAGGER_LOSS = (
    Mistake(
        "loss_mask is ignored: score only the steps that are valid and in loss_mask",
        partial(tagger_loss, scored="mask"),
    ),
    Mistake("the padded steps are scored: pass the mask to the loss", partial(tagger_loss, scored="none")),
    Mistake(
        "the LSTMs get no gradient: send dys = dlogits @ W_y back through the bidirectional layer",
        partial(tagger_loss, cells=False),
    ),
)


# --- 10 the GRU over a sequence, its backward, the bidirectional backward ---------------------------------


def gru_sequence(xs, h0, params, mask=None, *, reset_after=False, carry=True, masked=True, zero_out=True, last="state"):
    T = xs.shape[0]
    h, hs = h0, []
    for t in range(T):
        h_new, _ = gru.gru_step_forward(xs[t], h if carry else h0, params, reset_after=reset_after)
        if mask is not None and masked:
            h_new = np.where(mask[t][:, None], h_new, h)
        hs.append(h_new)
        h = h_new
    hs = np.stack(hs)
    if mask is not None and zero_out:
        hs = hs * mask[:, :, None]
    return hs, (hs[-1] if last == "output" else h), None


GRU_SEQUENCE = (
    Mistake("the state is not carried: every step starts from h0", partial(gru_sequence, carry=False)),
    Mistake(
        "padded steps update the state; at a padded step the state is carried unchanged",
        partial(gru_sequence, masked=False),
    ),
    Mistake("the outputs at padded steps are not zero", partial(gru_sequence, zero_out=False)),
    Mistake(
        "h_last is hs[-1], which is zero for a sequence with padding; h_last is the state at each sequence's own "
        "last valid step",
        partial(gru_sequence, last="output"),
    ),
)


def gru_step_backward(dh, cache, *, swap_z=False, direct=True, dh_prev_T=False, dW_hn="reset"):
    x, h_prev, gates, u, params, reset_after = cache
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    W_h = params["W_h"].T if dh_prev_T else params["W_h"]
    da_n = dh * (1 - z) * (1 - n**2)
    da_z = dh * ((n - h_prev) if swap_z else (h_prev - n)) * z * (1 - z)
    if reset_after:
        da_r = da_n * u * r * (1 - r)
        dp = np.concatenate([da_r, da_z, da_n * r], axis=1)
        dh_prev = dh * z * direct + dp @ W_h
        grads = {"W_h": dp.T @ h_prev, "b_hn": (da_n * r).sum(axis=0)}
    else:
        du = da_n @ W_h[2 * H :]
        da_r = du * h_prev * r * (1 - r)
        drz = np.concatenate([da_r, da_z], axis=1)
        dh_prev = dh * z * direct + du * r + drz @ W_h[: 2 * H]
        grads = {"W_h": np.concatenate([drz.T @ h_prev, da_n.T @ (u if dW_hn == "reset" else h_prev)], axis=0)}
    da = np.concatenate([da_r, da_z, da_n], axis=1)
    grads.update({"W_x": da.T @ x, "b": da.sum(axis=0)})
    return da @ params["W_x"], dh_prev, {k: grads[k] for k in params}


def recomputed_gru_step_backward(dh, cache):
    """The right formulas, at gates computed again from x, h_prev and the weights (not the cache's)."""
    _, again = gru.gru_step_forward(cache.x, cache.h_prev, cache.params, reset_after=cache.reset_after)
    return gru.gru_step_backward(dh, again)


GRU_STEP_BACKWARD = (
    Mistake(
        RECOMPUTED.format(what="the gates", marked="cached gates"), recomputed_gru_step_backward, "recomputes-the-step"
    ),
    Mistake(
        "the update gate's gradient has the wrong sign: dz = dh * (h_prev - n), since h = z h_prev + (1 - z) n",
        partial(gru_step_backward, swap_z=True),
    ),
    Mistake("dh_prev misses the direct path dh * z (h = z * h_prev + ...)", partial(gru_step_backward, direct=False)),
    Mistake("the gradient of W_hn uses h_prev; W_hn multiplies r * h_prev", partial(gru_step_backward, dW_hn="h_prev")),
)


def gru_backward(
    dhs, cache, dh_last=None, *, forward_loop=False, carry=True, accumulate=True, use_last=True, masked=True
):
    xs, h_all, gates, u, mask, params, reset_after = cache
    T = xs.shape[0]
    dh = dh_last if dh_last is not None and use_last else np.zeros_like(h_all[0])
    dxs, grads = np.zeros_like(xs), {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(T) if forward_loop else reversed(range(T)):
        step = gru.GRUStepCache(xs[t], h_all[t], gates[t], u[t], params, reset_after)
        d_in = dhs[t] + (dh if carry else 0)
        m = np.ones((xs.shape[1], 1), bool) if mask is None or not masked else mask[t][:, None]
        dx, dh_prev, g = gru.gru_step_backward(np.where(m, d_in, 0), step)
        dxs[t] = dx
        grads = {k: grads[k] + g[k] for k in grads} if accumulate else g
        dh = np.where(m, dh_prev, dh)
    return dxs, dh, grads


GRU_BACKWARD = (
    Mistake(
        "the loop runs forward in time; BPTT goes backward: for t in reversed(range(T))",
        partial(gru_backward, forward_loop=True),
    ),
    Mistake(
        "the gradient from later steps is dropped: step t receives dhs[t] + dh_prev of step t+1",
        partial(gru_backward, carry=False),
    ),
    Mistake(
        "the weight gradients are overwritten at every step (`=` where `+=` accumulates)",
        partial(gru_backward, accumulate=False),
    ),
    Mistake("dh_last is ignored: the loop must start from it", partial(gru_backward, use_last=False)),
    Mistake(
        "the mask is ignored: a padded step receives no gradient and passes dh straight through",
        partial(gru_backward, masked=False),
    ),
)


def bidirectional_bwd(
    dys,
    cache,
    dlast_fwd=None,
    dlast_bwd=None,
    *,
    reversal="sequence",
    back=True,
    order="fb",
    mean_half=True,
    last="given",
):
    T = dys.shape[0]
    H = cache.H
    if cache.merge == "concat":
        first, second = dys[..., :H], dys[..., H:]
        d_f, d_b = (first, second) if order == "fb" else (second, first)
    else:
        d_f = d_b = dys / (2 if cache.merge == "mean" and mean_half else 1)
    l_f, l_b = {"given": (dlast_fwd, dlast_bwd), "swapped": (dlast_bwd, dlast_fwd), "ignored": (None, None)}[last]

    def rev(a):
        return a[::-1] if reversal == "whole" else reverse_sequences(a, cache.lengths)

    dxs_f, ds_f, g_f = sequence_backward(cache.cell, d_f, cache.cache_fwd, _states(l_f))
    dxs_b, ds_b, g_b = sequence_backward(
        cache.cell, rev(d_b) if reversal != "none" else d_b, cache.cache_bwd, _states(l_b)
    )
    dxs = dxs_f + (rev(dxs_b) if back and reversal != "none" else dxs_b)[:T]
    return dxs, _state(ds_f), _state(ds_b), g_f, g_b


BIDIRECTIONAL_BACKWARD = (
    Mistake(
        "the backward direction's gradient is not reversed: it ran on the per-sequence reversed input, so "
        "reverse dys before its backward pass and dxs after",
        partial(bidirectional_bwd, reversal="none"),
    ),
    Mistake(
        "the whole padded array is reversed; reverse each sequence within its own length",
        partial(bidirectional_bwd, reversal="whole"),
    ),
    Mistake("the backward direction's dxs is not reversed back to time order", partial(bidirectional_bwd, back=False)),
    Mistake(
        "the halves of dys are swapped: the first H features belong to the forward direction",
        partial(bidirectional_bwd, order="bf"),
    ),
    Mistake(
        "the mean merge halves the gradient: each direction gets dys / 2", partial(bidirectional_bwd, mean_half=False)
    ),
    Mistake(
        "dlast_fwd and dlast_bwd are ignored: each enters its direction's backward pass as the gradient of its "
        "final state",
        partial(bidirectional_bwd, last="ignored"),
    ),
    Mistake(
        "dlast_fwd and dlast_bwd are swapped: dlast_fwd belongs to the left-to-right cell",
        partial(bidirectional_bwd, last="swapped"),
    ),
)


MISTAKES = {
    "masks.reverse_sequences": REVERSE,
    "bidirectional.bidirectional_forward": BIDIRECTIONAL,
    "losses.softmax_cross_entropy": CROSS_ENTROPY,
    "models.bi_tagger_logits": TAGGER_LOGITS,
    "models.bi_tagger_loss": TAGGER_LOSS,
    "gru.gru_forward": GRU_SEQUENCE,
    "gru.gru_step_backward": GRU_STEP_BACKWARD,
    "gru.gru_backward": GRU_BACKWARD,
    "bidirectional.bidirectional_backward": BIDIRECTIONAL_BACKWARD,
}
