"""Run the student's cells in order, and call a graded function where its test cell stands, as the grader asks.

This is the run that earns points, but it decides nothing: it runs inside the
sandbox with a *view* of :mod:`rnn_ref` in which the reference of every
graded function (and of anything that computes it) is a stub that raises, and
it sends the raw return values out.  The judge, outside, compares them with
the reference on inputs the student has never seen.

    python -I -B run_judge.py --fd FD --reply-fd IN --job JOB.json

The job holds the notebook's code cells and the functions of this run (their name in the notebook,
the reference's key, the helpers bound to the reference while they are called (``builds_on``),
what those expect of their arguments (``conventions``) and the rnn_ref functions they may call
(``allowed``)); no input of any call.  The grader drives the run, one step at a time: the runner
says it is ready, and after each step what came of it; the grader's answer on ``IN`` is the next
step (one JSON object per line)::

    -> {"event": "ready"}
    <- {"do": "cell", "step": s, "index": i}             run code cell i
    -> {"event": "cell_done", "step": s, "error": ..., "skipped": n}
    <- {"do": "call", "step": s, "item": k, "attempt": "reference" | "own", "args": ..., "kwargs": ...}
    -> {"event": "result", "step": s, "defined": true, "own_helpers": b, "outputs": ..., "error": ...,
        "calls": [...], "warnings": [...], "args_after": ..., "kwargs_after": ...}
       (or {"event": "result", "step": s, "defined": false} when the name is not defined, and
        {"event": "result", "step": s, "defined": true, "type": "int"} when it is not a function)
    <- {"do": "stop"}
    -> {"event": "done"}

So the inputs of a call exist in this process only once the grader has sent them, when the
notebook has reached the test cell of that function (the namespace is then the one the test cell
saw); the grader times a call from outside, from the moment it sends it.  Each call is made on a
fresh copy of its inputs, with the helpers of ``builds_on`` bound to the reference (attempt
``"reference"``; the reference's helper accepts the student's calling conventions, see
``adapter.py``) or with the student's own (``"own"``); calls into rnn_ref that are not allowed are
recorded, and the arguments are sent back only if the call changed them.

A cell runs statement by statement, as in the notebook, except that a statement that raises
:class:`ReferenceUnavailable` (it called something the view lacks: it would have worked in the
student's kernel) is skipped, and so is any later statement of that cell that fails (it may need
what the skipped one made), so that the definitions of the cell still happen.  An honest notebook
then defines what it defined in Jupyter; a hostile one gains nothing, since no skipped statement
ever ran.
"""

import argparse
import ast
import copy
import gc
import importlib
import json
import linecache
import os
import re
import sys
import traceback
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sandboxed import wire  # noqa: E402
from sandboxed.adapter import tolerant  # noqa: E402
from sandboxed.channel import Channel  # noqa: E402

_IPYTHON_SYNTAX = re.compile(r"^\s*[%!]|\?\s*$", re.MULTILINE)
_RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))


class _Discard:
    """``sys.stdout`` and ``sys.stderr`` here: what the student prints does not matter to the judge."""

    encoding, errors = "utf-8", "replace"

    def write(self, text):
        return len(text) if isinstance(text, str) else 0

    def flush(self):
        pass

    def isatty(self):
        return False


class _Shell:
    """``get_ipython()`` for cells with magics: ``%time``, ``%%time`` and ``%%capture`` run their code."""

    def __init__(self, namespace):
        self._namespace = namespace

    def run_line_magic(self, magic, line, *args, **kwargs):
        if magic == "time" and line.strip():
            exec(compile(line, "<magic>", "exec"), self._namespace)

    def run_cell_magic(self, magic, line, cell, *args, **kwargs):
        if magic in ("time", "capture"):
            exec(compile(cell, "<magic>", "exec"), self._namespace)
        elif magic == "writefile":  # a module of the student's own, imported by a later cell
            _write_file(line, cell)

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _Replies:
    """The grader's answers: one JSON object per line on ``fd`` (read with functions bound before any student code)."""

    def __init__(self, fd):
        self._fd, self._read, self._loads = fd, os.read, json.loads
        self._buffer = b""

    def next(self):
        while b"\n" not in self._buffer:
            chunk = self._read(self._fd, 1 << 20)
            if not chunk:
                return {"do": "stop"}  # the grader has gone
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return self._loads(line)


def _write_file(line, cell):
    """``%%writefile [-a] NAME``: the text into NAME in the working directory (on ``sys.path``, as in Jupyter)."""
    words = line.split()
    append = bool(words) and words[0] in ("-a", "--append")
    name = " ".join(words[1:] if append else words).strip("\"'")
    with open(name, "a" if append else "w", encoding="utf-8") as file:
        file.write(cell)
    importlib.invalidate_caches()


def _display(*objects, **kwargs):
    """``display()``: what the student shows does not matter to the judge."""


def notebook_namespace():
    """The namespace a notebook's cells run in, with the names IPython gives every kernel's cells.

    A cell may use them without an import (``display(...)`` before a ``def``, say): without them the cell
    would stop at a NameError here where Jupyter went on, and the ``def`` after it would never run.
    IPython puts ``display`` and ``__IPYTHON__`` in the builtins and the rest in the user's namespace;
    here all are in the namespace (the builtins are the runner's own).
    """
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    shell = _Shell(namespace)
    namespace.update(
        get_ipython=lambda: shell,
        display=_display,
        __IPYTHON__=True,
        In=[""],
        _ih=[""],
        Out={},
        _oh={},
        _dh=[os.getcwd()],
    )
    return namespace


def _source(source, anywhere=False):
    """IPython syntax (magics, ``!cmd``) turned into plain Python.

    Looked for at the start of a line (``%time``, ``!pip``, ``f?``), or ``anywhere`` (``t = %timeit -o f()``,
    ``files = !ls``) once a cell has failed to parse as plain Python.
    """
    if anywhere or _IPYTHON_SYNTAX.search(source):  # importing IPython costs more than most cells
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            return TransformerManager().transform_cell(source)
        except Exception:  # no IPython, or a cell it cannot parse: compile as it is
            pass
    return source


def run_cell(source, index, namespace, unavailable):
    """Run a cell statement by statement (see the module docstring); return (error or None, statements skipped)."""
    original, source = source, _source(source)
    filename = f"<cell {index}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        try:
            statements = ast.parse(source, filename).body
        except SyntaxError:  # IPython syntax inside a line (an assignment from a magic): as IPython reads it
            source = _source(original, anywhere=True)
            statements = ast.parse(source, filename).body
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:  # the last three: nested too deeply
        return exc, 0
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    skipped = 0
    for statement in statements:
        try:
            code = compile(ast.Module([statement], type_ignores=[]), filename, "exec")
            exec(code, namespace)
        except BaseException as exc:  # the next cells still run, as in nbgrader
            if isinstance(exc, unavailable) or (skipped and isinstance(exc, Exception)):
                skipped += 1
                continue
            return exc, skipped
    return None, skipped


def _forget(exc):
    """Drop the frames of a handled exception (and what they hold) now."""
    try:
        exc.__traceback__ = None
        exc.__context__ = exc.__cause__ = None
    except Exception:  # a student's exception class may refuse
        pass
    gc.collect()


def _error(exc, view_dir):
    """The type, message and student's line of an exception (as rnn_checks.running.student_line finds it)."""
    try:
        message = str(exc)[:4000]
    except Exception:  # a student's __str__ that raises
        message = "<unprintable>"
    where = ""
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        own = [
            f
            for f in frames
            if os.path.dirname(os.path.abspath(f.filename)) not in (view_dir, _RUNNER_DIR)
            and f"{os.sep}site-packages{os.sep}" not in f.filename
            and f"{os.sep}numpy{os.sep}" not in f.filename
        ]
        if own:
            where = f"line {own[-1].lineno} of {own[-1].name}: {(own[-1].line or '').strip()}"[:500]
        if frames and os.path.dirname(os.path.abspath(frames[-1].filename)) == view_dir:
            module = os.path.splitext(os.path.basename(frames[-1].filename))[0]
            where += f" (raised inside rnn_ref.{module}.{frames[-1].name})"
    except Exception:
        pass
    bases = [cls.__name__ for cls in type(exc).__mro__ if cls.__module__ == "builtins"]
    return {
        "type": type(exc).__name__[:100],
        "builtin_base": bases[0] if bases else "Exception",
        "message": message,
        "where": where,
    }


class CallWatch:
    """Records calls from outside rnn_ref into its code (as rnn_checks.running.CallWatch)."""

    def __init__(self, view_dir, allowed_codes, allowed_files):
        self.view_dir = view_dir
        self.allowed_codes, self.allowed_files = allowed_codes, allowed_files
        self.calls, self._cache = [], {}

    def is_reference(self, filename):
        if filename not in self._cache:
            self._cache[filename] = os.path.dirname(os.path.abspath(filename)) == self.view_dir
        return self._cache[filename]

    def __call__(self, frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if not self.is_reference(code.co_filename) or code in self.allowed_codes:
            return
        qualname = getattr(code, "co_qualname", code.co_name)  # Python >= 3.11
        if os.path.abspath(code.co_filename) in self.allowed_files or code in _cache_codes() or "Cache." in qualname:
            return  # an allowed module, or a property of a cache (cache.r)
        caller = frame.f_back
        if caller is None or not self.is_reference(caller.f_code.co_filename):
            module = os.path.splitext(os.path.basename(code.co_filename))[0]
            name = f"rnn_ref.{module}.{qualname}"
            if name not in self.calls and len(self.calls) < 20:
                self.calls.append(name)


_CACHE_CODES = []


def _cache_codes():
    """Code of the properties and methods of the caches (``GRUCache.r``): reading a cache is allowed."""
    if not _CACHE_CODES:
        codes = set()
        for name, module in list(sys.modules.items()):
            if not name.startswith("rnn_ref.") or module is None:
                continue
            for attribute_name, value in list(vars(module).items()):
                if isinstance(value, type) and attribute_name.endswith("Cache"):
                    for attribute in vars(value).values():
                        function = attribute.fget if isinstance(attribute, property) else attribute
                        if hasattr(function, "__code__"):
                            codes.add(function.__code__)
        _CACHE_CODES.append(codes)
    return _CACHE_CODES[0]


def _reference(key):
    module, _, name = key.partition(".")
    return getattr(importlib.import_module(f"rnn_ref.{module}"), name)


def _allowed(keys, replacements):
    codes, files = set(), set()
    for key in keys:
        module_name, _, name = key.partition(".")
        try:
            module = importlib.import_module(f"rnn_ref.{module_name}")
            if name == "*":
                files.add(os.path.abspath(module.__file__))
            else:
                codes.add(getattr(module, name).__code__)
        except Exception:  # an entry the view does not have: nothing to allow
            pass
    for function in replacements.values():
        function = getattr(function, "__wrapped__", function)
        if hasattr(function, "__code__"):
            codes.add(function.__code__)
    return codes, files


def _named(module, name, fields, items):
    """NamedTuple inputs (caches) are rebuilt as the view's own classes."""
    if module.startswith("rnn_ref.") or module == "rnn_ref":
        try:
            cls = importlib.import_module(module)
            for part in name.split("."):
                cls = getattr(cls, part)
            if tuple(getattr(cls, "_fields", ())) == tuple(fields):
                return cls(*items)
        except Exception:
            pass
    return wire._named_tuple(fields, items, name if name.isidentifier() else "record")


def _same(a, b):
    """True when ``b`` still holds what ``a`` held (arrays by value, containers item by item)."""
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except Exception:
        return False


def call_once(fn, pristine, replacements, watch):
    """Call ``fn`` on a copy of ``pristine`` (args, kwargs) with ``replacements`` bound in its module."""
    args, kwargs = copy.deepcopy(pristine)
    namespace = getattr(fn, "__globals__", None)
    missing = object()
    saved = {}
    if isinstance(namespace, dict):
        saved = {name: namespace.get(name, missing) for name in replacements}
        namespace.update(replacements)
    result, error = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # reported, never raised: the judge decides
            error = exc
        finally:
            sys.setprofile(previous)
    for name, old in saved.items():
        if old is missing:
            namespace.pop(name, None)
        else:
            namespace[name] = old
    report = {
        "calls": list(watch.calls),
        "warnings": list(dict.fromkeys(f"{w.category.__name__}: {w.message}"[:500] for w in caught))[:10],
    }
    if not _same(pristine, (tuple(args), dict(kwargs))):
        report["args_after"] = wire.encode(tuple(args))
        report["kwargs_after"] = wire.encode(dict(kwargs))
    if error is not None:
        report["error"] = _error(error, watch.view_dir)
        _forget(error)
    else:
        report["outputs"] = wire.encode(result)
    return report


class Runner:
    """The state of the run: the namespace the cells fill, and how to call a graded function."""

    def __init__(self, job, send):
        import rnn_ref  # the view: graded references are stubs

        self.view_dir = os.path.dirname(os.path.abspath(rnn_ref.__file__))
        try:
            self.unavailable = importlib.import_module("rnn_ref._grader_unavailable").ReferenceUnavailable
        except Exception:  # not a view (a test runs the real package): nothing is unavailable
            self.unavailable = ()
        _cache_codes()
        self.cells = {int(index): source for index, source in job["cells"].items()}
        self.items = []
        for entry in job["items"]:
            references = {name: _reference(key) for name, key in entry.get("builds_on", {}).items()}
            self.items.append((entry, references))
        self.namespace = notebook_namespace()
        self.send = send

    def cell(self, step, index):
        error, skipped = run_cell(self.cells.get(index, ""), index, self.namespace, self.unavailable)
        report = None
        if error is not None:
            report = _error(error, self.view_dir)
            _forget(error)  # a MemoryError's frames hold the memory that ran out
            del error
        self.send("cell_done", step=step, error=report, skipped=skipped)

    def call(self, step, item, attempt, args, kwargs):
        entry, references = self.items[item]
        name = entry["name"]
        fn = self.namespace.get(name)
        if fn is None or not callable(fn):  # None: as if never defined
            self.send("result", step=step, defined=fn is not None, type=type(fn).__name__[:60])
            return
        own_helpers = bool(references) and any(helper in self.namespace for helper in references)
        replacements = {}
        if attempt == "reference":
            conventions = entry.get("conventions", {})
            replacements = {
                helper: tolerant(reference, conventions.get(helper, {}), self.namespace.get(helper), name)
                for helper, reference in references.items()
            }
        try:
            pristine = (
                wire.decode(args, wire.Budget(max_bytes=1 << 30), named=_named),
                wire.decode(kwargs, wire.Budget(max_bytes=1 << 30), named=_named),
            )
            watch = CallWatch(self.view_dir, *_allowed(entry.get("allowed", []), replacements))
            report = call_once(fn, pristine, replacements, watch)
        except BaseException as exc:  # encoding a monstrous result, memory the student's code holds, ...
            report = {"error": _error(exc, self.view_dir), "calls": [], "warnings": []}
            _forget(exc)
        self.send("result", step=step, defined=True, own_helpers=own_helpers, **report)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--sys-path", action="append", default=[])
    options = parser.parse_args(argv)
    channel = Channel(options.fd)
    replies = _Replies(options.reply_fd)
    with open(options.job, encoding="utf-8") as file:
        job = json.load(file)
    for path in reversed(options.sys_path):
        sys.path.insert(0, path)
    sys.path.append(os.getcwd())  # a module the notebook wrote (%%writefile), as Jupyter finds it (last here)

    import numpy  # noqa: F401 - imported before any student code

    send, exit_now = channel.send, os._exit
    runner = Runner(job, send)
    sys.stdout = sys.stderr = _Discard()
    send("ready")
    while True:
        step = replies.next()
        what = step.get("do")
        if what == "cell":
            runner.cell(step["step"], int(step["index"]))
        elif what == "call":
            runner.call(step["step"], int(step["item"]), step["attempt"], step["args"], step["kwargs"])
        else:
            break
    send("done")
    exit_now(0)  # threads the student started must not keep the sandbox alive


if __name__ == "__main__":
    main()
