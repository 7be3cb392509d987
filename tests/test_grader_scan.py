"""The static scan: silent on the course's own solutions, loud on every trick of the hostile corpus."""

from __future__ import annotations

import nbformat
import pytest
from hostile.course import ROOT, assignments

from grader import scan
from grader.scan import scan_cells, scan_source

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


# --- crafted cells: the scan's work is bounded and what it cannot read is itself a flag --------------------------
# (How long the scan takes on each of them is measured by benchmarks/scan.py, not asserted here.)

BOMBS = {
    "line magics": lambda n: "%time pass\n" * (n // 11),
    "shell escapes": lambda n: "!ls\n" * (n // 4),
    "help lines": lambda n: "x?\n" * (n // 3),
    "operator chain": lambda n: "x = " + "+".join(["1"] * (n // 2 - 4)),
    "not chain": lambda n: "x = " + "not " * (n // 4 - 2) + "x",
    "unary chain": lambda n: "x = " + "-" * (n - 10) + "1",
    "lambda chain": lambda n: "lambda: " * (n // 8 - 1) + "1",
    "attribute chain assigned": lambda n: "a" + ".b" * (n // 2 - 4) + " = 1",
    "deep nesting": lambda n: ("f(" * 150 + ")" * 150 + "\n") * (n // 451),
    "flagged statements": lambda n: "a.b = 1\n" * (n // 8),
}


@pytest.fixture
def transform_passes(monkeypatch):
    """Counts IPython's passes over a cell (each one tokenizes the whole cell again) and the lines they read."""
    from IPython.core.inputtransformer2 import TransformerManager

    seen = {"passes": 0, "lines": 0}
    real = TransformerManager.do_one_token_transform

    def counting(self, lines):
        seen["passes"] += 1
        seen["lines"] += len(lines)
        return real(self, lines)

    monkeypatch.setattr(TransformerManager, "do_one_token_transform", counting)
    return seen


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_crafted_cell_is_flagged_within_bounded_work(bomb, transform_passes):
    """Never an exception, never silence: a flag to read the cell, and bounded passes of IPython over it."""
    source = BOMBS[bomb](scan.MAX_CELL_CHARS)
    assert len(source) <= scan.MAX_CELL_CHARS
    flags = scan_source(source, "solution f")
    assert flags, "a crafted cell went through without a flag"
    assert len(flags) <= scan.MAX_FLAGS_PER_CELL
    assert all(len(flag.message) < 300 for flag in flags)
    assert transform_passes["passes"] <= scan.MAX_MAGICS
    assert transform_passes["lines"] <= scan.MAX_MAGIC_LINES


def test_the_magic_bomb_of_the_audit_is_flagged_and_read_within_bounds(transform_passes):
    """77 KB of magics: IPython alone re-read it 500 times (79 s), then gave up and nothing was flagged."""
    cell = "%time pass\n" * 7000
    assert len(cell) == 77_000
    half = cell[:38_500] + "np.testing.assert_allclose = lambda *a, **k: None\n" + cell[:11_000]
    for source in (half, cell):
        flags = scan_source(source, "solution f")
        assert flags
    assert any("assigns np.testing.assert_allclose" in flag.message for flag in scan_source(half, "solution f"))
    assert transform_passes["lines"] <= 2 * scan.MAX_MAGIC_LINES


def test_a_trick_hidden_among_many_magics_is_still_flagged(transform_passes):
    source = "%time pass\n" * (3 * scan.MAX_MAGICS) + "import rnn_checks\nrnn_checks.check = print\n"
    messages = [flag.message for flag in scan_source(source, "solution f")]
    assert any("IPython magics" in message for message in messages), messages
    assert any("assigns rnn_checks.check" in message for message in messages), messages
    assert transform_passes["passes"] <= scan.MAX_MAGICS


def test_a_few_magics_are_read_as_ipython_reads_them():
    """Below the bounds nothing changes: the magic is read as the call it stands for."""
    messages = [flag.message for flag in scan_source("%time x = 1\nimport socket\n", "solution f")]
    assert any("get_ipython" in message for message in messages)
    assert any("network" in message for message in messages)


def test_a_whole_notebook_of_crafted_cells_is_read_within_its_budget(transform_passes):
    """400 cells of 50 KB (20 MB, the largest notebook the pre-check allows): bounded work, bounded flags."""
    cells = [
        {"index": i, "source": BOMBS[name](scan.MAX_CELL_CHARS), "role": "solution", "grade_id": ""}
        for i, name in zip(range(400), list(BOMBS) * 40, strict=False)
    ]
    flags = scan_cells(cells)
    assert len(flags) <= scan.MAX_FLAGS
    assert any("more code than the scan reads" in flag.message for flag in flags)
    assert transform_passes["lines"] <= scan.MAX_MAGIC_LINES


def test_a_cell_longer_than_the_scan_reads_is_flagged_unread():
    flags = scan_source("x = 1\n" * (scan.MAX_CELL_CHARS // 6 + 1), "solution f")
    assert [flag.message for flag in flags] == [
        f"is {6 * (scan.MAX_CELL_CHARS // 6 + 1)} characters long, more than the scan reads ({scan.MAX_CELL_CHARS}): "
        "read it"
    ]


def test_the_course_solutions_are_far_inside_the_bounds():
    """The bounds leave a wide margin to honest code: at least 10 times the largest solution notebook."""
    import ast

    for assignment in assignments():
        notebook = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        nodes = sum(len(list(ast.walk(ast.parse(s)))) for s in sources if not s.lstrip().startswith(("%", "!")))
        assert 10 * sum(map(len, sources)) <= scan.MAX_SCAN_CHARS, assignment
        assert 10 * max(map(len, sources)) <= scan.MAX_CELL_CHARS, assignment
        assert 10 * nodes <= scan.MAX_NODES, assignment


def test_the_similarity_reader_shares_the_bounds_on_magics(transform_passes):
    """grader.fingerprint reads cells with magics through the same bounded rewriting (it also ran 500 passes)."""
    from grader import fingerprint

    with pytest.raises(fingerprint.TooComplex, match="IPython magics"):
        fingerprint.parse("%time pass\n" * 7000)
    assert transform_passes["passes"] <= scan.MAX_MAGICS
    assert fingerprint.parse("%time x = 1\ny = 2\n") is not None
