"""rnn_ref.tbptt: truncated BPTT against central differences of its surrogate loss, full BPTT,
PyTorch's detach idiom; masks, dtypes, empty sequences and bad input."""

import copy

import numpy as np
import pytest
from _cells import random_params
from _numeric import check_gradients, expect_value_error

from rnn_ref import cells, masks
from rnn_ref.tbptt import truncated_bptt

CELLS = ["rnn", "lstm", "gru", "peephole"]


def _setup(cell, rng, T=7, N=3, D=2, H=3, reset_after=False):
    params = random_params(cell, D, H, rng, reset_after=reset_after)
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


@pytest.mark.parametrize(
    "cell, reset_after", [("rnn", False), ("lstm", False), ("gru", False), ("gru", True), ("peephole", False)]
)
def test_truncated_bptt_is_the_gradient_of_its_surrogate_loss_numerically(cell, reset_after, rng):
    """Central differences of the loss truncated BPTT differentiates, built from forward passes only.

    With windows of k steps the carried state S_w entering window w > 0 is a constant (its value
    in the unperturbed forward pass); only the first window sees state0.  The surrogate is
    sum_w <dhs_w, hs_w(xs_w, S_w, params)> + <dstate_last, final state>, on a masked batch
    (a sequence of length 0 included) with k = 2 on T = 5, so that the last window is short.
    """
    T, N, k = 5, 3, 2
    kwargs = {"reset_after": True} if reset_after else {}
    params, xs, state0, dhs, dlast = _setup(cell, rng, T=T, N=N, reset_after=reset_after)
    mask = masks.lengths_to_mask(np.array([5, 3, 0]), T)
    windows = [(start, min(start + k, T)) for start in range(0, T, k)]
    carried, state = [], state0  # the constant states S_w, from the unperturbed forward pass
    for start, stop in windows:
        carried.append(state)
        _, state, _ = cells.sequence_forward(cell, xs[start:stop], state, params, mask[start:stop], **kwargs)

    names = [f"state0[{i}]" for i in range(len(state0))]

    def loss(v):
        total = 0.0
        for w, (start, stop) in enumerate(windows):
            s = tuple(v[name] for name in names) if w == 0 else carried[w]
            p = {key: v[key] for key in params}
            hs, s_last, _ = cells.sequence_forward(cell, v["xs"][start:stop], s, p, mask[start:stop], **kwargs)
            total += np.sum(dhs[start:stop] * hs)
        return total + sum(np.sum(d * s) for d, s in zip(dlast, s_last, strict=True))

    dxs, dstate0, grads = truncated_bptt(cell, xs, state0, params, dhs, k, mask=mask, dstate_last=dlast, **kwargs)
    inputs = {"xs": xs, **dict(zip(names, state0, strict=True)), **params}
    check_gradients(loss, inputs, {"xs": dxs, **dict(zip(names, dstate0, strict=True)), **grads})
    assert np.all(dxs[~mask] == 0)


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


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_keeps_float32_with_and_without_optional_arguments(cell, rng):
    params, xs, state0, dhs, dlast = _setup(cell, rng)
    as32 = lambda arrays: tuple(a.astype(np.float32) for a in arrays)  # noqa: E731
    params32 = {key: value.astype(np.float32) for key, value in params.items()}
    mask = masks.lengths_to_mask(np.array([7, 3, 0]), 7)
    for state, d, m in ((as32(state0), as32(dlast), mask), (None, None, None)):
        dxs, dstate0, grads = truncated_bptt(cell, xs.astype(np.float32), state, params32, dhs.astype(np.float32), 3,
                                             mask=m, dstate_last=d)  # fmt: skip
        arrays = [dxs, *dstate0, *grads.values()]
        assert all(a.dtype == np.float32 for a in arrays), [a.dtype for a in arrays]


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_of_zero_steps_passes_dstate_last_to_dstate0(cell, rng):
    params, _, state0, _, dlast = _setup(cell, rng)
    xs, dhs = np.zeros((0, 3, 2)), np.zeros((0, 3, 3))
    dxs, dstate0, grads = truncated_bptt(cell, xs, state0, params, dhs, 2, dstate_last=dlast)
    assert dxs.shape == (0, 3, 2)
    for got, expected in zip(dstate0, dlast, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert sorted(grads) == sorted(params) and not any(g.any() for g in grads.values())


def test_truncated_bptt_lengths_equal_the_mask_they_describe(rng):
    params, xs, state0, dhs, dlast = _setup("lstm", rng)
    lengths = np.array([7, 2, 0])
    with_lengths = truncated_bptt("lstm", xs, state0, params, dhs, 3, lengths=lengths, dstate_last=dlast)
    with_mask = truncated_bptt("lstm", xs, state0, params, dhs, 3, masks.lengths_to_mask(lengths, 7), dlast)
    np.testing.assert_array_equal(with_lengths[0], with_mask[0])
    for a, b in zip(with_lengths[1], with_mask[1], strict=True):
        np.testing.assert_array_equal(a, b)
    for key in params:
        np.testing.assert_array_equal(with_lengths[2][key], with_mask[2][key])
    assert np.all(with_lengths[0][2:, 1] == 0) and np.all(with_lengths[0][:, 2] == 0)


def test_truncated_bptt_bad_arguments_raise_naming_them(rng):
    params, xs, state0, dhs, dlast = _setup("lstm", rng)
    expect_value_error(
        lambda: truncated_bptt("lstm", xs, state0, params, dhs[..., :2], 2), "dhs", "dhs has shape (7, 3, 2)",
        "expected (T, N, H) = (7, 3, 3)",
    )  # fmt: skip
    expect_value_error(lambda: truncated_bptt("lstm", xs, state0, params, None, 2), "dhs", "dhs is None")
    expect_value_error(lambda: truncated_bptt("lstm", xs, state0[0], params, dhs, 2), "state0", "(h0, c0)")
    expect_value_error(lambda: truncated_bptt("lstm", xs, state0, params, dhs, 2, dstate_last=dlast[0]), "dstate_last")
    expect_value_error(lambda: truncated_bptt("lstm", xs, state0, params, dhs, 2, reset_after=True), "reset_after")
    expect_value_error(
        lambda: truncated_bptt("lstm", xs, state0, params, dhs, 2, np.ones((7, 3), bool), lengths=[7, 7, 7]), "mask"
    )
    expect_value_error(lambda: truncated_bptt("lstm", xs, state0, params, dhs, 2, lengths=[8, 1, 1]), "lengths")
    expect_value_error(lambda: truncated_bptt("lstm", xs, state0, params, dhs.astype(np.float32), 2), "dhs", "float32")
