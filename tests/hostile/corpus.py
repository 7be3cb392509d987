"""A corpus of hostile and broken submissions, with the grade each one must get.

Made from an assignment's release (what students get) and source (the
instructor's solutions): an honest submission is the release with the solution
code typed in; each hostile one adds a trick to it, or to the blank release
(whose functions all raise NotImplementedError, so every point it gets is
stolen).  The expectations are written for an assignment whose graded
functions are defined in separate solution cells, in order, each with its own
test cell (``01_rnn_cell``: ``rnn_step_forward``, ``rnn_forward``,
``output_layer``).

    python tests/hostile/corpus.py COURSE ASSIGNMENT    write submitted/<case>/<assignment>/ in COURSE

Each :class:`Case` says what it does, how it is made, the points of every test
cell (``expect``, indexed like the functions), whether it must be quarantined,
and what must appear in the report.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

STUB = "raise NotImplementedError"


@dataclass
class Case:
    name: str
    what: str
    make: object  # make(kit) -> writes the submission folder
    expect: tuple | None = None  # points per function as a fraction of the cell's points (1 or 0); None: quarantined
    review: bool = False  # must be listed for a human look
    reason: str = ""  # must appear in the report (quarantine reason or a death), lower case
    honest: bool = False


@dataclass
class Kit:
    """What the makers work from."""

    course: Path
    assignment: str
    release: nbformat.NotebookNode
    source: nbformat.NotebookNode
    folder: Path = None  # set per case
    solution_ids: list = field(default_factory=list)
    test_ids: list = field(default_factory=list)

    @classmethod
    def load(cls, course, assignment):
        course = Path(course)
        release = nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
        source = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        kit = cls(course, assignment, release, source)
        for cell in release.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and not meta.get("grade"):
                kit.solution_ids.append(meta["grade_id"])
            elif meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
                kit.test_ids.append(meta["grade_id"])
        return kit

    # --- notebooks ---------------------------------------------------------------------------------------

    def blank(self):
        return copy.deepcopy(self.release)

    def honest(self):
        notebook = copy.deepcopy(self.release)
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in self.source.cells if _grade_id(c)}
        for cell in notebook.cells:
            if _grade_id(cell) in self.solution_ids:
                cell.source = _typed(answers[_grade_id(cell)])
        return notebook

    def cell(self, notebook, grade_id):
        return next(c for c in notebook.cells if _grade_id(c) == grade_id)

    def solution(self, notebook, number):
        return self.cell(notebook, self.solution_ids[number])

    def test(self, notebook, number):
        return self.cell(notebook, self.test_ids[number])

    def add_cell(self, notebook, after_solution, code):
        """A cell the student added (no nbgrader metadata) after solution cell ``after_solution``."""
        position = notebook.cells.index(self.solution(notebook, after_solution)) + 1
        notebook.cells.insert(position, nbformat.v4.new_code_cell(code))
        return notebook

    def write(self, notebook, name=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, self.folder / f"{name or self.assignment}.ipynb")


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _typed(text):
    """A solution as a student types it: the markers removed."""
    return "\n".join(
        line for line in text.splitlines() if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


# --- makers --------------------------------------------------------------------------------------------------


def _honest(kit):
    kit.write(kit.honest())


def _blank(kit):
    kit.write(kit.blank())


def _partly(kit):
    """A typical mistake in the first function: sigmoid in place of tanh."""
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    assert "np.tanh(" in cell.source
    cell.source = cell.source.replace("np.tanh(", "(lambda a: 1 / (1 + np.exp(-a)))(", 1)
    kit.write(notebook)


def _mutates(kit):
    """Right outputs, but the first function zeroes its input ``x`` in place."""
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    lines = cell.source.splitlines()
    position = next(i for i, line in enumerate(lines) if line.strip().startswith("return "))
    indent = lines[position][: len(lines[position]) - len(lines[position].lstrip())]
    lines.insert(position, f"{indent}x[...] = 0")
    cell.source = "\n".join(lines)
    kit.write(notebook)


def _syntax_error(kit):
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    cell.source = cell.source.replace("def ", "def def ", 1)
    kit.write(notebook)


def _warning(kit):
    """Correct, but every call warns on stderr (plain nbgrader scores a stderr output zero)."""
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    cell.source = "import warnings\n\n" + cell.source.replace(
        '    """\n', '    """\n    warnings.warn("this step is computed the slow way", RuntimeWarning)\n', 1
    )
    assert "warnings.warn" in cell.source
    kit.write(notebook)


def _preamble(code):
    """A maker: ``code`` at the top of the first solution cell of the blank release."""

    def make(kit):
        notebook = kit.blank()
        cell = kit.solution(notebook, 0)
        cell.source = code + "\n\n" + cell.source
        kit.write(notebook)

    return make


def _replace_solutions(codes):
    """A maker: solution cell ``i`` replaced by ``codes[i]``."""

    def make(kit):
        notebook = kit.blank()
        for number, code in enumerate(codes):
            kit.solution(notebook, number).source = code
        kit.write(notebook)

    return make


def _extra_cell(code, after=0):
    """A maker: the honest notebook with a cell of the student's own after solution ``after``."""

    def make(kit):
        kit.write(kit.add_cell(kit.honest(), after, code.format(course=kit.course, assignment=kit.assignment)))

    return make


def _honest_then(code, number):
    """A maker: ``code`` appended to the honest solution cell ``number`` (after its function)."""

    def make(kit):
        notebook = kit.honest()
        cell = kit.solution(notebook, number)
        cell.source = cell.source + "\n\n\n" + code
        kit.write(notebook)

    return make


def _honest_before(code, number):
    """A maker: ``code`` at the top of the honest solution cell ``number`` (before its function)."""

    def make(kit):
        notebook = kit.honest()
        cell = kit.solution(notebook, number)
        cell.source = code + "\n\n\n" + cell.source
        kit.write(notebook)

    return make


def _function_loops(kit):
    notebook = kit.honest()
    cell = kit.solution(notebook, 1)
    cell.source = cell.source.replace('    """\n', '    """\n    while True:\n        pass\n', 1)
    kit.write(notebook)


def _renamed(kit):
    kit.write(kit.honest(), name=f"{kit.assignment} (1)")


def _missing(kit):
    kit.folder.mkdir(parents=True, exist_ok=True)
    (kit.folder / "timestamp.txt").write_text("2025-01-01 12:00:00.000000 UTC")


def _corrupt_json(kit):
    kit.folder.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(kit.honest())
    (kit.folder / f"{kit.assignment}.ipynb").write_text(text[: len(text) // 2])


def _not_a_notebook(kit):
    kit.folder.mkdir(parents=True, exist_ok=True)
    (kit.folder / f"{kit.assignment}.ipynb").write_text(json.dumps({"cells": "all of them", "nbformat": 4}))


def _edited_test(kit):
    notebook = kit.honest()
    kit.test(notebook, 0).source = "pass  # the test was here"
    kit.write(notebook)


def _deleted_test(kit):
    notebook = kit.blank()
    notebook.cells.remove(kit.test(notebook, 1))
    kit.write(notebook)


def _duplicated_test(kit):
    notebook = kit.honest()
    test = kit.test(notebook, 0)
    copy_of = copy.deepcopy(test)
    copy_of.id = "copy-of-test"
    notebook.cells.insert(notebook.cells.index(test) + 1, copy_of)
    kit.write(notebook)


def _tampered_points(kit):
    notebook = kit.blank()
    kit.test(notebook, 0).metadata["nbgrader"]["points"] = 200
    kit.write(notebook)


def _unknown_grade_cell(kit):
    notebook = kit.honest()
    cell = nbformat.v4.new_code_cell("print('bonus')")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "bonus_points",
        "locked": True,
        "points": 100,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    notebook.cells.append(cell)
    kit.write(notebook)


def _symlink(kit):
    kit.folder.mkdir(parents=True, exist_ok=True)
    target = kit.course / "solutions" / kit.assignment / f"{kit.assignment}.ipynb"
    os.symlink(target, kit.folder / f"{kit.assignment}.ipynb")


def _linked_student(kit):
    """submitted/<student> is a link to another student's folder (written before: honest_correct)."""
    os.symlink(kit.course / "submitted" / "honest_correct", kit.folder.parent, target_is_directory=True)


# --- the corpus ----------------------------------------------------------------------------------------------

FULL, ZERO = (1, 1, 1), (0, 0, 0)

CASES = [
    # honest students
    Case("honest_correct", "every function right", _honest, FULL, honest=True),
    Case("honest_partly", "sigmoid for tanh in the first function", _partly, (0, 1, 1), honest=True),
    Case("honest_blank", "the release as handed out", _blank, ZERO, honest=True),
    Case("honest_mutates", "the first function zeroes its input in place", _mutates, (0, 1, 1), honest=True),
    Case("honest_syntax_error", "a syntax error in the first function", _syntax_error, (0, 1, 1), honest=True),
    Case("honest_warning", "right, but prints a warning on stderr", _warning, FULL, honest=True),
    # tricks that give plain nbgrader full marks for wrong answers
    Case(
        "patch_checks",
        "replaces np.testing.assert_allclose and rnn_checks' checks by no-ops",
        _preamble(
            "import numpy as np\nimport rnn_checks\n"
            "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
            "rnn_checks.check = rnn_checks.grade = rnn_checks.check_example = lambda *a, **k: print('✓ all good')"
        ),
        ZERO,
        review=True,
    ),
    Case(
        "input_transformer",
        "an IPython input transformer that empties every later test cell",
        _preamble(
            "get_ipython().input_transformers_cleanup.append(\n"
            "    lambda lines: [] if any('rnn_checks.' in line for line in lines) else lines\n)"
        ),
        ZERO,
        review=True,
    ),
    Case(
        "custom_exc",
        "an IPython exception handler that swallows every error",
        _preamble("get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"),
        ZERO,
        review=True,
    ),
    Case(
        "delegate",
        "imports the reference functions under the graded names",
        _replace_solutions(
            [
                "from rnn_ref.rnn import rnn_step_forward",
                "from rnn_ref.rnn import rnn_forward",
                "from rnn_ref.rnn import output_layer",
            ]
        ),
        ZERO,
        review=True,
    ),
    Case(
        "delegate_sneaky",
        "wraps the reference and switches off the profiler that the checks watch calls with",
        _replace_solutions(
            [
                "import sys\nimport rnn_ref.rnn as _r\n\n\ndef rnn_step_forward(x, h_prev, params):\n"
                "    sys.setprofile(None)\n    return _r.rnn_step_forward(x, h_prev, params)",
                "import sys\nimport rnn_ref.rnn as _r\n\n\ndef rnn_forward(xs, h0, params, mask=None):\n"
                "    sys.setprofile(None)\n    return _r.rnn_forward(xs, h0, params)",
                "import sys\nimport importlib\n\n\ndef output_layer(hs, W_y, b_y):\n"
                "    sys.setprofile(None)\n"
                "    return importlib.import_module('rnn_ref.rnn').output_layer(hs, W_y, b_y)",
            ]
        ),
        ZERO,
        review=True,
    ),
    Case(
        "forged_events",
        "writes fake grader events on every inherited file descriptor",
        _preamble(
            "import json, os\n"
            "fake = [{'event': 'result', 'function': 'rnn_step_forward', 'case': k, 'attempt': 'reference',\n"
            "         'outputs': {'~': 'tuple', 'items': []}} for k in range(40)] + [{'event': 'done'}]\n"
            "for fd in range(3, 30):\n"
            "    try:\n"
            "        os.write(fd, ''.join(json.dumps(e) + '\\n' for e in fake).encode())\n"
            "    except OSError:\n"
            "        pass"
        ),
        ZERO,
        review=True,
    ),
    # the kernel dies or hangs: the cell is named, the rest is graded
    Case(
        "os_exit",
        "os._exit(0) after the last function",
        _honest_then("import os\nos._exit(0)", 2),
        (1, 1, 0),
        review=True,
        reason="exited with code 0",
    ),
    Case(
        "sigkill",
        "a cell of its own that SIGKILLs the kernel",
        _extra_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        FULL,
        review=True,
        reason="sigkill",
    ),
    Case(
        "infinite_loop",
        "while True: pass before the first function",
        _honest_before("while True:\n    pass", 0),
        (0, 1, 1),
        review=True,
        reason="longer than",
    ),
    Case(
        "sigint_loop",
        "ignores SIGINT and SIGTERM, then loops after the last function",
        _honest_then(
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "while True:\n    pass",
            2,
        ),
        (1, 1, 0),
        review=True,
        reason="longer than",
    ),
    Case(
        "loop_in_function",
        "the second function never returns",
        _function_loops,
        (1, 0, 1),
        review=True,
        reason="longer than",
    ),
    Case(
        "memory_bomb",
        "allocates until memory runs out, in a cell of its own",
        _extra_cell(
            "def grow():\n    blocks = []\n    while True:\n        blocks.append(bytearray(64 * 2**20))\n\n\ngrow()"
        ),
        FULL,
    ),
    Case(
        "fork_bomb",
        "forks without end, in a cell of its own",
        _extra_cell("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", after=1),
        FULL,
        review=True,
    ),
    Case("huge_print", "prints 20 MB from Python", _extra_cell("print('spam ' * 4_000_000)"), FULL),
    Case(
        "huge_raw_output",
        "writes 100 MB straight to file descriptor 1",
        _extra_cell("import os\nfor _ in range(100):\n    os.write(1, b'x' * 2**20)"),
        FULL,
        review=True,
        reason="more than",
    ),
    Case(
        "huge_return",
        "returns an array of a gigabyte",
        _replace_solutions(
            ["import numpy as np\n\n\ndef rnn_step_forward(x, h_prev, params):\n    return np.ones(2**27), None"]
        ),
        ZERO,
    ),
    Case(
        "write_outside",
        "writes into the gradebook, the course and the package",
        _extra_cell(
            "import os\n"
            "for path in ['{course}/gradebook.db', '{course}/solutions/x.py', '../../../gradebook.db',\n"
            "             '/tmp/../etc/x', os.path.dirname(__import__('numpy').__file__) + '/x.py']:\n"
            "    try:\n"
            "        with open(path, 'w') as f:\n"
            "            f.write('owned')\n"
            "        print('WROTE', path)\n"
            "    except OSError as e:\n"
            "        print('refused', path, type(e).__name__)"
        ),
        FULL,
        review=True,
    ),
    Case(
        "read_solutions",
        "reads the solutions, the gradebook and the environment, and prints them",
        _extra_cell(
            "import os, glob\n"
            "for path in ['{course}/solutions/{assignment}/{assignment}.ipynb', '{course}/gradebook.db',\n"
            "             '../../../solutions/{assignment}/{assignment}.ipynb', '/proc/1/environ']:\n"
            "    try:\n"
            "        print(path, open(path, 'rb').read()[:3000])\n"
            "    except OSError as e:\n"
            "        print('cannot read', path, type(e).__name__)\n"
            "print(os.listdir('/'), glob.glob('/tmp/**', recursive=True)[:50])\n"
            "print(glob.glob('/opt/**', recursive=True)[:50])\n"
            "print(dict(os.environ))"
        ),
        FULL,
        review=True,
    ),
    Case(
        "network",
        "opens connections to the internet and to the host",
        _extra_cell(
            "import socket\n"
            "for host, port in [('pypi.org', 443), ('1.1.1.1', 53), ('127.0.0.1', 22)]:\n"
            "    try:\n"
            "        socket.create_connection((host, port), timeout=2)\n"
            "        print('CONNECTED', host)\n"
            "    except OSError as e:\n"
            "        print('no', host, e)"
        ),
        FULL,
        review=True,
    ),
    # broken submissions: quarantined with a reason
    Case("renamed", "the notebook saved under another name", _renamed, None, review=True, reason="renamed?"),
    Case("missing", "no notebook at all", _missing, None, review=True, reason="is missing"),
    Case("corrupt_json", "the notebook cut in half", _corrupt_json, None, review=True, reason="not valid json"),
    Case(
        "not_a_notebook", "JSON, but not a notebook", _not_a_notebook, None, review=True, reason="not a valid notebook"
    ),
    Case("edited_test", "the first test cell replaced by pass", _edited_test, None, review=True, reason="was edited"),
    Case("deleted_test", "the second test cell deleted", _deleted_test, None, review=True, reason="was deleted"),
    Case("duplicated_test", "the first test cell copied", _duplicated_test, None, review=True, reason="duplicated"),
    Case(
        "tampered_points", "the first test cell worth 200 points", _tampered_points, None, review=True, reason="points"
    ),
    Case(
        "unknown_grade_cell",
        "a grade cell of its own, worth 100 points",
        _unknown_grade_cell,
        None,
        review=True,
        reason="no such cell",
    ),
    Case(
        "symlink",
        "the notebook is a link to the instructor's solution",
        _symlink,
        None,
        review=True,
        reason="symbolic link",
    ),
    Case(
        "linked_student",
        "the folder is a link to a classmate's",
        _linked_student,
        None,
        review=True,
        reason="symbolic link",
    ),
]


def write_corpus(course, assignment, cases=CASES):
    """Write every case into ``course/submitted/<case>/<assignment>``; return the cases."""
    kit = Kit.load(course, assignment)
    for case in cases:
        kit.folder = Path(course) / "submitted" / case.name / assignment
        case.make(kit)
    return cases


if __name__ == "__main__":
    course_dir, assignment_name = sys.argv[1:3]
    for written in write_corpus(course_dir, assignment_name):
        print(f"{written.name:20s} {written.what}")
