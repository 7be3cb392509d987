"""Similar code, for a human look: every graded function against the reference, the solutions and the class.

It gives and takes no points.  For every graded function of an assignment,
the code each student wrote (:func:`student_documents`, from the cells the
judge ran) is fingerprinted (:mod:`grader.fingerprint`) and compared with

* the reference's code in :mod:`rnn_ref` (what students read, and may copy),
  with the module's private helpers it calls;
* the instructor's solution in ``solutions/`` (the nbgrader source);
* the same function of every other submission of the class.

A student's function is one ``def`` (the last one above its test cell, as the
judge grades it) together with the helper functions of the notebook it calls,
so that code split into helpers is compared whole.

**Cost.**  Fingerprints are indexed (hash -> documents): the candidate pairs
of students are those that share a fingerprint, counted hash by hash, and a
reference is looked up hash by hash; no two whole notebooks are ever compared.
A fingerprint held by more than :func:`common_cutoff` students is what
everyone writes (MOSS ignores such passages too): it is left out of the
comparisons between students, which also keeps the pairs from growing with the
square of the class.

**Score.**  Between a student and the reference (or the solution): the share
of the smaller function's fingerprints found in the other.  Between two
students: the same, over the fingerprints that neither could have taken from
the reference or the solution and that are not common in the class; what
both took from the reference is shown against the reference.  A pair is
listed when its score reaches :data:`THRESHOLD` and the smaller side has at
least :data:`MIN_FINGERPRINTS` fingerprints: a short function written the way
the equation reads is not evidence of anything.  The threshold was calibrated
on a corpus of independent correct variants and disguised copies
(``scripts/similarity_calibration.py``; the rates are on the instructors'
page).

Everything a student wrote is data here: parsed with :mod:`ast` within bounds
(:mod:`grader.fingerprint`), within :data:`SECONDS_PER_STUDENT`, never run.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import io
import itertools
import keyword
import time
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import fingerprint as fp

THRESHOLD = 0.6  # share of fingerprints in common from which a pair is listed
MIN_FINGERPRINTS = 12  # fewer on the smaller side: too short to tell copying from writing the equation
COMMON_SHARE = 0.2  # a fingerprint held by more than this share of the students (and > MIN_COMMON) is common
MIN_COMMON = 10
MAX_HELPERS = 12  # helper functions inlined into one graded function
SECONDS_PER_STUDENT = 5.0  # a submission whose code takes longer is not compared (and noted)
MAX_CODE_LINES = 300  # lines of code kept for the side-by-side view
MAX_LINE = 160  # characters per line kept
MAX_PAIRS = 500  # pairs kept in the report (the highest scores)


@dataclass
class Document:
    """One version of one graded function: whose it is, its code, its fingerprints."""

    key: str  # the reference's key, "lstm.lstm_forward"
    function: str  # its name in the notebook
    kind: str  # "student", "reference" or "solution"
    owner: str  # the student's id, "rnn_ref" or "solutions"
    where: str  # "cell 12", "rnn_ref/lstm.py"
    code: str
    print: fp.Fingerprint = field(repr=False, default=None)

    def side(self, size):
        return {"kind": self.kind, "name": self.owner, "where": self.where, "fingerprints": size, "code": self.code}


# --- finding a function and its helpers -----------------------------------------------------------------


@dataclass
class _Def:
    node: ast.FunctionDef
    text: str  # the source it was parsed from
    where: str


def _defs(parsed):
    """name -> the last top-level ``def`` of that name in ``parsed`` ([(text, tree, where)], in order)."""
    found = {}
    for text, tree, where in parsed:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[node.name] = _Def(node, text, where)
    return found


def _document(key, name, kind, owner, defs, graded_names):
    """The :class:`Document` of ``defs[name]`` with the helpers of ``defs`` it calls (None if not defined)."""
    main = defs.get(name)
    if main is None:
        return None
    helpers, queue, seen = [], [main], {name}
    while queue and len(helpers) < MAX_HELPERS:
        current = queue.pop(0)
        for node in ast.walk(current.node):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                callee = node.func.id
                if callee in defs and callee not in seen and callee not in graded_names:
                    seen.add(callee)
                    helpers.append(defs[callee])
                    queue.append(defs[callee])
    helper_names = {h.node.name for h in helpers}
    tokens = fp.tokens_of(main.node, helper_names)
    for helper in helpers[:MAX_HELPERS]:
        tokens += ["Helper", "("] + fp.tokens_of(helper.node, helper_names) + [")"]
    code = "\n\n".join(_segment(d) for d in [main, *helpers[:MAX_HELPERS]])
    return Document(key, name, kind, owner, main.where, _bounded(code), fp.fingerprint(tokens[: fp.MAX_TOKENS]))


def _segment(definition):
    text = ast.get_source_segment(definition.text, definition.node) or ""
    decorators = definition.node.decorator_list
    if decorators and text:  # get_source_segment starts at `def`: keep the decorators too
        first = min(d.lineno for d in decorators)
        lines = definition.text.splitlines()
        text = "\n".join(lines[first - 1 : definition.node.lineno - 1] + [text])
    return text


def _bounded(code):
    lines = [line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…" for line in code.splitlines()]
    if len(lines) > MAX_CODE_LINES:
        lines = lines[:MAX_CODE_LINES] + [f"# ... {len(lines) - MAX_CODE_LINES} more lines"]
    return "\n".join(lines)


def student_documents(owner, cells, functions, kind="student", seconds=SECONDS_PER_STUDENT):
    """The documents of one submission's graded functions, and notes on what could not be read.

    Parameters
    ----------
    owner : str
        The student (or ``"solutions"``).
    cells : list of dict
        The code cells of a notebook as :func:`grader.precheck.code_cells` gives them
        (``index``, ``source``, ``role``, ``grade_id``).
    functions : list of grader.course.Function
        The graded functions of this notebook (name, key, grade_id of its test cell).

    Returns
    -------
    documents : list of Document
    notes : list of str
    """
    start = time.monotonic()
    notes, parsed = [], []
    test_index = {c["grade_id"]: c["index"] for c in cells if c["role"] == "test"}
    for cell in cells:
        if cell["role"] in ("test", "locked"):
            continue  # restored from the source: the instructor's code
        if time.monotonic() - start > seconds:
            notes.append(f"{owner}: not compared, its code took more than {seconds:g} s to read")
            return [], notes
        try:
            tree = fp.parse(cell["source"])
        except fp.TooComplex as exc:
            notes.append(f"{owner}: cell {cell['index']} not compared: {exc}")
            continue
        if tree is not None:
            parsed.append((cell["index"], cell["source"], tree))
    graded_names = {f.name for f in functions}
    documents = []
    for function in functions:
        before = test_index.get(function.grade_id, float("inf"))
        defs = _defs([(text, tree, f"cell {index}") for index, text, tree in parsed if index < before])
        try:
            document = _document(function.key, function.name, kind, owner, defs, graded_names)
        except fp.TooComplex as exc:
            notes.append(f"{owner}: {function.name} not compared: {exc}")
            continue
        if document is not None:
            documents.append(document)
        if time.monotonic() - start > seconds:
            notes.append(f"{owner}: not compared, its code took more than {seconds:g} s to read")
            return [], notes
    return documents, notes


def reference_documents(keys, graded_keys=()):
    """The documents of the reference's functions ``keys``, each with the private helpers of its module it calls.

    ``graded_keys`` are the keys of every graded function (helpers that are
    graded functions themselves are compared on their own, not inlined).
    """
    documents = []
    by_module = {}
    for key in keys:
        import rnn_checks

        reference = rnn_checks.spec(key).reference
        module = importlib.import_module(reference.__module__)
        path = Path(inspect.getsourcefile(module))
        if path not in by_module:
            text = path.read_text(encoding="utf-8")
            by_module[path] = (text, ast.parse(text))
        text, tree = by_module[path]
        where = f"rnn_ref/{path.name}"
        defs = _defs([(text, tree, where)])
        graded_here = {k.split(".")[-1] for k in graded_keys} - {reference.__name__}
        document = _document(key, reference.__name__, "reference", "rnn_ref", defs, graded_here)
        if document is not None:
            documents.append(document)
    return documents


# --- comparing ----------------------------------------------------------------------------------------------


def common_cutoff(students):
    """How many students may hold a fingerprint before it counts as common (what everyone writes)."""
    return max(MIN_COMMON, int(COMMON_SHARE * students))


@dataclass
class Pair:
    key: str
    function: str
    score: float
    shared: int
    a: Document  # the reference, the solution, or a student
    b: Document  # a student
    size_a: int
    size_b: int


def compare(documents, threshold=THRESHOLD, min_fingerprints=MIN_FINGERPRINTS):
    """The pairs of documents of the same function whose score reaches ``threshold``, highest first.

    ``documents`` holds students' documents and those of the reference and the
    solutions (by ``kind``).  Candidate pairs come from an index of the
    fingerprints (hash -> documents), never from all pairs.
    """
    by_key = {}
    for document in documents:
        by_key.setdefault(document.key, []).append(document)
    pairs = []
    for key, docs in by_key.items():
        students = [d for d in docs if d.kind == "student"]
        sources = [d for d in docs if d.kind != "student"]
        index = {}
        for number, document in enumerate(students):
            for value in document.print.positions:
                index.setdefault(value, []).append(number)
        # a student against the reference and the solution: every fingerprint counts
        for source in sources:
            counts = Counter()
            for value in source.print.positions:
                counts.update(index.get(value, ()))
            for number, shared in counts.items():
                student = students[number]
                smaller = min(len(source.print), len(student.print))
                if smaller >= min_fingerprints and shared / smaller >= threshold:
                    pairs.append(
                        Pair(
                            key,
                            student.function,
                            shared / smaller,
                            shared,
                            source,
                            student,
                            len(source.print),
                            len(student.print),
                        )  # fmt: skip
                    )
        # two students: only what is theirs (not the reference's, not common in the class)
        taken = set().union(*(s.print.positions for s in sources)) if sources else set()
        cutoff = common_cutoff(len(students))
        ignored = taken | {value for value, owners in index.items() if len(owners) > cutoff}
        own = [len(d.print.hashes - ignored) for d in students]
        counts = Counter()
        for value, owners in index.items():
            if len(owners) > 1 and value not in ignored:
                counts.update(itertools.combinations(owners, 2))
        for (first, second), shared in counts.items():
            smaller = min(own[first], own[second])
            if smaller >= min_fingerprints and shared / smaller >= threshold:
                a, b = students[first], students[second]
                pairs.append(Pair(key, b.function, shared / smaller, shared, a, b, own[first], own[second]))
    pairs.sort(key=lambda p: (-p.score, p.key, p.a.owner, p.b.owner))
    return pairs


# --- showing a pair ---------------------------------------------------------------------------------------


def _line_shape(line):
    """A line with its names, spacing and comment removed: what two lines share when one is a renamed copy."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(line.split())
    shape = []
    for token in tokens:
        if token.type == tokenize.NAME:
            shape.append(token.string if token.string in _KEYWORDS else "V")
        elif token.type in (tokenize.OP, tokenize.NUMBER, tokenize.STRING):
            shape.append(token.string)
    return " ".join(shape)


_KEYWORDS = set(keyword.kwlist) | {"np", "sigmoid", "tanh", "range", "len", "zip", "reversed"}


def side_by_side(left, right):
    """Rows ``[left line, mark, right line]``: the two codes aligned on lines of the same shape.

    The mark is ``=`` for lines of the same shape (a copy with other names
    and spacing), ``~`` for lines in the same place that differ, and empty
    where one side has a line the other lacks.
    """
    a, b = left.splitlines(), right.splitlines()
    shapes_a, shapes_b = [_line_shape(x) for x in a], [_line_shape(x) for x in b]
    rows = []
    matcher = difflib.SequenceMatcher(None, shapes_a, shapes_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [[a[i], "=", b[j]] for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
        else:
            for offset in range(max(i2 - i1, j2 - j1)):
                x = a[i1 + offset] if i1 + offset < i2 else ""
                y = b[j1 + offset] if j1 + offset < j2 else ""
                rows.append([x, "~" if x and y else "", y])
    return rows


# --- the result, for the report ---------------------------------------------------------------------------


def result(pairs, notes, students, keys, seconds):
    """The JSON-ready result the report and the class page read (see :func:`markdown`)."""
    kept = pairs[:MAX_PAIRS]
    return {
        "method": (
            "winnowed fingerprints of normalized syntax trees (names, comments, spacing and the order of "
            "independent statements ignored); for a human look, no points given or taken"
        ),
        "parameters": {
            "k": fp.K,
            "window": fp.W,
            "threshold": THRESHOLD,
            "min_fingerprints": MIN_FINGERPRINTS,
            "common_cutoff": common_cutoff(students),
        },
        "students": students,
        "functions": list(keys),
        "seconds": round(seconds, 3),
        "notes": list(notes),
        "pairs": [
            {
                "key": p.key,
                "function": p.function,
                "score": round(p.score, 3),
                "shared": p.shared,
                "a": p.a.side(p.size_a),
                "b": p.b.side(p.size_b),
                "rows": side_by_side(p.a.code, p.b.code),
            }
            for p in kept
        ],
        "omitted": len(pairs) - len(kept),
    }


def check_class(course, model, documents, notes=(), solutions=True):
    """Compare the students' ``documents`` with the reference, the solutions and each other: :func:`result`.

    ``model`` is the assignment's :class:`grader.course.AssignmentModel`; the
    solutions are read from the course's source directory (the instructor's
    ``solutions/``) when it is there.
    """
    start = time.monotonic()
    notes = list(notes)
    keys = sorted({f.key for f in model.functions})
    sources = reference_documents(keys, keys)
    if solutions:
        sources += solution_documents(course, model, notes)
    students = sorted({d.owner for d in documents})
    pairs = compare(list(documents) + sources)
    return result(pairs, notes, len(students), keys, time.monotonic() - start)


def solution_documents(course, model, notes):
    """The documents of the instructor's solutions (``solutions/<assignment>/<notebook>.ipynb``), if present."""
    import nbformat

    from .precheck import code_cells

    documents = []
    for name, notebook_model in model.notebooks.items():
        path = course.source_dir(model.name) / f"{name}.ipynb"
        if not path.is_file():
            notes.append(f"no solutions to compare with: {path} is missing")
            continue
        functions = [f for f in model.functions if f.notebook == name]
        cells = code_cells(nbformat.read(path, as_version=4), notebook_model)
        found, problems = student_documents("solutions", cells, functions, kind="solution")
        for document in found:
            document.where = f"solutions/{model.name}/{name}.ipynb, {document.where}"
        documents += found
        notes += problems
    return documents


def flags_by_student(similarity):
    """student -> lines for the "needs a human look" list, from :func:`result`."""
    lines = {}
    for pair in similarity.get("pairs", []):
        a, b = pair["a"], pair["b"]
        what = f"{pair['function']}: {pair['score']:.0%} of its fingerprints in common with"
        if a["kind"] == "student":
            lines.setdefault(a["name"], []).append(f"{what} {b['name']}'s")
            lines.setdefault(b["name"], []).append(f"{what} {a['name']}'s")
        else:
            source = "the reference (rnn_ref)" if a["kind"] == "reference" else "the instructor's solution"
            lines.setdefault(b["name"], []).append(f"{what} {source}")
    return lines


def markdown(similarity):
    """The report's "Similar code" section, from :func:`result` (the JSON the class page reads too)."""
    if not similarity:
        return []
    if "error" in similarity:
        return ["## Similar code", "", escape(similarity["error"]), ""]
    parameters = similarity["parameters"]
    lines = [
        "## Similar code",
        "",
        "For a human look: no points are given or taken. Each graded function was compared with the reference "
        "(rnn_ref), the instructor's solution and the same function of every other submission, ignoring names, "
        "comments, spacing and the order of independent statements. A pair is listed when at least "
        f"{parameters['threshold']:.0%} of the smaller function's fingerprints are in the other "
        f"(and it has at least {parameters['min_fingerprints']}); between two students, code that either could "
        "have taken from the reference, and code common to more than "
        f"{parameters['common_cutoff']} students, is left out. A high score says the code is the same up to "
        "renaming and reordering; only a person can say why. "
        f"{similarity['students']} submissions compared in {similarity['seconds']:.2f} s.",
        "",
    ]
    for note in similarity.get("notes", []):
        lines.append(f"- {escape(note)}")
    if similarity.get("notes"):
        lines.append("")
    if not similarity["pairs"]:
        lines += ["No pair above the threshold.", ""]
    for pair in similarity["pairs"]:
        a, b = pair["a"], pair["b"]
        lines += [
            f"### {escape(pair['function'])}: {escape(_who(a))} and {escape(_who(b))}, {pair['score']:.0%}",
            "",
            f"{pair['shared']} fingerprints in common ({escape(a['where'])}: {a['fingerprints']}; "
            f"{escape(b['where'])}: {b['fingerprints']}). `=` marks lines of the same shape.",
            "",
        ]
        lines += _fenced(_columns(pair["rows"], _who(a), _who(b)))
        lines.append("")
    if similarity.get("omitted"):
        lines += [f"... and {similarity['omitted']} more pairs (lower scores) not shown.", ""]
    return lines


def _who(side):
    if side["kind"] == "student":
        return side["name"]
    return "rnn_ref (the reference)" if side["kind"] == "reference" else "solutions/ (the instructor's)"


def escape(value):
    """One line of plain text for Markdown: no line breaks, no HTML, no Markdown links or emphasis."""
    text = " ".join(str(value).split())
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text[:300]


def _columns(rows, left_title, right_title, width=72):
    def cell(text):
        text = text.expandtabs(4).replace("\r", "")
        return text if len(text) <= width else text[: width - 1] + "…"

    out = [f"{cell(left_title):<{width}}   {cell(right_title)}", f"{'-' * width}   {'-' * width}"]
    for left, mark, right in rows:
        out.append(f"{cell(left):<{width}} {mark or ' '} {cell(right)}".rstrip())
    return out


def _fenced(lines):
    """``lines`` in a fenced code block whose fence no line can close (longer than any run of backticks)."""
    longest = max((len(run) for line in lines for run in _runs(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text"] + lines + [fence]


def _runs(line):
    runs, current = [], ""
    for char in line:
        if char == "`":
            current += char
        else:
            if current:
                runs.append(current)
            current = ""
    return runs + ([current] if current else [])


__all__ = [
    "Document",
    "Pair",
    "check_class",
    "common_cutoff",
    "compare",
    "escape",
    "flags_by_student",
    "markdown",
    "reference_documents",
    "result",
    "side_by_side",
    "student_documents",
]
