"""Tests of rnn_ref.masks: lengths and masks, per-sequence reversal, mask-or-lengths resolution."""

import numpy as np
import pytest
from _numeric import expect_value_error

from rnn_ref.masks import lengths_to_mask, mask_to_lengths, resolve_mask, reverse_index, reverse_sequences


def python_mask(lengths, T):
    """The definition, one element at a time: step t of sequence n is valid when t < lengths[n]."""
    return np.array([[t < length for length in lengths] for t in range(T)], dtype=bool).reshape(T, len(lengths))


def python_reverse(xs, lengths):
    """Reverse each sequence's first lengths[n] steps with Python slicing; padding stays where it is."""
    out = xs.copy()
    for n, length in enumerate(lengths):
        out[:length, n] = xs[:length, n][::-1]
    return out


# --- lengths_to_mask and mask_to_lengths -----------------------------------------------------------


@pytest.mark.parametrize("lengths", [[3, 0, 1, 5], [0], [5, 5], [], [2]], ids=str)
def test_lengths_to_mask_marks_the_first_lengths_steps_of_each_sequence(lengths):
    T = 5
    mask = lengths_to_mask(np.array(lengths, dtype=int), T)
    assert mask.dtype == bool and mask.shape == (T, len(lengths))
    np.testing.assert_array_equal(mask, python_mask(lengths, T))


def test_lengths_to_mask_accepts_a_list_of_ints():
    np.testing.assert_array_equal(lengths_to_mask([2, 0], 3), python_mask([2, 0], 3))


@pytest.mark.parametrize(
    "lengths, fragment",
    [
        (np.array([4, 1]), "lengths must lie in [0, T] = [0, 3], got min 1 and max 4"),
        (np.array([-1, 1]), "lengths must lie in [0, T] = [0, 3], got min -1 and max 1"),
        (np.array([1.0, 2.0]), "lengths has shape (2,) and dtype float64, expected (N,) integers"),
        (np.array([[1, 2]]), "lengths has shape (1, 2) and dtype int64, expected (N,) integers"),
        (np.array([True, False]), "dtype bool"),
    ],
    ids=["longer-than-T", "negative", "float", "rank-2", "bool"],
)
def test_lengths_to_mask_rejects_bad_lengths_naming_them(lengths, fragment):
    expect_value_error(lambda: lengths_to_mask(lengths, 3), "lengths", fragment)


def test_mask_to_lengths_inverts_lengths_to_mask(rng):
    for _ in range(20):
        T, N = rng.integers(0, 6), rng.integers(0, 5)
        lengths = rng.integers(0, T + 1, size=N)
        recovered = mask_to_lengths(lengths_to_mask(lengths, T))
        np.testing.assert_array_equal(recovered, lengths)
        assert np.issubdtype(recovered.dtype, np.integer)


def test_mask_to_lengths_accepts_a_0_1_integer_mask():
    np.testing.assert_array_equal(mask_to_lengths(python_mask([2, 0, 3], 3).astype(int)), [2, 0, 3])


@pytest.mark.parametrize(
    "mask, bad",
    [
        ([[0, 1], [1, 1]], [0]),  # a gap before the first valid step
        ([[1, 1], [0, 1], [1, 1]], [0]),  # a gap in the middle
        ([[1, 0], [1, 1], [1, 0]], [1]),
        ([[0, 0], [1, 1]], [0, 1]),
    ],
    ids=["right-aligned", "hole", "late-step", "both"],
)
def test_mask_to_lengths_rejects_masks_that_are_not_left_aligned_naming_the_sequences(mask, bad):
    expect_value_error(lambda: mask_to_lengths(np.array(mask, dtype=bool)), "mask", "left-aligned", f"sequences {bad}")


def test_mask_to_lengths_names_the_argument_it_was_given_as():
    expect_value_error(lambda: mask_to_lengths(np.array([[0], [1]]), name="mask_bwd"), "mask_bwd", "left-aligned")
    expect_value_error(lambda: mask_to_lengths(np.ones(3), name="m"), "m", "has shape (3,)", "expected (T, N)")


# --- reverse_sequences -----------------------------------------------------------------------------


@pytest.mark.parametrize("trailing", [(), (2,), (2, 3)], ids=["(T, N)", "(T, N, D)", "(T, N, D, E)"])
def test_reverse_sequences_equals_a_per_sequence_python_reversal(rng, trailing):
    T, N = 5, 4
    xs = rng.standard_normal((T, N, *trailing))
    lengths = np.array([5, 0, 1, 3])
    np.testing.assert_array_equal(reverse_sequences(xs, lengths), python_reverse(xs, lengths))


def test_reverse_sequences_is_an_involution(rng):
    for _ in range(10):
        T, N = rng.integers(1, 7), rng.integers(1, 5)
        xs = rng.standard_normal((T, N, 3))
        lengths = rng.integers(0, T + 1, size=N)
        once = reverse_sequences(xs, lengths)
        np.testing.assert_array_equal(reverse_sequences(once, lengths), xs)
        assert not np.shares_memory(once, xs)


def test_reverse_sequences_with_full_lengths_is_a_time_flip(rng):
    xs = rng.standard_normal((4, 3, 2))
    flipped = reverse_sequences(xs, np.full(3, 4))
    np.testing.assert_array_equal(flipped, xs[::-1])
    assert not np.shares_memory(flipped, xs)  # a new array, as with padding, not a view of xs


def test_reverse_sequences_leaves_padded_steps_in_place_and_does_not_mutate(rng):
    xs = rng.standard_normal((4, 3, 2))
    before = xs.copy()
    lengths = np.array([2, 0, 4])
    out = reverse_sequences(xs, lengths)
    padded = ~python_mask(lengths, 4)
    np.testing.assert_array_equal(out[padded], xs[padded])
    np.testing.assert_array_equal(xs, before)


def test_reverse_index_is_lengths_minus_one_minus_t_on_valid_steps_and_t_on_padding():
    index = reverse_index(np.array([3, 0, 1]), 4)
    np.testing.assert_array_equal(index, [[2, 0, 0], [1, 1, 1], [0, 2, 2], [3, 3, 3]])


@pytest.mark.parametrize(
    "lengths, fragment",
    [
        (np.array([5, 1, 1]), "lengths must lie in [0, T] = [0, 4], got min 1 and max 5"),
        (np.array([-1, 1, 1]), "lengths must lie in [0, T] = [0, 4], got min -1 and max 1"),
        (np.array([1, 1]), "lengths has shape (2,) and dtype int64, expected (N,) = (3,) integers"),
        (np.array([1.0, 1.0, 1.0]), "lengths has shape (3,) and dtype float64, expected (N,) = (3,) integers"),
    ],
    ids=["longer-than-T", "negative", "wrong-N", "float"],
)
def test_reverse_sequences_rejects_bad_lengths_naming_them(rng, lengths, fragment):
    xs = rng.standard_normal((4, 3, 2))
    expect_value_error(lambda: reverse_sequences(xs, lengths), "lengths", fragment)


# --- resolve_mask --------------------------------------------------------------------------------


def test_resolve_mask_with_neither_is_none():
    assert resolve_mask(None, None, 3, 2) is None


def test_resolve_mask_from_lengths_equals_the_mask_it_describes():
    np.testing.assert_array_equal(resolve_mask(None, np.array([3, 1]), 3, 2), python_mask([3, 1], 3))
    np.testing.assert_array_equal(resolve_mask(None, [0, 2], 3, 2), python_mask([0, 2], 3))


def test_resolve_mask_returns_a_bool_mask_unchanged_and_converts_0_1_integers():
    mask = python_mask([3, 1], 3)
    np.testing.assert_array_equal(resolve_mask(mask, None, 3, 2), mask)
    converted = resolve_mask(mask.astype(np.int64), None, 3, 2)
    assert converted.dtype == bool
    np.testing.assert_array_equal(converted, mask)


def test_resolve_mask_rejects_both_mask_and_lengths():
    message = expect_value_error(lambda: resolve_mask(python_mask([3, 1], 3), np.array([3, 1]), 3, 2), "mask")
    assert "lengths" in message


@pytest.mark.parametrize(
    "mask, lengths, name, fragment",
    [
        (np.ones((2, 3), bool), None, "mask", "mask has shape (2, 3), expected (T, N) = (3, 2)"),
        (np.ones((3, 2)), None, "mask", "mask has dtype float64, expected bool"),
        (np.full((3, 2), 2), None, "mask", "mask has dtype int64, expected bool"),
        (None, np.array([1, 2, 3]), "lengths", "lengths has shape (3,), expected (N,) = (2,)"),
        (None, np.array([4, 1]), "lengths", "lengths must lie in [0, T] = [0, 3]"),
    ],
    ids=["mask-shape", "mask-float", "mask-int-not-0-1", "lengths-shape", "lengths-range"],
)
def test_resolve_mask_rejects_a_bad_mask_or_lengths_naming_it(mask, lengths, name, fragment):
    expect_value_error(lambda: resolve_mask(mask, lengths, 3, 2), name, fragment)


def test_masks_bad_T_dtype_or_rank_raise_naming_the_argument():
    expect_value_error(lambda: lengths_to_mask([1], "3"), "T", "int >= 0")
    expect_value_error(lambda: lengths_to_mask([0], -1), "T", "int >= 0")
    expect_value_error(lambda: mask_to_lengths(np.full((2, 2), 0.5)), "mask", "dtype float64")
    expect_value_error(lambda: mask_to_lengths(np.full((2, 2), 2)), "mask", "0/1 integers")  # 2 is not a flag
    expect_value_error(lambda: reverse_sequences(np.zeros(3), np.array([1])), "xs", "(T, N, ...)")
    np.testing.assert_array_equal(reverse_sequences([[1.0], [2.0]], np.array([2])), [[2.0], [1.0]])
    np.testing.assert_array_equal(reverse_index([2, 1], 2), [[1, 0], [0, 1]])  # a list of lengths works
