"""A static scan of the student's code for what an honest answer never needs.

The scan gives and takes no points: the sandbox and the judge already make
these tricks worthless.  It lists a submission for a human look (cheating
attempts deserve a conversation, and a false alarm costs a glance).  It reads
the code with :mod:`ast` and runs nothing.

Flagged: patching a module's attributes (``np.testing.assert_allclose = ...``),
IPython hooks (input or AST transformers, custom exception handlers, events),
the interpreter's internals (``sys.modules``, ``sys.settrace``, ``__builtins__``,
``__globals__``, ``__code__``, ``gc``), processes and signals
(``os._exit``, ``fork``, ``subprocess``, ``signal``), the network, files
outside the working directory, ``exec``/``eval``/``compile``/``__import__``,
and importing from :mod:`rnn_ref` anything but the activations and plain data
(a NamedTuple record such as ``RNNCache``, a constant such as ``GATES``).

The scan runs in the grader's own process, on code written to hurt it, so its
work is bounded by construction, and what it cannot read is itself a flag:

* a cell is first parsed as plain Python (honest cells always are); only a cell
  that does not parse goes through IPython's ``TransformerManager``, which turns
  magics (``%time``, ``!ls``, ``x?``) into Python.  That manager re-reads the
  whole cell once per magic it rewrites, up to 500 times, and then gives up:
  a 77 KB cell of magics cost 79 s and was then not scanned at all.  Here it may
  rewrite at most ``MAX_MAGICS`` magics per cell and re-read at most
  ``MAX_MAGIC_LINES`` lines per notebook; past that, the lines IPython would
  rewrite are read as ``pass`` and the rest of the cell is still scanned;
* at most ``MAX_CELL_CHARS`` per cell and ``MAX_SCAN_CHARS`` per notebook are
  parsed, at most ``MAX_NODES`` syntax nodes are visited, ``MAX_DEPTH`` levels
  deep, without recursion (a chain of 5000 ``+`` or ``not`` is one level per
  operator);
* at most ``MAX_FLAGS_PER_CELL`` and ``MAX_FLAGS`` flags are kept, each
  quoting at most ``MAX_QUOTE`` characters of the student's code.

``benchmarks/scan.py`` measures the scan on crafted cells of each kind.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass

MAX_CELL_CHARS = 50_000
MAX_SCAN_CHARS = 200_000
MAX_MAGICS = 20
MAX_MAGIC_LINES = 5_000
MAX_NODES = 60_000
MAX_DEPTH = 100
MAX_FLAGS_PER_CELL = 20
MAX_FLAGS = 100
MAX_QUOTE = 80

_MODULES = {
    "ctypes": "loads C libraries",
    "gc": "walks the garbage collector's objects",
    "importlib": "imports modules by name",
    "inspect": "inspects frames and source code",
    "multiprocessing": "starts processes",
    "os": "uses the operating system",
    "pickle": "unpickles data",
    "pty": "opens a terminal",
    "resource": "changes resource limits",
    "shutil": "copies or deletes files",
    "signal": "handles signals",
    "socket": "opens network connections",
    "subprocess": "starts processes",
    "sys": "uses interpreter internals",
    "threading": "starts threads",
    "urllib": "opens network connections",
    "http": "opens network connections",
    "requests": "opens network connections",
    "builtins": "changes the built-in functions",
    "IPython": "uses IPython's internals",
    "traitlets": "uses IPython's configuration",
}
_CALLS = {
    "exec": "executes a string as code",
    "eval": "evaluates a string as code",
    "compile": "compiles a string as code",
    "__import__": "imports a module by name",
    "get_ipython": "reaches the IPython shell",
    "globals": "reaches the notebook's namespace",
    "setattr": "sets an attribute by name",
    "delattr": "deletes an attribute by name",
    "breakpoint": "starts the debugger",
}
_ATTRIBUTES = {
    "_exit": "ends the process at once (os._exit)",
    "fork": "forks the process",
    "kill": "sends a signal",
    "system": "runs a shell command",
    "modules": "reaches sys.modules",
    "settrace": "installs a tracer",
    "setprofile": "installs a profiler",
    "input_transformers_cleanup": "changes how IPython reads cells",
    "input_transformers_post": "changes how IPython reads cells",
    "input_transformer_manager": "changes how IPython reads cells",
    "ast_transformers": "rewrites cells before they run",
    "set_custom_exc": "hides exceptions",
    "events": "hooks into IPython's events",
    "register_magic_function": "defines a magic",
    "__builtins__": "reaches the built-in namespace",
    "__globals__": "reaches a function's namespace",
    "__code__": "replaces a function's code",
    "__subclasses__": "walks the class hierarchy",
    "f_back": "walks the call stack",
    "f_globals": "reaches a caller's namespace",
    "f_locals": "reaches a caller's variables",
    "excepthook": "replaces the exception hook",
}
_ALLOWED_FROM_RNN_REF = {"rnn_ref.activations"}


@dataclass(frozen=True)
class Flag:
    cell: str  # a label: "solution rnn_forward", "cell 12"
    line: int
    message: str

    def __str__(self):
        return f"{self.cell}, line {self.line}: {self.message}"


class ScanBudget:
    """What is left to read of one notebook (see the module docstring); shared by its cells."""

    def __init__(self):
        self.chars, self.magic_lines, self.nodes = MAX_SCAN_CHARS, MAX_MAGIC_LINES, MAX_NODES


def _quote(text):
    """At most MAX_QUOTE characters of the student's text, for a flag."""
    text = str(text)
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE] + "..."


def _dotted(node):
    """``a.b.c`` for an attribute chain (``(...).c`` when it starts with something else), without recursion."""
    parts = []
    while isinstance(node, ast.Attribute) and len(parts) <= MAX_QUOTE:
        parts.append(node.attr)
        node = node.value
    parts.append(node.id if isinstance(node, ast.Name) else "(...)")
    return _quote(".".join(reversed(parts)))


def _inside(path):
    return not (path.startswith("/") or path.startswith("~") or ".." in path.split("/"))


def _module_flags(node, module, names=()):
    flags = []
    root = module.split(".")[0]
    if root in _MODULES:
        flags.append(f"imports {_quote(module)} ({_MODULES[root]})")
    if root == "rnn_ref" and module not in _ALLOWED_FROM_RNN_REF:
        names = [name for name in names if not _is_data(module, name)]  # issue 11: RNNCache is no reference
        if names or not isinstance(node, ast.ImportFrom):
            what = f"{_quote(', '.join(names))} from {_quote(module)}" if names else _quote(module)
            flags.append(f"imports {what} (the reference: a graded function must not call it)")
    return flags


def _is_data(module, name):
    """True when ``from module import name`` brings in plain data of rnn_ref: nothing that computes.

    A NamedTuple class (the caches, ``RNNCache``) and constants (strings, numbers, and tuples or dicts
    of them) are data; a function, a module, any other class, an object holding functions (``CELLS``),
    or a name that cannot be found is not.
    """
    try:
        value = getattr(importlib.import_module(module), name)
    except Exception:  # unknown module or name: flag it
        return False
    return _harmless(value)


def _harmless(value, depth=0):
    if isinstance(value, type):
        return issubclass(value, tuple) and hasattr(value, "_fields")  # a NamedTuple record
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return True
    if isinstance(value, (tuple, list, set, frozenset)) and depth < 3:
        return all(_harmless(item, depth + 1) for item in value)
    if isinstance(value, dict) and depth < 3:
        return all(_harmless(k, depth + 1) and _harmless(v, depth + 1) for k, v in value.items())
    return False


def _node_flags(node):
    """The messages for one syntax node (its children are visited by the caller)."""
    if isinstance(node, ast.Import):
        return [message for alias in node.names for message in _module_flags(node, alias.name)]
    if isinstance(node, ast.ImportFrom):
        return _module_flags(node, node.module or "", [alias.name for alias in node.names])
    if isinstance(node, ast.Call):
        messages = []
        if isinstance(node.func, ast.Name) and node.func.id in _CALLS:
            messages.append(f"calls {node.func.id} ({_CALLS[node.func.id]})")
        if isinstance(node.func, ast.Name) and node.func.id == "open" and node.args:
            target = node.args[0]
            if not (isinstance(target, ast.Constant) and isinstance(target.value, str) and _inside(target.value)):
                messages.append("opens a file outside the working directory (or one named at run time)")
        return messages
    if isinstance(node, ast.Attribute):
        return [f"uses .{node.attr} ({_ATTRIBUTES[node.attr]})"] if node.attr in _ATTRIBUTES else []
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
    messages = []
    for target in targets:
        if isinstance(target, ast.Attribute) and isinstance(target.value, (ast.Name, ast.Attribute)):
            if _dotted(target.value) not in ("self", "cls"):
                messages.append(f"assigns {_dotted(target)} (patches a module or object it does not own)")
    return messages


def _walk(tree, label, budget):
    """Flags of every node of ``tree``, depth-first in source order, without recursion and within the budget."""
    flags, too_deep = [], False
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if budget.nodes <= 0:
            flags.append(Flag(label, 0, f"not scanned to the end (more than {MAX_NODES} syntax nodes): read it"))
            break
        budget.nodes -= 1
        line = getattr(node, "lineno", 0)
        flags += [Flag(label, line, message) for message in _node_flags(node)]
        if depth >= MAX_DEPTH:
            if not too_deep:
                too_deep = True
                flags.append(Flag(label, line, f"nested more than {MAX_DEPTH} levels deep: not scanned below, read it"))
            continue
        stack.extend((child, depth + 1) for child in reversed(list(ast.iter_child_nodes(node))))
    return flags


class TooManyMagics(Exception):
    """A cell has more IPython magics than the grader rewrites, or its notebook's budget for them is spent."""


def ipython_to_python(source, budget=None):
    """``source`` with IPython's magics rewritten as the Python they stand for (nothing runs), within bounds.

    IPython's own ``TransformerManager`` does the rewriting, at most ``MAX_MAGICS`` times and within what is
    left of ``budget.magic_lines`` (a new :class:`ScanBudget` when None).  Raises :class:`TooManyMagics`
    past those bounds; IPython's own errors on odd input propagate.  Also used by :mod:`grader.fingerprint`.
    """
    return _transformer(budget if budget is not None else ScanBudget()).transform_cell(source)


def _transformer(budget):
    """IPython's TransformerManager, allowed MAX_MAGICS rewrites and what is left of MAX_MAGIC_LINES."""
    from IPython.core.inputtransformer2 import TransformerManager

    class Bounded(TransformerManager):
        rewrites = 0

        def do_one_token_transform(self, lines):
            # each call tokenizes the whole cell again: charge its lines (a long line as one per 50 characters:
            # the tokenizer's time goes by tokens), and stop before the budget is gone
            cost = sum(1 + len(line) // 50 for line in lines)
            if self.rewrites >= MAX_MAGICS or cost > budget.magic_lines:
                raise TooManyMagics
            self.rewrites += 1
            budget.magic_lines -= cost
            return super().do_one_token_transform(lines)

    return Bounded()


# lines IPython rewrites: escapes at the start (%magic, !shell, ?help, /,; autocall), help at the end, magic assignments
_IPYTHON_LINE = re.compile(r"^\s*([%!?/,;]|\S.*\?\s*$|[\w.]+\s*=\s*[%!])")


def _neutralized(source):
    """``source`` with every line IPython would rewrite read as ``pass`` (the indentation kept)."""
    lines = []
    for line in source.splitlines():
        if _IPYTHON_LINE.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            line = f"{indent}pass"
        lines.append(line)
    return "\n".join(lines)


def _parse(source, label, budget):
    """``(tree or None, flags)``: the cell as Python, its magics read by IPython within the budget."""
    try:
        return ast.parse(source), []
    except SyntaxError:
        pass  # IPython syntax (magics), or an honest mistake
    except (RecursionError, MemoryError, ValueError):
        return None, [Flag(label, 0, "cannot be read (too deeply nested or too large): read it")]
    flags = []
    try:
        python = ipython_to_python(source, budget)
    except TooManyMagics:
        flags.append(
            Flag(label, 0, f"has more IPython magics, shell or help lines than the scan reads ({MAX_MAGICS}): read it")
        )
        python = _neutralized(source)
    except Exception:  # IPython could not read it: an honest syntax error, most likely
        python = source
    try:
        return ast.parse(python), flags
    except SyntaxError:
        return None, flags  # an honest mistake; the feedback shows it
    except (RecursionError, MemoryError, ValueError):
        return None, flags + [Flag(label, 0, "cannot be read (too deeply nested or too large): read it")]


def scan_source(source, label, budget=None):
    """Flags for one cell's source (IPython magics are read as the code they stand for).

    ``budget`` is the notebook's :class:`ScanBudget` (a new one when not given).
    """
    budget = budget if budget is not None else ScanBudget()
    source = str(source)
    if len(source) > MAX_CELL_CHARS:
        return [
            Flag(label, 0, f"is {len(source)} characters long, more than the scan reads ({MAX_CELL_CHARS}): read it")
        ]
    if len(source) > budget.chars:
        budget.chars = 0
        return [Flag(label, 0, f"not scanned: the notebook has more code than the scan reads ({MAX_SCAN_CHARS} chars)")]
    budget.chars -= len(source)
    flags = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("!") or stripped.startswith("%%bash") or stripped.startswith("%system"):
            flags.append(Flag(label, 0, "runs a shell command"))
            break
    tree, problems = _parse(source, label, budget)
    flags += problems
    if tree is not None:
        flags += _walk(tree, label, budget)
    if len(flags) > MAX_FLAGS_PER_CELL:
        more = len(flags) - MAX_FLAGS_PER_CELL + 1
        flags = flags[: MAX_FLAGS_PER_CELL - 1] + [Flag(label, 0, f"and {more} more flags in this cell")]
    return flags


def scan_cells(cells):
    """Flags for the student's cells: ``cells`` are dicts with index, source, role, grade_id (test cells skipped)."""
    flags, budget = [], ScanBudget()
    for cell in cells:
        if cell["role"] in ("test", "locked"):
            continue  # restored from the source before anything runs
        label = f"{cell['role']} {cell['grade_id']}" if cell.get("grade_id") else f"cell {cell['index']}"
        flags += scan_source(cell["source"], label, budget)
    if len(flags) > MAX_FLAGS:
        more = len(flags) - MAX_FLAGS + 1
        flags = flags[: MAX_FLAGS - 1] + [Flag("the notebook", 0, f"and {more} more flags")]
    return flags
