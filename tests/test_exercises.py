"""The nbgrader exercises, checked without nbgrader (fast): sources, structure, and grading in process.

tests/test_exercises_nbgrader.py runs the same notebooks through nbgrader itself.
"""

import contextlib
import importlib.util
import io
import re
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


make_notebooks = _load("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
ASSIGNMENTS = list(make_notebooks.ASSIGNMENTS)

# A typical mistake per row: (assignment, grade_id of the function, text of the solution, replacement,
# words the message must contain). Each must cost the points of its own function and no other.
BUGS = [
    (
        "01_rnn_cell",
        "rnn_step_forward",
        "h = np.tanh(a)",
        "h = 1 / (1 + np.exp(-a))",
        "sigmoid where the RNN uses tanh",
    ),
    (
        "01_rnn_cell",
        "rnn_forward",
        "rnn_step_forward(xs[t], h, params)",
        "rnn_step_forward(xs[t], h0, params)",
        "not carried",
    ),
    ("01_rnn_cell", "output_layer", "logits = hs @ W_y.T + b_y", "logits = hs @ W_y.T", "the bias b_y is missing"),
    ("02_bptt", "rnn_step_backward", 'da @ cache.params["W_h"]', 'da @ cache.params["W_h"].T', "dh_prev = da @ W_h.T"),
    ("02_bptt", "rnn_backward", "for t in reversed(range(T)):", "for t in range(T):", "loop runs forward in time"),
    ("02_bptt", "truncated_bptt", "h = h_end", "h = state0[0]", "every window starts from state0"),
    ("03_vanishing_exploding", "jacobian_norms", "P = J @ P", "P = P @ J", "the newest Jacobian goes on the left"),
    (
        "03_vanishing_exploding",
        "clip_grad_norm",
        "min(1.0, max_norm / (total_norm + 1e-6))",
        "max_norm / (total_norm + 1e-6)",
        "always rescaled",
    ),
    (
        "03_vanishing_exploding",
        "clip_grad_value",
        "np.clip(g, -clip_value, clip_value)",
        "np.minimum(g, clip_value)",
        "only the upper bound",
    ),
    ("04_lstm", "lstm_candidate", "return np.tanh(", "return sigmoid(", "sigmoid where the candidate uses tanh"),
    (
        "04_lstm",
        "lstm_step_forward",
        "g = np.tanh(a[:, 2 * H : 3 * H])\n    o = sigmoid(a[:, 3 * H :])",
        "o = sigmoid(a[:, 2 * H : 3 * H])\n    g = np.tanh(a[:, 3 * H :])",
        "in the order (i, f, o, g)",
    ),
    (
        "04_lstm",
        "lstm_forward",
        "lstm_step_forward(xs[t], h, c, params)",
        "lstm_step_forward(xs[t], h, c0, params)",
        "cell state is not carried",
    ),
    ("04_lstm", "lstm_cell_state", "return f * c_prev + i * g", "return i * c_prev + f * g", "i and f are swapped"),
    ("05_gru", "gru_candidate", "(r * h_prev) @ W_hn.T", "r * (h_prev @ W_hn.T)", "wrong side of the matmul"),
    ("05_gru", "gru_hidden_state", "z * h_prev + (1 - z) * n", "(1 - z) * h_prev + z * n", "z and 1 - z are swapped"),
    ("05_gru", "gru_reset_gate", "h_prev @ W_hr.T + b_r", "h_prev @ W_hr.T", "the bias b_r is missing"),
    ("06_peephole", "peephole_output_gate", "+ p_o * c + b_o", "+ b_o", "the peephole term p * c is missing"),
    (
        "06_peephole",
        "peephole_step_forward",
        "output_gate(x, h_prev, c,",
        "output_gate(x, h_prev, c_prev,",
        "looks at c_prev",
    ),
    ("06_peephole", "peephole_input_gate", "+ p_i * c_prev + b_i)", "+ b_i) + p_i * c_prev", "after the sigmoid"),
    (
        "07_bidirectional",
        "reverse_sequences",
        "return xs[index, np.arange(N)[None, :]]",
        "return xs[::-1]",
        "whole padded array",
    ),
    ("07_bidirectional", "bidirectional_forward", "[hs_fwd, hs_bwd]", "[hs_bwd, hs_fwd]", "[backward, forward]"),
    (
        "07_bidirectional",
        "bidirectional_forward",
        "hs_bwd = reverse_sequences(hs_rev, lengths)",
        "hs_bwd = hs_rev",
        "time order",
    ),
    ("08_lstm_gates", "lstm_step_backward", "dc_total * f, grads", "dc_total, grads", "misses the forget gate"),
    (
        "08_lstm_gates",
        "lstm_step_backward",
        "dc_total = dc + dh * o * (1 - cache.tanh_c**2)",
        "dc_total = dc",
        "path through h",
    ),
    (
        "08_lstm_gates",
        "lstm_backward",
        "grads[key] += step_grads[key]",
        "grads[key] = step_grads[key]",
        "`=` where `+=`",
    ),
    (
        "08_lstm_gates",
        "lstm_backward",
        "for t in reversed(range(T)):",
        "for t in range(T):",
        "loop runs forward in time",
    ),
    ("09_bilstm", "softmax_cross_entropy", "M = valid.sum()", "M = valid.size", "counts the padded steps"),
    (
        "09_bilstm",
        "bi_tagger_logits",
        'return ys @ params["W_y"].T + params["b_y"]',
        'return ys @ params["W_y"].T',
        "b_y is missing",
    ),
    (
        "09_bilstm",
        "bi_tagger_loss",
        "scored = loss_mask if mask is None else mask & loss_mask",
        "pass",
        "loss_mask is ignored",
    ),
    ("10_bigru", "gru_forward", "h = np.where(valid, h_new, h)", "h = h_new", "padded steps update the state"),
    ("10_bigru", "gru_step_backward", "da_z = dh * (h_prev - n)", "da_z = dh * (n - h_prev)", "wrong sign"),
    ("10_bigru", "gru_backward", "grads[key] += step_grads[key]", "grads[key] = step_grads[key]", "`=` where `+=`"),
    (
        "10_bigru",
        "bidirectional_backward",
        "dhs_rev = reverse_sequences(dhs_bwd, cache.lengths)",
        "dhs_rev = dhs_bwd",
        "gradient is not reversed",
    ),
]


def notebook(kind, assignment):
    return nbformat.read(ROOT / kind / assignment / f"{assignment}.ipynb", as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def run_cells(nb, replace=None):
    """Execute a notebook's code cells in one namespace; the outcome of every graded test cell.

    ``replace`` is (grade_id, old, new): a text replacement in that cell first.
    Returns {grade_id: None if the cell passed, else the error message}.
    """
    namespace = {"__name__": "__main__"}
    outcome = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source, meta = cell.source, nbgrader_meta(cell)
        if replace and meta.get("grade_id") == replace[0]:
            assert replace[1] in source, f"{replace[1]!r} is not in {replace[0]}"
            source = source.replace(replace[1], replace[2], 1)
        error = None
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, f"<cell {cell.id}>", "exec"), namespace)
        except Exception as exc:  # a failing test cell is what some tests look for
            error = f"{type(exc).__name__}: {exc}"
        if meta.get("grade"):
            outcome[meta["grade_id"]] = error
    return outcome


# --- what is stored ------------------------------------------------------------------------------------------


def test_all_ten_assignments_have_a_source_a_solution_and_a_release():
    assert ASSIGNMENTS == [
        "01_rnn_cell",
        "02_bptt",
        "03_vanishing_exploding",
        "04_lstm",
        "05_gru",
        "06_peephole",
        "07_bidirectional",
        "08_lstm_gates",
        "09_bilstm",
        "10_bigru",
    ]
    for name in ASSIGNMENTS:
        assert (ROOT / "exercises_src" / f"{name}.py").is_file()
        assert sorted(p.name for p in (ROOT / "solutions" / name).iterdir()) == [f"{name}.ipynb"]
        assert sorted(p.name for p in (ROOT / "exercises" / name).iterdir()) == [f"{name}.ipynb"]


def test_solutions_are_generated_from_the_authoring_sources():
    assert make_notebooks.main(["--check"]) == 0


@pytest.mark.parametrize("kind", ["solutions", "exercises"])
def test_notebooks_are_stored_without_outputs(kind):
    for name in ASSIGNMENTS:
        for cell in notebook(kind, name).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (name, cell.id)


def test_nbgrader_config_sets_the_course_layout_stub_timeout_and_warning_filter():
    config = Config()
    exec(
        (ROOT / "nbgrader_config.py").read_text(),
        {"get_config": lambda: config, "__file__": str(ROOT / "nbgrader_config.py")},
    )
    assert config.CourseDirectory.root == str(ROOT)
    assert (config.CourseDirectory.source_directory, config.CourseDirectory.release_directory) == (
        "solutions",
        "exercises",
    )
    assert {"*.md", "*.py", "*draft*"} <= set(config.CourseDirectory.ignore)
    assert "raise NotImplementedError(" in config.ClearSolutions.code_stub["python"]
    assert 0 < config.Execute.timeout <= 120
    assert config.IgnorePattern.enabled
    assert re.search(config.IgnorePattern.pattern, "<ipython>:3: RuntimeWarning: overflow encountered in exp\n")
    assert not re.search(config.IgnorePattern.pattern, "Traceback (most recent call last):\nValueError: bad")


# --- one task per function ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_each_function_is_a_task_with_a_test_cell_and_its_own_points(name):
    cells = notebook("solutions", name).cells
    ids = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids))
    solutions = [c for c in cells if nbgrader_meta(c).get("solution")]
    tests = [c for c in cells if nbgrader_meta(c).get("grade")]
    assert [f"test_{nbgrader_meta(c)['grade_id']}" for c in solutions] == [nbgrader_meta(c)["grade_id"] for c in tests]
    for solution, test in zip(solutions, tests, strict=True):
        function = re.match(r"def (\w+)\(", solution.source).group(1)
        assert test.source.startswith(f'"""{function}: ')  # one concern per cell, said in its docstring
        assert f"rnn_checks.check({function}, " in test.source
        assert nbgrader_meta(test)["locked"] and nbgrader_meta(test)["points"] >= 1
    total = sum(nbgrader_meta(c)["points"] for c in tests)
    header = next(c for c in cells if c.id == "header").source
    assert f"It has {len(tests)} graded functions worth **{total} points** in all" in header


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_tests_are_one_line_calls_holding_no_values(name):
    for cell in notebook("solutions", name).cells:
        if nbgrader_meta(cell).get("grade"):
            hidden = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
            assert len(hidden) == 1, cell.id
            assert re.fullmatch(r'rnn_checks\.grade\(\w+, "[\w.]+"\)\n', hidden[0]), hidden[0]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_stubs_keep_the_signature_and_docstring_and_hide_the_tests(name):
    source = {nbgrader_meta(c)["grade_id"]: c.source for c in notebook("solutions", name).cells if nbgrader_meta(c)}
    for cell in notebook("exercises", name).cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            signature_and_docstring = source[meta["grade_id"]].split("### BEGIN SOLUTION")[0].rstrip()
            assert cell.source.startswith(signature_and_docstring)
            assert cell.source.rstrip().endswith(
                'raise NotImplementedError("delete this line, write the function, then run the test cell below")'
            )
        if meta.get("grade"):
            assert "rnn_checks.grade(" not in cell.source and "HIDDEN" not in cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_each_notebook_links_its_chapter(name):
    chapter = ROOT / "book" / f"{name}.md"
    for kind in ("solutions", "exercises"):
        text = "\n".join(c.source for c in notebook(kind, name).cells if c.cell_type == "markdown")
        links = re.findall(r"\]\((\.\./\.\./book/[\w.]+)\)", text)
        assert f"../../book/{name}.md" in links
        assert set(links) == {f"../../book/{name}.md"}  # each exercise links its own chapter
    assert chapter.is_file(), f"{chapter} (the chapter this exercise links) does not exist"


def test_the_header_tells_how_to_install_open_test_and_read_the_messages():
    header = next(c for c in notebook("exercises", "01_rnn_cell").cells if c.id == "header").source
    for words in (
        "pip install -e '.[grade]'",
        "jupyter lab exercises/",
        "run the cell below each function",
        "likely",
        "nbgrader validate",
    ):
        assert words in header


# --- grading in process: the solutions pass, the release fails, each bug costs its function -------------------


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_pass_every_test_cell(name):
    outcome = run_cells(notebook("solutions", name))
    assert outcome and all(error is None for error in outcome.values()), outcome


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_untouched_release_fails_every_test_cell_saying_it_is_not_written(name):
    outcome = run_cells(notebook("exercises", name))
    for grade_id, error in outcome.items():
        assert error is not None and "is not written yet" in error, grade_id


def test_every_assignment_has_at_least_three_typical_bugs():
    counts = {name: sum(bug[0] == name for bug in BUGS) for name in ASSIGNMENTS}
    assert min(counts.values()) >= 3, counts


@pytest.mark.parametrize(
    ("name", "grade_id", "old", "new", "words"), BUGS, ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BUGS)]
)
def test_a_typical_bug_fails_only_its_own_function_and_is_named(name, grade_id, old, new, words):
    outcome = run_cells(notebook("solutions", name), replace=(grade_id, old, new))
    failed = {cell: error for cell, error in outcome.items() if error is not None}
    assert list(failed) == [f"test_{grade_id}"], failed
    message = " ".join(failed[f"test_{grade_id}"].split())  # wrapped to nbgrader validate's width
    assert "Likely mistake" in message and words in message
