"""Build the instructor notebooks solutions/NN_name/NN_name.ipynb from exercises_src/NN_name.py.

The sources are Python files in jupytext's "percent" format, so that the solution code is
linted and formatted like any other code, and a diff reads well.  jupytext reads them: a
line starting with ``# %%`` starts a cell, whose *title* says its role here and whose
metadata (``key="value"``) its grade id and points:

    # %% [markdown]                        read-only Markdown (every line starts with "# ")
    # %% header                            the standard "how to work on this notebook" cell
    # %% setup                             read-only code (imports)
    # %% code id="try_gradient_check"      free code, not graded
    # %% solution id="lstm_input_gate"     the student writes this (### BEGIN/END SOLUTION)
    # %% test id="test_lstm_input_gate" points=2
                                           locked, autograded test (### BEGIN/END HIDDEN TESTS)

What is left here is the nbgrader step: the generator adds the nbgrader metadata, cell ids,
the kernel spec and the total of the points, and writes notebooks without outputs.  Then
`nbgrader generate_assignment` makes the student release in exercises/ (see make/exercises.mk).

    python scripts/make_notebooks.py            write solutions/
    python scripts/make_notebooks.py --check    exit 1 if solutions/ differs from the sources
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "exercises_src"
SOLUTIONS = ROOT / "solutions"

ASSIGNMENTS = {
    "01_rnn_cell": "The basic architecture of an RNN cell",
    "02_bptt": "Backpropagation through time (BPTT)",
    "03_vanishing_exploding": "Vanishing and exploding gradients",
    "04_lstm": "Long short-term memory (LSTM)",
    "05_gru": "Gated recurrent unit (GRU)",
    "06_peephole": "Peephole LSTM",
    "07_bidirectional": "Bidirectional RNNs",
    "08_lstm_gates": "The gates of the LSTM, with equations",
    "09_bilstm": "BiLSTM",
    "10_bigru": "BiGRU",
}

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

HEADER = """\
## How to work on this notebook

This exercise goes with chapter {number}, [{title}](../../book/{assignment}.md).
It has {n_tasks} graded functions worth **{total} points** in all; each function has its own
points, so a mistake in one costs only that one.

1. **Install** (once). In a terminal, at the root of the course repository:
   `python3 -m venv .venv`, then `.venv/bin/pip install -e '.[grade]'` (this installs NumPy,
   the reference package `rnn_ref`, Jupyter Lab and nbgrader).
2. **Open** the exercises: `.venv/bin/jupyter lab exercises/`, then open
   `{assignment}/{assignment}.ipynb`. Work in that file and hand it in as it is.
3. **Write** each function in its cell, in place of `raise NotImplementedError(...)`. Keep
   the signature and the docstring: the docstring gives every shape. Use NumPy; from
   `rnn_ref` you may use `sigmoid` (and what a cell imports for you), never the function you
   are asked to write: a function that is, or calls, the reference earns no points.
4. **Test**: run the cell below each function (or *Kernel > Restart Kernel and Run All
   Cells*). It first checks an example worked out by hand, then compares your function with
   the reference on random inputs of several sizes (one sequence, one step, float32 too).
5. **Read the messages.** A passing test prints a line starting with ✓. A failing one lists
   every case that fails: which output or gradient, the index of its worst entry, the
   expected and the computed value, the relative error and, above all, the **likely
   mistake** (sigmoid for tanh, a missing bias, transposed weights, gates in the wrong order,
   ...). When it can, it also runs your function with one term at a time (only the bias, only
   the input, only the recurrent state) and says which part is wrong.
6. **Before handing in**, restart the kernel and run all cells, or run
   `.venv/bin/nbgrader validate exercises/{assignment}/{assignment}.ipynb`.

When your work is graded, the same functions are run on more random cases (other sizes and
seeds), whose values are not shown. While one function is graded, the functions it builds on
are the reference's, so that each mistake is counted once.
"""

_KINDS = ("header", "setup", "code", "solution", "test")


def parse(path):
    """The cells of a source file, read by jupytext: a list of (kind, options, text).

    ``kind`` is ``"[markdown]"`` or the cell's title (one of ``_KINDS``); ``options`` its
    ``id`` and ``points``.
    """
    notebook = jupytext.read(path, fmt="py:percent")
    cells = []
    for cell in notebook.cells:
        metadata = dict(cell.metadata)
        if "incorrectly_encoded_metadata" in metadata:  # key=value without quotes: jupytext could not read it
            raise ValueError(f'{path}: write cell options as key="value": {metadata["incorrectly_encoded_metadata"]}')
        if cell.cell_type == "markdown":
            kind = "[markdown]"
        else:
            kind = metadata.get("title", "code")
            if kind not in _KINDS:
                raise ValueError(f"{path}: unknown cell kind {kind!r} (expected one of {', '.join(_KINDS)})")
        options = {key: metadata[key] for key in ("id", "points") if key in metadata}
        cells.append((kind, options, cell.source.strip("\n")))
    return cells


def _slug(kind, text):
    """A readable id from the first line of a cell: "## 1. One step" -> "text_1_one_step"."""
    first = text.strip().splitlines()[0] if text.strip() else kind
    words = re.findall(r"[a-z0-9]+", re.sub(r"\(\d+ points?\)", "", first.lower()))
    prefix = {"[markdown]": "text", "setup": "setup", "code": "try"}.get(kind, kind)
    if kind == "setup":
        return "setup"
    return "_".join([prefix] + words)[:48].rstrip("_")


def _unique(name, used):
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def _metadata(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def build(assignment):
    """The instructor notebook of one assignment, from exercises_src/<assignment>.py."""
    cells = parse(SOURCES / f"{assignment}.py")
    tests = [options for kind, options, _ in cells if kind == "test"]
    total = sum(int(options["points"]) for options in tests)
    number = int(assignment[:2])
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    used = set()
    for kind, options, text in cells:
        auto_id = _unique(options.get("id") or _slug(kind, text), used)
        if kind == "[markdown]":
            cell = nbformat.v4.new_markdown_cell(text)
            cell.metadata = _metadata(auto_id, locked=True)
        elif kind == "header":
            auto_id = "header"
            text = HEADER.format(
                number=number, title=ASSIGNMENTS[assignment], assignment=assignment, n_tasks=len(tests), total=total
            )
            cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
            cell.metadata = _metadata(auto_id, locked=True)
        elif kind == "setup":
            cell = nbformat.v4.new_code_cell(text)
            cell.metadata = _metadata(auto_id, locked=True)
        elif kind == "code":
            cell = nbformat.v4.new_code_cell(text)
        elif kind == "solution":
            cell = nbformat.v4.new_code_cell(text)
            cell.metadata = _metadata(options["id"], solution=True)
        elif kind == "test":
            cell = nbformat.v4.new_code_cell(text)
            cell.metadata = _metadata(options["id"], grade=True, locked=True, points=int(options["points"]))
        else:
            raise ValueError(f"{assignment}: unknown cell kind {kind!r}")
        cell.id = cell.metadata["nbgrader"]["grade_id"] if "nbgrader" in cell.metadata else auto_id
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def target(assignment):
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("assignments", nargs="*", help="default: every source in exercises_src/")
    args = parser.parse_args(argv)
    names = args.assignments or sorted(p.stem for p in SOURCES.glob("[0-9][0-9]_*.py"))
    stale = []
    for name in names:
        if name not in ASSIGNMENTS:
            parser.error(f"unknown assignment {name!r}")
        text = nbformat.writes(build(name)) + "\n"
        path = target(name)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run python scripts/make_notebooks.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
