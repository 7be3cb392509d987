"""Feedback that runs nothing: the student's HTML and Markdown made inert, outputs and Markdown cells alike.

A student controls much of what nbgrader turns into HTML: the outputs of their
cells (``text/html``, ``text/markdown``, SVG, ``text/latex``, JavaScript) and
their own Markdown cells, which nbgrader copies into the autograded notebook
and shows in the feedback and in the formgrader, in the instructor's Jupyter
origin.  nbconvert's HTML templates pass raw HTML in Markdown through, and
nbgrader's own templates render Markdown cells without its ``sanitize_html``
option.  So the HTML of a student goes through one sanitizer,
`bleach <https://github.com/mozilla/bleach>`_ (already used by nbconvert for
``sanitize_html``), with an allow-list made for notebooks:

* the elements Markdown makes (headings, paragraphs, lists, tables, code,
  emphasis, links, images, quotes, task lists), and no other: ``<script>``,
  ``<iframe>``, ``<svg>``, ``<style>``, ``<form>``... are *escaped*, so they show
  as the text they are, and comments are removed;
* no event handler, no ``style`` but ``text-align`` in tables, classes only
  of the kinds nbconvert's Markdown and Pygments write (not the page's layout);
* links to ``http``, ``https``, ``mailto`` and ``#fragments`` only (no
  ``javascript:``, no ``data:``); images only from ``data:image/...`` (the
  notebook's own attachments), so that a feedback page asks no server for anything.

It is used in two places:

* :func:`configure` sets nbconvert's ``HTMLExporter`` to ``sanitize_html`` and
  replaces its ``markdown2html`` and ``clean_html`` filters by this module's:
  the grading command applies it to nbgrader's feedback whatever the course's
  configuration, and the course's ``nbgrader_config.py`` sets the same for the
  formgrader and a plain ``nbgrader generate_feedback``;
* :mod:`grader.feedback` keeps only inert output types in the autograded
  notebook: text, PNG, JPEG, LaTeX, and HTML that went through :func:`sanitize`
  (a ``text/markdown`` output is kept as its sanitized rendering), so the
  notebook stays inert in any viewer.

The sanitizer's cost is bounded (:class:`Budget`): a text with too many tags
or too long to sanitize quickly is shown as escaped text, inert without any
parsing.

LaTeX (``text/latex`` outputs and math in Markdown) is shown as escaped text
and typeset in the browser by MathJax, which nbgrader's templates load with its
``Safe`` extension: that is what keeps ``\\href{javascript:...}`` from becoming
a link there.
"""

from __future__ import annotations

import html
import re

import bleach
from bleach.css_sanitizer import CSSSanitizer
from jinja2 import pass_context

TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "hr", "i", "img"}
    | {"input", "kbd", "li", "ol", "p", "pre", "s", "samp", "span", "strong", "sub", "sup", "u", "ul"}
    | {"table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"}
    | {"h1", "h2", "h3", "h4", "h5", "h6"}
)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Classes that nbconvert's Markdown (anchor links, task lists, fenced code) and Pygments (token classes such as
# "k", "nf", "s1") write; not the page's own (Bootstrap's "modal", "navbar-fixed-top", ...).
_CLASS = re.compile(r"(highlight|anchor-link|task-list-item(-checkbox)?|language-[\w+#.-]{1,30}|[a-z]{1,3}[0-9]?)")
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*", re.IGNORECASE)
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")  # what browsers ignore in a URL (tabs, new lines, controls)
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
_LINKS = ("http", "https", "mailto")
_CSS = CSSSanitizer(allowed_css_properties=["text-align"])
MAX_TAGS = 2_000  # tags of one piece of HTML that are parsed and sanitized (about half a second at worst)
PAGE_TAGS = 20_000  # of one page (a notebook's feedback), in all
MAX_MARKDOWN = 100_000  # characters of one Markdown text that are rendered
MAX_SHOWN = 200_000  # characters shown as text in place of what is not rendered


def _url(value):
    return _URL_NOISE.sub("", html.unescape(value)).lower()


def _allowed(tag, name, value):
    """bleach's attribute filter: which attributes of the allowed elements are kept."""
    if name in ("title", "alt"):
        return True
    if name == "class":
        return tag in ("code", "div", "pre", "span", "li", "input", "a") and all(
            _CLASS.fullmatch(part) for part in value.split()
        )
    if tag == "a" and name == "href":
        url = _url(value)
        scheme = _SCHEME.match(url)
        return not url.startswith(("//", "\\", "/\\")) and (scheme is None or scheme.group(1) in _LINKS)
    if tag == "img":
        if name == "src":
            return bool(_IMAGE_DATA.fullmatch(value.strip()))
        return name in ("width", "height") and value.strip().isdigit()
    if tag == "input":
        return (name == "type" and value == "checkbox") or name in ("checked", "disabled")
    if tag in _HEADINGS:
        return name == "id"
    if tag in ("td", "th"):
        return name in ("style", "colspan", "rowspan") or (name == "align" and value in ("left", "right", "center"))
    if tag == "ol":
        return name == "start" and value.strip().isdigit()
    return False


_CLEANER = bleach.Cleaner(
    tags=TAGS,
    attributes=_allowed,
    protocols={"http", "https", "mailto", "data"},  # data: only for images: see _allowed
    strip=False,
    strip_comments=True,
    css_sanitizer=_CSS,
)


class Budget:
    """How many more tags one page (a notebook's feedback) may have sanitized.

    bleach's parser (html5lib) takes a time that grows faster than the number
    of nested or repeated tags (4,000 nested ``<div>`` take seconds, 20,000 a
    minute): without a bound, one student could make the feedback take hours.
    Past the budget, the student's text is shown as escaped text.
    """

    def __init__(self, tags=PAGE_TAGS):
        self.tags = tags

    def spend(self, tags):
        """True (and the tags spent) when ``tags`` more may be sanitized."""
        if tags > min(MAX_TAGS, self.tags):
            return False
        self.tags -= tags
        return True


def as_text(text):
    """``text`` shown as preformatted text: escaped, so inert without any parsing, and cut to size."""
    cut = "\n[... cut by the grader ...]" if len(text) > MAX_SHOWN else ""
    return f"<pre>{html.escape(text[:MAX_SHOWN])}{cut}</pre>"


def sanitize(text, budget=None):
    """``text`` (HTML, or bytes of it) with only inert, readable HTML left.

    More tags than :data:`MAX_TAGS` (or than ``budget`` has left) are not
    parsed: the text is shown as it is, escaped.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    if not (budget or Budget()).spend(text.count("<")):
        return as_text(text)
    return _CLEANER.clean(text)


def markdown_to_html(source, attachments=None, path="", budget=None):
    """Markdown (with math) as nbconvert renders it, then sanitized by :func:`sanitize`.

    A Markdown text nbconvert cannot render (a missing attachment, say), or too
    long or with too many tags to sanitize quickly, is shown as preformatted
    text rather than failing or stalling the whole feedback.
    """
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    source = str(source)
    if len(source) > MAX_MARKDOWN:
        return as_text(source)
    try:
        renderer = IPythonRenderer(
            escape=False, allow_harmful_protocols=False, attachments=attachments or {}, path=path
        )
        rendered = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # nbconvert's InvalidNotebook, or anything a crafted text makes the parser do
        return as_text(source)
    if not (budget or Budget()).spend(rendered.count("<")):
        return as_text(source)
    return _CLEANER.clean(rendered)


def _page_budget(context):
    """The budget of the page being made: one per notebook nbconvert converts (kept in its resources)."""
    resources = context.get("resources")
    if not isinstance(resources, dict):
        return Budget()
    return resources.setdefault("grader_inert_budget", Budget())


@pass_context
def clean_html(context, text):
    """nbconvert's ``clean_html`` filter: :func:`sanitize`, within the page's budget."""
    return sanitize(text, _page_budget(context))


@pass_context
def markdown2html(context, source):
    """nbconvert's ``markdown2html`` filter (with the cell's attachments), sanitized, within the page's budget."""
    cell = context.get("cell") or {}
    attachments = cell.get("attachments") if hasattr(cell, "get") else None
    resources = context.get("resources") or {}
    path = resources.get("metadata", {}).get("path", "") if hasattr(resources, "get") else ""
    attachments = attachments if isinstance(attachments, dict) else {}
    return markdown_to_html(source, attachments, path or "", _page_budget(context))


FILTERS = {"markdown2html": markdown2html, "clean_html": clean_html}
FILTER_NAMES = {name: f"{__name__}.{name}" for name in FILTERS}  # the same, for nbgrader_config.py


def configure(config):
    """Make every ``HTMLExporter`` made from ``config`` sanitize the student's HTML (changes ``config``)."""
    config.HTMLExporter.sanitize_html = True
    filters = dict(config.HTMLExporter.get("filters", None) or {})
    filters.update(FILTERS)
    config.HTMLExporter.filters = filters
    return config
