"""An audit of the messages a student reads: realistic bugs on seven assignments, and what each message says.

Each bug is a text replacement in one solution cell, as a student would write it; the notebook is
run (in process, as tests/test_exercises.py does) and the failing test cell's message is read.
Every message must

* cost the points of its own function only;
* help: name a likely mistake, or run the function with one term at a time (and, when every such
  run is right, say what that implies);
* fit ``nbgrader validate``'s lines (83 characters after its indent; the first line 67, after
  ``GradingFailure: ``), so that no value is cut;
* give a ratio hint ("... times the expected value") only when the error is a constant factor;

and say the words listed for its bug (``must``), and none of those listed against it (``must_not``).
Correct variants (other ways of writing the right code) must pass.
"""

from __future__ import annotations

import pytest
from test_exercises import notebook, run_cells

from rnn_checks.report import HEADLINE_WIDTH, LINE_WIDTH

RATIO = "times the expected value"

# (assignment, grade_id, text of the solution, what the student wrote, words the message must hold,
# words it must not hold)
BUGS = [
    # --- 01 the RNN cell ---
    ("01_rnn_cell", "rnn_step_forward", "h = np.tanh(a)", "h = 1 / (1 + np.exp(-a))", ["sigmoid where"], [RATIO]),
    (
        "01_rnn_cell",
        "rnn_step_forward",
        "h = np.tanh(a)",
        "h = (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))",
        ["your tanh overflows for large inputs", "large pre-activations", "got nan"],
        [RATIO],
    ),
    (
        "01_rnn_cell",
        "rnn_step_forward",
        "h = np.tanh(a)",
        "h = (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1)",
        ["your tanh overflows", "np.tanh"],
        [RATIO],
    ),
    (
        "01_rnn_cell",
        "rnn_step_forward",
        'h_prev @ params["W_h"].T',
        'h_prev @ params["W_h"]',
        ["recurrent weights are transposed"],
        [RATIO],
    ),
    ("01_rnn_cell", "rnn_step_forward", '+ params["b"]  # (N, H)', "# (N, H)", ["the bias b is missing"], [RATIO]),
    (
        "01_rnn_cell",
        "rnn_step_forward",
        "h = np.tanh(a)",
        "h = np.tanh(a / 2)",
        ["one term at a time", "only the bias (x = 0, h_prev = 0): wrong"],
        [RATIO],
    ),
    (
        "01_rnn_cell",
        "rnn_forward",
        "rnn_step_forward(xs[t], h, params)",
        "rnn_step_forward(xs[t], h0, params)",
        ["not carried"],
        [RATIO],
    ),
    ("01_rnn_cell", "rnn_forward", "for t in range(T):", "for t in reversed(range(T)):", ["backward in time"], []),
    ("01_rnn_cell", "rnn_forward", "return hs, h, None", "return hs, h0, None", ["h_last is h0"], [RATIO]),
    (
        "01_rnn_cell",
        "rnn_forward",
        "h, _ = rnn_step_forward(xs[t], h, params)\n        hs[t] = h",
        "hs[t] = h\n        h, _ = rnn_step_forward(xs[t], h, params)",
        ["hs[t] holds the state before step t"],
        [RATIO],
    ),
    (
        "01_rnn_cell",
        "output_layer",
        "np.exp(logits - logits.max(axis=-1, keepdims=True))",
        "np.exp(logits)",
        ["your softmax overflows", "maximum"],
        [RATIO],
    ),
    (
        "01_rnn_cell",
        "output_layer",
        "e / e.sum(axis=-1, keepdims=True)",
        "e / e.sum(axis=0, keepdims=True)",
        ["normalizes over the time axis"],
        [RATIO],
    ),
    ("01_rnn_cell", "output_layer", "e / e.sum(axis=-1, keepdims=True)", "e / e.sum()", ["whole array"], [RATIO]),
    # each term alone is right, their combination is not
    (
        "01_rnn_cell",
        "rnn_step_forward",
        'a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, H)\n    h = np.tanh(a)',
        'h = np.tanh(x @ params["W_x"].T) + np.tanh(h_prev @ params["W_h"].T) + np.tanh(params["b"])',
        ["every run is right", "how they are put together"],
        [RATIO],
    ),
    # --- 02 BPTT ---
    (
        "02_bptt",
        "rnn_step_backward",
        "da = dh * (1 - cache.h**2)",
        "da = dh * (1 - np.tanh(cache.h) ** 2)",
        ["applies tanh twice"],
        [RATIO],
    ),
    ("02_bptt", "rnn_step_backward", "da = dh * (1 - cache.h**2)", "da = dh", ["tanh derivative is missing"], [RATIO]),
    (
        "02_bptt",
        "rnn_step_backward",
        "da = dh * (1 - cache.h**2)",
        "da = dh * (1 - cache.h_prev**2)",
        ["uses h_prev"],
        [RATIO],
    ),
    (
        "02_bptt",
        "rnn_step_backward",
        '"b": da.sum(axis=0)',
        '"b": da.mean(axis=0)',
        ["averaged over the batch"],
        [],
    ),
    ("02_bptt", "rnn_step_backward", '"b": da.sum(axis=0)', '"b": da.sum(axis=1)', ["grads['b'] has shape"], []),
    (
        "02_bptt",
        "rnn_step_backward",
        '"W_h": da.T @ cache.h_prev',
        '"W_h": cache.h_prev.T @ da',
        ["grads['W_h'] is transposed"],
        [RATIO],
    ),
    (
        "02_bptt",
        "rnn_step_backward",
        '"W_x": da.T @ cache.x',
        '"W_x": 2 * da.T @ cache.x',
        ["grads['W_x'] is 2 times the expected value"],
        [],
    ),
    (
        "02_bptt",
        "rnn_backward",
        "rnn_step_backward(dhs[t] + dh_next, step)",
        "rnn_step_backward(dhs[t], step)",
        ["gradient from later steps is dropped"],
        [RATIO],
    ),
    (
        "02_bptt",
        "rnn_backward",
        "grads[key] += step_grads[key]",
        "grads[key] = step_grads[key]",
        ["`=` where `+=`"],
        [RATIO],
    ),
    (
        "02_bptt",
        "rnn_backward",
        "dh_next = np.zeros_like(h_all[0]) if dh_last is None else dh_last",
        "dh_next = np.zeros_like(h_all[0])",
        ["dh_last is ignored"],
        [RATIO],
    ),
    (
        "02_bptt",
        "rnn_backward",
        "RNNStepCache(xs[t], h_all[t], h_all[t + 1], params)",
        "RNNStepCache(xs[t], h_all[t + 1], h_all[t + 1], params)",
        ["one term at a time"],
        [RATIO],
    ),
    (
        "02_bptt",
        "truncated_bptt",
        "dstate_last[0] if dstate_last is not None and stop == T else None",
        "dstate_last[0] if dstate_last is not None else None",
        ["added at the end of every window"],
        [RATIO],
    ),
    (
        "02_bptt",
        "truncated_bptt",
        "if start == 0:\n            dh0 = dh_start",
        "dh0 = dh_start",
        ["dstate0 comes from the last window"],
        [RATIO],
    ),
    (
        "02_bptt",
        "truncated_bptt",
        "grads[key] += window_grads[key]",
        "grads[key] = window_grads[key]",
        ["not summed"],
        [RATIO],
    ),
    # --- 04 LSTM ---
    (
        "04_lstm",
        "lstm_forget_gate",
        "return sigmoid(x @ W_xf.T + h_prev @ W_hf.T + b_f)",
        "a = x @ W_xf.T + h_prev @ W_hf.T + b_f\n    return np.exp(a) / (1 + np.exp(a))",
        ["your sigmoid overflows for large inputs"],
        [RATIO],
    ),
    (
        "04_lstm",
        "lstm_candidate",
        "h_prev @ W_hg.T",
        "h_prev @ W_hg",
        ["recurrent weights are transposed"],
        [RATIO],
    ),
    (
        "04_lstm",
        "lstm_output_gate",
        "return sigmoid(x @ W_xo.T + h_prev @ W_ho.T + b_o)",
        "return sigmoid(x @ W_xo.T + h_prev @ W_ho.T - b_o)",
        ["one term at a time", "only the bias (x = 0, h_prev = 0): wrong"],
        [RATIO],
    ),
    (
        "04_lstm",
        "lstm_cell_state",
        "return f * c_prev + i * g",
        "return f * c_prev + i * np.tanh(g)",
        ["tanh is applied to g again"],
        [RATIO],
    ),
    ("04_lstm", "lstm_hidden_state", "return o * np.tanh(c)", "return np.tanh(o * c)", ["o * c"], [RATIO]),
    (
        "04_lstm",
        "lstm_hidden_state",
        "return o * np.tanh(c)",
        "return o * (np.exp(c) - np.exp(-c)) / (np.exp(c) + np.exp(-c))",
        ["your tanh overflows"],
        [RATIO],
    ),
    (
        "04_lstm",
        "lstm_step_forward",
        "i = sigmoid(a[:, :H])\n    f = sigmoid(a[:, H : 2 * H])",
        "f = sigmoid(a[:, :H])\n    i = sigmoid(a[:, H : 2 * H])",
        ["in the order (f, i, g, o)"],
        [RATIO],
    ),
    (
        "04_lstm",
        "lstm_step_forward",
        "h = hidden_state(o, c)",
        "h = hidden_state(o, c_prev)",
        ["h uses the old cell state"],
        [RATIO],
    ),
    ("04_lstm", "lstm_forward", "hs[t] = h", "hs[t] = c", ["hs stores the cell states"], [RATIO]),
    ("04_lstm", "lstm_forward", "return hs, h, c, None", "return hs, c, h, None", ["swapped"], [RATIO]),
    # --- 05 GRU ---
    (
        "05_gru",
        "gru_update_gate",
        "return sigmoid(x @ W_xz.T + h_prev @ W_hz.T + b_z)",
        "return np.tanh(x @ W_xz.T + h_prev @ W_hz.T + b_z)",
        ["tanh where the update gate uses sigmoid"],
        [RATIO],
    ),
    (
        "05_gru",
        "gru_candidate",
        "b_n + r * (h_prev @ W_hn.T + b_hn)",
        "b_n + r * (h_prev @ W_hn.T) + b_hn",
        ["b_hn is added outside the reset"],
        [RATIO],
    ),
    (
        "05_gru",
        "gru_candidate",
        "(r * h_prev) @ W_hn.T + b_n)",
        "(r * h_prev) @ W_hn.T)",
        ["the bias b_n is missing"],
        [RATIO],
    ),
    (
        "05_gru",
        "gru_hidden_state",
        "return z * h_prev + (1 - z) * n",
        "return z * h_prev + n",
        ["not weighted by 1 - z"],
        [RATIO],
    ),
    (
        "05_gru",
        "gru_step_forward",
        "r = reset_gate(x, h_prev, W_x[:H], W_h[:H], b[:H])\n"
        "    z = update_gate(x, h_prev, W_x[H : 2 * H], W_h[H : 2 * H], b[H : 2 * H])",
        "r = reset_gate(x, h_prev, W_x[H : 2 * H], W_h[H : 2 * H], b[H : 2 * H])\n"
        "    z = update_gate(x, h_prev, W_x[:H], W_h[:H], b[:H])",
        ["in the order (z, r, n)"],
        [RATIO],
    ),
    (
        "05_gru",
        "gru_step_forward",
        'params.get("b_hn")',
        "None",
        ["b_hn is None", "reset_after=True"],
        [RATIO, "In every case"],
    ),
    # --- 07 bidirectional ---
    (
        "07_bidirectional",
        "reverse_sequences",
        "lengths[None, :] - 1 - t, t)",
        "lengths[None, :] - 1 - t, 0)",
        ["right at every valid step and wrong at the padded ones"],
        [RATIO],
    ),
    (
        "07_bidirectional",
        "bidirectional_forward",
        "as_tuple(state0_bwd), params_bwd",
        "as_tuple(state0_bwd), params_fwd",
        ["uses params_fwd"],
        [RATIO],
    ),
    (
        "07_bidirectional",
        "bidirectional_forward",
        "ys = (hs_fwd + hs_bwd) / 2",
        "ys = hs_fwd + hs_bwd",
        ["the merge is the sum where the mean is asked"],
        [],
    ),
    (
        "07_bidirectional",
        "bidirectional_forward",
        "xs_rev = reverse_sequences(xs, lengths)",
        "xs_rev = xs[::-1]",
        ["reverses the whole padded array"],
        [RATIO],
    ),
    # --- 08 the LSTM's gradients ---
    (
        "08_lstm_gates",
        "lstm_step_backward",
        "dc_total * g * i * (1 - i)",
        "dc_total * g * (1 - i**2)",
        ["right in the rows of gates f, g, o and wrong in the rows of i"],
        [RATIO],
    ),
    (
        "08_lstm_gates",
        "lstm_step_backward",
        "dh * cache.tanh_c * o * (1 - o)",
        "dh * cache.c * o * (1 - o)",
        ["the output gate's gradient uses c"],
        [RATIO],
    ),
    (
        "08_lstm_gates",
        "lstm_step_backward",
        "dc_total * i * (1 - g**2)",
        "dc_total * i * g * (1 - g)",
        ["the candidate's derivative"],
        [RATIO],
    ),
    (
        "08_lstm_gates",
        "lstm_step_backward",
        "dc_total = dc + dh * o * (1 - cache.tanh_c**2)",
        "dc_total = dc + dh * o * (1 - cache.c**2)",
        ["1 - c**2"],
        [RATIO],
    ),
    # x = 0 in the step worked out by hand: a wrong dW_x passes it, and the random cases name the factor
    (
        "08_lstm_gates",
        "lstm_step_backward",
        '"W_x": da.T @ cache.x',
        '"W_x": 2 * da.T @ cache.x',
        ["lstm_step_backward does not match the reference", "grads['W_x'] is 2 times the expected value"],
        [],
    ),
    (
        "08_lstm_gates",
        "lstm_backward",
        "lstm_step_backward(dhs[t] + dh, dc, step)",
        "lstm_step_backward(dhs[t] + dh, np.zeros_like(dc), step)",
        ["cell-state gradient is not carried"],
        [RATIO],
    ),
    (
        "08_lstm_gates",
        "lstm_backward",
        "dc = np.zeros_like(c_all[0]) if dc_last is None else dc_last",
        "dc = np.zeros_like(c_all[0])",
        ["only dc_last (dhs = 0, dh_last = 0): wrong"],
        [RATIO],
    ),
    # --- 10 the GRU's gradients, the bidirectional backward ---
    (
        "10_bigru",
        "gru_forward",
        "hs[t] = np.where(valid, h_new, 0)",
        "hs[t] = h",
        ["outputs at padded steps are not zero"],
        [RATIO],
    ),
    ("10_bigru", "gru_forward", "return hs, h, None", "return hs, hs[-1], None", ["h_last is hs[-1]"], [RATIO]),
    (
        "10_bigru",
        "gru_step_backward",
        "dh_prev = dh * z + du * r + drz @ W_h[: 2 * H]",
        "dh_prev = du * r + drz @ W_h[: 2 * H]",
        ["misses the direct path"],
        [RATIO],
    ),
    (
        "10_bigru",
        "gru_step_backward",
        "da_n = dh * (1 - z) * (1 - n**2)",
        "da_n = dh * z * (1 - n**2)",
        ["Likely mistake"],
        [RATIO],
    ),
    # passes the step worked out by hand (W_h = 0 there): the random cases, run before the gradient
    # checker, name the mistake
    (
        "10_bigru",
        "gru_step_backward",
        "du = da_n @ W_h[2 * H :]",
        "du = da_n @ W_h[2 * H :].T",
        ["gru_step_backward does not match the reference", "wrong in the rows of r"],
        [RATIO, "gradient check"],
    ),
    (
        "10_bigru",
        "bidirectional_backward",
        "dhs_fwd = dhs_bwd = dys / 2",
        "dhs_fwd = dhs_bwd = dys",
        ["the mean merge halves the gradient"],
        [],
    ),
    (
        "10_bigru",
        "bidirectional_backward",
        "gru_backward(dhs_fwd, cache.cache_fwd, dlast_fwd)",
        "gru_backward(dhs_fwd, cache.cache_fwd, dlast_bwd)",
        ["dlast_fwd"],
        [RATIO],
    ),
]

# Other ways of writing the right code: each must pass.
CORRECT = [
    ("01_rnn_cell", "rnn_step_forward", "h = np.tanh(a)", "h = np.tanh(a).astype(x.dtype)"),
    ("01_rnn_cell", "output_layer", "logits.max(axis=-1, keepdims=True)", "logits.max()"),
    ("02_bptt", "rnn_step_backward", "da = dh * (1 - cache.h**2)", "da = dh * (1 - cache.h) * (1 + cache.h)"),
    ("02_bptt", "rnn_backward", "for t in reversed(range(T)):", "for t in range(T - 1, -1, -1):"),
    # the textbook sigmoid: right values (exp overflows to inf, and 1 / inf = 0), with NumPy's warning
    (
        "04_lstm",
        "lstm_input_gate",
        "return sigmoid(x @ W_xi.T + h_prev @ W_hi.T + b_i)",
        "return 1 / (1 + np.exp(-(x @ W_xi.T + h_prev @ W_hi.T + b_i)))",
    ),
    ("04_lstm", "lstm_cell_state", "return f * c_prev + i * g", "return i * g + f * c_prev"),
    ("05_gru", "gru_hidden_state", "return z * h_prev + (1 - z) * n", "return n + z * (h_prev - n)"),
    ("08_lstm_gates", "lstm_backward", "for t in reversed(range(T)):", "for t in range(T - 1, -1, -1):"),
    ("10_bigru", "gru_forward", "dtype=xs.dtype)", "dtype=h0.dtype)"),
]

ASSIGNMENTS = sorted({bug[0] for bug in BUGS})


def test_the_audit_covers_seven_assignments_with_realistic_bugs():
    assert len(ASSIGNMENTS) == 7 and len(BUGS) >= 50
    assert all(sum(bug[0] == a for bug in BUGS) >= 4 for a in ASSIGNMENTS)


def flat(text):
    return " ".join(text.split())


def fits_nbgrader_validate(message):
    """The lines nbgrader validate would cut (it indents by 4 and cuts past 87 characters)."""
    body = message.split(": ", 1)[1] if message.startswith("GradingFailure: ") else message
    lines = body.split("\n")
    too_long = [line for line in lines[1:] if len(line) > LINE_WIDTH]
    if len(lines[0]) > HEADLINE_WIDTH:
        too_long.insert(0, lines[0])
    return too_long


@pytest.mark.parametrize(
    ("assignment", "grade_id", "old", "new", "must", "must_not"),
    BUGS,
    ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BUGS)],
)
def test_a_realistic_bug_gets_a_message_that_helps(assignment, grade_id, old, new, must, must_not):
    outcome = run_cells(notebook("solutions", assignment), replace=(grade_id, old, new))
    failed = {cell: error for cell, error in outcome.items() if error is not None}
    assert list(failed) == [f"test_{grade_id}"], failed
    message = failed[f"test_{grade_id}"]
    assert message.startswith("GradingFailure: "), message
    assert fits_nbgrader_validate(message) == [], message
    text = flat(message)
    assert "Likely mistake" in text or "one term at a time" in text or " raised " in text, message
    if "every run is right" in text:
        assert "how they are put together" in text and "the state passed from one step to the next" in text
    missing = [words for words in must if words not in text]
    assert not missing, f"{missing} not in:\n{message}"
    unwanted = [words for words in must_not if words in text]
    assert not unwanted, f"{unwanted} in:\n{message}"


@pytest.mark.parametrize(
    ("assignment", "grade_id", "old", "new"), CORRECT, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CORRECT)]
)
def test_a_correct_variant_passes(assignment, grade_id, old, new):
    outcome = run_cells(notebook("solutions", assignment), replace=(grade_id, old, new))
    assert all(error is None for error in outcome.values()), outcome
