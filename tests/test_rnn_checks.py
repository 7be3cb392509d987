"""rnn_checks, the notebooks' side: what the exercise notebooks call to grade a student's function.

The student functions here are written out in this file (never imported from rnn_ref,
which the grader refuses), as a student would write them.
"""

import re
import warnings

import numpy as np
import pytest

import rnn_checks as testing
from rnn_checks import cases as _cases
from rnn_checks import compare as _compare
from rnn_checks import mistakes as _mistakes
from rnn_checks import running as _student
from rnn_checks import specs as _specs
from rnn_ref.activations import sigmoid


def rnn_step_forward(x, h_prev, params):
    h = np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"])
    return h, None


def input_gate(x, h_prev, W_xi, W_hi, b_i):
    return sigmoid(x @ W_xi.T + h_prev @ W_hi.T + b_i)


def failure(fn, key, grade=False, flat=True):
    """The message of the GradingFailure that checking ``fn`` raises (``flat``: its lines joined by spaces).

    Messages are wrapped to the width of ``nbgrader validate``; a phrase may straddle two lines.
    """
    with pytest.raises(testing.GradingFailure) as info:
        (testing.grade if grade else testing.check)(fn, key)
    return " ".join(str(info.value).split()) if flat else str(info.value)


# --- a correct function passes; the cases cover the edge sizes -------------------------------------------


def test_correct_function_passes_visible_and_graded_cases(capsys):
    testing.check(rnn_step_forward, "rnn.rnn_step_forward")
    testing.grade(rnn_step_forward, "rnn.rnn_step_forward")
    out = capsys.readouterr().out
    assert out.count("✓ rnn_step_forward agrees with the reference") == 2


def test_cases_include_one_sequence_one_step_float32_and_square_weights():
    for hidden in (False, True):
        shapes = _cases.HIDDEN_SHAPES if hidden else _cases.VISIBLE_SHAPES
        assert any(d["N"] == 1 for d, _ in shapes) and any(d["T"] == 1 for d, _ in shapes)
        assert {np.dtype(t) for _, t in shapes} == {np.dtype(np.float32), np.dtype(np.float64)}
        assert any(d["D"] == d["H"] for d, _ in shapes)  # a transposed W_x runs, and is recognized
    labels = [case.label for case in _cases.cases(_specs.SPECS["rnn.rnn_backward"], hidden=False)]
    assert len(labels) == len(set(labels)) == 2 * len(_cases.VISIBLE_SHAPES)  # every variant on every shape


def test_graded_cases_differ_from_visible_cases():
    spec = _specs.SPECS["lstm.input_gate"]
    visible = _cases.cases(spec, hidden=False)
    hidden = _cases.cases(spec, hidden=True)
    assert not any(
        np.array_equal(v.args[0], h.args[0]) for v in visible for h in hidden if v.args[0].shape == h.args[0].shape
    )


def test_backward_cases_get_caches_from_the_reference_forward():
    case = _cases.cases(_specs.SPECS["lstm.lstm_step_backward"], hidden=False)[0]
    dh, dc, cache = case.args
    from rnn_ref import lstm

    h, c, fresh = lstm.lstm_step_forward(cache.x, cache.h_prev, cache.c_prev, cache.params)
    np.testing.assert_array_equal(fresh.gates, cache.gates)  # activations agree with pre-activations


# --- the report: every failing case, which output, where, expected and got ---------------------------------


def test_visible_report_names_output_index_expected_got_and_relative_error():
    def wrong_for_float32(x, h_prev, params):
        h, _ = rnn_step_forward(x, h_prev, params)
        return (h * 1.5 if x.dtype == np.float32 else h), None

    message = failure(wrong_for_float32, "rnn.rnn_step_forward")
    assert "2 of 5 random cases fail" in message  # 4 cases and 1 with large pre-activations; 2 in float32
    match = re.search(
        r"h: \d+ of \d+ entries differ; worst at h\[\d, \d\], relative error ([\d.e+-]+) \(expected (\S+), got (\S+)\)",
        message,
    )
    assert match, message
    assert float(match.group(1)) == pytest.approx(0.5, rel=1e-6)
    assert float(match.group(3)) == pytest.approx(1.5 * float(match.group(2)), rel=1e-4)
    assert "float32" in message and "1.5 times the expected value" in message


def test_every_failing_case_is_reported_in_one_message():
    def wrong_unless_one_sequence(x, h_prev, params):
        h, _ = rnn_step_forward(x, h_prev, params)
        return (h if x.shape[0] == 1 else -h), None

    message = failure(wrong_unless_one_sequence, "rnn.rnn_step_forward", grade=True)
    every = _cases.cases(_specs.SPECS["rnn.rnn_step_forward"], hidden=True)
    failing = [c.label for c in every if "N=1," not in c.label]
    assert f"{len(failing)} of {len(every)} graded cases fail" in message
    assert all(label in message for label in failing)


def test_graded_report_withholds_every_input_and_expected_value():
    def wrong_bias(x, h_prev, params):
        return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + 2 * params["b"]), None

    message = failure(wrong_bias, "rnn.rnn_step_forward", grade=True)
    assert "do not show input or expected values" in message and "expected" not in message.replace(
        "expected values", ""
    )
    numbers = re.findall(r"\d+\.\d+(?:e[+-]\d+)?", message)
    assert all(len(n.split("e")[0].replace(".", "").lstrip("0")) <= 2 for n in numbers), numbers
    secrets = np.concatenate(
        [
            a.ravel()
            for case in _cases.cases(_specs.SPECS["rnn.rnn_step_forward"], hidden=True)
            for a in _cases.arrays(case.args)
        ]
    )
    for number in numbers:  # relative errors, two digits: none is an input value to that precision by design
        assert not np.any(np.abs(secrets - float(number)) < 1e-12)


def test_exception_is_reported_once_with_the_line_and_a_hint():
    def transposed_input_weights(x, h_prev, params):
        a = x @ params["W_x"] + h_prev @ params["W_h"].T + params["b"]
        return np.tanh(a), None

    message = failure(transposed_input_weights, "rnn.rnn_step_forward")
    assert message.count("raised ValueError: matmul") == 2  # two shape groups among the cases with D != H
    assert 'of transposed_input_weights: a = x @ params["W_x"]' in message
    assert "Hint: a matrix product has mismatched shapes" in message
    assert "the input weights are transposed" in message  # recognized where D = H lets it run


def test_not_implemented_stub_is_named():
    def stub(x, h_prev, params):
        raise NotImplementedError("delete this line")

    message = failure(stub, "rnn.rnn_step_forward")
    assert "stub is not written yet" in message and "In every case" in message
    with pytest.raises(testing.GradingFailure, match="stub is not written yet"):
        testing.check_example(stub, "rnn.rnn_step_forward", (np.ones((1, 1)), np.ones((1, 1)), {}), {"h": [[0.0]]})


def test_check_example_refuses_modified_arguments_and_calls_of_the_reference():
    from rnn_ref import rnn

    def modifies(x, h_prev, params):
        x *= 1.0
        h_prev += 1.0
        return rnn_step_forward(x, h_prev - 1.0, params)

    args = (np.ones((1, 1)), np.zeros((1, 1)), {"W_x": np.ones((1, 1)), "W_h": np.ones((1, 1)), "b": np.zeros(1)})
    with pytest.raises(testing.GradingFailure, match="modifies its argument h_prev in place"):
        testing.check_example(modifies, "rnn.rnn_step_forward", args, {"h": np.tanh([[1.0]])})
    with pytest.raises(testing.GradingFailure, match="calls rnn_ref.rnn.rnn_step_forward"):
        testing.check_example(
            lambda *a: rnn.rnn_step_forward(*a), "rnn.rnn_step_forward", args, {"h": np.tanh([[1.0]])}
        )


def test_wrong_dtype_is_named():
    def float64_always(x, h_prev, params):
        h, _ = rnn_step_forward(x.astype(np.float64), h_prev.astype(np.float64), params)
        return h, None

    message = failure(float64_always, "rnn.rnn_step_forward")
    assert "h has dtype float64, expected float32" in message


def test_wrong_number_of_returned_values_is_named():
    message = failure(lambda x, h_prev, params: rnn_step_forward(x, h_prev, params)[0], "rnn.rnn_step_forward")
    assert "returned one ndarray of shape" in message and "expected 2 values: h, cache" in message


def test_modifying_an_argument_fails_and_names_it():
    def in_place(x, h_prev, params):
        h_prev *= 1.0
        h_prev += 0.0  # same values, but the caller's array was written
        params["b"][0] = params["b"][0]
        x[...] = x
        return rnn_step_forward(x, h_prev, params)

    def really_in_place(dh, cache):
        dh *= 2
        return student_rnn_step_backward(dh / 2, cache)

    message = failure(really_in_place, "rnn.rnn_step_backward")
    assert "modifies its argument dh in place" in message and "`dh = dh + ...`" in message

    def clip_in_place(grads, max_norm):
        total = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
        for g in grads.values():
            g *= min(1.0, max_norm / (total + 1e-6))
        return grads, total

    message = failure(clip_in_place, "clip.clip_grad_norm")
    assert "modifies its argument grads['W_x'] in place" in message and "a new dict" in message
    testing.check(in_place, "rnn.rnn_step_forward")  # writing equal values is no modification


def student_rnn_step_backward(dh, cache):
    da = dh * (1 - cache.h**2)
    grads = {"W_x": da.T @ cache.x, "W_h": da.T @ cache.h_prev, "b": da.sum(axis=0)}
    return da @ cache.params["W_x"], da @ cache.params["W_h"], grads


# --- the likely mistake: typical mistakes, and one term at a time ------------------------------------------


def _all_mistakes():
    return [(key, i) for key in _specs.SPECS for i in range(len(_mistakes.for_key(key)))]


@pytest.mark.parametrize(("key", "index"), _all_mistakes())
def test_every_typical_mistake_is_recognized_by_name(key, index, monkeypatch):
    """Each mistaken version fails, and the message names its mistake."""
    mistake = _mistakes.for_key(key)[index]
    # The mistaken versions are built from rnn_ref pieces: let them call the reference here.
    monkeypatch.setattr(_student, "is_reference_file", lambda filename: False)
    message = failure(mistake.fn, key)
    assert mistake.hint in message, message


def test_every_graded_function_has_typical_mistakes():
    assert all(len(_mistakes.for_key(key)) >= 3 for key in _specs.SPECS)


def test_two_mistakes_at_once_are_both_named():
    def sigmoid_without_bias(x, h_prev, params):
        return sigmoid(x @ params["W_x"].T + h_prev @ params["W_h"].T), None

    message = failure(sigmoid_without_bias, "rnn.rnn_step_forward")
    assert "sigmoid where the RNN uses tanh" in message and "the bias b is missing" in message


def test_one_term_at_a_time_points_at_the_wrong_term():
    def doubled_input_term(x, h_prev, W_xi, W_hi, b_i):  # no typical mistake: the isolation speaks
        return sigmoid(2 * x @ W_xi.T + h_prev @ W_hi.T + b_i)

    message = failure(doubled_input_term, "lstm.input_gate")
    assert "Likely mistake" not in message
    assert "only the bias (x = 0, h_prev = 0): right" in message
    assert "only the input term (h_prev = 0, b_i = 0): wrong" in message
    assert "only the recurrent term (x = 0, b_i = 0): right" in message


def test_gate_blocks_in_the_wrong_order_are_named_in_a_gradient():
    from rnn_ref import lstm

    def blocks_swapped(dh, dc, cache):
        dx, dh_prev, dc_prev, grads = lstm.lstm_step_backward(dh, dc, cache)
        H = dh.shape[1]
        order = np.r_[0:H, H : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]  # i, f, o, g
        return dx, dh_prev, dc_prev, {"W_x": grads["W_x"][order], "W_h": grads["W_h"], "b": grads["b"]}

    hints = []
    spec = _specs.SPECS["lstm.lstm_step_backward"]
    for case in _cases.cases(spec, hidden=False):
        expected = _cases.reference_outputs(spec, case)
        outputs = blocks_swapped(*case.args)
        for problem in _compare.compare_all(spec, expected, outputs, case.dtype):
            hints += _mistakes.output_hints(spec, problem, dict(zip(spec.outputs, expected, strict=True)), case)
    assert "grads['W_x'] has the right gate blocks in the wrong order: yours are (i, f, o, g)" in " ".join(
        hint.text for hint in hints
    )


# --- what a function may call, and what it builds on --------------------------------------------------------


def test_the_reference_itself_earns_nothing():
    from rnn_ref.lstm import input_gate as imported

    message = failure(imported, "lstm.input_gate")
    assert "imported from the reference" in message


def test_a_function_that_calls_the_reference_earns_nothing():
    from rnn_ref import rnn

    def wrapper(x, h_prev, params):
        return rnn.rnn_step_forward(x, h_prev, params)

    message = failure(wrapper, "rnn.rnn_step_forward")
    assert "wrapper calls rnn_ref.rnn.rnn_step_forward" in message and "earns nothing" in message


def test_the_helpers_an_exercise_gives_may_be_called(capsys):
    from rnn_ref.cells import sequence_forward
    from rnn_ref.masks import mask_to_lengths, reverse_sequences

    namespace = {"np": np, "sequence_forward": sequence_forward, "mask_to_lengths": mask_to_lengths}
    namespace["reverse_sequences"] = lambda xs, lengths: reverse_sequences(xs, lengths)  # the student's own
    exec(
        "def bidirectional_forward(cell, xs, pf, pb, mask=None, merge='concat', *, state0_fwd=None,\n"
        "                          state0_bwd=None, **kw):\n"
        "    two = cell in ('lstm', 'peephole')\n"
        "    s_f = None if state0_fwd is None else tuple(state0_fwd) if two else (state0_fwd,)\n"
        "    s_b = None if state0_bwd is None else tuple(state0_bwd) if two else (state0_bwd,)\n"
        "    T, N, _ = xs.shape\n"
        "    lengths = np.full(N, T) if mask is None else mask_to_lengths(mask)\n"
        "    f, l_f, _ = sequence_forward(cell, xs, s_f, pf, mask, **kw)\n"
        "    r, l_b, _ = sequence_forward(cell, reverse_sequences(xs, lengths), s_b, pb, mask, **kw)\n"
        "    b = reverse_sequences(r, lengths)\n"
        "    ys = np.concatenate([f, b], -1) if merge == 'concat' else (f + b) / (2 if merge == 'mean' else 1)\n"
        "    return ys, l_f if two else l_f[0], l_b if two else l_b[0], None\n",
        namespace,
    )
    testing.check(namespace["bidirectional_forward"], "bidirectional.bidirectional_forward")
    assert "✓" in capsys.readouterr().out


def test_a_function_is_graded_with_the_reference_versions_of_what_it_builds_on(capsys):
    """A wrong step costs points in the step only: the sequence runs with the reference step."""
    namespace = {"np": np}
    exec(
        "def rnn_step_forward(x, h_prev, params):\n"
        "    return 1 / (1 + np.exp(-(x @ params['W_x'].T + h_prev @ params['W_h'].T + params['b']))), None\n"
        "def rnn_forward(xs, h0, params, mask=None):\n"
        "    hs, h = [], h0\n"
        "    for t in range(xs.shape[0]):\n"
        "        h, _ = rnn_step_forward(xs[t], h, params)\n"
        "        hs.append(h)\n"
        "    return np.stack(hs), h, None\n",
        namespace,
    )
    failure(namespace["rnn_step_forward"], "rnn.rnn_step_forward")
    testing.check(namespace["rnn_forward"], "rnn.rnn_forward")
    assert namespace["rnn_step_forward"].__code__.co_filename == "<string>"  # the notebook's own function is back
    assert "✓ rnn_forward" in capsys.readouterr().out


def test_own_helpers_are_used_when_they_do_not_fit_the_reference_api(capsys):
    """A correct function built on a helper with another signature still passes."""
    namespace = {"np": np}
    exec(
        "def rnn_step_forward(x, h_prev, W_x, W_h, b):\n"  # not the reference's signature
        "    return np.tanh(x @ W_x.T + h_prev @ W_h.T + b)\n"
        "def rnn_forward(xs, h0, params, mask=None):\n"
        "    hs, h = [], h0\n"
        "    for t in range(xs.shape[0]):\n"
        "        h = rnn_step_forward(xs[t], h, params['W_x'], params['W_h'], params['b'])\n"
        "        hs.append(h)\n"
        "    return np.stack(hs).astype(xs.dtype), h, None\n",
        namespace,
    )
    testing.check(namespace["rnn_forward"], "rnn.rnn_forward")
    assert "✓ rnn_forward" in capsys.readouterr().out


# --- examples worked out by hand, and small helpers ----------------------------------------------------------


def test_check_example_compares_the_values_given(capsys):
    x, h_prev = np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
    W_x, W_h = np.array([[0.5, 0.0], [0.0, -1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
    b = np.array([np.log(3) - 1, -np.log(3)])
    testing.check_example(input_gate, "lstm.input_gate", args=(x, h_prev, W_x, W_h, b), expected={"i": [[0.75, 0.25]]})
    assert "the example agrees" in capsys.readouterr().out
    with pytest.raises(testing.GradingFailure, match=r"i: 1 of 2 entries differ; worst at i\[0, 1\]"):
        testing.check_example(
            input_gate, "lstm.input_gate", args=(x, h_prev, W_x, W_h, b), expected={"i": [[0.75, 0.3]]}
        )


def test_a_warning_does_not_fail_a_correct_function(capsys):
    def noisy(x, h_prev, params):
        warnings.warn("a harmless warning", RuntimeWarning, stacklevel=1)
        return rnn_step_forward(x, h_prev, params)

    testing.check(noisy, "rnn.rnn_step_forward")
    captured = capsys.readouterr()
    assert "✓" in captured.out and "Warning" not in captured.err


def test_unknown_reference_is_a_value_error_with_a_suggestion():
    with pytest.raises(ValueError, match="did you mean lstm.input_gate or peephole.input_gate"):
        testing.check(input_gate, "input_gate")


def test_passing_a_result_instead_of_the_function_is_explained():
    with pytest.raises(testing.GradingFailure, match="Pass the function without calling it"):
        testing.check(np.zeros(3), "lstm.input_gate")


def test_assert_close_names_the_worst_entry():
    testing.assert_close("dW", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    with pytest.raises(testing.GradingFailure, match=r"dW: 1 of 2 entries differ; worst at dW\[1\].*expected 2, got 3"):
        testing.assert_close("dW", np.array([1.0, 3.0]), np.array([1.0, 2.0]))


# --- issue 11: mistakes as data, the judge's text, overflow, ratios, the width of nbgrader validate -------------


def _judge_failures(fn, key, seed=7):
    """The failing cases of ``fn`` as a judge collects them (here the runs are made in process)."""
    from rnn_checks import judge as _judge

    failures, every = [], _judge.judge_cases(key, seed)
    spec = _specs.SPECS[key]
    for case in every:
        expected = testing.expected_outputs(key, case)
        run = _student.run_case(fn, spec, case, lambda o, e=expected, c=case: _compare.compare_all(spec, e, o, c.dtype))
        if not run.passed:
            failures.append((case, run, expected))
    return failures, len(every)


def test_explain_writes_the_text_of_the_notebooks_graded_test():
    """The judge's reason and the notebook's hidden test say the same (same cases, same one-term-at-a-time runs)."""
    from rnn_checks import judge as _judge

    def no_bias(x, h_prev, params):
        return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T), None

    key = "rnn.rnn_step_forward"
    spec = _specs.SPECS[key]
    every = _cases.cases(spec, hidden=True)
    failures = []
    for case in every:
        expected = _cases.reference_outputs(spec, case)
        run = _student.run_case(
            no_bias, spec, case, lambda o, e=expected, c=case: _compare.compare_all(spec, e, o, c.dtype)
        )
        failures.append((case, run, expected))
    notebook_text = failure(no_bias, key, grade=True, flat=False)
    assert _judge.explain(key, "no_bias", failures, len(every)) == notebook_text
    assert "the bias b is missing" in " ".join(notebook_text.split())


def test_explain_says_what_every_right_one_term_run_implies():
    failures, n = _judge_failures(
        lambda x, h_prev, params: (np.tanh(x @ params["W_x"].T) * 0.5, None), "rnn.rnn_step_forward"
    )
    isolations = [("only the bias (x = 0, h_prev = 0)", True), ("only the input term (h_prev = 0, b = 0)", True)]
    text = " ".join(testing.explain("rnn.rnn_step_forward", "f", failures, n, isolations).split())
    assert "every run is right" in text and "how they are put together" in text
    assert "the state passed from one step to the next" in text


def test_mistakes_of_gives_ids_hints_and_the_books_section():
    def no_bias(x, h_prev, params):
        return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T), None

    failures, _ = _judge_failures(no_bias, "rnn.rnn_step_forward")
    found = testing.mistakes_of("rnn.rnn_step_forward", failures)
    assert [m["id"] for m in found] == ["the-bias-b-is-missing"]
    assert found[0]["hint"].startswith("the bias b is missing")
    assert found[0]["section"] == "book/01_rnn_cell.html#one-step-the-equation"

    def stub(x, h_prev, params):
        raise NotImplementedError("write me")

    failures, _ = _judge_failures(stub, "rnn.rnn_step_forward")
    assert [m["id"] for m in testing.mistakes_of("rnn.rnn_step_forward", failures)] == ["not-written"]


def test_two_mistakes_at_once_are_two_mistakes_as_data():
    def two(x, h_prev, params):
        return sigmoid(x @ params["W_x"].T + h_prev @ params["W_h"].T), None

    failures, _ = _judge_failures(two, "rnn.rnn_step_forward")
    assert [m["id"] for m in testing.mistakes_of("rnn.rnn_step_forward", failures)] == [
        "sigmoid-where-the-rnn-uses-tanh",
        "the-bias-b-is-missing",
    ]


def test_every_mistake_id_is_unique_within_its_function_and_every_function_has_a_section():
    for key in _specs.SPECS:
        ids = [m.id for m in _mistakes.for_key(key)] + [m.id for m in _mistakes.pairs_for_key(key)]
        assert len(ids) == len(set(ids)), key
        assert re.fullmatch(r"book/\d\d_\w+\.html#[a-z0-9-]+", _mistakes.section_of(key)), key


def _naive_sigmoid(a):
    return np.exp(a) / (1 + np.exp(a))  # NaN above about 88 in float32


def _naive_tanh(a):
    return (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1)  # NaN above about 44 in float32


def _naive_gate(x, h_prev, W_x, W_h, b):
    return _naive_sigmoid(x @ W_x.T + h_prev @ W_h.T + b)


def _naive_peephole_gate(x, h_prev, c, W_x, W_h, b, p):
    return _naive_sigmoid(x @ W_x.T + h_prev @ W_h.T + b + p * c)


def _naive_lstm_step(x, h_prev, c_prev, params):
    i, f, g, o = np.split(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"], 4, axis=1)
    c = _naive_sigmoid(f) * c_prev + _naive_sigmoid(i) * _naive_tanh(g)
    return _naive_sigmoid(o) * _naive_tanh(c), c, None


def _naive_peephole_step(x, h_prev, c_prev, params):
    i, f, g, o = np.split(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"], 4, axis=1)
    c = _naive_sigmoid(f + params["p_f"] * c_prev) * c_prev + _naive_sigmoid(i + params["p_i"] * c_prev) * np.tanh(g)
    return _naive_sigmoid(o + params["p_o"] * c) * np.tanh(c), c, None


def _naive_gru_candidate(x, h_prev, r, W_xn, W_hn, b_n, b_hn=None, reset_after=False):
    if reset_after:
        return _naive_tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + b_hn))
    return _naive_tanh(x @ W_xn.T + (r * h_prev) @ W_hn.T + b_n)


def _naive_gru_step(x, h_prev, params, reset_after=False):
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    a_r, a_z, a_n = np.split(x @ W_x.T + b, 3, axis=1)
    W_hr, W_hz, W_hn = np.split(W_h, 3, axis=0)
    r, z = _naive_sigmoid(a_r + h_prev @ W_hr.T), _naive_sigmoid(a_z + h_prev @ W_hz.T)
    if reset_after:
        n = np.tanh(a_n + r * (h_prev @ W_hn.T + params["b_hn"]))
    else:
        n = np.tanh(a_n + (r * h_prev) @ W_hn.T)
    return z * h_prev + (1 - z) * n, None


def _naive_output_layer(hs, W_y, b_y):
    e = np.exp(hs @ W_y.T + b_y)  # no shift by the maximum
    return e / e.sum(axis=-1, keepdims=True)


def _naive_cross_entropy(logits, targets, mask=None):
    valid = np.ones(targets.shape, bool) if mask is None else mask
    y = np.where(valid, targets, 0)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))  # no shift by the maximum
    M = valid.sum()
    loss = -np.sum(np.take_along_axis(log_p, y[..., None], -1)[..., 0] * valid) / M
    d = np.exp(log_p)
    np.put_along_axis(d, y[..., None], np.take_along_axis(d, y[..., None], -1) - 1, -1)
    return logits.dtype.type(loss), (d * valid[..., None] / M).astype(logits.dtype)


# A textbook activation written with np.exp, in every function that computes one: what a student may write.
NAIVE = {
    "rnn.rnn_step_forward": lambda x, h_prev, params: (
        _naive_tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]),
        None,
    ),
    "rnn.output_layer": _naive_output_layer,
    "lstm.input_gate": _naive_gate,
    "lstm.forget_gate": _naive_gate,
    "lstm.candidate": lambda x, h_prev, W_x, W_h, b: _naive_tanh(x @ W_x.T + h_prev @ W_h.T + b),
    "lstm.output_gate": _naive_gate,
    "lstm.hidden_state": lambda o, c: o * _naive_tanh(c),
    "lstm.lstm_step_forward": _naive_lstm_step,
    "gru.reset_gate": _naive_gate,
    "gru.update_gate": _naive_gate,
    "gru.candidate": _naive_gru_candidate,
    "gru.gru_step_forward": _naive_gru_step,
    "peephole.input_gate": _naive_peephole_gate,
    "peephole.forget_gate": _naive_peephole_gate,
    "peephole.output_gate": _naive_peephole_gate,
    "peephole.peephole_step_forward": _naive_peephole_step,
    "losses.softmax_cross_entropy": _naive_cross_entropy,
}


def test_every_function_that_computes_an_activation_gets_large_pre_activations():
    assert sorted(NAIVE) == sorted(k for k, s in _specs.SPECS.items() if s.large)
    for key, spec in _specs.SPECS.items():
        if spec.large:
            for hidden in (False, True):
                large = [c for c in _cases.cases(spec, hidden) if c.label.endswith("large pre-activations")]
                assert len(large) == len(spec.variants) and all(c.dtype == np.float32 for c in large), key


@pytest.mark.parametrize("key", sorted(NAIVE))
def test_a_textbook_activation_that_overflows_is_caught_and_named(key):
    """Right on every ordinary case, NaN on the large one: the message names the overflow and the fix."""
    spec = _specs.SPECS[key]
    for case in _cases.cases(spec, hidden=False):
        if "large" not in case.label:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outputs = NAIVE[key](*case.args, **case.kwargs)
            outputs = (outputs,) if len(spec.outputs) == 1 else outputs
            assert not _compare.compare_all(spec, _cases.reference_outputs(spec, case), outputs, case.dtype), key
    message = failure(NAIVE[key], key)
    assert "large pre-activations" in message and "overflows for large inputs" in message, message
    assert "Likely mistake: * your " in message, message


def test_a_textbook_sigmoid_with_right_values_passes_with_a_note(capsys):
    def input_gate_(x, h_prev, W_xi, W_hi, b_i):
        return 1 / (1 + np.exp(-(x @ W_xi.T + h_prev @ W_hi.T + b_i)))  # exp overflows to inf; 1 / inf = 0

    testing.check(input_gate_, "lstm.input_gate")
    out = " ".join(capsys.readouterr().out.split())
    assert "✓ input_gate_ agrees" in out and "Note: your sigmoid overflows for large inputs" in out


def test_a_ratio_is_never_read_from_fewer_than_four_entries():
    e = np.array([[2.0]])
    assert _mistakes.ratio_hint("h", [(e, 0.812 * e)]) is None  # one entry: any number is a multiple of another
    e = np.arange(1.0, 7.0).reshape(2, 3)
    assert "2 times the expected value" in _mistakes.ratio_hint("h", [(e, 2 * e)]).text
    assert _mistakes.ratio_hint("h", [(e, 2 * e), (e, e + 1)]) is None  # not constant in every case
    hint = _mistakes.ratio_hint("db", [(e, e / 2), (e, e / 3)])
    assert hint.id == "size-dependent-factor"


def test_every_line_fits_nbgrader_validate():
    """nbgrader validate indents by 4 and cuts past 87 characters: no line may lose its values."""
    from rnn_checks.report import HEADLINE_WIDTH, LINE_WIDTH

    def wrong_everywhere(x, h_prev, params):
        return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]) * 1.2345678, None

    message = failure(wrong_everywhere, "rnn.rnn_step_forward", flat=False)
    lines = message.split("\n")
    assert len(lines[0]) <= HEADLINE_WIDTH and all(len(line) <= LINE_WIDTH for line in lines), message
    assert re.search(r"\(expected -?\d\S*, got -?\d\S*\)", message)  # kept whole, on one line
