"""Tests of rnn_ref.gru, for both candidates (``reset_after=False`` and ``True``).

Three independent kinds of evidence for every backward pass:

1. numerical gradients (central differences in float64, on copies) of every
   input: inputs, initial state, every parameter;
2. PyTorch in float64: ``nn.GRU`` and ``nn.GRUCell`` for ``reset_after=True``
   (random ``b_ih`` and ``b_hh``), the textbook equations written in torch
   tensor operations for ``reset_after=False`` (PyTorch has no module for it);
3. properties: one step, the equation functions, the update rule, masks,
   no mutation, linearity, dtypes, when the two candidates agree.
"""

import copy

import numpy as np
import pytest

from rnn_ref import gru
from rnn_ref.masks import lengths_to_mask

VARIANTS = pytest.mark.parametrize("reset_after", [False, True], ids=["textbook", "reset_after"])


# --- helpers ---------------------------------------------------------------------------------


def make_params(rng, D, H, reset_after, dtype=np.float64, scale=0.5):
    """Random GRU parameters, biases included."""
    params = {
        "W_x": rng.normal(0, scale, (3 * H, D)),
        "W_h": rng.normal(0, scale, (3 * H, H)),
        "b": rng.normal(0, scale, 3 * H),
    }
    if reset_after:
        params["b_hn"] = rng.normal(0, scale, H)
    return {key: value.astype(dtype) for key, value in params.items()}


def make_problem(rng, T, N, D, H, reset_after, dtype=np.float64):
    """Random ``xs`` (T, N, D), ``h0`` (N, H) and parameters."""
    xs = rng.normal(size=(T, N, D)).astype(dtype)
    h0 = rng.normal(0, 0.5, (N, H)).astype(dtype)
    return xs, h0, make_params(rng, D, H, reset_after, dtype)


def split_params(params):
    """The per-gate blocks of a params dict, named as in the equations."""
    H = params["W_h"].shape[1]
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    blocks = {}
    for k, gate in enumerate("rzn"):
        rows = slice(k * H, (k + 1) * H)
        blocks[f"W_x{gate}"], blocks[f"W_h{gate}"], blocks[f"b_{gate}"] = W_x[rows], W_h[rows], b[rows]
    blocks["b_hn"] = params.get("b_hn")
    return blocks


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar function ``f`` at ``x``.

    ``x`` is never modified: every evaluation gets a fresh copy.
    """
    assert np.asarray(x).dtype == np.float64, "numerical gradients need float64"
    x = np.array(x, dtype=np.float64)  # our own copy
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def numerical_gradients(loss, inputs):
    """Numerical gradient of ``loss(inputs)`` with respect to every array of the dict ``inputs``."""
    grads = {}
    for name, value in inputs.items():
        grads[name] = numerical_gradient(lambda v, name=name: loss({**inputs, name: v}), value)
    return grads


def assert_close(actual, expected, rtol=1e-10, atol=1e-12, what=""):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def assert_grads_close(actual, expected, rtol=1e-10, atol=1e-12):
    assert set(actual) == set(expected)
    for key in expected:
        assert_close(actual[key], expected[key], rtol=rtol, atol=atol, what=key)


def holey_mask(T):
    """A (T, 4) mask: a full sequence, a short one, an empty one, and one with holes."""
    assert T >= 4
    mask = np.zeros((T, 4), dtype=bool)
    mask[:, 0] = True
    mask[:2, 1] = True
    # column 2 stays empty: its final state is h0
    mask[1::2, 3] = True  # not left-aligned: padded steps between valid ones
    return mask


# --- 1. numerical gradients ------------------------------------------------------------------


@VARIANTS
def test_gru_step_backward_matches_numeric(rng, reset_after):
    N, D, H = 3, 2, 4
    xs, h0, params = make_problem(rng, 1, N, D, H, reset_after)
    dh = rng.normal(size=(N, H))
    inputs = {"x": xs[0], "h_prev": h0, **params}

    def loss(a):
        p = {key: a[key] for key in params}
        h, _ = gru.gru_step_forward(a["x"], a["h_prev"], p, reset_after=reset_after)
        return np.sum(h * dh)

    numeric = numerical_gradients(loss, inputs)
    _, cache = gru.gru_step_forward(xs[0], h0, params, reset_after=reset_after)
    dx, dh_prev, grads = gru.gru_step_backward(dh, cache)
    assert_grads_close({"x": dx, "h_prev": dh_prev, **grads}, numeric, rtol=1e-6, atol=1e-8)


@VARIANTS
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
@pytest.mark.parametrize("with_dh_last", [False, True], ids=["no_dh_last", "dh_last"])
def test_gru_backward_matches_numeric(rng, reset_after, masked, with_dh_last):
    T, N, D, H = 4, 4, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    mask = holey_mask(T) if masked else None
    dhs = rng.normal(size=(T, N, H))
    dh_last = rng.normal(size=(N, H)) if with_dh_last else None
    inputs = {"xs": xs, "h0": h0, **params}

    def loss(a):
        p = {key: a[key] for key in params}
        hs, h_last, _ = gru.gru_forward(a["xs"], a["h0"], p, mask, reset_after=reset_after)
        return np.sum(hs * dhs) + (0.0 if dh_last is None else np.sum(h_last * dh_last))

    numeric = numerical_gradients(loss, inputs)
    _, _, cache = gru.gru_forward(xs, h0, params, mask, reset_after=reset_after)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)
    assert_grads_close({"xs": dxs, "h0": dh0, **grads}, numeric, rtol=1e-6, atol=1e-8)


# --- 2. PyTorch in float64 -------------------------------------------------------------------


def torch_biases_to_params(W_x, W_h, b_ih, b_hh):
    """Our reset_after=True params from PyTorch's two bias vectors."""
    H = W_h.shape[1]
    b = np.concatenate([b_ih[: 2 * H] + b_hh[: 2 * H], b_ih[2 * H :]])
    return {"W_x": W_x, "W_h": W_h, "b": b, "b_hn": b_hh[2 * H :].copy()}


def assert_torch_bias_grads(grads, b_ih_grad, b_hh_grad, H):
    """Our ``b`` and ``b_hn`` gradients against PyTorch's ``b_ih`` and ``b_hh`` gradients."""
    assert_close(grads["b"][: 2 * H], b_ih_grad[: 2 * H], what="b (r, z) vs b_ih")
    assert_close(grads["b"][: 2 * H], b_hh_grad[: 2 * H], what="b (r, z) vs b_hh")
    assert_close(grads["b"][2 * H :], b_ih_grad[2 * H :], what="b_n vs b_ih[2H:]")
    assert_close(grads["b_hn"], b_hh_grad[2 * H :], what="b_hn vs b_hh[2H:]")


def torch_gru_module(torch, module, W_x, W_h, b_ih, b_hh):
    """Load our arrays into a torch GRU or GRUCell; return its weight_ih, weight_hh, bias_ih, bias_hh."""
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    suffix = "" if isinstance(module, torch.nn.GRUCell) else "_l0"  # nn.GRU numbers its layers
    with torch.no_grad():
        for name, value in zip(names, (W_x, W_h, b_ih, b_hh), strict=True):
            getattr(module, name + suffix).copy_(torch.tensor(value))
    return [getattr(module, name + suffix) for name in names]


@pytest.mark.torch
@pytest.mark.parametrize("T, N, D, H", [(1, 1, 1, 1), (5, 3, 4, 6), (3, 2, 5, 2)])
def test_gru_reset_after_matches_torch_gru(torch, rng, T, N, D, H):
    W_x, W_h = rng.normal(0, 0.5, (3 * H, D)), rng.normal(0, 0.5, (3 * H, H))
    b_ih, b_hh = rng.normal(0, 0.5, 3 * H), rng.normal(0, 0.5, 3 * H)
    xs, h0 = rng.normal(size=(T, N, D)), rng.normal(size=(N, H))
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))

    module = torch.nn.GRU(D, H, dtype=torch.float64)
    weights = torch_gru_module(torch, module, W_x, W_h, b_ih, b_hh)
    xs_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)  # (1, N, H)
    out, h_n = module(xs_t, h0_t)
    (torch.sum(out * torch.tensor(dhs)) + torch.sum(h_n[0] * torch.tensor(dh_last))).backward()

    params = torch_biases_to_params(W_x, W_h, b_ih, b_hh)
    hs, h_last, cache = gru.gru_forward(xs, h0, params, reset_after=True)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)

    assert_close(hs, out.detach().numpy(), what="hs")
    assert_close(h_last, h_n.detach().numpy()[0], what="h_last")
    assert_close(dxs, xs_t.grad.numpy(), what="dxs")
    assert_close(dh0, h0_t.grad.numpy()[0], what="dh0")
    assert_close(grads["W_x"], weights[0].grad.numpy(), what="W_x")
    assert_close(grads["W_h"], weights[1].grad.numpy(), what="W_h")
    assert_torch_bias_grads(grads, weights[2].grad.numpy(), weights[3].grad.numpy(), H)


@pytest.mark.torch
def test_gru_reset_after_matches_torch_packed_variable_lengths(torch, rng):
    T, N, D, H = 5, 4, 3, 4
    lengths = np.array([2, 5, 3, 1])  # unsorted: enforce_sorted=False
    W_x, W_h = rng.normal(0, 0.5, (3 * H, D)), rng.normal(0, 0.5, (3 * H, H))
    b_ih, b_hh = rng.normal(0, 0.5, 3 * H), rng.normal(0, 0.5, 3 * H)
    xs, h0 = rng.normal(size=(T, N, D)), rng.normal(size=(N, H))
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))

    module = torch.nn.GRU(D, H, dtype=torch.float64)
    weights = torch_gru_module(torch, module, W_x, W_h, b_ih, b_hh)
    xs_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    rnn_utils = torch.nn.utils.rnn
    packed = rnn_utils.pack_padded_sequence(xs_t, torch.tensor(lengths), enforce_sorted=False)
    out_packed, h_n = module(packed, h0_t)
    out, _ = rnn_utils.pad_packed_sequence(out_packed, total_length=T)  # zeros at padding
    (torch.sum(out * torch.tensor(dhs)) + torch.sum(h_n[0] * torch.tensor(dh_last))).backward()

    params = torch_biases_to_params(W_x, W_h, b_ih, b_hh)
    hs, h_last, cache = gru.gru_forward(xs, h0, params, lengths=lengths, reset_after=True)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)

    assert_close(hs, out.detach().numpy(), what="hs")
    assert_close(h_last, h_n.detach().numpy()[0], what="h_last")
    assert_close(dxs, xs_t.grad.numpy(), what="dxs")
    assert_close(dh0, h0_t.grad.numpy()[0], what="dh0")
    assert_close(grads["W_x"], weights[0].grad.numpy(), what="W_x")
    assert_close(grads["W_h"], weights[1].grad.numpy(), what="W_h")
    assert_torch_bias_grads(grads, weights[2].grad.numpy(), weights[3].grad.numpy(), H)


@pytest.mark.torch
def test_gru_step_reset_after_matches_torch_gru_cell(torch, rng):
    N, D, H = 3, 4, 5
    W_x, W_h = rng.normal(0, 0.5, (3 * H, D)), rng.normal(0, 0.5, (3 * H, H))
    b_ih, b_hh = rng.normal(0, 0.5, 3 * H), rng.normal(0, 0.5, 3 * H)
    x, h_prev, dh = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))

    cell = torch.nn.GRUCell(D, H, dtype=torch.float64)
    weights = torch_gru_module(torch, cell, W_x, W_h, b_ih, b_hh)
    x_t, h_prev_t = torch.tensor(x, requires_grad=True), torch.tensor(h_prev, requires_grad=True)
    h_t = cell(x_t, h_prev_t)
    torch.sum(h_t * torch.tensor(dh)).backward()

    h, cache = gru.gru_step_forward(x, h_prev, torch_biases_to_params(W_x, W_h, b_ih, b_hh), reset_after=True)
    dx, dh_prev, grads = gru.gru_step_backward(dh, cache)

    assert_close(h, h_t.detach().numpy(), what="h")
    assert_close(dx, x_t.grad.numpy(), what="dx")
    assert_close(dh_prev, h_prev_t.grad.numpy(), what="dh_prev")
    assert_close(grads["W_x"], weights[0].grad.numpy(), what="W_x")
    assert_close(grads["W_h"], weights[1].grad.numpy(), what="W_h")
    assert_torch_bias_grads(grads, weights[2].grad.numpy(), weights[3].grad.numpy(), H)


def torch_textbook_gru(torch, xs, h0, W_x, W_h, b, mask=None):
    """The textbook GRU written gate by gate in torch operations (autograd gives the oracle)."""
    H = h0.shape[1]
    r_, z_, n_ = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    h, outputs = h0, []
    for t in range(xs.shape[0]):
        x = xs[t]
        r = torch.sigmoid(x @ W_x[r_].T + h @ W_h[r_].T + b[r_])
        z = torch.sigmoid(x @ W_x[z_].T + h @ W_h[z_].T + b[z_])
        n = torch.tanh(x @ W_x[n_].T + (r * h) @ W_h[n_].T + b[n_])
        h_new = z * h + (1 - z) * n
        if mask is None:
            h = h_new
            outputs.append(h)
        else:
            m = torch.tensor(mask[t])[:, None]
            h = torch.where(m, h_new, h)
            outputs.append(torch.where(m, h, torch.zeros_like(h)))
    return torch.stack(outputs), h


@pytest.mark.torch
@pytest.mark.parametrize("T, N, D, H", [(1, 1, 1, 1), (5, 4, 3, 6), (4, 4, 5, 2)])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_gru_textbook_matches_torch_equations(torch, rng, T, N, D, H, masked):
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after=False)
    mask = rng.random((T, N)) < 0.6 if masked else None  # holes anywhere, not only at the end
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))

    leaves = {name: torch.tensor(value, requires_grad=True) for name, value in {"xs": xs, "h0": h0, **params}.items()}
    out, h_n = torch_textbook_gru(torch, leaves["xs"], leaves["h0"], leaves["W_x"], leaves["W_h"], leaves["b"], mask)
    (torch.sum(out * torch.tensor(dhs)) + torch.sum(h_n * torch.tensor(dh_last))).backward()

    hs, h_last, cache = gru.gru_forward(xs, h0, params, mask)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)

    assert_close(hs, out.detach().numpy(), what="hs")
    assert_close(h_last, h_n.detach().numpy(), what="h_last")
    expected = {name: leaf.grad.numpy() for name, leaf in leaves.items()}
    assert_grads_close({"xs": dxs, "h0": dh0, **grads}, expected)


@pytest.mark.torch
def test_gru_step_textbook_matches_torch_equations(torch, rng):
    N, D, H = 3, 4, 5
    xs, h_prev, params = make_problem(rng, 1, N, D, H, reset_after=False)
    dh = rng.normal(size=(N, H))
    leaves = {
        name: torch.tensor(value, requires_grad=True) for name, value in {"x": xs, "h_prev": h_prev, **params}.items()
    }
    _, h_t = torch_textbook_gru(torch, leaves["x"], leaves["h_prev"], leaves["W_x"], leaves["W_h"], leaves["b"])
    torch.sum(h_t * torch.tensor(dh)).backward()

    h, cache = gru.gru_step_forward(xs[0], h_prev, params)
    dx, dh_prev, grads = gru.gru_step_backward(dh, cache)

    assert_close(h, h_t.detach().numpy(), what="h")
    expected = {name: leaf.grad.numpy() for name, leaf in leaves.items()}
    expected["x"] = expected["x"][0]
    assert_grads_close({"x": dx, "h_prev": dh_prev, **grads}, expected)


# --- 3. properties ---------------------------------------------------------------------------


@VARIANTS
def test_gru_forward_with_one_step_equals_gru_step(rng, reset_after):
    N, D, H = 3, 2, 4
    xs, h0, params = make_problem(rng, 1, N, D, H, reset_after)
    dhs, dh_last = rng.normal(size=(1, N, H)), rng.normal(size=(N, H))

    hs, h_last, cache = gru.gru_forward(xs, h0, params, reset_after=reset_after)
    h, step_cache = gru.gru_step_forward(xs[0], h0, params, reset_after=reset_after)
    assert_close(hs[0], h)
    assert_close(h_last, h)
    assert_close(cache.gates[0], step_cache.gates)

    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)
    dx, dh_prev, step_grads = gru.gru_step_backward(dhs[0] + dh_last, step_cache)
    assert_close(dxs[0], dx)
    assert_close(dh0, dh_prev)
    assert_grads_close(grads, step_grads)


@VARIANTS
def test_equation_functions_composed_equal_gru_step_forward(rng, reset_after):
    N, D, H = 3, 2, 4
    xs, h_prev, params = make_problem(rng, 1, N, D, H, reset_after)
    x, p = xs[0], split_params(params)

    r = gru.reset_gate(x, h_prev, p["W_xr"], p["W_hr"], p["b_r"])
    z = gru.update_gate(x, h_prev, p["W_xz"], p["W_hz"], p["b_z"])
    n = gru.candidate(x, h_prev, r, p["W_xn"], p["W_hn"], p["b_n"], p["b_hn"], reset_after=reset_after)
    h_composed = gru.hidden_state(z, n, h_prev)

    h, cache = gru.gru_step_forward(x, h_prev, params, reset_after=reset_after)
    assert_close(h, h_composed)
    assert_close(cache.r, r)
    assert_close(cache.z, z)
    assert_close(cache.n, n)


@VARIANTS
def test_cache_keeps_the_gates_of_every_step(rng, reset_after):
    T, N, D, H = 4, 2, 3, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    hs, _, cache = gru.gru_forward(xs, h0, params, reset_after=reset_after)
    assert cache.reset_after is reset_after
    assert cache.r.shape == cache.z.shape == cache.n.shape == (T, N, H)
    p = split_params(params)
    for t in range(T):
        h_prev = cache.h_all[t]
        r = gru.reset_gate(xs[t], h_prev, p["W_xr"], p["W_hr"], p["b_r"])
        z = gru.update_gate(xs[t], h_prev, p["W_xz"], p["W_hz"], p["b_z"])
        n = gru.candidate(xs[t], h_prev, r, p["W_xn"], p["W_hn"], p["b_n"], p["b_hn"], reset_after=reset_after)
        assert_close(cache.r[t], r, what=f"r at t={t}")
        assert_close(cache.z[t], z, what=f"z at t={t}")
        assert_close(cache.n[t], n, what=f"n at t={t}")
        assert_close(hs[t], gru.hidden_state(z, n, h_prev), what=f"h at t={t}")


@VARIANTS
def test_update_gate_near_one_keeps_the_state_and_passes_the_gradient_back(rng, reset_after):
    T, N, D, H = 5, 3, 2, 4
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    params["b"][H : 2 * H] += 60.0  # z = sigmoid(about 60) = 1 in float64
    hs, h_last, cache = gru.gru_forward(xs, h0, params, reset_after=reset_after)
    assert np.all(cache.z == 1.0)
    for t in range(T):
        assert_close(hs[t], h0, what=f"h at t={t}")
    assert_close(h_last, h0)

    # h_t = h_{t-1} exactly, so dL/dh0 collects every upstream gradient and nothing else learns
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)
    assert_close(dh0, dh_last + dhs.sum(axis=0))
    assert_close(dxs, np.zeros_like(dxs))
    for key, value in grads.items():
        assert_close(value, np.zeros_like(value), what=key)


@VARIANTS
def test_update_gate_near_zero_takes_the_candidate(rng, reset_after):
    N, D, H = 3, 2, 4
    xs, h_prev, params = make_problem(rng, 1, N, D, H, reset_after)
    params["b"][H : 2 * H] -= 60.0  # z = sigmoid(about -60), below 1e-25
    x, p = xs[0], split_params(params)
    r = gru.reset_gate(x, h_prev, p["W_xr"], p["W_hr"], p["b_r"])
    n = gru.candidate(x, h_prev, r, p["W_xn"], p["W_hn"], p["b_n"], p["b_hn"], reset_after=reset_after)
    h, _ = gru.gru_step_forward(x, h_prev, params, reset_after=reset_after)
    assert_close(h, n, rtol=1e-12, atol=1e-15)
    assert not np.allclose(h, h_prev)


@VARIANTS
def test_padded_steps_carry_state_output_zero_and_get_no_gradient(rng, reset_after):
    T, N, D, H = 5, 4, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    mask = holey_mask(T)
    padded = ~mask
    hs, h_last, cache = gru.gru_forward(xs, h0, params, mask, reset_after=reset_after)

    assert np.all(hs[padded] == 0)
    h_all = cache.h_all
    for t, n in zip(*np.nonzero(padded), strict=True):
        assert np.array_equal(h_all[t + 1, n], h_all[t, n]), f"state not carried at t={t}, n={n}"
    assert np.array_equal(h_last[2], h0[2])  # the empty sequence ends where it started

    # what happens at padded steps changes nothing: their inputs and their upstream gradients
    xs_noisy = xs + padded[:, :, None] * rng.normal(size=xs.shape)
    hs_noisy, h_last_noisy, cache_noisy = gru.gru_forward(xs_noisy, h0, params, mask, reset_after=reset_after)
    assert np.array_equal(hs_noisy, hs)
    assert np.array_equal(h_last_noisy, h_last)

    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))
    dhs_noisy = dhs + padded[:, :, None] * rng.normal(size=dhs.shape)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)
    dxs_noisy, dh0_noisy, grads_noisy = gru.gru_backward(dhs_noisy, cache, dh_last)
    assert np.all(dxs[padded] == 0)
    assert_close(dxs_noisy, dxs)
    assert_close(dh0_noisy, dh0)
    assert_grads_close(grads_noisy, grads)
    assert np.array_equal(dh0[2], dh_last[2])  # the empty sequence passes dh_last straight to h0


@VARIANTS
def test_masked_batch_equals_each_sequence_run_alone(rng, reset_after):
    T, N, D, H = 5, 4, 2, 3
    lengths = np.array([5, 2, 0, 3])
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))
    hs, h_last, cache = gru.gru_forward(xs, h0, params, lengths=lengths, reset_after=reset_after)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)

    grads_sum = {key: np.zeros_like(value) for key, value in params.items()}
    for n, L in enumerate(lengths):
        one_xs, one_h0 = xs[:L, n : n + 1], h0[n : n + 1]
        one_hs, one_h_last, one_cache = gru.gru_forward(one_xs, one_h0, params, reset_after=reset_after)
        assert_close(hs[:L, n], one_hs[:, 0])
        assert_close(h_last[n], one_h_last[0])
        one_dxs, one_dh0, one_grads = gru.gru_backward(dhs[:L, n : n + 1], one_cache, dh_last[n : n + 1])
        assert_close(dxs[:L, n], one_dxs[:, 0])
        assert_close(dh0[n], one_dh0[0])
        for key in grads_sum:
            grads_sum[key] += one_grads[key]
    assert_grads_close(grads, grads_sum)


@VARIANTS
def test_lengths_equal_the_matching_mask(rng, reset_after):
    T, N, D, H = 4, 3, 2, 3
    lengths = np.array([4, 1, 2])
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    with_lengths = gru.gru_forward(xs, h0, params, lengths=lengths, reset_after=reset_after)
    with_mask = gru.gru_forward(xs, h0, params, lengths_to_mask(lengths, T), reset_after=reset_after)
    assert np.array_equal(with_lengths[0], with_mask[0])
    assert np.array_equal(with_lengths[1], with_mask[1])


@VARIANTS
def test_h0_none_means_zeros(rng, reset_after):
    xs, h0, params = make_problem(rng, 3, 2, 2, 3, reset_after)
    hs_none, h_last_none, _ = gru.gru_forward(xs, None, params, reset_after=reset_after)
    hs_zero, h_last_zero, _ = gru.gru_forward(xs, np.zeros_like(h0), params, reset_after=reset_after)
    assert np.array_equal(hs_none, hs_zero)
    assert np.array_equal(h_last_none, h_last_zero)


def snapshot(*values):
    return copy.deepcopy(values)


def assert_unchanged(before, after):
    """Deep equality of nested tuples / dicts / arrays (bit for bit)."""
    if isinstance(before, dict):
        assert isinstance(after, dict) and list(before) == list(after)
        for key in before:
            assert_unchanged(before[key], after[key])
    elif isinstance(before, (tuple, list)):
        assert len(before) == len(after)
        for b, a in zip(before, after, strict=True):
            assert_unchanged(b, a)
    elif isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and before.dtype == after.dtype
        np.testing.assert_array_equal(after, before)
    else:
        assert before == after


@VARIANTS
def test_no_argument_is_mutated(rng, reset_after):
    T, N, D, H = 4, 4, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    mask = holey_mask(T)
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))

    before = snapshot(xs, h0, params, mask)
    hs, h_last, cache = gru.gru_forward(xs, h0, params, mask, reset_after=reset_after)
    assert_unchanged(before, (xs, h0, params, mask))

    before = snapshot(dhs, cache, dh_last)
    first = gru.gru_backward(dhs, cache, dh_last)
    assert_unchanged(before, (dhs, cache, dh_last))
    assert_unchanged(first, gru.gru_backward(dhs, cache, dh_last))  # no hidden state

    lengths = np.array([4, 0, 2, 3])
    before = snapshot(lengths)
    gru.gru_forward(xs, h0, params, lengths=lengths, reset_after=reset_after)
    assert_unchanged(before, (lengths,))

    before = snapshot(xs[0], h0, params)
    _, step_cache = gru.gru_step_forward(xs[0], h0, params, reset_after=reset_after)
    assert_unchanged(before, (xs[0], h0, params))
    dh = rng.normal(size=(N, H))
    before = snapshot(dh, step_cache)
    gru.gru_step_backward(dh, step_cache)
    assert_unchanged(before, (dh, step_cache))

    # the outputs do not alias the cache: changing them changes neither the cache nor a later backward
    before = snapshot(cache)
    hs += 1.0
    h_last += 1.0
    assert_unchanged(before, (cache,))
    assert_unchanged(first, gru.gru_backward(dhs, cache, dh_last))


@VARIANTS
def test_gradients_are_linear_in_the_upstream_gradient(rng, reset_after):
    T, N, D, H = 4, 4, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after)
    _, _, cache = gru.gru_forward(xs, h0, params, holey_mask(T), reset_after=reset_after)
    dhs_1, dhs_2 = rng.normal(size=(2, T, N, H))
    dh_last_1, dh_last_2 = rng.normal(size=(2, N, H))
    alpha, beta = 0.7, -1.9

    combined = gru.gru_backward(alpha * dhs_1 + beta * dhs_2, cache, alpha * dh_last_1 + beta * dh_last_2)
    one = gru.gru_backward(dhs_1, cache, dh_last_1)
    two = gru.gru_backward(dhs_2, cache, dh_last_2)
    assert_close(combined[0], alpha * one[0] + beta * two[0], what="dxs")
    assert_close(combined[1], alpha * one[1] + beta * two[1], what="dh0")
    assert_grads_close(combined[2], {key: alpha * one[2][key] + beta * two[2][key] for key in one[2]})

    _, step_cache = gru.gru_step_forward(xs[0], h0, params, reset_after=reset_after)
    combined = gru.gru_step_backward(alpha * dhs_1[0] + beta * dhs_2[0], step_cache)
    one, two = gru.gru_step_backward(dhs_1[0], step_cache), gru.gru_step_backward(dhs_2[0], step_cache)
    assert_close(combined[0], alpha * one[0] + beta * two[0], what="dx")
    assert_close(combined[1], alpha * one[1] + beta * two[1], what="dh_prev")
    assert_grads_close(combined[2], {key: alpha * one[2][key] + beta * two[2][key] for key in one[2]})


@VARIANTS
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(rng, reset_after, dtype):
    T, N, D, H = 4, 4, 2, 3
    xs64, h0_64, params64 = make_problem(rng, T, N, D, H, reset_after)
    xs, h0 = xs64.astype(dtype), h0_64.astype(dtype)
    params = {key: value.astype(dtype) for key, value in params64.items()}
    dhs = rng.normal(size=(T, N, H)).astype(dtype)
    mask = holey_mask(T)

    hs, h_last, cache = gru.gru_forward(xs, h0, params, mask, reset_after=reset_after)
    dxs, dh0, grads = gru.gru_backward(dhs, cache, h_last)
    hs_zero_h0, _, cache_zero_h0 = gru.gru_forward(xs, None, params, reset_after=reset_after)  # h0 None: zeros
    dxs_no_dh_last, dh0_no_dh_last, _ = gru.gru_backward(dhs, cache_zero_h0)  # dh_last None: zeros
    h, step_cache = gru.gru_step_forward(xs[0], h0, params, reset_after=reset_after)
    dx, dh_prev, step_grads = gru.gru_step_backward(h, step_cache)
    outputs = {
        **{name: value for name, value in zip(("hs", "h_last", "dxs", "dh0"), (hs, h_last, dxs, dh0), strict=True)},
        **{f"cache.{name}": getattr(cache, name) for name in ("h_all", "gates", "u", "r", "z", "n")},
        **{"hs (h0 None)": hs_zero_h0, "dxs (dh_last None)": dxs_no_dh_last, "dh0 (dh_last None)": dh0_no_dh_last},
        **{"h": h, "dx": dx, "dh_prev": dh_prev},
        **{f"grads[{key!r}]": value for key, value in grads.items()},
        **{f"step grads[{key!r}]": value for key, value in step_grads.items()},
    }
    wrong = {name: value.dtype for name, value in outputs.items() if value.dtype != dtype}
    assert not wrong, f"expected {np.dtype(dtype)}, got {wrong}"

    # float32 computes the same numbers, to float32 precision
    hs64, _, cache64 = gru.gru_forward(xs64, h0_64, params64, mask, reset_after=reset_after)
    _, _, grads64 = gru.gru_backward(dhs.astype(np.float64), cache64, h_last.astype(np.float64))
    assert_close(hs, hs64, rtol=1e-4, atol=1e-5)
    assert_grads_close(grads, grads64, rtol=1e-4, atol=1e-5)


def test_reset_after_variants_differ_in_general(rng):
    T, N, D, H = 4, 3, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after=True)
    textbook = {key: params[key] for key in ("W_x", "W_h", "b")}
    hs_textbook, _, _ = gru.gru_forward(xs, h0, textbook, reset_after=False)
    hs_after, _, _ = gru.gru_forward(xs, h0, params, reset_after=True)
    assert np.abs(hs_textbook - hs_after).max() > 1e-2
    # b_hn alone already makes them differ
    params["W_h"][2 * H :] = np.diag(rng.normal(size=H))
    hs_after, _, _ = gru.gru_forward(xs, h0, params, reset_after=True)
    hs_textbook, _, _ = gru.gru_forward(xs, h0, {key: params[key] for key in textbook}, reset_after=False)
    assert np.abs(hs_textbook - hs_after).max() > 1e-2


def test_reset_after_variants_agree_when_W_hn_is_diagonal_and_b_hn_is_zero(rng):
    """W_hn (r * h) = r * (W_hn h) holds for a diagonal W_hn: same model, same outputs.

    The gradients agree too, except for the off-diagonal entries of W_hn: moving
    off the diagonal makes the two models different functions.
    """
    T, N, D, H = 4, 4, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after=False)
    params["W_h"][2 * H :] = np.diag(rng.normal(size=H))
    params_after = {**params, "b_hn": np.zeros(H)}
    mask = holey_mask(T)
    dhs, dh_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))

    hs, h_last, cache = gru.gru_forward(xs, h0, params, mask)
    hs_after, h_last_after, cache_after = gru.gru_forward(xs, h0, params_after, mask, reset_after=True)
    assert_close(hs_after, hs)
    assert_close(h_last_after, h_last)

    dxs, dh0, grads = gru.gru_backward(dhs, cache, dh_last)
    dxs_after, dh0_after, grads_after = gru.gru_backward(dhs, cache_after, dh_last)
    assert_close(dxs_after, dxs)
    assert_close(dh0_after, dh0)
    assert_close(grads_after["W_x"], grads["W_x"])
    assert_close(grads_after["b"], grads["b"])
    assert_close(grads_after["W_h"][: 2 * H], grads["W_h"][: 2 * H])
    diagonal = np.eye(H, dtype=bool)
    assert_close(grads_after["W_h"][2 * H :][diagonal], grads["W_h"][2 * H :][diagonal])
    assert np.abs(grads_after["W_h"][2 * H :][~diagonal] - grads["W_h"][2 * H :][~diagonal]).max() > 1e-3


def test_reset_after_variants_agree_when_the_reset_gate_is_open_and_b_hn_is_zero(rng):
    T, N, D, H = 4, 3, 2, 3
    xs, h0, params = make_problem(rng, T, N, D, H, reset_after=False)
    params["b"][:H] += 60.0  # r = 1 in float64: nothing to reset, before or after
    hs, h_last, cache = gru.gru_forward(xs, h0, params)
    hs_after, h_last_after, _ = gru.gru_forward(xs, h0, {**params, "b_hn": np.zeros(H)}, reset_after=True)
    assert np.all(cache.r == 1.0)
    assert_close(hs_after, hs)
    assert_close(h_last_after, h_last)


# --- bad input -------------------------------------------------------------------------------

T_, N_, D_, H_ = 3, 2, 4, 5


def _base(reset_after=False, dtype=np.float64):
    rng = np.random.default_rng(7)
    xs, h0, params = make_problem(rng, T_, N_, D_, H_, reset_after, dtype)
    return xs, h0, params


def _forward_with(reset_after=False, params_update=None, **changes):
    xs, h0, params = _base(reset_after)
    args = {"xs": xs, "h0": h0, "params": {**params, **(params_update or {})}, "mask": None, **changes}
    return lambda: gru.gru_forward(args["xs"], args["h0"], args["params"], args["mask"], reset_after=reset_after)


def _without_b_hn():
    xs, h0, params = _base(reset_after=True)
    del params["b_hn"]
    return gru.gru_forward(xs, h0, params, reset_after=True)


def _backward_with(**changes):
    xs, h0, params = _base()
    _, _, cache = gru.gru_forward(xs, h0, params)
    args = {"dhs": np.zeros((T_, N_, H_)), "cache": cache, "dh_last": None, **changes}
    return lambda: gru.gru_backward(args["dhs"], args["cache"], args["dh_last"])


def _step_with(**changes):
    xs, h0, params = _base()
    args = {"x": xs[0], "h_prev": h0, "params": params, **changes}
    return lambda: gru.gru_step_forward(args["x"], args["h_prev"], args["params"])


def _step_backward_with(dh=None, sequence_cache=False):
    def call():
        xs, h0, params = _base()
        _, cache = gru.gru_forward(xs, h0, params)[1:] if sequence_cache else gru.gru_step_forward(xs[0], h0, params)
        return gru.gru_step_backward(np.zeros((N_, H_)) if dh is None else dh, cache)

    return call


def _candidate_with(b_hn, reset_after):
    xs, h0, params = _base(reset_after)
    p = split_params(params)
    return lambda: gru.candidate(xs[0], h0, h0 * 0 + 0.5, p["W_xn"], p["W_hn"], p["b_n"], b_hn, reset_after=reset_after)


_3H = 3 * H_
BAD_INPUTS = {
    "xs_rank": (_forward_with(xs=np.zeros((N_, D_))), r"^xs has shape \(2, 4\) \(2 dimensions\), expected 3"),
    "xs_integer": (_forward_with(xs=np.zeros((T_, N_, D_), dtype=int)), r"^xs has dtype int"),
    "h0_shape": (_forward_with(h0=np.zeros((N_ + 1, H_))), r"^h0 has shape \(3, 5\), expected \(N, H\) = \(2, 5\)"),
    "h0_rank": (_forward_with(h0=np.zeros(H_)), r"^h0 has shape \(5,\)"),
    "W_x_columns": (
        _forward_with(params_update={"W_x": np.zeros((_3H, D_ + 1))}),
        r"^params\['W_x'\] has shape \(15, 5\), expected \(3H, D\) = \(15, 4\)",
    ),
    "W_x_rows": (
        _forward_with(params_update={"W_x": np.zeros((_3H + 1, D_))}),
        r"^params\['W_x'\] has shape \(16, 4\).*multiple of 3",
    ),
    "W_h_shape": (
        _forward_with(params_update={"W_h": np.zeros((_3H, H_ + 1))}),
        r"^params\['W_h'\] has shape \(15, 6\), expected \(3H, H\) = \(15, 5\)",
    ),
    "b_shape": (
        _forward_with(params_update={"b": np.zeros(_3H - 3)}),
        r"^params\['b'\] has shape \(12,\), expected \(3H,\) = \(15,\)",
    ),
    "b_hn_shape": (
        _forward_with(reset_after=True, params_update={"b_hn": np.zeros(H_ + 1)}),
        r"^params\['b_hn'\] has shape \(6,\), expected \(H,\) = \(5,\)",
    ),
    "b_hn_missing": (_without_b_hn, r"params has no 'b_hn': reset_after=True needs"),
    "b_hn_unexpected": (_forward_with(params_update={"b_hn": np.zeros(H_)}), r"params has an unexpected 'b_hn'"),
    "unknown_key": (
        _forward_with(params_update={"W_hh": np.zeros((_3H, H_))}),
        r"^params has keys .*unexpected \['W_hh'\]",
    ),
    "params_not_dict": (_forward_with(params=[1, 2, 3]), r"^params must be a dict"),
    "W_h_float32": (
        _forward_with(params_update={"W_h": np.zeros((_3H, H_), dtype=np.float32)}),
        r"^params\['W_h'\] has dtype float32 but xs has dtype float64",
    ),
    "h0_float32": (_forward_with(h0=np.zeros((N_, H_), dtype=np.float32)), r"^h0 has dtype float32 but"),
    "mask_shape": (_forward_with(mask=np.ones((T_, N_ + 1), bool)), r"^mask has shape \(3, 3\), expected \(T, N\)"),
    "mask_float": (_forward_with(mask=np.ones((T_, N_)) * 0.5), r"^mask has dtype float64, expected bool"),
    "lengths_shape": (
        lambda: gru.gru_forward(*_base(), lengths=np.array([1, 2, 3])),
        r"^lengths has shape \(3,\), expected \(N,\)",
    ),
    "reset_after_not_bool": (
        lambda: gru.gru_forward(*_base(), reset_after="yes"),
        r"^reset_after must be True or False",
    ),
    "dhs_shape": (_backward_with(dhs=np.zeros((T_ + 1, N_, H_))), r"^dhs has shape \(4, 2, 5\), expected"),
    "dh_last_shape": (_backward_with(dh_last=np.zeros((N_, H_ + 1))), r"^dh_last has shape \(2, 6\), expected"),
    "dhs_float32": (_backward_with(dhs=np.zeros((T_, N_, H_), np.float32)), r"^dhs has dtype float32"),
    "cache_type_sequence": (
        _backward_with(cache=(1, 2, 3)),
        r"^cache must be the GRUCache returned by gru_forward, got tuple",
    ),
    "step_x_rank": (_step_with(x=np.zeros((1, N_, D_))), r"^x has shape \(1, 2, 4\)"),
    "step_h_prev_shape": (_step_with(h_prev=np.zeros((N_, H_ - 1))), r"^h_prev has shape \(2, 4\), expected"),
    "step_dh_shape": (_step_backward_with(dh=np.zeros((N_ + 1, H_))), r"^dh has shape \(3, 5\), expected"),
    "cache_type_step": (
        _step_backward_with(sequence_cache=True),
        r"^cache must be the GRUStepCache returned by gru_step_forward, got GRUCache",
    ),
    "candidate_without_b_hn": (_candidate_with(None, True), r"^b_hn is None, but reset_after=True needs"),
    "candidate_with_b_hn": (_candidate_with(np.zeros(H_), False), r"^b_hn was given"),
    "candidate_b_hn_shape": (_candidate_with(np.zeros(H_ + 2), True), r"^b_hn has shape \(7,\), expected"),
    "reset_gate_W_hr": (
        lambda: gru.reset_gate(
            np.zeros((N_, D_)), np.zeros((N_, H_)), np.zeros((H_, D_)), np.zeros((H_, 1)), np.zeros(H_)
        ),
        r"^W_hr has shape \(5, 1\), expected \(H, H\) = \(5, 5\)",
    ),
    "update_gate_b_z": (
        lambda: gru.update_gate(
            np.zeros((N_, D_)), np.zeros((N_, H_)), np.zeros((H_, D_)), np.zeros((H_, H_)), np.zeros(1)
        ),
        r"^b_z has shape \(1,\), expected \(H,\) = \(5,\)",
    ),
    "hidden_state_n": (
        lambda: gru.hidden_state(np.zeros((N_, H_)), np.zeros((N_, H_ + 1)), np.zeros((N_, H_))),
        r"^n has shape \(2, 6\), expected \(N, H\) = \(2, 5\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_value_error_naming_the_argument(case):
    call, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        call()
