"""The records of the catalogue, shared by its chapter modules: a typical mistake, and a recognized one."""

import re
from collections.abc import Callable
from typing import NamedTuple


def slug(text):
    """A short, stable id for a hint: its first clause, lower case, words joined by ``-``.

    ``"the bias b is missing"`` -> ``"the-bias-b-is-missing"``; ``"sigmoid where the RNN uses tanh
    (h = tanh(...))"`` -> ``"sigmoid-where-the-rnn-uses-tanh"``.  The clause ends at the first colon,
    semicolon or opening parenthesis that follows a word.
    """
    clause = re.split(r"(?<=\w)\s*[:;(]", text, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9_]+", clause.lower())
    return "-".join(words)[:80] or "mistake"


class Mistake(NamedTuple):
    """A typical mistake: what to tell the student, and the mistaken function.

    ``fn`` has the signature and outputs of the reference, with one mistake put
    in (usually a :func:`functools.partial` of a mistaken version with a keyword
    such as ``act=sigmoid`` or ``bias=0``).
    """

    hint: str
    fn: Callable
    ident: str = ""  # an id of its own, where the hint's first clause is shared (the gate orders)

    @property
    def id(self):
        """A short id, unique among the mistakes of one function: ``ident``, else from the hint (:func:`slug`)."""
        return self.ident or slug(self.hint)


class Hint(NamedTuple):
    """A recognized mistake, as data: a short ``id`` (the same for every student) and the text to show."""

    id: str
    text: str


# The hint of a step backward that computes the step again instead of reading its cache (see
# rnn_checks.specs.common.MADE_UP_CACHE): a mistake of each step backward's catalogue.
RECOMPUTED = (
    "the backward pass computes the step again from x, h_prev and the weights (to differentiate it, or to get "
    "{what}): it must read {what} from the cache (what the forward pass stored). On the cases marked "
    "'{marked}=not from x' the cache holds values of its own, and only a backward pass that reads them is right"
)
