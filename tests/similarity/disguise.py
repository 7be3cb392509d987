"""Disguised copies, made the way a student hides one: renamed names, comments, reordered lines, new spacing.

Written independently of :mod:`grader.fingerprint` (it works on the text
with :mod:`tokenize` and on line ranges, and decides what may be reordered by
its own simple rule), so that the calibration does not test the normalizer
with itself.  A test runs every copy of a variant to show that the disguise
kept it correct: lines that were swapped were really independent.
"""

from __future__ import annotations

import ast
import io
import tokenize

WORDS = [
    "alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma_", "theta", "lam", "mu", "nu", "xi", "rho",
    "tau", "phi", "chi", "psi", "zeta", "eta", "iota", "foo", "bar", "baz", "qux", "quux", "tmp", "val",
    "thing", "stuff", "item", "elem", "acc", "buf", "res", "out_", "aux", "obj", "part", "blob", "node",
]  # fmt: skip


def rename(code, keep=()):
    """Every local name and helper function renamed (consistently), except the names in ``keep``."""
    tree = ast.parse(code)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    keywords_used = {k.arg for node in ast.walk(tree) if isinstance(node, ast.Call) for k in node.keywords}
    for node in ast.walk(tree):  # the graded function's signature is the stub's: callers use its names
        if isinstance(node, ast.FunctionDef) and node.name in keep:
            keywords_used |= {a.arg for a in node.args.args + node.args.kwonlyargs}
    names -= set(keep) | keywords_used  # a keyword argument's name must stay what the callee expects
    mapping = {name: f"{WORDS[i % len(WORDS)]}{i // len(WORDS) or ''}" for i, name in enumerate(sorted(names))}
    out, previous = [], None
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        text = token.string
        if token.type == tokenize.NAME and text in mapping and not (previous and previous.string == "."):
            text = mapping[text]
        out.append((token.type, text, token.start, token.end, token.line))
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token
    return _untokenize_same_layout(out)


def _untokenize_same_layout(tokens):
    """The tokens back as text, each at its column (names of other lengths shift the rest of a line)."""
    lines, row, line = [], 1, ""
    for _type, text, (srow, scol), (erow, _ecol), _ in tokens:
        while row < srow:
            lines.append(line)
            line, row = "", row + 1
        if scol > len(line) and line.strip() == "":
            line = line + " " * (scol - len(line))
        elif (
            line
            and not line.endswith((" ", "(", "[", "{", "."))
            and text not in (")", "]", "}", ",", ":", ".", "(", "[")
        ):
            line += " "
        if "\n" in text:  # a string over several lines
            first, *rest = text.split("\n")
            lines.append(line + first)
            lines += rest[:-1]
            line, row = rest[-1], erow
        elif text not in ("\n", ""):
            line += text
    lines.append(line)
    return "\n".join(lines).rstrip() + "\n"


def add_comments(code):
    """A comment above every third line of code and at the end of every fourth."""
    out = []
    for number, line in enumerate(code.splitlines()):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped and not stripped.startswith(("#", ")", "]", "}", "else", "elif", "except", "finally")):
            if number % 3 == 1 and not line.rstrip().endswith(("(", "[", "{", ",")):
                out.append(f"{indent}# step {number}: compute the next quantity")
            if number % 4 == 2 and "#" not in line and not line.rstrip().endswith(("(", "[", "{", ",", ":", "\\")):
                line = f"{line}  # as in the lecture"
        out.append(line)
    return "\n".join(out) + "\n"


def respace(code):
    """Other spacing: blank lines between statements, spaces inside brackets and around every operator."""
    out = []
    for line in code.splitlines():
        out.append(line)
        if line.strip() and not line.rstrip().endswith(("(", "[", "{", ",", ":", "\\")) and line.startswith("    "):
            out.append("")
    text = "\n".join(out)
    return _spaced(text)


def _spaced(text):
    """Spaces around the binary operators ``@ * + -`` outside strings and comments (``a@b`` -> ``a  @  b``)."""
    result = list(tokenize.generate_tokens(io.StringIO(text).readline))
    out_lines = text.splitlines()
    for token in reversed(result):
        if token.type == tokenize.OP and token.string in ("@", "*", "+") and token.start[0] == token.end[0]:
            row, col = token.start[0] - 1, token.start[1]
            line = out_lines[row]
            out_lines[row] = line[:col].rstrip() + "  " + token.string + "  " + line[token.end[1] :].lstrip()
    return "\n".join(out_lines) + "\n"


def _names(node):
    reads, writes = set(), set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            (reads if isinstance(inner.ctx, ast.Load) else writes).add(inner.id)
    for inner in ast.walk(node):
        if isinstance(inner, (ast.Subscript, ast.Attribute)) and not isinstance(inner.ctx, ast.Load):
            base = inner
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Attribute)
            and isinstance(inner.func.value, ast.Name)
        ):
            writes.add(inner.func.value.id)  # a method may change its object
    return reads, writes


def _independent(a, b):
    reads_a, writes_a = _names(a)
    reads_b, writes_b = _names(b)
    return not (writes_a & (reads_b | writes_b) or writes_b & reads_a)


def reorder(code):
    """Adjacent independent simple statements swapped (in every function body and loop body)."""
    tree = ast.parse(code)
    lines = code.splitlines()
    swaps = []
    for node in ast.walk(tree):
        for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
            if not isinstance(body, list):
                continue
            i = 0
            while i + 1 < len(body):
                a, b = body[i], body[i + 1]
                simple = (ast.Assign, ast.AugAssign, ast.AnnAssign)
                if isinstance(a, simple) and isinstance(b, simple) and _independent(a, b):
                    swaps.append((a.lineno, a.end_lineno, b.lineno, b.end_lineno))
                    i += 2
                else:
                    i += 1
    for a_start, a_end, b_start, b_end in sorted(swaps, reverse=True):
        first, second = lines[a_start - 1 : a_end], lines[b_start - 1 : b_end]
        lines[a_start - 1 : b_end] = second + lines[a_end : b_start - 1] + first
    return "\n".join(lines) + "\n"


def disguise(code, keep=()):
    """All four disguises: renamed (but ``keep``), reordered, commented and respaced."""
    return respace(add_comments(reorder(rename(code, keep))))


__all__ = ["add_comments", "disguise", "rename", "reorder", "respace"]
