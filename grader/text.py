"""Text from a submission, made safe to keep, to show and to write.

Every string a student controls (cell sources and outputs, metadata, file and
folder names, the student id, exception messages, the texts of the sandbox's
events) may hold a lone UTF-16 surrogate (JSON's ``"\\ud800"``, or a file name
that is not UTF-8, which Python decodes with ``surrogateescape``), a NUL,
control characters, a Unicode direction override, or megabytes.  Written as
it is, such a string fails the UTF-8 encoder in the middle of a file, or
rewrites what an instructor reads.  So:

* :func:`valid_unicode` replaces lone surrogates in a parsed notebook (every
  string, keys included) by U+FFFD, the Unicode replacement character, so that
  the notebook the grader works on can always be written back;
* :func:`plain` makes any value printable text, for the report and the log:
  a lone surrogate becomes its escape (``\\udcff``, the byte of a file name
  that is not UTF-8), a control or format character (NUL, ESC, U+202E) its
  escape, and the text is cut to a bound;
* :func:`markdown` and :func:`csv_field` then make plain text inert in a
  Markdown report (no heading, table row, HTML comment, link or math of the
  student's) and in a spreadsheet (no formula).
"""

from __future__ import annotations

import unicodedata

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"
# Backslash-escaped in Markdown: every ASCII punctuation mark that can start an inline construct of CommonMark or
# GitHub's Markdown (emphasis, code, links and images, raw HTML and comments, autolinks, table cells, strikethrough,
# math, entities, headings).  An underscore inside a word (rnn_step_forward) starts nothing and is left as it is.
_MARKDOWN_ACTIVE = set("\\`*[]<>|~$&#")
# A spreadsheet treats a cell that starts with one of these as a formula (OWASP's list, plus the full-width forms).
_FORMULA_START = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def _surrogate(char):
    return "\ud800" <= char <= "\udfff"


def valid_unicode(value):
    """``(value, count)``: a copy of parsed JSON with every lone surrogate replaced by U+FFFD, and how many.

    Iterative, so that a deeply nested notebook cannot exhaust the recursion limit.
    """

    def clean(text):
        try:
            text.encode("utf-8")  # the fast path: no surrogate, nothing to do
        except UnicodeEncodeError:
            return "".join(REPLACEMENT if _surrogate(c) else c for c in text), sum(map(_surrogate, text))
        return text, 0

    count = 0
    if isinstance(value, str):
        return clean(value)
    root = [value]
    stack = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, str):
            container[key], found = clean(item)
            count += found
        elif isinstance(item, list):
            copied = list(item)
            container[key] = copied
            stack.extend((copied, i) for i in range(len(copied)))
        elif isinstance(item, dict):
            copied = {}
            for name, entry in item.items():
                if isinstance(name, str):
                    name, found = clean(name)
                    count += found
                copied[name] = entry
            container[key] = copied
            stack.extend((copied, name) for name in copied)
    return root[0], count


def _escape(char):
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def plain(value, limit=600, one_line=True):
    """``value`` as printable text of at most ``limit`` characters (a cut ends with "…").

    Lone surrogates, control characters (NUL included) and format characters
    (direction overrides, zero-width characters) are written as escapes
    (``\\x00``, ``\\udcff``, ``\\u202e``).  With ``one_line``, every run of
    white space (new lines included) becomes one space; otherwise new lines and
    tabs are kept.  Never raises, whatever ``value`` is.
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # a student's object whose __str__ raises
        text = f"<{type(value).__name__} that cannot be shown>"
    if len(text) > 4 * limit + 64:  # the work below stays bounded by the limit, not by the input
        text = text[: 4 * limit + 64]
    if one_line:
        text = " ".join(text.split())
    out, size = [], 0
    for char in text:
        if _surrogate(char):
            piece = _escape(char)
        elif char in "\n\t" and not one_line:
            piece = char
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") and char != " ":
            piece = _escape(char)
        else:
            piece = char
        if size + len(piece) > limit:  # cut: drop pieces until the ellipsis fits too
            while out and size + len(ELLIPSIS) > limit:
                size -= len(out.pop())
            out.append(ELLIPSIS)
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def markdown(value, limit=600):
    """``value`` as one line of inert Markdown: plain text whose active punctuation is backslash-escaped.

    CommonMark (and GitHub's Markdown) shows a backslash-escaped ASCII punctuation
    mark as itself, so the student's text can open no heading, list, table cell,
    emphasis, code span, link, image, raw HTML or ``<!--`` comment, and no math.
    """
    text = plain(value, limit)
    out = []
    for i, char in enumerate(text):
        intraword = char == "_" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        out.append("\\" + char if char in _MARKDOWN_ACTIVE or (char == "_" and not intraword) else char)
    return "".join(out)


def csv_field(value, limit=2000):
    """``value`` as one line of plain text that no spreadsheet reads as a formula (a leading ``'`` if needed)."""
    text = plain(value, limit)
    return "'" + text if text.startswith(_FORMULA_START) else text


def is_printable_name(name):
    """True when ``name`` (a student id, a file name) is valid Unicode with no control or format character."""
    return (
        isinstance(name, str)
        and bool(name)
        and not any(_surrogate(c) for c in name)
        and all(unicodedata.category(c)[0] not in "CZ" or c == " " for c in name)
    )
