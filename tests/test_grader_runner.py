"""The judge's runner runs a cell as the notebook does, except what would have worked in the student's kernel.

A statement that calls what the judge's view lacks (ReferenceUnavailable) would have run in Jupyter:
it is skipped, and so is any later statement of the cell that fails (it may need what the skipped one
made); the cell's definitions still happen.  Any other error ends the cell where it happens, as in
Jupyter.  Magics that run code (``%%time``) run it.
"""

from __future__ import annotations

from grader.sandboxed.run_judge import notebook_namespace, run_cell


class Unavailable(RuntimeError):
    """Stands for the view's ReferenceUnavailable."""


def _run(source):
    namespace = notebook_namespace()

    def reference(*args):
        raise Unavailable("not available while graded")

    namespace["reference"] = reference
    error, skipped = run_cell(source, 7, namespace, Unavailable)
    return namespace, error, skipped


def test_a_statement_that_needs_the_reference_is_skipped_and_the_def_after_it_happens():
    namespace, error, skipped = _run(
        "check = reference(1, 2)\nprint(check.shape)  # needs what was skipped\ndef f(x):\n    return 2 * x\ny = f(3)"
    )
    assert error is None and skipped == 2
    assert namespace["f"](2) == 4 and namespace["y"] == 6 and "check" not in namespace


def test_any_other_error_ends_the_cell_as_in_jupyter():
    namespace, error, skipped = _run("x = 1\nprint(undefined_name)\ndef f():\n    return 1")
    assert isinstance(error, NameError) and skipped == 0
    assert namespace["x"] == 1 and "f" not in namespace


def test_a_syntax_error_defines_nothing():
    namespace, error, _ = _run("def f(:\n    pass\nx = 1")
    assert isinstance(error, SyntaxError) and "x" not in namespace


def test_time_magics_run_their_code_and_other_magics_nothing():
    namespace, error, _ = _run("%%time\ndef f():\n    return 1")
    assert error is None and namespace["f"]() == 1
    namespace, error, _ = _run("%time y = 2\n%timeit z = 3\n%matplotlib inline\nw = 4")
    assert error is None and namespace["y"] == 2 and "z" not in namespace and namespace["w"] == 4


def test_the_cells_line_numbers_are_kept_for_the_messages():
    namespace, error, _ = _run("x = 1\n\n\nraise ValueError('here')")
    assert error.__traceback__.tb_next.tb_frame.f_code.co_filename == "<cell 7>"
    assert error.__traceback__.tb_next.tb_lineno == 4


def test_the_names_ipython_gives_every_cell_exist_as_in_jupyter():
    """display() before a def (no import: IPython provides it) lets the def happen, as in Jupyter."""
    namespace, error, _ = _run(
        "display(1, 'two', metadata={})\nassert __IPYTHON__ and __name__ == '__main__'\n"
        "print(len(In), Out, _dh)\ndef f(x):\n    display(x)\n    return 2 * x"
    )
    assert error is None and namespace["f"](2) == 4
    namespace, error, _ = _run("from IPython.display import display\ndisplay(3)\ng = 5")
    assert error is None and namespace["g"] == 5


def test_writefile_writes_the_module_that_a_later_cell_imports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace, error, _ = _run("%%writefile audit_helper_module.py\nTWO = 2\n")
    assert error is None and (tmp_path / "audit_helper_module.py").read_text() == "TWO = 2\n"
    _run("%%writefile -a audit_helper_module.py\nTHREE = 3\n")
    namespace, error, _ = _run("from audit_helper_module import TWO, THREE\nsix = TWO * THREE")
    assert error is None and namespace["six"] == 6


def test_a_magic_inside_a_line_is_read_as_ipython_reads_it():
    """``t = %timeit -o f()`` after a def: not Python, but IPython runs the cell, so the def happens."""
    namespace, error, _ = _run("def f(x):\n    return 2 * x\n\n\nt = %timeit -o f(1)\nfiles = !ls\nafter = 1")
    assert error is None and namespace["f"](2) == 4 and namespace["after"] == 1
    namespace, error, _ = _run("def g(:\n    pass\nt = %timeit -o g()")
    assert isinstance(error, SyntaxError) and "g" not in namespace
