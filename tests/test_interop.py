"""rnn_ref.interop: PyTorch state dicts, checked by running real torch.nn.RNN/LSTM/GRU modules."""

import numpy as np
import pytest

from rnn_ref.interop import from_torch_layout, to_torch_layout

T, N, D, H = 4, 3, 2, 5
G = {"rnn": 1, "lstm": 4, "gru": 3}
KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _params(rng, cell):
    """Random parameters, every bias included (``b_hn`` for the GRU, which is PyTorch's variant)."""
    params = {
        "W_x": rng.standard_normal((G[cell] * H, D)),
        "W_h": rng.standard_normal((G[cell] * H, H)) / np.sqrt(H),
        "b": rng.standard_normal(G[cell] * H),
    }
    if cell == "gru":
        params["b_hn"] = rng.standard_normal(H)
    return params


def _reset_after(cell):
    return {"reset_after": True} if cell == "gru" else {}


def _module(torch, cell, **kwargs):
    return {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H, **kwargs)


def _run_torch(torch, module, cell, xs, h0, c0):
    """Outputs (T, N, H) and final state(s) of a torch module, as NumPy arrays."""
    with torch.no_grad():
        if cell == "lstm":
            out, (h_n, c_n) = module(torch.tensor(xs), (torch.tensor(h0)[None], torch.tensor(c0)[None]))
            return out.numpy(), (h_n[0].numpy(), c_n[0].numpy())
        out, h_n = module(torch.tensor(xs), torch.tensor(h0)[None])
        return out.numpy(), (h_n[0].numpy(),)


def _run_ours(cell, xs, h0, c0, params):
    """Outputs and final state(s) of rnn_ref's cell."""
    if cell == "rnn":
        from rnn_ref.rnn import rnn_forward

        hs, h_last, _ = rnn_forward(xs, h0, params)
        return hs, (h_last,)
    if cell == "lstm":
        from rnn_ref.lstm import lstm_forward

        hs, h_last, c_last, _ = lstm_forward(xs, h0, c0, params)
        return hs, (h_last, c_last)
    from rnn_ref.gru import gru_forward  # imported here: the GRU module is written in parallel

    hs, h_last, _ = gru_forward(xs, h0, params, reset_after=True)
    return hs, (h_last,)


def _inputs(rng):
    return rng.standard_normal((T, N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))


def _assert_same_outputs(ours, theirs):
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-13)
    for mine, torchs in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(mine, torchs, rtol=1e-12, atol=1e-13)


# --- to_torch_layout -------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_to_torch_layout_loads_into_torch_and_gives_our_outputs(torch, rng, cell):
    params = _params(rng, cell)
    state_dict = to_torch_layout(params, cell, **_reset_after(cell))
    assert sorted(state_dict) == sorted(KEYS)
    module = _module(torch, cell)
    module.load_state_dict({key: torch.tensor(value) for key, value in state_dict.items()})  # strict
    xs, h0, c0 = _inputs(rng)
    _assert_same_outputs(_run_ours(cell, xs, h0, c0, params), _run_torch(torch, module, cell, xs, h0, c0))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_to_torch_layout_puts_our_bias_in_bias_ih(rng, cell):
    params = _params(rng, cell)
    state_dict = to_torch_layout(params, cell, **_reset_after(cell))
    np.testing.assert_array_equal(state_dict["weight_ih_l0"], params["W_x"])
    np.testing.assert_array_equal(state_dict["weight_hh_l0"], params["W_h"])
    np.testing.assert_array_equal(state_dict["bias_ih_l0"], params["b"])
    expected_hh = np.zeros(G[cell] * H)
    if cell == "gru":
        expected_hh[2 * H :] = params["b_hn"]  # the candidate block, gates r, z, n
    np.testing.assert_array_equal(state_dict["bias_hh_l0"], expected_hh)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_round_trip_params_to_torch_and_back_is_exact(rng, cell):
    params = _params(rng, cell)
    back = from_torch_layout(to_torch_layout(params, cell, **_reset_after(cell)), cell, **_reset_after(cell))
    assert sorted(back) == sorted(params)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])


def test_to_torch_layout_copies_and_does_not_mutate(rng):
    params = _params(rng, "gru")
    before = {key: p.copy() for key, p in params.items()}
    state_dict = to_torch_layout(params, "gru", reset_after=True)
    for value in state_dict.values():
        value += 1.0  # changing the result must not reach the params
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


def test_to_torch_layout_suffix_and_float32(rng):
    params = {key: p.astype(np.float32) for key, p in _params(rng, "lstm").items()}
    state_dict = to_torch_layout(params, "lstm", suffix="_l1_reverse")
    assert sorted(state_dict) == sorted(key.replace("_l0", "_l1_reverse") for key in KEYS)
    assert all(value.dtype == np.float32 for value in state_dict.values())


# --- from_torch_layout -----------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_from_torch_layout_of_a_torch_module_gives_its_outputs(torch, rng, cell):
    # Both torch biases random, so that the sum b = bias_ih + bias_hh (and the GRU's split) is tested.
    module = _module(torch, cell)
    module.load_state_dict({key: torch.tensor(rng.standard_normal(p.shape)) for key, p in module.state_dict().items()})
    params = from_torch_layout(module.state_dict(), cell, **_reset_after(cell))  # torch tensors, duck-typed
    assert all(isinstance(p, np.ndarray) and p.dtype == np.float64 for p in params.values())
    xs, h0, c0 = _inputs(rng)
    _assert_same_outputs(_run_ours(cell, xs, h0, c0, params), _run_torch(torch, module, cell, xs, h0, c0))


def test_from_torch_layout_sums_the_biases_except_the_gru_candidate(rng):
    state_dict = {
        key: rng.standard_normal(shape)
        for key, shape in zip(KEYS, [(3 * H, D), (3 * H, H), (3 * H,), (3 * H,)], strict=True)
    }
    params = from_torch_layout(state_dict, "gru", reset_after=True)
    b_ih, b_hh = state_dict["bias_ih_l0"], state_dict["bias_hh_l0"]
    np.testing.assert_array_equal(params["b"][: 2 * H], b_ih[: 2 * H] + b_hh[: 2 * H])  # r, z
    np.testing.assert_array_equal(params["b"][2 * H :], b_ih[2 * H :])  # b_n
    np.testing.assert_array_equal(params["b_hn"], b_hh[2 * H :])
    lstm_dict = {
        key: rng.standard_normal(shape)
        for key, shape in zip(KEYS, [(4 * H, D), (4 * H, H), (4 * H,), (4 * H,)], strict=True)
    }
    np.testing.assert_array_equal(
        from_torch_layout(lstm_dict, "lstm")["b"], lstm_dict["bias_ih_l0"] + lstm_dict["bias_hh_l0"]
    )


def test_from_torch_layout_reads_the_reverse_direction_of_a_bidirectional_lstm(torch, rng):
    module = torch.nn.LSTM(D, H, bidirectional=True)
    module.load_state_dict({key: torch.tensor(rng.standard_normal(p.shape)) for key, p in module.state_dict().items()})
    forward = from_torch_layout(module.state_dict(), "lstm")
    backward = from_torch_layout(module.state_dict(), "lstm", suffix="_l0_reverse")
    xs = rng.standard_normal((T, N, D))
    with torch.no_grad():
        out, _ = module(torch.tensor(xs))  # (T, N, 2H): forward half, then backward half
    from rnn_ref.lstm import lstm_forward

    hs_forward, _, _, _ = lstm_forward(xs, None, None, forward)
    hs_backward, _, _, _ = lstm_forward(xs[::-1], None, None, backward)  # the reverse cell reads time backwards
    np.testing.assert_allclose(out.numpy()[..., :H], hs_forward, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(out.numpy()[..., H:], hs_backward[::-1], rtol=1e-12, atol=1e-13)


def test_from_torch_layout_without_bias_gives_zero_bias(torch, rng):
    module = torch.nn.RNN(D, H, bias=False)
    params = from_torch_layout(module.state_dict(), "rnn")
    np.testing.assert_array_equal(params["b"], np.zeros(H))
    xs, h0, c0 = _inputs(rng)
    _assert_same_outputs(_run_ours("rnn", xs, h0, c0, params), _run_torch(torch, module, "rnn", xs, h0, c0))


def test_from_torch_layout_copies_tensors_with_grad_and_keeps_float32(torch):
    module = torch.nn.LSTM(D, H, dtype=torch.float32)
    named = dict(module.named_parameters())  # requires_grad tensors: need .detach()
    params = from_torch_layout(named, "lstm")
    assert all(p.dtype == np.float32 for p in params.values())
    before = module.weight_ih_l0.detach().clone()
    params["W_x"] += 1.0  # must not write into the module's memory
    assert torch.equal(module.weight_ih_l0.detach(), before)


def test_from_torch_layout_does_not_mutate_its_input(rng):
    state_dict = to_torch_layout(_params(rng, "lstm"), "lstm")
    before = {key: value.copy() for key, value in state_dict.items()}
    params = from_torch_layout(state_dict, "lstm")
    params["W_x"] += 1.0
    params["b"] += 1.0
    for key in state_dict:
        np.testing.assert_array_equal(state_dict[key], before[key])


# --- what has no torch equivalent, and bad input ----------------------------------------------


def test_peephole_and_textbook_gru_have_no_torch_equivalent(rng):
    peephole = {"W_x": np.zeros((4 * H, D)), "W_h": np.zeros((4 * H, H)), "b": np.zeros(4 * H)}
    peephole.update(p_i=np.zeros(H), p_f=np.zeros(H), p_o=np.zeros(H))
    with pytest.raises(ValueError, match="peephole LSTM has no PyTorch equivalent"):
        to_torch_layout(peephole, "peephole")
    with pytest.raises(ValueError, match="peephole LSTM has no PyTorch equivalent"):
        from_torch_layout(to_torch_layout(_params(rng, "lstm"), "lstm"), "peephole")
    gru = {key: p for key, p in _params(rng, "gru").items() if key != "b_hn"}
    with pytest.raises(ValueError, match="reset_after=False .* has no PyTorch equivalent"):
        to_torch_layout(gru, "gru")
    with pytest.raises(ValueError, match="reset_after=False .* has no PyTorch equivalent"):
        from_torch_layout(to_torch_layout(_params(rng, "gru"), "gru", reset_after=True), "gru")


def test_to_torch_layout_bad_input_raises_value_error(rng):
    params = _params(rng, "lstm")
    with pytest.raises(ValueError, match="unknown cell 'bilstm'"):
        to_torch_layout(params, "bilstm")
    with pytest.raises(ValueError, match="reset_after=True only applies to the GRU"):
        to_torch_layout(params, "lstm", reset_after=True)
    with pytest.raises(ValueError, match=r"params\['W_h'\] has shape \(5, 5\), expected \(4H, H\) = \(20, 5\)"):
        to_torch_layout({**params, "W_h": params["W_h"][:H]}, "lstm")
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        to_torch_layout({"W_x": params["W_x"], "W_h": params["W_h"]}, "lstm")
    with pytest.raises(ValueError, match=r"missing \['b_hn'\]"):
        to_torch_layout({key: p for key, p in _params(rng, "gru").items() if key != "b_hn"}, "gru", reset_after=True)
    with pytest.raises(ValueError, match="params must be a dict"):
        to_torch_layout(list(params.values()), "lstm")
    with pytest.raises(ValueError, match="dtype float32 but"):
        to_torch_layout({**params, "b": params["b"].astype(np.float32)}, "lstm")
    with pytest.raises(ValueError, match="suffix must be a string"):
        to_torch_layout(params, "lstm", suffix=0)


def test_from_torch_layout_bad_input_raises_value_error(rng):
    state_dict = to_torch_layout(_params(rng, "lstm"), "lstm")
    with pytest.raises(ValueError, match="state_dict must be a mapping"):
        from_torch_layout(list(state_dict.values()), "lstm")
    with pytest.raises(ValueError, match=r"no key 'weight_ih_l1' .* is suffix='_l1' right\?"):
        from_torch_layout(state_dict, "lstm", suffix="_l1")
    with pytest.raises(ValueError, match=r"expected both or neither \(bias=False\)"):
        from_torch_layout({k: v for k, v in state_dict.items() if k != "bias_hh_l0"}, "lstm")
    with pytest.raises(ValueError, match=r"state_dict\['weight_ih_l0'\] has shape \(20, 2\), expected \(3H, D\)"):
        from_torch_layout(state_dict, "gru", reset_after=True)  # an LSTM's state dict read as a GRU
    with pytest.raises(ValueError, match=r"state_dict\['bias_hh_l0'\] has shape \(19,\), expected \(4H,\) = \(20,\)"):
        from_torch_layout({**state_dict, "bias_hh_l0": state_dict["bias_hh_l0"][1:]}, "lstm")
    with pytest.raises(ValueError, match="proj_size > 0 has no rnn_ref equivalent"):
        from_torch_layout({**state_dict, "weight_hr_l0": np.zeros((2, H))}, "lstm")
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        from_torch_layout(state_dict, "transformer")
