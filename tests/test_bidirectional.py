"""rnn_ref.bidirectional: PyTorch oracle, numerical gradients, properties, bad input."""

import copy

import _torch_cells
import numpy as np
import pytest
from _cells import numeric_grad, random_params
from _numeric import expect_value_error

from rnn_ref import bidirectional, cells, masks
from rnn_ref.bidirectional import bidirectional_backward, bidirectional_forward

CELLS = ["rnn", "lstm", "gru", "peephole"]
MERGES = ["concat", "sum", "mean"]
# (cell, reset_after): every cell, and the GRU in both published variants
VARIANTS = [("rnn", False), ("lstm", False), ("gru", False), ("gru", True), ("peephole", False)]
VARIANT_IDS = ["rnn", "lstm", "gru", "gru-reset-after", "peephole"]


def cell_kwargs(cell, reset_after):
    return {"reset_after": reset_after} if cell == "gru" else {}


# --- the PyTorch oracle --------------------------------------------------------------------------

TORCH_CELLS = [("rnn", False), ("lstm", False), ("gru", True)]


def n_states(cell):
    return 2 if cell in ("lstm", "peephole") else 1


def as_state(arrays):
    """The cells' tuple ``(h,)`` or ``(h, c)`` as a bidirectional state: ``h`` or ``(h, c)``."""
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def random_state(cell, N, H, rng):
    return as_state([np.tanh(rng.normal(size=(N, H))) for _ in range(n_states(cell))])


@pytest.mark.parametrize("cell,reset_after", TORCH_CELLS)
@pytest.mark.parametrize("T,N,D,H,lengths", [(6, 4, 3, 5, [6, 2, 4, 1]), (1, 1, 2, 3, [1]), (5, 3, 4, 2, [5, 5, 5])])
def test_bidirectional_matches_torch_packed(torch, cell, reset_after, T, N, D, H, lengths):
    """Outputs, final states (h_n, c_n) and every gradient, initial states (h_0, c_0) included, equal
    torch's bidirectional layer on packed sequences, with random initial states and random gradients
    of the final states."""
    rng = np.random.default_rng(T * 100 + N)
    lengths = np.array(lengths)
    params = [random_params(cell, D, H, rng, reset_after=reset_after) for _ in range(2)]
    # torch splits each bias in two; ours is their sum, and the GRU's n block of bias_hh is b_hn
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H, bidirectional=True)
    with torch.no_grad():
        for suffix, p in zip(("_l0", "_l0_reverse"), params, strict=True):
            b_ih = rng.normal(0, 0.5, p["b"].shape)
            b_hh = p["b"] - b_ih
            if cell == "gru":
                b_hh[2 * H :] = p["b_hn"]
                b_ih[2 * H :] = p["b"][2 * H :]
            getattr(module, "weight_ih" + suffix).copy_(torch.tensor(p["W_x"]))
            getattr(module, "weight_hh" + suffix).copy_(torch.tensor(p["W_h"]))
            getattr(module, "bias_ih" + suffix).copy_(torch.tensor(b_ih))
            getattr(module, "bias_hh" + suffix).copy_(torch.tensor(b_hh))

    xs = rng.normal(size=(T, N, D))
    state0_fwd, state0_bwd = random_state(cell, N, H, rng), random_state(cell, N, H, rng)
    # torch's h_0 (and c_0) stack the directions: (2, N, H), forward first
    torch_state0 = [
        torch.tensor(np.stack([f, b]), requires_grad=True)
        for f, b in zip(as_tuple(state0_fwd), as_tuple(state0_bwd), strict=True)
    ]
    xs_t = torch.tensor(xs, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xs_t, torch.tensor(lengths), enforce_sorted=False)
    out, state_n = module(packed, tuple(torch_state0) if cell == "lstm" else torch_state0[0])
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    state_n = state_n if cell == "lstm" else (state_n,)  # (h_n,) or (h_n, c_n), each (2, N, H)

    ys, last_fwd, last_bwd, cache = bidirectional_forward(
        cell,
        xs,
        *params,
        lengths=lengths,
        state0_fwd=state0_fwd,
        state0_bwd=state0_bwd,
        **cell_kwargs(cell, reset_after),
    )
    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(ys, out.detach().numpy(), **close)
    for k, name in enumerate(("h_n", "c_n")[: n_states(cell)]):
        np.testing.assert_allclose(as_tuple(last_fwd)[k], state_n[k][0].detach().numpy(), **close, err_msg=name)
        np.testing.assert_allclose(as_tuple(last_bwd)[k], state_n[k][1].detach().numpy(), **close, err_msg=name)

    dys = rng.normal(size=ys.shape)
    dlast_fwd, dlast_bwd = random_state(cell, N, H, rng), random_state(cell, N, H, rng)
    loss = (out * torch.tensor(dys)).sum()
    for k in range(n_states(cell)):
        loss = loss + (state_n[k] * torch.tensor(np.stack([as_tuple(dlast_fwd)[k], as_tuple(dlast_bwd)[k]]))).sum()
    loss.backward()
    dxs, dstate0_fwd, dstate0_bwd, grads_fwd, grads_bwd = bidirectional_backward(dys, cache, dlast_fwd, dlast_bwd)
    np.testing.assert_allclose(dxs, xs_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    for k, name in enumerate(("dh_0", "dc_0")[: n_states(cell)]):
        np.testing.assert_allclose(as_tuple(dstate0_fwd)[k], torch_state0[k].grad[0].numpy(), atol=1e-11, err_msg=name)
        np.testing.assert_allclose(as_tuple(dstate0_bwd)[k], torch_state0[k].grad[1].numpy(), atol=1e-11, err_msg=name)
    for suffix, grads in (("_l0", grads_fwd), ("_l0_reverse", grads_bwd)):
        np.testing.assert_allclose(grads["W_x"], getattr(module, "weight_ih" + suffix).grad.numpy(), atol=1e-11)
        np.testing.assert_allclose(grads["W_h"], getattr(module, "weight_hh" + suffix).grad.numpy(), atol=1e-11)
        db_ih = getattr(module, "bias_ih" + suffix).grad.numpy()
        db_hh = getattr(module, "bias_hh" + suffix).grad.numpy()
        if cell == "gru":
            np.testing.assert_allclose(grads["b"][: 2 * H], db_ih[: 2 * H], atol=1e-11)
            np.testing.assert_allclose(grads["b"][2 * H :], db_ih[2 * H :], atol=1e-11)
            np.testing.assert_allclose(grads["b_hn"], db_hh[2 * H :], atol=1e-11)
        else:
            # b = b_ih + b_hh, so torch gives the same gradient to both halves
            np.testing.assert_allclose(grads["b"], db_ih, atol=1e-11)
            np.testing.assert_allclose(grads["b"], db_hh, atol=1e-11)


@pytest.mark.parametrize("merge", MERGES)
@pytest.mark.parametrize(("cell", "reset_after"), VARIANTS, ids=VARIANT_IDS)
def test_bidirectional_matches_torch_autograd_on_each_sequence_reversed_by_hand(torch, cell, reset_after, merge):
    """Every cell (the textbook GRU and the peephole LSTM too) and every merge, against autograd,
    with initial states, final states and their gradients.

    The oracle never pads: each sequence is cut to its own length, read forward by one cell and
    reversed with ``flip`` for the other (which starts from its initial state at the sequence's
    last valid step), merged, and put back in a zero-padded batch.
    """
    rng = np.random.default_rng(11)
    T, N, D, H = 5, 4, 3, 2
    lengths = np.array([5, 2, 0, 3])
    kwargs = {"reset_after": True} if reset_after else {}
    params_fwd = random_params(cell, D, H, rng, reset_after=reset_after)
    params_bwd = random_params(cell, D, H, rng, reset_after=reset_after)
    xs = rng.normal(size=(T, N, D))
    state0_fwd, state0_bwd = random_state(cell, N, H, rng), random_state(cell, N, H, rng)
    ys, last_fwd, last_bwd, cache = bidirectional_forward(
        cell,
        xs,
        params_fwd,
        params_bwd,
        lengths=lengths,
        merge=merge,
        state0_fwd=state0_fwd,
        state0_bwd=state0_bwd,
        **kwargs,
    )
    dys = rng.normal(size=ys.shape)  # random at padded steps too: they must be ignored
    dlast_fwd, dlast_bwd = random_state(cell, N, H, rng), random_state(cell, N, H, rng)
    dxs, dstate0_fwd, dstate0_bwd, grads_fwd, grads_bwd = bidirectional_backward(dys, cache, dlast_fwd, dlast_bwd)

    xs_t = torch.tensor(xs, requires_grad=True)
    P_fwd = {key: torch.tensor(value, requires_grad=True) for key, value in params_fwd.items()}
    P_bwd = {key: torch.tensor(value, requires_grad=True) for key, value in params_bwd.items()}
    S_fwd = [torch.tensor(s, requires_grad=True) for s in as_tuple(state0_fwd)]
    S_bwd = [torch.tensor(s, requires_grad=True) for s in as_tuple(state0_bwd)]
    columns, finals_fwd, finals_bwd = [], [], []
    for n, L in enumerate(lengths):
        x_n = xs_t[:L, n : n + 1]  # (L, 1, D): this sequence, no padding
        h_fwd, end_fwd = _torch_cells.run(torch, cell, x_n, P_fwd, reset_after, [s[n : n + 1] for s in S_fwd], True)
        h_rev, end_bwd = _torch_cells.run(
            torch, cell, x_n.flip(0), P_bwd, reset_after, [s[n : n + 1] for s in S_bwd], True
        )
        h_bwd = h_rev.flip(0)
        merged = {"concat": torch.cat([h_fwd, h_bwd], -1), "sum": h_fwd + h_bwd, "mean": (h_fwd + h_bwd) / 2}[merge]
        padding = torch.zeros(T - L, 1, merged.shape[-1])
        columns.append(torch.cat([merged, padding]))
        finals_fwd.append(end_fwd)
        finals_bwd.append(end_bwd)
    ys_t = torch.cat(columns, dim=1)  # (T, N, F)
    last_fwd_t = [torch.cat([f[k] for f in finals_fwd]) for k in range(n_states(cell))]  # (N, H) each
    last_bwd_t = [torch.cat([f[k] for f in finals_bwd]) for k in range(n_states(cell))]
    loss = (ys_t * torch.tensor(dys)).sum()
    for k in range(n_states(cell)):
        loss = loss + (last_fwd_t[k] * torch.tensor(as_tuple(dlast_fwd)[k])).sum()
        loss = loss + (last_bwd_t[k] * torch.tensor(as_tuple(dlast_bwd)[k])).sum()
    loss.backward()

    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(ys, ys_t.detach().numpy(), **close, err_msg="ys")
    np.testing.assert_allclose(dxs, xs_t.grad.numpy(), **close, err_msg="dxs")
    for k in range(n_states(cell)):
        np.testing.assert_allclose(as_tuple(last_fwd)[k], last_fwd_t[k].detach().numpy(), **close, err_msg="last_fwd")
        np.testing.assert_allclose(as_tuple(last_bwd)[k], last_bwd_t[k].detach().numpy(), **close, err_msg="last_bwd")
        np.testing.assert_allclose(as_tuple(dstate0_fwd)[k], S_fwd[k].grad.numpy(), **close, err_msg="dstate0_fwd")
        np.testing.assert_allclose(as_tuple(dstate0_bwd)[k], S_bwd[k].grad.numpy(), **close, err_msg="dstate0_bwd")
    for direction, grads, P in (("fwd", grads_fwd, P_fwd), ("bwd", grads_bwd, P_bwd)):
        assert sorted(grads) == sorted(P)
        for key in P:
            np.testing.assert_allclose(grads[key], P[key].grad.numpy(), **close, err_msg=f"{direction} {key}")


# --- numerical gradients -------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "reset_after"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("merge", MERGES)
def test_bidirectional_backward_matches_numeric(cell, reset_after, merge):
    """Every input (initial states included) and every parameter of both directions, with gradients of
    the final states, on a variable-length batch (one sequence empty)."""
    rng = np.random.default_rng(7)
    T, N, D, H = 4, 4, 2, 3
    lengths = np.array([4, 1, 0, 3])
    kwargs = {"reset_after": True} if reset_after else {}
    params_fwd = random_params(cell, D, H, rng, reset_after=reset_after)
    params_bwd = random_params(cell, D, H, rng, reset_after=reset_after)
    xs = rng.normal(size=(T, N, D))
    states0 = [np.tanh(rng.normal(size=(N, H))) for _ in range(2 * n_states(cell))]  # fwd then bwd arrays
    k = n_states(cell)

    def forward():
        return bidirectional_forward(
            cell,
            xs,
            params_fwd,
            params_bwd,
            lengths=lengths,
            merge=merge,
            state0_fwd=as_state(states0[:k]),
            state0_bwd=as_state(states0[k:]),
            **kwargs,
        )

    ys, last_fwd, last_bwd, cache = forward()
    dys = rng.normal(size=ys.shape)
    dlast = [rng.normal(size=(N, H)) for _ in range(2 * k)]
    dxs, dstate0_fwd, dstate0_bwd, grads_fwd, grads_bwd = bidirectional_backward(
        dys, cache, as_state(dlast[:k]), as_state(dlast[k:])
    )

    def loss():
        out, end_fwd, end_bwd, _ = forward()
        ends = as_tuple(end_fwd) + as_tuple(end_bwd)
        return float((out * dys).sum() + sum((e * d).sum() for e, d in zip(ends, dlast, strict=True)))

    np.testing.assert_allclose(dxs, numeric_grad(loss, xs), rtol=1e-6, atol=1e-8)
    for s, ds in zip(states0, as_tuple(dstate0_fwd) + as_tuple(dstate0_bwd), strict=True):
        np.testing.assert_allclose(ds, numeric_grad(loss, s), rtol=1e-6, atol=1e-8)
    for params, grads in ((params_fwd, grads_fwd), (params_bwd, grads_bwd)):
        assert grads.keys() == params.keys()
        for key in params:
            np.testing.assert_allclose(grads[key], numeric_grad(loss, params[key]), rtol=1e-6, atol=1e-8, err_msg=key)


# --- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_reverse_direction_equals_cell_on_per_sequence_reversed_input(cell, rng):
    T, N, D, H = 5, 3, 2, 4
    lengths = np.array([5, 2, 3])
    params_fwd, params_bwd = random_params(cell, D, H, rng), random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    ys, _, _, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, lengths=lengths)
    mask = masks.lengths_to_mask(lengths, T)
    for n, L in enumerate(lengths):
        # one sequence alone, reversed by hand, run through the backward cell
        x_rev = xs[:L, n : n + 1][::-1]
        hs_rev, _, _ = cells.sequence_forward(cell, x_rev, None, params_bwd)
        np.testing.assert_allclose(ys[:L, n, H:], hs_rev[::-1, 0], rtol=1e-12, atol=1e-14)
        hs_fwd, _, _ = cells.sequence_forward(cell, xs[:L, n : n + 1], None, params_fwd)
        np.testing.assert_allclose(ys[:L, n, :H], hs_fwd[:, 0], rtol=1e-12, atol=1e-14)
    assert np.all(ys[~mask] == 0), "padded steps must have zero output"


def test_reversing_the_padded_array_whole_gives_different_numbers(rng):
    """The wrong way: xs[::-1] without a mask feeds the padding to the backward cell first.

    (Reversing the mask too would be right here: a zero state carried through the
    leading padding is still zero. The common mistake is to forget the mask.)
    """
    T, N, D, H = 5, 2, 2, 3
    lengths = np.array([5, 2])
    params_fwd, params_bwd = random_params("rnn", D, H, rng), random_params("rnn", D, H, rng)
    xs = rng.normal(size=(T, N, D))
    ys, _, _, _ = bidirectional_forward("rnn", xs, params_fwd, params_bwd, lengths=lengths)
    xs = xs * masks.lengths_to_mask(lengths, T)[:, :, None]  # zero padding, as a padded batch has
    ys, _, _, _ = bidirectional_forward("rnn", xs, params_fwd, params_bwd, lengths=lengths)
    wrong_rev, _, _ = cells.sequence_forward("rnn", xs[::-1], None, params_bwd)
    wrong = wrong_rev[::-1]
    np.testing.assert_allclose(ys[:, 0, H:], wrong[:, 0])  # a full-length sequence is unaffected
    assert not np.allclose(ys[:2, 1, H:], wrong[:2, 1])  # a short one is not


@pytest.mark.parametrize("cell", CELLS)
def test_merge_modes_are_concat_sum_and_mean_of_the_same_directions(cell, rng):
    T, N, D, H = 3, 2, 2, 3
    params_fwd, params_bwd = random_params(cell, D, H, rng), random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    concat, _, _, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, merge="concat")
    total, _, _, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, merge="sum")
    mean, _, _, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, merge="mean")
    assert concat.shape == (T, N, 2 * H) and total.shape == mean.shape == (T, N, H)
    np.testing.assert_allclose(total, concat[..., :H] + concat[..., H:])
    np.testing.assert_allclose(mean, total / 2)


@pytest.mark.parametrize("merge", MERGES)
@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_mutates_nothing_and_is_linear_in_upstream_gradient(cell, merge, rng):
    T, N, D, H = 4, 3, 2, 3
    params_fwd, params_bwd = random_params(cell, D, H, rng), random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    mask = masks.lengths_to_mask(np.array([4, 0, 2]), T)
    before = copy.deepcopy((xs, params_fwd, params_bwd, mask))
    ys, _, _, cache = bidirectional_forward(cell, xs, params_fwd, params_bwd, mask=mask, merge=merge)
    d1, d2 = rng.normal(size=ys.shape), rng.normal(size=ys.shape)
    saved = copy.deepcopy((d1, d2))
    g1, g2 = bidirectional_backward(d1, cache), bidirectional_backward(d2, cache)
    g12 = bidirectional_backward(2 * d1 - 3 * d2, cache)
    for original, after in zip(before + saved, (xs, params_fwd, params_bwd, mask, d1, d2), strict=True):
        if isinstance(original, dict):
            for key in original:
                np.testing.assert_array_equal(original[key], after[key])
        else:
            np.testing.assert_array_equal(original, after)
    np.testing.assert_allclose(g12[0], 2 * g1[0] - 3 * g2[0], atol=1e-12)
    for k in (1, 2):  # the initial states' gradients
        for a, b, c in zip(as_tuple(g12[k]), as_tuple(g1[k]), as_tuple(g2[k]), strict=True):
            np.testing.assert_allclose(a, 2 * b - 3 * c, atol=1e-12)
    for k in (3, 4):
        for key in g1[k]:
            np.testing.assert_allclose(g12[k][key], 2 * g1[k][key] - 3 * g2[k][key], atol=1e-12)
    assert np.all(g1[0][:, 1] == 0), "an empty sequence receives no gradient"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_preserves_dtype(cell, dtype, rng):
    params = [random_params(cell, 2, 3, rng, dtype=dtype) for _ in range(2)]
    xs = rng.normal(size=(3, 2, 2)).astype(dtype)
    ys, _, _, cache = bidirectional_forward(cell, xs, *params)
    dxs, dstate0_fwd, dstate0_bwd, grads_fwd, grads_bwd = bidirectional_backward(np.ones_like(ys), cache)
    assert ys.dtype == dxs.dtype == dtype
    states = as_tuple(dstate0_fwd) + as_tuple(dstate0_bwd)
    assert all(g.dtype == dtype for g in (*grads_fwd.values(), *grads_bwd.values(), *states))


def test_bidirectional_gru_passes_reset_after_to_both_cells(rng):
    params = [random_params("gru", 2, 3, rng, reset_after=True) for _ in range(2)]
    xs = rng.normal(size=(3, 2, 2))
    ys, _, _, cache = bidirectional_forward("gru", xs, *params, reset_after=True)
    assert cache.cache_fwd.reset_after and cache.cache_bwd.reset_after
    with pytest.raises(ValueError, match="b_hn"):
        bidirectional_forward("gru", xs, *params)  # reset_after=False takes no b_hn


# --- bad input -----------------------------------------------------------------------------------


def test_unknown_cell_and_merge_are_named(rng):
    params = random_params("rnn", 2, 3, rng)
    xs = rng.normal(size=(3, 2, 2))
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        bidirectional_forward("transformer", xs, params, params)
    with pytest.raises(ValueError, match="unknown merge 'max'"):
        bidirectional_forward("rnn", xs, params, params, merge="max")


def test_bad_shapes_are_named(rng):
    params = random_params("lstm", 2, 3, rng)
    xs = rng.normal(size=(3, 2, 2))
    with pytest.raises(ValueError, match=r"xs has shape \(2, 2\)"):
        bidirectional_forward("lstm", xs[0], params, params)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 2\), expected \(T, N\) = \(3, 2\)"):
        bidirectional_forward("lstm", xs, params, params, mask=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="left-aligned"):
        bidirectional_forward("lstm", xs, params, params, mask=np.array([[0, 1], [1, 1], [1, 1]], bool))
    with pytest.raises(ValueError, match="W_x"):
        bidirectional_forward("lstm", xs, params, random_params("rnn", 2, 3, rng))
    with pytest.raises(ValueError, match="hidden sizes"):
        bidirectional_forward("lstm", xs, params, random_params("lstm", 2, 4, rng))
    ys, _, _, cache = bidirectional_forward("lstm", xs, params, params, merge="sum")
    with pytest.raises(ValueError, match=r"dys has shape \(3, 2, 6\), expected \(T, N, F\) = \(3, 2, 3\)"):
        bidirectional_backward(np.zeros((3, 2, 6)), cache)
    with pytest.raises(ValueError, match="BidirectionalCache"):
        bidirectional_backward(ys, cache.cache_fwd)


def test_module_exports_merges():
    assert bidirectional.MERGES == ("concat", "sum", "mean")


@pytest.mark.parametrize("cell", CELLS)
def test_keyword_arguments_the_cell_does_not_take_are_named(cell, rng):
    params = random_params(cell, 2, 3, rng)
    xs = rng.normal(size=(3, 2, 2))
    expect_value_error(lambda: bidirectional_forward(cell, xs, params, params, dropout=0.5), "dropout", repr(cell))
    if cell != "gru":
        expect_value_error(lambda: bidirectional_forward(cell, xs, params, params, reset_after=True), "reset_after")


# --- initial and final states ---------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_final_states_are_the_outputs_at_each_end_and_zero_states_equal_none(cell, rng):
    """last_fwd is the forward output at each sequence's last valid step, last_bwd the backward output at t = 0."""
    T, N, D, H = 5, 3, 2, 4
    lengths = np.array([5, 2, 3])
    params_fwd, params_bwd = random_params(cell, D, H, rng), random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    ys, last_fwd, last_bwd, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, lengths=lengths)
    h_fwd, h_bwd = as_tuple(last_fwd)[0], as_tuple(last_bwd)[0]
    for n, L in enumerate(lengths):
        np.testing.assert_array_equal(h_fwd[n], ys[L - 1, n, :H])
        np.testing.assert_array_equal(h_bwd[n], ys[0, n, H:])
    zeros = as_state([np.zeros((N, H))] * n_states(cell))
    again = bidirectional_forward(cell, xs, params_fwd, params_bwd, lengths=lengths, state0_fwd=zeros, state0_bwd=zeros)
    np.testing.assert_array_equal(again[0], ys)


@pytest.mark.parametrize("cell", CELLS)
def test_backward_initial_state_enters_at_each_sequences_own_last_valid_step(cell, rng):
    """state0_bwd is read where the backward cell starts: step L_n - 1 of sequence n, not step T - 1."""
    T, N, D, H = 4, 2, 2, 3
    lengths = np.array([4, 2])
    params_fwd, params_bwd = random_params(cell, D, H, rng), random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    state0_bwd = random_state(cell, N, H, rng)
    ys, _, _, _ = bidirectional_forward(cell, xs, params_fwd, params_bwd, lengths=lengths, state0_bwd=state0_bwd)
    for n, L in enumerate(lengths):
        one = tuple(s[n : n + 1] for s in as_tuple(state0_bwd))
        hs_rev, _, _ = cells.sequence_forward(cell, xs[:L, n : n + 1][::-1], one, params_bwd)
        np.testing.assert_allclose(ys[:L, n, H:], hs_rev[::-1, 0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", CELLS)
def test_states_in_the_wrong_form_or_shape_are_named(cell, rng):
    T, N, D, H = 3, 2, 2, 3
    params = random_params(cell, D, H, rng)
    xs = rng.normal(size=(T, N, D))
    h = np.zeros((N, H))
    wrong_form = (h, h) if n_states(cell) == 1 else h
    expect_value_error(lambda: bidirectional_forward(cell, xs, params, params, state0_fwd=wrong_form), "state0_fwd")
    expect_value_error(lambda: bidirectional_forward(cell, xs, params, params, state0_bwd=wrong_form), "state0_bwd")
    bad_shape = as_state([np.zeros((N + 1, H))] * n_states(cell))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        bidirectional_forward(cell, xs, params, params, state0_bwd=bad_shape)
    ys, _, _, cache = bidirectional_forward(cell, xs, params, params)
    expect_value_error(lambda: bidirectional_backward(np.zeros_like(ys), cache, dlast_fwd=wrong_form), "dlast_fwd")
    expect_value_error(lambda: bidirectional_backward(np.zeros_like(ys), cache, None, wrong_form), "dlast_bwd")
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        bidirectional_backward(np.zeros_like(ys), cache, dlast_bwd=bad_shape)
