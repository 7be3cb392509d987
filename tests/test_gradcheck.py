"""rnn_ref.gradcheck: the numerical gradient checker every backward test relies on."""

import numpy as np
import pytest

from rnn_ref import rnn
from rnn_ref.gradcheck import check_gradients, numerical_gradient, relative_error

# --- numerical_gradient ----------------------------------------------------------------------


def test_numerical_gradient_of_sum_of_cubes_is_three_x_squared(rng):
    x = rng.standard_normal((3, 4))
    numeric = numerical_gradient(lambda v: np.sum(v**3), x)
    assert numeric.shape == x.shape and numeric.dtype == np.float64
    # truncation error eps^2 f'''(x) / 6 = 1e-12, rounding about u |f| / eps < 1e-8
    assert np.max(np.abs(numeric - 3 * x**2)) < 1e-8
    assert relative_error(numeric, 3 * x**2) < 1e-6


def test_numerical_gradient_of_quadratic_form_is_a_plus_a_transpose_x(rng):
    A = rng.standard_normal((5, 5))  # not symmetric: the gradient is (A + A^T) x, not 2 A x
    x = rng.standard_normal(5)
    numeric = numerical_gradient(lambda v: v @ A @ v, x)
    np.testing.assert_allclose(numeric, (A + A.T) @ x, rtol=1e-8, atol=1e-9)
    assert relative_error(numeric, 2 * A @ x) > 1e-2  # the check can tell the wrong formula apart


def test_numerical_gradient_of_zero_dimensional_array():
    numeric = numerical_gradient(lambda v: float(np.sin(v)), np.array(0.3))
    assert numeric.shape == ()
    assert abs(numeric - np.cos(0.3)) < 1e-9


def test_numerical_gradient_does_not_mutate_and_perturbs_a_copy(rng):
    x = rng.standard_normal((2, 3))
    x_before = x.copy()
    seen = []

    def f(v):
        seen.append(v is x or np.shares_memory(v, x))
        return np.sum(np.tanh(v))

    numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x_before)
    assert len(seen) == 2 * x.size and not any(seen)


def test_numerical_gradient_restores_each_entry_before_the_next():
    # f depends on every entry; if an entry were left perturbed the next estimates would be shifted.
    x = np.array([1.0, 2.0, 3.0])
    numeric = numerical_gradient(lambda v: np.prod(v), x)
    np.testing.assert_allclose(numeric, [6.0, 3.0, 2.0], rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64])
def test_numerical_gradient_refuses_anything_but_float64(dtype):
    with pytest.raises(ValueError, match=r"x has dtype .* expected float64.*rounding"):
        numerical_gradient(lambda v: np.sum(v), np.ones(3, dtype=dtype))


def test_numerical_gradient_bad_input_raises_value_error():
    x = np.ones(3)
    with pytest.raises(ValueError, match="f must be a callable"):
        numerical_gradient("not callable", x)
    for eps in (0.0, -1e-6, np.inf, "1e-6", True):
        with pytest.raises(ValueError, match="eps must be a positive"):
            numerical_gradient(np.sum, x, eps=eps)
    with pytest.raises(ValueError, match=r"f must return a real scalar .* shape \(3,\)"):
        numerical_gradient(lambda v: v * 2, x)
    with pytest.raises(ValueError, match="f must return a real scalar"):
        numerical_gradient(lambda v: "loss", x)


# --- relative_error --------------------------------------------------------------------------


def test_relative_error_matches_its_formula_by_hand():
    # entry 0: |1 - 1| / 2 = 0; entry 1: |2 - 2.2| / 4.2; entry 2: |0 - 0| / tiny = 0
    assert relative_error([1.0, 2.0, 0.0], [1.0, 2.2, 0.0]) == pytest.approx(0.2 / 4.2, rel=1e-12)


def test_relative_error_properties(rng):
    a = rng.standard_normal((4, 3))
    b = a + 1e-3 * rng.standard_normal((4, 3))
    assert relative_error(a, a) == 0.0
    assert relative_error(a, b) > 0
    assert relative_error(a, b) == relative_error(b, a)  # symmetric
    assert relative_error(1e7 * a, 1e7 * b) == pytest.approx(relative_error(a, b), rel=1e-9)  # scale free
    assert relative_error(a, -a) == 1.0  # opposite signs: the maximum
    assert relative_error(a, np.zeros_like(a)) == 1.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0  # no 0 / 0
    assert relative_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_relative_error_counts_nan_as_infinite_disagreement():
    assert relative_error([1.0, np.nan], [1.0, np.nan]) == np.inf


def test_relative_error_floor_turns_tiny_entries_into_absolute_errors():
    a, b = np.array([1e-12]), np.array([3e-12])
    assert relative_error(a, b) == pytest.approx(0.5)
    assert relative_error(a, b, floor=1e-4) == pytest.approx(2e-12 / 1e-4)


def test_relative_error_bad_input_raises_value_error():
    with pytest.raises(ValueError, match=r"b has shape \(3,\), expected the shape of a, \(2,\)"):
        relative_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="a has dtype"):
        relative_error(np.array(["x", "y"]), np.ones(2))
    with pytest.raises(ValueError, match="floor must be a positive"):
        relative_error(np.ones(2), np.ones(2), floor=0.0)


# --- check_gradients -------------------------------------------------------------------------


def _tanh_layer(rng, *, forget_tanh_derivative=False):
    """A small function of a params dict with a known gradient: L = sum(w * tanh(W v + c)).

    With ``forget_tanh_derivative`` the returned gradient has a classic bug: no factor 1 - tanh^2.
    """
    v = rng.standard_normal(3)
    w = rng.standard_normal(4)
    params = {"W": rng.standard_normal((4, 3)), "c": rng.standard_normal(4)}

    def f(p):
        return np.sum(w * np.tanh(p["W"] @ v + p["c"]))

    da = w if forget_tanh_derivative else w * (1 - np.tanh(params["W"] @ v + params["c"]) ** 2)  # (4,)
    grads = {"W": np.outer(da, v), "c": da}
    return f, params, grads


def test_check_gradients_passes_a_right_gradient_and_reports_every_key(rng):
    f, params, grads = _tanh_layer(rng)
    errors = check_gradients(f, params, grads)
    assert set(errors) == {"W", "c"}
    assert all(0 <= e < 1e-7 for e in errors.values())


def test_check_gradients_fails_a_wrong_gradient_naming_key_and_index(rng):
    f, params, grads = _tanh_layer(rng)
    wrong = {"W": grads["W"].copy(), "c": grads["c"]}
    wrong["W"][2, 1] += 0.1  # one wrong entry
    with pytest.raises(AssertionError, match=r"worst key 'W' at index \(2, 1\).*W .*\(FAIL\), c "):
        check_gradients(f, params, wrong)


def test_check_gradients_catches_a_missing_tanh_derivative(rng):
    f, params, wrong = _tanh_layer(rng, forget_tanh_derivative=True)
    with pytest.raises(AssertionError, match="gradient check failed"):
        check_gradients(f, params, wrong)


def test_check_gradients_fails_a_nan_gradient(rng):
    f, params, grads = _tanh_layer(rng)
    with pytest.raises(AssertionError, match="worst key 'c'"):
        check_gradients(f, params, {"W": grads["W"], "c": np.full(4, np.nan)})


def test_check_gradients_does_not_mutate_params_or_grads(rng):
    f, params, grads = _tanh_layer(rng)
    params_before = {k: v.copy() for k, v in params.items()}
    grads_before = {k: v.copy() for k, v in grads.items()}
    seen = []

    def spy(p):
        seen.append(any(p[k] is params[k] or np.shares_memory(p[k], params[k]) for k in p) or p is params)
        return f(p)

    check_gradients(spy, params, grads)
    assert not any(seen)
    for key in params:
        np.testing.assert_array_equal(params[key], params_before[key])
        np.testing.assert_array_equal(grads[key], grads_before[key])


def test_check_gradients_verifies_rnn_backward_including_inputs(rng):
    # The checker on a real backward pass: weights, inputs and initial state in one dict.
    T, N, D, H = 3, 2, 3, 4
    point = {
        "xs": rng.standard_normal((T, N, D)),
        "h0": rng.standard_normal((N, H)),
        "W_x": rng.standard_normal((H, D)),
        "W_h": rng.standard_normal((H, H)) / 2,
        "b": rng.standard_normal(H),
    }
    dhs = rng.standard_normal((T, N, H))  # L = sum(dhs * hs), so dL/dhs = dhs

    def loss(p):
        params = {k: p[k] for k in ("W_x", "W_h", "b")}
        hs, _, _ = rnn.rnn_forward(p["xs"], p["h0"], params)
        return np.sum(dhs * hs)

    hs, _, cache = rnn.rnn_forward(point["xs"], point["h0"], {k: point[k] for k in ("W_x", "W_h", "b")})
    dxs, dh0, grads = rnn.rnn_backward(dhs, cache)
    errors = check_gradients(loss, point, {"xs": dxs, "h0": dh0, **grads})
    assert max(errors.values()) < 1e-6
    with pytest.raises(AssertionError, match="worst key 'W_h'"):  # transposed dW_h: a classic bug
        check_gradients(loss, point, {"xs": dxs, "h0": dh0, **grads, "W_h": grads["W_h"].T})


def test_check_gradients_bad_input_raises_value_error(rng):
    f, params, grads = _tanh_layer(rng)
    with pytest.raises(ValueError, match="f must be a callable"):
        check_gradients(None, params, grads)
    with pytest.raises(ValueError, match="params must be a dict"):
        check_gradients(f, [params["W"]], grads)
    with pytest.raises(ValueError, match="grads must be a dict"):
        check_gradients(f, params, grads["W"])
    with pytest.raises(ValueError, match=r"missing \['c'\]"):
        check_gradients(f, params, {"W": grads["W"]})
    with pytest.raises(ValueError, match=r"unexpected \['d'\]"):
        check_gradients(f, params, {**grads, "d": grads["c"]})
    with pytest.raises(ValueError, match=r"grads\['W'\] has shape \(3, 4\), expected .* \(4, 3\)"):
        check_gradients(f, params, {**grads, "W": grads["W"].T})
    with pytest.raises(ValueError, match=r"grads\['c'\] has dtype int64"):
        check_gradients(f, params, {**grads, "c": np.zeros(4, dtype=np.int64)})
    with pytest.raises(ValueError, match=r"params\['W'\] has dtype float32, expected float64"):
        check_gradients(f, {**params, "W": params["W"].astype(np.float32)}, grads)
    with pytest.raises(ValueError, match="tol must be a positive"):
        check_gradients(f, params, grads, tol=-1.0)
    with pytest.raises(ValueError, match="eps must be a positive"):
        check_gradients(f, params, grads, eps=0.0)
    with pytest.raises(ValueError, match="floor must be a positive"):
        check_gradients(f, params, grads, floor="1e-4")
