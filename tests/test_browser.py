"""The built website in a real browser: every page works offline, math renders, links and downloads resolve.

Drives Debian's Chromium (``/usr/bin/chromium``, or ``$RNN_CHROMIUM``) through Playwright's ``executable_path``;
Playwright's own browser download is never used. The site in ``_build/html`` is served on 127.0.0.1 and every
request to another host is aborted and reported, so a page that needs the network fails here.

Skips, with a visible reason, only when the site is not built; with ``RNN_REQUIRE_BOOK=1`` (``make test``, which
builds the book first) that skip becomes a failure. A built site without Playwright or Chromium fails.
"""

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "_build" / "html"
ARTIFACTS = REPO / "test-artifacts"
CHAPTERS = [
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
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Console messages that are known noise of the theme, not faults of the site: (regular expression, why).
# Keep this list short and explained; anything else logged as an error fails the test.
CONSOLE_ALLOW = []
NOT_FOUND_ALLOW = set()  # paths whose 404 is expected


def skip_or_fail(reason):
    if os.environ.get("RNN_REQUIRE_BOOK") == "1":
        pytest.fail(reason + " (RNN_REQUIRE_BOOK=1)")
    pytest.skip(reason)


def site_pages():
    """Every page of the built site (relative POSIX paths), index.html (a redirect) apart."""
    if not (SITE / "index.html").is_file():
        return []
    pages = [p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")]
    return sorted(p for p in pages if not p.startswith("_") and p != "index.html")


PAGES = site_pages() or [None]  # None: a single test that reports why the site cannot be visited


# ---------------------------------------------------------------------------------------------------------------
# fixtures: the site, a local server, a browser


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        skip_or_fail(f"the website is not built ({SITE.relative_to(REPO)}/index.html is missing): run `make book`")
    return SITE


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".ipynb": "application/x-ipynb+json"}

    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def chromium_path():
    for candidate in (os.environ.get("RNN_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser(site):
    # A built site is there to be checked: a missing browser is a failure with instructions, never a skip.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: pip install -e '.[browser]' (never `playwright install`)")
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed: run `make chromium` (Debian: apt-get install chromium)")
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")  # Chromium refuses to start its sandbox as root
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield browser
        browser.close()


class Visit:
    """What happened while one page loaded: remote requests blocked, local failures, JavaScript errors."""

    def __init__(self):
        self.blocked, self.failed, self.errors = [], [], []


@pytest.fixture(scope="module")
def context(browser, server):
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
    context.visit = Visit()
    local = urlsplit(server).netloc

    def guard(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != local:
            context.visit.blocked.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    context.route("**/*", guard)
    yield context
    context.close()


def open_page(context, server, path, base=None):
    """Load one page of the site (from ``base``, by default the server) and wait until MathJax has typeset it."""
    context.visit = visit = Visit()
    page = context.new_page()

    def on_console(message):
        if message.type == "error" and not any(re.fullmatch(p, message.text) for p, _ in CONSOLE_ALLOW):
            visit.errors.append(f"console: {message.text}")

    def on_response(response):
        url = urlsplit(response.url)
        if response.status >= 400 and url.path not in NOT_FOUND_ALLOW:
            visit.failed.append(f"{response.url} -> HTTP {response.status}")

    def on_failed(request):
        url = urlsplit(request.url)
        if url.scheme == "file" or url.netloc == urlsplit(server).netloc:  # remote ones are in visit.blocked
            visit.failed.append(f"{request.url} -> {request.failure}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.goto(f"{base or server}/{path}", wait_until="load")
    if page.locator(".math").count():
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=15_000)
            page.evaluate("() => MathJax.startup.promise")
        except PlaywrightTimeout:
            visit.errors.append("MathJax never started on a page with math (is _static/mathjax served?)")
    return page, visit


# JavaScript run in the page.
MATH_REPORT = """() => {
  const maths = [...document.querySelectorAll('span.math, div.math')];
  const unrendered = maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 60));
  const errors = [...document.querySelectorAll('mjx-merror, merror, [data-mjx-error]')]
    .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 60));
  // Visible text outside code and outside rendered math must not hold raw TeX delimiters.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(node) {
    return node.parentElement.closest('pre, code, script, style, textarea, mjx-container, .highlight')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
  }});
  const raw = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.includes('$$')) raw.push(node.textContent.trim().slice(0, 60));
  }
  return {count: maths.length, containers: document.querySelectorAll('mjx-container').length, unrendered, errors, raw};
}"""

IMAGES_REPORT = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  const settle = img => img.complete ? Promise.resolve() : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
  });
  await Promise.race([Promise.all(images.map(settle)), new Promise(done => setTimeout(done, 10000))]);
  return images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.currentSrc || img.src);
}"""


def local_file(server, url):
    """The file of the site a URL of the local server names, or None for another host or scheme."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != server:
        return None
    path = SITE / unquote(parts.path).lstrip("/")
    return path / "index.html" if path.is_dir() else path


@functools.cache
def anchors_of(path):
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return set(re.findall(r"""\s(?:id|name)=["']([^"']+)["']""", text))


def broken_links(page, server, path):
    """Internal links of the page whose file does not exist or whose fragment names no element."""
    here = SITE / path
    dom_ids = set(page.evaluate("() => [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name)"))
    broken = []
    for href in sorted(set(page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"))):
        target = local_file(server, href)
        if target is None:
            continue  # mailto:, javascript:, or another site (never fetched: no network here)
        if not target.is_file():
            broken.append(f"{href} (no such file)")
            continue
        fragment = unquote(urlsplit(href).fragment)
        if fragment and target.suffix == ".html":
            ids = dom_ids if target.resolve() == here.resolve() else anchors_of(str(target))
            if fragment not in ids:
                broken.append(f"{href} (no element with id {fragment!r})")
    return broken


# ---------------------------------------------------------------------------------------------------------------
# tests


@pytest.mark.parametrize("path", PAGES)
def test_page_works_offline_with_math_images_and_links(context, server, path):
    if path is None:
        skip_or_fail("the website is not built: run `make book`")
    page, visit = open_page(context, server, path)
    try:
        math = page.evaluate(MATH_REPORT)
        missing_images = page.evaluate(IMAGES_REPORT)
        broken = broken_links(page, server, path)
    finally:
        page.close()
    problems = []
    problems += [f"remote request blocked: {url}" for url in visit.blocked]
    problems += [f"request failed: {failure}" for failure in visit.failed]
    problems += visit.errors
    if math["count"]:
        if not math["containers"]:
            problems.append("MathJax rendered nothing on a page with math")
        problems += [f"math not rendered: {tex!r}" for tex in math["unrendered"][:5]]
        if len(math["unrendered"]) > 5:
            problems.append(f"... and {len(math['unrendered']) - 5} more formulas not rendered")
    problems += [f"MathJax error: {error}" for error in math["errors"]]
    problems += [f"raw $$ in the visible text: {text}" for text in math["raw"]]
    problems += [f"image not loaded: {src}" for src in missing_images]
    problems += [f"broken link: {link}" for link in broken]
    assert problems == [], f"{path}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", ["book/notation.html", "book/04_lstm.html"])
def test_page_works_opened_from_disk(context, server, site, path):
    """A reader may open _build/html/index.html straight from the disk: file:// must work as well as http."""
    if not (site / path).is_file():
        pytest.fail(f"{path} was not built")
    page, visit = open_page(context, server, path, base=site.as_uri())
    try:
        math = page.evaluate(MATH_REPORT)
        missing_images = page.evaluate(IMAGES_REPORT)
    finally:
        page.close()
    assert visit.blocked == [] and visit.failed == [] and visit.errors == []
    assert math["count"] and math["unrendered"] == [] and math["errors"] == [], math
    assert missing_images == []


def test_index_opens_the_introduction(context, server, site):
    page = context.new_page()
    try:
        page.goto(f"{server}/index.html")
        page.wait_for_url(re.compile(r".*/book/intro\.html$"), timeout=10_000)
        assert page.locator("h1").first.inner_text().strip()
    finally:
        page.close()


@pytest.mark.parametrize("name", CHAPTERS)
def test_exercise_page_downloads_its_notebook(context, server, site, name):
    path = f"exercises/{name}/{name}.html"
    if not (site / path).is_file():
        pytest.fail(f"exercise page {path} was not built")
    page, _ = open_page(context, server, path)
    try:
        link = page.locator("a.btn-download-source-button, a.btn-download-notebook-button").filter(has_text=".ipynb")
        assert link.count() == 1, "the download menu offers no .ipynb"
        href = link.evaluate("a => a.href")
        assert urlsplit(href).path == f"/_sources/exercises/{name}/{name}.ipynb"
        assert link.get_attribute("download") == f"{name}.ipynb", "the link should save the file, not open it"
        response = context.request.get(href)
        assert response.status == 200
        notebook = json.loads(response.body())
        assert notebook["nbformat"] == 4 and notebook["cells"]
    finally:
        page.close()


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_page_downloads_its_notebook(context, server, site, name):
    path = f"book/{name}.html"
    if not (site / path).is_file():
        pytest.fail(f"chapter page {path} was not built")
    page, _ = open_page(context, server, path)
    try:
        link = page.locator("a.btn-download-notebook-button")
        assert link.count() == 1, "the download menu offers no .ipynb"
        href = link.evaluate("a => a.href")
        assert urlsplit(href).path == f"/_sources/book/{name}.ipynb"
        assert link.get_attribute("download") == f"{name}.ipynb", "the link should save the file, not open it"
        response = context.request.get(href)
        assert response.status == 200
        notebook = json.loads(response.body())
        assert notebook["nbformat"] == 4 and notebook["cells"]
        assert all(not cell.get("outputs") for cell in notebook["cells"]), "a downloaded chapter has no outputs"
    finally:
        page.close()


# Every display equation of a page, measured where MathJax drew it. A display equation is a div.math holding an
# mjx-container (its box, which pydata-sphinx-theme lets scroll sideways) and, when it is numbered, a span.eqno.
EQUATIONS_REPORT = """() => {
  const report = [];
  for (const div of document.querySelectorAll('article div.math')) {
    const box = div.querySelector('mjx-container'), math = box && box.querySelector('mjx-math');
    if (!math) { report.push({label: div.id || '?', unrendered: true}); continue; }
    const column = div.parentElement.getBoundingClientRect();
    const b = box.getBoundingClientRect(), m = math.getBoundingClientRect();
    const number = div.querySelector('span.eqno');
    const e = number ? number.getBoundingClientRect() : null;
    // the part of the drawing that is visible: what the box shows of it
    const visible = {left: Math.max(m.left, b.left), right: Math.min(m.right, b.right), top: m.top, bottom: m.bottom};
    report.push({
      label: div.id || div.textContent.trim().slice(0, 40),
      column: [column.left, column.right],
      box: [b.left, b.right],
      drawing: m.width,
      room: box.clientWidth,
      scrolls: box.scrollWidth > box.clientWidth + 1,
      overflowX: getComputedStyle(box).overflowX,
      underNumber: !!e && visible.right > e.left + 0.5 && visible.left < e.right - 0.5
                   && visible.top < e.bottom && e.top < visible.bottom,
    });
  }
  return {equations: report, page: document.documentElement.scrollWidth, viewport: window.innerWidth};
}"""


@pytest.fixture(scope="module", params=[390, 1280], ids=["phone-390px", "desktop-1280px"])
def sized_context(request, browser, server):
    """A context of one window width (the height does not matter here), offline like the others."""
    context = browser.new_context(service_workers="block", viewport={"width": request.param, "height": 900})
    context.route(
        "**/*",
        lambda route: (
            route.abort() if urlsplit(route.request.url).netloc != urlsplit(server).netloc else route.continue_()
        ),
    )
    context.width = request.param
    yield context
    context.close()


@pytest.mark.parametrize("name", CHAPTERS)
def test_display_equations_fit_their_column_and_never_run_under_their_number(sized_context, server, site, name):
    """At 1,280 px every equation fits its column; at 390 px a long one scrolls in its own box, never the page."""
    path = f"book/{name}.html"
    if not (site / path).is_file():
        pytest.fail(f"chapter page {path} was not built")
    page, _ = open_page(sized_context, server, path)
    try:
        report = page.evaluate(EQUATIONS_REPORT)
    finally:
        page.close()
    width, problems = sized_context.width, []
    assert report["equations"], f"{path} has no display equation"
    if report["page"] > report["viewport"]:
        problems.append(f"the page scrolls sideways: {report['page']} px wide in a {report['viewport']} px window")
    for eq in report["equations"]:
        if eq.get("unrendered"):
            problems.append(f"{eq['label']}: not rendered")
            continue
        (col_left, col_right), (box_left, box_right) = eq["column"], eq["box"]
        if box_left < col_left - 1 or box_right > col_right + 1:
            problems.append(f"{eq['label']}: its box [{box_left:.0f}, {box_right:.0f}] leaves the column")
        if eq["underNumber"]:
            problems.append(f"{eq['label']}: runs under its number")
        if width >= 1280 and (eq["drawing"] > eq["room"] + 1 or eq["scrolls"]):
            problems.append(f"{eq['label']}: {eq['drawing']:.0f} px wide, {eq['room']} px of room (split it)")
        if eq["scrolls"] and eq["overflowX"] not in ("auto", "scroll"):
            problems.append(f"{eq['label']}: wider than its box, which does not scroll ({eq['overflowX']})")
    assert problems == [], f"{path} at {width} px:\n" + "\n".join(problems)


def test_screenshot_of_a_chapter_is_saved(context, server, site):
    chapters = [f"book/{name}.html" for name in CHAPTERS if (site / "book" / f"{name}.html").is_file()]
    if not chapters:
        pytest.fail("no chapter page was built")
    path = "book/04_lstm.html" if "book/04_lstm.html" in chapters else chapters[0]
    page, _ = open_page(context, server, path)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"{Path(path).stem}.png"
        page.screenshot(path=str(target), full_page=True)
    finally:
        page.close()
    assert target.stat().st_size > 10_000
