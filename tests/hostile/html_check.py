"""What in an HTML page could run or load something: scripts, frames, event handlers, active URLs.

Read with the standard library's HTML parser (the page is not trusted to be well formed), for a static check
of the feedback pages; tests/test_feedback_browser.py checks the same pages in a real browser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
