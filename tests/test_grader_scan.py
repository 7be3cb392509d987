"""The static scan: silent on the course's own solutions, loud on every trick of the hostile corpus."""

from __future__ import annotations

import nbformat
import pytest
from hostile.course import ROOT, assignments

from grader.scan import scan_source

TRICKS = {
    "np.testing.assert_allclose = lambda *a, **k: None": "assigns np.testing.assert_allclose",
    "import rnn_checks\nrnn_checks.check = print": "assigns rnn_checks.check",
    "get_ipython().input_transformers_cleanup.append(f)": "input_transformers_cleanup",
    "get_ipython().set_custom_exc((Exception,), h)": "set_custom_exc",
    "from rnn_ref.lstm import lstm_forward": "imports lstm_forward from rnn_ref.lstm",
    "from rnn_ref.rnn import RNNCache, rnn_backward": "imports rnn_backward from rnn_ref.rnn",
    "from rnn_ref.cells import CELLS": "imports CELLS from rnn_ref.cells",  # data that holds the functions
    "from rnn_ref import lstm": "imports lstm from rnn_ref",
    "from rnn_ref.optim import Adam": "imports Adam from rnn_ref.optim",
    "import rnn_ref.rnn as r": "imports rnn_ref.rnn",
    "import os\nos._exit(0)": "os._exit",
    "import sys\nsys.setprofile(None)": "setprofile",
    "open('/work/main/gradebook.db').read()": "outside the working directory",
    "open('../../solutions/a.ipynb')": "outside the working directory",
    "import socket": "network",
    "exec(code)": "calls exec",
    "!curl example.org": "shell command",
    "def f(x):\n    return f.__globals__['ref'](x)": "__globals__",
}


@pytest.mark.parametrize("code", list(TRICKS), ids=lambda code: code.splitlines()[-1][:40])
def test_every_trick_is_flagged(code):
    flags = scan_source(code, "solution f")
    assert any(TRICKS[code] in flag.message for flag in flags), flags


def _solutions():
    for assignment in assignments():
        notebook = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                yield f"{assignment}/{meta['grade_id']}", cell.source


@pytest.mark.parametrize("label, source", list(_solutions()), ids=lambda value: str(value)[:40])
def test_the_course_solutions_raise_no_flag(label, source):
    assert scan_source(source, label) == []


@pytest.mark.parametrize(
    "code",
    [
        "from rnn_ref.rnn import RNNCache, RNNStepCache",
        "from rnn_ref.lstm import LSTMStepCache, GATES",
        "from rnn_ref.gru import GRUCache, PARAM_SPECS",
        "from rnn_ref.bidirectional import BidirectionalCache",
        "from rnn_ref.activations import sigmoid",
    ],
)
def test_importing_data_of_the_reference_is_not_suspicious(code):
    """A cache (a NamedTuple class) or a constant computes nothing: a student may build one (issue 11)."""
    assert scan_source(code, "solution f") == []


def test_a_syntax_error_is_not_suspicious():
    assert scan_source("def f(:\n    pass", "solution f") == []
