"""The layout the design asks for: imports go one way, rnn_ref <- rnn_checks <- grader, no package uses
another's private names, and no package has an import cycle.

Read from the source (ast), so that a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import rnn_checks

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rnn_ref", "rnn_checks", "grader")
# What each package may import of the others (top-level names); the rest of the world is NumPy, the
# standard library and the packages of its extra (nbgrader, nbformat, traitlets for the grader).
MAY_IMPORT = {"rnn_ref": set(), "rnn_checks": {"rnn_ref"}, "grader": {"rnn_ref", "rnn_checks"}}
SANDBOXED = ROOT / "grader" / "sandboxed"  # runs inside the sandbox: only the rnn_ref it is given (a view)


def modules(package):
    """{dotted name: path} of every module of ``package``."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name, path):
    """[(imported module, [names taken from it])] of one module, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names]))
    return found, tree


def attribute_uses(tree, alias):
    """Names used as ``alias.<name>`` in a module."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == alias
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_go_one_way_and_never_reach_private_names(package):
    problems = []
    for name, path in modules(package).items():
        found, tree = imports(name, path)
        in_sandbox = SANDBOXED in path.parents or path.parent == SANDBOXED
        for module, names in found:
            top = module.split(".")[0]
            if top == package or top not in PACKAGES:
                continue
            where = f"{path.relative_to(ROOT)} imports {module}"
            if (in_sandbox and top != "rnn_ref") or top not in MAY_IMPORT[package]:
                problems.append(f"{where}: {package} must not import {top}")
                continue
            private = [part for part in module.split(".")[1:] + names if part.startswith("_")]
            if private:
                problems.append(f"{where}: private {private}")
            if top == "rnn_checks" and (module != "rnn_checks" or set(names) - set(rnn_checks.__all__)):
                problems.append(f"{where} {names}: only the public API of rnn_checks (rnn_checks.__all__)")
        for alias in ("rnn_ref", "rnn_checks"):
            if alias == package:
                continue
            used = attribute_uses(tree, alias)
            private = sorted(n for n in used if n.startswith("_") and n != "__file__")
            if private:
                problems.append(f"{path.relative_to(ROOT)} uses {alias}.{', '.join(private)}")
            if alias == "rnn_checks":
                outside = sorted(used - set(rnn_checks.__all__) - {"__file__"})
                if outside:
                    problems.append(f"{path.relative_to(ROOT)} uses rnn_checks.{outside}, not in its public API")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package):
    known = modules(package)
    graph = {}
    for name, path in known.items():
        found, _ = imports(name, path)
        targets = set()
        for module, names in found:
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in known]  # from package import submodule
            targets.update(submodules)
            if module in known and (not names or len(submodules) < len(names)):
                targets.add(module)
        graph[name] = targets - {name}
    cycles = []
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_says_what_it_is_for_and_what_it_must_not_import(package):
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc.split()) > 20, f"{package}/__init__.py needs a docstring saying what it is for"
    others = [p for p in PACKAGES if p != package and p not in MAY_IMPORT[package]]
    for other in others:
        assert other in doc, f"{package}'s docstring should say that it does not import {other}"


def test_the_readme_layout_lists_every_top_level_folder_of_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("##", 1)[0]
    for folder in ("book/", "exercises/", "solutions/", "exercises_src/", "rnn_ref/", "rnn_checks/", "grader/"):
        assert f"\n{folder}" in layout, f"README's Layout does not list {folder}"
