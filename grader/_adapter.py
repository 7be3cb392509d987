"""The judge's thin adapter over :mod:`rnn_ref.testing`: its comparisons and messages, with the judge's inputs.

:mod:`rnn_ref.testing` runs the student's function in its own process, which
the judge must never do.  Its pieces still serve: the specs say how to make
inputs and name outputs, ``_compare_all`` and ``_mutations`` compare, and
``_Report`` finds the likely mistake (from the student's *outputs*, by
running the typical mistakes on the same inputs in this process).  This
module reaches those pieces in one place, so that the judge breaks in one
place if they move.  The public functions that would replace it are proposed
in the grader's report (``testing.cases(key, hidden, seed)``,
``testing.judge(key, case, result, args_after)``, ``testing.explain(...)``).

What differs from :mod:`rnn_ref.testing`:

* the inputs come from a seed the student cannot know (``testing`` uses
  fixed seeds, so a notebook could carry a table of the expected outputs of
  the graded cases); the shapes, dtypes and variants are the same, visible
  and hidden together;
* the student's results arrive as data from the sandbox, and an exception
  arrives as its type name, message and line.
"""

from __future__ import annotations

import builtins
import inspect
import zlib

import numpy as np

from rnn_ref import _specs, testing

try:  # rnn_ref.testing in modules: cases, comparisons, the student's run, the report
    from rnn_ref import _cases, _compare, _report, _student
except ImportError:  # rnn_ref.testing in one module, with private names
    _cases = _compare = _report = _student = None

SPECS = _specs.SPECS
ALWAYS_ALLOWED = tuple(_specs.ALWAYS_ALLOWED)

if _student is not None:
    MACHINERY = tuple(sorted(_student.MACHINERY))
    Case, Run = _cases.Case, _student.Run
    VISIBLE_SHAPES, HIDDEN_SHAPES = _cases.VISIBLE_SHAPES, _cases.HIDDEN_SHAPES
    _spec_of, _reference_outputs = _cases.spec_of, _cases.reference_outputs
    _reference_function, _as_outputs = _student.reference_function, _student.as_outputs
    _mutations_of, _argument_names = _student._mutations, _student._argument_names
    _compare_all = _compare.compare_all
    _Report, _calls_message = _report.Report, _report.calls_message
else:
    MACHINERY = tuple(sorted(testing._MACHINERY))
    Case, Run = testing.Case, testing.Run
    VISIBLE_SHAPES, HIDDEN_SHAPES = testing.VISIBLE_SHAPES, testing.HIDDEN_SHAPES
    _spec_of, _reference_outputs = testing._spec_of, testing._reference_outputs
    _reference_function, _as_outputs = testing._reference_function, testing._as_outputs
    _mutations_of, _argument_names = testing._mutations, testing._argument_names
    _compare_all = testing._compare_all
    _Report, _calls_message = testing._Report, testing._calls_message


def spec(key):
    """The spec of a reference key; ValueError (with testing's message) for an unknown key."""
    return _spec_of(key)


def locate(key):
    """``"module.name"`` of the file that defines ``key`` (``"extras.output_layer"`` -> ``"_extras.output_layer"``)."""
    if key in SPECS:
        reference = SPECS[key].reference
        return f"{reference.__module__.split('.', 1)[1]}.{reference.__name__}"
    module, _, name = key.partition(".")
    if name == "*":
        return key
    try:
        reference = _reference_function(key)
    except (ImportError, AttributeError):
        return key
    return f"{reference.__module__.split('.', 1)[1]}.{reference.__name__}"


def allowed(key):
    """What the graded function may call, located (``ALWAYS_ALLOWED`` and the spec's ``allowed``)."""
    return tuple(locate(k) for k in ALWAYS_ALLOWED + tuple(spec(key).allowed))


def builds_on(key):
    """Helper name in the notebook -> located reference, bound while ``key`` is graded."""
    return {name: locate(k) for name, k in spec(key).builds_on.items()}


def available(key):
    """Everything a view for ``key`` must keep working (the seeds of :mod:`grader.views`)."""
    return tuple(sorted(set(allowed(key)) | set(builds_on(key).values())))


def cases(key, seed):
    """Visible and hidden shapes, every variant, with inputs drawn from ``seed`` (see the module docstring)."""
    the_spec = spec(key)
    made = []
    for hidden, shapes in ((0, VISIBLE_SHAPES), (1, HIDDEN_SHAPES)):
        for i, (dims, dtype) in enumerate(shapes):
            for j, variant in enumerate(the_spec.variants):
                rng = np.random.default_rng([seed, zlib.crc32(key.encode()), hidden, i, j])
                args, kwargs = the_spec.make(rng, dims, dtype, variant)
                sizes = ", ".join(f"{letter}={dims[letter]}" for letter in the_spec.uses)
                extra = "".join(f", {k}={v}" for k, v in variant.items())
                made.append(Case(f"{sizes}, {np.dtype(dtype).name}{extra}", args, kwargs, dtype))
    return made


def reference_outputs(key, case):
    return _reference_outputs(spec(key), case)


def exception(type_name, builtin_base, message):
    """An exception object with the student's type name (only for messages: never raised)."""
    base = getattr(builtins, str(builtin_base), Exception)
    if not (isinstance(base, type) and issubclass(base, BaseException)):
        base = Exception
    if type_name == getattr(base, "__name__", None):
        cls = base
    else:
        name = type_name if str(type_name).isidentifier() else "Error"
        cls = type(name, (base,), {})
    try:
        return cls(message)
    except Exception:  # exceptions whose constructor wants more (UnicodeDecodeError)
        return type(cls.__name__, (Exception,), {})(message)


def run_of(key, name, case, expected, attempt):
    """A :class:`testing.Run` from one attempt reported by the sandbox (already decoded)."""
    the_spec = spec(key)
    calls = tuple(attempt.get("calls") or ())
    warnings = tuple(attempt.get("warnings") or ())
    mutated = ()
    if "args_after" in attempt:
        pristine = tuple(case.args) + tuple(case.kwargs.values())
        given = tuple(attempt["args_after"]) + tuple(attempt.get("kwargs_after", {}).values())
        if len(given) == len(pristine):
            mutated = _mutations(the_spec, case, pristine, given)
    error = attempt.get("error")
    if error is not None:
        exc = exception(error.get("type"), error.get("builtin_base"), error.get("message", ""))
        return Run(None, exc, error.get("where", ""), calls, mutated, warnings, [])
    outputs, problem = _as_outputs(the_spec, attempt.get("outputs"), name)
    problems = [problem] if problem else []
    if problem is None:
        problems = _compare_all(the_spec, expected, outputs, case.dtype)
    return Run(outputs, None, "", calls, mutated, warnings, problems)


def _mutations(the_spec, case, pristine, given):
    """Paths of the arguments that changed (named as rnn_ref.testing names them)."""
    if list(inspect.signature(_mutations_of).parameters)[0] == "spec":  # an earlier version took the spec
        return _mutations_of(the_spec, pristine, given)
    names = _argument_names(the_spec, case.args) + list(case.kwargs)
    return _mutations_of(names, pristine, given)


def choose(runs):
    """The run that counts among the attempts of one case, as ``testing._run_case`` chooses it."""
    first = None
    for run in runs:
        if run.calls:
            return run
        if run.error is None and not run.problems and not run.mutated:
            return run
        first = first or run
    return first


def calls_message(key, name, calls):
    return _calls_message(name, spec(key), calls)


def explain(key, name, failures, n_cases):
    """The message of a failing function: the headline, the likely mistake, what differs (no values).

    ``failures`` are ``(case, run, expected outputs)``.
    """
    report = _Report(None, name, spec(key), hidden=True)
    for case, run, expected in failures[:4]:  # enough to recognize a mistake; each costs reference runs
        report.add_failure(case, run, expected)
    lines = [f"{name} does not match the reference: {len(failures)} of {n_cases} graded cases fail."]
    found = report._likely_mistakes()
    hints = found[0] if isinstance(found, tuple) else found  # (hints, recognized) in newer versions
    if hints:
        lines += ["Likely mistake: " + "; ".join(hint.rstrip(".") for hint in hints) + "."]
    lines += [line.strip() for line in report._case_lines()[:6]]
    return "\n".join(lines)
