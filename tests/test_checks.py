"""Tests of rnn_ref._checks: the shape and dtype validation behind every public function."""

import numpy as np
import pytest
from _numeric import expect_value_error

from rnn_ref import clip, losses, optim, rnn
from rnn_ref._checks import Dims, as_array, check_choice, check_mask

PARAMS = {"W_x": np.zeros((2, 2)), "W_h": np.zeros((2, 2)), "b": np.zeros(2)}

# --- Dims.array ------------------------------------------------------------------------------------


def test_dims_binds_each_letter_at_its_first_use_and_checks_it_afterwards():
    dims = Dims()
    dims.array("xs", np.zeros((5, 4, 3)), ("T", "N", "D"))
    dims.array("h0", np.zeros((4, 7)), ("N", "H"))
    assert dims.sizes == {"T": 5, "N": 4, "D": 3, "H": 7}
    expect_value_error(
        lambda: dims.array("c0", np.zeros((3, 7)), ("N", "H")), "c0", "c0 has shape (3, 7), expected (N, H) = (4, 7)"
    )


def test_dims_binds_a_letter_from_a_multiple_and_checks_the_multiple():
    dims = Dims()
    dims.array("W_x", np.zeros((12, 2)), ("4H", "D"))
    assert dims.sizes == {"H": 3, "D": 2}
    dims.array("W_h", np.zeros((12, 3)), ("4H", "H"))
    expect_value_error(lambda: dims.array("b", np.zeros(9), ("4H",)), "b", "b has shape (9,), expected (4H,) = (12,)")
    expect_value_error(
        lambda: Dims().array("W_x", np.zeros((10, 2)), ("4H", "D")),
        "W_x",
        "W_x has shape (10, 2), expected (4H, D): axis 0 has size 10, which is not a multiple of 4",
    )


def test_dims_uses_sizes_known_in_advance_and_fixed_integer_axes():
    dims = Dims(T=3, N=2)
    dims.array("dhs", np.zeros((3, 2, 5)), ("T", "N", "H"))
    expect_value_error(
        lambda: dims.array("dhs2", np.zeros((4, 2, 5)), ("T", "N", "H")), "dhs2", "expected (T, N, H) = (3, 2, 5)"
    )
    dims.array("pair", np.zeros((2, 5)), (2, "H"))
    expect_value_error(lambda: dims.array("pair", np.zeros((3, 5)), (2, "H")), "pair", "expected (2, H) = (2, 5)")


def test_dims_wrong_rank_says_the_shape_and_the_expected_number_of_dimensions():
    expect_value_error(
        lambda: Dims().array("x", np.zeros((2, 3, 1)), ("N", "D")),
        "x",
        "x has shape (2, 3, 1) (3 dimensions), expected 2 dimensions (N, D)",
    )
    expect_value_error(lambda: Dims().array("b", np.zeros(()), ("H",)), "b", "b has shape () (0 dimensions)", "(H,)")


def test_dims_none_says_which_argument_and_what_shape_was_expected():
    expect_value_error(lambda: Dims().array("h0", None, ("N", "H")), "h0", "h0 is None", "(N, H)")


def test_dims_rejects_non_floating_arrays_naming_them():
    for value in (
        np.zeros((2, 3), np.int64),
        np.zeros((2, 3), bool),
        [[1, 2, 3], [4, 5, 6]],
        np.zeros((2, 3), np.float16),
    ):
        expect_value_error(lambda v=value: Dims().array("x", v, ("N", "D")), "x", "expected a floating dtype")
    Dims().array("lengths", np.zeros(3, np.int64), ("N",), floating=False)  # allowed when asked for


def test_dims_requires_one_dtype_for_every_floating_array_and_names_both():
    dims = Dims()
    dims.array("params['W_x']", np.zeros((3, 2)), ("H", "D"))
    message = expect_value_error(
        lambda: dims.array("x", np.zeros((4, 2), np.float32), ("N", "D")), "x", "x has dtype float32"
    )
    assert "params['W_x'] has dtype float64" in message
    dims.array("mask-like", np.zeros((4,), np.int8), ("N",), floating=False)  # not part of the dtype agreement
    float32 = Dims()
    float32.array("x", np.zeros((4, 2), np.float32), ("N", "D"))
    float32.array("h", np.zeros((4, 3), np.float32), ("N", "H"))


def test_dims_returns_the_ndarray_itself_and_converts_lists():
    x = np.zeros((2, 3))
    assert Dims().array("x", x, ("N", "D")) is x  # no copy: validation costs nothing
    converted = Dims().array("x", [[1.0, 2.0]], ("N", "D"))
    assert isinstance(converted, np.ndarray) and converted.shape == (1, 2)


def test_dims_mismatch_message_names_the_array_that_bound_the_letter():
    """Either array of a mismatch may be the wrong one, so the message names both, with their shapes."""
    dims = Dims()
    dims.array("W_x", np.zeros((4, 5)), ("H", "D"))  # transposed: should have been (5, 4)
    expect_value_error(
        lambda: dims.array("W_h", np.zeros((5, 5)), ("H", "H")),
        "W_x",
        "W_h has shape (5, 5), expected (H, H) = (4, 4)",
        "H = 4 from W_x of shape (4, 5)",
    )
    dims = Dims()
    dims.array("xs", np.zeros((3, 2, 4)), ("T", "N", "D"))
    dims.array("h0", np.zeros((2, 5)), ("N", "H"))
    message = expect_value_error(
        lambda: dims.array("c0", np.zeros((3, 6)), ("N", "H")), "c0", "N = 2 from xs of shape (3, 2, 4)"
    )
    assert "H = 5 from h0 of shape (2, 5)" in message


def test_dims_mismatch_with_a_size_known_in_advance_names_no_other_array():
    message = expect_value_error(lambda: Dims(T=3).array("dhs", np.zeros((4, 2)), ("T", "N")), "dhs")
    assert message == "dhs has shape (4, 2), expected (T, N) = (3, 2)"


# --- Dims.params -----------------------------------------------------------------------------------

SPECS = {"W_x": ("H", "D"), "W_h": ("H", "H"), "b": ("H",)}


def valid_params():
    return {"W_x": np.zeros((3, 2)), "W_h": np.zeros((3, 3)), "b": np.zeros(3)}


def test_dims_params_returns_a_new_dict_of_the_same_arrays_and_binds_the_letters():
    params = valid_params()
    dims = Dims()
    checked = dims.params(params, SPECS)
    assert checked is not params and sorted(checked) == sorted(params)
    assert all(checked[key] is params[key] for key in params)
    assert dims.sizes == {"H": 3, "D": 2}
    checked["extra"] = 1
    assert "extra" not in params


@pytest.mark.parametrize(
    "change, fragments",
    [
        ({"drop": "b"}, ["params has keys ['W_h', 'W_x'], expected ['W_h', 'W_x', 'b'] (missing ['b'])"]),
        ({"add": "b_hn"}, ["(unexpected ['b_hn'])"]),
        ({"drop": "W_h", "add": "W_hh"}, ["(missing ['W_h'])", "(unexpected ['W_hh'])"]),
    ],
    ids=["missing", "extra", "both"],
)
def test_dims_params_requires_exactly_the_expected_keys(change, fragments):
    params = valid_params()
    if "drop" in change:
        del params[change["drop"]]
    if "add" in change:
        params[change["add"]] = np.zeros(3)
    expect_value_error(lambda: Dims().params(params, SPECS), "params", *fragments)


def test_dims_params_names_the_key_with_a_wrong_shape_and_uses_the_given_name():
    params = valid_params()
    params["b"] = np.zeros(4)
    expect_value_error(lambda: Dims().params(params, SPECS), "params['b']", "params['b'] has shape (4,)", "(H,) = (3,)")
    expect_value_error(lambda: Dims().params(params, SPECS, name="params_fwd"), "params_fwd['b']")


def test_dims_params_rejects_a_non_dict():
    expect_value_error(lambda: Dims().params(list(valid_params().values()), SPECS), "params", "must be a dict", "list")


# --- check_mask and check_choice ---------------------------------------------------------------------


def test_check_mask_passes_none_and_bool_masks_and_converts_0_1_integers():
    assert check_mask(None, 3, 2) is None
    mask = np.array([[True, False], [True, True], [False, True]])
    np.testing.assert_array_equal(check_mask(mask, 3, 2), mask)
    converted = check_mask(mask.astype(np.int32), 3, 2)
    assert converted.dtype == bool
    np.testing.assert_array_equal(converted, mask)
    np.testing.assert_array_equal(check_mask(mask.tolist(), 3, 2), mask)


@pytest.mark.parametrize(
    "mask, fragment",
    [
        (np.ones((2, 3), bool), "mask has shape (2, 3), expected (T, N) = (3, 2)"),
        (np.ones(6, bool), "mask has shape (6,), expected (T, N) = (3, 2)"),
        (np.ones((3, 2)), "mask has dtype float64, expected bool (or 0/1 integers)"),
        (np.full((3, 2), -1), "mask has dtype int64, expected bool (or 0/1 integers)"),
    ],
    ids=["transposed", "flat", "float", "int-not-0-1"],
)
def test_check_mask_rejects_bad_masks_naming_them(mask, fragment):
    expect_value_error(lambda: check_mask(mask, 3, 2), "mask", fragment)
    expect_value_error(lambda: check_mask(mask, 3, 2, name="mask_bwd"), "mask_bwd")


def test_check_choice_returns_a_valid_choice_and_lists_the_choices_otherwise():
    assert check_choice("cell", "lstm", ("rnn", "lstm")) == "lstm"
    expect_value_error(
        lambda: check_choice("cell", "LSTM", ("rnn", "lstm")),
        "cell",
        "unknown cell 'LSTM', expected one of 'rnn', 'lstm'",
    )


# --- ragged input, at every entry point that reads arrays -------------------------------------------


def test_as_array_names_a_value_numpy_cannot_read():
    assert as_array("x", [[1.0, 2.0]]).shape == (1, 2)
    expect_value_error(lambda: as_array("h0", [[1.0, 2.0], [3.0]]), "h0", "h0 cannot be read as an array")


RAGGED = [[1.0, 2.0], [3.0]]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: rnn.rnn_forward(np.zeros((1, 1, 2)), None, {**PARAMS, "W_h": RAGGED}), "params['W_h']"),
        (lambda: rnn.rnn_forward(RAGGED, None, PARAMS), "xs"),
        (lambda: rnn.rnn_forward(np.zeros((2, 1, 2)), None, PARAMS, mask=[[True], [True, False]]), "mask"),
        (lambda: rnn.rnn_forward(np.zeros((2, 2, 2)), None, PARAMS, lengths=[[1], [1, 2]]), "lengths"),
        (lambda: losses.softmax_cross_entropy(RAGGED, [0, 0]), "logits"),
        (lambda: losses.mse(RAGGED, RAGGED), "pred"),
        (lambda: clip.clip_grad_norm({"b": RAGGED}, 1.0), "grads['b']"),
        (lambda: optim.SGD(0.1).step({"b": np.zeros(2)}, {"b": RAGGED}), "grads['b']"),
    ],
    ids=["params", "xs", "mask", "lengths", "logits", "pred", "clip-grads", "optim-grads"],
)
def test_a_ragged_list_raises_naming_the_argument_not_numpys_inhomogeneous_shape(call, name):
    expect_value_error(call, name, f"{name} cannot be read as an array")


def test_dims_names_the_array_that_bound_each_letter_once():
    dims = Dims()
    dims.array("W_x", np.zeros((4, 5)), ("H", "D"))
    dims.array("x", np.zeros((2, 5)), ("N", "D"))
    message = expect_value_error(lambda: dims.array("W_h", np.zeros((5, 5)), ("H", "H")), "W_h")
    assert message.count("H = 4 from W_x of shape (4, 5)") == 1
