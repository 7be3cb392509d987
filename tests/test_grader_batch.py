"""The batch survives any student: strings made safe, reports escaped and written whole, cells restored from the
source, feedback HTML sanitized, and one student's failure recorded for that student while grading goes on.

Unit tests of grader.text, grader.files, grader.report, grader.precheck, grader.inert and grader.feedback's
checks of outputs, and one small batch (sandboxed) in which the grader itself fails on a student.
The whole hostile corpus, graded in one batch, is in test_grader_corpus.py; the feedback in a real browser in
test_feedback_browser.py.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os

import nbformat
import pytest
from hostile.corpus import INJECTION, MARKDOWN_CELL, PNG_PIXEL, SURROGATE, Kit
from hostile.course import make_course, require_sandbox, submit, tight_limits
from hostile.inert_check import active_html, assert_inert_markdown_report

import rnn_checks
from grader import feedback, inert
from grader.files import new_folder_beside, swap_in, write_atomic
from grader.precheck import check_student, check_submission, code_cells, prepare
from grader.report import Report, Row, StudentSummary
from grader.text import csv_field, is_printable_name, markdown, plain, valid_unicode

ASSIGNMENT = "01_rnn_cell"
HOSTILE_STRINGS = [
    INJECTION,
    SURROGATE + "\udcff tail",
    "a\x00b\x1b[31mred\x07\u202eevil\u200b",
    "<!-- hide the rest",
    "| 100 | 100 |",
    "# heading",
    "=1+2",
    "+cmd",
    "-2",
    "@SUM(A1)",
    "\tindented",
    "`code` **bold** _em_ ~~del~~ $\\href{javascript:alert(1)}{x}$ ![i](http://pwned.invalid) [l](javascript:x)",
    "\\| \\\\ &lt;b&gt; &#124; <b>raw</b> <script>alert(1)</script>",
    "x" * 100_000,
    "\n\n## Totals\n\n",
]


# --- text --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE_STRINGS, ids=range(len(HOSTILE_STRINGS)))
def test_plain_text_is_printable_one_line_and_bounded(text):
    shown = plain(text, 300)
    shown.encode("utf-8")  # no lone surrogate
    assert shown.isprintable() and len(shown) <= 300
    assert "\n" not in plain(text) and "\x00" not in plain(text, one_line=False)
    if SURROGATE in text:
        assert "\\ud800" in shown  # shown as its escape, not lost


@pytest.mark.parametrize("text", HOSTILE_STRINGS, ids=range(len(HOSTILE_STRINGS)))
def test_markdown_text_reads_as_itself(text):
    """A CommonMark + GFM parser sees one piece of text, equal to the plain text: no markup of the student's."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parseInline(markdown(text))[0].children
    assert {t.type for t in tokens} <= {"text"}, tokens
    assert "".join(t.content for t in tokens) == plain(text)


@pytest.mark.parametrize("text", HOSTILE_STRINGS, ids=range(len(HOSTILE_STRINGS)))
def test_csv_fields_are_never_formulas(text):
    field = csv_field(text)
    assert not field.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert field.lstrip("'") == plain(text, 2000).lstrip("'") or field == "'" + plain(text, 2000)


def test_valid_unicode_replaces_every_lone_surrogate_keys_included():
    data = {f"k{SURROGATE}": [SURROGATE, {"deep": "\udcff ok"}], "fine": "é 😀", "n": 1}
    fixed, count = valid_unicode(data)
    assert count == 3
    json.dumps(fixed, ensure_ascii=False).encode("utf-8")
    assert fixed["k\ufffd"] == ["\ufffd", {"deep": "\ufffd ok"}] and fixed["fine"] == "é 😀"
    assert SURROGATE in next(iter(data))  # the input is left as it was
    deep = current = []
    for _ in range(50_000):  # deeper than the recursion limit
        current.append([])
        current = current[0]
    current.append(SURROGATE)
    assert valid_unicode(deep)[1] == 1


@pytest.mark.parametrize(
    "name, printable",
    [("ada", True), ("jean-luc o'brien", True), ("élève", True), ("a\nb", False), ("id-\udcff", False)]
    + [("tab\there", False), ("rtl\u202e", False), ("", False), ("nul\x00", False)],
)
def test_student_ids_that_nbgrader_cannot_take_are_refused(name, printable):
    assert is_printable_name(name) == printable
    assert (check_student(name) == "") == printable
    if not printable:
        check_student(name).encode("ascii")  # the reason itself is safe to print anywhere


# --- files and reports ---------------------------------------------------------------------------------------


def test_atomic_write_never_leaves_a_truncated_file(tmp_path):
    path = tmp_path / "report.md"
    write_atomic(path, "the old report\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "the new one, with a lone surrogate " + SURROGATE)
    assert path.read_text() == "the old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]  # no temporary file left
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_folder_is_swapped_in_whole(tmp_path):
    target = tmp_path / "autograded" / "ada" / ASSIGNMENT
    target.mkdir(parents=True)
    (target / "old.ipynb").write_text("old")
    made = new_folder_beside(target)
    (made / "new.ipynb").write_text("new")
    swap_in(made, target)
    assert sorted(p.name for p in target.iterdir()) == ["new.ipynb"]
    assert sorted(p.name for p in target.parent.iterdir()) == [ASSIGNMENT]


def hostile_report():
    report = Report(ASSIGNMENT, 7, "bubblewrap + prlimit", {"memory_mb": 1024})
    for number, text in enumerate(HOSTILE_STRINGS):
        student = f"{number}{text[:200]}"
        report.students.append(
            StudentSummary(
                student,
                1.0,
                6.0,
                notes=[text, f"extra files: notes-\udcff.txt, {text}"],
                restored=[text] * 30,
                flags=[text],
                deaths=[f"judge: a call of {text} exited with code 3"],
                error=text if number % 2 else "",
                feedback=text if number % 3 == 0 else "",
            )
        )
        report.rows.append(Row(student, ASSIGNMENT, "test_rnn_step_forward", "rnn_step_forward", 0.0, 2, "fail", text))
    report.errors.append(INJECTION)
    return report


def test_reports_show_student_text_as_text(tmp_path):
    report = hostile_report()
    md_path, csv_path, json_path = report.write(tmp_path)
    for path in (md_path, csv_path, json_path):
        text = path.read_bytes().decode("utf-8")
        assert not any(c in text for c in "\x00\x1b\x07\u202e\u200b")
        assert path.stat().st_size < 2_000_000  # bounded: 100 KB strings are cut
    assert_inert_markdown_report(md_path.read_text(encoding="utf-8"), report)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert len(rows) == 1 + len(report.rows) and all(len(row) == 8 for row in rows)
    assert not any(field.startswith(("=", "+", "-", "@", "\t")) for row in rows for field in row)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert len(data["students"]) == len(report.students)
    assert all(len(s["restored"]) == 30 for s in data["students"])
    assert data["students"][1]["student"] == plain(report.students[1].student, 4000, one_line=False)


def test_a_report_that_cannot_be_made_leaves_the_old_one_whole(tmp_path, monkeypatch):
    good = Report(ASSIGNMENT, 7, "sandbox", {})
    paths = good.write(tmp_path)
    before = [p.read_bytes() for p in paths]

    def broken(self):
        raise RuntimeError("the JSON could not be made")

    monkeypatch.setattr(Report, "json", broken)
    with pytest.raises(RuntimeError):
        hostile_report().write(tmp_path)
    assert [p.read_bytes() for p in paths] == before


# --- checks of a submission, and the notebook that runs -----------------------------------------------------------


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    from grader.course import Course, load_assignment

    course = make_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    kit = Kit.load(course, ASSIGNMENT)
    kit.model = load_assignment(Course.load(course), ASSIGNMENT, set(rnn_checks.SPECS))
    return kit


def checked(kit, notebook, student="ada", raw=False):
    """check_submission of ``notebook`` (written as JSON with ASCII escapes when ``raw``)."""
    folder = kit.course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    if raw:
        path.write_text(json.dumps(notebook, ensure_ascii=True))
    else:
        nbformat.write(notebook, path)
    return check_submission(folder, kit.model)


def notebook_model(kit):
    return kit.model.notebooks[ASSIGNMENT]


def prepared_cell(kit, notebook, grade_id):
    return next(c for c in prepare(notebook, notebook_model(kit)).cells if _grade_id(c) == grade_id)


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def test_an_honest_submission_has_nothing_to_say(kit):
    result = checked(kit, kit.honest())
    assert not result.reasons and not result.restored and not result.notes


def test_lone_surrogates_anywhere_are_replaced_and_noted(kit):
    notebook = kit.honest()
    kit.solution(notebook, 0).source += f"\n# {SURROGATE}"
    kit.solution(notebook, 1).metadata["tags"] = [SURROGATE]
    notebook.metadata[f"x{SURROGATE}"] = SURROGATE
    notebook.cells.append(nbformat.v4.new_markdown_cell(f"text {SURROGATE}"))
    result = checked(kit, notebook, raw=True)
    assert not result.reasons and not result.restored
    assert any("5 lone UTF-16 surrogate" in note for note in result.notes), result.notes
    graded = result.notebooks[ASSIGNMENT]
    assert kit.solution(graded, 0).source.endswith("# \ufffd")
    nbformat.writes(prepare(graded, notebook_model(kit))).encode("utf-8")


def test_flags_come_from_the_source_never_from_the_submission(kit):
    """A solution cell re-marked as a 50-point grade cell, a test cell unlocked, a cell of the student's flagged."""
    notebook = kit.honest()
    solution = kit.solution(notebook, 0)
    solution.metadata["nbgrader"].update(grade=True, points=50, locked=True)
    kit.test(notebook, 1).metadata["nbgrader"]["locked"] = False
    kit.test(notebook, 1).metadata["nbgrader"]["points"] = 200
    own = nbformat.v4.new_code_cell("print('bonus')")
    own.metadata["nbgrader"] = {"grade": True, "points": 100, "grade_id": "bonus", "solution": False, "locked": True}
    nameless = nbformat.v4.new_code_cell("x = 1")
    nameless.metadata["nbgrader"] = {"grade": True, "points": 10}
    notebook.cells += [own, nameless]
    result = checked(kit, notebook)
    assert not result.reasons, result.reasons
    text = " ".join(result.restored)
    for expected in ("'rnn_step_forward' were changed (grade: True, locked: True, points: 50)", "points: 200"):
        assert expected in text, text
    assert "no such cell" in text and "no grade id" in text
    prepared = prepare(result.notebooks[ASSIGNMENT], notebook_model(kit))
    release = {_grade_id(c): c.metadata["nbgrader"] for c in kit.release.cells if _grade_id(c)}
    for cell in prepared.cells:
        meta = cell.metadata.get("nbgrader")
        if meta:
            expected = {k: v for k, v in release[meta["grade_id"]].items() if k != "checksum"}
            assert {k: v for k, v in meta.items() if k != "checksum"} == expected
    assert [c.metadata for c in prepared.cells[-2:]] == [{}, {}]  # the student's own cells have no flags
    roles = {c["grade_id"]: c["role"] for c in code_cells(prepared, notebook_model(kit))}
    assert roles[kit.solution_ids[0]] == "solution" and roles[kit.test_ids[1]] == "test"


def test_an_edited_or_retyped_test_cell_is_restored_and_noted_not_quarantined(kit):
    notebook = kit.honest()
    kit.test(notebook, 0).source = "print('my own check')\n" + kit.test(notebook, 0).source
    test = kit.test(notebook, 1)
    as_markdown = nbformat.v4.new_markdown_cell("pass", metadata=copy.deepcopy(test.metadata))
    as_markdown.id = test.id
    notebook.cells[notebook.cells.index(test)] = as_markdown
    result = checked(kit, notebook)
    assert not result.reasons
    text = " ".join(result.restored)
    assert "'test_rnn_step_forward' was edited (line 1 changed: " in text and "the original is restored" in text
    assert "from a code cell to a markdown cell" in text
    model = notebook_model(kit)
    for grade_id in kit.test_ids[:2]:
        cell = prepared_cell(kit, result.notebooks[ASSIGNMENT], grade_id)
        assert cell.cell_type == "code" and cell.source == model.source_cells[grade_id].source
        assert cell.outputs == [] and cell.execution_count is None


def test_what_cannot_be_graded_is_quarantined(kit):
    deleted = kit.honest()
    deleted.cells.remove(kit.test(deleted, 2))
    assert "was deleted" in " ".join(checked(kit, deleted).reasons)
    duplicated = kit.honest()
    test = kit.test(duplicated, 0)
    twin = copy.deepcopy(test)
    twin.id = "twin"
    duplicated.cells.insert(duplicated.cells.index(test), twin)
    assert "duplicated" in " ".join(checked(kit, duplicated).reasons)
    assert "not printable" in " ".join(checked(kit, kit.honest(), student="eve\n## x").reasons)


def test_grade_ids_of_any_json_type_are_handled(kit):
    notebook = kit.honest()
    for value in (["a list"], {"a": "dict"}, 3, None, True, ""):
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = {"grade_id": value, "grade": True, "points": 1}
        notebook.cells.append(cell)
    notebook.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": "not a dict"}))
    result = checked(kit, notebook, raw=True)
    assert not result.reasons
    prepare(result.notebooks[ASSIGNMENT], notebook_model(kit))


def test_metadata_of_the_student_is_not_kept(kit):
    notebook = kit.honest()
    notebook.metadata["title"] = '"><script>alert(1)</script>'
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "<script>"}
    kit.solution(notebook, 0).metadata["tags"] = ['"><img src=x onerror=alert(1)>']
    free = nbformat.v4.new_code_cell("pass", metadata={"tags": ["x"], "jupyter": {"source_hidden": True}})
    notebook.cells.append(free)
    prepared = prepare(checked(kit, notebook).notebooks[ASSIGNMENT], notebook_model(kit))
    assert prepared.metadata == kit.release.metadata
    assert "tags" not in prepared.cells[-1].metadata and "tags" not in kit.solution(prepared, 0).metadata


# --- sanitized HTML -------------------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe><iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<a href='javascript:alert(1)'>x</a><a href='jav&#x09;ascript:alert(1)'>y</a><a href=' JaVaScRiPt:alert(1)'>z</a>",
    "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>d</a>",
    "<a href='vbscript:msgbox(1)'>v</a><a href='//pwned.invalid/x'>p</a>",
    "<form action=javascript:alert(1)><button formaction=javascript:alert(1)>b</button></form>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<base href=http://pwned.invalid/><meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<link rel=stylesheet href=http://pwned.invalid/x.css><style>@import 'http://pwned.invalid/y.css'</style>",
    "<div style='background:url(http://pwned.invalid/z)'>s</div><p style=position:fixed>f</p>",
    "<details open ontoggle=alert(1)>d</details><video><source onerror=alert(1)></video>",
    "<img src='http://pwned.invalid/pixel.png'><img srcset='http://pwned.invalid/a.png 1x'>",
    "<!--<script>alert(1)</script>--><![CDATA[<script>alert(1)</script>]]>",
    "<table><td background=javascript:alert(1)>t</td></table>",
    "<a href=# onclick=alert(1) onmouseover=alert(1)>h</a>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    '<div class="modal navbar-fixed-top">spoof</div><span class="k nf">code</span>',
]


@pytest.mark.parametrize("vector", XSS, ids=range(len(XSS)))
def test_sanitized_html_leaves_nothing_active(vector):
    found = active_html(inert.sanitize(vector))
    assert found == {"scripts": [], "elements": [], "handlers": [], "urls": []}
    for markup in (vector, f"text {vector} text", f"# h\n\n{vector}\n\n[l]({vector})"):
        found = active_html(inert.markdown_to_html(markup))
        assert found == {"scripts": [], "elements": [], "handlers": [], "urls": []}, markup


def test_sanitized_html_keeps_what_honest_markdown_makes():
    html = inert.markdown_to_html(MARKDOWN_CELL, {"pixel.png": {"image/png": PNG_PIXEL}})
    for kept in ("<h2 id=", "<em>honest</em>", "<table>", "<td>1</td>", "$h_t = \\tanh(W_x x_t", "&lt;script&gt;"):
        assert kept in html, kept
    assert 'class="modal' not in inert.sanitize('<div class="modal">x</div>')
    assert '<span class="k nf">' in inert.sanitize('<span class="k nf">def</span>')
    image = inert.markdown_to_html("![p](attachment:p.png)", {"p.png": {"image/png": PNG_PIXEL}})
    assert f'src="data:image/png;base64,{PNG_PIXEL}"' in image
    assert "<pre>" in inert.markdown_to_html("![m](attachment:missing.png)")  # not a failed feedback
    assert inert.sanitize('<a href="https://arxiv.org/abs/1409.2329">x</a>').count('href="https://arxiv.org') == 1


def test_configure_sanitizes_every_html_exporter_made_from_the_config():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(MARKDOWN_CELL)])
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": XSS[1], "text/markdown": XSS[0]})]
    notebook.cells.append(cell)
    config = inert.configure(Config())
    for template in ("classic", "lab"):
        html, _ = HTMLExporter(config=config, template_name=template).from_notebook_node(copy.deepcopy(notebook))
        found = active_html(html)
        assert not found["handlers"] and not found["urls"], (template, found)
        assert "honest-markdown-heading</h2>" in html or "honest-markdown-heading<a" in html


@pytest.mark.parametrize("template", ["feedback", "formgrade"])
def test_nbgraders_own_templates_with_the_course_configuration_run_nothing(kit, template):
    """nbgrader_config.py sanitizes every HTMLExporter nbgrader makes from it: its feedback, the formgrader.

    The notebook holds raw hostile outputs (as plain ``nbgrader autograde`` would keep them) and the student's
    Markdown cell: the course's configuration alone must keep the page as inert as it is for an honest notebook.
    """
    from pathlib import Path

    import nbgrader.server_extensions.formgrader as formgrader
    from nbconvert import HTMLExporter

    from grader.course import Course

    config = copy.deepcopy(Course.load(kit.course).config)
    assert config.HTMLExporter.sanitize_html is True
    assert dict(config.HTMLExporter.filters) == inert.FILTER_NAMES
    config.HTMLExporter.template_name = template  # as nbgrader's GenerateFeedback and formgrader set them
    here = Path(formgrader.__file__).parent
    config.HTMLExporter.extra_template_basedirs = [str(here / "templates")]
    config.HTMLExporter.extra_template_paths = [str(here / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    resources = {
        "nbgrader": {"notebook": ASSIGNMENT, "score": 1, "max_score": 6, "late_penalty": 0},
        **dict(assignment_id=ASSIGNMENT, notebook_id=ASSIGNMENT, submission_id="s", index=0, total=1),
        **dict(base_url="", student="ada", last_name=None, first_name=None, notebook_path="p"),
    }

    def render(notebook):
        notebook = copy.deepcopy(notebook)
        for cell in notebook.cells:  # what nbgrader's GetGrades adds from the gradebook
            if cell.metadata.get("nbgrader", {}).get("grade"):
                cell.metadata.nbgrader["score"] = 0
        html, _ = HTMLExporter(config=config).from_notebook_node(notebook, resources=copy.deepcopy(resources))
        return html

    honest = prepare(kit.honest(), notebook_model(kit))
    hostile = copy.deepcopy(honest)
    hostile.cells.insert(1, nbformat.v4.new_markdown_cell(MARKDOWN_CELL))
    cell = next(c for c in hostile.cells if c.cell_type == "code")
    data = {"text/html": XSS[1], "text/markdown": XSS[6], "image/svg+xml": XSS[2], "application/javascript": "1"}
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata={"text/html": {"isolated": True}})]
    html = render(hostile)
    assert active_html(html) == active_html(render(honest))
    assert "PWNED-cell" in html and "honest-markdown-heading" in html


# --- outputs from the sandbox ----------------------------------------------------------------------------------


def test_outputs_from_the_sandbox_keep_only_inert_bounded_valid_text():
    bundle = {
        "text/plain": f"plain {SURROGATE}\x00\x1b[31m",
        "text/html": XSS[1],
        "text/markdown": XSS[0],
        "image/svg+xml": XSS[2],
        "application/javascript": "alert(1)",
        "image/png": PNG_PIXEL,
        "image/jpeg": "not base64 <script>",
        "text/latex": "$\\href{javascript:alert(1)}{x}$",
    }
    raw = [
        {"output_type": "display_data", "data": bundle, "metadata": {"text/html": {"isolated": True}}},
        {"output_type": "execute_result", "data": {"text/markdown": INJECTION}, "execution_count": "x"},
        {"output_type": "stream", "name": "evil", "text": "s" * 1_000_000},
        {"output_type": "error", "ename": XSS[0], "evalue": SURROGATE, "traceback": ["t"] * 10_000},
        {"output_type": "unknown"},
        "not a dict",
    ] + [{"output_type": "stream", "name": "stdout", "text": "x"}] * 100
    events = [{"event": "end", "kind": "cell", "index": 3, "outputs": raw, "execution_count": 2}]
    outputs, count = feedback._outputs(events)[3]
    assert count == 2 and len(outputs) <= feedback.MAX_OUTPUTS + 1
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=outputs)])
    nbformat.validate(notebook)
    nbformat.writes(notebook).encode("utf-8")
    display, result, stream, error = outputs[:4]
    assert set(display.data) == {"text/plain", "text/html", "image/png", "text/latex"} and display.metadata == {}
    assert "\x00" not in display.data["text/plain"] and "\x1b[31m" in display.data["text/plain"]
    assert active_html(display.data["text/html"]) == {"scripts": [], "elements": [], "handlers": [], "urls": []}
    assert active_html(result.data["text/html"])["urls"] == []
    assert stream.name == "stdout" and len(stream.text) < 250_000
    assert len(error.traceback) == feedback.MAX_TRACEBACK and "\ufffd" in error.evalue
    assert "more outputs" in outputs[-1].text


# --- one student's failure -------------------------------------------------------------------------------------


def test_one_students_failure_is_recorded_for_that_student_and_the_batch_goes_on(tmp_path, monkeypatch):
    """The grader fails on one student, the gradebook write on another: both are reported, the others graded."""
    from grader.course import Course
    from grader.gradebook import GradebookWriter
    from grader.pipeline import Grader

    course = make_course(tmp_path / "course", [ASSIGNMENT])
    kit = Kit.load(course, ASSIGNMENT)
    for student, notebook in {"correct": kit.honest(), "blank": kit.blank()}.items():
        submit(course, student, ASSIGNMENT, notebook)
    for student in ("grader_fails", "save_fails"):
        submit(course, student, ASSIGNMENT, kit.honest())
    earlier = course / "autograded" / "save_fails" / ASSIGNMENT
    earlier.mkdir(parents=True)
    (earlier / "from-an-earlier-run.txt").write_text("kept")

    grade_into, record = Grader._grade_into, GradebookWriter.record

    def failing_grade(self, result, slot):
        if result.student == "grader_fails":
            raise KeyError(f"a bug {SURROGATE} on\n## this student")
        return grade_into(self, result, slot)

    def failing_record(self, student, *args):
        if student == "save_fails":
            raise OSError("the disk is full")
        return record(self, student, *args)

    monkeypatch.setattr(Grader, "_grade_into", failing_grade)
    monkeypatch.setattr(GradebookWriter, "record", failing_record)
    lines = []
    grader = Grader(Course.load(course), ASSIGNMENT, require_sandbox(tight_limits()), jobs=2, log=lines.append)
    try:
        report = grader.grade(feedback=True)
    finally:
        grader.close()
    summaries = {s.student: s for s in report.students}
    assert summaries["correct"].total == 6 and summaries["blank"].total == 0
    assert "KeyError" in summaries["grader_fails"].error and "\\ud800" in summaries["grader_fails"].error
    assert "saving the grades failed: OSError: the disk is full" in summaries["save_fails"].error
    assert sorted(p.name for p in earlier.iterdir()) == ["from-an-earlier-run.txt"]  # left as it was
    assert not list((course / "autograded" / "save_fails").glob(".*"))  # no half-made folder
    assert (course / "feedback" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    assert {r.status for r in report.rows if r.student in ("grader_fails", "save_fails")} == {"error"}
    assert len(lines) == 4 and all(line.isprintable() for line in lines)
    assert_inert_markdown_report(report.markdown(), report)


def test_a_batch_that_cannot_start_still_ends_with_a_report(tmp_path, monkeypatch):
    from grader.course import Course
    from grader.gradebook import GradebookWriter
    from grader.pipeline import Grader

    course = make_course(tmp_path / "course", [ASSIGNMENT])
    kit = Kit.load(course, ASSIGNMENT)
    submit(course, "ada", ASSIGNMENT, kit.honest())

    def no_gradebook(self, course, assignment):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(GradebookWriter, "__init__", no_gradebook)
    grader = Grader(Course.load(course), ASSIGNMENT, require_sandbox(tight_limits()), jobs=1, log=str)
    try:
        report = grader.grade(feedback=True)
    finally:
        grader.close()
    assert "the batch stopped: RuntimeError: database is locked" in report.errors[0]
    assert [s.error for s in report.students] == ["not graded: the batch stopped before"]
    paths = report.write(tmp_path / "reports")
    assert "database is locked" in paths[0].read_text()


def test_the_sanitizers_time_is_bounded():
    """Markup that would take bleach minutes (nested or repeated tags, megabytes) is not parsed: shown as text."""
    budget = inert.Budget()
    for hostile in ("<div>" * 100_000, "<b>x</b>" * 50_000, "<p>" * 3_000):
        shown = inert.sanitize(hostile, budget)
        assert shown.startswith("<pre>&lt;") and active_html(shown)["elements"] == []
    for markdown_text in ("*a* " * 100_000, "- x\n" * 5_000, "<b>y</b>" * 3_000):
        shown = inert.markdown_to_html(markdown_text, budget=budget)
        assert shown.startswith("<pre>") and active_html(shown)["elements"] == []
    assert budget.tags == inert.PAGE_TAGS  # none of it was parsed
    assert inert.sanitize("<b>fine</b>", budget) == "<b>fine</b>" and budget.tags == inert.PAGE_TAGS - 2
    spent = inert.Budget(tags=3)
    assert inert.sanitize("<b>1</b><b>2</b>", spent).startswith("<pre>")  # past the page's budget: text
