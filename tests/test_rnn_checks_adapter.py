"""One mistake costs points once: the reference's helper, bound while a function is graded, takes the student's
calling conventions, in the notebooks (rnn_checks.adapter) and in the judge's sandbox (grader/sandboxed/adapter.py).
And every function that returns gradients has a timed case."""

from __future__ import annotations

import traceback

import numpy as np
import pytest

import rnn_checks
from grader.sandboxed import adapter as sandboxed_adapter
from rnn_checks import adapter as notebook_adapter
from rnn_ref import lstm, rnn

IMPLEMENTATIONS = [notebook_adapter, sandboxed_adapter]


def _step_case(rng, N=2, D=3, H=4):
    params = {"W_x": rng.standard_normal((H, D)), "W_h": rng.standard_normal((H, H)), "b": rng.standard_normal(H)}
    return rng.standard_normal((N, D)), np.tanh(rng.standard_normal((N, H))), params


def _calls(rng):
    """(reference key, helper name, call args, call kwargs, own helper or None), as students write them."""
    x, h_prev, params = _step_case(rng)
    _, cache = rnn.rnn_step_forward(x, h_prev, params)
    dh = rng.standard_normal(h_prev.shape)

    def own_gate(x, h, Wx, Wh, b):
        return None

    W_x, W_h, b = (rng.standard_normal(shape) for shape in ((4, 3), (4, 4), (4,)))
    return [
        ("rnn.rnn_step_backward", (dh, tuple(cache)), {}, None),  # a plain tuple for the cache
        ("rnn.rnn_step_backward", (dh, list(cache)), {}, None),
        ("rnn.rnn_step_backward", (dh, dict(cache._asdict())), {}, None),  # a dict with the fields
        ("rnn.rnn_step_forward", (x[0], h_prev[0], params), {}, None),  # 1-D rows
        ("rnn.rnn_step_forward", (x.tolist(), h_prev.tolist(), params), {}, None),  # lists
        ("lstm.input_gate", (), {"x": x, "h": h_prev, "Wx": W_x, "Wh": W_h, "b": b}, own_gate),  # own keywords
        ("lstm.cell_state", (h_prev[0], h_prev[0], h_prev[0]), {"g": h_prev[0]}, None),
    ]


def _reference(key):
    module, name = key.split(".")
    return getattr({"rnn": rnn, "lstm": lstm}[module], name)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=["rnn_checks", "sandboxed"])
def test_the_reference_takes_the_students_conventions(implementation, rng):
    for key, args, kwargs, own in _calls(rng):
        helper = implementation.tolerant(_reference(key), rnn_checks.conventions(key), own, "outer")
        result = helper(*args, **kwargs)
        assert result is not None, key
    x, h_prev, params = _step_case(rng)
    helper = sandboxed_adapter.tolerant(rnn.rnn_step_forward, rnn_checks.conventions("rnn.rnn_step_forward"))
    h, _ = helper(x[1], h_prev[1], params)  # a row in, a row out
    np.testing.assert_allclose(h, rnn.rnn_step_forward(x, h_prev, params)[0][1])


def test_both_implementations_agree_call_by_call(rng):
    for key, args, kwargs, own in _calls(rng):
        results = [
            implementation.tolerant(_reference(key), rnn_checks.conventions(key), own, "outer")(*args, **kwargs)
            for implementation in IMPLEMENTATIONS
        ]
        flat = [rnn_checks.cases.arrays(result) for result in results]
        assert len(flat[0]) == len(flat[1]) > 0, key
        for a, b in zip(*flat, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=["rnn_checks", "sandboxed"])
def test_a_refusal_names_the_helper_and_the_call_never_rnn_refs_internals(implementation, rng):
    x, h_prev, params = _step_case(rng)
    helper = implementation.tolerant(
        rnn.rnn_step_forward, rnn_checks.conventions("rnn.rnn_step_forward"), None, "rnn_forward"
    )
    with pytest.raises(ValueError) as refused:
        helper(x, h_prev[:1], params)  # a batch of 2 and a state of 1
    message = str(refused.value)
    assert message.startswith("rnn_step_forward stands for rnn_ref's rnn_step_forward while rnn_forward is graded")
    assert "array(2, 3), array(1, 4), dict" in message and "h_prev" in message
    assert "_checks" not in message
    frames = traceback.extract_tb(refused.value.__traceback__)
    assert frames[-1].filename.endswith("adapter.py")  # raised by the adapter, not from inside rnn_ref
    with pytest.raises(TypeError, match="takes rnn_step_forward"):
        helper(x, h_prev, params["W_x"], params["W_h"], params["b"])  # another signature, not the reference's


def test_a_correct_outer_function_passes_with_a_wrong_helper_called_its_own_way(capsys):
    """In the notebook: rnn_backward calls its (wrong) step with a plain tuple; rnn_forward with 1-D rows."""
    namespace = {"np": np}
    exec(
        "def rnn_step_backward(dh, cache):\n"
        "    x, h_prev, h, params = cache\n"
        "    da = dh * (1 - h)  # wrong: tanh' is 1 - h**2\n"
        "    return da @ params['W_x'], da @ params['W_h'], {'W_x': da.T @ x, 'W_h': da.T @ h_prev, 'b': da.sum(0)}\n"
        "def rnn_backward(dhs, cache, dh_last=None):\n"
        "    xs, h_all, _, params = cache\n"
        "    dxs, grads = np.empty_like(xs), {k: np.zeros_like(v) for k, v in params.items()}\n"
        "    dh = np.zeros_like(h_all[0]) if dh_last is None else dh_last\n"
        "    for t in reversed(range(xs.shape[0])):\n"
        "        dxs[t], dh, step = rnn_step_backward(dhs[t] + dh, (xs[t], h_all[t], h_all[t + 1], params))\n"
        "        grads = {k: grads[k] + step[k] for k in grads}\n"
        "    return dxs, dh, grads\n"
        "def rnn_step_forward(x, h_prev, params):\n"
        "    return np.tanh(params['W_x'] @ x + params['W_h'] @ h_prev), None  # one sequence; wrong: no bias\n"
        "def rnn_forward(xs, h0, params, mask=None):\n"
        "    hs = np.empty(xs.shape[:2] + h0.shape[1:], dtype=xs.dtype)\n"
        "    for n in range(xs.shape[1]):\n"
        "        h = h0[n]\n"
        "        for t in range(xs.shape[0]):\n"
        "            h, _ = rnn_step_forward(xs[t, n], h, params)\n"
        "            hs[t, n] = h\n"
        "    return hs, hs[-1].copy(), None\n",
        namespace,
    )
    rnn_checks.check(namespace["rnn_backward"], "rnn.rnn_backward")
    rnn_checks.check(namespace["rnn_forward"], "rnn.rnn_forward")
    out = capsys.readouterr().out
    assert "✓ rnn_backward" in out and "✓ rnn_forward" in out
    with pytest.raises(rnn_checks.GradingFailure):
        rnn_checks.check(namespace["rnn_step_backward"], "rnn.rnn_step_backward")


def test_a_refused_call_is_reported_with_the_students_line_not_rnn_refs(rng):
    namespace = {"np": np}
    exec(
        "def rnn_step_forward(x, h_prev, params):\n"
        "    return None, None\n"
        "def rnn_forward(xs, h0, params, mask=None):\n"
        "    h, _ = rnn_step_forward(xs, h0, params)  # the whole sequence at once: refused\n"
        "    return h, h, None\n",
        namespace,
    )
    with pytest.raises(rnn_checks.GradingFailure) as failed:
        rnn_checks.check(namespace["rnn_forward"], "rnn.rnn_forward")
    message = " ".join(str(failed.value).split())  # the message is wrapped
    assert "rnn_step_forward stands for rnn_ref's rnn_step_forward while rnn_forward is graded" in message
    assert "line 4 of rnn_forward" in message and "_checks" not in message


# --- the timed case --------------------------------------------------------------------------------------------


def _returns_gradients(spec):
    return any(label and (label.startswith("d") or label.startswith("grads")) for label in spec.outputs)


@pytest.mark.parametrize("key", sorted(rnn_checks.SPECS))
def test_every_function_that_returns_gradients_has_a_timed_case(key):
    spec = rnn_checks.spec(key)
    case = rnn_checks.timed_case(key, seed=3)
    assert (case is not None) == _returns_gradients(spec), key
    if case is not None:
        assert case.dtype == np.float64
        inputs = sum(a.size for a in rnn_checks.cases.arrays((case.args, case.kwargs)))
        assert inputs >= 50_000, "too small to make numerical differentiation slow"
        again = rnn_checks.timed_case(key, seed=3)
        for a, b in zip(rnn_checks.cases.arrays(case.args), rnn_checks.cases.arrays(again.args), strict=True):
            np.testing.assert_array_equal(a, b)
