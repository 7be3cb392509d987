"""rnn_ref.init: Xavier and orthogonal weights, per-gate blocks, the forget bias."""

import numpy as np
import pytest

from rnn_ref.init import init_params, orthogonal, param_specs, xavier_uniform

D, H = 3, 5
EXPECTED_SHAPES = {
    "rnn": {"W_x": (H, D), "W_h": (H, H), "b": (H,)},
    "lstm": {"W_x": (4 * H, D), "W_h": (4 * H, H), "b": (4 * H,)},
    "gru": {"W_x": (3 * H, D), "W_h": (3 * H, H), "b": (3 * H,)},
    "peephole": {"W_x": (4 * H, D), "W_h": (4 * H, H), "b": (4 * H,), "p_i": (H,), "p_f": (H,), "p_o": (H,)},
}


# --- init_params -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", sorted(EXPECTED_SHAPES))
def test_init_params_keys_shapes_and_dtype(rng, cell, dtype):
    params = init_params(cell, D, H, rng, dtype)
    assert {key: p.shape for key, p in params.items()} == EXPECTED_SHAPES[cell]
    assert all(p.dtype == dtype for p in params.values())


def test_init_params_gru_reset_after_adds_a_zero_b_hn(rng):
    params = init_params("gru", D, H, rng, reset_after=True)
    assert {key: p.shape for key, p in params.items()} == {**EXPECTED_SHAPES["gru"], "b_hn": (H,)}
    np.testing.assert_array_equal(params["b_hn"], np.zeros(H))


@pytest.mark.parametrize("cell", ["lstm", "peephole"])
def test_init_params_forget_bias_sits_in_rows_h_to_2h(rng, cell):
    b = init_params(cell, D, H, rng, forget_bias=1.5)["b"]
    np.testing.assert_array_equal(b[H : 2 * H], np.full(H, 1.5))  # gates i, f, g, o
    np.testing.assert_array_equal(np.delete(b, np.s_[H : 2 * H]), np.zeros(3 * H))
    assert np.all(init_params(cell, D, H, rng)["b"][H : 2 * H] == 1.0)  # the default


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_init_params_biases_are_zero_without_a_forget_gate(rng, cell):
    np.testing.assert_array_equal(init_params(cell, D, H, rng, forget_bias=3.0)["b"], 0.0)


def test_init_params_peepholes_start_at_zero(rng):
    params = init_params("peephole", D, H, rng)
    for key in ("p_i", "p_f", "p_o"):
        np.testing.assert_array_equal(params[key], np.zeros(H))


@pytest.mark.parametrize("cell", sorted(EXPECTED_SHAPES))
def test_init_params_recurrent_blocks_are_orthogonal(rng, cell):
    W_h = init_params(cell, D, H, rng)["W_h"]
    for k in range(W_h.shape[0] // H):
        block = W_h[k * H : (k + 1) * H]  # (H, H), gate k
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-12)
        np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-12)
    if W_h.shape[0] > H:  # blocks are drawn independently, not copies of one another
        assert not np.allclose(W_h[:H], W_h[H : 2 * H])


@pytest.mark.parametrize("cell", sorted(EXPECTED_SHAPES))
def test_init_params_input_blocks_are_within_the_xavier_limit_of_a_block(rng, cell):
    W_x = init_params(cell, D, H, rng)["W_x"]
    limit = np.sqrt(6 / (D + H))  # per gate block (H, D), not the stacked (G*H, D)
    assert np.all(np.abs(W_x) <= limit)
    assert np.abs(W_x).max() > 0.5 * limit


def test_init_params_is_reproducible_with_the_same_seed():
    for cell in EXPECTED_SHAPES:
        a = init_params(cell, D, H, np.random.default_rng(7))
        b = init_params(cell, D, H, np.random.default_rng(7))
        c = init_params(cell, D, H, np.random.default_rng(8))
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
        assert not np.array_equal(a["W_x"], c["W_x"])


def test_init_params_work_with_the_reference_cells(rng):
    from rnn_ref import lstm, rnn

    xs = rng.standard_normal((2, 4, D))
    hs, _, _ = rnn.rnn_forward(xs, None, init_params("rnn", D, H, rng))
    assert hs.shape == (2, 4, H)
    hs, _, _, _ = lstm.lstm_forward(xs, None, None, init_params("lstm", D, H, rng))
    assert hs.shape == (2, 4, H)


def test_param_specs_match_init_params(rng):
    for cell in EXPECTED_SHAPES:
        assert set(param_specs(cell)) == set(init_params(cell, D, H, rng))
    assert set(param_specs("gru", reset_after=True)) == {"W_x", "W_h", "b", "b_hn"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "transformer"}, "unknown cell 'transformer', expected one of 'rnn', 'lstm', 'gru', 'peephole'"),
        ({"D": 0}, "D must be a positive integer, got 0"),
        ({"H": 2.0}, "H must be a positive integer, got 2.0"),
        ({"H": True}, "H must be a positive integer"),
        ({"rng": 0}, "rng must be a numpy.random.Generator"),
        ({"rng": np.random.RandomState(0)}, "rng must be a numpy.random.Generator .* got RandomState"),
        ({"dtype": np.int32}, "dtype must be float32 or float64, got int32"),
        ({"dtype": "nonsense"}, "dtype must be float32 or float64"),
        ({"forget_bias": np.nan}, "forget_bias must be a finite number"),
        ({"cell": "lstm", "reset_after": True}, "reset_after=True only applies to the GRU"),
        ({"cell": "gru", "reset_after": "yes"}, "reset_after must be True or False"),
    ],
)
def test_init_params_bad_input_raises_value_error(rng, kwargs, match):
    args = {"cell": "lstm", "D": D, "H": H, "rng": rng, **kwargs}
    with pytest.raises(ValueError, match=match):
        init_params(args.pop("cell"), args.pop("D"), args.pop("H"), args.pop("rng"), **args)


# --- xavier_uniform --------------------------------------------------------------------------


def test_xavier_uniform_bounds_and_variance(rng):
    fan_out, fan_in = 200, 300
    limit = np.sqrt(6 / (fan_in + fan_out))
    W = xavier_uniform((fan_out, fan_in), rng)
    assert W.shape == (fan_out, fan_in) and W.dtype == np.float64
    assert np.all(np.abs(W) <= limit)
    assert np.abs(W).max() > 0.99 * limit  # the whole interval is used, not a narrower one
    # Glorot and Bengio: Var(W) = 2 / (fan_in + fan_out); 60 000 draws pin it to about 1%
    assert W.var() == pytest.approx(2 / (fan_in + fan_out), rel=0.03)
    assert abs(W.mean()) < 0.01 * limit


def test_xavier_uniform_limit_matches_torch(torch, rng):
    # torch draws different numbers, but its interval must be ours: compare the extremes of many draws.
    generator = torch.Generator().manual_seed(0)
    W_torch = torch.nn.init.xavier_uniform_(torch.empty(40, 60), gain=2.0, generator=generator).numpy()
    W = xavier_uniform((40, 60), rng, gain=2.0)
    limit = 2.0 * np.sqrt(6 / 100)
    assert np.abs(W_torch).max() <= limit and np.abs(W).max() <= limit
    assert np.abs(W_torch).max() == pytest.approx(np.abs(W).max(), rel=0.01)


def test_xavier_uniform_float32(rng):
    assert xavier_uniform((3, 4), rng, np.float32).dtype == np.float32


# --- orthogonal ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 5), (7, 3), (3, 7)])
def test_orthogonal_rows_or_columns_are_orthonormal(rng, shape):
    Q = orthogonal(shape, rng, gain=2.0)
    assert Q.shape == shape
    small = min(shape)
    gram = Q.T @ Q if shape[0] >= shape[1] else Q @ Q.T  # (small, small)
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)


def test_orthogonal_is_uniform_thanks_to_the_sign_fix(rng):
    # Without the sign fix, LAPACK's Householder QR makes R[0, 0] = -sign(A[0, 0]) |A[:, 0]|,
    # so Q[0, 0] = -|A[0, 0]| / |A[:, 0]| is always negative. Uniformly random rotations have
    # a symmetric Q[0, 0] with mean 0 and variance 1 / n.
    n = 3
    first = np.array([orthogonal((n, n), rng)[0, 0] for _ in range(2000)])
    assert abs(first.mean()) < 0.05  # standard error sqrt(1 / 3 / 2000) = 0.013
    assert 0.4 < np.mean(first > 0) < 0.6
    assert first.var() == pytest.approx(1 / n, rel=0.1)


def test_orthogonal_float32(rng):
    Q = orthogonal((4, 4), rng, np.float32)
    assert Q.dtype == np.float32
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-6)


@pytest.mark.parametrize("function", [xavier_uniform, orthogonal])
def test_weight_initializers_bad_input_raises_value_error(rng, function):
    with pytest.raises(ValueError, match=r"shape must be a pair"):
        function((3,), rng)
    with pytest.raises(ValueError, match=r"shape must be a pair"):
        function((2, 3, 4), rng)
    with pytest.raises(ValueError, match=r"shape\[1\] must be a positive integer, got 0"):
        function((3, 0), rng)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        function((3, 3), 42)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        function((3, 3), rng, np.int64)
    with pytest.raises(ValueError, match="gain must be a finite number"):
        function((3, 3), rng, gain=np.inf)
