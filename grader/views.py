"""Views of rnn_ref for the judge's sandbox: what a graded function may use, and nothing that computes it.

A graded function may call some of :mod:`rnn_ref` (``sigmoid``; the reference
``lstm_step_forward`` while ``lstm_forward`` is graded; whatever its spec
allows), but the judge's sandbox must not contain the reference of the
function itself, or a student could simply call it, or read its source.  So
the judge runs each group of functions against a *view*: a copy of the
package in which every function is replaced by a stub that raises
:class:`ReferenceUnavailable`, except

* the functions the group may use (``ALWAYS_ALLOWED``, the spec's
  ``allowed`` and the references of ``builds_on``), and
* everything those need, found statically: the names their bodies refer to,
  in their module or through imports, transitively.  A module referred to as
  a value (``Cell("lstm", 4, ("h", "c"), lstm)``) keeps all of its functions,
  since it may be used through ``getattr``.

The graded functions themselves are always stubs, even if something kept
refers to them.  Classes (the NamedTuple caches), constants and imports are
kept, so that every ``import`` of a notebook still works; only calls fail.
Beside the view's ``rnn_ref`` lies a stub of :mod:`rnn_checks` (the checks
hold the reference's outputs and near-copies of it in their typical
mistakes): a package whose every function does nothing, so that the
notebook's test cells run without effect.
"""

from __future__ import annotations

import ast
import compileall
import hashlib
import py_compile
import shutil
from dataclasses import dataclass, field
from pathlib import Path

UNAVAILABLE_MODULE = "_grader_unavailable"
CHECKS_STUB = "rnn_checks"  # the stub's folder, beside the view's rnn_ref

_UNAVAILABLE_SOURCE = '''"""Stubs of a grading view of rnn_ref (made by grader.views)."""


class ReferenceUnavailable(RuntimeError):
    """Raised by a function of rnn_ref that is not available while this code is graded."""


def unavailable(name):
    return ReferenceUnavailable(
        f"{name} is not available while your code is graded: it is (or computes) the reference "
        "of a graded function, and a function that calls it earns nothing. Write the computation "
        "yourself, with NumPy and what the notebook imports for you."
    )
'''

_CHECKS_STUB_SOURCE = '''"""Not available while grading: the judge compares your functions with rnn_ref elsewhere."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def does_nothing(*args, **kwargs):
        return None

    does_nothing.__name__ = name
    return does_nothing
'''


@dataclass
class _Module:
    name: str
    tree: ast.Module
    functions: set = field(default_factory=set)  # top-level function names
    refs: dict = field(default_factory=dict)  # top-level name -> {(module, name) or (module, "*")}
    import_time: set = field(default_factory=set)  # what the module calls while it is imported


def _aliases(tree, package):
    """Names bound by imports from the package: alias -> ("module", m) or ("symbol", m, name)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module or ""
            elif node.level == 0 and node.module and node.module.split(".")[0] == package:
                base = node.module[len(package) + 1 :] if node.module != package else ""
            else:
                continue
            for alias in node.names:
                bound = alias.asname or alias.name
                if base == "":
                    aliases[bound] = ("module", alias.name)
                else:
                    aliases[bound] = ("symbol", base.split(".")[0], alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package and len(parts) > 1 and alias.asname:
                    aliases[alias.asname] = ("module", parts[1])
    return aliases


def _top_level_names(stmt):
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    names = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


class PackageGraph:
    """The top-level names of a package's modules and what each refers to.

    Parameters
    ----------
    package_dir : path
        The package (``rnn_ref/``).
    """

    def __init__(self, package_dir):
        self.package_dir = Path(package_dir)
        self.package = self.package_dir.name
        self.modules = {}
        for path in sorted(self.package_dir.glob("*.py")):
            name = path.stem
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            self.modules[name] = self._analyse(name, tree)

    def _analyse(self, name, tree):
        module = _Module(name, tree)
        aliases = _aliases(tree, self.package)
        top = {n for stmt in tree.body for n in _top_level_names(stmt)}
        for stmt in tree.body:
            names = _top_level_names(stmt)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                module.functions.add(stmt.name)
            refs = set()
            for node in ast.walk(stmt):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    alias = aliases.get(node.value.id)
                    if alias and alias[0] == "module":
                        refs.add((alias[1], node.attr))
                if isinstance(node, ast.Name):
                    if node.id in top and node.id not in names:
                        refs.add((name, node.id))
                    alias = aliases.get(node.id)
                    if alias and alias[0] == "symbol":
                        refs.add((alias[1], alias[2]))
                    elif alias and alias[0] == "module" and not _is_attribute_base(node, stmt):
                        refs.add((alias[1], "*"))  # the module itself escapes: getattr may reach anything
            for n in names or [f"<statement {id(stmt)}>"]:
                module.refs.setdefault(n, set()).update(refs)
            module.import_time |= _import_time_calls(stmt, name, top, aliases)
        return module

    def closure(self, seeds):
        """Every (module, name) reachable from ``seeds`` ("module.name" or "module.*").

        What the modules call while they are imported is always reachable:
        a stub called at import time would break every import.
        """
        todo = [tuple(seed.split(".", 1)) for seed in seeds]
        todo += [ref for module in self.modules.values() for ref in module.import_time]
        seen = set()
        while todo:
            module_name, name = todo.pop()
            if (module_name, name) in seen:
                continue
            seen.add((module_name, name))
            module = self.modules.get(module_name)
            if module is None:
                continue
            names = list(module.refs) if name == "*" else [name]
            for n in names:
                seen.add((module_name, n))
                todo += [r for r in module.refs.get(n, ()) if r not in seen]
        return {(m, n) for m, n in seen if n != "*"}

    def render(self, target, keep, stubs):
        """Write the view into ``target/<package>``: functions not in ``keep``, or in ``stubs``, raise.

        The stub of :mod:`rnn_checks` goes into ``target/rnn_checks``.
        """
        out = Path(target) / self.package
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        (out / f"{UNAVAILABLE_MODULE}.py").write_text(_UNAVAILABLE_SOURCE, encoding="utf-8")
        checks = Path(target) / CHECKS_STUB
        checks.mkdir(exist_ok=True)
        (checks / "__init__.py").write_text(_CHECKS_STUB_SOURCE, encoding="utf-8")
        compile_package(checks)
        for name, module in self.modules.items():
            tree = _stubbed(module, keep, stubs, self.package)
            (out / f"{name}.py").write_text(ast.unparse(tree) + "\n", encoding="utf-8")
        for sub in self.package_dir.iterdir():  # data subpackages (the corpus)
            if sub.is_dir() and (sub / "__init__.py").exists():
                shutil.copytree(sub, out / sub.name, ignore=shutil.ignore_patterns("__pycache__"))
        compile_package(out)
        return out


def _import_time_calls(stmt, module, top, aliases):
    """Package functions that ``stmt`` calls when its module is imported."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts = list(stmt.decorator_list) + list(stmt.args.defaults) + [d for d in stmt.args.kw_defaults if d]
    else:
        parts = [stmt]
    calls = set()
    for part in parts:
        for node in ast.walk(part):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                alias = aliases.get(func.id)
                if func.id in top:
                    calls.add((module, func.id))
                elif alias and alias[0] == "symbol":
                    calls.add((alias[1], alias[2]))
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                alias = aliases.get(func.value.id)
                if alias and alias[0] == "module":
                    calls.add((alias[1], func.attr))
    return calls


def compile_package(folder):
    """Byte-compile a package once, so that every sandboxed run (read-only, ``-B``) skips compiling it."""
    compileall.compile_dir(str(folder), quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def _is_attribute_base(node, stmt):
    """True when ``node`` is the ``x`` of some ``x.attr`` inside ``stmt``."""
    for parent in ast.walk(stmt):
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return True
    return False


def _stubbed(module, keep, stubs, package):
    tree = ast.parse(ast.unparse(module.tree))  # a copy
    body = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            key = (module.name, stmt.name)
            if key not in keep or key in stubs:
                stmt = _stub(stmt, f"{package}.{module.name}.{stmt.name}")
        body.append(stmt)
    position = 0
    while position < len(body) and _is_preamble(body[position]):
        position += 1
    helper = ast.parse(f"from .{UNAVAILABLE_MODULE} import unavailable as _grader_unavailable").body
    tree.body = body[:position] + helper + body[position:]
    return ast.fix_missing_locations(tree)


def _is_preamble(stmt):
    docstring = (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
    )
    return docstring or (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__")


def _stub(function, qualified):
    body = ast.parse(
        f'"""{qualified}: not available while your code is graded."""\nraise _grader_unavailable({qualified!r})'
    ).body
    stub = ast.FunctionDef(name=function.name, args=function.args, body=body, decorator_list=[], returns=None)
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12+
        stub.type_params = []
    return stub


@dataclass(frozen=True)
class View:
    """One view: the directory holding its ``rnn_ref`` and what it keeps."""

    path: Path  # the view's rnn_ref directory
    available: tuple  # the seeds ("activations.*", "rnn.rnn_step_forward", ...)
    stubs: tuple  # "module.name" of the graded functions


class ViewMaker:
    """Makes (and caches) views of one package in a working directory."""

    def __init__(self, package_dir, workdir):
        self.graph = PackageGraph(package_dir)
        self.workdir = Path(workdir)
        self._views = {}

    def view(self, available, stubs):
        """The view where ``available`` (and what it needs) works and ``stubs`` raise."""
        available, stubs = tuple(sorted(set(available))), tuple(sorted(set(stubs)))
        key = (available, stubs)
        if key not in self._views:
            digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            keep = self.graph.closure(available)
            stub_keys = {tuple(s.split(".", 1)) for s in stubs}
            path = self.graph.render(self.workdir / digest, keep, stub_keys)
            self._views[key] = View(path, available, stubs)
        return self._views[key]

    def kept(self, available):
        """The functions a view made from ``available`` keeps (for tests and reports)."""
        closure = self.graph.closure(available)
        return {f"{m}.{n}" for m, n in closure if m in self.graph.modules and n in self.graph.modules[m].functions}
