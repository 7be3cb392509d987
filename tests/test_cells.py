"""rnn_ref.cells and what every cell shares: empty sequences and batches, dtypes with optional
arguments left out, the caches a chapter plots, and bad input to the generic interface.

The numerical, PyTorch and property evidence of each cell lives in its own test file; here are
the cases those files leave out because they are the same for all four cells.
"""

import numpy as np
import pytest
from _cells import random_params
from _numeric import arrays_in, expect_value_error

from rnn_ref import cells, gru, lstm, peephole, rnn
from rnn_ref.masks import lengths_to_mask

# (cell, keyword arguments of its forward): the GRU in both published variants
CELLS = [("rnn", {}), ("lstm", {}), ("gru", {}), ("gru", {"reset_after": True}), ("peephole", {})]
CELL_IDS = ["rnn", "lstm", "gru", "gru-reset-after", "peephole"]
D, H = 2, 3


def setup(cell, kwargs, rng, T, N, dtype=np.float64):
    params = random_params(cell, D, H, rng, dtype, reset_after=kwargs.get("reset_after", False))
    xs = rng.normal(size=(T, N, D)).astype(dtype)
    n_states = len(cells.get_cell(cell).state_names)
    state0 = tuple(rng.normal(size=(N, H)).astype(dtype) for _ in range(n_states))
    dstate_last = tuple(rng.normal(size=(N, H)).astype(dtype) for _ in range(n_states))
    return params, xs, state0, dstate_last


# --- empty sequences and empty batches ----------------------------------------------------------


@pytest.mark.parametrize(("cell", "kwargs"), CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_zero_time_steps_return_the_initial_state_and_pass_the_final_gradient_to_it(rng, cell, kwargs, masked):
    """T = 0: nothing runs; the final state is the initial one, so dstate0 = dstate_last and no weight learns."""
    N = 2
    params, xs, state0, dstate_last = setup(cell, kwargs, rng, 0, N)
    mask = np.zeros((0, N), bool) if masked else None
    hs, state_last, cache = cells.sequence_forward(cell, xs, state0, params, mask, **kwargs)
    assert hs.shape == (0, N, H)
    for got, expected in zip(state_last, state0, strict=True):
        np.testing.assert_array_equal(got, expected)
        assert not np.shares_memory(got, expected)
    dxs, dstate0, grads = cells.sequence_backward(cell, np.zeros((0, N, H)), cache, dstate_last)
    assert dxs.shape == (0, N, D)
    for got, expected in zip(dstate0, dstate_last, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert sorted(grads) == sorted(params)
    for key, value in grads.items():
        assert value.shape == params[key].shape and not value.any(), key
    # no final-state gradient: zeros of the right shape, not None
    _, dstate0, _ = cells.sequence_backward(cell, np.zeros((0, N, H)), cache)
    for got in dstate0:
        np.testing.assert_array_equal(got, np.zeros((N, H)))


@pytest.mark.parametrize(("cell", "kwargs"), CELLS, ids=CELL_IDS)
def test_an_empty_batch_gives_empty_outputs_and_zero_gradients(rng, cell, kwargs):
    T = 3
    params, xs, state0, dstate_last = setup(cell, kwargs, rng, T, 0)
    hs, state_last, cache = cells.sequence_forward(cell, xs, None, params, **kwargs)
    assert hs.shape == (T, 0, H) and all(s.shape == (0, H) for s in state_last)
    dxs, dstate0, grads = cells.sequence_backward(cell, np.zeros((T, 0, H)), cache)
    assert dxs.shape == (T, 0, D) and all(d.shape == (0, H) for d in dstate0)
    for key, value in grads.items():
        assert value.shape == params[key].shape and not value.any(), key


# --- dtypes, when the optional arguments are left out ---------------------------------------------


@pytest.mark.parametrize(("cell", "kwargs"), CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("T", [0, 4])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_float32_in_float32_out_with_default_initial_states_and_final_gradients(rng, cell, kwargs, T, masked):
    """None for h0, c0, dh_last, dc_last must mean float32 zeros, not float64 ones that promote everything."""
    N = 3
    params, xs, _, _ = setup(cell, kwargs, rng, T, N, np.float32)
    mask = lengths_to_mask(np.array([T, T // 2, 0]), T) if masked else None
    hs, state_last, cache = cells.sequence_forward(cell, xs, None, params, mask, **kwargs)
    dhs = rng.normal(size=hs.shape).astype(np.float32)
    backward = cells.sequence_backward(cell, dhs, cache)
    floats = [a for a in arrays_in((hs, state_last, cache, backward)) if a.dtype.kind == "f"]
    wrong = sorted({str(a.dtype) for a in floats} - {"float32"})
    assert not wrong, f"float32 inputs gave {wrong} arrays"


# --- what the caches keep for the chapters -------------------------------------------------------


@pytest.mark.parametrize("module, forward", [(lstm, lstm.lstm_forward), (peephole, peephole.peephole_forward)])
def test_cached_tanh_c_is_tanh_of_the_cached_cell_state_at_every_step_padded_ones_included(rng, module, forward):
    T, N = 5, 3
    cell = "lstm" if module is lstm else "peephole"
    params, xs, (h0, c0), _ = setup(cell, {}, rng, T, N)
    *_, cache = forward(xs, h0, c0, params, lengths_to_mask(np.array([5, 2, 0]), T))
    np.testing.assert_allclose(cache.tanh_c, np.tanh(cache.c_all[1:]), rtol=1e-15, atol=0)


# --- the generic interface: bad input ------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_a_bare_array_as_state0_or_dstate_last_raises_naming_it(rng, cell):
    """(h0,) is a tuple; a bare h0 would be unpacked row by row, so it is refused with the expected form."""
    params, xs, state0, _ = setup(cell, {}, rng, 3, 2)
    expected = "(h0,)" if cell == "rnn" else "(h0, c0)"
    expect_value_error(lambda: cells.sequence_forward(cell, xs, state0[0], params), "state0", expected, "ndarray")
    hs, _, cache = cells.sequence_forward(cell, xs, state0, params)
    call = lambda: cells.sequence_backward(cell, np.zeros_like(hs), cache, np.zeros((2, H)))  # noqa: E731
    expect_value_error(call, "dstate_last", expected, "ndarray")
    expect_value_error(lambda: cells.sequence_forward(cell, xs, (state0[0],) * 3, params), "state0", "3 arrays")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole"])
def test_keyword_arguments_a_cell_does_not_take_raise_naming_them(rng, cell):
    params, xs, _, _ = setup(cell, {}, rng, 3, 2)
    expect_value_error(lambda: cells.sequence_forward(cell, xs, None, params, bias=True), "bias", repr(cell))
    if cell != "gru":
        expect_value_error(lambda: cells.sequence_forward(cell, xs, None, params, reset_after=True), "reset_after")


def test_get_cell_names_the_cells_and_their_keywords():
    assert [cells.get_cell(name).name for name in ("rnn", "lstm", "gru", "peephole")] == list(cells.CELLS)
    assert cells.get_cell("gru").keywords == ("reset_after",)
    assert cells.get_cell("peephole").module is peephole and cells.get_cell("rnn").module is rnn
    assert cells.get_cell("gru").module is gru
    expect_value_error(lambda: cells.get_cell("elman"), "cell", "'rnn', 'lstm', 'gru', 'peephole'")
