"""Views of rnn_ref for the judge: what a graded function may use works, its own reference is not there."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rnn_checks
import rnn_ref
from grader import references
from grader.views import ViewMaker

KEYS = sorted(rnn_checks.SPECS)


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    return ViewMaker(Path(rnn_ref.__file__).parent, tmp_path_factory.mktemp("views"))


@pytest.mark.parametrize("key", KEYS)
def test_no_view_keeps_the_reference_of_the_function_it_grades(views, key):
    kept = views.kept(references.available(key))
    assert references.locate(key) not in kept
    for allowed in references.available(key):
        if not allowed.endswith(".*"):
            assert allowed in kept, f"{key} may use {allowed}, but its view would not keep it"


@pytest.mark.parametrize("key", ["lstm.lstm_forward", "rnn.rnn_backward", "bidirectional.bidirectional_backward"])
def test_the_graded_function_is_a_stub_in_the_written_view(views, key):
    located = references.locate(key)
    module, name = located.split(".")
    view = views.view(references.available(key), [located])
    tree = ast.parse((view.path / f"{module}.py").read_text())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name)
    assert len(function.body) == 2 and isinstance(function.body[1], ast.Raise)


def test_a_view_imports_like_rnn_ref_and_refuses_only_what_is_graded(views):
    view = views.view(references.available("lstm.lstm_forward"), [references.locate("lstm.lstm_forward")])
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(view.path.parent)!r})
        import numpy as np
        import rnn_ref
        assert rnn_ref.__file__.startswith({str(view.path)!r}), rnn_ref.__file__
        from rnn_ref import lstm, peephole
        import rnn_checks
        assert rnn_checks.__file__.startswith({str(view.path.parent / "rnn_checks")!r}), rnn_checks.__file__
        from rnn_ref.activations import sigmoid
        rng = np.random.default_rng(0)
        params = {{"W_x": rng.normal(size=(8, 3)), "W_h": rng.normal(size=(8, 2)), "b": rng.normal(size=8)}}
        h, c, cache = lstm.lstm_step_forward(rng.normal(size=(1, 3)), np.zeros((1, 2)), np.zeros((1, 2)), params)
        print("step", h.shape, type(cache).__name__)
        for call in (lambda: lstm.lstm_forward(None, None, None, params),
                     lambda: peephole.peephole_forward(None, None, None, params)):
            try:
                call()
            except RuntimeError as exc:
                print(type(exc).__name__, str(exc).split(" is not")[0])
        print("checks", rnn_checks.check(None, "lstm.lstm_forward"))
        """
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "step (1, 2) LSTMStepCache",
        "ReferenceUnavailable rnn_ref.lstm.lstm_forward",
        "ReferenceUnavailable rnn_ref.peephole.peephole_forward",
        "checks None",
    ]
