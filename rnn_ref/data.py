r"""Synthetic tasks and real text, made on the fly from a seed; nothing is downloaded.

Every generator takes ``rng``, a :class:`numpy.random.Generator` or an int seed,
and draws from it alone: no global seed, no file but the corpus shipped with the
package and the documentation that ships with Python itself
(:func:`load_python_docs`), no download.  The same seed gives the same batch.
Sequences are **time-major**: ``xs`` has shape ``(T, N, D)``.

=================  =========================================  ===================================
Task               Returns                                    Introduced by
=================  =========================================  ===================================
adding problem     ``xs`` (T, N, 2), ``ys`` (N,)              Hochreiter & Schmidhuber 1997
copy (memory)      ``xs`` (T, N, V), ``targets`` (T, N),      Hochreiter & Schmidhuber 1997;
                   ``scored`` (T, N)                          this form Arjovsky et al. 2016
sine waves         ``xs`` (T, N, 1), ``ys`` (T, N, 1)         folklore (see :func:`sine_waves`)
look-around tags   ``xs`` (T, N, V), ``tags`` (T, N),         written for this course
                   ``mask`` (T, N)
characters         ``inputs`` (T, N), ``targets`` (T, N)      Elman 1990 (next-symbol prediction)
character streams  the same, consecutive windows of N         Williams & Peng 1990 (truncated
                   streams (:func:`char_stream_batches`)      BPTT); Karpathy's min-char-rnn
=================  =========================================  ===================================

Each generator returns a :class:`~typing.NamedTuple`, so both
``xs, ys = adding_problem(...)`` and ``batch.xs`` work.

References
----------
- S. Hochreiter and J. Schmidhuber (1997). Long short-term memory.
  *Neural Computation* 9(8), 1735-1780.
- Q. V. Le, N. Jaitly and G. E. Hinton (2015). A simple way to initialize
  recurrent networks of rectified linear units. arXiv:1504.00941.
- M. Arjovsky, A. Shah and Y. Bengio (2016). Unitary evolution recurrent
  neural networks. *ICML*.
- J. L. Elman (1990). Finding structure in time. *Cognitive Science* 14(2), 179-211.
- R. J. Williams and J. Peng (1990). An efficient gradient-based algorithm for
  on-line training of recurrent network trajectories. *Neural Computation* 2(4), 490-501.
- A. Karpathy (2015). min-char-rnn.py, a character-level vanilla RNN in NumPy
  (gist.github.com/karpathy/d4dee566867f8291f086).
"""

import importlib
from importlib import resources
from typing import NamedTuple

import numpy as np

from .masks import lengths_to_mask

# --- helpers -----------------------------------------------------------------------------------


def as_rng(rng):
    """A :class:`numpy.random.Generator` from a generator or an int seed.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        ``None`` is refused on purpose: a batch must always be reproducible.

    Returns
    -------
    numpy.random.Generator
        ``rng`` itself, or a new generator seeded with it.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}")


def _positive_int(name, value, minimum=1):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _number(name, value, *, low=-np.inf):
    """A finite real number (not a bool) of at least ``low``, as a float."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (ok and low <= value < np.inf):
        raise ValueError(f"{name} must be a finite number >= {low}, got {value!r}")
    return float(value)


def _interval(name, value):
    """A pair ``(low, high)`` of finite numbers with ``low <= high``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    low, high = _number(f"{name}[0]", value[0]), _number(f"{name}[1]", value[1])
    if low > high:
        raise ValueError(f"{name} must be a pair (low, high) with low <= high, got {value!r}")
    return low, high


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype must be a floating dtype (float32 or float64), got {dtype}")
    return dtype


def one_hot(indices, V, dtype=np.float64, *, name="indices"):
    """One-hot encode integer indices.

    Parameters
    ----------
    indices : array_like of int, any shape ``S``, values in [0, V)
    V : int
        Number of classes (vocabulary size).
    dtype : floating dtype, optional
    name : str, optional
        How error messages call ``indices``.

    Returns
    -------
    ndarray, shape ``S + (V,)``
        ``out[..., k] = 1`` where ``indices[...] == k``, 0 elsewhere.
    """
    V = _positive_int("V", V)
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"{name} has dtype {indices.dtype}, expected integers in [0, V) = [0, {V})")
    if indices.size and (indices.min() < 0 or indices.max() >= V):
        raise ValueError(f"{name} must lie in [0, V) = [0, {V}), got min {indices.min()} and max {indices.max()}")
    return np.eye(V, dtype=_float_dtype(dtype))[indices]  # row k of the identity is the one-hot of k


# --- the adding problem --------------------------------------------------------------------------


class AddingBatch(NamedTuple):
    """A batch of the adding problem."""

    xs: np.ndarray  # (T, N, 2): channel 0 the values, channel 1 the two markers
    ys: np.ndarray  # (N,): the sum of the two marked values


def adding_problem(T, N, rng, *, dtype=np.float64):
    r"""The adding problem: add the two marked numbers of a long sequence.

    Parameters
    ----------
    T : int, at least 2
        Sequence length.
    N : int
        Batch size.
    rng : numpy.random.Generator or int
    dtype : floating dtype, optional

    Returns
    -------
    xs : ndarray, shape (T, N, 2)
        ``xs[:, n, 0]`` values drawn uniformly from [0, 1); ``xs[:, n, 1]`` is 1
        at exactly two steps (the markers) and 0 elsewhere.
    ys : ndarray, shape (N,)
        The sum of the two marked values.

    Notes
    -----
    Introduced by Hochreiter and Schmidhuber (1997, experiment 4); this is the
    simpler form of Le et al. (2015), used by most later papers: the first
    marker is uniform over the first half of the steps, ``[0, T//2)``, the
    second over the second half, ``[T//2, T)``, and

    .. math:: y = \sum_t x_{t,0}\, x_{t,1}.

    The original draws the values from [-1, 1], puts the first marker among
    the first ten steps and scales the target to :math:`0.5 + (X_1 + X_2)/4`.

    A model that ignores its input and always predicts the mean, 1, has an
    expected squared error of :math:`\operatorname{Var}(U_1 + U_2) = 2/12 = 1/6`:
    a model has learned something only below that line.
    """
    T = _positive_int("T", T, minimum=2)
    N = _positive_int("N", N)
    rng = as_rng(rng)
    dtype = _float_dtype(dtype)
    values = rng.random((T, N))  # (T, N) uniform in [0, 1)
    first = rng.integers(0, T // 2, size=N)  # (N,) marker in the first half
    second = rng.integers(T // 2, T, size=N)  # (N,) marker in the second half
    markers = np.zeros((T, N))
    markers[first, np.arange(N)] = 1.0
    markers[second, np.arange(N)] = 1.0
    xs = np.stack([values, markers], axis=-1).astype(dtype)  # (T, N, 2)
    ys = (values * markers).sum(axis=0).astype(dtype)  # (N,)
    return AddingBatch(xs, ys)


# --- the copy task -------------------------------------------------------------------------------


class CopyBatch(NamedTuple):
    """A batch of the copy task."""

    xs: np.ndarray  # (T, N, V) one-hot inputs
    targets: np.ndarray  # (T, N) int: blank, then the symbols to recall
    scored: np.ndarray  # (T, N) bool: the recall steps


def copy_task(seq_len, delay, N, rng, *, n_symbols=8, dtype=np.float64):
    r"""The copy (memory) task: read a few symbols, wait, write them back.

    Parameters
    ----------
    seq_len : int
        Number of symbols to remember (10 in Arjovsky et al.).
    delay : int, at least 1
        Steps between the end of the symbols and the start of the recall, the
        delimiter included (the :math:`T` of Arjovsky et al.).
    N : int
        Batch size.
    rng : numpy.random.Generator or int
    n_symbols : int, optional
        Size of the alphabet to remember (8 in Arjovsky et al.).
    dtype : floating dtype, optional

    Returns
    -------
    xs : ndarray, shape (T, N, V)
        One-hot inputs, with ``T = 2 * seq_len + delay`` and ``V = n_symbols + 2``.
    targets : ndarray of int64, shape (T, N)
        The symbol the model should write at every step.
    scored : ndarray of bool, shape (T, N)
        True at the last ``seq_len`` steps, the recall.  This is not a padding
        mask (every step is a real input): pass it to a loss, not to a cell.

    Notes
    -----
    Introduced by Hochreiter and Schmidhuber (1997); this is the form of
    Arjovsky et al. (2016).  Index 0 is the blank, 1 to ``n_symbols`` the
    symbols, ``n_symbols + 1`` the delimiter.  With :math:`S` = ``seq_len`` and
    :math:`L` = ``delay``::

        input   a1 .. aS  0 .. 0  :  0 .. 0      (L - 1 blanks, the delimiter, S blanks)
        target  0  .. 0   0 .. 0  0  a1 .. aS

    Arjovsky et al. score every step.  A model without memory that writes
    blanks and then guesses the symbols then scores a cross-entropy of
    :math:`S \log(n) / (2S + L)`, which shrinks as the delay grows; scored
    only at the recall steps (``scored``), the same model scores
    :math:`\log n` and its accuracy is :math:`1/n`.
    """
    seq_len = _positive_int("seq_len", seq_len)
    delay = _positive_int("delay", delay)
    N = _positive_int("N", N)
    n_symbols = _positive_int("n_symbols", n_symbols)
    rng = as_rng(rng)
    blank, delimiter = 0, n_symbols + 1
    T, V = 2 * seq_len + delay, n_symbols + 2
    symbols = rng.integers(1, n_symbols + 1, size=(seq_len, N))  # (S, N) values in 1..n
    tokens = np.full((T, N), blank, dtype=np.int64)
    tokens[:seq_len] = symbols
    tokens[seq_len + delay - 1] = delimiter
    targets = np.full((T, N), blank, dtype=np.int64)
    targets[seq_len + delay :] = symbols
    scored = np.zeros((T, N), dtype=bool)
    scored[seq_len + delay :] = True
    return CopyBatch(one_hot(tokens, V, dtype), targets, scored)


# --- sine waves ----------------------------------------------------------------------------------


class SineBatch(NamedTuple):
    """A batch of sine waves for next-value prediction."""

    xs: np.ndarray  # (T, N, 1): the wave at steps 0 .. T-1
    ys: np.ndarray  # (T, N, 1): the wave at steps 1 .. T


def sine_waves(T, N, rng, *, omega=(0.1, 0.5), amplitude=(0.5, 1.0), noise=0.0, dtype=np.float64):
    r"""Sine waves of random frequency, amplitude and phase, for next-value prediction.

    Parameters
    ----------
    T : int
        Sequence length.
    N : int
        Batch size (one wave per sequence).
    rng : numpy.random.Generator or int
    omega : (float, float), optional
        Range of the angular frequency, in radians per step.
    amplitude : (float, float), optional
        Range of the amplitude.
    noise : float, optional
        Standard deviation of Gaussian noise added to the observed wave.
    dtype : floating dtype, optional

    Returns
    -------
    xs : ndarray, shape (T, N, 1)
        :math:`s_t` for :math:`t = 0, \dots, T-1`.
    ys : ndarray, shape (T, N, 1)
        :math:`s_{t+1}`: ``ys[t] == xs[t + 1]`` for ``t < T - 1``.

    Notes
    -----
    .. math:: s_t = A \sin(\omega t + \varphi) + \epsilon_t, \quad
        \omega \sim U(\omega_{\min}, \omega_{\max}),\
        A \sim U(A_{\min}, A_{\max}),\ \varphi \sim U(0, 2\pi),\
        \epsilon_t \sim \mathcal{N}(0, \sigma^2)

    No single paper introduced this task: it is a warm-up used in countless
    tutorials.  Training a network to predict the next element of its own
    input goes back to Elman (1990).  One value does not determine the next
    (a rising and a falling wave pass through the same value), so the model
    must keep the phase and the frequency in its state.
    """
    T = _positive_int("T", T)
    N = _positive_int("N", N)
    rng = as_rng(rng)
    dtype = _float_dtype(dtype)
    noise = _number("noise", noise, low=0.0)
    omega, amplitude = _interval("omega", omega), _interval("amplitude", amplitude)
    w = rng.uniform(omega[0], omega[1], size=N)  # (N,)
    A = rng.uniform(amplitude[0], amplitude[1], size=N)  # (N,)
    phi = rng.uniform(0.0, 2 * np.pi, size=N)  # (N,)
    t = np.arange(T + 1)[:, None]  # (T + 1, 1)
    s = A * np.sin(w * t + phi)  # (T + 1, N)
    if noise:
        s = s + noise * rng.standard_normal(s.shape)
    s = s[:, :, None].astype(dtype)  # (T + 1, N, 1)
    return SineBatch(s[:-1].copy(), s[1:].copy())


# --- a tagging task that needs the future ---------------------------------------------------------


class TaggingBatch(NamedTuple):
    """A batch of the look-around tagging task."""

    xs: np.ndarray  # (T, N, V) one-hot tokens, zero at padding
    tags: np.ndarray  # (T, N) int in [0, V + 2), 0 at padding
    mask: np.ndarray  # (T, N) bool, True at the first lengths[n] steps


def look_around_tagging(T, N, rng, *, n_symbols=4, min_length=None, dtype=np.float64):
    r"""Tag every token with its left or right neighbour: a task that needs the future.

    Parameters
    ----------
    T : int
        Padded length (the longest sequence).
    N : int
        Batch size.
    rng : numpy.random.Generator or int
    n_symbols : int, even, at least 2
        Vocabulary size ``V``.
    min_length : int, optional
        Shortest sequence; lengths are uniform in ``[min_length, T]``.
        Default ``max(1, T // 2)``.
    dtype : floating dtype, optional

    Returns
    -------
    xs : ndarray, shape (T, N, V)
        One-hot tokens, drawn uniformly from ``V`` symbols; all zero at padding.
    tags : ndarray of int64, shape (T, N), values in [0, V + 2)
        The tag of every token (0 at padding, where it must not be scored).
    mask : ndarray of bool, shape (T, N)
        True at the valid steps (left-aligned; ``mask.sum(0)`` are the lengths).

    Notes
    -----
    Written for this course.  Symbols ``0 .. V/2 - 1`` *look back*, symbols
    ``V/2 .. V - 1`` *look ahead*.  With :math:`L` the sequence's length, the tag
    of the token :math:`x_t` is

    .. math::
        y_t = \begin{cases}
            x_{t-1} & x_t \text{ looks back and } t > 0 \\
            \text{START} = V & x_t \text{ looks back and } t = 0 \\
            x_{t+1} & x_t \text{ looks ahead and } t < L - 1 \\
            \text{END} = V + 1 & x_t \text{ looks ahead and } t = L - 1
        \end{cases}

    **A left-to-right model is at chance on half of it.**  At a look-ahead
    token that is not the last, the tag is :math:`x_{t+1}`, drawn uniformly
    and independently of :math:`x_0, \dots, x_t`, the only tokens such a model
    has read.  Whatever it predicts, its expected accuracy on these steps is at
    most :math:`1/V` (exactly :math:`1/V` if it predicts a symbol, 0 if it
    predicts START or END).  It can be right on every look-back token, and it
    can only guess the END tag from the distribution of lengths.  Half the
    tokens look ahead, so its accuracy is at most :math:`1/2 + 1/(2V)` (0.625
    for ``V = 4``) plus what guessing END near the end gains;
    :func:`look_around_ceiling` gives the exact figure.  A right-to-left
    model fails on the look-back half in the same way.

    **A bidirectional model can reach 100 %.**  At step :math:`t` its forward
    direction has just read :math:`x_{t-1}` (or knows it is at the start), its
    backward direction has just read :math:`x_{t+1}` (or knows it starts at the
    sequence's own end), and both see :math:`x_t`, which says which neighbour
    to copy: every tag is a function of what the two directions hold.
    """
    T = _positive_int("T", T)
    N = _positive_int("N", N)
    V = _positive_int("n_symbols", n_symbols, minimum=2)
    if V % 2:
        raise ValueError(f"n_symbols must be even (half look back, half look ahead), got {V}")
    min_length = max(1, T // 2) if min_length is None else _positive_int("min_length", min_length)
    if min_length > T:
        raise ValueError(f"min_length must be at most T = {T}, got {min_length}")
    rng = as_rng(rng)
    lengths = rng.integers(min_length, T + 1, size=N)  # (N,)
    mask = lengths_to_mask(lengths, T)  # (T, N)
    tokens = rng.integers(0, V, size=(T, N))  # (T, N)

    prev = np.vstack([np.full((1, N), V), tokens[:-1]])  # (T, N): x_{t-1}, START at t = 0
    nxt = np.vstack([tokens[1:], np.zeros((1, N), dtype=tokens.dtype)])  # (T, N): x_{t+1}
    is_last = np.arange(T)[:, None] == lengths[None, :] - 1  # (T, N)
    nxt = np.where(is_last, V + 1, nxt)  # END at each sequence's own last step
    tags = np.where(tokens < V // 2, prev, nxt)  # (T, N)

    tags = np.where(mask, tags, 0).astype(np.int64)
    xs = one_hot(tokens, V, dtype) * mask[:, :, None]  # zero input at padding
    return TaggingBatch(xs, tags, mask)


def look_around_ceiling(T, *, n_symbols=4, min_length=None):
    r"""The best expected accuracy of a left-to-right model on :func:`look_around_tagging`.

    Parameters
    ----------
    T, n_symbols, min_length
        As for :func:`look_around_tagging`.

    Returns
    -------
    float
        Expected number of correct tags over expected number of valid steps,
        for the best predictor that sees only :math:`x_0, \dots, x_t` (and so
        knows :math:`t`).  A bidirectional model can reach 1.

    Notes
    -----
    With lengths :math:`L` uniform on ``[min_length, T]``, a valid step
    :math:`t` is the last with probability
    :math:`q_t = P(L = t + 1) / P(L > t)`.  A look-back token's tag is known
    (accuracy 1); a look-ahead token's tag is END with probability
    :math:`q_t` and each symbol with probability :math:`(1 - q_t)/V`, so the
    best guess is right with probability :math:`\max(q_t, (1 - q_t)/V)`.
    Half the tokens look each way:

    .. math::
        \text{ceiling} = \frac{\sum_t P(L > t)\,
            \big(\tfrac12 + \tfrac12 \max(q_t, (1 - q_t)/V)\big)}{\sum_t P(L > t)}
    """
    T = _positive_int("T", T)
    V = _positive_int("n_symbols", n_symbols, minimum=2)
    m = max(1, T // 2) if min_length is None else _positive_int("min_length", min_length)
    if m > T:
        raise ValueError(f"min_length must be at most T = {T}, got {m}")
    t = np.arange(T)
    survive = (T - np.maximum(m, t + 1) + 1) / (T - m + 1)  # P(L > t) = P(L >= t + 1)
    q = np.where(t + 1 >= m, 1 / (T - m + 1), 0.0) / survive  # P(L = t + 1 | L > t)
    per_step = 0.5 + 0.5 * np.maximum(q, (1 - q) / V)
    return float(np.sum(survive * per_step) / np.sum(survive))


# --- characters ----------------------------------------------------------------------------------


def load_corpus(name="recurrent.txt"):
    """The text of a corpus shipped in :mod:`rnn_ref.corpus`, without its header.

    Parameters
    ----------
    name : str, optional
        File name inside the package ``rnn_ref.corpus``; any other name
        raises ``ValueError`` listing the corpora there are.

    Returns
    -------
    text : str
        The file's text after its leading ``#`` header lines.

    Notes
    -----
    Read with :mod:`importlib.resources`, so it works from an installed wheel
    as well as from a source checkout.
    """
    corpus = resources.files("rnn_ref.corpus")
    names = sorted(item.name for item in corpus.iterdir() if item.name.endswith(".txt"))
    if name not in names:
        raise ValueError(f"unknown corpus {name!r}, expected one of {', '.join(map(repr, names))}")
    raw = corpus.joinpath(name).read_text(encoding="utf-8")
    lines = raw.splitlines(keepends=True)
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        start += 1
    return "".join(lines[start:])


def load_python_docs():
    """Real English text that every Python installation has: the documentation topics of CPython.

    CPython ships the text of its language reference's topics (the pages that
    ``help("assert")`` or ``help("if")`` prints) in the standard-library module
    :mod:`pydoc_data.topics`: about half a million characters of technical
    English with code examples, the same on every machine with the same Python
    version, read without a network.

    Returns
    -------
    text : str
        Every topic, in the sorted order of their names, each followed by a
        newline.  Its length and its characters depend on the Python version
        (465,049 characters and 103 distinct ones for Python 3.11.7).

    Raises
    ------
    ValueError
        If this Python was installed without :mod:`pydoc_data` (some minimal
        distributions strip it); the message says so.

    Notes
    -----
    Meant for character-level language models, where the few kilobytes of
    :func:`load_corpus` are too short for a held-out set.
    """
    try:
        topics = importlib.import_module("pydoc_data.topics").topics
    except ImportError as error:  # pragma: no cover - depends on how Python was installed
        raise ValueError(
            "this Python has no pydoc_data.topics (a minimal installation?): "
            "load_python_docs needs the standard library's documentation topics"
        ) from error
    return "".join(topics[name].rstrip("\n") + "\n" for name in sorted(topics))


class Vocabulary:
    """The characters of a text, each with an index.

    Parameters
    ----------
    text : str
        Every character of it gets an index, in sorted order.

    Attributes
    ----------
    chars : list of str, length V
        ``chars[k]`` is the character of index ``k``.
    index : dict of str to int
        The inverse: ``index[chars[k]] == k``.
    """

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        self.chars = sorted(set(text))
        self.index = {ch: k for k, ch in enumerate(self.chars)}

    def __len__(self):
        """V, the number of characters."""
        return len(self.chars)

    def __repr__(self):
        return f"Vocabulary(V={len(self)})"

    def encode(self, text):
        """Indices of the characters of ``text``: ndarray of int64, shape (len(text),)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ValueError(f"text has characters not in the vocabulary: {unknown}")
        return np.array([self.index[ch] for ch in text], dtype=np.int64)

    def decode(self, indices):
        """The text of a sequence of indices, each in [0, V)."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"indices has shape {indices.shape} and dtype {indices.dtype}, expected (n,) integers")
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise ValueError(f"indices must lie in [0, V) = [0, {len(self)}), got {indices.min()} .. {indices.max()}")
        return "".join(self.chars[k] for k in indices)


class CharBatch(NamedTuple):
    """A batch of windows of text for next-character prediction."""

    inputs: np.ndarray  # (T, N) int: the characters of each window
    targets: np.ndarray  # (T, N) int: the next character of each


def _codes(text, vocab):
    """``text`` as an (n,) array of symbol codes: a str encoded by ``vocab`` (or its own vocabulary), or codes."""
    if isinstance(text, str):
        return (vocab if vocab is not None else Vocabulary(text)).encode(text)
    codes = np.asarray(text)
    if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"text has shape {codes.shape} and dtype {codes.dtype}, expected a str or (n,) integers")
    return codes


def char_batches(text, T, N, rng, *, vocab=None):
    r"""Random windows of a text, with the next character of every step as target.

    Parameters
    ----------
    text : str or array_like of int
        The corpus, as a string or already encoded.
    T : int
        Window length (steps of truncated backpropagation through time).
    N : int
        Batch size (number of windows).
    rng : numpy.random.Generator or int
    vocab : Vocabulary, optional
        Encodes a string ``text``; default ``Vocabulary(text)``.

    Returns
    -------
    inputs : ndarray of int64, shape (T, N)
        ``inputs[t, n] = c[s_n + t]`` with ``c`` the encoded text and ``s_n``
        a start drawn uniformly from ``[0, len(c) - T - 1]``.
    targets : ndarray of int64, shape (T, N)
        ``targets[t, n] = c[s_n + t + 1]``: the same window shifted by one.

    Notes
    -----
    Each call draws one batch; call it again (with the same ``rng``) for the next.
    Next-symbol prediction as a training task for recurrent networks goes back
    to Elman (1990).
    """
    codes = _codes(text, vocab)
    T = _positive_int("T", T)
    N = _positive_int("N", N)
    rng = as_rng(rng)
    if len(codes) < T + 1:
        raise ValueError(f"text has {len(codes)} characters, expected at least T + 1 = {T + 1}")
    starts = rng.integers(0, len(codes) - T, size=N)  # (N,), last window ends at the last character
    index = starts[None, :] + np.arange(T)[:, None]  # (T, N)
    return CharBatch(codes[index].astype(np.int64), codes[index + 1].astype(np.int64))


def char_stream_batches(text, T, N, *, vocab=None):
    r"""Consecutive windows of ``N`` parallel streams of a text: one pass of stateful truncated BPTT.

    The text is cut into ``N`` contiguous streams of equal length, side by
    side, and each is read in windows of ``T`` characters, in order.  Window
    ``j + 1`` of stream ``n`` starts where window ``j`` ended, so the final
    hidden state of one window is the right initial state of the next: a
    model that carries its state from window to window (and stops only the
    gradient at the boundary) reads every stream as one long sequence.  This
    is how Karpathy's min-char-rnn walks through its text (with ``N = 1``),
    and PyTorch's word-language-model example ("batchify").

    Parameters
    ----------
    text : str or array_like of int
        The corpus, as a string or already encoded.
    T : int
        Window length: the truncation length of BPTT.
    N : int
        Number of streams (the batch size).
    vocab : Vocabulary, optional
        Encodes a string ``text``; default ``Vocabulary(text)``.

    Returns
    -------
    windows : list of CharBatch
        Each has ``inputs`` and ``targets`` of shape ``(T, N)`` (int64, views
        of one array holding the streams): with ``c`` the
        encoded text and ``L = (len(c) - 1) // N`` the length of a stream,
        ``inputs[t, n] = c[n L + j T + t]`` in window ``j`` and ``targets`` is
        the same shifted by one character.  The list holds the ``L // T`` full
        windows of one pass, in order; the ``L mod T`` characters left over at
        the end of each stream are not read.

    Raises
    ------
    ValueError
        When a stream is too short for one window (``L < T``).
    """
    codes = _codes(text, vocab)
    T = _positive_int("T", T)
    N = _positive_int("N", N)
    L = (len(codes) - 1) // N  # characters per stream; the last one's successor is still in the text
    if L < T:
        raise ValueError(f"text has {len(codes)} characters: N = {N} streams of {L} are too short for T = {T}")
    # streams[s, n] = c[n L + s] for s <= L: column n is stream n, one extra row for the last target
    streams = codes[np.arange(N)[None, :] * L + np.arange(L + 1)[:, None]].astype(np.int64)  # (L + 1, N)
    return [CharBatch(streams[s : s + T], streams[s + 1 : s + T + 1]) for s in range(0, L - T + 1, T)]
