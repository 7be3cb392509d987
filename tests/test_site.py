"""The course website: configuration, structure and safety of the built site.

The tests of the configuration run without a build. The tests of the built site read ``_build/html`` (made by
``make book``); they skip with a visible reason when it does not exist, and fail instead when ``RNN_REQUIRE_BOOK=1``
(as under ``make test``, which builds the book first).
"""

import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

import rnn_ref

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "_build" / "html"

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

# nbgrader's markers: none may ever reach the site (Sphinx copies every page it builds into _sources/).
LEAK_MARKERS = [
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
    "BEGIN SOLUTION",
]

# Tags whose attribute makes the browser fetch something (an <a href> is only followed when clicked).
RESOURCE_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "track": ("src",),
}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# ---------------------------------------------------------------------------------------------------------------
# helpers


def load_yaml(path):
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with jupyter-book: pip install -e '.[book]'")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def toc_parts():
    """The parts of ``_toc.yml`` as ``[(caption, [page, ...]), ...]``; pages without suffix."""
    toc = load_yaml(REPO / "_toc.yml")
    return [(part["caption"], [entry["file"] for entry in part["chapters"]]) for part in toc["parts"]]


def toc_root():
    return load_yaml(REPO / "_toc.yml")["root"]


def require_site():
    """The path of the built site; skip (or fail under RNN_REQUIRE_BOOK=1) if it was not built."""
    if not (SITE / "index.html").is_file():
        reason = f"the website is not built ({SITE.relative_to(REPO)}/index.html is missing): run `make book`"
        if os.environ.get("RNN_REQUIRE_BOOK") == "1":
            pytest.fail(reason + " (RNN_REQUIRE_BOOK=1)")
        pytest.skip(reason)
    return SITE


@pytest.fixture(scope="module")
def site():
    return require_site()


class Page(HTMLParser):
    """The parts of an HTML page the tests look at, gathered in one pass with the standard library.

    ``elements`` lists ``(tag, attrs, ancestor_classes)`` for every start tag, in document order, where
    ``ancestor_classes`` is the set of CSS classes of the open elements around it; ``text`` is the text content.
    """

    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.elements = []
        self.nav = []  # ("caption", text) and ("link", href) in the order of the primary navigation
        self._stack = []  # (tag, classes) of the open elements
        self._caption = None
        self._text = []
        self.feed(path.read_text(encoding="utf-8"))
        self.close()
        self.text = " ".join("".join(self._text).split())

    def _open_classes(self):
        return {cls for _, classes in self._stack for cls in classes}

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        classes = set(attrs.get("class", "").split())
        around = self._open_classes()
        self.elements.append((tag, attrs, around))
        if "bd-docs-nav" in around:
            if tag == "a" and "href" in attrs:
                self.nav.append(("link", attrs["href"]))
            if "caption-text" in classes:
                self._caption = []
        if tag not in VOID_TAGS:
            self._stack.append((tag, classes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self._stack.pop()

    def handle_endtag(self, tag):
        if self._caption is not None and tag == "span":
            self.nav.append(("caption", "".join(self._caption).strip()))
            self._caption = None
        # Pop up to the matching open tag; a stray end tag is ignored.
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if not any(tag in ("script", "style") for tag, _ in self._stack):
            self._text.append(data)

    def find(self, tag=None, cls=None, inside=None):
        """Attributes of the elements with this tag, this class, inside an element of class ``inside``."""
        return [
            attrs
            for t, attrs, around in self.elements
            if (tag is None or t == tag)
            and (cls is None or cls in attrs.get("class", "").split())
            and (inside is None or inside in around)
        ]


class Figures(HTMLParser):
    """The ``<figure>`` elements of a page: id, classes, images (src, alt) and the text of the caption."""

    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.figures, self._open, self._in_caption = [], None, False
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "figure":
            self._open = {"id": attrs.get("id", ""), "classes": attrs.get("class", "").split(), "images": []}
            self._open["caption"] = ""
        elif self._open is not None:
            if tag == "img":
                self._open["images"].append({"src": attrs.get("src", ""), "alt": attrs.get("alt", "")})
            elif tag == "figcaption":
                self._in_caption = True

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False
        elif tag == "figure" and self._open is not None:
            self._open["caption"] = " ".join(self._open["caption"].split())
            self.figures.append(self._open)
            self._open = None

    def handle_data(self, data):
        if self._in_caption and self._open is not None:
            self._open["caption"] += data


def page_file(page):
    """The HTML file of a toc entry (``book/04_lstm`` -> ``_build/html/book/04_lstm.html``)."""
    return SITE / f"{page}.html"


def resolve(from_file, href):
    """The file a relative ``href`` of ``from_file`` points to, inside the site, or None if it leaves the page."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (from_file.parent / unquote(parts.path)).resolve()


def html_files(site):
    return sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))


# ---------------------------------------------------------------------------------------------------------------
# configuration (no build needed)


def test_toc_lists_the_ten_chapters_then_their_exercises_in_the_fixed_order():
    parts = dict(toc_parts())
    assert toc_root() == "book/intro"
    assert [caption for caption, _ in toc_parts()] == [
        "Start here",
        "The ten questions",
        "After the course",
        "Exercises",
        "For instructors",
        "Back matter",
    ]
    assert parts["Start here"] == ["book/notation"]
    assert parts["The ten questions"] == [f"book/{name}" for name in CHAPTERS]
    assert parts["After the course"] == ["book/next"]
    assert parts["Exercises"] == [f"exercises/{name}/{name}" for name in CHAPTERS]
    assert parts["For instructors"] == ["book/instructors"]
    assert parts["Back matter"] == ["book/references"]


def test_sphinx_never_reads_solutions_or_instructor_state():
    """The include and exclude patterns of _config.yml, applied by Sphinx's own functions, keep every non-page out."""
    from sphinx.util.matching import Matcher, get_matching_files

    config = load_yaml(REPO / "_config.yml")
    assert config["only_build_toc_files"] is True
    include = config["sphinx"]["config"]["include_patterns"]
    exclude = ["_build", *config["exclude_patterns"]]

    def read_by_sphinx(path):
        return Matcher(include)(path) and not Matcher(exclude)(path)

    never_built = [
        "solutions/04_lstm/04_lstm.ipynb",
        "solutions/04_lstm/notes.md",
        "exercises_src/04_lstm.md",
        "submitted/ada/04_lstm/04_lstm.ipynb",
        "autograded/ada/04_lstm/04_lstm.ipynb",
        "feedback/ada/04_lstm/04_lstm.ipynb",
        "tests/notes.md",
        "rnn_ref/README.md",
        "README.md",
        ".venv/lib/python3.11/site-packages/pkg/README.md",
        ".pytest_cache/README.md",
        "book/.ipynb_checkpoints/04_lstm-checkpoint.md",
        "exercises/04_lstm/.ipynb_checkpoints/04_lstm-checkpoint.ipynb",
    ]
    assert [path for path in never_built if read_by_sphinx(path)] == []

    # What Sphinx would consider in this very repository: pages of book/ and the released notebooks, nothing else.
    considered = sorted(get_matching_files(REPO, include_patterns=include, exclude_patterns=exclude))
    outside = [path for path in considered if not re.fullmatch(r"book/.+|exercises/[^/]+/[^/]+\.ipynb", path)]
    assert outside == []

    pages = [toc_root()] + [page for _, pages in toc_parts() for page in pages]
    for page in pages:
        suffix = ".ipynb" if page.startswith("exercises/") else ".md"
        assert read_by_sphinx(page + suffix), f"{page}{suffix} is in the toc but excluded from the build"
        assert not page.startswith("solutions/"), f"the toc must never list a solution: {page}"


def test_exercises_are_shown_but_never_executed():
    """myst-nb skips a notebook whose absolute path matches an execute exclude pattern (PurePosixPath.match)."""
    config = load_yaml(REPO / "_config.yml")
    execute = config["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["allow_errors"] is False
    assert execute["timeout"] > 0

    def skipped(relative):
        path = PurePosixPath((REPO / relative).as_posix())
        return any(path.match(pattern) for pattern in execute["exclude_patterns"])

    assert [name for name in CHAPTERS if not skipped(f"exercises/{name}/{name}.ipynb")] == []
    assert [name for name in CHAPTERS if skipped(f"book/{name}.md")] == []


def _docstring_section(title):
    """The body of one numpydoc-style section of rnn_ref's module docstring."""
    match = re.search(rf"^{re.escape(title)}\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", rnn_ref.__doc__, re.M | re.S)
    assert match, f"rnn_ref.__doc__ has no section {title!r}"
    return match.group(1)


def _rst_table(section):
    """Rows of the first simple RST table of a section, continuation lines joined to their row."""
    lines = section.splitlines()
    borders = [i for i, line in enumerate(lines) if re.fullmatch(r"=+( +=+)+", line.strip())]
    top, _, bottom = borders[:3]
    starts = [m.start() for m in re.finditer(r"=+", lines[top])]
    rows = []
    for line in lines[top + 1 : bottom]:
        if re.fullmatch(r"=+( +=+)+", line.strip()):
            continue  # the rule under the header row
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None], strict=True)]
        if cells[0]:
            rows.append(cells)
        else:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
    return [[_plain(cell) for cell in row] for row in rows[1:]]  # without the header row


def _markdown_tables(text):
    """Rows of every pipe table of a Markdown text, header and separator rows excluded."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([_plain(cell) for cell in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current[2:])
            current = []
    return tables


def _plain(text):
    """Cell text without Markdown/RST code or emphasis marks, whitespace collapsed."""
    return " ".join(text.replace("``", "`").replace("`", "").replace("**", "").split())


def test_notation_page_states_the_conventions_of_the_rnn_ref_docstring():
    """book/notation.md must agree with rnn_ref's docstring: same tables, every literal and every equation."""
    page = (REPO / "book" / "notation.md").read_text(encoding="utf-8")
    tables = _markdown_tables(page)
    assert _rst_table(_docstring_section("Notation")) in tables, "the table of dimension letters differs"
    assert _rst_table(_docstring_section("Shapes")) in tables, "the table of shapes differs"

    code_spans = " ".join(re.findall(r"`([^`]+)`", page))
    literals = set(re.findall(r"``([^`]+)``", rnn_ref.__doc__))
    assert sorted(lit for lit in literals if lit not in code_spans) == [], "literals of the docstring missing"

    def squash(tex):
        return "".join(tex.split())

    math = squash(page)
    equations = re.findall(r":math:`([^`]+)`", rnn_ref.__doc__)
    assert equations, "the docstring should state its conventions as equations"
    assert [tex for tex in equations if squash(tex) not in math] == [], "equations of the docstring missing"


def _diagrams_module():
    """scripts/diagrams.py, imported from its file (scripts/ is not a package)."""
    import importlib.util

    pytest.importorskip("matplotlib", reason="the diagrams need the book's dependencies: pip install -e '.[book]'")
    spec = importlib.util.spec_from_file_location("diagrams", REPO / "scripts" / "diagrams.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cell_diagrams_are_drawn_the_same_every_time_on_a_transparent_background():
    """A build rewrites a diagram only when its drawing changes: the same code must give the same bytes."""
    diagrams = _diagrams_module()
    assert set(diagrams.DIAGRAMS) == {name for names in DIAGRAMS.values() for name in names}
    for name, draw in diagrams.DIAGRAMS.items():
        first, second = diagrams.svg_of(draw()), diagrams.svg_of(draw())
        assert first == second, f"{name}.svg differs from one drawing to the next"
        assert "<dc:date>" not in first, f"{name}.svg carries the date it was drawn"
        background = re.search(r'<g id="patch_1">\s*<path d="[^"]*"\s*style="([^"]*)"', first)
        assert background and "fill: none" in background.group(1), f"{name}.svg has an opaque background"


def test_diagrams_are_drawn_into_the_book_by_the_build_script():
    script = (REPO / "scripts" / "book.sh").read_text(encoding="utf-8")
    build = script.index('"$JB" build')
    assert 0 < script.index("scripts/diagrams.py book/diagrams") < build, "book.sh must draw the diagrams first"
    assert "book/diagrams/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------------------------------------------------------
# the built site


def test_no_solution_or_hidden_test_marker_anywhere_in_the_site(site):
    leaks = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found = [marker for marker in LEAK_MARKERS if marker.encode() in content]
        if found:
            leaks.append(f"{path.relative_to(site)}: {', '.join(found)}")
    assert leaks == [], "nbgrader markers leaked into the site:\n" + "\n".join(leaks)


def test_no_file_of_solutions_or_instructor_state_is_in_the_site(site):
    forbidden = {"solutions", "submitted", "autograded", "feedback", "tests", "rnn_ref"}
    found = [str(p.relative_to(site)) for p in site.rglob("*") if forbidden & set(p.relative_to(site).parts)]
    assert found == []


def test_every_toc_page_is_built_and_the_navigation_follows_the_toc(site):
    pages = [toc_root()] + [page for _, pages in toc_parts() for page in pages]
    missing = [page for page in pages if not page_file(page).is_file()]
    assert missing == [], f"pages of the toc were not built: {missing}"

    index = Page(site / "index.html")
    refresh = [a for a in index.find("meta") if a.get("http-equiv", "").lower() == "refresh"]
    assert refresh and refresh[0]["content"].endswith(f"url={toc_root()}.html"), "index.html must open the intro"

    # The sidebar of any page lists the root, then every part's caption and pages, in the order of the toc.
    notation = page_file("book/notation")
    expected = [("link", toc_root())]
    for caption, entries in toc_parts():
        expected += [("caption", caption)] + [("link", page) for page in entries]
    nav = []
    for kind, value in Page(notation).nav:
        if kind == "link":
            target = resolve(notation, value) if not value.startswith("#") else notation
            value = target.relative_to(site).with_suffix("").as_posix()
        nav.append((kind, value))
    assert nav == expected


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_shows_a_figure_made_by_the_build(site, name):
    path = page_file(f"book/{name}")
    if not path.is_file():
        pytest.fail(f"chapter page {path.relative_to(site)} was not built")
    figures = []
    for attrs in Page(path).find("img", inside="cell_output"):
        image = resolve(path, attrs["src"])
        if image and image.is_file() and image.parent == site / "_images" and image.stat().st_size > 0:
            figures.append(image.name)
    assert figures, f"book/{name}: no image produced by an executed cell (img in a cell_output, file in _images/)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_page_offers_the_student_notebook_for_download(site, name):
    path = page_file(f"exercises/{name}/{name}")
    if not path.is_file():
        pytest.fail(f"exercise page {path.relative_to(site)} was not built")
    served = site / "_sources" / "exercises" / name / f"{name}.ipynb"
    links = {resolve(path, a["href"]) for a in Page(path).find("a") if a.get("href", "").endswith(".ipynb")}
    assert served.resolve() in links, f"no download link to {served.relative_to(site)} on {path.relative_to(site)}"
    assert served.is_file()
    notebook = json.loads(served.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    release = REPO / "exercises" / name / f"{name}.ipynb"
    assert served.read_bytes() == release.read_bytes(), "the site must serve exactly the student release"


# The cell diagrams (scripts/diagrams.py): where each is shown, in the notation of that chapter's equations.
DIAGRAMS = {
    "01_rnn_cell": ["rnn_cell"],
    "04_lstm": ["lstm_cell"],
    "05_gru": ["gru_cell", "gru_cell_reset_after"],
    "06_peephole": ["peephole_cell"],
    "07_bidirectional": ["bidirectional_layer"],
}


def _is_path_like(alt, src):
    """An alt text that only names a file (what Sphinx writes when none is given) says nothing to a reader."""
    name = PurePosixPath(unquote(urlsplit(src).path)).name
    return alt == name or re.search(r"\.(png|svg|jpe?g|gif)\b", alt, re.I) or "/" in alt.split()[0] if alt else True


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_figure_of_a_chapter_has_a_number_a_caption_alt_text_and_a_reference(site, name):
    path = page_file(f"book/{name}")
    if not path.is_file():
        pytest.fail(f"chapter page {path.relative_to(site)} was not built")
    page = Page(path)
    body_images = [a["src"] for a in page.find("img", inside="bd-article")]
    figures = Figures(path).figures
    in_figures = [image["src"] for figure in figures for image in figure["images"]]
    assert body_images, f"book/{name}: no image at all"
    assert sorted(body_images) == sorted(in_figures), "every image of the chapter must be inside a numbered figure"
    number = CHAPTERS.index(name) + 1
    referenced = {a["href"][1:] for a in page.find("a", inside="bd-article") if a.get("href", "").startswith("#fig-")}
    problems = []
    for k, figure in enumerate(figures, start=1):
        label = figure["id"] or f"figure {k}"
        if not figure["id"].startswith("fig-"):
            problems.append(f"{label}: no name (a figure needs one to be referred to by number)")
        if not figure["caption"].startswith(f"Fig. {number}.{k} ") or len(figure["caption"]) < 60:
            problems.append(f"{label}: caption {figure['caption'][:60]!r} is not 'Fig. {number}.{k}' and a sentence")
        for image in figure["images"]:
            alt = " ".join(image["alt"].split())
            if _is_path_like(alt, image["src"]) or len(alt.split()) < 12:
                problems.append(f"{label}: alt text {alt[:60]!r} does not say what the figure shows")
        if figure["id"] not in referenced:
            problems.append(f"{label}: the text never refers to it by number")
    assert problems == [], f"book/{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", sorted(DIAGRAMS))
def test_cell_diagrams_are_svg_drawings_made_for_both_themes(site, name):
    path = page_file(f"book/{name}")
    diagrams = [f for f in Figures(path).figures if "cell-diagram" in f["classes"]]
    shown = sorted(PurePosixPath(f["images"][0]["src"]).stem for f in diagrams)
    assert shown == sorted(DIAGRAMS[name]), f"book/{name} shows the diagrams {shown}"
    for figure in diagrams:
        svg = resolve(path, figure["images"][0]["src"])
        assert svg.suffix == ".svg" and svg.is_file()
        text = svg.read_text(encoding="utf-8")
        assert "<svg" in text[:1000]
        # a transparent background: matplotlib writes the figure's patch with fill "none" when transparent=True
        background = re.search(r'<g id="patch_1">\s*<path d="[^"]*"\s*style="([^"]*)"', text)
        assert background and "fill: none" in background.group(1), f"{svg.name}: the background is not transparent"
    css = (site / "_static" / "course.css").read_text(encoding="utf-8")
    rule = re.search(r'html\[data-theme="dark"\] \.bd-content figure\.cell-diagram img \{([^}]*)\}', css)
    assert rule and "invert(" in rule.group(1), "the dark theme must invert the lightness of the diagrams"
    page = path.read_text(encoding="utf-8")
    assert "_static/course.css" in page, "the page does not load course.css"


CHAPTER_TITLES = {}


def chapter_titles():
    """The questions that are the chapters' titles, read from their sources: ``{label: title}``."""
    if not CHAPTER_TITLES:
        for name in CHAPTERS:
            source = (REPO / "book" / f"{name}.md").read_text(encoding="utf-8")
            match = re.search(r"^\((ch-[a-z-]+)\)=\n# (.+)$", source, re.M)
            CHAPTER_TITLES[match.group(1)] = match.group(2).strip()
    return CHAPTER_TITLES


@pytest.mark.parametrize("name", CHAPTERS + ["next"])
def test_cross_references_read_chapter_n_not_the_whole_question(site, name):
    """A chapter is referred to as "chapter 4" in running text; its title, a whole question, belongs to the menus."""
    source = (REPO / "book" / f"{name}.md").read_text(encoding="utf-8")
    assert re.findall(r"\{ref\}`ch-[a-z-]+`", source) == [], "use {numref}`chapter %s <ch-...>` for a chapter"
    html_text = page_file(f"book/{name}").read_text(encoding="utf-8")
    article = html_text[html_text.index('<article class="bd-article"') : html_text.index("</article>")]
    links = [
        html.unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in re.findall(r"<a [^>]*>(.*?)</a>", article, re.S)
    ]
    titles = set(chapter_titles().values())
    assert [text for text in links if text in titles] == [], f"book/{name} names chapters by their whole question"
    numbered = [text for text in links if re.fullmatch(r"[Cc]hapter \d+", text)]
    assert len(numbered) == len(re.findall(r"\{numref\}`[Cc]hapter %s <ch-", source))


def _code_cells_of_source(source):
    """The code of every {code-cell} of a MyST notebook, without its metadata block, as jupytext reads it."""
    cells = re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```$", source, re.M | re.S)
    code = []
    for cell in cells:
        cell = re.sub(r"\A---\n.*?\n---\n", "", cell, flags=re.S)  # YAML metadata
        cell = re.sub(r"\A(:[a-z-]+:.*\n)+\n?", "", cell)  # short options such as :tags: [hide-input]
        code.append(cell.rstrip("\n"))
    return code


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_downloads_as_a_notebook_made_from_its_source_without_outputs(site, name):
    path = page_file(f"book/{name}")
    served = site / "_sources" / "book" / f"{name}.ipynb"
    links = {
        resolve(path, a["href"])
        for a in Page(path).find("a", cls="btn-download-notebook-button")
        if a.get("href", "").endswith(".ipynb")
    }
    assert links == {served.resolve()}, f"the download menu of book/{name} offers no .ipynb of the chapter"
    assert served.is_file(), f"{served.relative_to(site)} is offered but not in the site"
    notebook = json.loads(served.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4 and notebook["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [cell["outputs"] for cell in code] == [[]] * len(code), "the notebook must come without outputs"
    assert all(cell["execution_count"] is None for cell in code)
    source = (REPO / "book" / f"{name}.md").read_text(encoding="utf-8")
    assert ["".join(cell["source"]) for cell in code] == _code_cells_of_source(source), "not made from the source"
    title = re.search(r"^# (.+)$", source, re.M).group(1)
    assert any(title in "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def test_chapter_7_quotes_the_timing_ratios_it_measured(site):
    """The text's numbers are the printed ones (glued at build time), whatever the machine measured."""
    text = Page(page_file("book/07_bidirectional")).text
    printed = [float(r) for r in re.findall(r"bidirectional / unidirectional = (\d+\.\d+)", text)]
    assert len(printed) == 6, "chapter 7 prints one ratio per cell and length"
    quoted = re.findall(r"between (\d+\.\d\d) and (\d+\.\d\d) times", text)
    assert quoted, "chapter 7 does not quote the range of its ratios"
    for low, high in quoted:
        assert (float(low), float(high)) == (min(printed), max(printed))
    assert "about twice" not in text


def test_chapter_3_says_gated_cells_mitigate_vanishing_gradients_and_shows_clipping_cannot(site):
    source = (REPO / "book" / "03_vanishing_exploding.md").read_text(encoding="utf-8")
    summary = source[source.index("## Summary") : source.index("## Exercises")]
    assert "mitigated" in summary and "solved" not in summary
    text = Page(page_file("book/03_vanishing_exploding")).text
    ratios = re.findall(r"lag 30 / lag 1 = (\d\.\d+e[-+]\d+)", text)  # the printed numbers, not the code
    assert len(ratios) == 3 and len(set(ratios)) == 1, "clipping must leave the ratio of distant to recent terms"


def test_pages_that_are_not_notebooks_offer_no_notebook(site):
    for page in ("book/intro", "book/notation", "book/references", "book/next", "book/instructors"):
        assert Page(page_file(page)).find("a", cls="btn-download-notebook-button") == [], page


def test_closing_page_says_what_the_course_leaves_out_and_where_each_is_taught(site):
    path = page_file("book/next")
    page = Page(path)
    text = page.text.lower()
    for topic in ("stacked", "dropout", "encoder–decoder", "attention"):
        assert topic in text, f"the closing page does not mention {topic}"
    cited = {
        unquote(urlsplit(a["href"]).fragment)
        for a in page.find("a", inside="bd-article")
        if "references.html#" in a.get("href", "")
    }
    bib = (REPO / "book" / "references.bib").read_text(encoding="utf-8")
    for key in ("graves2013speech", "zaremba2014recurrent", "sutskever2014sequence", "bahdanau2015neural"):
        assert f"{{{key}," in bib, f"{key} is not in references.bib"
    assert len(cited) >= 8, f"the closing page cites only {len(cited)} works"
    source = (REPO / "book" / "next.md").read_text(encoding="utf-8")
    paragraphs = [p for p in source.split("\n\n") if p.startswith("**")]
    assert len(paragraphs) == 4 and all("{cite" in p for p in paragraphs), "one paragraph per topic, each citing"


def test_no_page_loads_anything_from_the_network(site):
    remote = []
    for path in html_files(site):
        for tag, attrs, _ in Page(path).elements:
            for attribute in RESOURCE_ATTRIBUTES.get(tag, ()):
                for url in re.split(r",\s*", attrs.get(attribute, "")):
                    url = url.strip().split(" ")[0]
                    if re.match(r"^(https?:)?//", url, re.I):
                        remote.append(f"{path.relative_to(site)}: <{tag} {attribute}={url}>")
    # Inline scripts can fetch too (thebe, analytics, ipywidgets): no page may even name a CDN.
    cdn = re.compile(r"unpkg\.com|jsdelivr\.net|cdnjs\.|googleapis\.com|googletagmanager|plausible\.io|mybinder")
    for path in html_files(site):
        for match in cdn.finditer(path.read_text(encoding="utf-8")):
            remote.append(f"{path.relative_to(site)}: names {match.group(0)}")
    assert remote == [], "pages refer to remote resources:\n" + "\n".join(sorted(set(remote)))


def test_math_is_served_by_a_local_mathjax(site):
    notation = Page(page_file("book/notation"))
    scripts = [attrs["src"] for attrs in notation.find("script") if "mathjax" in attrs.get("src", "").lower()]
    assert scripts, "the notation page has math but loads no MathJax"
    for src in scripts:
        local = resolve(page_file("book/notation"), src.split("?")[0])
        assert local is not None and local.is_file(), f"MathJax is not served from the site: {src}"
    assert (site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir(), "MathJax fonts"


def test_references_page_lists_every_entry_of_the_bibliography(site):
    bib = (REPO / "book" / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,\s]+),", bib, re.M)
    titles = re.findall(r"^\s*title\s*=\s*\{(.*)\},?\s*$", bib, re.M)
    assert len(keys) == len(titles) > 0
    page = Page(page_file("book/references"))
    entries = page.find("div", cls="citation")
    assert len(entries) == len(keys), f"{len(entries)} entries on the page, {len(keys)} in references.bib"

    def normal(text):
        text = html.unescape(text).replace("--", "\N{EN DASH}").replace("{", "").replace("}", "")
        return " ".join(text.lower().split())

    text = normal(page.text)
    assert [title for title in titles if normal(title) not in text] == []


def test_every_section_the_class_report_links_to_exists(site):
    """rnn_checks.mistakes.sections: each graded function's section of the book is a real page and anchor."""
    from rnn_checks.mistakes import SECTIONS

    missing = []
    for key, section in SECTIONS.items():
        page, _, anchor = section.partition("#")
        path = site / page
        if not path.is_file() or f'id="{anchor}"' not in path.read_text(encoding="utf-8"):
            missing.append(f"{key}: {section}")
    assert missing == []
