"""Tests of rnn_ref.peephole: the diagonal-peephole LSTM of Gers and Schmidhuber (2000).

Three independent kinds of evidence for every backward pass:

1. central differences in float64, on copies, for every input (states and peepholes included);
2. PyTorch autograd in float64 on the same equations written with torch tensor operations
   (PyTorch has no peephole LSTM), every parameter random, with and without a mask; plus
   torch.nn.LSTM itself for zero peepholes, which pins the gate order;
3. properties: zero peepholes are the plain LSTM, T = 1 is one step, the gate functions compose
   into the step, nothing is mutated, linearity, dtypes, padding.
"""

import copy

import numpy as np
import pytest

from rnn_ref import lstm, peephole
from rnn_ref.masks import lengths_to_mask

T, N, D, H = 4, 3, 3, 2
LENGTHS = np.array([4, 2, 0])  # a full sequence, a partial one and an empty one
PARAM_KEYS = ("W_x", "W_h", "b", "p_i", "p_f", "p_o")
SEQUENCE_INPUTS = ("xs", "h0", "c0", *PARAM_KEYS)
STEP_INPUTS = ("x", "h_prev", "c_prev", *PARAM_KEYS)


# --- helpers ---------------------------------------------------------------------------------


def make_params(rng, D=D, H=H, dtype=np.float64):
    """Every parameter random, biases and peepholes included (peepholes of order 1, so they matter)."""
    params = {
        "W_x": rng.normal(0, 0.6, (4 * H, D)),
        "W_h": rng.normal(0, 0.6, (4 * H, H)),
        "b": rng.normal(0, 0.5, (4 * H,)),
        "p_i": rng.normal(0, 1.0, (H,)),
        "p_f": rng.normal(0, 1.0, (H,)),
        "p_o": rng.normal(0, 1.0, (H,)),
    }
    return {key: value.astype(dtype) for key, value in params.items()}


def make_sequence(rng, T=T, N=N, D=D, H=H, dtype=np.float64):
    """Random xs (T, N, D), h0 and c0 (N, H) and params."""
    xs = rng.normal(size=(T, N, D)).astype(dtype)
    h0 = rng.normal(0, 0.5, (N, H)).astype(dtype)
    c0 = rng.normal(0, 1.0, (N, H)).astype(dtype)
    return xs, h0, c0, make_params(rng, D, H, dtype)


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar ``f`` at ``x``; only a float64 copy of ``x`` is perturbed."""
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x.copy())
        x[index] = original - eps
        f_minus = f(x.copy())
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def assert_gradient_close(analytic, numeric, name, tol=1e-7):
    """Relative error of two gradients, ``max |a - n| / max(|a| + |n|)``, below ``tol``."""
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape} != {numeric.shape}"
    scale = max(np.abs(analytic).max() + np.abs(numeric).max(), 1e-12)
    error = np.abs(analytic - numeric).max() / scale
    assert error < tol, f"{name}: relative error {error:.2e}\nanalytic\n{analytic}\nnumeric\n{numeric}"


def replace(inputs, name, value):
    """A copy of an inputs dict (with a nested ``params`` dict) where ``name`` is ``value``."""
    inputs = {**inputs, "params": dict(inputs["params"])}
    if name in inputs["params"]:
        inputs["params"][name] = value
    else:
        inputs[name] = value
    return inputs


def lstm_params(params):
    """The plain LSTM's part of a peephole params dict."""
    return {key: params[key] for key in ("W_x", "W_h", "b")}


def lookup(inputs, name):
    return inputs["params"][name] if name in inputs["params"] else inputs[name]


def sequence_loss(inputs, dhs, dh_last, dc_last, mask):
    """The scalar whose gradients peephole_backward returns: sum(dhs*hs) + sum(dh_last*h_last) + ..."""
    hs, h_last, c_last, _ = peephole.peephole_forward(inputs["xs"], inputs["h0"], inputs["c0"], inputs["params"], mask)
    loss = np.sum(dhs * hs)
    if dh_last is not None:
        loss += np.sum(dh_last * h_last) + np.sum(dc_last * c_last)
    return loss


# --- 1. numerical gradients ------------------------------------------------------------------


@pytest.mark.parametrize("name", STEP_INPUTS)
def test_peephole_step_backward_matches_numeric(rng, name):
    xs, h0, c0, params = make_sequence(rng)
    inputs = {"x": xs[0], "h_prev": h0, "c_prev": c0, "params": params}
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))

    def loss(value):
        new = replace(inputs, name, value)
        h, c, _ = peephole.peephole_step_forward(new["x"], new["h_prev"], new["c_prev"], new["params"])
        return np.sum(dh * h) + np.sum(dc * c)

    _, _, cache = peephole.peephole_step_forward(**inputs)
    dx, dh_prev, dc_prev, grads = peephole.peephole_step_backward(dh, dc, cache)
    analytic = {"x": dx, "h_prev": dh_prev, "c_prev": dc_prev, **grads}[name]
    assert_gradient_close(analytic, numerical_gradient(loss, lookup(inputs, name)), name)


@pytest.mark.parametrize("with_final", [False, True], ids=["dhs_only", "with_dh_last_dc_last"])
@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
@pytest.mark.parametrize("name", SEQUENCE_INPUTS)
def test_peephole_backward_matches_numeric(rng, name, masked, with_final):
    xs, h0, c0, params = make_sequence(rng)
    inputs = {"xs": xs, "h0": h0, "c0": c0, "params": params}
    mask = lengths_to_mask(LENGTHS, T) if masked else None
    dhs = rng.normal(size=(T, N, H))
    dh_last, dc_last = (rng.normal(size=(N, H)), rng.normal(size=(N, H))) if with_final else (None, None)

    def loss(value):
        return sequence_loss(replace(inputs, name, value), dhs, dh_last, dc_last, mask)

    _, _, _, cache = peephole.peephole_forward(xs, h0, c0, params, mask)
    dxs, dh0, dc0, grads = peephole.peephole_backward(dhs, cache, dh_last, dc_last)
    analytic = {"xs": dxs, "h0": dh0, "c0": dc0, **grads}[name]
    assert_gradient_close(analytic, numerical_gradient(loss, lookup(inputs, name)), name)


def test_peephole_backward_returns_a_gradient_for_every_parameter(rng):
    xs, h0, c0, params = make_sequence(rng)
    _, _, _, cache = peephole.peephole_forward(xs, h0, c0, params)
    _, _, _, grads = peephole.peephole_backward(rng.normal(size=(T, N, H)), cache)
    assert sorted(grads) == sorted(params)
    for key in params:
        assert grads[key].shape == params[key].shape, key


# --- 2. the PyTorch oracle -------------------------------------------------------------------


def torch_peephole(torch, xs, h0, c0, P, mask=None):
    """The peephole equations written directly with torch operations (autograd does the backward).

    Returns hs (T, N, H), h_last, c_last, and per step the gates (N, 4H) and the new cell state.
    """
    H = h0.shape[1]
    h, c = h0, c0
    hs, gates, cs = [], [], []
    for t in range(xs.shape[0]):
        a = xs[t] @ P["W_x"].T + h @ P["W_h"].T + P["b"]
        a_i, a_f, a_g, a_o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        i = torch.sigmoid(a_i + P["p_i"] * c)
        f = torch.sigmoid(a_f + P["p_f"] * c)
        g = torch.tanh(a_g)
        c_new = f * c + i * g
        o = torch.sigmoid(a_o + P["p_o"] * c_new)
        h_new = o * torch.tanh(c_new)
        gates.append(torch.cat([i, f, g, o], dim=1))
        if mask is not None:
            m = mask[t][:, None]
            c_new = torch.where(m, c_new, c)
            h_new = torch.where(m, h_new, h)
            hs.append(h_new * m)
        else:
            hs.append(h_new)
        h, c = h_new, c_new
        cs.append(c)
    return torch.stack(hs), h, c, torch.stack(gates), torch.stack(cs)


def _leaf(torch, array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@pytest.mark.torch
@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
def test_peephole_forward_and_backward_match_torch_autograd(torch, rng, masked):
    T, N, D, H = 5, 4, 3, 3
    lengths = np.array([5, 3, 1, 0])
    xs, h0, c0, params = make_sequence(rng, T, N, D, H)
    mask = lengths_to_mask(lengths, T) if masked else None
    dhs, dh_last, dc_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))

    hs, h_last, c_last, cache = peephole.peephole_forward(xs, h0, c0, params, mask)
    dxs, dh0, dc0, grads = peephole.peephole_backward(dhs, cache, dh_last, dc_last)

    xs_t, h0_t, c0_t = _leaf(torch, xs), _leaf(torch, h0), _leaf(torch, c0)
    P_t = {key: _leaf(torch, value) for key, value in params.items()}
    mask_t = None if mask is None else torch.tensor(mask)
    hs_t, h_last_t, c_last_t, gates_t, cs_t = torch_peephole(torch, xs_t, h0_t, c0_t, P_t, mask_t)
    loss = (
        (hs_t * torch.tensor(dhs)).sum()
        + (h_last_t * torch.tensor(dh_last)).sum()
        + (c_last_t * torch.tensor(dc_last)).sum()
    )
    loss.backward()

    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(hs, hs_t.detach().numpy(), **tol)
    np.testing.assert_allclose(h_last, h_last_t.detach().numpy(), **tol)
    np.testing.assert_allclose(c_last, c_last_t.detach().numpy(), **tol)
    np.testing.assert_allclose(cache.c_all[1:], cs_t.detach().numpy(), **tol)
    valid = np.ones((T, N), bool) if mask is None else mask
    np.testing.assert_allclose(cache.gates[valid], gates_t.detach().numpy()[valid], **tol)
    np.testing.assert_allclose(dxs, xs_t.grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy(), **tol)
    np.testing.assert_allclose(dc0, c0_t.grad.numpy(), **tol)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(grads[key], P_t[key].grad.numpy(), **tol, err_msg=key)


@pytest.mark.torch
def test_peephole_step_matches_torch_autograd(torch, rng):
    xs, h0, c0, params = make_sequence(rng)
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, c, cache = peephole.peephole_step_forward(xs[0], h0, c0, params)
    dx, dh_prev, dc_prev, grads = peephole.peephole_step_backward(dh, dc, cache)

    x_t, h0_t, c0_t = _leaf(torch, xs[:1]), _leaf(torch, h0), _leaf(torch, c0)
    P_t = {key: _leaf(torch, value) for key, value in params.items()}
    _, h_t, c_t, _, _ = torch_peephole(torch, x_t, h0_t, c0_t, P_t)
    ((h_t * torch.tensor(dh)).sum() + (c_t * torch.tensor(dc)).sum()).backward()

    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(h, h_t.detach().numpy(), **tol)
    np.testing.assert_allclose(c, c_t.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, x_t.grad.numpy()[0], **tol)
    np.testing.assert_allclose(dh_prev, h0_t.grad.numpy(), **tol)
    np.testing.assert_allclose(dc_prev, c0_t.grad.numpy(), **tol)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(grads[key], P_t[key].grad.numpy(), **tol, err_msg=key)


@pytest.mark.torch
def test_peephole_with_zero_peepholes_matches_torch_nn_lstm(torch, rng):
    """torch.nn.LSTM is the real thing: it pins the gate order i, f, g, o and the weight layout."""
    xs, h0, c0, params = make_sequence(rng)
    for key in ("p_i", "p_f", "p_o"):
        params[key] = np.zeros(H)
    b_ih = rng.normal(size=4 * H)  # torch has two biases; their sum is our b
    b_hh = params["b"] - b_ih
    dhs, dh_last, dc_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))

    hs, h_last, c_last, cache = peephole.peephole_forward(xs, h0, c0, params)
    dxs, dh0, dc0, grads = peephole.peephole_backward(dhs, cache, dh_last, dc_last)

    module = torch.nn.LSTM(D, H, dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(params["W_x"]))
        module.weight_hh_l0.copy_(torch.tensor(params["W_h"]))
        module.bias_ih_l0.copy_(torch.tensor(b_ih))
        module.bias_hh_l0.copy_(torch.tensor(b_hh))
    xs_t, h0_t, c0_t = _leaf(torch, xs), _leaf(torch, h0[None]), _leaf(torch, c0[None])
    hs_t, (h_n, c_n) = module(xs_t, (h0_t, c0_t))
    loss = (
        (hs_t * torch.tensor(dhs)).sum()
        + (h_n[0] * torch.tensor(dh_last)).sum()
        + (c_n[0] * torch.tensor(dc_last)).sum()
    )
    loss.backward()

    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(hs, hs_t.detach().numpy(), **tol)
    np.testing.assert_allclose(h_last, h_n[0].detach().numpy(), **tol)
    np.testing.assert_allclose(c_last, c_n[0].detach().numpy(), **tol)
    np.testing.assert_allclose(dxs, xs_t.grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, h0_t.grad.numpy()[0], **tol)
    np.testing.assert_allclose(dc0, c0_t.grad.numpy()[0], **tol)
    np.testing.assert_allclose(grads["W_x"], module.weight_ih_l0.grad.numpy(), **tol)
    np.testing.assert_allclose(grads["W_h"], module.weight_hh_l0.grad.numpy(), **tol)
    np.testing.assert_allclose(grads["b"], module.bias_ih_l0.grad.numpy(), **tol)
    np.testing.assert_allclose(grads["b"], module.bias_hh_l0.grad.numpy(), **tol)


# --- 3. properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
def test_zero_peepholes_equal_plain_lstm_exactly(rng, masked):
    xs, h0, c0, params = make_sequence(rng)
    for key in ("p_i", "p_f", "p_o"):
        params[key] = np.zeros(H)
    plain = lstm_params(params)
    mask = lengths_to_mask(LENGTHS, T) if masked else None
    dhs, dh_last, dc_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))

    *out_p, cache_p = peephole.peephole_forward(xs, h0, c0, params, mask)
    *out_l, cache_l = lstm.lstm_forward(xs, h0, c0, plain, mask)
    for got, expected in zip(out_p, out_l, strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(cache_p.gates, cache_l.gates)
    np.testing.assert_array_equal(cache_p.c_all, cache_l.c_all)

    *d_p, grads_p = peephole.peephole_backward(dhs, cache_p, dh_last, dc_last)
    *d_l, grads_l = lstm.lstm_backward(dhs, cache_l, dh_last, dc_last)
    for got, expected in zip(d_p, d_l, strict=True):
        np.testing.assert_array_equal(got, expected)
    for key in plain:
        np.testing.assert_array_equal(grads_p[key], grads_l[key], err_msg=key)

    # and one step
    h_p, c_p, step_p = peephole.peephole_step_forward(xs[0], h0, c0, params)
    h_l, c_l, step_l = lstm.lstm_step_forward(xs[0], h0, c0, plain)
    np.testing.assert_array_equal(h_p, h_l)
    np.testing.assert_array_equal(c_p, c_l)
    *d_p, grads_p = peephole.peephole_step_backward(dh_last, dc_last, step_p)
    *d_l, grads_l = lstm.lstm_step_backward(dh_last, dc_last, step_l)
    for got, expected in zip(d_p, d_l, strict=True):
        np.testing.assert_array_equal(got, expected)
    for key in plain:
        np.testing.assert_array_equal(grads_p[key], grads_l[key], err_msg=key)


def test_nonzero_peepholes_change_the_output(rng):
    """Guards the test above: the peepholes are not silently ignored."""
    xs, h0, c0, params = make_sequence(rng)
    hs, _, _, _ = peephole.peephole_forward(xs, h0, c0, params)
    hs_lstm, _, _, _ = lstm.lstm_forward(xs, h0, c0, lstm_params(params))
    assert np.abs(hs - hs_lstm).max() > 1e-3
    for key in ("p_i", "p_f", "p_o"):  # each peephole on its own matters
        only = {**params, **{k: np.zeros(H) for k in ("p_i", "p_f", "p_o") if k != key}}
        hs_only, _, _, _ = peephole.peephole_forward(xs, h0, c0, only)
        assert np.abs(hs_only - hs_lstm).max() > 1e-4, key


def test_one_step_sequence_equals_step_forward_and_backward(rng):
    xs, h0, c0, params = make_sequence(rng, T=1)
    dhs, dh_last, dc_last = rng.normal(size=(1, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))

    hs, h_last, c_last, cache = peephole.peephole_forward(xs, h0, c0, params)
    h, c, step_cache = peephole.peephole_step_forward(xs[0], h0, c0, params)
    np.testing.assert_allclose(hs[0], h, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(h_last, h, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c_last, c, rtol=1e-13, atol=1e-15)

    dxs, dh0, dc0, grads = peephole.peephole_backward(dhs, cache, dh_last, dc_last)
    dx, dh_prev, dc_prev, step_grads = peephole.peephole_step_backward(dhs[0] + dh_last, dc_last, step_cache)
    np.testing.assert_allclose(dxs[0], dx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dh0, dh_prev, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dc0, dc_prev, rtol=1e-12, atol=1e-14)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(grads[key], step_grads[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_gate_functions_composed_equal_the_step(rng):
    xs, h_prev, c_prev, params = make_sequence(rng)
    x = xs[0]
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    rows = {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate("ifgo")}

    def blocks(gate):
        return W_x[rows[gate]], W_h[rows[gate]], b[rows[gate]]

    i = peephole.input_gate(x, h_prev, c_prev, *blocks("i"), params["p_i"])
    f = peephole.forget_gate(x, h_prev, c_prev, *blocks("f"), params["p_f"])
    g = peephole.candidate(x, h_prev, *blocks("g"))
    c = peephole.cell_state(f, c_prev, i, g)
    o = peephole.output_gate(x, h_prev, c, *blocks("o"), params["p_o"])
    h = peephole.hidden_state(o, c)

    h_step, c_step, cache = peephole.peephole_step_forward(x, h_prev, c_prev, params)
    tol = {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(h, h_step, **tol)
    np.testing.assert_allclose(c, c_step, **tol)
    np.testing.assert_allclose(np.concatenate([i, f, g, o], axis=1), cache.gates, **tol)


def test_output_gate_looks_at_the_new_cell_state(rng):
    """o must use c_t: with only p_o nonzero, feeding c_prev instead would change h."""
    xs, h_prev, c_prev, params = make_sequence(rng)
    W_xo, W_ho, b_o = params["W_x"][3 * H :], params["W_h"][3 * H :], params["b"][3 * H :]
    h, c, _ = peephole.peephole_step_forward(xs[0], h_prev, c_prev, params)
    o_new = peephole.output_gate(xs[0], h_prev, c, W_xo, W_ho, b_o, params["p_o"])
    o_old = peephole.output_gate(xs[0], h_prev, c_prev, W_xo, W_ho, b_o, params["p_o"])
    np.testing.assert_allclose(h, o_new * np.tanh(c), rtol=1e-12)
    assert np.abs(h - o_old * np.tanh(c)).max() > 1e-3


def test_cell_state_hidden_state_and_candidate_are_the_lstm_functions():
    from rnn_ref.peephole import candidate, cell_state, hidden_state

    assert cell_state is lstm.cell_state
    assert hidden_state is lstm.hidden_state
    assert candidate is lstm.candidate


def test_no_argument_is_mutated(rng):
    xs, h0, c0, params = make_sequence(rng)
    mask = lengths_to_mask(LENGTHS, T)
    dhs, dh_last, dc_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    arguments = (xs, h0, c0, params, mask, dhs, dh_last, dc_last)
    saved = copy.deepcopy(arguments)

    _, _, _, cache = peephole.peephole_forward(xs, h0, c0, params, mask)
    cache_saved = copy.deepcopy(cache)
    peephole.peephole_backward(dhs, cache, dh_last, dc_last)
    _, _, step_cache = peephole.peephole_step_forward(xs[0], h0, c0, params)
    step_cache_saved = copy.deepcopy(step_cache)
    peephole.peephole_step_backward(dh_last, dc_last, step_cache)
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    peephole.input_gate(xs[0], h0, c0, W_x[:H], W_h[:H], b[:H], params["p_i"])
    peephole.forget_gate(xs[0], h0, c0, W_x[H : 2 * H], W_h[H : 2 * H], b[H : 2 * H], params["p_f"])
    peephole.output_gate(xs[0], h0, c0, W_x[3 * H :], W_h[3 * H :], b[3 * H :], params["p_o"])

    for got, expected in zip(arguments, saved, strict=True):
        if isinstance(expected, dict):
            assert sorted(got) == sorted(expected)
            for key in expected:
                np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
        else:
            np.testing.assert_array_equal(got, expected)
    for got_cache, expected_cache in ((cache, cache_saved), (step_cache, step_cache_saved)):
        for got, expected in zip(got_cache, expected_cache, strict=True):
            if isinstance(expected, dict):
                for key in expected:
                    np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
            elif expected is not None:
                np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
def test_peephole_backward_is_linear_in_the_upstream_gradient(rng, masked):
    xs, h0, c0, params = make_sequence(rng)
    mask = lengths_to_mask(LENGTHS, T) if masked else None
    _, _, _, cache = peephole.peephole_forward(xs, h0, c0, params, mask)
    up1 = (rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H)))
    up2 = (rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H)))
    alpha, beta = 0.7, -1.3
    combined = tuple(alpha * u1 + beta * u2 for u1, u2 in zip(up1, up2, strict=True))

    *d1, g1 = peephole.peephole_backward(up1[0], cache, up1[1], up1[2])
    *d2, g2 = peephole.peephole_backward(up2[0], cache, up2[1], up2[2])
    *d, g = peephole.peephole_backward(combined[0], cache, combined[1], combined[2])
    for got, a, b in zip(d, d1, d2, strict=True):
        np.testing.assert_allclose(got, alpha * a + beta * b, rtol=1e-10, atol=1e-12)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(g[key], alpha * g1[key] + beta * g2[key], rtol=1e-10, atol=1e-12, err_msg=key)

    _, _, step_cache = peephole.peephole_step_forward(xs[0], h0, c0, params)
    *s1, sg1 = peephole.peephole_step_backward(up1[1], up1[2], step_cache)
    *s2, sg2 = peephole.peephole_step_backward(up2[1], up2[2], step_cache)
    *s, sg = peephole.peephole_step_backward(combined[1], combined[2], step_cache)
    for got, a, b in zip(s, s1, s2, strict=True):
        np.testing.assert_allclose(got, alpha * a + beta * b, rtol=1e-10, atol=1e-12)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(sg[key], alpha * sg1[key] + beta * sg2[key], rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(rng, dtype):
    xs, h0, c0, params = make_sequence(rng, dtype=dtype)
    mask = lengths_to_mask(LENGTHS, T)
    dhs, dh_last, dc_last = (rng.normal(size=s).astype(dtype) for s in ((T, N, H), (N, H), (N, H)))

    hs, h_last, c_last, cache = peephole.peephole_forward(xs, h0, c0, params, mask)
    dxs, dh0, dc0, grads = peephole.peephole_backward(dhs, cache, dh_last, dc_last)
    h, c, step_cache = peephole.peephole_step_forward(xs[0], h0, c0, params)
    dx, dh_prev, dc_prev, step_grads = peephole.peephole_step_backward(dh_last, dc_last, step_cache)
    i = peephole.input_gate(xs[0], h0, c0, params["W_x"][:H], params["W_h"][:H], params["b"][:H], params["p_i"])
    arrays = [hs, h_last, c_last, cache.gates, cache.c_all, cache.h_all, dxs, dh0, dc0, h, c, dx, dh_prev, dc_prev, i]
    arrays += list(grads.values()) + list(step_grads.values())
    assert all(array.dtype == dtype for array in arrays), [array.dtype for array in arrays]

    if dtype == np.float32:  # and float32 computes the same thing as float64, to float32 precision
        xs64, h0_64, c0_64 = (a.astype(np.float64) for a in (xs, h0, c0))
        p64 = {key: value.astype(np.float64) for key, value in params.items()}
        hs64, _, _, cache64 = peephole.peephole_forward(xs64, h0_64, c0_64, p64, mask)
        dxs64, _, _, grads64 = peephole.peephole_backward(
            dhs.astype(np.float64), cache64, dh_last.astype(np.float64), dc_last.astype(np.float64)
        )
        np.testing.assert_allclose(hs, hs64, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dxs, dxs64, rtol=1e-4, atol=1e-5)
        for key in PARAM_KEYS:
            np.testing.assert_allclose(grads[key], grads64[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_padded_steps_carry_the_state_and_output_zero(rng):
    xs, h0, c0, params = make_sequence(rng)
    mask = lengths_to_mask(LENGTHS, T)
    hs, h_last, c_last, cache = peephole.peephole_forward(xs, h0, c0, params, mask)

    assert np.all(hs[~mask] == 0)
    padded_t, padded_n = np.nonzero(~mask)
    np.testing.assert_array_equal(cache.h_all[padded_t + 1, padded_n], cache.h_all[padded_t, padded_n])
    np.testing.assert_array_equal(cache.c_all[padded_t + 1, padded_n], cache.c_all[padded_t, padded_n])
    # each sequence's final state is the one at its own last valid step: run it alone, unpadded
    for n, length in enumerate(LENGTHS):
        if length == 0:
            np.testing.assert_array_equal(h_last[n], h0[n])
            np.testing.assert_array_equal(c_last[n], c0[n])
            continue
        hs_n, h_n, c_n, _ = peephole.peephole_forward(xs[:length, n : n + 1], h0[n : n + 1], c0[n : n + 1], params)
        np.testing.assert_allclose(hs[:length, n], hs_n[:, 0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h_last[n], h_n[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(c_last[n], c_n[0], rtol=1e-12, atol=1e-14)


def test_padded_steps_receive_and_give_no_gradient(rng):
    xs, h0, c0, params = make_sequence(rng)
    mask = lengths_to_mask(LENGTHS, T)
    dhs, dh_last, dc_last = rng.normal(size=(T, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    _, _, _, cache = peephole.peephole_forward(xs, h0, c0, params, mask)
    dxs, dh0, dc0, grads = peephole.peephole_backward(dhs, cache, dh_last, dc_last)
    assert np.all(dxs[~mask] == 0)

    # garbage in the padding (of the inputs and of the upstream gradient) changes nothing
    xs_junk, dhs_junk = xs.copy(), dhs.copy()
    xs_junk[~mask] = 1e3 * rng.normal(size=xs_junk[~mask].shape)
    dhs_junk[~mask] = 1e3 * rng.normal(size=dhs_junk[~mask].shape)
    hs_j, h_last_j, c_last_j, cache_j = peephole.peephole_forward(xs_junk, h0, c0, params, mask)
    dxs_j, dh0_j, dc0_j, grads_j = peephole.peephole_backward(dhs_junk, cache_j, dh_last, dc_last)
    for got, expected in ((dxs_j, dxs), (dh0_j, dh0), (dc0_j, dc0)):
        np.testing.assert_array_equal(got, expected)
    for key in PARAM_KEYS:
        np.testing.assert_array_equal(grads_j[key], grads[key], err_msg=key)

    # each sequence's gradients are those of the sequence run alone, unpadded; parameters sum them
    total = {key: np.zeros_like(value) for key, value in params.items()}
    for n, length in enumerate(LENGTHS):
        if length == 0:  # nothing ran: the final-state gradients are the initial-state gradients
            np.testing.assert_array_equal(dh0[n], dh_last[n])
            np.testing.assert_array_equal(dc0[n], dc_last[n])
            continue
        one = slice(n, n + 1)
        _, _, _, cache_n = peephole.peephole_forward(xs[:length, one], h0[one], c0[one], params)
        dxs_n, dh0_n, dc0_n, grads_n = peephole.peephole_backward(
            dhs[:length, one], cache_n, dh_last[one], dc_last[one]
        )
        np.testing.assert_allclose(dxs[:length, n], dxs_n[:, 0], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(dh0[n], dh0_n[0], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(dc0[n], dc0_n[0], rtol=1e-11, atol=1e-13)
        for key in PARAM_KEYS:
            total[key] += grads_n[key]
    for key in PARAM_KEYS:
        np.testing.assert_allclose(grads[key], total[key], rtol=1e-11, atol=1e-13, err_msg=key)


def test_lengths_keyword_equals_the_mask(rng):
    xs, h0, c0, params = make_sequence(rng)
    *by_mask, cache_m = peephole.peephole_forward(xs, h0, c0, params, lengths_to_mask(LENGTHS, T))
    *by_lengths, cache_l = peephole.peephole_forward(xs, h0, c0, params, lengths=LENGTHS)
    for got, expected in zip(by_lengths, by_mask, strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(cache_l.mask, cache_m.mask)


def test_none_initial_states_are_zeros(rng):
    xs, _, _, params = make_sequence(rng)
    zeros = np.zeros((N, H))
    *with_none, _ = peephole.peephole_forward(xs, None, None, params)
    *with_zeros, _ = peephole.peephole_forward(xs, zeros, zeros, params)
    for got, expected in zip(with_none, with_zeros, strict=True):
        np.testing.assert_array_equal(got, expected)


# --- bad input -------------------------------------------------------------------------------


def _without(params, key):
    return {k: v for k, v in params.items() if k != key}


def _with(params, key, value):
    return {**params, key: value}


BAD_SEQUENCE_CALLS = {
    "xs_rank": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs[0], h0, c0, P),
        r"xs has shape \(3, 3\) \(2 dimensions\), expected 3 dimensions \(T, N, D\)",
    ),
    "xs_input_size": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs[..., :2], h0, c0, P),
        r"xs has shape \(4, 3, 2\), expected \(T, N, D\) = \(4, 3, 3\)",
    ),
    "h0_shape": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, np.zeros((N, H + 1)), c0, P),
        r"h0 has shape \(3, 3\), expected \(N, H\) = \(3, 2\)",
    ),
    "c0_shape": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0[:2], P),
        r"c0 has shape \(2, 2\), expected \(N, H\) = \(3, 2\)",
    ),
    "p_i_shape": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, _with(P, "p_i", np.zeros(H + 1))),
        r"params\['p_i'\] has shape \(3,\), expected \(H,\) = \(2,\)",
    ),
    "p_f_rank": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, _with(P, "p_f", np.zeros((H, H)))),
        r"params\['p_f'\] has shape \(2, 2\) \(2 dimensions\), expected 1 dimensions \(H,\)",
    ),
    "missing_p_o": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, _without(P, "p_o")),
        r"params has keys .*\(missing \['p_o'\]\)",
    ),
    "W_x_not_4H": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, _with(P, "W_x", np.zeros((7, D)))),
        r"params\['W_x'\] has shape \(7, 3\).*not a multiple of 4",
    ),
    "xs_dtype": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs.astype(np.float32), h0, c0, P),
        r"xs has dtype float32 but params\['W_x'\] has dtype float64",
    ),
    "p_o_dtype": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, _with(P, "p_o", P["p_o"].astype(np.float32))),
        r"params\['p_o'\] has dtype float32 but params\['W_x'\] has dtype float64",
    ),
    "mask_shape": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, P, np.ones((T, N + 1), bool)),
        r"mask has shape \(4, 4\), expected \(T, N\) = \(4, 3\)",
    ),
    "lengths_shape": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, P, lengths=np.array([1, 2])),
        r"lengths has shape \(2,\), expected \(N,\) = \(3,\)",
    ),
    "params_not_a_dict": (
        lambda xs, h0, c0, P: peephole.peephole_forward(xs, h0, c0, list(P.values())),
        r"params must be a dict",
    ),
    "wrong_cache_type": (
        lambda xs, h0, c0, P: peephole.peephole_backward(
            np.zeros((T, N, H)), lstm.lstm_forward(xs, h0, c0, lstm_params(P))[3]
        ),
        r"cache must be the PeepholeCache returned by peephole_forward, got LSTMCache",
    ),
    "dhs_shape": (
        lambda xs, h0, c0, P: peephole.peephole_backward(
            np.zeros((T, N, H + 1)), peephole.peephole_forward(xs, h0, c0, P)[3]
        ),
        r"dhs has shape \(4, 3, 3\), expected \(T, N, H\) = \(4, 3, 2\)",
    ),
    "dh_last_shape": (
        lambda xs, h0, c0, P: peephole.peephole_backward(
            np.zeros((T, N, H)), peephole.peephole_forward(xs, h0, c0, P)[3], dh_last=np.zeros(H)
        ),
        r"dh_last has shape \(2,\) \(1 dimensions\), expected 2 dimensions \(N, H\)",
    ),
    "dc_last_shape": (
        lambda xs, h0, c0, P: peephole.peephole_backward(
            np.zeros((T, N, H)), peephole.peephole_forward(xs, h0, c0, P)[3], dc_last=np.zeros((N + 1, H))
        ),
        r"dc_last has shape \(4, 2\), expected \(N, H\) = \(3, 2\)",
    ),
    "dhs_dtype": (
        lambda xs, h0, c0, P: peephole.peephole_backward(
            np.zeros((T, N, H), np.float32), peephole.peephole_forward(xs, h0, c0, P)[3]
        ),
        r"dhs has dtype float32 but xs \(from cache\) has dtype float64",
    ),
}


@pytest.mark.parametrize("case", BAD_SEQUENCE_CALLS)
def test_bad_sequence_input_raises_value_error_naming_the_argument(rng, case):
    call, message = BAD_SEQUENCE_CALLS[case]
    xs, h0, c0, params = make_sequence(rng)
    with pytest.raises(ValueError, match=message):
        call(xs, h0, c0, params)


BAD_STEP_CALLS = {
    "x_rank": (
        lambda x, h, c, P: peephole.peephole_step_forward(x[None], h, c, P),
        r"x has shape \(1, 3, 3\) \(3 dimensions\), expected 2 dimensions \(N, D\)",
    ),
    "h_prev_shape": (
        lambda x, h, c, P: peephole.peephole_step_forward(x, h[:, :1], c, P),
        r"h_prev has shape \(3, 1\), expected \(N, H\) = \(3, 2\)",
    ),
    "c_prev_shape": (
        lambda x, h, c, P: peephole.peephole_step_forward(x, h, c[:1], P),
        r"c_prev has shape \(1, 2\), expected \(N, H\) = \(3, 2\)",
    ),
    "p_i_shape": (
        lambda x, h, c, P: peephole.peephole_step_forward(x, h, c, _with(P, "p_i", np.zeros(H + 1))),
        r"params\['p_i'\] has shape \(3,\), expected \(H,\) = \(2,\)",
    ),
    "missing_p_f": (
        lambda x, h, c, P: peephole.peephole_step_forward(x, h, c, _without(P, "p_f")),
        r"params has keys .*\(missing \['p_f'\]\)",
    ),
    "c_prev_dtype": (
        lambda x, h, c, P: peephole.peephole_step_forward(x, h, c.astype(np.float32), P),
        r"c_prev has dtype float32 but params\['W_x'\] has dtype float64",
    ),
    "wrong_cache_type": (
        lambda x, h, c, P: peephole.peephole_step_backward(
            np.zeros((N, H)), np.zeros((N, H)), peephole.peephole_forward(x[None], h, c, P)[3]
        ),
        r"cache must be the PeepholeStepCache returned by peephole_step_forward, got PeepholeCache",
    ),
    "dh_shape": (
        lambda x, h, c, P: peephole.peephole_step_backward(
            np.zeros((N, H + 1)), np.zeros((N, H)), peephole.peephole_step_forward(x, h, c, P)[2]
        ),
        r"dh has shape \(3, 3\), expected \(N, H\) = \(3, 2\)",
    ),
    "dc_shape": (
        lambda x, h, c, P: peephole.peephole_step_backward(
            np.zeros((N, H)), np.zeros((H,)), peephole.peephole_step_forward(x, h, c, P)[2]
        ),
        r"dc has shape \(2,\) \(1 dimensions\), expected 2 dimensions \(N, H\)",
    ),
}


@pytest.mark.parametrize("case", BAD_STEP_CALLS)
def test_bad_step_input_raises_value_error_naming_the_argument(rng, case):
    call, message = BAD_STEP_CALLS[case]
    xs, h0, c0, params = make_sequence(rng)
    with pytest.raises(ValueError, match=message):
        call(xs[0], h0, c0, params)


def _gate_blocks(params, k):
    rows = slice(k * H, (k + 1) * H)
    return params["W_x"][rows], params["W_h"][rows], params["b"][rows]


BAD_GATE_CALLS = {
    "input_gate_p_i": (
        lambda x, h, c, P: peephole.input_gate(x, h, c, *_gate_blocks(P, 0), np.zeros(H + 1)),
        r"p_i has shape \(3,\), expected \(H,\) = \(2,\)",
    ),
    "input_gate_c_prev": (
        lambda x, h, c, P: peephole.input_gate(x, h, c[:, :1], *_gate_blocks(P, 0), P["p_i"]),
        r"c_prev has shape \(3, 1\), expected \(N, H\) = \(3, 2\)",
    ),
    "forget_gate_p_f_rank": (
        lambda x, h, c, P: peephole.forget_gate(x, h, c, *_gate_blocks(P, 1), np.zeros((1, H))),
        r"p_f has shape \(1, 2\) \(2 dimensions\), expected 1 dimensions \(H,\)",
    ),
    "forget_gate_W_hf": (
        lambda x, h, c, P: peephole.forget_gate(x, h, c, P["W_x"][H : 2 * H], P["W_h"], P["b"][H : 2 * H], P["p_f"]),
        r"W_hf has shape \(8, 2\), expected \(H, H\) = \(2, 2\)",
    ),
    "output_gate_c": (
        lambda x, h, c, P: peephole.output_gate(x, h, c[:2], *_gate_blocks(P, 3), P["p_o"]),
        r"c has shape \(2, 2\), expected \(N, H\) = \(3, 2\)",
    ),
    "output_gate_p_o_dtype": (
        lambda x, h, c, P: peephole.output_gate(x, h, c, *_gate_blocks(P, 3), P["p_o"].astype(np.float32)),
        r"p_o has dtype float32 but x has dtype float64",
    ),
}


@pytest.mark.parametrize("case", BAD_GATE_CALLS)
def test_bad_gate_input_raises_value_error_naming_the_argument(rng, case):
    call, message = BAD_GATE_CALLS[case]
    xs, h0, c0, params = make_sequence(rng)
    with pytest.raises(ValueError, match=message):
        call(xs[0], h0, c0, params)
