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
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass

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


class _Visitor(ast.NodeVisitor):
    def __init__(self, label):
        self.label, self.flags = label, []

    def flag(self, node, message):
        self.flags.append(Flag(self.label, getattr(node, "lineno", 0), message))

    def visit_Import(self, node):
        for alias in node.names:
            self._module(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self._module(node, module, [alias.name for alias in node.names])
        self.generic_visit(node)

    def _module(self, node, module, names=()):
        root = module.split(".")[0]
        if root in _MODULES:
            self.flag(node, f"imports {module} ({_MODULES[root]})")
        if root == "rnn_ref" and module not in _ALLOWED_FROM_RNN_REF:
            names = [name for name in names if not _is_data(module, name)]  # issue 11: RNNCache is no reference
            if names or not isinstance(node, ast.ImportFrom):
                what = f"{', '.join(names)} from {module}" if names else module
                self.flag(node, f"imports {what} (the reference: a graded function must not call it)")

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _CALLS:
            self.flag(node, f"calls {node.func.id} ({_CALLS[node.func.id]})")
        if isinstance(node.func, ast.Name) and node.func.id == "open" and node.args:
            target = node.args[0]
            if not (isinstance(target, ast.Constant) and isinstance(target.value, str) and _inside(target.value)):
                self.flag(node, "opens a file outside the working directory (or one named at run time)")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in _ATTRIBUTES:
            self.flag(node, f"uses .{node.attr} ({_ATTRIBUTES[node.attr]})")
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            self._assigned(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._assigned(node.target)
        self.generic_visit(node)

    def _assigned(self, target):
        if isinstance(target, ast.Attribute) and isinstance(target.value, (ast.Name, ast.Attribute)):
            base = ast.unparse(target.value)
            if base not in ("self", "cls"):
                self.flag(target, f"assigns {ast.unparse(target)} (patches a module or object it does not own)")


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


def _inside(path):
    return not (path.startswith("/") or path.startswith("~") or ".." in path.split("/"))


def scan_source(source, label):
    """Flags for one cell's source (IPython magics are read as the code they stand for)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        python = TransformerManager().transform_cell(source)
    except Exception:
        python = source
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("!") or stripped.startswith("%%bash") or stripped.startswith("%system"):
            return [Flag(label, 0, "runs a shell command")] + _scan_python(python, label)
    return _scan_python(python, label)


def _scan_python(python, label):
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return []  # an honest mistake; the feedback shows it
    except (RecursionError, MemoryError, ValueError):
        return [Flag(label, 0, "cannot be read (too deeply nested or too large)")]
    visitor = _Visitor(label)
    visitor.visit(tree)
    return visitor.flags


def scan_cells(cells):
    """Flags for the student's cells: ``cells`` are dicts with index, source, role, grade_id (test cells skipped)."""
    flags = []
    for cell in cells:
        if cell["role"] in ("test", "locked"):
            continue  # restored from the source before anything runs
        label = f"{cell['role']} {cell['grade_id']}" if cell.get("grade_id") else f"cell {cell['index']}"
        flags += scan_source(cell["source"], label)
    return flags
