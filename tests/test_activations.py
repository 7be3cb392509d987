"""Tests of rnn_ref.activations: a sigmoid that never overflows, tanh, a shifted softmax."""

import warnings

import numpy as np
import pytest

from rnn_ref.activations import sigmoid, softmax, tanh

FLOATS = [np.float32, np.float64]


def extreme_values(dtype):
    """Every kind of finite value of ``dtype``: 0, +-0, subnormals, tiny, moderate, huge, the largest."""
    info = np.finfo(dtype)
    magnitudes = [
        0.0,
        info.smallest_subnormal,
        info.tiny,
        info.eps,
        0.5,
        1.0,
        20.0,
        40.0,
        88.0,
        89.0,
        104.0,
        710.0,
        746.0,
        1e4,
        1e38,
        info.max / 2,
        info.max,
    ]
    if dtype == np.float64:
        magnitudes += [1e300, 1e308]
    values = np.array([m for m in magnitudes if m <= info.max], dtype=dtype)
    sweep = np.logspace(-3, np.log10(info.max) - 1e-3, 200).astype(dtype)  # every order of magnitude
    return np.concatenate([values, -values, sweep, -sweep, np.array([-0.0], dtype=dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_never_overflows_nor_warns_for_any_finite_input(dtype):
    a = extreme_values(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning under numpy's default error state fails the test
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = sigmoid(a)
    assert s.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))
    assert np.all(s[a > 0] >= 0.5) and np.all(s[a < 0] <= 0.5)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_raises_no_floating_point_error_under_errstate_all_raise(dtype):
    """Not even underflow: exp(-|a|) rounding to 0.0 for |a| > ~745 (float64) is the right value, not an error."""
    a = extreme_values(dtype)
    with np.errstate(all="raise"):
        s = sigmoid(a)
    assert s.dtype == dtype


def test_sigmoid_equals_the_textbook_formula_where_that_is_safe():
    a = np.linspace(-30, 30, 1201)  # exp(30) is far from overflow
    np.testing.assert_allclose(sigmoid(a), 1 / (1 + np.exp(-a)), rtol=4e-15, atol=0)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_is_symmetric_about_one_half(dtype):
    a = extreme_values(dtype)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(sigmoid(-a), 1 - sigmoid(a), rtol=0, atol=eps)
    assert sigmoid(np.array(0.0, dtype)) == 0.5


def test_sigmoid_keeps_full_relative_accuracy_in_the_left_tail():
    """sigmoid(-a) = e^-a / (1 + e^-a), not 1 - sigmoid(a) (which cancels to 0 past a = 37)."""
    a = np.array([20.0, 40.0, 100.0, 700.0])
    np.testing.assert_allclose(sigmoid(-a), np.exp(-a) / (1 + np.exp(-a)), rtol=1e-14)
    assert np.all(sigmoid(-a) > 0)


def test_sigmoid_saturates_to_exactly_zero_and_one():
    assert sigmoid(np.array(1e308)) == 1.0
    assert sigmoid(np.array(-1e308)) == 0.0
    assert sigmoid(np.array(np.finfo(np.float32).max)) == np.float32(1)
    assert sigmoid(np.array(np.inf)) == 1.0 and sigmoid(np.array(-np.inf)) == 0.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3, 4)])
def test_sigmoid_and_tanh_preserve_dtype_and_shape(rng, dtype, shape):
    a = rng.standard_normal(shape).astype(dtype)
    for function in (sigmoid, tanh):
        out = function(a)
        assert out.dtype == dtype and out.shape == shape, function.__name__


def test_sigmoid_and_tanh_do_not_mutate_their_argument(rng):
    a = rng.standard_normal((3, 4))
    before = a.copy()
    sigmoid(a)
    tanh(a)
    softmax(a)
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_out_argument_receives_the_result_even_when_it_is_the_input(rng, dtype):
    a = (10 * rng.standard_normal((3, 4))).astype(dtype)
    expected = sigmoid(a)
    out = np.empty_like(a)
    assert sigmoid(a, out=out) is out
    np.testing.assert_array_equal(out, expected)
    in_place = a.copy()
    assert sigmoid(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)


def test_sigmoid_of_integers_and_bools_is_computed_in_float64_not_truncated():
    a = np.array([-2, 0, 1, 2])
    s = sigmoid(a)
    assert s.dtype == np.float64
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-a.astype(np.float64))), rtol=1e-15)
    assert sigmoid(0) == 0.5
    np.testing.assert_array_equal(sigmoid(np.array([True, False])), sigmoid(np.array([1.0, 0.0])))


def test_tanh_is_numpy_tanh_and_odd(rng):
    a = np.concatenate([rng.standard_normal(50) * 5, extreme_values(np.float64)])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(tanh(a), np.tanh(a))
    np.testing.assert_array_equal(tanh(-a), -tanh(a))


# --- softmax -------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_is_non_negative_and_sums_to_one_along_its_axis(rng, axis):
    logits = 3 * rng.standard_normal((4, 5, 6))
    p = softmax(logits, axis=axis)
    assert p.shape == logits.shape and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=axis), 1, rtol=1e-14)


def test_softmax_equals_the_textbook_formula_for_moderate_logits(rng):
    logits = 3 * rng.standard_normal((4, 7))
    e = np.exp(logits)
    np.testing.assert_allclose(softmax(logits), e / e.sum(axis=-1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(softmax(logits, axis=0), (e / e.sum(axis=0, keepdims=True)), rtol=1e-14)


def test_softmax_is_invariant_to_adding_a_constant_to_the_logits(rng):
    logits = rng.standard_normal((3, 5))
    for shift in (-1e3, -7.5, 0.25, 1e3):
        np.testing.assert_allclose(softmax(logits + shift), softmax(logits), rtol=1e-12, atol=1e-15)
    per_row = rng.standard_normal((3, 1)) * 100
    np.testing.assert_allclose(softmax(logits + per_row), softmax(logits), rtol=1e-12, atol=1e-15)


def test_softmax_handles_huge_logits_without_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            p = softmax(np.array([[1e4, 0.0, -1e4], [1e307, 1e307, -1e307], [1e300, 1e300 - 1e285, 0.0]]))
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(p[1], [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(p[2], [1.0, 0.0, 0.0])
    logits = np.array([1000.0, 1000.0 + np.log(3.0)])  # exp(1000) alone would overflow
    gap = logits[1] - logits[0]  # exact in floating point: about log(3), up to the rounding of 1000 + log(3)
    np.testing.assert_allclose(softmax(logits), [1 / (1 + np.exp(gap)), 1 / (1 + np.exp(-gap))], rtol=1e-14)


def test_softmax_does_not_warn_when_the_logits_span_more_than_the_float_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            p = softmax(np.array([1e308, -1e308]))
    np.testing.assert_array_equal(p, [1.0, 0.0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_preserves_dtype(rng, dtype):
    logits = rng.standard_normal((2, 3)).astype(dtype)
    assert softmax(logits).dtype == dtype


def test_tanh_of_integers_and_bools_is_float64_as_for_sigmoid():
    np.testing.assert_array_equal(tanh(np.array([True, False])), np.tanh(np.array([1.0, 0.0])))
    assert tanh(np.array([1, 2], np.int8)).dtype == np.float64  # NumPy alone gives float16 here


@pytest.mark.parametrize(
    "bad", [None, "a", np.array([1 + 2j]), np.array([object()])], ids=["None", "str", "complex", "object"]
)
def test_activations_refuse_what_is_not_real_numbers_naming_the_argument(bad):
    """None used to give sigmoid(None) = nan, a complex input lost its imaginary part with only a warning."""
    for function, name in ((sigmoid, "a"), (tanh, "a"), (softmax, "logits")):
        with pytest.raises(ValueError, match=rf"^{name} has dtype .*, expected real numbers"):
            function(bad)


def test_sigmoid_out_must_match_the_shape_and_dtype_of_the_result():
    a = np.zeros(3)
    for out in (np.zeros(2), np.zeros(3, np.int64), np.zeros(3, np.float32), [0.0, 0.0, 0.0]):
        with pytest.raises(
            ValueError, match=r"^out has shape .*, expected an ndarray of shape \(3,\) and dtype float64"
        ):
            sigmoid(a, out=out)


def test_softmax_over_zero_classes_or_a_missing_axis_raises_naming_it():
    with pytest.raises(ValueError, match=r"logits has shape \(2, 0\): a softmax over zero classes"):
        softmax(np.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"axis must be an int in \[-2, 2\)"):
        softmax(np.zeros((2, 3)), axis=2)
    assert softmax(np.zeros((0, 3))).shape == (0, 3)  # an empty batch of 3 classes is fine
    np.testing.assert_array_equal(softmax([0.0, 0.0]), [0.5, 0.5])  # a list is an array like any other
