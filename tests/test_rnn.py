"""Tests of rnn_ref.rnn: the vanilla RNN step, sequence, and BPTT.

Three independent kinds of evidence for every backward pass:
central differences (float64), PyTorch's torch.nn.RNN (float64, every
parameter random, both torch biases), and properties (T = 1 is one step, the
sequence is a loop of steps, masks, linearity, dtypes, no mutation).
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
    numerical_gradient,
    shape_cases,
)

from rnn_ref import lstm, rnn

T, N, D, H = 4, 3, 2, 3  # small shapes for the gradient checks
LENGTHS = np.array([4, 0, 2])  # a full-length sequence, an empty one, one in between


def random_params(rng, D, H, dtype=np.float64, scale=0.5):
    """W_x (H, D), W_h (H, H), b (H,), all random, small enough to keep tanh out of saturation."""
    return {
        "W_x": (scale * rng.standard_normal((H, D))).astype(dtype),
        "W_h": (scale * rng.standard_normal((H, H))).astype(dtype),
        "b": (scale * rng.standard_normal(H)).astype(dtype),
    }


def random_sequence(rng, T, N, D, H, dtype=np.float64):
    xs = rng.standard_normal((T, N, D)).astype(dtype)
    h0 = (0.5 * rng.standard_normal((N, H))).astype(dtype)
    return xs, h0, random_params(rng, D, H, dtype)


def mask_of(lengths, T):
    """Independent of rnn_ref.masks: mask[t, n] is True for t < lengths[n]."""
    return np.array([[t < length for length in lengths] for t in range(T)])


# --- the instrument ----------------------------------------------------------------------------


def test_numerical_gradient_helper_matches_a_known_derivative(rng):
    x = rng.standard_normal((3, 2))
    w = rng.standard_normal((3, 2))
    x_before = x.copy()
    numeric = numerical_gradient(lambda v: np.sum(w * np.sin(v)), x)
    np.testing.assert_allclose(numeric, w * np.cos(x), rtol=1e-8, atol=1e-10)
    assert_same(x, x_before)
    with pytest.raises(TypeError):
        numerical_gradient(lambda v: v.sum(), x.astype(np.float32))


# --- 1. numerical gradient checks ----------------------------------------------------------------


def test_rnn_step_backward_matches_numeric(rng):
    params = random_params(rng, D, H)
    inputs = {"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)), **params}
    dh = rng.standard_normal((N, H))  # the loss is the linear functional sum(dh * h)

    def loss(v):
        h, _ = rnn.rnn_step_forward(v["x"], v["h_prev"], {k: v[k] for k in ("W_x", "W_h", "b")})
        return np.sum(dh * h)

    _, cache = rnn.rnn_step_forward(inputs["x"], inputs["h_prev"], params)
    dx, dh_prev, grads = rnn.rnn_step_backward(dh, cache)
    check_gradients(loss, inputs, {"x": dx, "h_prev": dh_prev, **grads})


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["no-mask", "mask-lengths-4-0-2"])
@pytest.mark.parametrize("with_dh_last", [False, True], ids=["no-dh_last", "dh_last"])
def test_rnn_backward_matches_numeric(rng, lengths, with_dh_last):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    inputs = {"xs": xs, "h0": h0, **params}
    mask = None if lengths is None else mask_of(lengths, T)
    dhs = rng.standard_normal((T, N, H))  # random at padded steps too: they must be ignored
    dh_last = rng.standard_normal((N, H)) if with_dh_last else None

    def loss(v):
        hs, h_last, _ = rnn.rnn_forward(v["xs"], v["h0"], {k: v[k] for k in ("W_x", "W_h", "b")}, mask=mask)
        return np.sum(dhs * hs) + (np.sum(dh_last * h_last) if with_dh_last else 0.0)

    _, _, cache = rnn.rnn_forward(xs, h0, params, mask=mask)
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last=dh_last)
    check_gradients(loss, inputs, {"xs": dxs, "h0": dh0, **grads})


# --- 2. agreement with PyTorch (float64) ---------------------------------------------------------


def torch_rnn(torch, xs, h0, W_x, W_h, b_ih, b_hh, lengths, dhs, dh_last):
    """Outputs, final state and every gradient of torch.nn.RNN(tanh) for loss = <dhs, hs> + <dh_last, h_n>."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    T, N, D = xs.shape
    layer = torch.nn.RNN(D, W_h.shape[0], nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W_x), ("weight_hh_l0", W_h), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(layer, name).copy_(torch.from_numpy(value))
    x_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)  # (num_layers = 1, N, H)
    if lengths is None:
        out, h_n = layer(x_t, h0_t)
    else:
        packed = pack_padded_sequence(x_t, torch.as_tensor(lengths), enforce_sorted=False)
        out_packed, h_n = layer(packed, h0_t)
        out, _ = pad_packed_sequence(out_packed, total_length=T)
    loss = (out * torch.from_numpy(dhs)).sum() + (h_n[0] * torch.from_numpy(dh_last)).sum()
    loss.backward()
    grads = {name: getattr(layer, name).grad.numpy() for name in ("weight_ih_l0", "weight_hh_l0")}
    grads.update({name: getattr(layer, name).grad.numpy() for name in ("bias_ih_l0", "bias_hh_l0")})
    return out.detach().numpy(), h_n[0].detach().numpy(), x_t.grad.numpy(), h0_t.grad[0].numpy(), grads


TORCH_SHAPES = [(1, 1, 2, 3), (5, 3, 4, 2), (3, 4, 1, 5), (6, 2, 3, 3)]  # (T, N, D, H), N = 1 and T = 1 included


@pytest.mark.torch
@pytest.mark.parametrize("shape", TORCH_SHAPES, ids=lambda s: "T{}-N{}-D{}-H{}".format(*s))
@pytest.mark.parametrize("how", ["full", "lengths", "mask"])
def test_rnn_forward_and_backward_match_torch(torch, shape, how):
    T, N, D, H = shape
    rng = np.random.default_rng(list(shape) + [len(how)])
    xs, h0, params = random_sequence(rng, T, N, D, H)
    b_ih, b_hh = rng.standard_normal(H), rng.standard_normal(H)
    params["b"] = b_ih + b_hh  # ours has one bias, torch two
    lengths = None
    if how != "full":  # packed sequences need lengths >= 1; one sequence full length, one of length 1
        lengths = rng.integers(1, T + 1, size=N)
        lengths[0] = T
        lengths[-1] = 1 if N > 1 else lengths[-1]
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))

    out, h_n, dxs_t, dh0_t, g = torch_rnn(
        torch, xs, h0, params["W_x"], params["W_h"], b_ih, b_hh, lengths, dhs, dh_last
    )
    kwargs = {
        "full": {},
        "lengths": {"lengths": lengths},
        "mask": {"mask": mask_of(lengths, T) if lengths is not None else None},
    }
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params, **kwargs[how])
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last=dh_last)

    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(hs, out, **close, err_msg="hs")
    np.testing.assert_allclose(h_last, h_n, **close, err_msg="h_last")
    np.testing.assert_allclose(dxs, dxs_t, **close, err_msg="dxs")
    np.testing.assert_allclose(dh0, dh0_t, **close, err_msg="dh0")
    np.testing.assert_allclose(grads["W_x"], g["weight_ih_l0"], **close, err_msg="W_x")
    np.testing.assert_allclose(grads["W_h"], g["weight_hh_l0"], **close, err_msg="W_h")
    np.testing.assert_allclose(grads["b"], g["bias_ih_l0"], **close, err_msg="b vs bias_ih")
    np.testing.assert_allclose(grads["b"], g["bias_hh_l0"], **close, err_msg="b vs bias_hh")


@pytest.mark.torch
def test_rnn_step_forward_and_backward_match_torch_rnn_cell(torch, rng):
    xs, h_prev, params = random_sequence(rng, 1, N, D, H)
    b_ih, b_hh = rng.standard_normal(H), rng.standard_normal(H)
    params["b"] = b_ih + b_hh
    dh = rng.standard_normal((N, H))
    h, cache = rnn.rnn_step_forward(xs[0], h_prev, params)
    dx, dh_prev, grads = rnn.rnn_step_backward(dh, cache)

    cell = torch.nn.RNNCell(D, H, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        for name, value in (
            ("weight_ih", params["W_x"]),
            ("weight_hh", params["W_h"]),
            ("bias_ih", b_ih),
            ("bias_hh", b_hh),
        ):
            getattr(cell, name).copy_(torch.from_numpy(value))
    x_t, h_prev_t = torch.tensor(xs[0], requires_grad=True), torch.tensor(h_prev, requires_grad=True)
    h_t = cell(x_t, h_prev_t)
    (h_t * torch.from_numpy(dh)).sum().backward()

    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(h, h_t.detach().numpy(), **close, err_msg="h")
    np.testing.assert_allclose(dx, x_t.grad.numpy(), **close, err_msg="dx")
    np.testing.assert_allclose(dh_prev, h_prev_t.grad.numpy(), **close, err_msg="dh_prev")
    np.testing.assert_allclose(grads["W_x"], cell.weight_ih.grad.numpy(), **close, err_msg="W_x")
    np.testing.assert_allclose(grads["W_h"], cell.weight_hh.grad.numpy(), **close, err_msg="W_h")
    np.testing.assert_allclose(grads["b"], cell.bias_ih.grad.numpy(), **close, err_msg="b vs bias_ih")
    np.testing.assert_allclose(grads["b"], cell.bias_hh.grad.numpy(), **close, err_msg="b vs bias_hh")


# --- 3. properties -------------------------------------------------------------------------------


def test_rnn_with_one_time_step_equals_one_step_forward_and_backward(rng):
    xs, h0, params = random_sequence(rng, 1, N, D, H)
    dhs, dh_last = rng.standard_normal((1, N, H)), rng.standard_normal((N, H))
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params)
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last=dh_last)

    h, step_cache = rnn.rnn_step_forward(xs[0], h0, params)
    dx, dh_prev, step_grads = rnn.rnn_step_backward(dhs[0] + dh_last, step_cache)  # h_last is hs[0]
    close = {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(hs[0], h, **close)
    np.testing.assert_allclose(h_last, h, **close)
    np.testing.assert_allclose(dxs[0], dx, **close)
    np.testing.assert_allclose(dh0, dh_prev, **close)
    for key in grads:
        np.testing.assert_allclose(grads[key], step_grads[key], **close, err_msg=key)


def test_rnn_forward_equals_a_loop_of_step_forwards_and_backward_a_loop_of_step_backwards(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params)
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last=dh_last)

    h, step_caches, step_hs = h0, [], []
    for t in range(T):
        h, step_cache = rnn.rnn_step_forward(xs[t], h, params)
        step_hs.append(h)
        step_caches.append(step_cache)
    dh, step_dxs = dh_last, [None] * T
    step_grads = {key: np.zeros_like(value) for key, value in params.items()}
    for t in reversed(range(T)):
        step_dxs[t], dh, g = rnn.rnn_step_backward(dhs[t] + dh, step_caches[t])
        step_grads = {key: step_grads[key] + g[key] for key in g}

    close = {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(hs, np.stack(step_hs), **close)
    np.testing.assert_allclose(h_last, h, **close)
    np.testing.assert_allclose(dxs, np.stack(step_dxs), **close)
    np.testing.assert_allclose(dh0, dh, **close)
    for key in grads:
        np.testing.assert_allclose(grads[key], step_grads[key], **close, err_msg=key)


def test_rnn_masked_batch_equals_each_sequence_run_alone_on_its_valid_steps(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params, mask=mask_of(LENGTHS, T))
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last=dh_last)

    summed = {key: np.zeros_like(value) for key, value in params.items()}
    close = {"rtol": 1e-12, "atol": 1e-13}
    for n, length in enumerate(LENGTHS):
        # sequence n alone, unpadded, as a batch of one; a length-0 sequence runs no step at all
        h, caches = h0[n : n + 1], []
        for t in range(length):
            h, step_cache = rnn.rnn_step_forward(xs[t, n : n + 1], h, params)
            np.testing.assert_allclose(hs[t, n], h[0], **close, err_msg=f"hs[{t}, {n}]")
            caches.append(step_cache)
        np.testing.assert_allclose(h_last[n], h[0], **close, err_msg=f"h_last[{n}]")
        dh = dh_last[n : n + 1]
        for t in reversed(range(length)):
            dx, dh, g = rnn.rnn_step_backward(dhs[t, n : n + 1] + dh, caches[t])
            np.testing.assert_allclose(dxs[t, n], dx[0], **close, err_msg=f"dxs[{t}, {n}]")
            summed = {key: summed[key] + g[key] for key in g}
        np.testing.assert_allclose(dh0[n], dh[0], **close, err_msg=f"dh0[{n}]")
    for key in grads:
        np.testing.assert_allclose(grads[key], summed[key], **close, err_msg=key)


def test_rnn_step_functions_do_not_mutate_their_arguments(rng):
    params = random_params(rng, D, H)
    x, h_prev, dh = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    before = copy.deepcopy((x, h_prev, params))
    h, cache = rnn.rnn_step_forward(x, h_prev, params)
    assert_same((x, h_prev, params), before, "arguments of rnn_step_forward")
    cache_before, dh_before = copy.deepcopy(cache), dh.copy()
    rnn.rnn_step_backward(dh, cache)
    assert_same(cache, cache_before, "cache")
    assert_same(dh, dh_before, "dh")
    assert_same((x, h_prev, params), before, "arguments of rnn_step_forward, after backward")


@pytest.mark.parametrize("mask_kwarg", ["none", "mask", "lengths"])
def test_rnn_forward_and_backward_do_not_mutate_their_arguments(rng, mask_kwarg):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    kwargs = {"none": {}, "mask": {"mask": mask_of(LENGTHS, T)}, "lengths": {"lengths": LENGTHS.copy()}}[mask_kwarg]
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))
    before = copy.deepcopy((xs, h0, params, kwargs))
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params, **kwargs)
    assert_same((xs, h0, params, kwargs), before, "arguments of rnn_forward")
    cache_before, upstream_before = copy.deepcopy(cache), copy.deepcopy((dhs, dh_last))
    rnn.rnn_backward(dhs, cache, dh_last=dh_last)
    assert_same(cache, cache_before, "cache")
    assert_same((dhs, dh_last), upstream_before, "dhs, dh_last")
    assert_same((xs, h0, params, kwargs), before, "arguments of rnn_forward, after backward")


def test_rnn_sequence_outputs_do_not_share_memory_with_the_cache(rng):
    """A caller may do ``hs += noise``; that must not change what backward sees."""
    xs, h0, params = random_sequence(rng, T, N, D, H)
    for kwargs in ({}, {"lengths": LENGTHS}):
        hs, h_last, cache = rnn.rnn_forward(xs, h0, params, **kwargs)
        dxs, dh0, grads = rnn.rnn_backward(np.ones_like(hs), cache)
        for out in (hs, h_last, dxs, dh0, *grads.values()):
            assert not any(np.shares_memory(out, a) for a in arrays_in(cache))


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["no-mask", "mask"])
def test_rnn_backward_is_linear_in_the_upstream_gradient(rng, lengths):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    _, _, cache = rnn.rnn_forward(xs, h0, params, lengths=lengths)
    d1 = (rng.standard_normal((T, N, H)), rng.standard_normal((N, H)))
    d2 = (rng.standard_normal((T, N, H)), rng.standard_normal((N, H)))
    a, b = 0.7, -2.3
    combined = rnn.rnn_backward(a * d1[0] + b * d2[0], cache, dh_last=a * d1[1] + b * d2[1])
    g1 = rnn.rnn_backward(d1[0], cache, dh_last=d1[1])
    g2 = rnn.rnn_backward(d2[0], cache, dh_last=d2[1])
    for name, got, one, two in zip(("dxs", "dh0"), combined[:2], g1[:2], g2[:2], strict=True):
        np.testing.assert_allclose(got, a * one + b * two, rtol=1e-12, atol=1e-13, err_msg=name)
    for key in combined[2]:
        np.testing.assert_allclose(combined[2][key], a * g1[2][key] + b * g2[2][key], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rnn_computes_and_returns_in_the_dtype_of_its_inputs(rng, dtype):
    xs, h0, params = random_sequence(rng, T, N, D, H, dtype)
    dhs, dh_last = rng.standard_normal((T, N, H)).astype(dtype), rng.standard_normal((N, H)).astype(dtype)
    for h_init in (h0, None):
        for kwargs in ({}, {"lengths": LENGTHS}):
            hs, h_last, cache = rnn.rnn_forward(xs, h_init, params, **kwargs)
            backward = rnn.rnn_backward(dhs, cache, dh_last=dh_last)
            floats = [a for a in arrays_in((hs, h_last, cache, backward)) if a.dtype.kind == "f"]
            assert {a.dtype for a in floats} == {np.dtype(dtype)}
    h, step_cache = rnn.rnn_step_forward(xs[0], h0, params)
    step_backward = rnn.rnn_step_backward(dhs[0], step_cache)
    assert {a.dtype for a in arrays_in((h, step_cache, step_backward))} == {np.dtype(dtype)}

    # and float32 computes the same function as float64
    as64 = {key: value.astype(np.float64) for key, value in params.items()}
    hs, h_last, _ = rnn.rnn_forward(xs, h0, params)
    hs64, h_last64, _ = rnn.rnn_forward(xs.astype(np.float64), h0.astype(np.float64), as64)
    np.testing.assert_allclose(hs, hs64, rtol=1e-5, atol=1e-6)


def test_rnn_padded_steps_output_zero_and_carry_the_state(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params, lengths=LENGTHS)
    for n, length in enumerate(LENGTHS):
        assert np.all(hs[length:, n] == 0), f"output of sequence {n} after its length {length}"
        assert np.all(hs[:length, n] != 0)
        last_valid = h0[n] if length == 0 else hs[length - 1, n]
        np.testing.assert_array_equal(h_last[n], last_valid)  # carried bit for bit
        for t in range(length, T):
            np.testing.assert_array_equal(cache.h_all[t + 1, n], last_valid)


def test_rnn_padded_steps_get_no_gradient_and_their_upstream_gradient_and_input_are_ignored(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    mask = mask_of(LENGTHS, T)
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))
    hs, h_last, cache = rnn.rnn_forward(xs, h0, params, mask=mask)
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache, dh_last=dh_last)
    assert np.all(dxs[~mask] == 0)
    assert np.all(dxs[mask] != 0)

    # different (huge, finite) values at padded steps, both in the input and in the upstream gradient
    xs_other, dhs_other = xs.copy(), dhs.copy()
    xs_other[~mask] = 1e6 * rng.standard_normal(xs[~mask].shape)
    dhs_other[~mask] = 1e6 * rng.standard_normal(dhs[~mask].shape)
    hs2, h_last2, cache2 = rnn.rnn_forward(xs_other, h0, params, mask=mask)
    dxs2, dh02, grads2 = rnn.rnn_backward(dhs_other, cache2, dh_last=dh_last)
    assert_same((hs2, h_last2, dxs2, dh02, grads2), (hs, h_last, dxs, dh0, grads), "with other padding")


def test_rnn_mask_and_lengths_give_identical_results(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))
    results = []
    for kwargs in ({"mask": mask_of(LENGTHS, T)}, {"lengths": LENGTHS}, {"mask": mask_of(LENGTHS, T).astype(int)}):
        hs, h_last, cache = rnn.rnn_forward(xs, h0, params, **kwargs)
        results.append((hs, h_last, rnn.rnn_backward(dhs, cache, dh_last=dh_last)))
    assert_same(results[1], results[0], "lengths vs mask")
    assert_same(results[2], results[0], "0/1 mask vs bool mask")


def test_rnn_all_true_mask_equals_no_mask(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    dhs, dh_last = rng.standard_normal((T, N, H)), rng.standard_normal((N, H))
    results = []
    for kwargs in ({}, {"mask": np.ones((T, N), bool)}):
        hs, h_last, cache = rnn.rnn_forward(xs, h0, params, **kwargs)
        results.append((hs, h_last, *rnn.rnn_backward(dhs, cache, dh_last=dh_last)))
    for name, got, expected in zip(("hs", "h_last", "dxs", "dh0", "grads"), results[1], results[0], strict=True):
        for a, e in zip(arrays_in(got), arrays_in(expected), strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-14, err_msg=name)


def test_rnn_h0_none_equals_zeros(rng):
    xs, _, params = random_sequence(rng, T, N, D, H)
    dhs = rng.standard_normal((T, N, H))
    hs, h_last, cache = rnn.rnn_forward(xs, None, params, lengths=LENGTHS)
    hs0, h_last0, cache0 = rnn.rnn_forward(xs, np.zeros((N, H)), params, lengths=LENGTHS)
    assert_same((hs, h_last, cache), (hs0, h_last0, cache0))
    assert_same(rnn.rnn_backward(dhs, cache), rnn.rnn_backward(dhs, cache0))


def test_rnn_dh_last_none_equals_zeros(rng):
    xs, h0, params = random_sequence(rng, T, N, D, H)
    dhs = rng.standard_normal((T, N, H))
    _, _, cache = rnn.rnn_forward(xs, h0, params, lengths=LENGTHS)
    assert_same(rnn.rnn_backward(dhs, cache), rnn.rnn_backward(dhs, cache, dh_last=np.zeros((N, H))))


# --- bad input ----------------------------------------------------------------------------------
#
# Every array argument, every axis: the message must name the argument and the shape it got, and
# (where the argument is the odd one out) the shape it should have had.

BT, BN, BD, BH = 3, 2, 4, 5  # all different, so that every shape in a message is unambiguous


def valid_arguments(rng):
    return {
        "x": rng.standard_normal((BN, BD)),
        "h_prev": rng.standard_normal((BN, BH)),
        "xs": rng.standard_normal((BT, BN, BD)),
        "h0": rng.standard_normal((BN, BH)),
        "params": random_params(rng, BD, BH),
    }


def with_shape(arguments, name, shape, rng):
    """A copy of ``arguments`` where the argument or params key ``name`` has the shape ``shape``."""
    arguments = {**arguments, "params": dict(arguments["params"])}
    if name in arguments["params"]:
        arguments["params"][name] = rng.standard_normal(shape)
    else:
        arguments[name] = rng.standard_normal(shape)
    return arguments


def message_name(name):
    return f"params[{name!r}]" if name in ("W_x", "W_h", "b") else name


PARAM_SHAPES = {"W_x": ((BH, BD), "(H, D)"), "W_h": ((BH, BH), "(H, H)"), "b": ((BH,), "(H,)")}
STEP_SHAPES = {"x": ((BN, BD), "(N, D)"), "h_prev": ((BN, BH), "(N, H)"), **PARAM_SHAPES}
SEQUENCE_SHAPES = {"xs": ((BT, BN, BD), "(T, N, D)"), "h0": ((BN, BH), "(N, H)"), **PARAM_SHAPES}


@pytest.mark.parametrize(
    "name, bad, expected", shape_cases(STEP_SHAPES, bound_first={("x", 0), ("W_x", 0), ("W_x", 1)})
)
def test_rnn_step_forward_wrong_shape_raises_naming_the_argument(rng, name, bad, expected):
    a = with_shape(valid_arguments(rng), name, bad, rng)
    call = lambda: rnn.rnn_step_forward(a["x"], a["h_prev"], a["params"])  # noqa: E731
    expect_shape_error(call, message_name(name), bad, expected)


@pytest.mark.parametrize(
    "name, bad, expected",
    shape_cases(SEQUENCE_SHAPES, bound_first={("xs", 1), ("W_x", 0), ("W_x", 1)}, free={("xs", 0)}),
)
def test_rnn_forward_wrong_shape_raises_naming_the_argument(rng, name, bad, expected):
    a = with_shape(valid_arguments(rng), name, bad, rng)
    call = lambda: rnn.rnn_forward(a["xs"], a["h0"], a["params"])  # noqa: E731
    expect_shape_error(call, message_name(name), bad, expected)


@pytest.mark.parametrize("forward", ["step", "sequence"])
def test_rnn_transposed_W_x_raises_naming_W_x(rng, forward):
    """The classic mistake: W_x stored (D, H) instead of (H, D)."""
    a = valid_arguments(rng)
    a["params"]["W_x"] = a["params"]["W_x"].T.copy()
    if forward == "step":
        call = lambda: rnn.rnn_step_forward(a["x"], a["h_prev"], a["params"])  # noqa: E731
    else:
        call = lambda: rnn.rnn_forward(a["xs"], a["h0"], a["params"])  # noqa: E731
    expect_value_error(call, "params['W_x']", "from params['W_x'] of shape (4, 5)")


def both_forwards(a):
    """Call the step forward, then the sequence forward, with the arguments ``a``; both must raise."""
    return [
        lambda: rnn.rnn_step_forward(a["x"], a["h_prev"], a["params"]),
        lambda: rnn.rnn_forward(a["xs"], a["h0"], a["params"]),
    ]


@pytest.mark.parametrize("change, fragments", [
    ({"drop": "b"}, ["params has keys ['W_h', 'W_x']", "expected ['W_h', 'W_x', 'b']", "missing ['b']"]),
    ({"add": "b_hn"}, ["params has keys ['W_h', 'W_x', 'b', 'b_hn']", "unexpected ['b_hn']"]),
    ({"add": "W_xi", "drop": "W_x"}, ["missing ['W_x']", "unexpected ['W_xi']"]),
], ids=["missing-key", "extra-key", "misnamed-key"])  # fmt: skip
def test_rnn_params_with_wrong_keys_raise_naming_the_keys(rng, change, fragments):
    a = valid_arguments(rng)
    if "drop" in change:
        del a["params"][change["drop"]]
    if "add" in change:
        a["params"][change["add"]] = rng.standard_normal(BH)
    for call in both_forwards(a):
        expect_value_error(call, "params", *fragments)


def test_rnn_params_that_are_not_a_dict_raise(rng):
    a = valid_arguments(rng)
    a["params"] = list(a["params"].values())
    for call in both_forwards(a):
        expect_value_error(call, "params", "must be a dict", "list")


@pytest.mark.parametrize("name", ["x/xs", "h_prev/h0", "W_x", "W_h", "b"])
def test_rnn_float32_argument_among_float64_raises_naming_it(rng, name):
    a = valid_arguments(rng)
    if name in a["params"]:
        a["params"][name] = a["params"][name].astype(np.float32)
        names = [f"params[{name!r}]"] * 2
    else:
        step_name, sequence_name = name.split("/")
        a[step_name], a[sequence_name] = a[step_name].astype(np.float32), a[sequence_name].astype(np.float32)
        names = [step_name, sequence_name]
    for call, argument in zip(both_forwards(a), names, strict=True):
        expect_value_error(call, argument, f"{argument} has dtype float32", "float64")


def test_rnn_float32_inputs_with_float64_params_raise_naming_the_input(rng):
    a = valid_arguments(rng)
    for key in ("x", "h_prev", "xs", "h0"):
        a[key] = a[key].astype(np.float32)
    for call, argument in zip(both_forwards(a), ("x", "xs"), strict=True):
        expect_value_error(call, argument, f"{argument} has dtype float32", "params['W_x'] has dtype float64")


@pytest.mark.parametrize("name", ["x/xs", "h_prev/h0", "W_h"])
def test_rnn_integer_arrays_raise_naming_the_argument(rng, name):
    a = valid_arguments(rng)
    if name in a["params"]:
        a["params"][name] = np.ones(a["params"][name].shape, dtype=np.int64)
        names = [f"params[{name!r}]"] * 2
    else:
        names = name.split("/")
        for key in names:
            a[key] = np.ones(a[key].shape, dtype=np.int64)
    for call, argument in zip(both_forwards(a), names, strict=True):
        expect_value_error(call, argument, f"{argument} has dtype int64", "floating")


@pytest.mark.parametrize("mask, fragments", [
    (np.ones((BN, BT), bool), ["mask has shape (2, 3)", "expected (T, N) = (3, 2)"]),
    (np.ones(BT, bool), ["mask has shape (3,)", "expected (T, N) = (3, 2)"]),
    (np.ones((BT + 1, BN), bool), ["mask has shape (4, 2)", "expected (T, N) = (3, 2)"]),
    (np.ones((BT, BN)), ["mask has dtype float64", "expected bool"]),
    (np.full((BT, BN), 2), ["mask has dtype int64", "expected bool"]),
], ids=["transposed", "rank-1", "too-long", "float", "int-not-0-1"])  # fmt: skip
def test_rnn_forward_bad_mask_raises_naming_mask(rng, mask, fragments):
    a = valid_arguments(rng)
    expect_value_error(lambda: rnn.rnn_forward(a["xs"], a["h0"], a["params"], mask=mask), "mask", *fragments)


@pytest.mark.parametrize("lengths, fragments", [
    (np.array([3, 1, 2]), ["lengths has shape (3,)", "expected (N,) = (2,)"]),
    (np.array([[3, 1]]), ["lengths has shape (1, 2)", "expected (N,) = (2,)"]),
    (np.array([4, 1]), ["lengths must lie in [0, T] = [0, 3]"]),
    (np.array([-1, 1]), ["lengths must lie in [0, T] = [0, 3]"]),
    (np.array([3.0, 1.0]), ["lengths has shape (2,) and dtype float64", "integers"]),
], ids=["too-many", "rank-2", "longer-than-T", "negative", "float"])  # fmt: skip
def test_rnn_forward_bad_lengths_raise_naming_lengths(rng, lengths, fragments):
    a = valid_arguments(rng)
    expect_value_error(lambda: rnn.rnn_forward(a["xs"], a["h0"], a["params"], lengths=lengths), "lengths", *fragments)


def test_rnn_forward_with_both_mask_and_lengths_raises(rng):
    a = valid_arguments(rng)
    lengths = np.array([3, 1])
    message = expect_value_error(
        lambda: rnn.rnn_forward(a["xs"], a["h0"], a["params"], mask=mask_of(lengths, BT), lengths=lengths), "mask"
    )
    assert re.search(r"\blengths\b", message), message


@pytest.fixture
def rnn_caches(rng):
    a = valid_arguments(rng)
    _, step_cache = rnn.rnn_step_forward(a["x"], a["h_prev"], a["params"])
    _, _, cache = rnn.rnn_forward(a["xs"], a["h0"], a["params"])
    lstm_params = {"W_x": np.zeros((4 * BH, BD)), "W_h": np.zeros((4 * BH, BH)), "b": np.zeros(4 * BH)}
    _, _, lstm_step_cache = lstm.lstm_step_forward(a["x"], a["h_prev"], a["h_prev"], lstm_params)
    _, _, _, lstm_cache = lstm.lstm_forward(a["xs"], a["h0"], a["h0"], lstm_params)
    return {"step": step_cache, "sequence": cache, "lstm_step": lstm_step_cache, "lstm_sequence": lstm_cache}


@pytest.mark.parametrize("wrong", ["sequence", "lstm_step", "tuple"])
def test_rnn_step_backward_with_a_wrong_cache_type_raises_naming_cache(rnn_caches, wrong):
    cache = tuple(rnn_caches["step"]) if wrong == "tuple" else rnn_caches[wrong]
    expected_type = type(cache).__name__
    dh = np.zeros((BN, BH))
    expect_value_error(lambda: rnn.rnn_step_backward(dh, cache), "cache", "RNNStepCache", f"got {expected_type}")


@pytest.mark.parametrize("wrong", ["step", "lstm_sequence", "tuple"])
def test_rnn_backward_with_a_wrong_cache_type_raises_naming_cache(rnn_caches, wrong):
    cache = tuple(rnn_caches["sequence"]) if wrong == "tuple" else rnn_caches[wrong]
    expected_type = type(cache).__name__
    dhs = np.zeros((BT, BN, BH))
    expect_value_error(lambda: rnn.rnn_backward(dhs, cache), "cache", "RNNCache", f"got {expected_type}")


@pytest.mark.parametrize("bad, fragments", [
    (np.zeros((BN, BH + 1)), ["dh has shape (2, 6)", "expected (N, H) = (2, 5)"]),
    (np.zeros((BN + 1, BH)), ["dh has shape (3, 5)", "expected (N, H) = (2, 5)"]),
    (np.zeros(BH), ["dh has shape (5,)", "expected 2 dimensions (N, H)"]),
    (np.zeros((BN, BH), np.float32), ["dh has dtype float32", "float64"]),
    (np.zeros((BN, BH), np.int64), ["dh has dtype int64", "floating"]),
    (None, ["dh is None", "(N, H)"]),
], ids=["wrong-H", "wrong-N", "rank-1", "float32", "int", "None"])  # fmt: skip
def test_rnn_step_backward_bad_dh_raises_naming_dh(rnn_caches, bad, fragments):
    expect_value_error(lambda: rnn.rnn_step_backward(bad, rnn_caches["step"]), "dh", *fragments)


@pytest.mark.parametrize("argument, bad, fragments", [
    ("dhs", np.zeros((BT, BN, BH + 1)), ["dhs has shape (3, 2, 6)", "expected (T, N, H) = (3, 2, 5)"]),
    ("dhs", np.zeros((BT - 1, BN, BH)), ["dhs has shape (2, 2, 5)", "expected (T, N, H) = (3, 2, 5)"]),
    ("dhs", np.zeros((BT, BN + 1, BH)), ["dhs has shape (3, 3, 5)", "expected (T, N, H) = (3, 2, 5)"]),
    ("dhs", np.zeros((BN, BH)), ["dhs has shape (2, 5)", "expected 3 dimensions (T, N, H)"]),
    ("dhs", np.zeros((BT, BN, BH), np.float32), ["dhs has dtype float32", "float64"]),
    ("dhs", np.zeros((BT, BN, BH), np.int64), ["dhs has dtype int64", "floating"]),
    ("dh_last", np.zeros((BN, BH + 1)), ["dh_last has shape (2, 6)", "expected (N, H) = (2, 5)"]),
    ("dh_last", np.zeros((BN + 1, BH)), ["dh_last has shape (3, 5)", "expected (N, H) = (2, 5)"]),
    ("dh_last", np.zeros((1, BN, BH)), ["dh_last has shape (1, 2, 5)", "expected 2 dimensions (N, H)"]),
    ("dh_last", np.zeros((BN, BH), np.float32), ["dh_last has dtype float32", "float64"]),
], ids=["dhs-H", "dhs-T", "dhs-N", "dhs-rank", "dhs-float32", "dhs-int",
        "dh_last-H", "dh_last-N", "dh_last-rank", "dh_last-float32"])  # fmt: skip
def test_rnn_backward_bad_upstream_gradient_raises_naming_it(rnn_caches, argument, bad, fragments):
    kwargs = {"dhs": np.zeros((BT, BN, BH)), "dh_last": None, argument: bad}
    call = lambda: rnn.rnn_backward(kwargs["dhs"], rnn_caches["sequence"], kwargs["dh_last"])  # noqa: E731
    expect_value_error(call, argument, *fragments)


# --- the read-out (chapter 1) and the Jacobian norms (chapter 3) -------------------------------------------


def test_output_layer_is_the_softmax_of_the_affine_read_out_against_torch(torch, rng):
    hs = rng.standard_normal((4, 3, 5))
    W_y, b_y = rng.standard_normal((6, 5)), rng.standard_normal(6)
    p = rnn.output_layer(hs, W_y, b_y)
    expected = torch.softmax(torch.tensor(hs) @ torch.tensor(W_y).T + torch.tensor(b_y), dim=-1).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    assert p.shape == (4, 3, 6) and (p > 0).all()


def test_output_layer_is_stable_for_large_logits_and_keeps_the_dtype(rng):
    hs = np.full((1, 2, 3), 100.0, dtype=np.float32)
    W_y = np.array([[10.0, 0, 0], [0, 0, 0]], dtype=np.float32)
    p = rnn.output_layer(hs, W_y, np.zeros(2, np.float32))
    assert p.dtype == np.float32 and np.isfinite(p).all()
    np.testing.assert_allclose(p[..., 0], 1.0)


def test_output_layer_bad_shapes_are_named(rng):
    hs = rng.standard_normal((2, 3, 4))
    expect_value_error(lambda: rnn.output_layer(hs, rng.standard_normal((5, 3)), np.zeros(5)), "W_y")
    expect_value_error(lambda: rnn.output_layer(hs, rng.standard_normal((5, 4)), np.zeros(4)), "b_y")
    expect_value_error(lambda: rnn.output_layer(hs[0], rng.standard_normal((5, 4)), np.zeros(5)), "hs")


def test_jacobian_norms_match_central_differences_of_the_forward(rng):
    """||dh_t/dh_0||_2 per step and sequence, the Jacobian of each sequence built column by column."""
    T_, N_, D_, H_ = 5, 2, 3, 4
    params = random_params(rng, D_, H_, scale=0.8)
    xs, h0 = rng.standard_normal((T_, N_, D_)), np.tanh(rng.standard_normal((N_, H_)))
    norms = rnn.jacobian_norms(xs, h0, params)
    assert norms.shape == (T_, N_)
    eps = 1e-6
    for n in range(N_):
        J = np.empty((T_, H_, H_))  # J[t, :, k] = d h_{t+1} / d h0[n, k]
        for k in range(H_):
            up, down = h0.copy(), h0.copy()
            up[n, k] += eps
            down[n, k] -= eps
            J[:, :, k] = (rnn.rnn_forward(xs, up, params)[0][:, n] - rnn.rnn_forward(xs, down, params)[0][:, n]) / (
                2 * eps
            )
        np.testing.assert_allclose(norms[:, n], np.linalg.norm(J, ord=2, axis=(1, 2)), rtol=1e-6)


def test_jacobian_norms_match_torch_autograd(torch, rng):
    T_, D_, H_ = 6, 2, 3
    params = random_params(rng, D_, H_, scale=0.9)
    xs, h0 = rng.standard_normal((T_, 1, D_)), rng.standard_normal((1, H_)) * 0.3
    W_x, W_h, b = (torch.tensor(params[k]) for k in ("W_x", "W_h", "b"))

    def states(h):  # (H,) -> (T, H): every state of the one sequence
        out = []
        for t in range(T_):
            h = torch.tanh(torch.tensor(xs[t, 0]) @ W_x.T + h @ W_h.T + b)
            out.append(h)
        return torch.stack(out)

    J = torch.autograd.functional.jacobian(states, torch.tensor(h0[0])).numpy()  # (T, H, H)
    np.testing.assert_allclose(rnn.jacobian_norms(xs, h0, params)[:, 0], np.linalg.norm(J, 2, axis=(1, 2)), rtol=1e-10)


def test_jacobian_norms_of_a_linear_regime_are_the_norms_of_powers_of_W_h(rng):
    """With zero input, bias and state, every tanh' is 1: dh_t/dh_0 = W_h^t exactly."""
    H_ = 4
    params = {"W_x": np.zeros((H_, 2)), "W_h": rng.standard_normal((H_, H_)), "b": np.zeros(H_)}
    norms = rnn.jacobian_norms(np.zeros((5, 1, 2)), np.zeros((1, H_)), params)
    powers = [np.linalg.norm(np.linalg.matrix_power(params["W_h"], t), 2) for t in range(1, 6)]
    np.testing.assert_allclose(norms[:, 0], powers, rtol=1e-12)
