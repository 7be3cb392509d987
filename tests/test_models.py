"""rnn_ref.models: gradients (numerical and PyTorch), masks, training, sampling.

Three kinds of evidence for every model's backward pass: central differences
for every parameter of every model on every cell; float64 agreement with
PyTorch for a model of each family; and properties (a padded batch equals its
sequences run one by one, nothing is mutated, dtypes are kept).  Then the
models must learn: the language model overfits a short text, a last-state
LSTM solves the adding problem, a bidirectional tagger beats the best
left-to-right model on a task that needs the future.
"""

import copy

import numpy as np
import pytest
from _numeric import expect_value_error

from rnn_ref import cells, data, gradcheck, models
from rnn_ref.clip import clip_grad_norm
from rnn_ref.optim import Adam

# (cell, reset_after): every cell, and the GRU in both published variants
CELLS = [("rnn", False), ("lstm", False), ("gru", False), ("gru", True), ("peephole", False)]
CELL_IDS = ["rnn", "lstm", "gru", "gru-reset-after", "peephole"]
MERGES = ["concat", "sum", "mean"]


def _perturbed(params, rng, scale=0.3):
    """Every parameter moved off its initial value: peepholes, b_hn and biases are no longer zero."""
    return {key: value + scale * rng.standard_normal(value.shape) for key, value in params.items()}


def _check(loss_of, params, grads):
    """Central differences for every key.

    ``floor=1e-4``: gradient entries below 1e-4 are compared by absolute error
    (1e-10 at tol 1e-6); the rounding noise of the numerical estimate, about
    u |L| / eps = 1e-11, would otherwise dominate their relative error.
    """
    gradcheck.check_gradients(loss_of, params, grads, eps=1e-5, tol=1e-6, floor=1e-4)


def _ragged_mask(T, N, rng):
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T  # at least one full sequence
    return np.arange(T)[:, None] < lengths[None, :]


def _log_softmax(a):
    """Log-softmax over the last axis, written out here and not taken from rnn_ref."""
    a = a - a.max(axis=-1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=-1, keepdims=True))


# --- numerical gradient checks of every model ----------------------------------------------------


@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_char_lm_loss_gradients_match_numeric(cell, reset_after, rng):
    V, H, T, N = 5, 3, 5, 2
    params = _perturbed(models.init_char_lm(cell, V, H, rng, reset_after=reset_after), rng)
    inputs, targets = rng.integers(0, V, size=(T, N)), rng.integers(0, V, size=(T, N))
    loss, grads = models.char_lm_loss(params, inputs, targets, cell=cell)
    assert sorted(grads) == sorted(params)
    _check(lambda p: models.char_lm_loss(p, inputs, targets, cell=cell)[0], params, grads)


@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_tagger_loss_gradients_match_numeric_with_padding_and_loss_mask(cell, reset_after, rng):
    T, N, D, K, H = 5, 3, 3, 4, 3
    params = _perturbed(models.init_tagger(cell, D, K, H, rng, reset_after=reset_after), rng)
    xs = rng.standard_normal((T, N, D))
    tags = rng.integers(0, K, size=(T, N))
    mask = _ragged_mask(T, N, rng)
    loss_mask = rng.random((T, N)) < 0.7
    loss_mask[0, 0] = True  # at least one scored step
    loss, grads = models.tagger_loss(params, xs, tags, mask, cell=cell, loss_mask=loss_mask)
    _check(lambda p: models.tagger_loss(p, xs, tags, mask, cell=cell, loss_mask=loss_mask)[0], params, grads)


@pytest.mark.parametrize("objective", ["mse", "cross_entropy"])
@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_last_state_loss_gradients_match_numeric(cell, reset_after, objective, rng):
    T, N, D, K, H = 5, 3, 2, 3, 3
    params = _perturbed(models.init_last_state_model(cell, D, K, H, rng, reset_after=reset_after), rng)
    xs = rng.standard_normal((T, N, D))
    ys = rng.standard_normal((N, K)) if objective == "mse" else rng.integers(0, K, size=N)
    mask = _ragged_mask(T, N, rng)
    loss, grads = models.last_state_loss(params, xs, ys, mask, cell=cell, objective=objective)

    def loss_of(p):
        return models.last_state_loss(p, xs, ys, mask, cell=cell, objective=objective)[0]

    _check(loss_of, params, grads)


@pytest.mark.parametrize("merge", MERGES)
@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_bi_tagger_loss_gradients_match_numeric(cell, reset_after, merge, rng):
    T, N, D, K, H = 4, 3, 2, 3, 2
    params = _perturbed(models.init_bi_tagger(cell, D, K, H, rng, merge=merge, reset_after=reset_after), rng)
    assert params["W_y"].shape == (K, 2 * H if merge == "concat" else H)
    xs = rng.standard_normal((T, N, D))
    tags = rng.integers(0, K, size=(T, N))
    mask = _ragged_mask(T, N, rng)
    loss, grads = models.bi_tagger_loss(params, xs, tags, mask, cell=cell, merge=merge)
    assert sorted(grads) == sorted(params)
    _check(lambda p: models.bi_tagger_loss(p, xs, tags, mask, cell=cell, merge=merge)[0], params, grads)


# --- properties: padding, mutation, dtype ---------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True], ids=["tagger", "bi-tagger"])
def test_padded_tagger_loss_equals_its_sequences_run_one_by_one(bidirectional, rng):
    # The masked batch loss is the mean over all valid steps, so it must equal the sum of the
    # unpadded sequences' token losses over the total count; the same weights give the gradients.
    T, N, D, K, H = 6, 4, 3, 4, 3
    init, loss_fn, logits_fn = (
        (models.init_bi_tagger, models.bi_tagger_loss, models.bi_tagger_logits)
        if bidirectional
        else (models.init_tagger, models.tagger_loss, models.tagger_logits)
    )
    params = _perturbed(init("lstm", D, K, H, rng), rng)
    xs, tags = rng.standard_normal((T, N, D)), rng.integers(0, K, size=(T, N))
    mask = _ragged_mask(T, N, rng)
    lengths = mask.sum(axis=0)
    M = lengths.sum()
    loss, grads = loss_fn(params, xs, tags, mask, cell="lstm")

    nll, expected_grads = 0.0, {key: np.zeros_like(value) for key, value in params.items()}
    for n in range(N):
        L = lengths[n]
        x_n, y_n = xs[:L, n : n + 1], tags[:L, n : n + 1]  # (L, 1, D), (L, 1): no padding at all
        log_p = _log_softmax(logits_fn(params, x_n, cell="lstm"))  # (L, 1, K)
        nll -= sum(log_p[t, 0, y_n[t, 0]] for t in range(L))
        _, grads_n = loss_fn(params, x_n, y_n, cell="lstm")  # mean over its own L steps
        for key in grads_n:
            expected_grads[key] += grads_n[key] * L / M
    assert loss == pytest.approx(nll / M, rel=1e-12)
    for key in params:
        np.testing.assert_allclose(grads[key], expected_grads[key], rtol=1e-10, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["tagger", "bi-tagger"])
def test_loss_mask_scores_only_the_steps_it_marks_among_the_valid_ones(bidirectional, rng):
    """The loss is the mean of -log p[tag] over the steps that are valid (mask) and scored (loss_mask).

    Checked against logits and a log-softmax written here, with and without a padding mask, and
    with out-of-range tags (-100) where nothing is scored; a padded step marked in loss_mask must
    still not count.
    """
    T, N, D, K, H = 5, 3, 2, 4, 3
    init, loss_fn, logits_fn = (
        (models.init_bi_tagger, models.bi_tagger_loss, models.bi_tagger_logits)
        if bidirectional
        else (models.init_tagger, models.tagger_loss, models.tagger_logits)
    )
    params = _perturbed(init("gru", D, K, H, rng), rng)
    xs, tags = rng.standard_normal((T, N, D)), rng.integers(0, K, size=(T, N))
    loss_mask = rng.random((T, N)) < 0.5
    loss_mask[0, 0] = loss_mask[T - 1, 2] = True  # step T-1 of sequence 2 is padding below: it must not count
    for mask in (None, np.arange(T)[:, None] < np.array([5, 3, 2])[None, :]):
        scored = loss_mask if mask is None else loss_mask & mask
        log_p = _log_softmax(logits_fn(params, xs, mask, cell="gru"))  # (T, N, K)
        expected = -np.take_along_axis(log_p, tags[..., None], axis=-1)[..., 0][scored].mean()
        loss, _ = loss_fn(params, xs, np.where(scored, tags, -100), mask, cell="gru", loss_mask=loss_mask)
        assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_last_state_outputs_are_the_read_out_of_the_cells_own_final_state(cell, reset_after, rng):
    """The final state is h (the first state), never c, and is taken at each sequence's own last step."""
    T, N, D, K, H = 5, 4, 2, 3, 3
    params = _perturbed(models.init_last_state_model(cell, D, K, H, rng, reset_after=reset_after), rng)
    xs, mask = rng.standard_normal((T, N, D)), _ragged_mask(T, N, rng)
    cell_params = {key: value for key, value in params.items() if key not in ("W_y", "b_y")}
    kwargs = {"reset_after": True} if reset_after else {}
    module = cells.get_cell(cell).module
    n_states = len(cells.get_cell(cell).state_names)
    h_last = getattr(module, f"{cell}_forward")(xs, *(None,) * n_states, cell_params, mask, **kwargs)[1]
    expected = h_last @ params["W_y"].T + params["b_y"]
    np.testing.assert_allclose(models.last_state_outputs(params, xs, mask, cell=cell), expected, rtol=1e-13)


def test_last_state_outputs_read_each_sequence_at_its_own_last_step(rng):
    T, N, D, K, H = 6, 4, 2, 3, 3
    params = _perturbed(models.init_last_state_model("gru", D, K, H, rng), rng)
    xs = rng.standard_normal((T, N, D))
    mask = _ragged_mask(T, N, rng)
    out = models.last_state_outputs(params, xs, mask, cell="gru")
    assert out.shape == (N, K)
    for n in range(N):
        L = mask[:, n].sum()
        alone = models.last_state_outputs(params, xs[:L, n : n + 1], cell="gru")  # (1, K)
        np.testing.assert_allclose(out[n], alone[0], rtol=1e-12, atol=1e-14)


def test_char_lm_loss_is_the_mean_next_character_log_loss(rng):
    V, H, T, N = 6, 4, 5, 3
    params = _perturbed(models.init_char_lm("rnn", V, H, rng), rng)
    inputs, targets = rng.integers(0, V, size=(T, N)), rng.integers(0, V, size=(T, N))
    loss, _ = models.char_lm_loss(params, inputs, targets, cell="rnn")
    # the RNN written out by hand on one-hot inputs: column k of W_x is the input of character k
    h, total = np.zeros((N, H)), 0.0
    for t in range(T):
        h = np.tanh(params["W_x"][:, inputs[t]].T + h @ params["W_h"].T + params["b"])
        log_p = _log_softmax(h @ params["W_y"].T + params["b_y"])
        total -= log_p[np.arange(N), targets[t]].sum()
    assert loss == pytest.approx(total / (T * N), rel=1e-12)


@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_char_lm_window_loss_gradients_match_numeric_from_a_carried_state(cell, reset_after, rng):
    V, H, T, N = 5, 3, 4, 2
    params = _perturbed(models.init_char_lm(cell, V, H, rng, reset_after=reset_after), rng)
    inputs, targets = rng.integers(0, V, size=(T, N)), rng.integers(0, V, size=(T, N))
    n_states = 2 if cell in ("lstm", "peephole") else 1
    state0 = tuple(rng.uniform(-1, 1, (N, H)) for _ in range(n_states))  # what a previous window ended in

    def loss_of(p):
        return models.char_lm_window_loss(p, inputs, targets, state0, cell=cell)[0]

    loss, grads, state_last = models.char_lm_window_loss(params, inputs, targets, state0, cell=cell)
    _check(loss_of, params, grads)
    assert len(state_last) == n_states and all(s.shape == (N, H) for s in state_last)
    # from a zero state it is the plain language-model loss
    assert models.char_lm_window_loss(params, inputs, targets, cell=cell)[0] == pytest.approx(
        models.char_lm_loss(params, inputs, targets, cell=cell)[0], rel=1e-14
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_windows_that_carry_the_state_compute_the_loss_of_the_whole_sequence(cell, rng):
    """Stateful truncated BPTT changes the gradient only: its forward pass is the long sequence's."""
    V, H, T, N, k = 6, 4, 12, 3, 4
    params = _perturbed(models.init_char_lm(cell, V, H, rng), rng)
    inputs, targets = rng.integers(0, V, size=(T, N)), rng.integers(0, V, size=(T, N))
    whole, _ = models.char_lm_loss(params, inputs, targets, cell=cell)
    state, window_losses = None, []
    for start in range(0, T, k):
        loss, _, state = models.char_lm_window_loss(
            params, inputs[start : start + k], targets[start : start + k], state, cell=cell
        )
        window_losses.append(loss)
    assert np.mean(window_losses) == pytest.approx(whole, rel=1e-12)
    restarted = [models.char_lm_loss(params, inputs[s : s + k], targets[s : s + k], cell=cell)[0] for s in (4, 8)]
    assert restarted != pytest.approx(window_losses[1:], rel=1e-6)  # from zero states it is another loss


def test_evaluate_char_lm_is_the_mean_log_loss_of_every_stream_read_from_its_start(rng):
    V, H, N = 5, 4, 3
    params = _perturbed(models.init_char_lm("gru", V, H, rng), rng)
    codes = rng.integers(0, V, size=40)
    L = (len(codes) - 1) // N  # 13
    total = 0.0
    for n in range(N):  # each stream run on its own, the log-softmax written out here
        stream = codes[n * L : n * L + L + 1]
        logits = models.tagger_logits(params, data.one_hot(stream[:-1, None], V), cell="gru")[:, 0]  # (L, V)
        total -= _log_softmax(logits)[np.arange(L), stream[1:]].sum()
    assert models.evaluate_char_lm(params, codes, cell="gru", N=N) == pytest.approx(total / (N * L), rel=1e-12)
    vocab = data.Vocabulary("abcde")
    text = vocab.decode(codes)
    assert models.evaluate_char_lm(params, text, cell="gru", vocab=vocab, N=N) == pytest.approx(total / (N * L))
    with pytest.raises(ValueError, match="vocab is needed"):
        models.evaluate_char_lm(params, text, cell="gru")


def test_losses_do_not_mutate_params_or_inputs(rng):
    T, N, D, K, H = 5, 3, 4, 4, 3
    cases = [
        (models.init_char_lm("lstm", D, H, rng), models.char_lm_loss, (rng.integers(0, D, (T, N)),) * 2, {}),
        (models.init_tagger("gru", D, K, H, rng), models.tagger_loss, None, {}),
        (models.init_bi_tagger("peephole", D, K, H, rng), models.bi_tagger_loss, None, {"merge": "concat"}),
        (models.init_last_state_model("rnn", D, K, H, rng), models.last_state_loss, None, {}),
    ]
    for params, loss_fn, batch, kwargs in cases:
        cell = {"char_lm_loss": "lstm", "tagger_loss": "gru", "bi_tagger_loss": "peephole"}.get(loss_fn.__name__, "rnn")
        if batch is None:
            targets = rng.standard_normal((N, K)) if loss_fn is models.last_state_loss else rng.integers(0, K, (T, N))
            batch = (rng.standard_normal((T, N, D)), targets, _ragged_mask(T, N, rng))
        params_before, batch_before = copy.deepcopy(params), copy.deepcopy(batch)
        loss_fn(params, *batch, cell=cell, **kwargs)
        for key in params:
            np.testing.assert_array_equal(params[key], params_before[key], err_msg=f"{loss_fn.__name__}: {key}")
        for got, before in zip(batch, batch_before, strict=True):
            np.testing.assert_array_equal(got, before, err_msg=loss_fn.__name__)


@pytest.mark.parametrize(("cell", "reset_after"), CELLS, ids=CELL_IDS)
def test_models_keep_float32_and_agree_with_float64(cell, reset_after, rng):
    T, N, D, K, H = 5, 3, 3, 4, 4
    params64 = models.init_bi_tagger(cell, D, K, H, rng, merge="mean", reset_after=reset_after)
    params32 = {key: value.astype(np.float32) for key, value in params64.items()}
    xs, tags, mask = rng.standard_normal((T, N, D)), rng.integers(0, K, (T, N)), _ragged_mask(T, N, rng)
    loss64, grads64 = models.bi_tagger_loss(params64, xs, tags, mask, cell=cell, merge="mean")
    loss32, grads32 = models.bi_tagger_loss(params32, xs.astype(np.float32), tags, mask, cell=cell, merge="mean")
    assert np.asarray(loss32).dtype == np.float32 and loss32 == pytest.approx(loss64, rel=1e-5)
    for key in params64:
        assert grads32[key].dtype == np.float32, key
        np.testing.assert_allclose(grads32[key], grads64[key], rtol=1e-3, atol=1e-5, err_msg=key)

    lm32 = {key: value.astype(np.float32) for key, value in models.init_char_lm(cell, 5, 3, rng).items()}
    inputs = rng.integers(0, 5, (T, N))
    loss, grads = models.char_lm_loss(lm32, inputs, inputs, cell=cell)
    assert np.asarray(loss).dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())


# --- PyTorch, the float64 oracle ------------------------------------------------------------------


def _set(module, name, array, torch):
    getattr(module, name).data = torch.tensor(array, dtype=torch.float64)


def test_char_lm_matches_torch_lstm(torch, rng):
    V, H, T, N = 6, 4, 7, 3
    params = _perturbed(models.init_char_lm("lstm", V, H, rng), rng)
    inputs, targets = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N))
    loss, grads = models.char_lm_loss(params, inputs, targets, cell="lstm")

    lstm = torch.nn.LSTM(V, H)
    _set(lstm, "weight_ih_l0", params["W_x"], torch)
    _set(lstm, "weight_hh_l0", params["W_h"], torch)
    _set(lstm, "bias_ih_l0", params["b"], torch)
    _set(lstm, "bias_hh_l0", np.zeros_like(params["b"]), torch)  # torch's two biases add up to our b
    W_y = torch.tensor(params["W_y"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    x = torch.nn.functional.one_hot(torch.tensor(inputs), V).double()  # (T, N, V)
    hs, _ = lstm(x)
    logits = hs @ W_y.T + b_y
    expected = torch.nn.functional.cross_entropy(logits.reshape(T * N, V), torch.tensor(targets).reshape(-1))
    expected.backward()

    assert loss == pytest.approx(expected.item(), rel=1e-12)
    torch_grads = {
        "W_x": lstm.weight_ih_l0.grad,
        "W_h": lstm.weight_hh_l0.grad,
        "b": lstm.bias_ih_l0.grad,
        "W_y": W_y.grad,
        "b_y": b_y.grad,
    }
    for key, g in torch_grads.items():
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("merge", MERGES)
def test_bi_tagger_matches_torch_packed_bidirectional_gru(torch, merge, rng):
    # GRU with reset_after=True is torch.nn.GRU; torch's packed sequences start the backward
    # direction at each sequence's own last step, as rnn_ref does
    T, N, D, K, H = 6, 4, 3, 5, 3
    params = _perturbed(models.init_bi_tagger("gru", D, K, H, rng, merge=merge, reset_after=True), rng)
    xs, tags = rng.standard_normal((T, N, D)), rng.integers(0, K, (T, N))
    mask = _ragged_mask(T, N, rng)
    loss, grads = models.bi_tagger_loss(params, xs, tags, mask, cell="gru", merge=merge)

    gru = torch.nn.GRU(D, H, bidirectional=True)
    for direction, suffix in (("fwd", "_l0"), ("bwd", "_l0_reverse")):
        _set(gru, "weight_ih" + suffix, params[f"{direction}.W_x"], torch)
        _set(gru, "weight_hh" + suffix, params[f"{direction}.W_h"], torch)
        _set(gru, "bias_ih" + suffix, params[f"{direction}.b"], torch)
        # b_hh = [0 (r), 0 (z), b_hn]: for r and z the two biases add; for n, b_hn sits inside r * (...)
        _set(gru, "bias_hh" + suffix, np.concatenate([np.zeros(2 * H), params[f"{direction}.b_hn"]]), torch)
    W_y = torch.tensor(params["W_y"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    lengths = torch.tensor(mask.sum(axis=0))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(xs), lengths, enforce_sorted=False)
    out, _ = gru(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)  # (T, N, 2H): [fwd, bwd]
    merged = {"concat": out, "sum": out[..., :H] + out[..., H:], "mean": (out[..., :H] + out[..., H:]) / 2}[merge]
    logits = merged @ W_y.T + b_y  # (T, N, K)
    valid = torch.tensor(mask)
    expected = torch.nn.functional.cross_entropy(logits[valid], torch.tensor(tags)[valid])
    expected.backward()

    assert loss == pytest.approx(expected.item(), rel=1e-12)
    torch_grads = {"W_y": W_y.grad, "b_y": b_y.grad}
    for direction, suffix in (("fwd", "_l0"), ("bwd", "_l0_reverse")):
        torch_grads[f"{direction}.W_x"] = getattr(gru, "weight_ih" + suffix).grad
        torch_grads[f"{direction}.W_h"] = getattr(gru, "weight_hh" + suffix).grad
        torch_grads[f"{direction}.b"] = getattr(gru, "bias_ih" + suffix).grad
        torch_grads[f"{direction}.b_hn"] = getattr(gru, "bias_hh" + suffix).grad[2 * H :]
    assert sorted(torch_grads) == sorted(grads)
    for key, g in torch_grads.items():
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


def test_last_state_model_matches_torch_packed_rnn(torch, rng):
    T, N, D, H = 7, 4, 2, 4
    params = _perturbed(models.init_last_state_model("rnn", D, 1, H, rng), rng)
    xs, ys = data.adding_problem(T, N, rng)
    mask = _ragged_mask(T, N, rng)
    loss, grads = models.last_state_loss(params, xs, ys, mask, cell="rnn")

    rnn = torch.nn.RNN(D, H, nonlinearity="tanh")
    _set(rnn, "weight_ih_l0", params["W_x"], torch)
    _set(rnn, "weight_hh_l0", params["W_h"], torch)
    _set(rnn, "bias_ih_l0", params["b"], torch)
    _set(rnn, "bias_hh_l0", np.zeros(H), torch)
    W_y = torch.tensor(params["W_y"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xs), torch.tensor(mask.sum(axis=0)), enforce_sorted=False
    )
    _, h_n = rnn(packed)  # (1, N, H): each sequence at its own last step
    pred = h_n[0] @ W_y.T + b_y  # (N, 1)
    expected = torch.nn.functional.mse_loss(pred[:, 0], torch.tensor(ys))
    expected.backward()

    assert loss == pytest.approx(expected.item(), rel=1e-12)
    torch_grads = {
        "W_x": rnn.weight_ih_l0.grad,
        "W_h": rnn.weight_hh_l0.grad,
        "b": rnn.bias_ih_l0.grad,
        "W_y": W_y.grad,
        "b_y": b_y.grad,
    }
    for key, g in torch_grads.items():
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize(("cell", "objective"), [("lstm", "mse"), ("lstm", "cross_entropy"), ("gru", "mse")])
def test_last_state_model_matches_torch_packed_lstm_and_gru(torch, cell, objective, rng):
    """h_n of packed sequences (each at its own last step), never c_n; the GRU is PyTorch's (reset_after)."""
    T, N, D, K, H = 6, 4, 3, 2, 3
    params = _perturbed(models.init_last_state_model(cell, D, K, H, rng, reset_after=cell == "gru"), rng)
    xs, mask = rng.standard_normal((T, N, D)), _ragged_mask(T, N, rng)
    ys = rng.standard_normal((N, K)) if objective == "mse" else rng.integers(0, K, N)
    loss, grads = models.last_state_loss(params, xs, ys, mask, cell=cell, objective=objective)

    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H)
    _set(module, "weight_ih_l0", params["W_x"], torch)
    _set(module, "weight_hh_l0", params["W_h"], torch)
    _set(module, "bias_ih_l0", params["b"], torch)
    # GRU: bias_hh = [0 (r), 0 (z), b_hn]; LSTM: torch's two biases add up to our b
    b_hh = np.concatenate([np.zeros(2 * H), params["b_hn"]]) if cell == "gru" else np.zeros(4 * H)
    _set(module, "bias_hh_l0", b_hh, torch)
    W_y = torch.tensor(params["W_y"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xs), torch.tensor(mask.sum(axis=0)), enforce_sorted=False
    )
    _, state = module(packed)
    h_n = state[0] if cell == "lstm" else state  # (1, N, H)
    out = h_n[0] @ W_y.T + b_y  # (N, K)
    if objective == "mse":
        expected = torch.nn.functional.mse_loss(out, torch.tensor(ys))
    else:
        expected = torch.nn.functional.cross_entropy(out, torch.tensor(ys))
    expected.backward()

    assert loss == pytest.approx(expected.item(), rel=1e-12)
    torch_grads = {
        "W_x": module.weight_ih_l0.grad,
        "W_h": module.weight_hh_l0.grad,
        "b": module.bias_ih_l0.grad,
        "W_y": W_y.grad,
        "b_y": b_y.grad,
    }
    if cell == "gru":
        torch_grads["b_hn"] = module.bias_hh_l0.grad[2 * H :]
    assert sorted(torch_grads) == sorted(grads)
    for key, g in torch_grads.items():
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


def test_tagger_with_padding_and_loss_mask_matches_torch_packed_lstm(torch, rng):
    T, N, D, K, H = 6, 4, 3, 5, 3
    params = _perturbed(models.init_tagger("lstm", D, K, H, rng), rng)
    xs, tags, mask = rng.standard_normal((T, N, D)), rng.integers(0, K, (T, N)), _ragged_mask(T, N, rng)
    loss_mask = rng.random((T, N)) < 0.6
    loss_mask[0, 0] = True
    loss, grads = models.tagger_loss(params, xs, tags, mask, cell="lstm", loss_mask=loss_mask)

    lstm = torch.nn.LSTM(D, H)
    _set(lstm, "weight_ih_l0", params["W_x"], torch)
    _set(lstm, "weight_hh_l0", params["W_h"], torch)
    _set(lstm, "bias_ih_l0", params["b"], torch)
    _set(lstm, "bias_hh_l0", np.zeros(4 * H), torch)
    W_y = torch.tensor(params["W_y"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xs), torch.tensor(mask.sum(axis=0)), enforce_sorted=False
    )
    out, _ = lstm(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    scored = torch.tensor(mask & loss_mask)
    expected = torch.nn.functional.cross_entropy((out @ W_y.T + b_y)[scored], torch.tensor(tags)[scored])
    expected.backward()

    assert loss == pytest.approx(expected.item(), rel=1e-12)
    torch_grads = {
        "W_x": lstm.weight_ih_l0.grad,
        "W_h": lstm.weight_hh_l0.grad,
        "b": lstm.bias_ih_l0.grad,
        "W_y": W_y.grad,
        "b_y": b_y.grad,
    }
    for key, g in torch_grads.items():
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


# --- learning ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole"])
def test_char_lm_overfits_a_short_text(cell):
    # Measured with seeds 0-4: full-text loss 0.06-0.10 (rnn), 0.08-0.14 (lstm), 0.03-0.07 (gru),
    # 0.09-0.10 (peephole) after 200 steps, from log V = 3.37 nats per character at the start.
    text = data.load_corpus()[:200]
    params, vocab, losses = models.train_char_lm(text, cell, H=32, steps=200, T=16, N=8, lr=2e-2, seed=0)
    assert losses.shape == (200,)
    assert losses[0] == pytest.approx(np.log(len(vocab)), abs=0.3)  # an untrained model is nearly uniform
    codes = vocab.encode(text)
    full_text_loss, _ = models.char_lm_loss(params, codes[:-1, None], codes[1:, None], cell=cell)  # T = 199, N = 1
    assert full_text_loss < 0.3


def test_stateful_training_carries_the_state_between_windows_and_resets_it_at_each_pass():
    """train_char_lm(stateful=True) is min-char-rnn's loop: the next window, from the last window's state."""
    text = data.load_corpus()[:300]
    T, N, steps = 10, 3, 25  # (299 // 3) // 10 = 9 windows per pass: the run crosses two pass boundaries
    trained = models.train_char_lm(text, "lstm", H=6, steps=steps, T=T, N=N, lr=1e-2, seed=1, stateful=True)
    vocab = data.Vocabulary(text)
    windows = data.char_stream_batches(text, T, N)
    assert len(windows) == 9
    params = models.init_char_lm("lstm", len(vocab), 6, np.random.default_rng(1))
    optimizer, state, losses = Adam(lr=1e-2), None, []
    for step in range(steps):
        if step % len(windows) == 0:
            state = None  # a new pass starts from a zero state
        loss, grads, state = models.char_lm_window_loss(params, *windows[step % len(windows)], state, cell="lstm")
        optimizer.step(params, clip_grad_norm(grads, 5.0)[0])
        losses.append(loss)
    np.testing.assert_allclose(trained.losses, losses, rtol=1e-12)
    assert all(np.allclose(trained.params[key], params[key], rtol=1e-10, atol=1e-13) for key in params)


def test_stateful_char_lm_learns_a_text_it_reads_in_short_windows():
    # Measured with seeds 0-2: 1.44-1.51 nats per character on the training text (read as 16 long streams) after
    # 300 steps of 4-character windows, from log V = 3.64 at the start; the same training from zero states at
    # random places ends at 1.92-1.94: a model that never saw more than 4 characters of context cannot use more.
    text = data.load_corpus()[:2000]
    kwargs = dict(cell="rnn", H=48, steps=300, T=4, N=16, lr=1e-2, seed=0)
    stateful = models.train_char_lm(text, stateful=True, **kwargs)
    stateless = models.train_char_lm(text, stateful=False, **kwargs)
    on_text = [models.evaluate_char_lm(r.params, text, cell="rnn", vocab=r.vocab) for r in (stateful, stateless)]
    assert on_text[0] < 1.7 < on_text[1]


def test_train_char_lm_is_reproducible_per_seed():
    text = data.load_corpus()[:100]
    a = models.train_char_lm(text, "gru", H=8, steps=5, T=8, N=4, seed=3)
    b = models.train_char_lm(text, "gru", H=8, steps=5, T=8, N=4, seed=3)
    c = models.train_char_lm(text, "gru", H=8, steps=5, T=8, N=4, seed=4)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert all(np.array_equal(a.params[key], b.params[key]) for key in a.params)
    assert not np.array_equal(a.losses, c.losses)


def test_last_state_lstm_solves_the_adding_problem():
    # Measured with seeds 0-2: test error 0.006-0.014 after 200 steps; predicting the mean scores 1/6.
    rng = np.random.default_rng(0)
    params = models.init_last_state_model("lstm", 2, 1, 16, rng)
    optimizer = Adam(1e-2)
    for _ in range(200):
        loss, grads = models.last_state_loss(params, *data.adding_problem(10, 32, rng), cell="lstm")
        optimizer.step(params, grads)
    xs, ys = data.adding_problem(10, 2000, 999)
    pred = models.last_state_outputs(params, xs, cell="lstm")[:, 0]
    assert np.mean((pred - ys) ** 2) < 0.05


def _best_left_to_right_accuracy(batch, V):
    """Accuracy of the optimal left-to-right predictor on this very batch (see look_around_tagging).

    It sees x_0..x_t and t: it copies x_{t-1} (or START) for a look-back token, and for a
    look-ahead token guesses END when that is likelier than any one symbol, else symbol 0.
    """
    T, N = batch.tags.shape
    min_length = max(1, T // 2)
    tokens = batch.xs.argmax(axis=-1)
    t = np.arange(T)
    p_last = np.where(t + 1 >= min_length, 1.0, 0.0) / (T - np.maximum(min_length, t + 1) + 1)
    guess_end = p_last > (1 - p_last) / V  # (T,)
    prev = np.vstack([np.full((1, N), V), tokens[:-1]])
    pred = np.where(tokens < V // 2, prev, np.where(guess_end[:, None], V + 1, 0))
    return ((pred == batch.tags) & batch.mask).sum() / batch.mask.sum()


def test_look_around_ceiling_is_the_accuracy_of_the_best_left_to_right_predictor():
    accuracies = [_best_left_to_right_accuracy(data.look_around_tagging(10, 2000, seed), 4) for seed in range(20)]
    assert np.mean(accuracies) == pytest.approx(data.look_around_ceiling(10, n_symbols=4), abs=3e-3)
    assert data.look_around_ceiling(2000, n_symbols=4) == pytest.approx(0.5 + 1 / 8, abs=1e-3)  # long sequences


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_bidirectional_tagger_beats_the_best_left_to_right_model(cell):
    # Measured with seeds 0-2 (rnn, gru, lstm): bidirectional 1.000; left-to-right within 0.01 of the
    # optimal left-to-right predictor (0.64-0.65 on these test sets; ceiling 0.636 in expectation).
    V, K = 4, 6
    rng = np.random.default_rng(0)
    uni, bi = models.init_tagger(cell, V, K, 16, rng), models.init_bi_tagger(cell, V, K, 12, rng)
    opt_uni, opt_bi = Adam(2e-2), Adam(2e-2)
    for _ in range(150):
        batch = data.look_around_tagging(10, 32, rng, n_symbols=V)
        opt_uni.step(uni, clip_grad_norm(models.tagger_loss(uni, *batch, cell=cell)[1], 5.0)[0])
        opt_bi.step(bi, clip_grad_norm(models.bi_tagger_loss(bi, *batch, cell=cell)[1], 5.0)[0])

    test = data.look_around_tagging(10, 500, 1000, n_symbols=V)

    def accuracy(logits):
        return ((logits.argmax(axis=-1) == test.tags) & test.mask).sum() / test.mask.sum()

    acc_uni = accuracy(models.tagger_logits(uni, test.xs, test.mask, cell=cell))
    acc_bi = accuracy(models.bi_tagger_logits(bi, test.xs, test.mask, cell=cell))
    assert acc_bi > 0.97
    assert acc_uni < _best_left_to_right_accuracy(test, V) + 0.02  # no left-to-right model can do better
    assert acc_uni > 0.55  # but it did learn the look-back half


# --- sampling ------------------------------------------------------------------------------------


def _trained_lm(rng, cell="gru", V=5, H=6):
    return _perturbed(models.init_char_lm(cell, V, H, rng), rng, scale=1.0)


def test_sample_is_reproducible_per_seed(rng):
    params = _trained_lm(rng)
    a = models.sample(params, [1, 2], 30, 7, cell="gru")
    b = models.sample(params, np.array([1, 2]), 30, np.random.default_rng(7), cell="gru")
    c = models.sample(params, [1, 2], 30, 8, cell="gru")
    assert a.shape == (30,) and a.dtype == np.int64 and ((a >= 0) & (a < 5)).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_greedy_sample_is_the_argmax_of_the_full_forward_pass(rng):
    # sample() carries the state step by step; here every next character is recomputed from
    # scratch over the whole sequence so far
    params = _trained_lm(rng, cell="peephole")
    out = models.sample(params, [3, 0, 4], 12, 0, cell="peephole", temperature=0)
    sequence = [3, 0, 4]
    for _ in range(12):
        xs = data.one_hot(np.array(sequence)[:, None], 5)  # (t, 1, V)
        sequence.append(int(models.tagger_logits(params, xs, cell="peephole")[-1, 0].argmax()))
    assert list(out) == sequence[3:]


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sample_draws_from_the_softmax_at_the_given_temperature(temperature, rng):
    params = _trained_lm(rng, cell="lstm")
    prompt = [0, 1, 2]
    logits = models.tagger_logits(params, data.one_hot(np.array(prompt)[:, None], 5), cell="lstm")[-1, 0]
    p = np.exp(logits / temperature - np.max(logits / temperature))
    p /= p.sum()
    draws = np.random.default_rng(1)
    n = 2000
    counts = np.bincount(
        [models.sample(params, prompt, 1, draws, cell="lstm", temperature=temperature)[0] for _ in range(n)],
        minlength=5,
    )
    # each frequency within 4 standard errors of its probability
    assert np.all(np.abs(counts / n - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12)


def test_sample_encodes_and_decodes_text_with_a_vocabulary(rng):
    vocab = data.Vocabulary("abcde")
    params = _trained_lm(rng, cell="rnn")
    text = models.sample(params, "cab", 20, 0, cell="rnn", vocab=vocab)
    assert isinstance(text, str) and len(text) == 20 and set(text) <= set("abcde")
    assert text == vocab.decode(models.sample(params, vocab.encode("cab"), 20, 0, cell="rnn"))


# --- bad input -----------------------------------------------------------------------------------


def test_models_reject_bad_input_with_messages_that_name_it(rng):
    bi = models.init_bi_tagger("rnn", 3, 4, 2, rng, merge="concat")
    xs, tags = rng.standard_normal((4, 2, 3)), rng.integers(0, 4, (4, 2))
    with pytest.raises(ValueError, match=r"params\['W_y'\] has shape \(4, 4\).*expected \(K, 2\)"):
        models.bi_tagger_loss(bi, xs, tags, cell="rnn", merge="sum")  # W_y was made for concat
    with pytest.raises(ValueError, match="unknown merge 'max'"):
        models.init_bi_tagger("rnn", 3, 4, 2, rng, merge="max")
    with pytest.raises(ValueError, match=r"'extra'"):
        models.bi_tagger_loss({**bi, "extra": np.zeros(2)}, xs, tags, cell="rnn")

    lm = models.init_char_lm("lstm", 5, 3, rng)
    with pytest.raises(ValueError, match=r"params\['W_x'\] has shape \(12, 6\), expected \(G\*H, V\) with V = 5"):
        models.char_lm_loss({**lm, "W_x": np.zeros((12, 6))}, tags, tags, cell="lstm")
    with pytest.raises(ValueError, match=r"inputs must lie in \[0, V\) = \[0, 5\)"):
        models.char_lm_loss(lm, tags + 5, tags, cell="lstm")
    with pytest.raises(ValueError, match="expected a read-out 'W_y'"):
        models.char_lm_loss({k: v for k, v in lm.items() if k != "W_y"}, tags, tags, cell="lstm")
    with pytest.raises(ValueError, match="vocab is needed"):
        models.sample(lm, "ab", 3, 0, cell="lstm")
    with pytest.raises(ValueError, match="start has shape"):
        models.sample(lm, [], 3, 0, cell="lstm")
    with pytest.raises(ValueError, match="unknown cell"):
        models.char_lm_loss(lm, tags, tags, cell="elman")

    copy_batch = data.copy_task(2, 3, 2, 0, n_symbols=3)
    tagger = models.init_tagger("rnn", 5, 5, 2, rng)
    with pytest.raises(ValueError, match="must be left-aligned.*pass it as loss_mask="):
        models.tagger_loss(tagger, *copy_batch, cell="rnn")  # scored is not padding
    loss, _ = models.tagger_loss(tagger, copy_batch.xs, copy_batch.targets, loss_mask=copy_batch.scored, cell="rnn")
    assert np.isfinite(loss)

    with pytest.raises(ValueError, match=r"params\['W_y'\] has dtype float32"):
        models.tagger_loss({**tagger, "W_y": tagger["W_y"].astype(np.float32)}, *copy_batch[:2], cell="rnn")

    last = models.init_last_state_model("gru", 3, 1, 2, rng)
    with pytest.raises(ValueError, match="must be left-aligned"):
        models.last_state_outputs(last, xs, np.array([[False, True]] + [[True, True]] * 3), cell="gru")
    with pytest.raises(ValueError, match="unknown objective 'mae'"):
        models.last_state_loss(last, xs, np.zeros(2), cell="gru", objective="mae")


def test_model_arguments_are_named_in_their_errors(rng):
    """Each message names the argument as the caller wrote it: tags, ys, loss_mask, params['W_y'], temperature."""
    T, N, D, K, H = 4, 2, 3, 4, 2
    tagger = models.init_tagger("lstm", D, K, H, rng)
    xs, tags = rng.standard_normal((T, N, D)), rng.integers(0, K, (T, N))
    expect_value_error(lambda: models.tagger_loss(tagger, xs, tags.T, cell="lstm"), "tags", "tags has shape (2, 4)")
    expect_value_error(lambda: models.tagger_loss(tagger, xs, tags * 1.0, cell="lstm"), "tags", "dtype float64")
    expect_value_error(lambda: models.tagger_loss(tagger, xs, tags + K, cell="lstm"), "tags", "[0, K) = [0, 4)")
    call = lambda mask: models.tagger_loss(tagger, xs, tags, cell="lstm", loss_mask=mask)  # noqa: E731
    expect_value_error(lambda: call(np.ones((T, 1), bool)), "loss_mask", "loss_mask has shape (4, 1)")
    expect_value_error(lambda: call(np.ones((T, N))), "loss_mask", "dtype float64")
    call = lambda p: models.tagger_loss(p, xs, tags, cell="lstm")  # noqa: E731
    expect_value_error(lambda: call({**tagger, "W_y": None}), "params['W_y']", "is None")
    expect_value_error(lambda: call({**tagger, "b_y": np.zeros((K, 1))}), "params['b_y']", "(K,)")
    expect_value_error(lambda: call({**tagger, "W_y": np.zeros((K, H), int)}), "params['W_y']", "dtype int64")
    loss_list, _ = call({**tagger, "W_y": tagger["W_y"].tolist()})  # a list is an array like any other
    assert loss_list == call(tagger)[0]

    bi = models.init_bi_tagger("gru", D, K, H, rng)
    expect_value_error(lambda: models.bi_tagger_loss(bi, xs, tags[:1], cell="gru"), "tags", "expected (T, N) = (4, 2)")

    last = models.init_last_state_model("rnn", D, 3, H, rng)
    call = lambda ys, **kw: models.last_state_loss(last, xs, ys, cell="rnn", **kw)  # noqa: E731
    expect_value_error(lambda: call(np.zeros(N)), "ys", "ys has shape (2,), expected (N, K) = (2, 3)")
    expect_value_error(lambda: call(np.zeros((N, 3), np.float32)), "ys", "dtype float32")
    expect_value_error(lambda: call(np.zeros((N, 3), int), objective="cross_entropy"), "ys", "ys has shape (2, 3)")
    expect_value_error(lambda: call(np.array([0, 3]), objective="cross_entropy"), "ys", "ys[1] = 3")

    lm = models.init_char_lm("rnn", 5, H, rng)
    for temperature in (None, "1", -1.0, np.inf, np.nan, True):
        expect_value_error(lambda t=temperature: models.sample(lm, [1], 2, 0, cell="rnn", temperature=t), "temperature")
