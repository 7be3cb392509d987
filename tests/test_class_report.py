"""The class report (grader.classreport): what a class got wrong, on a page that needs no network.

The pages are made from JSON reports written by :class:`grader.report.Report` (a class made up here,
with hostile student names and messages), and opened in a real browser (Debian's Chromium through
Playwright, as tests/test_browser.py does; never ``playwright install``): every plot renders, no request
leaves the page (every request is routed, and any is a failure), and no student text runs as code.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from test_browser import CHROMIUM_ARGS, chromium_path

from grader import classreport
from grader.report import Report, Row, StudentSummary

HOSTILE = '<script>window.__pwned = 1</script><img src="http://203.0.113.9/x.png" onerror="window.__pwned = 2">'


def _mistake(ident, hint, section="book/02_bptt.html#truncated-bptt"):
    return {"id": ident, "hint": hint + ": your outputs equal what that gives", "section": section}


def make_report(assignment, students):
    """A report of ``assignment``: ``students`` maps a name to {grade_id: (points, mistakes)} or a summary kind."""
    cells = {"test_rnn_backward": ("rnn_backward", 4.0), "test_truncated_bptt": ("truncated_bptt", 3.0)}
    report = Report(assignment, 1, "bubblewrap + prlimit", {})
    for name, work in students.items():
        if work == "quarantined":
            report.students.append(StudentSummary(name, 0.0, 7.0, quarantined=[f"not a notebook: {HOSTILE}"]))
            for grade_id, (function, top) in cells.items():
                report.rows.append(
                    Row(name, assignment, grade_id, function, None, top, "quarantined", "not a notebook")
                )
            continue
        total = 0.0
        for grade_id, (function, top) in cells.items():
            points, mistakes = work.get(grade_id, (top, []))
            total += points
            status = "pass" if points == top else "fail"
            report.rows.append(
                Row(name, assignment, grade_id, function, points, top, status, f"{HOSTILE} raised", mistakes)
            )
        flags = [f"solution rnn_backward, line 3: imports os ({HOSTILE})"] if name.startswith("flagged") else []
        summary = StudentSummary(name, total, 7.0, flags=flags)
        if name == "cy":
            summary.similar = [f"rnn_backward is close to {HOSTILE}'s"]
        report.students.append(summary)
    report.similarity = {
        "method": "winnowed fingerprints",
        "parameters": {"k": 12, "window": 4, "threshold": 0.6, "min_fingerprints": 12, "common_cutoff": 10},
        "students": len(students),
        "functions": ["rnn.rnn_backward"],
        "seconds": 0.01,
        "omitted": 0,
        "pairs": [
            {
                "function": "rnn_backward",
                "score": 0.97,
                "shared": 40,
                "a": {"kind": "student", "name": "cy", "where": "cy", "fingerprints": 41},
                "b": {"kind": "reference", "name": "rnn_ref", "where": "rnn_ref.rnn", "fingerprints": 44},
                "rows": [
                    ["def rnn_backward(dhs, cache, dh_last=None):", "=", "def rnn_backward(dhs, cache, dh_last=None):"],
                    [f"    x = 1  # {HOSTILE}", "~", "    T, N, H = dhs.shape"],
                ],
            }
        ],
        "notes": [],
    }
    return report


FORWARD = _mistake("the-loop-runs-forward-in-time", "the loop runs forward in time", "book/02_bptt.html#the-code")
CARRY = _mistake("every-window-starts-from-state0", "every window starts from state0")


@pytest.fixture()
def reports(tmp_path):
    folder = tmp_path / "reports"
    first = make_report(
        "02_bptt",
        {
            "ada": {},
            "bob": {"test_rnn_backward": (0.0, [FORWARD])},
            "cy": {"test_rnn_backward": (0.0, [FORWARD]), "test_truncated_bptt": (0.0, [CARRY])},
            "dee": {"test_truncated_bptt": (0.0, [])},
            HOSTILE: {"test_truncated_bptt": (0.0, [CARRY])},
            "flagged-eve": {},
            "zed": "quarantined",
        },
    )
    second = make_report("03_vanishing_exploding", {"ada": {}, "bob": {"test_rnn_backward": (0.0, [FORWARD])}})
    paths = [first.write(folder)[2], second.write(folder)[2]]
    return folder, paths


def test_the_json_report_keeps_the_recognized_mistakes_of_every_row(reports):
    _, paths = reports
    data = json.loads(paths[0].read_text())
    bob = [r for r in data["rows"] if r["student"] == "bob" and r["grade_id"] == "test_rnn_backward"]
    assert bob[0]["mistakes"] == [FORWARD]


def test_the_counts_are_per_student_and_per_mistake(reports):
    _, paths = reports
    data = classreport.load(paths[0])
    counts = classreport.mistake_counts(data)
    assert counts["test_rnn_backward"][0] == {"the-loop-runs-forward-in-time": 2}
    assert counts["test_truncated_bptt"][0] == {"every-window-starts-from-state0": 2}
    assert counts["test_truncated_bptt"][2] == 1  # dee failed with no recognized mistake
    hint, section = counts["test_rnn_backward"][1]["the-loop-runs-forward-in-time"]
    assert hint == "the loop runs forward in time" and section == "book/02_bptt.html#the-code"


def test_the_points_lost_are_sorted_most_first(reports):
    _, paths = reports
    lost = classreport.lost_points(classreport.load(paths[0]))
    assert [(row[0], row[2], row[3], row[4]) for row in lost] == [
        ("test_truncated_bptt", 9.0, 3, 6),
        ("test_rnn_backward", 8.0, 2, 6),
    ]


def test_the_pages_escape_every_student_text_and_link_into_the_book(reports):
    folder, paths = reports
    page = classreport.write_assignment(paths[0]).read_text()
    whole = classreport.write_class(folder).read_text()
    for text in (page, whole):
        assert not re.search(r"<(script|img|iframe)\b", text, re.IGNORECASE) and 'onerror="' not in text
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text)  # nothing remote to load or follow
    assert 'href="../_build/html/book/02_bptt.html#the-code"' in page
    assert page.count("<svg") == 2 and whole.count("<svg") == 1


def test_the_page_shows_similar_code_side_by_side_as_text(reports):
    folder, paths = reports
    page = classreport.assignment_page(classreport.load(paths[0]))
    section = page.split("<h2>Similar code</h2>", 1)[1].split("<h2>", 1)[0]
    assert "rnn_backward: cy and rnn_ref (the reference), 97%" in section
    assert section.count("def rnn_backward(dhs, cache, dh_last=None):") == 2  # both sides
    assert "<script>" not in section and "&lt;script&gt;" in section
    empty = classreport.assignment_page(classreport.load(paths[1]) | {"similarity": {"pairs": []}})
    assert "No pair of functions above the similarity threshold" in empty


def test_make_grade_writes_the_page_beside_the_other_reports(reports, capsys):
    """The grading command's own step (grader.__main__._class_report), on a written report."""
    from grader.__main__ import _class_report

    folder, paths = reports
    page = _class_report([folder / "02_bptt.md", folder / "02_bptt.csv", paths[0]])
    assert page == folder / "02_bptt.html" and page.is_file()


def test_class_report_command_gathers_every_assignment(reports, capsys):
    folder, _ = reports
    assert classreport.main(["--class", str(folder)]) == 0
    text = (folder / "class.html").read_text()
    assert "02_bptt" in text and "03_vanishing_exploding" in text
    assert classreport.main(["--class", str(folder / "none")]) == 1


# --- in a real browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: pip install -e '.[browser]' (never `playwright install`)")
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed: run `make chromium` (Debian: apt-get install chromium)")
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield browser
        browser.close()


PLOTS = """() => [...document.querySelectorAll('figure svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  return {width: box.width, height: box.height, shapes: svg.querySelectorAll('path, rect, line, use').length};
})"""


@pytest.mark.parametrize("which", ["02_bptt.html", "class.html"])
def test_the_page_renders_every_plot_and_requests_nothing(browser, reports, which):
    folder, paths = reports
    classreport.write_assignment(paths[0])
    classreport.write_class(folder)
    page_path = folder / which
    context = browser.new_context(java_script_enabled=True)
    requests, errors = [], []

    def every_request(route):  # the page itself is the only thing that may load
        if route.request.url != page_path.as_uri():
            requests.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    context.route("**/*", every_request)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        plots = page.evaluate(PLOTS)
        pwned = page.evaluate("() => window.__pwned")
        text = page.inner_text("body")
    finally:
        context.close()
    assert requests == [], requests
    assert plots and all(p["width"] > 100 and p["height"] > 50 and p["shapes"] > 5 for p in plots), plots
    assert pwned is None
    assert errors == [] or all("Content Security Policy" in e or "Content-Security-Policy" in e for e in errors)
    if which == "02_bptt.html":
        assert HOSTILE in text  # shown as text, not run
        assert "similar code (no points taken): rnn_backward is close to" in text
        assert "the loop runs forward in time" in text and "2" in text
