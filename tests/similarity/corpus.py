"""The calibration corpus of the similarity check: independent correct variants, and disguised copies.

``variants/<key>.py`` holds, for one graded function, a setup (what the
notebook imports) and, after each ``# %% variant NAME`` line, one variant
written independently in its own style (loops or vectorized, helpers or
inline, other names and orders), each correct (a test grades every one
with :mod:`rnn_checks`).  The originals of the copies are these variants,
the reference's code (``rnn_ref``) and the instructor's solution
(``solutions/``); :mod:`disguise` makes the copies.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MARK = "# %% variant "


@dataclass
class Variant:
    key: str
    name: str  # the style: "loops", "einsum", ...
    setup: str  # the imports it runs with
    code: str  # the function and its helpers

    @property
    def function(self):
        return self.key.split(".")[-1]

    @property
    def label(self):
        return f"{self.key}:{self.name}"


def variants():
    """Every variant of the corpus, by key and file order."""
    found = []
    for path in sorted((HERE / "variants").glob("*.py")):
        key = path.stem
        text = path.read_text(encoding="utf-8")
        setup, *sections = text.split(MARK)
        for section in sections:
            name, _, code = section.partition("\n")
            found.append(Variant(key, name.strip(), setup, code.strip() + "\n"))
    return found


def keys():
    return sorted({v.key for v in variants()})


def run(variant_or_code, setup, function):
    """The function defined by ``code`` after ``setup`` (a fresh namespace; the corpus is ours, not a student's)."""
    namespace = {"__name__": "corpus_variant"}
    exec(compile(setup, "<setup>", "exec"), namespace)
    exec(compile(variant_or_code, "<variant>", "exec"), namespace)
    return namespace[function]


def assignment_of(key):
    """The assignment whose notebook grades ``key`` (from exercises_src: where its test cell calls it)."""
    for path in sorted((ROOT / "exercises_src").glob("[0-9][0-9]_*.py")):
        if f'"{key}")' in path.read_text(encoding="utf-8"):
            return path.stem
    raise ValueError(f"no exercise grades {key!r}")


def solution_code(key):
    """The instructor's solution of ``key`` (its solution cell in solutions/), or None."""
    assignment = assignment_of(key)
    notebook = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    name = key.split(".")[-1]
    found = None
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code" or not meta.get("solution"):
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body):
            found = source
    return found
