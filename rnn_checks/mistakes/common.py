"""The record of a typical mistake, shared by the catalogue's chapter modules."""

from collections.abc import Callable
from typing import NamedTuple


class Mistake(NamedTuple):
    """A typical mistake: what to tell the student, and the mistaken function.

    ``fn`` has the signature and outputs of the reference, with one mistake put
    in (usually a :func:`functools.partial` of a mistaken version with a keyword
    such as ``act=sigmoid`` or ``bias=0``).
    """

    hint: str
    fn: Callable
