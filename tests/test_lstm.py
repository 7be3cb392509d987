"""Tests of rnn_ref.lstm: the six equations, the step, the sequence and BPTT.

Three independent kinds of evidence for every backward pass:
central differences (float64), PyTorch's torch.nn.LSTM (float64, every
parameter random, both torch biases), and properties (the six equations
composed are one step, T = 1 is one step, the sequence is a loop of steps,
masks, linearity, dtypes, no mutation, the cell path).
"""

import copy
import re

import numpy as np
import pytest
from _numeric import (
    arrays_in,
    assert_same,
    check_gradients,
    expect_shape_error,
    expect_value_error,
    shape_cases,
)

from rnn_ref import lstm, rnn

T, N, D, H = 4, 3, 2, 3  # small shapes for the gradient checks
LENGTHS = np.array([4, 0, 2])  # a full-length sequence, an empty one, one in between
KEYS = ("W_x", "W_h", "b")


def random_params(rng, D, H, dtype=np.float64, scale=0.5):
    """W_x (4H, D), W_h (4H, H), b (4H,), all random, small enough to keep the gates out of saturation."""
    return {
        "W_x": (scale * rng.standard_normal((4 * H, D))).astype(dtype),
        "W_h": (scale * rng.standard_normal((4 * H, H))).astype(dtype),
        "b": (scale * rng.standard_normal(4 * H)).astype(dtype),
    }


def random_sequence(rng, T, N, D, H, dtype=np.float64):
    xs = rng.standard_normal((T, N, D)).astype(dtype)
    h0 = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    return xs, h0, c0, random_params(rng, D, H, dtype)


def random_upstream(rng, T, N, H, dtype=np.float64):
    """dhs (T, N, H), dh_last and dc_last (N, H)."""
    return tuple(rng.standard_normal(shape).astype(dtype) for shape in ((T, N, H), (N, H), (N, H)))


def mask_of(lengths, T):
    """Independent of rnn_ref.masks: mask[t, n] is True for t < lengths[n]."""
    return np.array([[t < length for length in lengths] for t in range(T)])


def sigmoid(a):
    """The textbook formula, safe for the moderate values of these tests."""
    return 1 / (1 + np.exp(-a))


# --- 1. numerical gradient checks ----------------------------------------------------------------


def test_lstm_step_backward_matches_numeric(rng):
    params = random_params(rng, D, H)
    inputs = {
        "x": rng.standard_normal((N, D)),
        "h_prev": rng.standard_normal((N, H)),
        "c_prev": rng.standard_normal((N, H)),
        **params,
    }
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))  # loss = <dh, h> + <dc, c>

    def loss(v):
        h, c, _ = lstm.lstm_step_forward(v["x"], v["h_prev"], v["c_prev"], {k: v[k] for k in KEYS})
        return np.sum(dh * h) + np.sum(dc * c)

    _, _, cache = lstm.lstm_step_forward(inputs["x"], inputs["h_prev"], inputs["c_prev"], params)
    dx, dh_prev, dc_prev, grads = lstm.lstm_step_backward(dh, dc, cache)
    check_gradients(loss, inputs, {"x": dx, "h_prev": dh_prev, "c_prev": dc_prev, **grads})


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["no-mask", "mask-lengths-4-0-2"])
@pytest.mark.parametrize("finals", ["none", "dh_last", "dc_last", "both"])
def test_lstm_backward_matches_numeric(rng, lengths, finals):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    inputs = {"xs": xs, "h0": h0, "c0": c0, **params}
    mask = None if lengths is None else mask_of(lengths, T)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)  # dhs random at padded steps too: must be ignored
    dh_last = dh_last if finals in ("dh_last", "both") else None
    dc_last = dc_last if finals in ("dc_last", "both") else None

    def loss(v):
        hs, h_last, c_last, _ = lstm.lstm_forward(v["xs"], v["h0"], v["c0"], {k: v[k] for k in KEYS}, mask=mask)
        value = np.sum(dhs * hs)
        value += 0.0 if dh_last is None else np.sum(dh_last * h_last)
        value += 0.0 if dc_last is None else np.sum(dc_last * c_last)
        return value

    _, _, _, cache = lstm.lstm_forward(xs, h0, c0, params, mask=mask)
    dxs, dh0, dc0, grads = lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)
    check_gradients(loss, inputs, {"xs": dxs, "h0": dh0, "c0": dc0, **grads})


# --- 2. agreement with PyTorch (float64) ---------------------------------------------------------


def torch_lstm(torch, xs, h0, c0, W_x, W_h, b_ih, b_hh, lengths, dhs, dh_last, dc_last):
    """Outputs, final states and every gradient of torch.nn.LSTM.

    The loss is <dhs, hs> + <dh_last, h_n> + <dc_last, c_n>.
    """
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    T, N, D = xs.shape
    layer = torch.nn.LSTM(D, W_h.shape[1], dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W_x), ("weight_hh_l0", W_h), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(layer, name).copy_(torch.from_numpy(value))
    x_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)  # (num_layers = 1, N, H)
    c0_t = torch.tensor(c0[None], requires_grad=True)
    if lengths is None:
        out, (h_n, c_n) = layer(x_t, (h0_t, c0_t))
    else:
        packed = pack_padded_sequence(x_t, torch.as_tensor(lengths), enforce_sorted=False)
        out_packed, (h_n, c_n) = layer(packed, (h0_t, c0_t))
        out, _ = pad_packed_sequence(out_packed, total_length=T)
    loss = (out * torch.from_numpy(dhs)).sum()
    loss = loss + (h_n[0] * torch.from_numpy(dh_last)).sum() + (c_n[0] * torch.from_numpy(dc_last)).sum()
    loss.backward()
    grads = {
        name: getattr(layer, name).grad.numpy() for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    }
    outputs = (out.detach().numpy(), h_n[0].detach().numpy(), c_n[0].detach().numpy())
    return outputs, (x_t.grad.numpy(), h0_t.grad[0].numpy(), c0_t.grad[0].numpy()), grads


TORCH_SHAPES = [(1, 1, 2, 3), (5, 3, 4, 2), (3, 4, 1, 5), (6, 2, 3, 3)]  # (T, N, D, H), N = 1 and T = 1 included


@pytest.mark.torch
@pytest.mark.parametrize("shape", TORCH_SHAPES, ids=lambda s: "T{}-N{}-D{}-H{}".format(*s))
@pytest.mark.parametrize("how", ["full", "lengths", "mask"])
def test_lstm_forward_and_backward_match_torch(torch, shape, how):
    T, N, D, H = shape
    rng = np.random.default_rng(list(shape) + [len(how)])
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    params["b"] = b_ih + b_hh  # ours has one bias, torch two
    lengths = None
    if how != "full":  # packed sequences need lengths >= 1; one sequence full length, one of length 1
        lengths = rng.integers(1, T + 1, size=N)
        lengths[0] = T
        lengths[-1] = 1 if N > 1 else lengths[-1]
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)

    (out, h_n, c_n), (dxs_t, dh0_t, dc0_t), g = torch_lstm(
        torch, xs, h0, c0, params["W_x"], params["W_h"], b_ih, b_hh, lengths, dhs, dh_last, dc_last
    )
    kwargs = {
        "full": {},
        "lengths": {"lengths": lengths},
        "mask": {"mask": None if lengths is None else mask_of(lengths, T)},
    }
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params, **kwargs[how])
    dxs, dh0, dc0, grads = lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)

    close = {"rtol": 1e-10, "atol": 1e-12}
    for name, ours, theirs in (
        ("hs", hs, out),
        ("h_last", h_last, h_n),
        ("c_last", c_last, c_n),
        ("dxs", dxs, dxs_t),
        ("dh0", dh0, dh0_t),
        ("dc0", dc0, dc0_t),
        ("W_x", grads["W_x"], g["weight_ih_l0"]),
        ("W_h", grads["W_h"], g["weight_hh_l0"]),
        ("b vs bias_ih", grads["b"], g["bias_ih_l0"]),
        ("b vs bias_hh", grads["b"], g["bias_hh_l0"]),
    ):
        np.testing.assert_allclose(ours, theirs, **close, err_msg=name)


@pytest.mark.torch
def test_lstm_step_forward_and_backward_match_torch_lstm_cell(torch, rng):
    params = random_params(rng, D, H)
    x, h_prev, c_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    params["b"] = b_ih + b_hh
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))  # loss = <dh, h> + <dc, c>
    h, c, cache = lstm.lstm_step_forward(x, h_prev, c_prev, params)
    dx, dh_prev, dc_prev, grads = lstm.lstm_step_backward(dh, dc, cache)

    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (
            ("weight_ih", params["W_x"]),
            ("weight_hh", params["W_h"]),
            ("bias_ih", b_ih),
            ("bias_hh", b_hh),
        ):
            getattr(cell, name).copy_(torch.from_numpy(value))
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, h_prev, c_prev)]
    h_t, c_t = cell(leaves[0], (leaves[1], leaves[2]))
    ((h_t * torch.from_numpy(dh)).sum() + (c_t * torch.from_numpy(dc)).sum()).backward()

    close = {"rtol": 1e-10, "atol": 1e-12}
    for name, ours, theirs in (
        ("h", h, h_t.detach()),
        ("c", c, c_t.detach()),
        ("dx", dx, leaves[0].grad),
        ("dh_prev", dh_prev, leaves[1].grad),
        ("dc_prev", dc_prev, leaves[2].grad),
        ("W_x", grads["W_x"], cell.weight_ih.grad),
        ("W_h", grads["W_h"], cell.weight_hh.grad),
        ("b vs bias_ih", grads["b"], cell.bias_ih.grad),
        ("b vs bias_hh", grads["b"], cell.bias_hh.grad),
    ):
        np.testing.assert_allclose(ours, theirs.numpy(), **close, err_msg=name)


# --- 3. properties -------------------------------------------------------------------------------


def split_gates(params):
    """{'i': (W_xi, W_hi, b_i), ...}: rows k*H:(k+1)*H of each stacked parameter, in the order i, f, g, o."""
    H = params["W_h"].shape[1]
    return {
        gate: tuple(params[key][k * H : (k + 1) * H] for key in KEYS) for k, gate in enumerate(("i", "f", "g", "o"))
    }


def test_lstm_equations_composed_equal_lstm_step_forward(rng):
    params = random_params(rng, D, H)
    x, h_prev, c_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    gates = split_gates(params)
    i = lstm.input_gate(x, h_prev, *gates["i"])
    f = lstm.forget_gate(x, h_prev, *gates["f"])
    g = lstm.candidate(x, h_prev, *gates["g"])
    o = lstm.output_gate(x, h_prev, *gates["o"])
    c = lstm.cell_state(f, c_prev, i, g)
    h = lstm.hidden_state(o, c)

    h_step, c_step, cache = lstm.lstm_step_forward(x, h_prev, c_prev, params)
    close = {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(c_step, c, **close)
    np.testing.assert_allclose(h_step, h, **close)
    np.testing.assert_allclose(cache.gates, np.concatenate([i, f, g, o], axis=1), **close)


def test_lstm_equations_are_the_textbook_formulas(rng):
    """Each equation function against its formula written out here, so a sigmoid/tanh swap cannot hide."""
    params = random_params(rng, D, H)
    x, h_prev, c_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    gates = split_gates(params)
    pre = {gate: x @ W_x.T + h_prev @ W_h.T + b for gate, (W_x, W_h, b) in gates.items()}
    close = {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(lstm.input_gate(x, h_prev, *gates["i"]), sigmoid(pre["i"]), **close)
    np.testing.assert_allclose(lstm.forget_gate(x, h_prev, *gates["f"]), sigmoid(pre["f"]), **close)
    np.testing.assert_allclose(lstm.candidate(x, h_prev, *gates["g"]), np.tanh(pre["g"]), **close)
    np.testing.assert_allclose(lstm.output_gate(x, h_prev, *gates["o"]), sigmoid(pre["o"]), **close)
    f, i, g, o = (rng.uniform(size=(N, H)) for _ in range(4))
    np.testing.assert_allclose(lstm.cell_state(f, c_prev, i, g), f * c_prev + i * g, **close)
    np.testing.assert_allclose(lstm.hidden_state(o, c_prev), o * np.tanh(c_prev), **close)


def test_lstm_with_one_time_step_equals_one_step_forward_and_backward(rng):
    xs, h0, c0, params = random_sequence(rng, 1, N, D, H)
    dhs, dh_last, dc_last = random_upstream(rng, 1, N, H)
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params)
    dxs, dh0, dc0, grads = lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)

    h, c, step_cache = lstm.lstm_step_forward(xs[0], h0, c0, params)
    dx, dh_prev, dc_prev, step_grads = lstm.lstm_step_backward(dhs[0] + dh_last, dc_last, step_cache)
    close = {"rtol": 1e-12, "atol": 1e-14}
    for name, ours, step in (
        ("hs", hs[0], h),
        ("h_last", h_last, h),
        ("c_last", c_last, c),
        ("dxs", dxs[0], dx),
        ("dh0", dh0, dh_prev),
        ("dc0", dc0, dc_prev),
    ):
        np.testing.assert_allclose(ours, step, **close, err_msg=name)
    for key in grads:
        np.testing.assert_allclose(grads[key], step_grads[key], **close, err_msg=key)


def test_lstm_forward_equals_a_loop_of_step_forwards_and_backward_a_loop_of_step_backwards(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params)
    dxs, dh0, dc0, grads = lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)

    h, c, step_caches, step_hs = h0, c0, [], []
    for t in range(T):
        h, c, step_cache = lstm.lstm_step_forward(xs[t], h, c, params)
        step_hs.append(h)
        step_caches.append(step_cache)
    dh, dc, step_dxs = dh_last, dc_last, [None] * T
    step_grads = {key: np.zeros_like(value) for key, value in params.items()}
    for t in reversed(range(T)):
        step_dxs[t], dh, dc, g = lstm.lstm_step_backward(dhs[t] + dh, dc, step_caches[t])
        step_grads = {key: step_grads[key] + g[key] for key in g}

    close = {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(hs, np.stack(step_hs), **close)
    np.testing.assert_allclose(h_last, h, **close)
    np.testing.assert_allclose(c_last, c, **close)
    np.testing.assert_allclose(cache.c_all[1:], np.stack([s.c for s in step_caches]), **close)
    np.testing.assert_allclose(cache.gates, np.stack([s.gates for s in step_caches]), **close)
    np.testing.assert_allclose(dxs, np.stack(step_dxs), **close)
    np.testing.assert_allclose(dh0, dh, **close)
    np.testing.assert_allclose(dc0, dc, **close)
    for key in grads:
        np.testing.assert_allclose(grads[key], step_grads[key], **close, err_msg=key)


def test_lstm_masked_batch_equals_each_sequence_run_alone_on_its_valid_steps(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params, mask=mask_of(LENGTHS, T))
    dxs, dh0, dc0, grads = lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)

    summed = {key: np.zeros_like(value) for key, value in params.items()}
    close = {"rtol": 1e-12, "atol": 1e-13}
    for n, length in enumerate(LENGTHS):
        # sequence n alone, unpadded, as a batch of one; a length-0 sequence runs no step at all
        one = slice(n, n + 1)
        h, c, caches = h0[one], c0[one], []
        for t in range(length):
            h, c, step_cache = lstm.lstm_step_forward(xs[t, one], h, c, params)
            np.testing.assert_allclose(hs[t, n], h[0], **close, err_msg=f"hs[{t}, {n}]")
            caches.append(step_cache)
        np.testing.assert_allclose(h_last[n], h[0], **close, err_msg=f"h_last[{n}]")
        np.testing.assert_allclose(c_last[n], c[0], **close, err_msg=f"c_last[{n}]")
        dh, dc = dh_last[one], dc_last[one]
        for t in reversed(range(length)):
            dx, dh, dc, g = lstm.lstm_step_backward(dhs[t, one] + dh, dc, caches[t])
            np.testing.assert_allclose(dxs[t, n], dx[0], **close, err_msg=f"dxs[{t}, {n}]")
            summed = {key: summed[key] + g[key] for key in g}
        np.testing.assert_allclose(dh0[n], dh[0], **close, err_msg=f"dh0[{n}]")
        np.testing.assert_allclose(dc0[n], dc[0], **close, err_msg=f"dc0[{n}]")
    for key in grads:
        np.testing.assert_allclose(grads[key], summed[key], **close, err_msg=key)


def test_lstm_step_functions_do_not_mutate_their_arguments(rng):
    params = random_params(rng, D, H)
    x, h_prev, c_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    before = copy.deepcopy((x, h_prev, c_prev, params))
    h, c, cache = lstm.lstm_step_forward(x, h_prev, c_prev, params)
    assert_same((x, h_prev, c_prev, params), before, "arguments of lstm_step_forward")
    cache_before, upstream_before = copy.deepcopy(cache), copy.deepcopy((dh, dc))
    lstm.lstm_step_backward(dh, dc, cache)
    assert_same(cache, cache_before, "cache")
    assert_same((dh, dc), upstream_before, "dh, dc")
    assert_same((x, h_prev, c_prev, params), before, "arguments of lstm_step_forward, after backward")


def test_lstm_equation_functions_do_not_mutate_their_arguments(rng):
    params = random_params(rng, D, H)
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    gates = split_gates(params)
    before = copy.deepcopy((x, h_prev, gates))
    for function, gate in (
        (lstm.input_gate, "i"),
        (lstm.forget_gate, "f"),
        (lstm.candidate, "g"),
        (lstm.output_gate, "o"),
    ):
        function(x, h_prev, *gates[gate])
    assert_same((x, h_prev, gates), before)
    f, c_prev, i, g = (rng.uniform(size=(N, H)) for _ in range(4))
    before = copy.deepcopy((f, c_prev, i, g))
    c = lstm.cell_state(f, c_prev, i, g)
    assert_same((f, c_prev, i, g), before)
    before = copy.deepcopy((f, c))
    lstm.hidden_state(f, c)
    assert_same((f, c), before)


@pytest.mark.parametrize("mask_kwarg", ["none", "mask", "lengths"])
def test_lstm_forward_and_backward_do_not_mutate_their_arguments(rng, mask_kwarg):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    kwargs = {"none": {}, "mask": {"mask": mask_of(LENGTHS, T)}, "lengths": {"lengths": LENGTHS.copy()}}[mask_kwarg]
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)
    before = copy.deepcopy((xs, h0, c0, params, kwargs))
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params, **kwargs)
    assert_same((xs, h0, c0, params, kwargs), before, "arguments of lstm_forward")
    cache_before, upstream_before = copy.deepcopy(cache), copy.deepcopy((dhs, dh_last, dc_last))
    lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)
    assert_same(cache, cache_before, "cache")
    assert_same((dhs, dh_last, dc_last), upstream_before, "dhs, dh_last, dc_last")
    assert_same((xs, h0, c0, params, kwargs), before, "arguments of lstm_forward, after backward")


def test_lstm_sequence_outputs_do_not_share_memory_with_the_cache(rng):
    """A caller may do ``hs += noise``; that must not change what backward sees."""
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    for kwargs in ({}, {"lengths": LENGTHS}):
        hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params, **kwargs)
        dxs, dh0, dc0, grads = lstm.lstm_backward(np.ones_like(hs), cache)
        for out in (hs, h_last, c_last, dxs, dh0, dc0, *grads.values()):
            assert not any(np.shares_memory(out, a) for a in arrays_in(cache))


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["no-mask", "mask"])
def test_lstm_backward_is_linear_in_the_upstream_gradient(rng, lengths):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    _, _, _, cache = lstm.lstm_forward(xs, h0, c0, params, lengths=lengths)
    d1, d2 = random_upstream(rng, T, N, H), random_upstream(rng, T, N, H)
    a, b = 0.7, -2.3
    mixed = [a * one + b * two for one, two in zip(d1, d2, strict=True)]
    combined = lstm.lstm_backward(mixed[0], cache, dh_last=mixed[1], dc_last=mixed[2])
    g1 = lstm.lstm_backward(d1[0], cache, dh_last=d1[1], dc_last=d1[2])
    g2 = lstm.lstm_backward(d2[0], cache, dh_last=d2[1], dc_last=d2[2])
    for got, one, two in zip(arrays_in(combined), arrays_in(g1), arrays_in(g2), strict=True):
        np.testing.assert_allclose(got, a * one + b * two, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_computes_and_returns_in_the_dtype_of_its_inputs(rng, dtype):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H, dtype)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H, dtype)
    for states in ((h0, c0), (None, None), (h0, None)):
        for kwargs in ({}, {"lengths": LENGTHS}):
            *outputs, cache = lstm.lstm_forward(xs, *states, params, **kwargs)
            backward = lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)
            floats = [a for a in arrays_in((outputs, cache, backward)) if a.dtype.kind == "f"]
            assert {a.dtype for a in floats} == {np.dtype(dtype)}
    h, c, step_cache = lstm.lstm_step_forward(xs[0], h0, c0, params)
    step_backward = lstm.lstm_step_backward(dhs[0], dc_last, step_cache)
    assert {a.dtype for a in arrays_in((h, c, step_cache, step_backward))} == {np.dtype(dtype)}
    gates = split_gates(params)
    i = lstm.input_gate(xs[0], h0, *gates["i"])
    f = lstm.forget_gate(xs[0], h0, *gates["f"])
    g = lstm.candidate(xs[0], h0, *gates["g"])
    o = lstm.output_gate(xs[0], h0, *gates["o"])
    c = lstm.cell_state(f, c0, i, g)
    assert {a.dtype for a in (i, f, g, o, c, lstm.hidden_state(o, c))} == {np.dtype(dtype)}

    # and float32 computes the same function as float64
    as64 = {key: value.astype(np.float64) for key, value in params.items()}
    hs, _, c_last, _ = lstm.lstm_forward(xs, h0, c0, params)
    hs64, _, c_last64, _ = lstm.lstm_forward(xs.astype(np.float64), h0.astype(np.float64), c0.astype(np.float64), as64)
    np.testing.assert_allclose(hs, hs64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_last, c_last64, rtol=1e-5, atol=1e-6)


def test_lstm_padded_steps_output_zero_and_carry_both_states(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params, lengths=LENGTHS)
    for n, length in enumerate(LENGTHS):
        assert np.all(hs[length:, n] == 0), f"output of sequence {n} after its length {length}"
        assert np.all(hs[:length, n] != 0)
        h_valid = h0[n] if length == 0 else hs[length - 1, n]
        c_valid = cache.c_all[length, n]  # the state after the last valid step (c0 for length 0)
        if length == 0:
            np.testing.assert_array_equal(c_valid, c0[n])
        np.testing.assert_array_equal(h_last[n], h_valid)  # carried bit for bit
        np.testing.assert_array_equal(c_last[n], c_valid)
        for t in range(length, T):
            np.testing.assert_array_equal(cache.h_all[t + 1, n], h_valid)
            np.testing.assert_array_equal(cache.c_all[t + 1, n], c_valid)


def test_lstm_padded_steps_get_no_gradient_and_their_upstream_gradient_and_input_are_ignored(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    mask = mask_of(LENGTHS, T)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)
    outputs = lstm.lstm_forward(xs, h0, c0, params, mask=mask)
    backward = lstm.lstm_backward(dhs, outputs[-1], dh_last=dh_last, dc_last=dc_last)
    dxs = backward[0]
    assert np.all(dxs[~mask] == 0)
    assert np.all(dxs[mask] != 0)

    # different (huge, finite) values at padded steps, both in the input and in the upstream gradient
    xs_other, dhs_other = xs.copy(), dhs.copy()
    xs_other[~mask] = 1e6 * rng.standard_normal(xs[~mask].shape)
    dhs_other[~mask] = 1e6 * rng.standard_normal(dhs[~mask].shape)
    outputs2 = lstm.lstm_forward(xs_other, h0, c0, params, mask=mask)
    backward2 = lstm.lstm_backward(dhs_other, outputs2[-1], dh_last=dh_last, dc_last=dc_last)
    assert_same((outputs2[:-1], backward2), (outputs[:-1], backward), "with other padding")


def test_lstm_mask_and_lengths_give_identical_results(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)
    results = []
    for kwargs in ({"mask": mask_of(LENGTHS, T)}, {"lengths": LENGTHS}, {"mask": mask_of(LENGTHS, T).astype(int)}):
        *outputs, cache = lstm.lstm_forward(xs, h0, c0, params, **kwargs)
        results.append((outputs, lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)))
    assert_same(results[1], results[0], "lengths vs mask")
    assert_same(results[2], results[0], "0/1 mask vs bool mask")


def test_lstm_all_true_mask_equals_no_mask(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last, dc_last = random_upstream(rng, T, N, H)
    results = []
    for kwargs in ({}, {"mask": np.ones((T, N), bool)}):
        *outputs, cache = lstm.lstm_forward(xs, h0, c0, params, **kwargs)
        results.append((outputs, lstm.lstm_backward(dhs, cache, dh_last=dh_last, dc_last=dc_last)))
    for got, expected in zip(arrays_in(results[1]), arrays_in(results[0]), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_lstm_h0_c0_none_equal_zeros(rng):
    xs, _, _, params = random_sequence(rng, T, N, D, H)
    dhs = rng.standard_normal((T, N, H))
    zeros = np.zeros((N, H))
    *outputs, cache = lstm.lstm_forward(xs, None, None, params, lengths=LENGTHS)
    *outputs0, cache0 = lstm.lstm_forward(xs, zeros, zeros, params, lengths=LENGTHS)
    assert_same((outputs, cache), (outputs0, cache0))
    assert_same(lstm.lstm_backward(dhs, cache), lstm.lstm_backward(dhs, cache0))


def test_lstm_dh_last_dc_last_none_equal_zeros(rng):
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    dhs = rng.standard_normal((T, N, H))
    _, _, _, cache = lstm.lstm_forward(xs, h0, c0, params, lengths=LENGTHS)
    zeros = np.zeros((N, H))
    assert_same(lstm.lstm_backward(dhs, cache), lstm.lstm_backward(dhs, cache, dh_last=zeros, dc_last=zeros))


def test_lstm_forget_gate_at_one_and_input_gate_at_zero_keep_the_cell_state_exactly(rng):
    """The cell path: with f = 1 and i = 0, c_t = c_{t-1} bit for bit, and dc0 = dc_last bit for bit."""
    xs, h0, c0, params = random_sequence(rng, T, N, D, H)
    params["b"][0:H] = -1e3  # sigmoid(-1000 + O(1)) is 0 in float64
    params["b"][H : 2 * H] = 1e3  # sigmoid(1000 + O(1)) is 1 in float64
    hs, h_last, c_last, cache = lstm.lstm_forward(xs, h0, c0, params)
    f_and_i = cache.gates[:, :, : 2 * H]
    assert np.all(f_and_i[:, :, :H] == 0) and np.all(f_and_i[:, :, H:] == 1)
    np.testing.assert_array_equal(c_last, c0)
    np.testing.assert_array_equal(cache.c_all, np.broadcast_to(c0, (T + 1, N, H)))
    np.testing.assert_allclose(hs, cache.gates[:, :, 3 * H :] * np.tanh(c0), rtol=1e-15)  # h_t = o_t tanh(c0)

    # backward: a gradient on c_last alone reaches c0 unchanged, and nothing else
    dc_last = rng.standard_normal((N, H))
    dxs, dh0, dc0, grads = lstm.lstm_backward(np.zeros((T, N, H)), cache, dc_last=dc_last)
    np.testing.assert_array_equal(dc0, dc_last)
    assert np.all(dxs == 0) and np.all(dh0 == 0)
    assert all(np.all(g == 0) for g in grads.values())


# --- bad input ----------------------------------------------------------------------------------
#
# Every array argument, every axis: the message must name the argument and the shape it got, and
# (where the argument is the odd one out) the shape it should have had.

BT, BN, BD, BH = 3, 2, 4, 5  # all different, so that every shape in a message is unambiguous


def valid_arguments(rng):
    return {
        "x": rng.standard_normal((BN, BD)),
        "h_prev": rng.standard_normal((BN, BH)),
        "c_prev": rng.standard_normal((BN, BH)),
        "xs": rng.standard_normal((BT, BN, BD)),
        "h0": rng.standard_normal((BN, BH)),
        "c0": rng.standard_normal((BN, BH)),
        "params": random_params(rng, BD, BH),
    }


def with_shape(arguments, name, shape, rng):
    """A copy of ``arguments`` where the argument or params key ``name`` has the shape ``shape``."""
    arguments = {**arguments, "params": dict(arguments["params"])}
    if name in KEYS:
        arguments["params"][name] = rng.standard_normal(shape)
    else:
        arguments[name] = rng.standard_normal(shape)
    return arguments


def message_name(name):
    return f"params[{name!r}]" if name in KEYS else name


def step_forward(a):
    return lambda: lstm.lstm_step_forward(a["x"], a["h_prev"], a["c_prev"], a["params"])


def sequence_forward(a):
    return lambda: lstm.lstm_forward(a["xs"], a["h0"], a["c0"], a["params"])


PARAM_SHAPES = {"W_x": ((4 * BH, BD), "(4H, D)"), "W_h": ((4 * BH, BH), "(4H, H)"), "b": ((4 * BH,), "(4H,)")}
NOT_A_MULTIPLE = {("W_x", 0): "expected (4H, D): axis 0 has size 21, which is not a multiple of 4"}
STEP_SHAPES = {"x": ((BN, BD), "(N, D)"), "h_prev": ((BN, BH), "(N, H)"), "c_prev": ((BN, BH), "(N, H)")}
SEQUENCE_SHAPES = {"xs": ((BT, BN, BD), "(T, N, D)"), "h0": ((BN, BH), "(N, H)"), "c0": ((BN, BH), "(N, H)")}


@pytest.mark.parametrize(
    "name, bad, expected",
    shape_cases({**STEP_SHAPES, **PARAM_SHAPES}, bound_first={("x", 0), ("W_x", 1)}, expected_for=NOT_A_MULTIPLE),
)
def test_lstm_step_forward_wrong_shape_raises_naming_the_argument(rng, name, bad, expected):
    a = with_shape(valid_arguments(rng), name, bad, rng)
    expect_shape_error(step_forward(a), message_name(name), bad, expected)


@pytest.mark.parametrize(
    "name, bad, expected",
    shape_cases(
        {**SEQUENCE_SHAPES, **PARAM_SHAPES},
        bound_first={("xs", 1), ("W_x", 1)},
        free={("xs", 0)},
        expected_for=NOT_A_MULTIPLE,
    ),
)
def test_lstm_forward_wrong_shape_raises_naming_the_argument(rng, name, bad, expected):
    a = with_shape(valid_arguments(rng), name, bad, rng)
    expect_shape_error(sequence_forward(a), message_name(name), bad, expected)


@pytest.mark.parametrize("mistake", ["transposed", "rows-for-another-H"])
@pytest.mark.parametrize("forward", [step_forward, sequence_forward], ids=["step", "sequence"])
def test_lstm_W_x_of_a_wrong_hidden_size_raises_naming_W_x(rng, forward, mistake):
    """Classic mistakes: W_x stored (D, 4H), or made for another hidden size (4(H - 1), D)."""
    a = valid_arguments(rng)
    W_x = a["params"]["W_x"]
    a["params"]["W_x"] = W_x.T.copy() if mistake == "transposed" else W_x[: 4 * (BH - 1)].copy()
    expect_value_error(forward(a), "params['W_x']", f"from params['W_x'] of shape {a['params']['W_x'].shape}")


GATE_FUNCTIONS = {
    "input_gate": (lstm.input_gate, "i"),
    "forget_gate": (lstm.forget_gate, "f"),
    "candidate": (lstm.candidate, "g"),
    "output_gate": (lstm.output_gate, "o"),
}


def gate_cases():
    cases = []
    for function_name, (_, k) in GATE_FUNCTIONS.items():
        shapes = {
            "x": ((BN, BD), "(N, D)"),
            "h_prev": ((BN, BH), "(N, H)"),
            f"W_x{k}": ((BH, BD), "(H, D)"),
            f"W_h{k}": ((BH, BH), "(H, H)"),
            f"b_{k}": ((BH,), "(H,)"),
        }
        bound_first = {("x", 0), ("x", 1), ("h_prev", 1)}  # x binds N and D, h_prev binds H
        for case in shape_cases(shapes, bound_first=bound_first):
            cases.append(pytest.param(function_name, *case.values, id=f"{function_name}-{case.id}"))
    return cases


@pytest.mark.parametrize("function_name, name, bad, expected", gate_cases())
def test_lstm_gate_functions_wrong_shape_raise_naming_the_argument(rng, function_name, name, bad, expected):
    function, k = GATE_FUNCTIONS[function_name]
    arguments = {
        "x": rng.standard_normal((BN, BD)),
        "h_prev": rng.standard_normal((BN, BH)),
        f"W_x{k}": rng.standard_normal((BH, BD)),
        f"W_h{k}": rng.standard_normal((BH, BH)),
        f"b_{k}": rng.standard_normal(BH),
    }
    arguments[name] = rng.standard_normal(bad)
    expect_shape_error(lambda: function(*arguments.values()), name, bad, expected)


@pytest.mark.parametrize("function_name", GATE_FUNCTIONS)
@pytest.mark.parametrize("position", range(5))
def test_lstm_gate_functions_reject_mixed_and_integer_dtypes_naming_the_argument(rng, function_name, position):
    function, k = GATE_FUNCTIONS[function_name]
    names = ["x", "h_prev", f"W_x{k}", f"W_h{k}", f"b_{k}"]
    arguments = [rng.standard_normal(shape) for shape in ((BN, BD), (BN, BH), (BH, BD), (BH, BH), (BH,))]
    float32 = list(arguments)
    float32[position] = arguments[position].astype(np.float32)
    # the first argument fixes the dtype, so a float32 x is reported against h_prev's float64, and vice versa
    expect_value_error(lambda: function(*float32), names[position], "float32", "float64")
    integer = list(arguments)
    integer[position] = np.ones(arguments[position].shape, dtype=np.int64)
    expect_value_error(lambda: function(*integer), names[position], f"{names[position]} has dtype int64", "floating")


@pytest.mark.parametrize(
    "function, names",
    [(lstm.cell_state, ("f", "c_prev", "i", "g")), (lstm.hidden_state, ("o", "c"))],
    ids=["cell_state", "hidden_state"],
)
def test_lstm_cell_and_hidden_state_wrong_shape_or_dtype_raise_naming_the_argument(rng, function, names):
    for position, name in enumerate(names):
        for axis in (0, 1):
            arguments = [rng.uniform(size=(BN, BH)) for _ in names]
            bad = tuple(size + (i == axis) for i, size in enumerate((BN, BH)))
            arguments[position] = rng.uniform(size=bad)
            # the first argument binds N and H: a wrong one is named as the origin of the sizes (expected None)
            expected = None if position == 0 else f"expected (N, H) = {(BN, BH)}"
            expect_shape_error(lambda a=arguments: function(*a), name, bad, expected)
        arguments = [rng.uniform(size=(BN, BH)) for _ in names]
        arguments[position] = rng.uniform(size=(BN, BH, 1))
        expect_shape_error(lambda a=arguments: function(*a), name, (BN, BH, 1), "expected 2 dimensions (N, H)")
        arguments = [rng.uniform(size=(BN, BH)) for _ in names]
        arguments[position] = arguments[position].astype(np.float32)
        expect_value_error(lambda a=arguments: function(*a), name, "float32", "float64")


@pytest.mark.parametrize("change, fragments", [
    ({"drop": "b"}, ["params has keys ['W_h', 'W_x']", "expected ['W_h', 'W_x', 'b']", "missing ['b']"]),
    ({"add": "p_i"}, ["params has keys ['W_h', 'W_x', 'b', 'p_i']", "unexpected ['p_i']"]),
    ({"add": "W_xi", "drop": "W_x"}, ["missing ['W_x']", "unexpected ['W_xi']"]),
], ids=["missing-key", "extra-key", "misnamed-key"])  # fmt: skip
def test_lstm_params_with_wrong_keys_raise_naming_the_keys(rng, change, fragments):
    a = valid_arguments(rng)
    if "drop" in change:
        del a["params"][change["drop"]]
    if "add" in change:
        a["params"][change["add"]] = rng.standard_normal(BH)
    for forward in (step_forward, sequence_forward):
        expect_value_error(forward(a), "params", *fragments)


def test_lstm_params_that_are_not_a_dict_raise(rng):
    a = valid_arguments(rng)
    a["params"] = tuple(a["params"].values())
    for forward in (step_forward, sequence_forward):
        expect_value_error(forward(a), "params", "must be a dict", "tuple")


@pytest.mark.parametrize("name", ["x/xs", "h_prev/h0", "c_prev/c0", "W_x", "W_h", "b"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_lstm_float32_or_integer_argument_among_float64_raises_naming_it(rng, name, dtype):
    a = valid_arguments(rng)
    if name in KEYS:
        a["params"][name] = a["params"][name].astype(dtype)
        names = [f"params[{name!r}]"] * 2
    else:
        names = name.split("/")
        for key in names:
            a[key] = a[key].astype(dtype)
    detail = "float64" if dtype == np.float32 else "floating"
    for forward, argument in zip((step_forward, sequence_forward), names, strict=True):
        expect_value_error(forward(a), argument, f"{argument} has dtype {np.dtype(dtype)}", detail)


def test_lstm_float32_inputs_with_float64_params_raise_naming_the_input(rng):
    a = valid_arguments(rng)
    for key in ("x", "h_prev", "c_prev", "xs", "h0", "c0"):
        a[key] = a[key].astype(np.float32)
    for forward, argument in zip((step_forward, sequence_forward), ("x", "xs"), strict=True):
        expect_value_error(forward(a), argument, f"{argument} has dtype float32", "params['W_x'] has dtype float64")


@pytest.mark.parametrize("mask, fragments", [
    (np.ones((BN, BT), bool), ["mask has shape (2, 3)", "expected (T, N) = (3, 2)"]),
    (np.ones(BT, bool), ["mask has shape (3,)", "expected (T, N) = (3, 2)"]),
    (np.ones((BT, BN)), ["mask has dtype float64", "expected bool"]),
], ids=["transposed", "rank-1", "float"])  # fmt: skip
def test_lstm_forward_bad_mask_raises_naming_mask(rng, mask, fragments):
    a = valid_arguments(rng)
    expect_value_error(lambda: lstm.lstm_forward(a["xs"], a["h0"], a["c0"], a["params"], mask=mask), "mask", *fragments)


@pytest.mark.parametrize("lengths, fragments", [
    (np.array([3, 1, 2]), ["lengths has shape (3,)", "expected (N,) = (2,)"]),
    (np.array([4, 1]), ["lengths must lie in [0, T] = [0, 3]"]),
], ids=["too-many", "longer-than-T"])  # fmt: skip
def test_lstm_forward_bad_lengths_raise_naming_lengths(rng, lengths, fragments):
    a = valid_arguments(rng)
    call = lambda: lstm.lstm_forward(a["xs"], a["h0"], a["c0"], a["params"], lengths=lengths)  # noqa: E731
    expect_value_error(call, "lengths", *fragments)


def test_lstm_forward_with_both_mask_and_lengths_raises(rng):
    a = valid_arguments(rng)
    lengths = np.array([3, 1])
    mask = mask_of(lengths, BT)
    call = lambda: lstm.lstm_forward(a["xs"], a["h0"], a["c0"], a["params"], mask=mask, lengths=lengths)  # noqa: E731
    message = expect_value_error(call, "mask")
    assert re.search(r"\blengths\b", message), message


@pytest.fixture
def lstm_caches(rng):
    a = valid_arguments(rng)
    _, _, step_cache = lstm.lstm_step_forward(a["x"], a["h_prev"], a["c_prev"], a["params"])
    _, _, _, cache = lstm.lstm_forward(a["xs"], a["h0"], a["c0"], a["params"])
    rnn_params = {"W_x": np.zeros((BH, BD)), "W_h": np.zeros((BH, BH)), "b": np.zeros(BH)}
    _, rnn_step_cache = rnn.rnn_step_forward(a["x"], a["h_prev"], rnn_params)
    _, _, rnn_cache = rnn.rnn_forward(a["xs"], a["h0"], rnn_params)
    return {"step": step_cache, "sequence": cache, "rnn_step": rnn_step_cache, "rnn_sequence": rnn_cache}


@pytest.mark.parametrize("wrong", ["sequence", "rnn_step", "tuple"])
def test_lstm_step_backward_with_a_wrong_cache_type_raises_naming_cache(lstm_caches, wrong):
    cache = tuple(lstm_caches["step"]) if wrong == "tuple" else lstm_caches[wrong]
    zeros = np.zeros((BN, BH))
    call = lambda: lstm.lstm_step_backward(zeros, zeros, cache)  # noqa: E731
    expect_value_error(call, "cache", "LSTMStepCache", f"got {type(cache).__name__}")


@pytest.mark.parametrize("wrong", ["step", "rnn_sequence", "tuple"])
def test_lstm_backward_with_a_wrong_cache_type_raises_naming_cache(lstm_caches, wrong):
    cache = tuple(lstm_caches["sequence"]) if wrong == "tuple" else lstm_caches[wrong]
    call = lambda: lstm.lstm_backward(np.zeros((BT, BN, BH)), cache)  # noqa: E731
    expect_value_error(call, "cache", "LSTMCache", f"got {type(cache).__name__}")


def bad_state_gradients(name):
    return [
        pytest.param(
            name, np.zeros((BN, BH + 1)), [f"{name} has shape (2, 6)", "expected (N, H) = (2, 5)"], id=f"{name}-H"
        ),
        pytest.param(
            name, np.zeros((BN + 1, BH)), [f"{name} has shape (3, 5)", "expected (N, H) = (2, 5)"], id=f"{name}-N"
        ),
        pytest.param(name, np.zeros(BH), [f"{name} has shape (5,)", "expected 2 dimensions (N, H)"], id=f"{name}-rank"),
        pytest.param(
            name, np.zeros((BN, BH), np.float32), [f"{name} has dtype float32", "float64"], id=f"{name}-float32"
        ),
        pytest.param(name, np.zeros((BN, BH), np.int64), [f"{name} has dtype int64", "floating"], id=f"{name}-int"),
    ]


@pytest.mark.parametrize("argument, bad, fragments", bad_state_gradients("dh") + bad_state_gradients("dc"))
def test_lstm_step_backward_bad_upstream_gradient_raises_naming_it(lstm_caches, argument, bad, fragments):
    upstream = {"dh": np.zeros((BN, BH)), "dc": np.zeros((BN, BH)), argument: bad}
    call = lambda: lstm.lstm_step_backward(upstream["dh"], upstream["dc"], lstm_caches["step"])  # noqa: E731
    expect_value_error(call, argument, *fragments)


@pytest.mark.parametrize("argument, bad, fragments", [
    ("dhs", np.zeros((BT, BN, BH + 1)), ["dhs has shape (3, 2, 6)", "expected (T, N, H) = (3, 2, 5)"]),
    ("dhs", np.zeros((BT - 1, BN, BH)), ["dhs has shape (2, 2, 5)", "expected (T, N, H) = (3, 2, 5)"]),
    ("dhs", np.zeros((BT, BN + 1, BH)), ["dhs has shape (3, 3, 5)", "expected (T, N, H) = (3, 2, 5)"]),
    ("dhs", np.zeros((BN, BH)), ["dhs has shape (2, 5)", "expected 3 dimensions (T, N, H)"]),
    ("dhs", np.zeros((BT, BN, BH), np.float32), ["dhs has dtype float32", "float64"]),
    ("dhs", None, ["dhs is None", "(T, N, H)"]),
], ids=["dhs-H", "dhs-T", "dhs-N", "dhs-rank", "dhs-float32", "dhs-None"])  # fmt: skip
def test_lstm_backward_bad_dhs_raises_naming_dhs(lstm_caches, argument, bad, fragments):
    expect_value_error(lambda: lstm.lstm_backward(bad, lstm_caches["sequence"]), argument, *fragments)


@pytest.mark.parametrize(
    "argument, bad, fragments",
    [case for name in ("dh_last", "dc_last") for case in bad_state_gradients(name)],
)
def test_lstm_backward_bad_final_state_gradient_raises_naming_it(lstm_caches, argument, bad, fragments):
    call = lambda: lstm.lstm_backward(np.zeros((BT, BN, BH)), lstm_caches["sequence"], **{argument: bad})  # noqa: E731
    expect_value_error(call, argument, *fragments)
