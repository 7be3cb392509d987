"""rnn_ref.data: shapes, dtypes, determinism, and every label recomputed independently."""

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from rnn_ref import data

FLOATS = [np.float32, np.float64]


# --- seeds and one-hot ---------------------------------------------------------------------------


def test_as_rng_accepts_generator_and_int_refuses_none():
    generator = np.random.default_rng(3)
    assert data.as_rng(generator) is generator
    assert data.as_rng(3).random() == np.random.default_rng(3).random()
    for bad in (None, True, 1.5, "3"):
        with pytest.raises(ValueError, match="rng must be"):
            data.as_rng(bad)


@pytest.mark.parametrize("dtype", FLOATS)
def test_one_hot_has_a_single_one_at_each_index(dtype, rng):
    indices = rng.integers(0, 5, size=(3, 4))
    out = data.one_hot(indices, 5, dtype)
    assert out.shape == (3, 4, 5) and out.dtype == dtype
    assert np.array_equal(out.sum(axis=-1), np.ones((3, 4)))
    assert np.array_equal(out.argmax(axis=-1), indices)


def test_one_hot_rejects_indices_out_of_range_and_floats():
    with pytest.raises(ValueError, match=r"\[0, V\) = \[0, 3\)"):
        data.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="dtype float64"):
        data.one_hot(np.array([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="floating dtype"):
        data.one_hot(np.array([0, 1]), 3, dtype=np.int64)


# --- adding problem ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_adding_problem_shapes_and_dtype(dtype):
    xs, ys = data.adding_problem(9, 4, 0, dtype=dtype)
    assert xs.shape == (9, 4, 2) and ys.shape == (4,)
    assert xs.dtype == dtype and ys.dtype == dtype


def test_adding_problem_markers_one_in_each_half_and_target_is_their_sum():
    T, N = 10, 300
    xs, ys = data.adding_problem(T, N, 7)
    assert ((xs[:, :, 0] >= 0) & (xs[:, :, 0] < 1)).all()
    for n in range(N):
        marked = np.flatnonzero(xs[:, n, 1] == 1.0)
        assert len(marked) == 2 and marked[0] < T // 2 <= marked[1]
        assert set(np.unique(xs[:, n, 1])) == {0.0, 1.0}
        assert ys[n] == pytest.approx(xs[marked[0], n, 0] + xs[marked[1], n, 0], abs=1e-15)
    # both halves are used in full: every position is marked somewhere in the batch
    assert np.array_equal(np.flatnonzero(xs[:, :, 1].any(axis=1)), np.arange(T))


def test_adding_problem_mean_predictor_has_the_documented_error_one_sixth():
    _, ys = data.adding_problem(6, 200_000, 1)
    # Var(U1 + U2) = 1/6; the standard error of this estimate is about 5e-4
    assert np.mean((ys - 1.0) ** 2) == pytest.approx(1 / 6, abs=3e-3)


def test_adding_problem_is_deterministic_per_seed():
    a = data.adding_problem(8, 5, 11)
    b = data.adding_problem(8, 5, np.random.default_rng(11))
    c = data.adding_problem(8, 5, 12)
    assert np.array_equal(a.xs, b.xs) and np.array_equal(a.ys, b.ys)
    assert not np.array_equal(a.xs, c.xs)


def test_adding_problem_rejects_too_short_sequences():
    with pytest.raises(ValueError, match="T must be an int >= 2"):
        data.adding_problem(1, 4, 0)


# --- copy task -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_copy_task_shapes_dtypes(dtype):
    xs, targets, scored = data.copy_task(5, 7, 3, 0, n_symbols=6, dtype=dtype)
    T, V = 2 * 5 + 7, 6 + 2
    assert xs.shape == (T, 3, V) and xs.dtype == dtype
    assert targets.shape == (T, 3) and targets.dtype == np.int64
    assert scored.shape == (T, 3) and scored.dtype == bool


@pytest.mark.parametrize(("seq_len", "delay"), [(4, 1), (3, 6), (1, 2)])
def test_copy_task_targets_recall_the_symbols_after_the_delimiter(seq_len, delay):
    n_symbols, N = 5, 20
    xs, targets, scored = data.copy_task(seq_len, delay, N, 3, n_symbols=n_symbols)
    blank, delimiter = 0, n_symbols + 1
    assert np.array_equal(xs.sum(axis=-1), np.ones(xs.shape[:2]))  # one-hot everywhere
    tokens = xs.argmax(axis=-1)  # (T, N)
    for n in range(N):
        seq = list(tokens[:, n])
        symbols = seq[:seq_len]
        assert all(1 <= s <= n_symbols for s in symbols)
        assert seq[seq_len:] == [blank] * (delay - 1) + [delimiter] + [blank] * seq_len
        assert list(targets[:, n]) == [blank] * (seq_len + delay) + symbols
        assert list(scored[:, n]) == [False] * (seq_len + delay) + [True] * seq_len


def test_copy_task_is_deterministic_per_seed():
    a = data.copy_task(3, 4, 6, 5)
    b = data.copy_task(3, 4, 6, np.random.default_rng(5))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a.targets, data.copy_task(3, 4, 6, 6).targets)


# --- sine waves ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_sine_waves_shapes_dtype_and_targets_are_the_next_value(dtype):
    xs, ys = data.sine_waves(12, 5, 0, dtype=dtype)
    assert xs.shape == ys.shape == (12, 5, 1)
    assert xs.dtype == ys.dtype == dtype
    assert np.array_equal(ys[:-1], xs[1:])


def test_sine_waves_are_sinusoids_of_the_requested_frequency_range():
    # any sinusoid s_t = A sin(w t + phi) obeys s_{t+1} + s_{t-1} = 2 cos(w) s_t
    omega = (0.2, 0.4)
    xs, ys = data.sine_waves(30, 50, 2, omega=omega, amplitude=(0.5, 1.0))
    s = np.concatenate([xs, ys[-1:]])[:, :, 0]  # (T + 1, N)
    mid = np.abs(s[1:-1]) > 0.1  # avoid dividing by values near zero
    ratio = np.where(mid, (s[2:] + s[:-2]) / np.where(mid, s[1:-1], 1.0), np.nan)  # (T - 1, N)
    two_cos_w = np.nanmean(ratio, axis=0)  # (N,)
    assert np.nanmax(np.abs(ratio - two_cos_w), axis=0).max() < 1e-9
    w = np.arccos(two_cos_w / 2)
    assert (w >= omega[0] - 1e-9).all() and (w <= omega[1] + 1e-9).all()
    assert (np.abs(s).max(axis=0) <= 1.0).all()


def test_sine_waves_noise_has_the_requested_standard_deviation():
    clean, _ = data.sine_waves(100, 200, 4)
    noisy, _ = data.sine_waves(100, 200, 4, noise=0.1)  # the same waves: noise is drawn last
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.02)


def test_sine_waves_is_deterministic_per_seed():
    assert np.array_equal(data.sine_waves(5, 3, 9).xs, data.sine_waves(5, 3, np.random.default_rng(9)).xs)
    assert not np.array_equal(data.sine_waves(5, 3, 9).xs, data.sine_waves(5, 3, 10).xs)


# --- look-around tagging -------------------------------------------------------------------------


def _tags_by_hand(tokens, length, V):
    """The tags of one sequence, written from the definition, one token at a time."""
    tags = []
    for t in range(length):
        if tokens[t] < V // 2:  # looks back
            tags.append(tokens[t - 1] if t > 0 else V)
        else:  # looks ahead
            tags.append(tokens[t + 1] if t < length - 1 else V + 1)
    return tags


@pytest.mark.parametrize("dtype", FLOATS)
def test_look_around_tagging_shapes_dtypes_and_mask(dtype):
    T, N, V = 9, 40, 6
    xs, tags, mask = data.look_around_tagging(T, N, 0, n_symbols=V, min_length=3, dtype=dtype)
    assert xs.shape == (T, N, V) and xs.dtype == dtype
    assert tags.shape == (T, N) and tags.dtype == np.int64
    assert mask.shape == (T, N) and mask.dtype == bool
    lengths = mask.sum(axis=0)
    assert np.array_equal(mask, np.arange(T)[:, None] < lengths[None, :])  # left-aligned
    assert lengths.min() >= 3 and lengths.max() <= T
    assert np.array_equal(xs.sum(axis=-1), mask.astype(dtype))  # one-hot at valid steps, zero at padding
    assert (tags >= 0).all() and (tags < V + 2).all()
    assert (tags[~mask] == 0).all()


@pytest.mark.parametrize("V", [2, 4, 8])
def test_look_around_tagging_tags_match_the_definition(V):
    T, N = 8, 60
    xs, tags, mask = data.look_around_tagging(T, N, 1, n_symbols=V, min_length=1)
    tokens = xs.argmax(axis=-1)
    for n in range(N):
        length = int(mask[:, n].sum())
        assert list(tags[:length, n]) == _tags_by_hand(list(tokens[:, n]), length, V)


def test_look_around_tagging_half_of_the_tokens_look_ahead():
    xs, _, mask = data.look_around_tagging(20, 500, 2, n_symbols=4)
    ahead = xs.argmax(axis=-1)[mask] >= 2
    assert ahead.mean() == pytest.approx(0.5, abs=0.02)


def test_look_around_tagging_next_token_is_independent_of_the_past():
    # the claim behind "a left-to-right model is at chance": at look-ahead steps that are not
    # the last, the tag is uniform whatever the current and the previous tokens are
    V = 4
    xs, tags, mask = data.look_around_tagging(12, 4000, 3, n_symbols=V, min_length=12)
    tokens = xs.argmax(axis=-1)
    for current in (2, 3):
        for previous in range(V):
            where = (tokens[1:-1] == current) & (tokens[:-2] == previous)  # steps 1 .. T-2
            counts = np.bincount(tags[1:-1][where], minlength=V + 2)
            assert counts[V:].sum() == 0
            assert np.allclose(counts[:V] / counts.sum(), 1 / V, atol=0.05)


def test_look_around_tagging_is_deterministic_and_checks_its_arguments():
    a = data.look_around_tagging(6, 4, 8)
    b = data.look_around_tagging(6, 4, np.random.default_rng(8))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="n_symbols must be even"):
        data.look_around_tagging(6, 4, 0, n_symbols=3)
    with pytest.raises(ValueError, match="min_length must be at most T = 6"):
        data.look_around_tagging(6, 4, 0, min_length=7)


# --- corpus and vocabulary -----------------------------------------------------------------------


def test_corpus_is_package_data_read_through_importlib_resources():
    resource = resources.files("rnn_ref.corpus").joinpath("recurrent.txt")
    assert resource.is_file()
    header = resource.read_text(encoding="utf-8").splitlines()[:3]
    assert any("written for this project" in line.lower() for line in header)
    assert any("license" in line.lower() for line in header)
    # tomllib is 3.11+ and the package supports 3.10: look for the one line by hand
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    section = pyproject.split("[tool.setuptools.package-data]")[1].split("\n[")[0]
    assert re.search(r'^"rnn_ref\.corpus"\s*=\s*\[[^\]]*"\*\.txt"', section, re.MULTILINE)


def test_load_corpus_drops_the_header_and_is_a_few_kilobytes_of_english():
    text = data.load_corpus()
    assert not text.startswith("#")
    assert 2000 < len(text) < 20000
    assert text.isascii()
    assert "recurrent" in text and "backpropagation through time" in text


def test_vocabulary_round_trips_the_corpus():
    text = data.load_corpus()
    vocab = data.Vocabulary(text)
    assert len(vocab) == len(set(text))
    assert vocab.chars == sorted(vocab.chars)
    codes = vocab.encode(text)
    assert codes.dtype == np.int64 and codes.shape == (len(text),)
    assert vocab.decode(codes) == text
    assert all(vocab.chars[vocab.index[ch]] == ch for ch in vocab.chars)


def test_vocabulary_rejects_unknown_characters_and_indices():
    vocab = data.Vocabulary("abc")
    with pytest.raises(ValueError, match=r"\['z'\]"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="text must be a str, got int"):
        vocab.encode(3)
    with pytest.raises(ValueError, match=r"\[0, V\) = \[0, 3\)"):
        vocab.decode([0, 3])


def test_char_batches_targets_are_the_inputs_shifted_by_one():
    text = data.load_corpus()
    vocab = data.Vocabulary(text)
    inputs, targets = data.char_batches(text, 16, 8, 0)
    assert inputs.shape == targets.shape == (16, 8)
    assert inputs.dtype == targets.dtype == np.int64
    assert np.array_equal(targets[:-1], inputs[1:])
    for n in range(8):
        window = vocab.decode(inputs[:, n]) + vocab.decode(targets[-1:, n])
        assert window in text  # every column is a contiguous window of the text


def test_char_batches_uses_every_window_up_to_the_last_character():
    # "abcdef" with T = 4 has exactly two windows: starts 0 and 1
    inputs, targets = data.char_batches("abcdef", 4, 200, 0)
    vocab = data.Vocabulary("abcdef")
    windows = {vocab.decode(inputs[:, n]) + vocab.decode(targets[-1:, n]) for n in range(200)}
    assert windows == {"abcde", "bcdef"}


def test_char_batches_accepts_encoded_text_and_is_deterministic():
    text = data.load_corpus()
    codes = data.Vocabulary(text).encode(text)
    a = data.char_batches(text, 10, 4, 5)
    b = data.char_batches(codes, 10, 4, np.random.default_rng(5))
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.targets, b.targets)
    with pytest.raises(ValueError, match="at least T \\+ 1 = 11"):
        data.char_batches("short", 10, 4, 0)


def test_load_python_docs_is_every_pydoc_topic_in_the_order_of_their_names():
    from pydoc_data.topics import topics  # the standard library's own copy, read here independently

    text = data.load_python_docs()
    assert text == data.load_python_docs()  # the same text every time: nothing random, nothing fetched
    assert len(text) > 100_000 and text.endswith("\n")
    position = -1
    for name in sorted(topics):
        body = topics[name].rstrip("\n")
        found = text.find(body, position + 1)
        assert found > position, f"topic {name!r} is missing or out of order"
        position = found
    assert 'The "assert" statement' in text and "AssertionError" in text  # English prose and code
    assert data.Vocabulary(text).decode(data.Vocabulary(text).encode(text)) == text


def test_char_stream_batches_read_n_contiguous_streams_in_consecutive_windows():
    text = data.load_corpus()[:1000]
    vocab = data.Vocabulary(text)
    codes = vocab.encode(text)
    T, N = 7, 3
    windows = data.char_stream_batches(text, T, N)
    L = (len(codes) - 1) // N  # 333 characters per stream
    assert len(windows) == L // T
    for inputs, targets in windows:
        assert inputs.shape == targets.shape == (T, N) and inputs.dtype == targets.dtype == np.int64
    for n in range(N):
        read = np.concatenate([w.inputs[:, n] for w in windows])
        predicted = np.concatenate([w.targets[:, n] for w in windows])
        # stream n is the n-th contiguous piece of the text, read without a gap from its first character
        np.testing.assert_array_equal(read, codes[n * L : n * L + len(read)])
        np.testing.assert_array_equal(predicted, codes[n * L + 1 : n * L + 1 + len(read)])
    for before, after in zip(windows[:-1], windows[1:], strict=True):  # each starts where the one before ended
        np.testing.assert_array_equal(after.inputs[0], before.targets[-1])


def test_char_stream_batches_use_every_full_window_and_check_their_arguments():
    # 26 letters in 2 streams of 12 (the 25th character is the last target): 4 windows of 3 each
    vocab = data.Vocabulary("abcdefghijklmnopqrstuvwxyz")
    windows = data.char_stream_batches("abcdefghijklmnopqrstuvwxyz", 3, 2)
    assert [[vocab.decode(w.inputs[:, n]) for n in range(2)] for w in windows] == [
        ["abc", "mno"],
        ["def", "pqr"],
        ["ghi", "stu"],
        ["jkl", "vwx"],
    ]
    assert vocab.decode(windows[-1].targets[:, 1]) == "wxy"
    codes = vocab.encode("abcdefghijklmnopqrstuvwxyz")
    assert np.array_equal(data.char_stream_batches(codes, 3, 2)[1].inputs, windows[1].inputs)
    with pytest.raises(ValueError, match="N = 4 streams of 6 are too short for T = 7"):
        data.char_stream_batches("abcdefghijklmnopqrstuvwxyz", 7, 4)
    with pytest.raises(ValueError, match="T must be an int >= 1, got 0"):
        data.char_stream_batches("abcdef", 0, 1)
    with pytest.raises(ValueError, match=r"text has shape \(2, 3\)"):
        data.char_stream_batches(np.zeros((2, 3), dtype=int), 1, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"omega": "a"}, r"omega must be a pair \(low, high\), got 'a'"),
        ({"omega": (0.5, 0.1)}, r"omega must be a pair \(low, high\) with low <= high"),
        ({"amplitude": (0.5, None)}, r"amplitude\[1\] must be a finite number"),
        ({"noise": -0.1}, r"noise must be a finite number >= 0.0, got -0.1"),
        ({"noise": "0.1"}, r"noise must be a finite number"),
    ],
    ids=["omega-str", "omega-reversed", "amplitude-None", "noise-negative", "noise-str"],
)
def test_sine_waves_rejects_bad_ranges_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.sine_waves(5, 2, 0, **kwargs)


@pytest.mark.parametrize("name", ["nope.txt", None, "../__init__.py"])
def test_load_corpus_names_the_corpora_there_are(name):
    """Only the shipped corpora: no FileNotFoundError, no TypeError, no file outside the corpus folder."""
    with pytest.raises(ValueError, match=r"unknown corpus .*, expected one of 'recurrent.txt'"):
        data.load_corpus(name)
