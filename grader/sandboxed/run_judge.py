"""Define the student's functions, then call them on the judge's inputs and report what they return.

This is the run that earns points, but it decides nothing: it runs inside the
sandbox with a *view* of :mod:`rnn_ref` in which the reference of every
graded function (and of anything that computes it) is a stub that raises, and
it sends the raw return values out.  The judge, outside, compares them with
the reference on inputs the student has never seen.

    python -I -B run_judge.py --fd FD --job JOB.json --cases DIR

The job lists the notebook's code cells, the cells to skip, and the functions
to call: their name in the notebook, the reference's key (``"rnn.rnn_forward"``),
the helpers to bind to the reference while they are called (``builds_on``) and
the rnn_ref functions they may call (``allowed``).  The inputs of the
functions are in ``DIR/<key>.json``.  Events on ``FD``::

    {"event": "ready"}
    {"event": "start", "kind": "cell", "index": i}        ... {"event": "end", ...}
    {"event": "start", "kind": "call", "function": f, "case": k, "attempt": a}
    {"event": "result", "function": f, "case": k, "attempt": a, "outputs": ..., "error": ..., ...}
    {"event": "end", "kind": "call", ...}
    {"event": "done"}

Each case is called as :mod:`rnn_checks` calls it in a notebook: on deep copies, first
with the helpers of ``builds_on`` bound to the reference (attempt
``"reference"``), then, if the notebook defines them, with the student's own
(attempt ``"own"``); calls into rnn_ref that are not allowed are recorded.
"""

import argparse
import copy
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
from sandboxed.channel import Channel  # noqa: E402

_IPYTHON_SYNTAX = re.compile(r"^\s*[%!]|\?\s*$", re.MULTILINE)


class _Discard:
    """``sys.stdout`` and ``sys.stderr`` here: what the student prints does not matter to the judge."""

    encoding, errors = "utf-8", "replace"

    def write(self, text):
        return len(text) if isinstance(text, str) else 0

    def flush(self):
        pass

    def isatty(self):
        return False


class _NoShell:
    """``get_ipython()`` for cells with magics (``%timeit``): every magic does nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _compile_cell(source, index):
    """Compile a cell; IPython syntax (magics, ``!cmd``) is turned into plain Python first."""
    if _IPYTHON_SYNTAX.search(source):  # importing IPython costs more than most cells
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            source = TransformerManager().transform_cell(source)
        except Exception:  # no IPython, or a cell it cannot parse: compile as it is
            pass
    filename = f"<cell {index}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return compile(source, filename, "exec")


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
            if os.path.dirname(os.path.abspath(f.filename)) != view_dir
            and f"{os.sep}site-packages{os.sep}" not in f.filename
            and f"{os.sep}numpy{os.sep}" not in f.filename
            and os.path.basename(f.filename) != os.path.basename(__file__)
        ]
        if own:
            where = f"line {own[-1].lineno} of {own[-1].name}: {(own[-1].line or '').strip()}"
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
            if name not in self.calls:
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
    codes.update(f.__code__ for f in replacements.values() if hasattr(f, "__code__"))
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


def call_once(fn, args, kwargs, replacements, watch):
    """Call ``fn`` on copies with ``replacements`` bound in its module; what happened, as a dict."""
    args, kwargs = copy.deepcopy((args, kwargs))
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
        "args_after": wire.encode(tuple(args)),
        "kwargs_after": wire.encode(dict(kwargs)),
    }
    if error is not None:
        report["error"] = _error(error, watch.view_dir)
    else:
        report["outputs"] = wire.encode(result)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--sys-path", action="append", default=[])
    options = parser.parse_args(argv)
    channel = Channel(options.fd)
    with open(options.job, encoding="utf-8") as file:
        job = json.load(file)
    for path in reversed(options.sys_path):
        sys.path.insert(0, path)

    import numpy  # noqa: F401 - imported before any student code

    import rnn_ref  # the view: graded references are stubs

    view_dir = os.path.dirname(os.path.abspath(rnn_ref.__file__))
    _cache_codes()
    functions = []
    for entry in job["functions"]:
        with open(os.path.join(options.cases, entry["key"] + ".json"), encoding="utf-8") as file:
            cases = [
                (wire.decode(c["args"], named=_named), wire.decode(c["kwargs"], named=_named)) for c in json.load(file)
            ]
        references = {name: _reference(key) for name, key in entry.get("builds_on", {}).items()}
        functions.append((entry, cases, references))

    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "get_ipython": _NoShell}
    sys.stdout = sys.stderr = _Discard()
    skip = {int(index) for index in job.get("skip_cells", {})}
    send, start, end = channel.send, channel.start, channel.end
    send("ready")
    for cell in job["cells"]:
        index = int(cell["index"])
        if index in skip:
            continue
        start(kind="cell", index=index)
        error = None
        try:
            exec(_compile_cell(cell["source"], index), namespace)
        except BaseException as exc:  # the next cells still run, as in nbgrader
            error = _error(exc, view_dir)
        end(kind="cell", index=index, error=error)

    skip_functions = set(job.get("skip_functions", {}))
    for entry, cases, references in functions:
        name = entry["name"]
        if name in skip_functions:
            continue
        fn = namespace.get(name)
        if fn is None or not callable(fn):
            send("missing", function=name, type=type(fn).__name__ if fn is not None else None)
            continue
        attempts = [("reference", references)]
        if references and any(helper in namespace for helper in references):
            attempts.append(("own", {}))
        for number, (args, kwargs) in enumerate(cases):
            for attempt, replacements in attempts:
                start(kind="call", function=name, case=number, attempt=attempt)
                watch = CallWatch(view_dir, *_allowed(entry.get("allowed", []), replacements))
                try:
                    report = call_once(fn, args, kwargs, replacements, watch)
                except BaseException as exc:  # encoding a monstrous result, say
                    report = {"error": _error(exc, view_dir), "calls": [], "warnings": []}
                send("result", function=name, case=number, attempt=attempt, **report)
                end(kind="call", function=name, case=number, attempt=attempt)
    send("done")
    os._exit(0)  # threads the student started must not keep the sandbox alive


if __name__ == "__main__":
    main()
