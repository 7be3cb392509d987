"""The catalogue of typical mistakes, recognized from a student's outputs.

Two kinds of recognizers, used on failing cases:

* **mistaken implementations**, per graded function (:func:`for_key`): the
  reference with one typical mistake put in (sigmoid for tanh, a missing bias,
  transposed weights, the gates read in another order, ``z`` for ``1 - z``,
  a loop not reversed, ``=`` where ``+=`` accumulates, ...).  When the
  student's outputs equal a mistaken version's on the same inputs, that
  mistake is named.  They are data, one module per chapter group:
  :mod:`rnn_checks.mistakes.rnn` (chapters 1-3), :mod:`rnn_checks.mistakes.gated`
  (the gated cells) and :mod:`rnn_checks.mistakes.bi` (masks, bidirectional
  layers, the tagger, the GRU backward), each with its ``MISTAKES`` dict;
* **patterns** of an error, for any function (:mod:`rnn_checks.mistakes.patterns`).

Each recognized mistake has a short id (:class:`Hint`), the same for every
student, so that a class report can count them; :mod:`rnn_checks.mistakes.sections`
says which section of the book explains each graded function.

Imports go one way: this package imports its modules, which import
:mod:`rnn_checks.mistakes.common` (the :class:`Mistake` record) and
:mod:`rnn_ref`, never this package.
"""

from functools import partial
from itertools import combinations

from . import bi, gated, rnn
from .common import Hint, Mistake
from .patterns import error_hint, output_hints, overflow_hint, ratio_hint
from .sections import SECTIONS, section_of

MISTAKES = {**rnn.MISTAKES, **gated.MISTAKES, **bi.MISTAKES}


def for_key(key):
    """The typical mistakes of the graded function ``key`` (``"lstm.input_gate"``)."""
    return MISTAKES.get(key, ())


_PAIRS = {}


def pairs_for_key(key):
    """Two typical mistakes at once: pairs of mistaken versions of one function with different keywords.

    Gate orders are left out (they are recognized on their own, and would make too many pairs).
    """
    if key not in _PAIRS:
        singles = [m for m in for_key(key) if isinstance(m.fn, partial) and "order" not in m.fn.keywords]
        _PAIRS[key] = tuple(
            Mistake(f"{a.hint}; and {b.hint}", partial(a.fn.func, **a.fn.keywords, **b.fn.keywords), f"{a.id}+{b.id}")
            for a, b in combinations(singles, 2)
            if a.fn.func is b.fn.func and not set(a.fn.keywords) & set(b.fn.keywords)
        )
    return _PAIRS[key]


__all__ = [
    "Hint",
    "MISTAKES",
    "Mistake",
    "SECTIONS",
    "error_hint",
    "for_key",
    "output_hints",
    "overflow_hint",
    "pairs_for_key",
    "ratio_hint",
    "section_of",
]
