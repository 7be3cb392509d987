"""Honest variants: notebooks written the way students write them, each right where its own tests say so.

Each :class:`Variant` is the honest submission of an assignment (the release with the solution code
typed in) rewritten the way a student could have written it: helpers of their own (redefined later,
or named like a variable that a later test cell defines), statements before a ``def``, their own
calling conventions for a helper that is wrong, loops instead of vectorized code, IPython magics.
``passes`` says which test cells pass in the notebook itself (every one unless a helper is wrong on
purpose); ``tests/test_grader_agreement.py`` checks that the notebook run by ``nbgrader validate``,
the feedback and the judge's points all say the same, cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat


@dataclass
class Variant:
    name: str
    assignment: str
    what: str
    edits: tuple  # (grade_id of a solution cell, old text, new text); old "" puts new at the top
    fails: tuple = ()  # test cells that fail in the notebook itself (a helper that is wrong on purpose)
    after_test: tuple = ()  # (grade_id of a test cell, code of a cell the student added after it)


def make(kit, variant):
    """The honest notebook of ``kit`` with the variant's edits, in order; each edit must apply."""
    notebook = kit.honest()
    for grade_id, old, new in variant.edits:
        cell = kit.cell(notebook, grade_id)
        if old == "":
            cell.source = new + "\n\n\n" + cell.source
            continue
        assert old in cell.source, (variant.name, grade_id, old)
        cell.source = cell.source.replace(old, new, 1)
    for grade_id, code in variant.after_test:
        position = notebook.cells.index(kit.cell(notebook, grade_id)) + 1
        notebook.cells.insert(position, nbformat.v4.new_code_cell(code))
    return notebook


_LSTM_GATES = (
    ("lstm_input_gate", "x @ W_xi.T + h_prev @ W_hi.T + b_i", "affine(x, h_prev, W_xi, W_hi, b_i)"),
    ("lstm_forget_gate", "x @ W_xf.T + h_prev @ W_hf.T + b_f", "affine(x, h_prev, W_xf, W_hf, b_f)"),
    ("lstm_candidate", "x @ W_xg.T + h_prev @ W_hg.T + b_g", "affine(x, h_prev, W_xg, W_hg, b_g)"),
    ("lstm_output_gate", "x @ W_xo.T + h_prev @ W_ho.T + b_o", "affine(x, h_prev, W_xo, W_ho, b_o)"),
)

VARIANTS = [
    Variant(
        "helper_redefined",
        "04_lstm",
        "the gates share a helper affine(x, h, W_x, W_h, b); the step cell defines another affine(x, h_prev, params)",
        (
            (
                "lstm_input_gate",
                "",
                'def affine(x, h, W_x, W_h, b):\n    """The pre-activation of one gate."""\n'
                "    return x @ W_x.T + h @ W_h.T + b",
            ),
            *_LSTM_GATES,
            (
                "lstm_step_forward",
                "",
                'def affine(x, h_prev, params):\n    """The four stacked pre-activations."""\n'
                '    return x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]',
            ),
            (
                "lstm_step_forward",
                'a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]',
                "a = affine(x, h_prev, params)",
            ),
        ),
    ),
    Variant(
        "helper_named_like_a_test_variable",
        "04_lstm",
        "candidate calls a helper g, and the test cell of cell_state later sets g to a list",
        (
            ("lstm_candidate", "return np.tanh(", "return g("),
            ("lstm_candidate", "", 'def g(a):\n    """The candidate\'s squashing function."""\n    return np.tanh(a)'),
        ),
    ),
    Variant(
        "keywords_of_own_signature",
        "04_lstm",
        "gates with parameter names of their own, called by keyword from the step; forget_gate is wrong (tanh)",
        (
            ("lstm_input_gate", "def input_gate(x, h_prev, W_xi, W_hi, b_i):", "def input_gate(x, h, Wx, Wh, b):"),
            ("lstm_input_gate", "x @ W_xi.T + h_prev @ W_hi.T + b_i", "x @ Wx.T + h @ Wh.T + b"),
            ("lstm_forget_gate", "def forget_gate(x, h_prev, W_xf, W_hf, b_f):", "def forget_gate(x, h, Wx, Wh, b):"),
            (
                "lstm_forget_gate",
                "return sigmoid(x @ W_xf.T + h_prev @ W_hf.T + b_f)",
                "return np.tanh(x @ Wx.T + h @ Wh.T + b)",
            ),
            ("lstm_candidate", "def candidate(x, h_prev, W_xg, W_hg, b_g):", "def candidate(x, h, Wx, Wh, b):"),
            ("lstm_candidate", "x @ W_xg.T + h_prev @ W_hg.T + b_g", "x @ Wx.T + h @ Wh.T + b"),
            ("lstm_output_gate", "def output_gate(x, h_prev, W_xo, W_ho, b_o):", "def output_gate(x, h, Wx, Wh, b):"),
            ("lstm_output_gate", "x @ W_xo.T + h_prev @ W_ho.T + b_o", "x @ Wx.T + h @ Wh.T + b"),
            (
                "lstm_step_forward",
                """    a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, 4H)
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    c = cell_state(f, c_prev, i, g)
    h = hidden_state(o, c)""",
                """    def rows(k):
        block = slice(k * H, (k + 1) * H)
        return {"Wx": params["W_x"][block], "Wh": params["W_h"][block], "b": params["b"][block]}

    i = input_gate(x=x, h=h_prev, **rows(0))
    f = forget_gate(x=x, h=h_prev, **rows(1))
    g = candidate(x=x, h=h_prev, **rows(2))
    o = output_gate(x=x, h=h_prev, **rows(3))
    c = cell_state(f=f, c_prev=c_prev, i=i, g=g)
    h = hidden_state(o=o, c=c)""",
            ),
        ),
        fails=("test_lstm_forget_gate",),
    ),
    Variant(
        "statement_before_def_calls_an_import",
        "02_bptt",
        "a statement before the first def runs rnn_forward, which the notebook imports (not allowed in that function)",
        (
            (
                "rnn_step_backward",
                "",
                'hs, _, _ = rnn_forward(np.ones((2, 1, 3)), np.zeros((1, 2)), {"W_x": np.ones((2, 3)), '
                '"W_h": np.eye(2), "b": np.zeros(2)})  # trying the imported forward\n'
                'print("the states:", hs.ravel())',
            ),
        ),
    ),
    Variant(
        "tuple_cache_for_a_wrong_helper",
        "02_bptt",
        "rnn_backward passes its step a plain tuple as the cache; the step (which unpacks it) forgets the square",
        (
            (
                "rnn_step_backward",
                "da = dh * (1 - cache.h**2)  # (N, H)",
                "x, h_prev, h, params = cache\n    da = dh * (1 - h)  # (N, H)",
            ),
            (
                "rnn_backward",
                "step = RNNStepCache(xs[t], h_all[t], h_all[t + 1], params)",
                "step = (xs[t], h_all[t], h_all[t + 1], params)",
            ),
        ),
        fails=("test_rnn_step_backward",),
    ),
    Variant(
        "magic_and_loop_over_units",
        "02_bptt",
        "%%time on top of the rnn_backward cell; the step's weight gradients one hidden unit at a time",
        (
            (
                "rnn_step_backward",
                'grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}',
                "grads = {key: np.zeros_like(value) for key, value in cache.params.items()}\n"
                "    for j in range(da.shape[1]):  # one hidden unit at a time\n"
                '        grads["W_x"][j] = da[:, j] @ cache.x\n'
                '        grads["W_h"][j] = da[:, j] @ cache.h_prev\n'
                '        grads["b"][j] = da[:, j].sum()',
            ),
            ("rnn_backward", "", "%%time"),
        ),
    ),
    Variant(
        "rows_for_a_wrong_helper",
        "01_rnn_cell",
        "rnn_forward calls the step one sequence at a time on 1-D rows; that step forgets the bias",
        (
            (
                "rnn_step_forward",
                'a = x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]  # (N, H)',
                'a = params["W_x"] @ x + params["W_h"] @ h_prev  # one sequence: x (D,), h_prev (H,)',
            ),
            (
                "rnn_forward",
                """    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(xs[t], h, params)
        hs[t] = h
    return hs, h, None""",
                """    for n in range(N):  # one sequence at a time
        h = h0[n]
        for t in range(T):
            h, _ = rnn_step_forward(xs[t, n], h, params)
            hs[t, n] = h
    return hs, hs[-1].copy(), None""",
            ),
        ),
        fails=("test_rnn_step_forward",),
    ),
    Variant(
        "wrong_recurrent_term",
        "01_rnn_cell",
        "the step halves its recurrent term, a mistake no recognizer names: one term at a time says which",
        (("rnn_step_forward", 'h_prev @ params["W_h"].T', '0.5 * h_prev @ params["W_h"].T'),),
        fails=("test_rnn_step_forward",),
    ),
    Variant(
        "redefined_after_its_test",
        "01_rnn_cell",
        "after the step's test, a cell of the student's own tries another step (without tanh) under the same name",
        (),
        after_test=(
            (
                "test_rnn_step_forward",
                "# Trying something else (not graded): the step without its tanh\n"
                "def rnn_step_forward(x, h_prev, params):\n"
                '    return x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"], None',
            ),
        ),
    ),
    Variant(
        "compares_with_the_reference_first",
        "01_rnn_cell",
        "before its def, the step's cell imports rnn_ref's step and prints a comparison (after the def)",
        (
            (
                "rnn_step_forward",
                "",
                "from rnn_ref.rnn import rnn_step_forward as reference_step\n\n"
                "x_try, h_try = np.ones((1, 3)), np.zeros((1, 2))\n"
                'p_try = {"W_x": np.ones((2, 3)), "W_h": np.eye(2), "b": np.zeros(2)}\n'
                'print("reference:", reference_step(x_try, h_try, p_try)[0])',
            ),
        ),
    ),
    Variant(
        "display_before_def",
        "01_rnn_cell",
        "display() (which IPython gives every cell, no import) shows something before the step's def",
        (("rnn_step_forward", "", "display(np.zeros(2))  # a look at something, as one does in Jupyter"),),
    ),
    Variant(
        "writes_a_module_of_its_own",
        "01_rnn_cell",
        "a cell of the student's own writes softmax into my_layers.py (%%writefile); output_layer imports it",
        (("output_layer", "", "from my_layers import softmax"),),
        after_test=(
            (
                "test_rnn_forward",
                "%%writefile my_layers.py\nimport numpy as np\n\n\ndef softmax(a):\n"
                "    e = np.exp(a - a.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)\n",
            ),
        ),
    ),
    Variant(
        "times_with_an_assignment_magic",
        "01_rnn_cell",
        "after the def, the step's cell times it with t = %timeit -o (IPython syntax inside a line)",
        (
            (
                "rnn_step_forward",
                "    return h, (x, h_prev, h, params)",
                "    return h, (x, h_prev, h, params)\n\n\n"
                'timing = %timeit -o rnn_step_forward(np.ones((4, 3)), np.zeros((4, 2)), {"W_x": np.ones((2, 3)), '
                '"W_h": np.eye(2), "b": np.zeros(2)})',
            ),
        ),
    ),
    Variant(
        "loops_over_batch_and_time",
        "08_lstm_gates",
        "the step's gradients one row of the batch at a time; BPTT calls the step on one row at a time",
        (
            (
                "lstm_step_backward",
                """    H = dh.shape[1]
    i, f, g, o = (cache.gates[:, k * H : (k + 1) * H] for k in range(4))""",
                """    H = dh.shape[1]
    if dh.shape[0] > 1:  # one row of the batch at a time
        rows = []
        for n in range(dh.shape[0]):
            row = LSTMStepCache(*(v[n : n + 1] for v in cache[:6]), cache.params)
            rows.append(lstm_step_backward(dh[n : n + 1], dc[n : n + 1], row))
        grads = {key: sum(r[3][key] for r in rows) for key in cache.params}
        return tuple(np.concatenate([r[k] for r in rows]) for k in range(3)) + (grads,)
    i, f, g, o = (cache.gates[:, k * H : (k + 1) * H] for k in range(4))""",
            ),
            (
                "lstm_backward",
                """        step = LSTMStepCache(xs[t], h_all[t], c_all[t], gates[t], c_all[t + 1], tanh_c[t], params)
        dxs[t], dh, dc, step_grads = lstm_step_backward(dhs[t] + dh, dc, step)
        for key in grads:
            grads[key] += step_grads[key]""",
                """        dh_step, dc_step = dhs[t] + dh, dc
        dh, dc = np.empty_like(dh_step), np.empty_like(dc_step)
        for n in range(xs.shape[1]):  # one sequence at a time
            one = slice(n, n + 1)
            step = LSTMStepCache(
                xs[t, one], h_all[t, one], c_all[t, one], gates[t, one], c_all[t + 1, one], tanh_c[t, one], params
            )
            dxs[t, one], dh[one], dc[one], step_grads = lstm_step_backward(dh_step[one], dc_step[one], step)
            for key in grads:
                grads[key] += step_grads[key]""",
            ),
        ),
    ),
]
