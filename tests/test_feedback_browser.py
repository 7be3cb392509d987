"""The feedback of hostile notebooks in a real browser: no script of the student's runs, honest outputs still show.

One batch of the grading command (01_rnn_cell, sandboxed, with nbgrader's feedback) over an honest correct and an
honest blank student and the hostile cases of tests/hostile/corpus.py that put scripts in every output type and in
the student's own Markdown cells (each script would open a dialog, log ``PWNED`` and fetch ``pwned.invalid``).
Each feedback page is then opened from the disk in Debian's Chromium (driven by Playwright, as in
tests/test_browser.py), offline: every request but the page's MathJax is refused and recorded. The page loads
MathJax 2 with its ``Safe`` extension from a CDN; here the same MathJax 2 (the ``jupyter-server-mathjax``
package) answers those requests, so that LaTeX (``\\href{javascript:...}``) is typeset as students see it.

Asserted for every page: no dialog, no console message with PWNED, no request but the page and MathJax, no link
or frame that could run a script after MathJax has typeset the page, even when every link is clicked; and the
honest parts (text, a PNG, a Markdown heading and table, an attachment, math) are there and visible.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hostile.corpus import CASES, write_corpus
from hostile.course import make_course, require_sandbox, tight_limits

ASSIGNMENT = "01_rnn_cell"
STUDENTS = [
    "honest_correct",
    "honest_blank",
    "outputs_script",
    "markdown_cell_script",
    "surrogate_in_metadata",
    "mallory <!-- | **100** | # [x](javascript:alert(1))",
]
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/"
# What the CDN's latest.js does when it cannot reach the CDN's API: load MathJax.js from its own folder, with the
# same configuration.
LATEST_JS = """(function () {
  var script = document.createElement("script");
  script.src = "%sMathJax.js" + %r;
  document.head.appendChild(script);
})();"""
# The page asks for the combined configuration TeX-AMS_CHTML-full (TeX input, CommonHTML output); the package has
# TeX-AMS-MML_HTMLorMML-full (the same TeX input and extensions, HTML-CSS output), served in its place. The Safe
# extension (config/Safe.js, extensions/Safe.js, both the package's) works on what the TeX input makes.
ASKED, SERVED = "config/TeX-AMS_CHTML-full.js", "config/TeX-AMS-MML_HTMLorMML-full.js"
FONTS = 'MathJax.Hub.Config({"HTML-CSS": {webFont: "STIX-Web", availableFonts: [], imageFont: null}});\n'  # its fonts

pytestmark = pytest.mark.slow


def require_browser():
    """Playwright and Chromium, or a visible skip (a failure under ``make test``, which installs both)."""
    from test_browser import chromium_path

    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright (pip install -e '.[browser]')")
    if chromium_path() is None:
        missing.append("Chromium (make chromium)")
    if importlib.util.find_spec("jupyter_server_mathjax") is None:
        missing.append("jupyter-server-mathjax (pip install -e '.[browser]')")
    if missing:
        reason = "the feedback's browser test needs " + " and ".join(missing)
        if os.environ.get("RNN_REQUIRE_BOOK") == "1":
            pytest.fail(reason + " (RNN_REQUIRE_BOOK=1)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    """{student: feedback page} and the report, after one batch of the grading command."""
    from grader.course import Course
    from grader.pipeline import Grader

    require_browser()
    sandbox = require_sandbox(tight_limits())
    course_dir = make_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    write_corpus(course_dir, ASSIGNMENT, [c for c in CASES if c.name in STUDENTS])
    grader = Grader(Course.load(course_dir), ASSIGNMENT, sandbox, jobs=2, log=lambda line: None)
    try:
        report = grader.grade(feedback=True)
    finally:
        grader.close()
    pages = {s: course_dir / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html" for s in STUDENTS}
    return pages, report


@pytest.fixture(scope="module")
def browser(feedback):
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_ARGS, chromium_path

    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")  # Chromium refuses to start its sandbox as root
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=args)
        yield browser
        browser.close()


class Visit:
    """What a page did: dialogs, console messages, requests (served or refused), page errors."""

    def __init__(self):
        self.dialogs, self.console, self.requests, self.refused, self.errors = [], [], [], [], []


def _mathjax_file(path):
    import jupyter_server_mathjax

    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = (static / path).resolve()
    return target if static in target.parents and target.is_file() else None


def open_feedback(browser, page_path):
    """Load one feedback page from the disk, offline but for MathJax; wait until MathJax has typeset it."""
    visit = Visit()
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})

    def route(route):
        url = route.request.url
        visit.requests.append(url)
        if url.startswith("file://"):
            return route.continue_()
        if url.startswith(MATHJAX_CDN):
            path = urlsplit(url).path[len(urlsplit(MATHJAX_CDN).path) :]
            if path == "latest.js":
                query = f"?{urlsplit(url).query}" if urlsplit(url).query else ""
                return route.fulfill(body=LATEST_JS % (MATHJAX_CDN, query), content_type="text/javascript")
            if path == ASKED:
                body = FONTS + _mathjax_file(SERVED).read_text(encoding="utf-8").replace(SERVED, ASKED)
                return route.fulfill(body=body, content_type="text/javascript")
            found = _mathjax_file(path)
            if found is not None:
                return route.fulfill(path=str(found))
        visit.refused.append(url)
        return route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda dialog: (visit.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: visit.console.append(message.text))
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue", timeout=20_000)
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
    return context, page, visit


# JavaScript run in the page: what could still run something after MathJax typeset it.
ACTIVE = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const value = attr.value.replace(/[\\x00-\\x20]/g, '').toLowerCase();
      if (attr.name.startsWith('on')) bad.push(`${el.tagName} ${attr.name}`);
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(attr.name) &&
          (value.startsWith('javascript:') || value.startsWith('vbscript:') ||
           (value.startsWith('data:') && !(el.tagName === 'IMG' && value.startsWith('data:image/')))))
        bad.push(`${el.tagName} ${attr.name}=${attr.value.slice(0, 60)}`);
    }
  }
  for (const tag of ['iframe', 'object', 'embed', 'form', 'base', 'svg', 'frame'])
    for (const el of document.querySelectorAll(tag)) bad.push(`<${tag}>`);
  const scripts = [...document.scripts].map(s => s.src || s.type || 'inline');
  return {bad, scripts};
}"""


def test_the_batch_grades_honest_students_and_makes_every_feedback(feedback):
    pages, report = feedback
    totals = {s.student: (s.total, s.max_total) for s in report.students}
    assert totals["honest_correct"][0] == totals["honest_correct"][1] > 0
    assert totals["honest_blank"][0] == 0
    assert totals["outputs_script"][0] == totals["markdown_cell_script"][0] == totals["honest_correct"][1]
    for student, page in pages.items():
        assert page.is_file(), student


@pytest.mark.parametrize("student", STUDENTS, ids=lambda s: s.split()[0])
def test_no_script_of_the_student_runs_in_the_feedback(browser, feedback, student):
    pages, _ = feedback
    context, page, visit = open_feedback(browser, pages[student])
    try:
        found = page.evaluate(ACTIVE)
        links = page.locator("a[href]")
        for i in range(links.count()):  # a click on any link (MathJax's included) runs nothing
            link = links.nth(i)
            href = (link.get_attribute("href") or "").strip().lower()
            if href.startswith(("#", "javascript:", "data:", "vbscript:")) and link.is_visible():
                link.click(timeout=2_000, no_wait_after=True)
        page.mouse.move(640, 450)
        page.wait_for_timeout(300)
    finally:
        context.close()
    assert visit.dialogs == []
    assert [m for m in visit.console if "PWNED" in m] == []
    assert [url for url in visit.requests if not url.startswith(("file://", MATHJAX_CDN))] == []
    assert visit.refused == [], "only MathJax is fetched, and all of it from the local copy"
    assert found["bad"] == [], found["bad"]
    mathjax = f"{MATHJAX_CDN}latest.js?config=TeX-AMS_CHTML-full,Safe"
    assert found["scripts"][0] == mathjax and "text/x-mathjax-config;executed=true" in found["scripts"]
    # the rest: MathJax's own files, and the scripts of type math/tex in which MathJax keeps the TeX it typeset
    assert all(s.startswith((MATHJAX_CDN, "text/x-mathjax-config", "math/tex")) for s in found["scripts"])


def visible_text(page):
    return page.evaluate("() => document.body.innerText")


def test_honest_outputs_still_show(browser, feedback):
    pages, _ = feedback
    context, page, visit = open_feedback(browser, pages["outputs_script"])
    try:
        text = visible_text(page)
        pixels = page.evaluate(
            "() => [...document.images].filter(i => i.src.startsWith('data:image/png') && i.complete)"
            ".map(i => i.naturalWidth)"
        )
        bold = page.locator("b", has_text="honest-html-output").count()
        strong = page.locator("strong", has_text="honest-markdown-output").count()
        typeset = page.locator(".MathJax").count()
    finally:
        context.close()
    for expected in ("honest-stream-output", "honest-bundle-text", "<script>", "PWNED-stream"):
        assert expected in text, expected  # the student's text is shown as text
    assert 1 in pixels, "the honest PNG output is not shown"
    assert bold == 1 and strong == 1
    assert typeset >= 2, "the LaTeX outputs were not typeset"
    assert visit.errors == []


def test_honest_markdown_cells_still_show(browser, feedback):
    pages, _ = feedback
    context, page, visit = open_feedback(browser, pages["markdown_cell_script"])
    try:
        text = visible_text(page)
        heading = page.locator("h2", has_text="honest-markdown-heading").count()
        cells = page.locator("table td").all_inner_texts()
        pixels = page.evaluate("() => [...document.images].filter(i => i.complete).map(i => i.naturalWidth)")
        typeset = page.locator(".MathJax").count()
    finally:
        context.close()
    assert heading == 1
    assert "1" in cells and "2" in cells
    assert 1 in pixels, "the attachment of a Markdown cell is not shown"
    assert "honest-after-missing-attachment" in text  # a missing attachment does not lose the cell
    assert "PWNED-cell" in text  # the hostile HTML is shown as the text it is
    assert typeset >= 2, "the math of the Markdown cell was not typeset"
