r"""Fingerprints of a function's code that survive renaming, reformatting, comments and reordering.

The method is MOSS's (Schleimer, Wilkerson and Aiken, *Winnowing: local
algorithms for document fingerprinting*, SIGMOD 2003) on a token stream made
from the abstract syntax tree rather than from the text, as JPlag does:

1. **Parse** the code with :mod:`ast`, within bounds (:data:`MAX_SOURCE_CHARS`
   per cell, :data:`MAX_DEPTH` of nesting, :data:`MAX_TOKENS` per function);
   nothing is ever executed.
2. **Normalize** (:func:`tokens_of`): the tree becomes a pre-order stream of
   node kinds, in which

   * every local name (arguments, assigned names, loop variables) is ``V``
     and every function of the submission is ``F``: renaming changes nothing;
   * comments, docstrings, bare strings, ``pass``, ``print(...)`` and type
     annotations are gone, and so are spacing and line breaks;
   * equivalent spellings are one: ``a += b`` is ``a = a + b``, ``np.dot(a, b)``
     and ``a.dot(b)`` are ``a @ b``, ``np.transpose(a)`` is ``a.T``,
     ``a > b`` is ``b < a``, the terms of a sum or product are sorted, keyword
     arguments are sorted, ``a, b = x, y`` is two assignments;
   * **independent statements are put in a canonical order**: within every
     block, a statement must stay after the statements it depends on (it reads
     what they write, writes what they read or write, or comes after a
     ``return``, ``raise``, ``break`` or ``continue``); among those free to go
     next, the one whose normalized tokens sort first goes first.  Two copies
     that differ by the order of independent lines give the same stream.

3. **Hash** every run of :data:`K` consecutive tokens (a *k-gram*), and keep
   by **winnowing** the smallest hash of every window of :data:`W` consecutive
   k-grams (the rightmost on ties).  Any run of ``W + K - 1`` tokens that two
   functions share gives them a fingerprint in common, whatever surrounds it;
   runs shorter than ``K`` tokens never do (they are what every solution of the
   same equation shares).

Hashes are stable from one run to the next (token ids from CRC-32, k-grams
hashed as tuples of integers, which Python does not salt).
"""

from __future__ import annotations

import ast
import zlib
from dataclasses import dataclass, field

from .scan import MAX_MAGICS, TooManyMagics, ipython_to_python

K = 12  # tokens per k-gram: about one statement such as `a = x @ W.T + h @ U.T + b`
W = 4  # k-grams per winnowing window: any match of W + K - 1 = 15 tokens is found
MAX_SOURCE_CHARS = 100_000  # a larger cell is not parsed (ast.parse is linear, but a batch must not wait)
MAX_DEPTH = 80  # nesting of the syntax tree; deeper is not normalized (the normalizer recurses)
MAX_TOKENS = 20_000  # tokens of one function, helpers included; the rest is dropped
MAX_BLOCK = 400  # statements of one block that are reordered; a longer block keeps its order

_NUMPY = {"np", "numpy"}
_MATMUL_FUNCTIONS = {"dot", "matmul"}
# methods of arrays and dicts that do not change their object: calling them only reads it
_PURE_METHODS = {
    "all", "any", "argmax", "argmin", "astype", "conj", "copy", "cumsum", "dot", "flatten", "get", "items",
    "keys", "max", "mean", "min", "nonzero", "prod", "ravel", "reshape", "round", "squeeze", "std", "sum",
    "swapaxes", "tolist", "transpose", "values", "var", "view",
}  # fmt: skip
_COMMUTATIVE = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr)
_FLIPPED = {ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_ENDS_BLOCK = (ast.Return, ast.Raise, ast.Break, ast.Continue)


class TooComplex(ValueError):
    """The code is too large or too deeply nested to be fingerprinted within the bounds."""


# --- parsing within bounds --------------------------------------------------------------------------------


def parse(source):
    """The module of ``source`` (IPython magics read as the code they stand for); None if it is not Python.

    Raises :class:`TooComplex` when ``source`` is longer than :data:`MAX_SOURCE_CHARS`
    or nested more deeply than the parser or :data:`MAX_DEPTH` allow.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise TooComplex(f"{len(source)} characters, more than the {MAX_SOURCE_CHARS} read")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise TooComplex(f"cannot be parsed ({type(exc).__name__})") from None
    if tree is None and ("%" in source or "!" in source):
        try:  # a magic or a shell line: read it as IPython does (the transformer runs nothing), within bounds
            tree = ast.parse(ipython_to_python(source))
        except TooManyMagics:  # IPython re-reads the whole cell for each magic: 77 KB of them took minutes
            raise TooComplex(f"more IPython magics than the grader reads ({MAX_MAGICS})") from None
        except SyntaxError:
            return None
        except (RecursionError, MemoryError, ValueError) as exc:
            raise TooComplex(f"cannot be parsed ({type(exc).__name__})") from None
        except Exception:  # the transformer's own failure on odd input: not Python then
            return None
    if tree is not None and depth(tree) > MAX_DEPTH:
        raise TooComplex(f"nested more than {MAX_DEPTH} levels deep")
    return tree


def depth(tree):
    """The nesting depth of a syntax tree (without recursion, so that any tree can be measured)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


# --- names ------------------------------------------------------------------------------------------------


def local_names(function):
    """Names local to ``function``: its arguments and every name it (or a function inside it) binds."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _reads_writes(statement, local):
    """``(reads, writes, ends)``: local names the statement reads and writes, and whether it leaves the block."""
    reads, writes, ends = set(), set(), isinstance(statement, _ENDS_BLOCK)
    stack = [statement]
    while stack:
        node = stack.pop()
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            and node is not statement
        ):
            for inner in ast.walk(node):  # a function defined here reads what its body reads, later
                if isinstance(inner, ast.Name) and inner.id in local:
                    reads.add(inner.id)
            if not isinstance(node, ast.Lambda):
                writes.add(node.name)
            continue
        if isinstance(node, (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom)):
            ends = True
        if isinstance(node, ast.Name) and node.id in local:
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            base = _base_name(node)
            if base in local:  # a[i] = ..., a.x = ...: changes a
                reads.add(base)
                writes.add(base)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = _base_name(node.func.value)
            if base in local and node.func.attr not in _PURE_METHODS:  # a.append(...), a.fill(...)
                writes.add(base)
        elif isinstance(node, ast.AugAssign):
            base = _base_name(node.target)
            if base in local:
                reads.add(base)
        stack.extend(ast.iter_child_nodes(node))
    return reads, writes, ends


def _base_name(node):
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# --- the token stream -------------------------------------------------------------------------------------


class _Normalizer:
    """Turns a function into its normalized token stream (see the module docstring)."""

    def __init__(self, local, functions=()):
        self.local = local
        self.functions = set(functions)  # names of the submission's own functions: "F"

    # statements ------------------------------------------------------------------------------------------

    def block(self, statements):
        """The tokens of a block, its independent statements in canonical order."""
        units = []
        for statement in statements:
            for part in self._split(statement):
                tokens = self.statement(part)
                if tokens:
                    units.append((part, tokens))
        out = []
        for _, tokens in self._canonical_order(units):
            out += tokens
        return out

    def _split(self, statement):
        """Statements that are another spelling of several: ``a, b = x, y`` is two assignments."""
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Tuple)
            and isinstance(statement.value, ast.Tuple)
            and len(statement.targets[0].elts) == len(statement.value.elts)
            and not any(isinstance(e, ast.Starred) for e in statement.targets[0].elts + statement.value.elts)
        ):
            return [
                ast.Assign(targets=[target], value=value)
                for target, value in zip(statement.targets[0].elts, statement.value.elts, strict=True)
            ]
        return [statement]

    def _canonical_order(self, units):
        if len(units) > MAX_BLOCK:
            return units
        effects = [_reads_writes(statement, self.local) for statement, _ in units]
        after = [set() for _ in units]  # after[j]: the statements j must follow
        for j, (reads_j, writes_j, ends_j) in enumerate(effects):
            for i in range(j):
                reads_i, writes_i, ends_i = effects[i]
                if ends_i or ends_j or writes_i & (reads_j | writes_j) or reads_i & writes_j:
                    after[j].add(i)
        placed, order = set(), []
        while len(order) < len(units):
            ready = [j for j in range(len(units)) if j not in placed and after[j] <= placed]
            chosen = min(ready, key=lambda j: (units[j][1], j))
            placed.add(chosen)
            order.append(units[chosen])
        return order

    def statement(self, node):
        if isinstance(node, ast.Expr):
            value = node.value
            if isinstance(value, ast.Constant):  # a docstring or a string used as a comment
                return []
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print":
                return []
            return ["Expr"] + self.expr(value)
        if isinstance(node, ast.Pass):
            return []
        if isinstance(node, ast.Assign):
            out = ["Assign"]
            for target in node.targets:
                out += self.expr(target)
            return out + self.expr(node.value)
        if isinstance(node, ast.AugAssign):  # a += b is a = a + b
            value = ast.BinOp(left=_as_load(node.target), op=node.op, right=node.value)
            return ["Assign"] + self.expr(node.target) + self.expr(value)
        if isinstance(node, ast.AnnAssign):  # annotations dropped
            return (["Assign"] + self.expr(node.target) + self.expr(node.value)) if node.value else []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return ["Def", "("] + self.block(_body(node)) + [")"]
        if isinstance(node, ast.ClassDef):
            return ["Class", "("] + self.block(node.body) + [")"]
        if isinstance(node, (ast.For, ast.AsyncFor)):
            out = ["For"] + self.expr(node.target) + self.expr(node.iter) + ["("] + self.block(node.body) + [")"]
            return out + (["Else", "("] + self.block(node.orelse) + [")"] if node.orelse else [])
        if isinstance(node, ast.While):
            out = ["While"] + self.expr(node.test) + ["("] + self.block(node.body) + [")"]
            return out + (["Else", "("] + self.block(node.orelse) + [")"] if node.orelse else [])
        if isinstance(node, ast.If):
            out = ["If"] + self.expr(node.test) + ["("] + self.block(node.body) + [")"]
            return out + (["Else", "("] + self.block(node.orelse) + [")"] if node.orelse else [])
        if isinstance(node, (ast.With, ast.AsyncWith)):
            out = ["With"]
            for item in node.items:
                out += self.expr(item.context_expr) + (self.expr(item.optional_vars) if item.optional_vars else [])
            return out + ["("] + self.block(node.body) + [")"]
        if isinstance(node, ast.Return):
            return ["Return"] + (self.expr(node.value) if node.value else [])
        if isinstance(node, ast.Raise):
            return ["Raise"] + (self.expr(node.exc) if node.exc else [])
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            out = ["Try", "("] + self.block(node.body) + [")"]
            for handler in node.handlers:
                out += ["Except"] + (self.expr(handler.type) if handler.type else [])
                out += ["("] + self.block(handler.body) + [")"]
            out += (["Else", "("] + self.block(node.orelse) + [")"]) if node.orelse else []
            return out + ((["Finally", "("] + self.block(node.finalbody) + [")"]) if node.finalbody else [])
        if isinstance(node, ast.Assert):
            return ["Assert"] + self.expr(node.test)
        if isinstance(node, ast.Delete):
            return ["Del"] + [t for target in node.targets for t in self.expr(target)]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return ["Import"]
        # Break, Continue, Global, Nonlocal, Match, ...: their kind
        return [type(node).__name__] + [t for child in ast.iter_child_nodes(node) for t in self._any(child)]

    def _any(self, node):
        if isinstance(node, ast.expr):
            return self.expr(node)
        if isinstance(node, ast.stmt):
            return self.statement(node)
        return [type(node).__name__] + [t for child in ast.iter_child_nodes(node) for t in self._any(child)]

    # expressions -----------------------------------------------------------------------------------------

    def expr(self, node):
        node = _canonical_call(node)
        if isinstance(node, ast.Name):
            if node.id in self.local:
                return ["V"]
            if node.id in self.functions:
                return ["F"]
            return ["np" if node.id in _NUMPY else node.id]
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                return [f"S{value[:24]!r}"]
            return [f"C{value!r}"[:24]]
        if isinstance(node, ast.Attribute):
            return ["." + node.attr] + self.expr(node.value)
        if isinstance(node, ast.BinOp):
            op = type(node.op).__name__
            if isinstance(node.op, _COMMUTATIVE):  # the terms of a sum (or product) in a canonical order
                terms = sorted(self.expr(term) for term in _flatten(node, type(node.op)))
                return [f"{op}{len(terms)}"] + [t for term in terms for t in term]
            return [op] + self.expr(node.left) + self.expr(node.right)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIPPED:
            flipped = _FLIPPED[type(node.ops[0])]()  # a > b is b < a
            return ["Compare"] + self.expr(node.comparators[0]) + [type(flipped).__name__] + self.expr(node.left)
        if isinstance(node, ast.Compare):
            out = ["Compare"] + self.expr(node.left)
            for op, right in zip(node.ops, node.comparators, strict=True):
                out += [type(op).__name__] + self.expr(right)
            return out
        if isinstance(node, ast.Call):
            out = ["Call"] + self.expr(node.func)
            for arg in node.args:
                out += self.expr(arg)
            for keyword in sorted(node.keywords, key=lambda k: k.arg or ""):
                out += [f"{keyword.arg}="] + self.expr(keyword.value)
            return out + [")"]
        if isinstance(node, (ast.Lambda,)):
            return ["Lambda"] + self.expr(node.body)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            out = [type(node).__name__]
            if isinstance(node, ast.DictComp):
                out += self.expr(node.key) + self.expr(node.value)
            else:
                out += self.expr(node.elt)
            for generator in node.generators:
                out += ["for"] + self.expr(generator.target) + self.expr(generator.iter)
                for condition in generator.ifs:
                    out += ["if"] + self.expr(condition)
            return out
        if isinstance(node, ast.JoinedStr):
            return ["FString"]
        # Subscript, Slice, Tuple, List, Dict, Set, UnaryOp, BoolOp, IfExp, Starred, ...: their kind and children
        out = [type(node).__name__ + (type(node.op).__name__ if hasattr(node, "op") else "")]
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                out += self.expr(child)
            elif isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.boolop)):
                continue
            else:
                out += self._any(child)
        return out


def _body(function):
    """A function's statements without its docstring."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _as_load(target):
    """The expression that reads what ``target`` writes (for ``a += b``)."""
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    if isinstance(target, ast.Subscript):
        return ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load())
    if isinstance(target, ast.Attribute):
        return ast.Attribute(value=target.value, attr=target.attr, ctx=ast.Load())
    return target


def _flatten(node, op_type):
    """The terms of ``a + b + c`` (any grouping), without recursion."""
    terms, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, op_type):
            stack += [current.right, current.left]
        else:
            terms.append(current)
    return terms


def _canonical_call(node):
    """``np.dot(a, b)``, ``np.matmul(a, b)`` and ``a.dot(b)`` as ``a @ b``; ``np.transpose(a)`` and
    ``a.transpose()`` as ``a.T``."""
    if not isinstance(node, ast.Call) or node.keywords:
        return node
    func, args = node.func, node.args
    if not isinstance(func, ast.Attribute):
        return node
    on_numpy = isinstance(func.value, ast.Name) and func.value.id in _NUMPY
    if on_numpy and func.attr in _MATMUL_FUNCTIONS and len(args) == 2:
        return ast.BinOp(left=args[0], op=ast.MatMult(), right=args[1])
    if not on_numpy and func.attr == "dot" and len(args) == 1:
        return ast.BinOp(left=func.value, op=ast.MatMult(), right=args[0])
    if on_numpy and func.attr == "transpose" and len(args) == 1:
        return ast.Attribute(value=args[0], attr="T", ctx=ast.Load())
    if not on_numpy and func.attr == "transpose" and not args:
        return ast.Attribute(value=func.value, attr="T", ctx=ast.Load())
    return node


def tokens_of(function, functions=(), local=None):
    """The normalized token stream of the body of ``function`` (an ``ast.FunctionDef``).

    ``functions`` are names of the submission's own functions (written ``F``);
    ``local`` the names local to it (default: :func:`local_names`).
    """
    if depth(function) > MAX_DEPTH:
        raise TooComplex(f"nested more than {MAX_DEPTH} levels deep")
    normalizer = _Normalizer(local_names(function) if local is None else local, functions)
    try:
        return normalizer.block(_body(function))[:MAX_TOKENS]
    except RecursionError:
        raise TooComplex("too deeply nested to normalize") from None


# --- hashing and winnowing --------------------------------------------------------------------------------


def token_ids(tokens):
    """A stable 32-bit id for every token (CRC-32 of its text)."""
    return [zlib.crc32(token.encode("utf-8", "replace")) for token in tokens]


def kgram_hashes(ids, k=K):
    """The hash of every run of ``k`` consecutive token ids (none when there are fewer than ``k``)."""
    return [hash(tuple(ids[i : i + k])) for i in range(len(ids) - k + 1)]


def winnow(hashes, w=W):
    """``{position: hash}`` selected by winnowing: the smallest hash of every window of ``w`` (rightmost on ties).

    A sequence shorter than one window keeps its smallest hash, so that every
    function with at least one k-gram has a fingerprint.
    """
    if not hashes:
        return {}
    if len(hashes) <= w:
        smallest = min(hashes)
        position = max(i for i, h in enumerate(hashes) if h == smallest)
        return {position: smallest}
    selected = {}
    for start in range(len(hashes) - w + 1):
        window = hashes[start : start + w]
        smallest = min(window)
        position = start + max(i for i, h in enumerate(window) if h == smallest)
        selected[position] = smallest
    return selected


@dataclass
class Fingerprint:
    """The fingerprints of one function's code: the selected hashes and where they start (token positions)."""

    tokens: int
    positions: dict = field(default_factory=dict)  # hash -> first token position

    @property
    def hashes(self):
        return set(self.positions)

    def __len__(self):
        return len(self.positions)


def fingerprint(tokens, k=K, w=W):
    """The :class:`Fingerprint` of a normalized token stream."""
    selected = winnow(kgram_hashes(token_ids(tokens), k), w)
    positions = {}
    for position, value in sorted(selected.items()):
        positions.setdefault(value, position)
    return Fingerprint(len(tokens), positions)
