"""Sphinx extension: every chapter can be downloaded as a Jupyter notebook, made from its source at build time.

The chapters are MyST Markdown notebooks (their front matter has a ``kernelspec``). For each of them, when its page
is written, jupytext converts the page's source into an ``.ipynb`` with no outputs, written next to the copy of the
source that Sphinx keeps in ``_sources/`` (``_sources/book/04_lstm.md`` -> ``_sources/book/04_lstm.ipynb``), and
the page's download menu (sphinx-book-theme) offers it: the theme adds a ``.ipynb`` entry when the page context
holds ``ipynb_source``. (The theme's own copy of the *executed* notebook is made only when a launch service such as
Binder is configured, which this course, offline, never does; and it would carry the outputs.)

Pages that are not notebooks (the introduction, the notation, the references) get no such entry. The exercises are
notebooks already: their download is their own source.
"""

from pathlib import Path

import jupytext
import nbformat


def chapter_notebook(source):
    """The notebook of a MyST Markdown page, as an ``nbformat`` node with every output cleared.

    Parameters
    ----------
    source : path-like
        A ``.md`` file with jupytext front matter (``format_name: myst``).

    Returns
    -------
    nbformat.NotebookNode
        Version 4; code cells have no outputs and no execution count; the ``jupytext`` metadata, which only
        describes the text file, is dropped (the ``kernelspec`` stays).
    """
    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(notebook)
    return notebook


def add_notebook_download(app, pagename, templatename, context, doctree):
    """Write the notebook of a chapter page into ``_sources/`` and let the download menu offer it."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".md":
        return  # a page written as a notebook is downloaded as itself
    target = Path(app.outdir, "_sources", pagename).with_suffix(".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(chapter_notebook(source), target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # Before sphinx-book-theme builds its header buttons (priority 501), which read ipynb_source.
    app.connect("html-page-context", add_notebook_download, priority=500)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
