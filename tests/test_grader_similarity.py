"""The similarity check (grader.similarity, grader.fingerprint): what it ignores, what it finds, its bounds.

The calibration on the corpus of independent variants and disguised copies
is tests/test_similarity_calibration.py.
"""

from __future__ import annotations

import json
import random

import nbformat
import pytest
from similarity.corpus import variants
from similarity.disguise import add_comments, disguise, rename, reorder, respace

from grader import fingerprint as fp
from grader import similarity
from grader.course import Function
from grader.report import Report, StudentSummary


def _doc(owner, code, key="lstm.lstm_backward", kind="student"):
    name = key.split(".")[-1]
    cells = [{"index": 0, "source": code, "role": "solution", "grade_id": None}]
    found, notes = similarity.student_documents(owner, cells, [Function(name, key, "t", "nb")], kind=kind)
    assert not notes, notes
    return found[0]


def _variant(key, number=0):
    return [v for v in variants() if v.key == key][number]


# --- winnowing --------------------------------------------------------------------------------------------


def test_winnowing_finds_every_shared_run_of_w_plus_k_minus_1_tokens():
    """The guarantee of Schleimer et al.: a common substring of W + K - 1 tokens shares a fingerprint."""
    rng = random.Random(1)
    for _ in range(200):
        shared = [f"t{rng.randrange(50)}" for _ in range(fp.W + fp.K - 1)]
        left = [f"a{rng.randrange(50)}" for _ in range(rng.randrange(40))] + shared
        right = shared + [f"b{rng.randrange(50)}" for _ in range(rng.randrange(40))]
        assert fp.fingerprint(left).hashes & fp.fingerprint(right).hashes


def test_winnowing_keeps_the_smallest_hash_of_every_window():
    hashes = [random.Random(2).randrange(1000) for _ in range(60)]
    selected = fp.winnow(hashes)
    for start in range(len(hashes) - fp.W + 1):
        window = range(start, start + fp.W)
        assert any(i in selected for i in window)
        assert min(hashes[i] for i in window) in {selected[i] for i in window if i in selected}


def test_fingerprints_are_the_same_in_another_process():
    """Stable hashes (no salted str hashing): the same code gives the same fingerprints in every run."""
    import subprocess
    import sys

    code = "import json; from grader import fingerprint as fp; "
    code += "print(json.dumps(sorted(fp.fingerprint(['a', 'b'] * 20).hashes)))"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(runs) == 1


# --- what the normalization ignores --------------------------------------------------------------------------


@pytest.mark.parametrize("disguised", [rename, add_comments, respace, reorder], ids=lambda f: f.__name__)
def test_each_disguise_alone_leaves_the_fingerprints_unchanged(disguised):
    for variant in variants():
        code = disguised(variant.code, {variant.function}) if disguised is rename else disguised(variant.code)
        original, copy = _doc("a", variant.code, variant.key), _doc("b", code, variant.key)
        assert copy.print.hashes == original.print.hashes, variant.label


def test_equivalent_spellings_give_the_same_tokens():
    pairs = [
        ("a = a + b * c", "a += c * b"),
        ("x = np.dot(p, q.T)", "x = p @ np.transpose(q)"),
        ("y = w.dot(v)", "y = w @ v"),
        ("z = p > q", "z = q < p"),
        ("u, v = f(1, axis=0, keepdims=True), 2", "u = f(1, keepdims=True, axis=0)\nv = 2"),
        ("r = x + y + z", "r = z + (y + x)"),
    ]

    def tokens(body):
        lines = "".join(f"    {line}\n" for line in body.splitlines())
        return fp.tokens_of(fp.parse(f"def f(a, b, c, p, q, w, x, y, z):\n{lines}").body[0])

    for left, right in pairs:
        assert tokens(left) == tokens(right), (left, right)


def test_dependent_statements_keep_their_order():
    first = "def f(x):\n    a = x + 1\n    b = a * 2\n    return b\n"
    second = "def f(x):\n    b = x * 2\n    a = b + 1\n    return a\n"
    assert fp.tokens_of(fp.parse(first).body[0]) != fp.tokens_of(fp.parse(second).body[0])


def test_independent_variants_do_not_share_most_of_their_fingerprints():
    for key in {v.key for v in variants()}:
        docs = [_doc(v.label, v.code, key) for v in variants() if v.key == key]
        for i, a in enumerate(docs):
            for b in docs[i + 1 :]:
                smaller = min(len(a.print), len(b.print))
                assert len(a.print.hashes & b.print.hashes) < 0.5 * smaller, (a.owner, b.owner)


# --- bounds: the student's code is data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "def rnn_forward(xs, h0, params, mask=None):\n    return " + "+".join(["xs"] * 40_000) + "\n",
        "def rnn_forward(xs, h0, params, mask=None):\n    return " + "[" * 95 + "1" + "]" * 95 + "\n",
        "x = 1\n" * 20_000,
        "".join("    " * i + "if x:\n" for i in range(90)) + "    " * 90 + "pass\n",
    ],
    ids=["long sum", "deep brackets", "huge cell", "deep ifs"],
)
def test_crafted_cells_are_noted_not_fatal(source):
    cells = [
        {"index": 0, "source": source, "role": "solution", "grade_id": None},
        {"index": 1, "source": "def rnn_forward(xs, h0, params, mask=None):\n    return xs\n", "role": "free",
         "grade_id": None},
    ]  # fmt: skip
    documents, notes = similarity.student_documents(
        "mallory", cells, [Function("rnn_forward", "rnn.rnn_forward", "t", "nb")]
    )
    assert notes and all(note.startswith("mallory: ") for note in notes)
    assert [d.where for d in documents] == ["cell 1"]  # the other cells are still read


def test_student_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')\ndef rnn_forward(xs, h0, params, mask=None):\n    return xs\n"
    cells = [{"index": 0, "source": code, "role": "solution", "grade_id": None}]
    similarity.student_documents("eve", cells, [Function("rnn_forward", "rnn.rnn_forward", "t", "nb")])
    assert not marker.exists()


def test_the_function_judged_is_the_last_definition_above_its_test_cell():
    early = "def rnn_forward(xs, h0, params, mask=None):\n    return 1\n"
    late = "def rnn_forward(xs, h0, params, mask=None):\n    return 2\n"
    cells = [
        {"index": 0, "source": early, "role": "solution", "grade_id": None},
        {"index": 1, "source": "", "role": "test", "grade_id": "t"},
        {"index": 2, "source": late, "role": "free", "grade_id": None},
    ]
    documents, _ = similarity.student_documents("s", cells, [Function("rnn_forward", "rnn.rnn_forward", "t", "nb")])
    assert documents[0].where == "cell 0"


def test_helpers_are_compared_with_the_function_that_calls_them():
    """Code split into helper functions is the same code: a copy moved into helpers is still found."""
    variant = _variant("lstm.lstm_backward", 2)  # uses a recursive helper
    document = _doc("a", variant.code, variant.key)
    assert "_backward_from" in document.code
    copy = _doc("b", disguise(variant.code, {variant.function}), variant.key)
    assert copy.print.hashes == document.print.hashes


# --- the index: the same pairs as comparing every pair -----------------------------------------------------------


def test_indexed_comparison_finds_the_pairs_that_comparing_all_pairs_finds():
    rng = random.Random(3)
    docs = []
    for number in range(40):
        variant = rng.choice([v for v in variants() if v.key == "lstm.lstm_backward"])
        code = disguise(variant.code, {variant.function}) if number % 3 else variant.code
        docs.append(_doc(f"s{number:02d}", code))
    indexed = {(p.a.owner, p.b.owner): round(p.score, 9) for p in similarity.compare(docs)}
    brute = {}
    cutoff = similarity.common_cutoff(len(docs))
    held = {}
    for d in docs:
        for value in d.print.hashes:
            held[value] = held.get(value, 0) + 1
    for i, a in enumerate(docs):
        for b in docs[i + 1 :]:
            own_a = {h for h in a.print.hashes if held[h] <= cutoff}
            own_b = {h for h in b.print.hashes if held[h] <= cutoff}
            smaller = min(len(own_a), len(own_b))
            if smaller >= similarity.MIN_FINGERPRINTS and len(own_a & own_b) / smaller >= similarity.THRESHOLD:
                brute[(a.owner, b.owner)] = round(len(own_a & own_b) / smaller, 9)
    assert indexed == brute
    assert indexed  # the copies are there


def test_a_copy_of_the_reference_is_shown_against_the_reference_not_between_students():
    (reference,) = similarity.reference_documents(["lstm.lstm_backward"])
    copies = [_doc(f"s{n}", disguise(reference.code, {"lstm_backward"})) for n in range(3)]
    pairs = similarity.compare(copies + [reference])
    assert {(p.a.kind, p.b.owner) for p in pairs} == {("reference", "s0"), ("reference", "s1"), ("reference", "s2")}
    assert all(p.score > 0.9 for p in pairs)


# --- the report ---------------------------------------------------------------------------------------------


def test_the_report_shows_pairs_side_by_side_in_markdown_and_json(tmp_path):
    variant = _variant("lstm.lstm_backward")
    original = _doc("alice", variant.code + "\n# ``` a fence in a comment\n")
    copy = _doc("bob", disguise(variant.code, {"lstm_backward"}).replace("# as in", "# ```` <b>as</b> in"))
    result = similarity.result(similarity.compare([original, copy]), [], 2, ["lstm.lstm_backward"], 0.1)
    report = Report("08_lstm_gates", 1, "test", {})
    report.students = [StudentSummary("alice", 1, 1), StudentSummary("bob", 1, 1)]
    report.similarity = result
    for summary in report.students:
        summary.similar = similarity.flags_by_student(result).get(summary.student, [])
    assert [s.student for s in report.review()] == ["alice", "bob"]
    md, _, js = report.write(tmp_path)
    text = md.read_text()
    assert "## Similar code" in text and "no points" in text
    block = text[text.index("### lstm\\_backward") :]
    fence = block.splitlines()[4]
    assert fence.startswith("`````") and fence.endswith("text")  # longer than any run of backticks inside
    assert block.count(fence[:-4] + "\n") >= 1
    assert " = " in block and "dxs" in block and "alpha" in block or "beta" in block
    data = json.loads(js.read_text())
    (pair,) = data["similarity"]["pairs"]
    assert {pair["a"]["name"], pair["b"]["name"]} == {"alice", "bob"} and pair["score"] >= similarity.THRESHOLD
    assert pair["rows"] and all(len(row) == 3 for row in pair["rows"])
    assert "lstm_backward" in pair["a"]["code"] and "lstm_backward" in pair["b"]["code"]
    assert data["students"][1]["similar"]


def test_solutions_and_submissions_are_read_as_the_pipeline_reads_them(tmp_path):
    """A course with 04_lstm: the solution typed in by two students is found against the solution and rnn_ref."""
    from hostile.course import make_course, submit

    import rnn_checks
    from grader.course import Course, load_assignment
    from grader.precheck import code_cells, prepare

    course_dir = make_course(tmp_path / "course", ["04_lstm"])
    course = Course.load(course_dir)
    model = load_assignment(course, "04_lstm", set(rnn_checks.SPECS))
    source = nbformat.read(course_dir / "solutions" / "04_lstm" / "04_lstm.ipynb", as_version=4)
    reference = similarity.reference_documents(["lstm.lstm_forward"])[0].code
    for cell in source.cells:
        if "def lstm_forward" in cell.source:
            cell.source = reference  # a student who pasted the reference
    submit(course_dir, "carol", "04_lstm", source)
    documents, notes = [], []
    notebook = nbformat.read(course_dir / "submitted" / "carol" / "04_lstm" / "04_lstm.ipynb", as_version=4)
    cells = code_cells(prepare(notebook, model.notebooks["04_lstm"]), model.notebooks["04_lstm"])
    found, problems = similarity.student_documents("carol", cells, model.functions)
    documents += found
    notes += problems
    result = similarity.check_class(course, model, documents, notes)
    listed = {(p["key"], p["a"]["kind"]) for p in result["pairs"]}
    assert ("lstm.lstm_forward", "reference") in listed
    assert ("lstm.lstm_step_forward", "solution") in listed  # the solution as typed
    assert not any(p["key"].endswith("_gate") for p in result["pairs"])  # one line: too short to tell
