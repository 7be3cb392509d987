"""rnn_ref.tbptt: truncated BPTT against full BPTT, against PyTorch's detach idiom, and bad input."""

import copy

import numpy as np
import pytest
from _cells import random_params

from rnn_ref import cells, masks
from rnn_ref.tbptt import truncated_bptt

CELLS = ["rnn", "lstm", "gru", "peephole"]


def _setup(cell, rng, T=7, N=3, D=2, H=3):
    params = random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    n_states = len(cells.get_cell(cell).state_names)
    state0 = tuple(rng.normal(size=(N, H)) for _ in range(n_states))
    dhs = rng.normal(size=(T, N, H))
    dlast = tuple(rng.normal(size=(N, H)) for _ in range(n_states))
    return params, xs, state0, dhs, dlast


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k", [7, 8, 100])
def test_truncated_with_window_at_least_T_equals_full_bptt(cell, k, rng):
    params, xs, state0, dhs, dlast = _setup(cell, rng)
    mask = masks.lengths_to_mask(np.array([7, 3, 0]), 7)
    _, _, cache = cells.sequence_forward(cell, xs, state0, params, mask)
    full = cells.sequence_backward(cell, dhs, cache, dlast)
    truncated = truncated_bptt(cell, xs, state0, params, dhs, k, mask=mask, dstate_last=dlast)
    np.testing.assert_array_equal(truncated[0], full[0])
    for a, b in zip(truncated[1], full[1], strict=True):
        np.testing.assert_array_equal(a, b)
    for key in full[2]:
        np.testing.assert_array_equal(truncated[2][key], full[2][key])


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_windows_are_independent_backward_passes_on_carried_state(cell, rng):
    """k = 3 on T = 7: windows [0, 3), [3, 6), [6, 7), each a full BPTT from the carried state."""
    params, xs, state0, dhs, dlast = _setup(cell, rng)
    dxs, dstate0, grads = truncated_bptt(cell, xs, state0, params, dhs, 3, dstate_last=dlast)
    state, expected_grads = state0, {key: 0 for key in params}
    for start, stop in ((0, 3), (3, 6), (6, 7)):
        _, state_next, cache = cells.sequence_forward(cell, xs[start:stop], state, params)
        d = cells.sequence_backward(cell, dhs[start:stop], cache, dlast if stop == 7 else None)
        np.testing.assert_allclose(dxs[start:stop], d[0], atol=1e-14)
        if start == 0:
            for a, b in zip(dstate0, d[1], strict=True):
                np.testing.assert_allclose(a, b, atol=1e-14)
        expected_grads = {key: expected_grads[key] + d[2][key] for key in params}
        state = state_next
    for key in params:
        np.testing.assert_allclose(grads[key], expected_grads[key], atol=1e-13)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_truncated_bptt_matches_torch_detach_at_window_boundaries(torch, cell, rng):
    """PyTorch's idiom: run each window from the detached final state of the previous one."""
    T, N, D, H, k = 7, 2, 3, 4, 3
    params, xs, state0, dhs, _ = _setup(cell, rng, T, N, D, H)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[cell](D, H)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(params["W_x"]))
        module.weight_hh_l0.copy_(torch.tensor(params["W_h"]))
        module.bias_ih_l0.copy_(torch.tensor(params["b"]))
        module.bias_hh_l0.zero_()
    xs_t = torch.tensor(xs, requires_grad=True)
    state = tuple(torch.tensor(s[None], requires_grad=True) for s in state0)
    first_state = state
    for start in range(0, T, k):
        out, new_state = module(xs_t[start : start + k], state if cell == "lstm" else state[0])
        (out * torch.tensor(dhs[start : start + k])).sum().backward()
        new_state = new_state if cell == "lstm" else (new_state,)
        state = tuple(s.detach() for s in new_state)  # the state goes on, the gradient stops
    dxs, dstate0, grads = truncated_bptt(cell, xs, state0, params, dhs, k)
    np.testing.assert_allclose(dxs, xs_t.grad.numpy(), atol=1e-12)
    for ours, theirs in zip(dstate0, first_state, strict=True):
        np.testing.assert_allclose(ours, theirs.grad[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(grads["W_x"], module.weight_ih_l0.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(grads["W_h"], module.weight_hh_l0.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(grads["b"], module.bias_ih_l0.grad.numpy(), atol=1e-12)


def test_truncation_changes_the_gradient_when_k_is_smaller_than_T(rng):
    params, xs, state0, dhs, _ = _setup("rnn", rng)
    full = truncated_bptt("rnn", xs, state0, params, dhs, 7)
    short = truncated_bptt("rnn", xs, state0, params, dhs, 2)
    assert not np.allclose(full[2]["W_h"], short[2]["W_h"])
    np.testing.assert_allclose(full[0][-1], short[0][-1])  # the last step's input sees the same future


def test_truncated_bptt_mutates_nothing(rng):
    params, xs, state0, dhs, dlast = _setup("lstm", rng)
    before = copy.deepcopy((params, xs, state0, dhs, dlast))
    truncated_bptt("lstm", xs, state0, params, dhs, 2, dstate_last=dlast)
    for key in params:
        np.testing.assert_array_equal(params[key], before[0][key])
    for a, b in zip((xs, *state0, dhs, *dlast), (before[1], *before[2], before[3], *before[4]), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_bad_window_length_is_named(k, rng):
    params, xs, state0, dhs, _ = _setup("rnn", rng)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        truncated_bptt("rnn", xs, state0, params, dhs, k)


def test_bad_shapes_are_named(rng):
    params, xs, state0, dhs, _ = _setup("rnn", rng)
    with pytest.raises(ValueError, match=r"dhs has shape \(6, 3, 3\)"):
        truncated_bptt("rnn", xs, state0, params, dhs[:6], 2)
    with pytest.raises(ValueError, match="unknown cell 'elman'"):
        truncated_bptt("elman", xs, state0, params, dhs, 2)
    with pytest.raises(ValueError, match=r"mask has shape \(7, 2\)"):
        truncated_bptt("rnn", xs, state0, params, dhs, 2, mask=np.ones((7, 2), bool))
