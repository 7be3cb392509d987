"""Text corpora shipped with :mod:`rnn_ref`, for the character-level language models.

Files
-----
``recurrent.txt``
    About 3.5 KB of plain English on recurrent networks, written for this
    project; its license is the repository's.  Its first lines, starting with
    ``#``, are a header.

Load a corpus with :func:`rnn_ref.data.load_corpus`, which reads the file with
:mod:`importlib.resources` (so it works from an installed wheel, where the
``*.txt`` files are package data declared in ``pyproject.toml``) and drops the
header::

    from rnn_ref.data import Vocabulary, load_corpus

    text = load_corpus()  # "recurrent.txt"
    vocab = Vocabulary(text)
    assert vocab.decode(vocab.encode(text)) == text
"""
