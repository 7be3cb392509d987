"""Checks that what the grader writes is inert: HTML pages (feedback) and the Markdown report.

:func:`active_html` lists what in an HTML page could run or load something (scripts, frames, event handlers,
active URLs), read with the standard library's HTML parser (the page is not trusted to be well formed), for a
static check; tests/test_feedback_browser.py checks the same pages in a real browser.
:func:`assert_inert_markdown_report` reads the Markdown report with a CommonMark + GFM parser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from grader.text import plain

# elements that run, embed, load or submit something, or change how the page's URLs resolve
ACTIVE_ELEMENTS = {"script", "iframe", "frame", "object", "embed", "applet", "form", "base", "svg", "math", "link"}
ACTIVE_ELEMENTS |= {"meta", "video", "audio", "source", "track", "portal", "template", "noscript", "style", "frameset"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "srcset"}
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)
_NOISE = re.compile(r"[\x00-\x20]+")


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self.elements, self.handlers, self.urls = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = [(name.lower(), value or "") for name, value in attrs]
        if tag == "script":
            self.scripts.append((dict(attrs).get("src", ""), dict(attrs).get("type", "")))
        if tag in ACTIVE_ELEMENTS:
            self.elements.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}={value[:80]!r}>")
            url = _NOISE.sub("", value).lower()
            if name in URL_ATTRIBUTES and (
                url.startswith(("javascript:", "vbscript:"))
                or (url.startswith("data:") and not (tag == "img" and _IMAGE_DATA.match(url)))
                or ("pwned.invalid" in url and not (tag == "a" and name == "href"))  # a link loads nothing
            ):
                self.urls.append(f"<{tag} {name}={value[:80]!r}>")

    handle_startendtag = handle_starttag


def active_html(text):
    """``{"scripts": [(src, type)], "elements": sorted names, "handlers": [...], "urls": [...]}`` of an HTML page."""
    finder = _Finder()
    finder.feed(text)
    finder.close()
    return {
        "scripts": finder.scripts,
        "elements": sorted(finder.elements),
        "handlers": finder.handlers,
        "urls": finder.urls,
    }


def assert_inert_markdown_report(text, report):
    """The Markdown report read by a CommonMark + GFM parser: our headings, one table row per entry, no HTML."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]
    ours = [
        ("h1", f"Grading report: {report.assignment}"),
        ("h2", "Needs a human look"),
        ("h2", "Totals"),
        ("h2", "Per student and function"),
    ]
    if report.similarity:  # grader.similarity's section: one heading of its own, one h3 per pair
        ours.append(("h2", "Similar code"))
        assert len(headings) == len(ours) + len(report.similarity.get("pairs", [])), headings
        assert {tag for tag, _ in headings[len(ours) :]} <= {"h3"}, headings
    assert headings[: len(ours)] == ours, headings
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
    assert not kinds & {"html_block", "html_inline", "link_open", "image"}, kinds
    rows = []
    for token in tokens:
        if token.type == "table_open":
            rows.append(-1)  # the header row is not an entry
        elif token.type == "tr_open":
            rows[-1] += 1
    assert rows == [len(report.students), len(report.rows)]
    totals = _table_cells(tokens, 1)
    assert [row[0] for row in totals] == [plain(s.student, 200) for s in report.students]
    per_row = _table_cells(tokens, 2)
    assert [row[0] for row in per_row] == [plain(r.student, 200) for r in report.rows]


def _table_cells(tokens, number):
    """The text of every cell of the body of table ``number`` (1-based), as a reader sees it."""
    tables, rows, inside = 0, [], False
    for token in tokens:
        if token.type == "table_open":
            tables += 1
        elif token.type == "tbody_open" and tables == number:
            inside = True
        elif token.type == "tbody_close":
            inside = False
        elif inside and token.type == "tr_open":
            rows.append([])
        elif inside and token.type == "inline":
            assert {c.type for c in token.children} <= {"text", "code_inline", "strong_open", "strong_close"}
            rows[-1].append("".join(c.content for c in token.children))
    return rows
