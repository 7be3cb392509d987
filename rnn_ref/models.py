r"""The small models the chapters train, on top of any cell.

Every model keeps its parameters in **one flat dict** of arrays, so one
optimizer (:mod:`rnn_ref.optim`), one clipper (:mod:`rnn_ref.clip`) and one
gradient checker (:mod:`rnn_ref.gradcheck`) serve them all:

* the cell's own keys, ``W_x``, ``W_h``, ``b`` (plus ``b_hn`` for a GRU with
  ``reset_after=True``, ``p_i, p_f, p_o`` for the peephole LSTM);
* a linear read-out ``W_y`` (K, H) and ``b_y`` (K,) on the hidden states;
* a bidirectional model prefixes the keys of its two cells: ``"fwd.W_x"``,
  ``"bwd.W_x"``, ... and reads out ``W_y`` (K, 2H) (``merge="concat"``) or
  (K, H) (``"sum"``, ``"mean"``).

=========================  ============================  =================================
Model                      Output                        Loss
=========================  ============================  =================================
per-step tagger            logits (T, N, K)              softmax cross-entropy per step
character language model   the tagger on one-hot chars   the same, targets shifted by one;
                                                         stateful windows (truncated BPTT)
last-state model           (N, K) from the final state   mean squared error or cross-entropy
bidirectional tagger       logits (T, N, K)              softmax cross-entropy per step
=========================  ============================  =================================

Each model has ``init_<model>(...) -> params`` and ``<model>_loss(params, *batch,
cell=...) -> (loss, grads)``, where ``batch`` is what :mod:`rnn_ref.data` returns,
so ``tagger_loss(params, *look_around_tagging(T, N, rng), cell="gru")`` works.
The copy task is the exception: its ``scored`` steps are not padding, so pass
them as ``loss_mask``:
``tagger_loss(params, batch.xs, batch.targets, loss_mask=batch.scored, cell="lstm")``.
``cell`` is ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``; a GRU runs with
``reset_after=True`` exactly when its params hold ``b_hn``.
"""

from typing import NamedTuple

import numpy as np

from . import bidirectional, cells, init, losses
from ._checks import Dims, as_array, check_mask
from .clip import clip_grad_norm
from .data import Vocabulary, as_rng, char_batches, char_stream_batches, one_hot
from .masks import mask_to_lengths
from .optim import Adam

_HEAD = ("W_y", "b_y")  # the read-out; every other key belongs to a cell


# --- shared pieces -------------------------------------------------------------------------------


def _check_head(params):
    """``params`` must be a dict holding the read-out ``W_y`` and ``b_y``."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of arrays, got {type(params).__name__}")
    for key in _HEAD:
        if key not in params:
            raise ValueError(f"params has keys {sorted(params)}, expected a read-out {key!r} among them")


def _cell_params(params, prefix=""):
    """The cell's dict: keys starting with ``prefix`` (prefix removed), read-out excluded."""
    _check_head(params)
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix) and k not in _HEAD}


def _cell_kwargs(cell_params):
    """``reset_after=True`` for a GRU whose params hold ``b_hn``; nothing otherwise."""
    return {"reset_after": True} if "b_hn" in cell_params else {}


def _init_head(K, H_out, rng, dtype):
    """Read-out ``W_y`` (K, H_out), Xavier uniform, and ``b_y`` (K,) zeros."""
    return {"W_y": init.xavier_uniform((K, H_out), rng, dtype), "b_y": np.zeros(K, dtype=dtype)}


def _head_forward(params, hs):
    r"""Logits :math:`y = W_y h + b_y`: ``hs`` (..., H) to (..., K)."""
    W_y = Dims().array("params['W_y']", params["W_y"], ("K", "H"))  # an array of rank 2 and a floating dtype
    b_y = Dims().array("params['b_y']", params["b_y"], ("K",))
    if hs.shape[-1] != W_y.shape[1] or b_y.shape != W_y.shape[:1]:
        raise ValueError(
            f"params['W_y'] has shape {W_y.shape} and params['b_y'] {b_y.shape}, "
            f"expected (K, {hs.shape[-1]}) and (K,) to read out hidden states of size {hs.shape[-1]}"
        )
    if W_y.dtype != hs.dtype or b_y.dtype != hs.dtype:
        raise ValueError(
            f"params['W_y'] has dtype {W_y.dtype} and params['b_y'] {b_y.dtype} but the hidden states have "
            f"dtype {hs.dtype}: all parameters must share one dtype (cast them with .astype)"
        )
    return hs @ W_y.T + b_y  # (..., K)


def _head_backward(params, dlogits, hs):
    """Gradients of the read-out, and the gradient sent back to ``hs``."""
    W_y = np.asarray(params["W_y"])  # checked by _head_forward
    K, H = W_y.shape
    dflat = dlogits.reshape(-1, K)  # (steps, K)
    grads = {"W_y": dflat.T @ hs.reshape(-1, H), "b_y": dflat.sum(axis=0)}  # (K, H), (K,)
    return grads, dlogits @ W_y  # (..., H)


def _check_padding(mask):
    """A cell's mask marks padding at the end of each sequence; anything else is a mistake."""
    if mask is None or np.ndim(mask) != 2:
        return  # no mask, or one of the wrong shape, which the cell reports
    mask = check_mask(mask, *np.shape(mask))  # a wrong dtype is reported as it is
    try:
        mask_to_lengths(mask)
    except ValueError as error:  # what is left: a valid step after a padded one
        raise ValueError(f"{error}; to score only some steps (the copy task's scored), pass it as loss_mask=") from None


def _check_targets(name, targets, shape, letters, K, scored=None):
    """Integer classes in [0, K) of ``shape`` (only at ``scored`` steps), named as the caller's argument."""
    targets = as_array(name, targets)
    if targets.shape != shape:
        raise ValueError(f"{name} has shape {targets.shape}, expected {letters} = {shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"{name} has dtype {targets.dtype}, expected integer class indices")
    bad = (targets < 0) | (targets >= K)
    if scored is not None:
        bad &= scored  # padded and unscored steps may hold anything (-100, for example)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}[{', '.join(map(str, index))}] = {targets[index]}, expected a class in [0, K) = [0, {K})"
        )
    return targets


def _scored(mask, loss_mask):
    """Steps that count in the loss: valid (``mask``) and asked for (``loss_mask``)."""
    if mask is None:
        return loss_mask
    if loss_mask is None:
        return mask
    return np.logical_and(mask, loss_mask)


# --- per-step tagger -----------------------------------------------------------------------------


def init_tagger(cell, D, K, H, rng, dtype=np.float64, *, reset_after=False, forget_bias=1.0):
    """Parameters of a per-step tagger: one cell and a read-out to ``K`` classes.

    Parameters
    ----------
    cell : str
    D : int
        Input size.
    K : int
        Number of tags (classes).
    H : int
        Hidden size.
    rng : numpy.random.Generator or int
    dtype : float32 or float64
    reset_after, forget_bias
        Passed to :func:`rnn_ref.init.init_params`.

    Returns
    -------
    params : dict
        The cell's keys and ``W_y`` (K, H), ``b_y`` (K,).
    """
    rng = as_rng(rng)
    params = init.init_params(cell, D, H, rng, dtype, forget_bias=forget_bias, reset_after=reset_after)
    return {**params, **_init_head(K, H, rng, dtype)}


def tagger_logits(params, xs, mask=None, *, cell):
    r"""Logits of every step of a per-step tagger.

    Parameters
    ----------
    params : dict
        From :func:`init_tagger`.
    xs : ndarray, shape (T, N, D)
    mask : ndarray of bool, shape (T, N), optional
        Valid steps (left-aligned padding).
    cell : str

    Returns
    -------
    logits : ndarray, shape (T, N, K)
        :math:`a_t = W_y h_t + b_y`, with :math:`h_t` the cell's output.
    """
    _check_padding(mask)
    cell_params = _cell_params(params)
    hs, _, _ = cells.sequence_forward(cell, xs, None, cell_params, mask, **_cell_kwargs(cell_params))
    return _head_forward(params, hs)


def tagger_loss(params, xs, tags, mask=None, *, cell, loss_mask=None):
    r"""Mean cross-entropy of a per-step tagger, and its gradients.

    Parameters
    ----------
    params : dict
        From :func:`init_tagger`.
    xs : ndarray, shape (T, N, D)
    tags : ndarray of int, shape (T, N), values in [0, K) at scored steps
        (anything, ``-100`` for example, elsewhere)
    mask : ndarray of bool, shape (T, N), optional
        Valid steps: padding is carried by the cell and not scored.
    cell : str
    loss_mask : ndarray of bool, shape (T, N), optional
        Scores only these steps, without changing what the cell reads (the
        recall steps of :func:`rnn_ref.data.copy_task`).

    Returns
    -------
    loss : float
    grads : dict
        Same keys, shapes and dtypes as ``params``.

    Notes
    -----
    With :math:`M` scored steps and :math:`p_t = \operatorname{softmax}(W_y h_t + b_y)`:

    .. math::
        L = -\frac{1}{M} \sum_{\text{scored } (t, n)} \log p_{t,n}[y_{t,n}], \qquad
        \frac{\partial L}{\partial h_t} = W_y^\top \frac{\partial L}{\partial a_t}

    and BPTT (:func:`rnn_ref.cells.sequence_backward`) takes
    :math:`\partial L / \partial h_t` of every step back to the weights.
    """
    loss, grads, _ = _tagger_loss_from(params, xs, tags, None, mask, cell=cell, loss_mask=loss_mask)
    return loss, grads


def _tagger_loss_from(params, xs, tags, state0, mask=None, *, cell, loss_mask=None):
    """:func:`tagger_loss` started from ``state0``; also returns the final state (a tuple of (N, H) arrays)."""
    _check_padding(mask)
    cell_params = _cell_params(params)
    hs, state_last, cache = cells.sequence_forward(cell, xs, state0, cell_params, mask, **_cell_kwargs(cell_params))
    logits = _head_forward(params, hs)  # (T, N, K)
    scored = _scored(cache.mask, check_mask(loss_mask, *hs.shape[:2], name="loss_mask"))
    tags = _check_targets("tags", tags, hs.shape[:2], "(T, N)", logits.shape[-1], scored)
    loss, dlogits = losses.softmax_cross_entropy(logits, tags, scored)
    grads, dhs = _head_backward(params, dlogits, hs)
    _, _, cell_grads = cells.sequence_backward(cell, dhs, cache)  # no gradient for state0: truncated here
    return loss, {**cell_grads, **grads}, state_last


# --- character-level language model --------------------------------------------------------------


def init_char_lm(cell, V, H, rng, dtype=np.float64, *, reset_after=False, forget_bias=1.0):
    """Parameters of a character-level language model: a tagger from ``V`` characters to ``V``.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    V : int
        Vocabulary size: one-hot inputs of size V, V output classes.
    H : int
        Hidden size.
    rng : numpy.random.Generator or int
    dtype : numpy dtype
    reset_after : bool
        GRU only: the PyTorch candidate (adds ``b_hn``).
    forget_bias : float
        LSTM and peephole only: initial bias of the forget gate.

    Returns
    -------
    params : dict
        The cell's keys with ``W_x`` (G*H, V), and ``W_y`` (V, H), ``b_y`` (V,).
    """
    return init_tagger(cell, V, V, H, rng, dtype, reset_after=reset_after, forget_bias=forget_bias)


def _char_inputs(params, inputs, name="inputs"):
    """One-hot ``inputs`` (T, N) -> (T, N, V), in the dtype of the params."""
    _check_head(params)
    V = params["W_y"].shape[0]
    if "W_x" in params and params["W_x"].shape[-1] != V:
        raise ValueError(
            f"params['W_x'] has shape {params['W_x'].shape}, expected (G*H, V) with V = {V} "
            "(W_y's rows): a language model reads and predicts the same characters"
        )
    return one_hot(inputs, V, params["W_y"].dtype, name=name)


def char_lm_loss(params, inputs, targets, *, cell):
    r"""Mean next-character cross-entropy, and its gradients.

    Parameters
    ----------
    params : dict
        From :func:`init_char_lm`.
    inputs : ndarray of int, shape (T, N), values in [0, V)
    targets : ndarray of int, shape (T, N)
        The next character of every step (:func:`rnn_ref.data.char_batches`).
    cell : str

    Returns
    -------
    loss : float
        In nats per character; :math:`\log V` is a uniform guess.
    grads : dict

    Notes
    -----
    :func:`tagger_loss` on :math:`x_t = \operatorname{onehot}(c_t)` with tags
    :math:`c_{t+1}`: :math:`L = -\frac{1}{TN}\sum_{t,n} \log p_{t,n}[c_{t+1}]`.
    """
    return tagger_loss(params, _char_inputs(params, inputs), targets, cell=cell)


def char_lm_window_loss(params, inputs, targets, state0=None, *, cell):
    r"""One window of stateful truncated BPTT: the loss and gradients from ``state0``, and the state after it.

    Parameters
    ----------
    params : dict
        From :func:`init_char_lm`.
    inputs : ndarray of int, shape (T, N), values in [0, V)
    targets : ndarray of int, shape (T, N)
        One window of each of ``N`` streams (:func:`rnn_ref.data.char_stream_batches`).
    state0 : tuple of ndarray (N, H), optional
        The state the window starts from, ``(h,)`` or ``(h, c)``: the
        ``state_last`` of the previous window of the same streams.  None
        means zeros (the start of a stream).
    cell : str

    Returns
    -------
    loss : float
        Mean cross-entropy of the window, in nats per character.
    grads : dict
        Gradients of ``loss`` with respect to ``params``, by BPTT inside the
        window only: ``state0`` is treated as a constant.
    state_last : tuple of ndarray (N, H)
        The state after the window's last character, to pass as ``state0``
        of the next window.

    Notes
    -----
    With windows :math:`w = 1, 2, \dots` of :math:`k` steps, the forward pass
    carries the state, :math:`h^{(w)}_0 = h^{(w-1)}_k`, as in
    min-char-rnn, and the backward pass stops at the window's start:
    :math:`dL^{(w)} / dh^{(w)}_0` is never used.  With ``state0=None`` this
    is :func:`char_lm_loss`.
    """
    return _tagger_loss_from(params, _char_inputs(params, inputs), targets, state0, cell=cell)


def evaluate_char_lm(params, text, *, cell, vocab=None, N=16):
    r"""Mean next-character cross-entropy of a model on a text it reads as ``N`` long streams.

    Parameters
    ----------
    params : dict
        From :func:`init_char_lm`.
    text : str or array_like of int
        Held-out text (a str needs ``vocab``, the model's vocabulary).
    cell : str
    vocab : Vocabulary, optional
    N : int, optional
        The text is cut into ``N`` contiguous streams (as
        :func:`rnn_ref.data.char_stream_batches` does), read side by side in
        one forward pass each from a zero state, with no truncation.

    Returns
    -------
    loss : float
        :math:`-\frac{1}{M} \sum \log p(c_{s+1} \mid c_{\le s})` over the
        :math:`M = N L` predicted characters, in nats per character;
        :math:`e^{\text{loss}}` is the perplexity.

    Notes
    -----
    Only the first characters of each stream are predicted with less
    context than the rest, so the result is close to that of one pass over
    the whole text (``N = 1``), and ``N`` times faster.
    """
    if isinstance(text, str):
        if vocab is None:
            raise ValueError("text is a str, so vocab is needed to encode it")
        text = vocab.encode(text)
    codes = as_array("text", text)
    if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"text has shape {codes.shape} and dtype {codes.dtype}, expected a str or (n,) integers")
    L = (len(codes) - 1) // N  # every stream as one window of L characters
    (inputs, targets), *_ = char_stream_batches(codes, L, N)  # a single window
    return tagger_loss(params, _char_inputs(params, inputs), targets, cell=cell)[0]


def sample(params, start, n, rng, *, cell, temperature=1.0, vocab=None):
    r"""Generate ``n`` characters, one at a time, each fed back as the next input.

    Parameters
    ----------
    params : dict
        From :func:`init_char_lm`.
    start : str or array_like of int, at least one character
        The prompt; a str needs ``vocab``.
    n : int
        Number of characters to generate.
    rng : numpy.random.Generator or int
    cell : str
    temperature : float, optional
        :math:`\tau > 0` divides the logits: below 1 sharper, above 1 flatter;
        0 takes the most likely character every time (greedy).
    vocab : Vocabulary, optional
        When given, the result is decoded to a str.

    Returns
    -------
    str, or ndarray of int64 of shape (n,)
        The generated characters (without the prompt).

    Notes
    -----
    The prompt is read in one sequence forward; then, for each new character,

    .. math:: p = \operatorname{softmax}\big((W_y h_t + b_y) / \tau\big), \quad
        c_{t+1} \sim p, \quad h_{t+1} = \mathrm{cell}(\operatorname{onehot}(c_{t+1}), h_t)

    Drawn by inverse CDF, :math:`c = \min\{k : \sum_{j \le k} p_j > u\}` with
    :math:`u \sim U(0, 1)`, so the same ``rng`` gives the same text.
    """
    rng = as_rng(rng)
    if isinstance(start, str):
        if vocab is None:
            raise ValueError("start is a str, so vocab is needed to encode it")
        start = vocab.encode(start)
    start = as_array("start", start)
    if start.ndim != 1 or start.size == 0:
        raise ValueError(f"start has shape {start.shape}, expected (n0,) with at least one character")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    number = isinstance(temperature, (int, float, np.integer, np.floating)) and not isinstance(temperature, bool)
    if not (number and 0 <= temperature < np.inf):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    cell_params = _cell_params(params)
    kwargs = _cell_kwargs(cell_params)

    xs = _char_inputs(params, start[:, None], name="start")  # (n0, 1, V)
    hs, state, _ = cells.sequence_forward(cell, xs, None, cell_params, **kwargs)
    out = np.empty(n, dtype=np.int64)
    for k in range(n):
        logits = _head_forward(params, hs[-1, 0]).astype(np.float64)  # (V,)
        if temperature == 0:
            out[k] = np.argmax(logits)
        else:
            z = logits / temperature
            p = np.exp(z - z.max())  # (V,)
            cdf = np.cumsum(p / p.sum())
            out[k] = min(np.searchsorted(cdf, rng.random(), side="right"), len(cdf) - 1)
        x = _char_inputs(params, out[k : k + 1, None])  # (1, 1, V)
        hs, state, _ = cells.sequence_forward(cell, x, state, cell_params, **kwargs)
    return vocab.decode(out) if vocab is not None else out


class TrainedCharLM(NamedTuple):
    """What :func:`train_char_lm` returns."""

    params: dict
    vocab: Vocabulary
    losses: np.ndarray  # (steps,): the training loss of every step, before its update


def train_char_lm(
    text,
    cell="lstm",
    H=64,
    steps=300,
    T=25,
    N=16,
    lr=1e-2,
    seed=0,
    clip=5.0,
    *,
    dtype=np.float64,
    reset_after=False,
    stateful=False,
):
    r"""Train a character-level language model on ``text``, in one line.

    Parameters
    ----------
    text : str
    cell : str
    H : int
        Hidden size.
    steps : int
        Number of updates.
    T, N : int
        Window length and batch size of :func:`rnn_ref.data.char_batches`.
    lr : float
        Adam's learning rate.
    seed : int
        Seeds the initial parameters and the batches: same seed, same model.
    clip : float or None
        Global gradient norm cap (:func:`rnn_ref.clip.clip_grad_norm`); None
        does not clip.
    dtype, reset_after
        Of the parameters; ``reset_after`` for the GRU.
    stateful : bool, optional
        False (the default): every window starts from a zero state at a
        random place in the text (:func:`rnn_ref.data.char_batches`).  True:
        stateful truncated BPTT, as in min-char-rnn: the text is read as
        ``N`` streams in consecutive windows
        (:func:`rnn_ref.data.char_stream_batches`), each window starts from
        the state the previous one ended in (only the gradient stops at the
        boundary), and the state is reset to zero when a pass over the text
        ends and the next begins.

    Returns
    -------
    params : dict
    vocab : Vocabulary
        ``Vocabulary(text)``: pass it to :func:`sample`.
    losses : ndarray, shape (steps,)

    Notes
    -----
    Each step takes the next window and runs

    .. math:: g \leftarrow \nabla_\theta L, \quad
        g \leftarrow g \min\!\big(1, \tfrac{\text{clip}}{\|g\|}\big), \quad
        \theta \leftarrow \operatorname{Adam}(\theta, g)
    """
    rng = as_rng(seed)
    vocab = Vocabulary(text)
    codes = vocab.encode(text)
    params = init_char_lm(cell, len(vocab), H, rng, dtype, reset_after=reset_after)
    optimizer = Adam(lr=lr)
    history = np.empty(steps)
    windows, state = iter(()), None
    for step in range(steps):
        if not stateful:
            inputs, targets = char_batches(codes, T, N, rng)
            loss, grads = char_lm_loss(params, inputs, targets, cell=cell)
        else:
            batch = next(windows, None)
            if batch is None:  # a pass over the text ends: start the next one from a zero state
                windows, state = iter(char_stream_batches(codes, T, N)), None
                batch = next(windows)
            loss, grads, state = char_lm_window_loss(params, *batch, state, cell=cell)
        if clip is not None:
            grads, _ = clip_grad_norm(grads, clip)
        optimizer.step(params, grads)  # updates params in place
        history[step] = loss
    return TrainedCharLM(params, vocab, history)


# --- last-state model: sequence classification and regression ------------------------------------


def init_last_state_model(cell, D, K, H, rng, dtype=np.float64, *, reset_after=False, forget_bias=1.0):
    """Parameters of a model that reads a whole sequence and answers from its final state.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    D, K, H : int
        Input size, number of outputs, hidden size.
    rng : numpy.random.Generator or int
    dtype : numpy dtype
    reset_after : bool
        GRU only: the PyTorch candidate (adds ``b_hn``).
    forget_bias : float
        LSTM and peephole only: initial bias of the forget gate.

    Returns
    -------
    params : dict
        The cell's keys and ``W_y`` (K, H), ``b_y`` (K,); ``K = 1`` for the adding problem.
    """
    return init_tagger(cell, D, K, H, rng, dtype, reset_after=reset_after, forget_bias=forget_bias)


def last_state_outputs(params, xs, mask=None, *, cell):
    r"""Outputs of a last-state model.

    Parameters
    ----------
    params : dict
        From :func:`init_last_state_model`: the cell's keys plus ``W_y`` (K, H), ``b_y`` (K,).
    xs : ndarray, shape (T, N, D)
    mask : ndarray of bool, shape (T, N), optional
    cell : str

    Returns
    -------
    ndarray, shape (N, K)

    Notes
    -----
    .. math:: \hat y = W_y h_{\text{last}} + b_y

    :math:`h_{\text{last}}` is each sequence's state at its own last valid step.
    """
    _check_padding(mask)
    cell_params = _cell_params(params)
    _, state_last, _ = cells.sequence_forward(cell, xs, None, cell_params, mask, **_cell_kwargs(cell_params))
    return _head_forward(params, state_last[0])


def last_state_loss(params, xs, ys, mask=None, *, cell, objective="mse"):
    r"""Loss of a last-state model, and its gradients.

    Parameters
    ----------
    params : dict
        From :func:`init_last_state_model`.
    xs : ndarray, shape (T, N, D)
    ys : ndarray
        ``objective="mse"``: targets (N, K), or (N,) when K = 1 (the adding
        problem), in the dtype of the parameters.  ``objective="cross_entropy"``: class indices (N,) in [0, K).
    mask : ndarray of bool, shape (T, N), optional
    cell : str
    objective : {"mse", "cross_entropy"}

    Returns
    -------
    loss : float
    grads : dict

    Notes
    -----
    Only the final state is read, so BPTT starts from
    :math:`\partial L / \partial h_{\text{last}} = W_y^\top \partial L / \partial \hat y`
    with no gradient from the other steps: the whole signal must travel back
    through every step, which is what the adding problem tests.
    """
    if objective not in ("mse", "cross_entropy"):
        raise ValueError(f"unknown objective {objective!r}, expected one of 'mse', 'cross_entropy'")
    _check_padding(mask)
    cell_params = _cell_params(params)
    hs, state_last, cache = cells.sequence_forward(cell, xs, None, cell_params, mask, **_cell_kwargs(cell_params))
    h_last = state_last[0]  # (N, H)
    out = _head_forward(params, h_last)  # (N, K)
    N, K = out.shape
    ys = as_array("ys", ys)
    if objective == "mse":
        target = ys[:, None] if ys.ndim == 1 and K == 1 else ys  # (N,) -> (N, 1)
        if target.shape != (N, K):
            raise ValueError(f"ys has shape {ys.shape}, expected (N, K) = {(N, K)}" + (f" or (N,) = {(N,)}" * (K == 1)))
        if target.dtype != out.dtype:
            raise ValueError(f"ys has dtype {ys.dtype}, expected the dtype of the parameters, {out.dtype}")
        loss, dout = losses.mse(out, target)
    else:
        ys = _check_targets("ys", ys, (N,), "(N,)", K)
        loss, dout = losses.softmax_cross_entropy(out, ys)
    grads, dh_last = _head_backward(params, dout, h_last)
    dstate_last = (dh_last,) + (None,) * (len(state_last) - 1)  # no gradient on c_last
    _, _, cell_grads = cells.sequence_backward(cell, np.zeros_like(hs), cache, dstate_last)
    return loss, {**cell_grads, **grads}


# --- bidirectional tagger ------------------------------------------------------------------------


def init_bi_tagger(cell, D, K, H, rng, dtype=np.float64, *, merge="concat", reset_after=False, forget_bias=1.0):
    """Parameters of a bidirectional per-step tagger.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    D, K, H : int
        Input size, number of tags, hidden size of each direction.
    rng : numpy.random.Generator or int
    dtype : numpy dtype
    merge : str
        ``"concat"``, ``"sum"`` or ``"mean"``.
    reset_after : bool
        GRU only: the PyTorch candidate (adds ``b_hn``).
    forget_bias : float
        LSTM and peephole only: initial bias of the forget gate.

    Returns
    -------
    params : dict
        ``"fwd." + key`` and ``"bwd." + key`` for each key of the cell, and
        ``W_y`` (K, 2H) for ``merge="concat"``, (K, H) for ``"sum"`` and
        ``"mean"``; ``b_y`` (K,).
    """
    if merge not in bidirectional.MERGES:
        raise ValueError(f"unknown merge {merge!r}, expected one of {', '.join(map(repr, bidirectional.MERGES))}")
    rng = as_rng(rng)
    params = {}
    for direction in ("fwd", "bwd"):
        p = init.init_params(cell, D, H, rng, dtype, forget_bias=forget_bias, reset_after=reset_after)
        params.update({f"{direction}.{key}": value for key, value in p.items()})
    H_out = 2 * H if merge == "concat" else H
    return {**params, **_init_head(K, H_out, rng, dtype)}


def _bi_forward(params, xs, mask, cell, merge):
    params_fwd, params_bwd = _cell_params(params, "fwd."), _cell_params(params, "bwd.")
    extra = sorted(k for k in params if k not in _HEAD and not k.startswith(("fwd.", "bwd.")))
    if extra:
        raise ValueError(f"params has keys {extra} that are neither 'fwd.*', 'bwd.*' nor the read-out")
    ys, _, _, cache = bidirectional.bidirectional_forward(
        cell, xs, params_fwd, params_bwd, mask, merge, **_cell_kwargs(params_fwd)
    )
    return ys, cache


def bi_tagger_logits(params, xs, mask=None, *, cell, merge="concat"):
    """Logits of a bidirectional tagger; see :func:`bi_tagger_loss`.

    Parameters
    ----------
    params : dict
        From :func:`init_bi_tagger` with the same ``merge``.
    xs : ndarray, shape (T, N, D)
    mask : ndarray of bool, shape (T, N), optional
    cell : str
    merge : str
        ``"concat"``, ``"sum"`` or ``"mean"``.

    Returns
    -------
    ndarray, shape (T, N, K)
    """
    ys, _ = _bi_forward(params, xs, mask, cell, merge)
    return _head_forward(params, ys)


def bi_tagger_loss(params, xs, tags, mask=None, *, cell, merge="concat", loss_mask=None):
    r"""Mean cross-entropy of a bidirectional tagger, and its gradients.

    Parameters
    ----------
    params : dict
        From :func:`init_bi_tagger` with the same ``merge``.
    xs : ndarray, shape (T, N, D)
    tags : ndarray of int, shape (T, N)
    mask : ndarray of bool, shape (T, N), optional
        Left-aligned valid steps; the backward cell starts at each sequence's
        own last valid step.
    cell : str
    merge : {"concat", "sum", "mean"}
    loss_mask : ndarray of bool, shape (T, N), optional

    Returns
    -------
    loss : float
    grads : dict

    Notes
    -----
    .. math::
        a_t = W_y\, \mathrm{merge}(\overrightarrow{h}_t, \overleftarrow{h}_t) + b_y, \qquad
        L = -\frac{1}{M} \sum_{\text{scored } (t, n)} \log \operatorname{softmax}(a_{t,n})[y_{t,n}]
    """
    ys, cache = _bi_forward(params, xs, mask, cell, merge)
    logits = _head_forward(params, ys)  # (T, N, K)
    scored = _scored(cache.cache_fwd.mask, check_mask(loss_mask, *ys.shape[:2], name="loss_mask"))
    tags = _check_targets("tags", tags, ys.shape[:2], "(T, N)", logits.shape[-1], scored)
    loss, dlogits = losses.softmax_cross_entropy(logits, tags, scored)
    grads, dys = _head_backward(params, dlogits, ys)
    _, _, _, grads_fwd, grads_bwd = bidirectional.bidirectional_backward(dys, cache)
    grads.update({f"fwd.{key}": g for key, g in grads_fwd.items()})
    grads.update({f"bwd.{key}": g for key, g in grads_bwd.items()})
    return loss, grads
