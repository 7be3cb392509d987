"""The second wall: the trusted judge, which gives the points of the test cells.

For every graded function of an assignment the judge draws inputs from a seed
the student cannot know and computes the reference outputs in its own
process.  The student's cells run in the sandbox against a view of
:mod:`rnn_ref` that lacks the reference (see :mod:`grader.views`) and a
:mod:`rnn_checks` that does nothing, in the notebook's order, and the judge
drives that run one step at a time (:mod:`grader.sandboxed.run_judge`): run
this cell; call this function on these inputs.  A function is called where its
test cell stands, before that cell runs, so that it is judged as it stood when
its own test ran in the notebook (its helpers too).  The raw return values
come back as data; the comparison, the mutation check and the message are
:mod:`rnn_checks`'s (its judge's API), run here.  A test cell earns its points
when every function it tests agrees with the reference on every case, as in
nbgrader, where one failing assertion costs the whole cell.

**Nothing from the sandbox is trusted.**  Every event is checked against what
the judge itself knows: it answers the step it handed out and nothing else,
with a size bounded by what that step can return; the inputs of a call
reach the sandbox only when the judge sends that call; what is kept per
student is the verdict of each case (the outputs of at most
``KEPT_FAILURES`` failing cases, for the message), never the events; and no
value made in one sandboxed run is input of another: the feedback run's
deaths are not passed here, and a run that dies is started once more
without the cell or the function that was running when it died, which the
judge knows from its own record of the step it had handed out.

**The work is the student's own.**  Besides the views, two measures:

* the automatic differentiation libraries installed beside the grader
  (``AUTODIFF_PACKAGES``: torch, JAX, ...) are hidden from the judge's
  sandbox (an empty directory is mounted over each);
* a function that returns gradients (``rnn_checks.timed_case``) is also
  called on a large *timed case*, once every other case agrees.  The judge
  times it from outside: from the moment it sends the call until the result
  arrives, and it must arrive within ``max(TIMED_FLOOR_SECONDS,
  TIMED_FACTOR x the reference's time)``, the reference being timed here,
  on the same case.  Backpropagation, even with loops over the batch, time
  or hidden units, stays well inside; numerical differentiation, one or two
  forward passes per input entry, takes orders of magnitude longer (see the
  instructors' page for the measured margins).  A timed call is stopped
  after ``TIMED_KILL_FACTOR`` times its budget.

Functions are graded in groups that share a view (the same helpers and the
same allowed calls); each group is one sandboxed run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import rnn_checks
import rnn_ref

from . import references
from .sandbox import CONTROL_LINE_BYTES, PACKAGES_MOUNT
from .sandboxed import wire
from .views import CHECKS_STUB, ViewMaker

RNN_REF_DIR = Path(rnn_ref.__file__).resolve().parent
RNN_CHECKS_DIR = Path(rnn_checks.__file__).resolve().parent

TIMED_FLOOR_SECONDS = 3.0
TIMED_FACTOR = 200.0
TIMED_KILL_FACTOR = 2.0
KEPT_FAILURES = 4  # failing cases whose outputs are kept for the message (rnn_checks.explain reads 4)
AUTODIFF_PACKAGES = (
    "torch",
    "functorch",
    "jax",
    "jaxlib",
    "tensorflow",
    "keras",
    "autograd",
    "mxnet",
    "theano",
    "aesara",
    "pytensor",
    "tinygrad",
    "mlx",
    "chainer",
    "paddle",
)
_KEPT_CELL_ERRORS = 10


@dataclass
class Verdict:
    """The judge's decision on one function."""

    function: str
    key: str
    grade_id: str
    passed: bool
    reason: str
    n_cases: int = 0
    # issue 11: the recognized mistakes of a failing function, as data ({"id", "hint", "section"}), for the
    # class report (rnn_checks.mistakes_of)
    mistakes: list = field(default_factory=list)


@dataclass
class Death:
    """A run that ended early: where, and why."""

    kind: str  # "cell" or "call" (or "" when it was neither)
    index: int | None
    function: str | None
    failure: str

    def where(self, cells_by_index=None):
        if self.kind == "cell":
            label = (cells_by_index or {}).get(self.index, "")
            return f"cell {self.index}{f' ({label})' if label else ''}"
        if self.kind == "call":
            return f"a call of {self.function}"
        return "the grader's runner"


@dataclass
class _Group:
    notebook: str
    view: object
    functions: list = field(default_factory=list)


@dataclass
class _Prepared:
    """One call's inputs, encoded once for every student, and the bounds of its answer."""

    case: object  # rnn_checks.Case
    expected: tuple
    args: str  # JSON of the wire encoding
    kwargs: str
    answer_bytes: int  # the longest answer accepted


def _prepare(case, expected):
    args = json.dumps(wire.encode(tuple(case.args)))
    kwargs = json.dumps(wire.encode(dict(case.kwargs)))
    outputs = len(json.dumps(wire.encode(tuple(expected))))
    # the outputs (float64 where float32 is expected, say) and the arguments, if the call changed them
    return _Prepared(case, expected, args, kwargs, 4 * (len(args) + len(kwargs) + outputs) + 64 * 1024)


@dataclass
class _Timed:
    """The timed case of a function that returns gradients, and its budget."""

    prepared: _Prepared
    reference_seconds: float
    budget: float


def mount_points(package="rnn_ref"):
    """Every place inside the sandbox where ``import <package>`` could find it (``rnn_ref`` or ``rnn_checks``).

    First the fixed place, first on the runners' ``sys.path`` (``PACKAGES_MOUNT``): the import works there
    whatever the layout of the installation (a venv outside the course, an editable install made elsewhere,
    the course found through the working directory).  Then the package's own folder and every folder of
    this process's ``sys.path`` that holds it, as found and with links resolved, so that no other route
    inside the sandbox (a site-packages copy, an editable finder's mapping) leads to the real package.
    """
    host = {"rnn_ref": RNN_REF_DIR, "rnn_checks": RNN_CHECKS_DIR}[package]
    points = {str(host)}
    for folder in package_folders():
        candidate = Path(folder) / package
        if candidate.is_dir():
            points.update((str(candidate.absolute()), str(candidate.resolve())))
    return [f"{PACKAGES_MOUNT}/{package}", *sorted(points)]


def package_folders():
    """Every folder from which code inside the sandbox could import a package installed on this machine.

    This process's ``sys.path``, and the site- and dist-packages folders of every interpreter whose files the
    sandbox mounts (the base interpreter under a venv, ``/usr`` and ``/usr/local``): this process may not look
    there (a venv without system packages), but a student's ``sys.path.append`` can, so a copy of the
    reference or an autodiff library installed there (an instructor's ``pip install`` into the base Python)
    must be hidden as well.
    """
    import glob
    import sys

    folders = [entry or os.curdir for entry in sys.path]
    for root in dict.fromkeys((sys.base_prefix, sys.prefix, "/usr", "/usr/local")):
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"):
            folders += sorted(glob.glob(os.path.join(root, pattern)))
    return list(dict.fromkeys(folders))


def autodiff_locations(packages=AUTODIFF_PACKAGES):
    """Where the automatic differentiation libraries installed here live (folders or files; none is imported).

    Found as this process would import them, and in every folder of :func:`package_folders`.
    """
    found = []
    for name in packages:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        places = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
        found += [str(Path(place).resolve()) for place in places if Path(place).exists()]
    for folder in package_folders():  # copies this process does not import, that a student's sys.path could
        for name in packages:
            for place in (Path(folder) / name, Path(folder) / f"{name}.py"):
                if place.exists():
                    found.append(str(place.resolve()))
    return sorted(set(found))


def _inside(places, binds):
    """Where ``places`` (resolved host paths) appear inside the sandbox, through its read-only ``binds`` and /usr.

    A place no bind reaches is not importable there: nothing to hide (and no mount point to hide it on).
    """
    found = set()
    for place in map(Path, places):
        for source, destination in [*binds, ("/usr", "/usr")]:
            try:
                found.add(str(Path(destination) / place.relative_to(Path(source).resolve())))
            except ValueError:  # not under this bind
                continue
    return sorted(found)


def _time_reference(key, case, repeats=3):
    """The reference's outputs on ``case`` and its best time of ``repeats`` runs, in this process."""
    best, expected = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        expected = rnn_checks.expected_outputs(key, case)
        best = min(best, time.perf_counter() - start)
    return expected, best


class Judge:
    """Grades the functions of one assignment for any number of students.

    Parameters
    ----------
    model : grader.course.AssignmentModel
    sandbox : grader.sandbox.Sandbox
    workdir : path
        Where views and jobs are written (readable by the sandbox user).
    seed : int
        The secret seed of the inputs.
    """

    def __init__(self, model, sandbox, workdir, seed):
        self.model, self.sandbox, self.seed = model, sandbox, seed
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.views = ViewMaker(RNN_REF_DIR, self.workdir / "views")
        self.prepared, self.timed, self._isolated = {}, {}, {}
        for function in model.functions:
            key = function.key
            if key in self.prepared:
                continue
            cases = rnn_checks.judge_cases(key, seed)
            self.prepared[key] = [_prepare(case, rnn_checks.expected_outputs(key, case)) for case in cases]
            timed = rnn_checks.timed_case(key, seed)
            if timed is not None:
                expected, seconds = _time_reference(key, timed)
                budget = max(TIMED_FLOOR_SECONDS, TIMED_FACTOR * seconds)
                self.timed[key] = _Timed(_prepare(timed, expected), seconds, budget)
        self.groups = self._plan()
        self._deciding = threading.Lock()
        self.hidden = [] if sandbox.unsafe else _inside(autodiff_locations(), sandbox.python_binds())
        self._empty = self.workdir / "hidden"
        self._empty.mkdir(exist_ok=True)
        (self.workdir / "hidden-file").write_text("")
        _make_readable(self.workdir)

    def _plan(self):
        groups = {}
        for function in self.model.functions:
            available = references.available(function.key)
            key = (function.notebook, available)
            groups.setdefault(key, []).append(function)
        planned = []
        for (notebook, available), functions in groups.items():
            stubs = sorted({references.locate(f.key) for f in functions})
            planned.append(_Group(notebook, self.views.view(available, stubs), functions))
        return planned

    def isolated(self, key, number):
        """``[(label, _Prepared)]``: graded case ``number`` of ``key`` with one term at a time (cached)."""
        if (key, number) not in self._isolated:
            case = self.prepared[key][number].case
            self._isolated[(key, number)] = [
                (label, _prepare(isolated, rnn_checks.expected_outputs(key, isolated)))
                for label, isolated in rnn_checks.isolated_cases(key, case)
            ]
        return self._isolated[(key, number)]

    # --- one student ---------------------------------------------------------------------------------------

    def grade(self, notebook, cells, slot=0, labels=None):
        """Verdicts for the functions of ``notebook``, judged from the code ``cells`` of one submission.

        ``cells`` are :func:`grader.precheck.code_cells` of the prepared notebook.
        Returns ``(verdicts, deaths)``: the deaths of the judge's own runs.
        """
        verdicts, deaths = [], []
        for group in self.groups:
            if group.notebook != notebook:
                continue
            items = [_Item(self, function, number) for number, function in enumerate(group.functions)]
            deaths += self._judge_group(group, items, cells, slot)
            with self._deciding:  # rnn_checks' diagnosis sets warning filters, which are global
                verdicts += [item.verdict(labels) for item in items]
        return verdicts, deaths

    def _judge_group(self, group, items, cells, slot):
        skip_cells, deaths = {}, []
        for _attempt in range(2):
            conversation = _Conversation(self, items, cells, skip_cells)
            if conversation.nothing_to_do():
                break
            result = self._run(group, conversation, slot)
            for item in items:
                item.close(result.failure if not result.completed else "")
            if result.completed:
                break
            death = conversation.death(result.failure)
            deaths.append(death)
            if death.kind == "cell":
                skip_cells[death.index] = death.failure
            elif death.kind != "call":
                break
        return deaths

    def _run(self, group, conversation, slot):
        with tempfile.TemporaryDirectory(prefix="job-", dir=self.workdir) as job_dir:
            Path(job_dir, "job.json").write_text(json.dumps(conversation.job()), encoding="utf-8")
            _make_readable(Path(job_dir))
            if self.sandbox.unsafe:
                return self.sandbox.run_script(
                    "run_judge.py",
                    ["--job", f"{job_dir}/job.json"],
                    slot=slot,
                    sys_path=[str(group.view.path.parent)],
                    conversation=conversation,
                )
            binds = [(job_dir, "/job")]
            binds += [(str(group.view.path), point) for point in mount_points("rnn_ref")]
            binds += [(str(group.view.path.parent / CHECKS_STUB), point) for point in mount_points("rnn_checks")]
            binds += [
                (str(self._empty if Path(place).is_dir() else self.workdir / "hidden-file"), place)
                for place in self.hidden
            ]
            return self.sandbox.run_script(
                "run_judge.py", ["--job", "/job/job.json"], binds=binds, slot=slot, conversation=conversation
            )


class _Item:
    """One graded function of one student: the calls the judge makes, and what it keeps of their results."""

    def __init__(self, judge, function, number):
        self.judge, self.function, self.number = judge, function, number
        self.name, self.key = function.name, function.key
        self.prepared = judge.prepared[self.key]
        self.timed = judge.timed.get(self.key)
        self.outcomes = [None] * len(self.prepared)  # per case: True (passed) or the chosen Run
        self.phase, self.position, self.attempt, self.runs = "cases", 0, "reference", []
        self.isolations, self.isolation_cases = [], []
        self.timed_run, self.timed_seconds = None, None
        self.missing = None  # None, or the type of what the name holds ("" when undefined)
        self.calls = ()
        self.stopped, self.stopped_timed = "", False
        self.unfinished = ""  # why the sandbox did not let it finish
        self.cell_errors = {}

    @property
    def done(self):
        return self.phase == "done" or bool(self.stopped)

    # --- the calls ---------------------------------------------------------------------------------------------

    def current(self):
        """The ``_Prepared`` of the next call and whether it is timed; None when nothing is left."""
        if self.done:
            return None
        if self.phase == "cases":
            return self.prepared[self.position], False
        if self.phase == "timed":
            return self.timed.prepared, True
        return self.isolation_cases[self.position][1], False

    def answer(self, event, seconds):
        """Take the result of the current call (an event already known to answer it)."""
        if event.get("defined") is not True or "type" in event:  # not defined, or not a function
            what = event.get("type")
            self.missing = what[:60] if event.get("defined") is True and isinstance(what, str) else ""
            self.phase = "done"
            return
        prepared, timed = self.current()
        run = _run_of(self.key, self.name, prepared, event)
        self.runs.append((run, seconds))
        own = event.get("own_helpers") is True and self.attempt == "reference"
        in_time = not timed or seconds <= self.timed.budget
        if own and not run.calls and not (run.passed and in_time):
            self.attempt = "own"  # as in the notebook: the student's own helpers, when the reference's did not do
            return
        run, seconds = _choose(self.runs, self.timed.budget if timed else None)
        self.runs, self.attempt = [], "reference"
        if run.calls:
            self.calls, self.phase = run.calls, "done"
            return
        if self.phase == "cases":
            failing = sum(1 for o in self.outcomes if o is not None and o is not True)
            self.outcomes[self.position] = True if run.passed else run if failing < KEPT_FAILURES else _stripped(run)
            self.position += 1
            if self.position == len(self.prepared):
                self._after_cases()
        elif self.phase == "timed":  # its outputs are kept only when wrong (for the message)
            self.timed_run, self.timed_seconds = _stripped(run) if run.passed else run, seconds
            self.phase = "done"
        else:
            self.isolations.append((self.isolation_cases[self.position][0], rnn_checks.right(run)))
            self.position += 1
            if self.position == len(self.isolation_cases):
                self.phase = "done"

    def _after_cases(self):
        failures = self.failures()
        self.position = 0
        if failures:
            case = rnn_checks.explained_case(self.key, failures)
            number = next((i for i, p in enumerate(self.prepared) if p.case is case), None)
            self.isolation_cases = self.judge.isolated(self.key, number) if number is not None else []
            self.phase = "isolations" if self.isolation_cases else "done"
        else:
            self.phase = "timed" if self.timed is not None else "done"

    def failures(self):
        return [
            (p.case, outcome, p.expected)
            for p, outcome in zip(self.prepared, self.outcomes, strict=True)
            if outcome is not None and outcome is not True
        ]

    def close(self, failure):
        """The run ended; ``failure`` says why when it ended early."""
        if not self.done and failure:
            self.unfinished = failure
        self.runs, self.attempt = [], "reference"

    # --- the verdict -------------------------------------------------------------------------------------------

    def verdict(self, labels):
        name, key = self.name, self.key
        n_cases = len(self.prepared)

        def fail(reason):
            return Verdict(name, key, self.function.grade_id, False, reason, n_cases)

        failures = self.failures()
        if self.stopped and self.stopped_timed:
            return fail(self._slow_message(None))
        if self.stopped and failures:  # stopped while run with one term at a time: explained without it
            return self._explained(failures, n_cases)
        if self.stopped:
            return fail(f"{name} stopped the grader: it {self.stopped} (the other functions were graded without it)")
        if self.missing is not None:
            if self.missing:
                return fail(f"{name} is a {self.missing}, not a function")
            errors = "; ".join(f"{_label(i, labels)} raised {e}" for i, e in self.cell_errors.items())
            return fail(f"{name} is not defined" + (f" ({errors})" if errors else " (was its cell run?)"))
        if self.calls:
            return fail(rnn_checks.calls_message(key, name, self.calls))
        if self.phase != "done" and not (failures and self.phase == "isolations"):
            why = self.unfinished or "stopped before its test cell"
            return fail(f"{name} was not graded to the end: the sandbox {why}")
        if failures:
            return self._explained(failures, n_cases)
        if self.timed is not None:
            run = self.timed_run
            if not run.passed:
                return self._explained([(self.timed.prepared.case, run, self.timed.prepared.expected)], n_cases + 1)
            if self.timed_seconds > self.timed.budget:
                return fail(self._slow_message(self.timed_seconds))
            return Verdict(
                name,
                key,
                self.function.grade_id,
                True,
                f"agrees with the reference on {n_cases} cases, and on the timed case in "
                f"{self.timed_seconds:.2f} s (at most {self.timed.budget:.1f} s)",
                n_cases + 1,
            )
        agrees = f"agrees with the reference on {n_cases} cases"
        return Verdict(name, key, self.function.grade_id, True, agrees, n_cases)

    def _explained(self, failures, n_cases):
        """The Verdict of a function that fails on ``failures``: rnn_checks' message, and the mistakes recognized."""
        reason = rnn_checks.explain(self.key, self.name, failures, n_cases, isolations=self.isolations or None)
        verdict = Verdict(self.name, self.key, self.function.grade_id, False, reason, n_cases)
        verdict.mistakes = rnn_checks.mistakes_of(self.key, failures)  # issue 11: counted by the class report
        return verdict

    def _slow_message(self, seconds):
        timed = self.timed
        if seconds is not None:
            took = f"took {seconds:.1f} s"
        else:
            took = f"was stopped after {timed.budget * TIMED_KILL_FACTOR:.1f} s"
        return (
            f"{self.name} agrees with the reference on the {len(self.prepared)} graded cases, but {took} on the timed "
            f"case ({timed.prepared.case.label}), where at most {timed.budget:.1f} s are allowed: backpropagation "
            f"takes {1000 * timed.reference_seconds:.1f} ms there in rnn_ref, and even loops over the batch, time or "
            "hidden units stay well inside, while numerical differentiation (a forward pass per input entry) takes "
            "orders of magnitude longer. Compute the gradients with the chain rule."
        )


def _choose(runs, budget):
    """(run, seconds) that counts among the attempts ``[(run, seconds)]`` of one case, as ``rnn_checks.choose``;
    on the timed case (``budget`` given) a run passes only in time."""
    if budget is None:
        chosen = rnn_checks.choose([run for run, _ in runs])
        return next((run, seconds) for run, seconds in runs if run is chosen)
    for run, seconds in runs:
        if run.calls or (run.passed and seconds <= budget):
            return run, seconds
    return runs[0]


def _stripped(run):
    """A failing run without its arrays (its lines of message stay)."""
    problems = [p._replace(values="", expected=None, got=None) for p in run.problems]
    return run._replace(outputs=None, problems=problems)


def _text(value, limit):
    return value[:limit] if isinstance(value, str) else ""


def _run_of(key, name, prepared, event):
    """The rnn_checks Run of one result event, every field checked and bounded; (run, seconds) is made by the caller."""
    budget = wire.Budget(max_items=4 * prepared.answer_bytes, max_bytes=prepared.answer_bytes)
    result = {
        "calls": [_text(c, 200) for c in event.get("calls", [])[:20]] if isinstance(event.get("calls"), list) else [],
        "warnings": [_text(w, 500) for w in event.get("warnings", [])[:10]]
        if isinstance(event.get("warnings"), list)
        else [],
    }
    error = event.get("error")
    try:
        if "args_after" in event or "kwargs_after" in event:
            result["args_after"] = wire.decode(event.get("args_after"), budget)
            result["kwargs_after"] = wire.decode(event.get("kwargs_after"), budget)
            if not isinstance(result["args_after"], tuple) or not isinstance(result["kwargs_after"], dict):
                raise wire.WireError("the arguments after the call are not a tuple and a dict")
        if error is None:
            result["outputs"] = wire.decode(event.get("outputs"), budget)
    except wire.WireError as exc:
        error = {"type": "ValueError", "builtin_base": "ValueError", "message": f"the grader cannot read it: {exc}"}
    if error is not None:
        if not isinstance(error, dict):
            error = {"type": "Exception", "message": str(error)}
        result["error"] = {
            "type": _text(error.get("type"), 100) or "Exception",
            "builtin_base": _text(error.get("builtin_base"), 100) or "Exception",
            "message": _text(error.get("message"), 4000),
            "where": _text(error.get("where"), 600),
        }
    return rnn_checks.run_of(key, name, prepared.case, prepared.expected, result)


class _Conversation:
    """The judge's side of one sandboxed run of a group: the steps it hands out, and what it makes of the answers.

    It knows the plan (the cells in order, and the calls of each function where its test cell stands),
    hands out one step at a time, and accepts as an answer only a well-formed event for the step it
    handed out; everything else is ignored.  See :mod:`grader.sandbox` for how the events are read.
    """

    replies = True

    def __init__(self, judge, items, cells, skip_cells):
        self.judge, self.items, self.limits = judge, items, judge.sandbox.limits
        self.events = []  # nothing is kept: the items keep what they need
        self.step, self.outstanding, self.sent_at = 0, None, None
        self.active, self.finished, self.started = None, False, False
        self.deadline = time.monotonic() + self.limits.cell_seconds  # to say it is ready (no student code yet)
        self.cells = {c["index"]: c["source"] for c in cells}
        self.plan = self._plan(cells, skip_cells)
        self._queue = iter(self.plan)
        self._item = None

    def _plan(self, cells, skip_cells):
        tested_at = {}
        test_cells = {c["grade_id"]: c["index"] for c in cells if c.get("role") == "test"}
        for item in self.items:
            index = test_cells.get(item.function.grade_id)
            if index is None:  # precheck quarantines such a submission: never here
                item.unfinished = "found no test cell for it"
                continue
            if not item.done:
                tested_at.setdefault(index, []).append(item)
        plan, last = [], max(tested_at, default=-1)
        for cell in cells:
            index = cell["index"]
            if index > last:
                break
            for item in tested_at.get(index, []):
                plan.append(("item", item))
            if index < last and index not in skip_cells:
                plan.append(("cell", index))
        return plan

    def nothing_to_do(self):
        return not any(kind == "item" for kind, _ in self.plan)

    def job(self):
        last = max((value for kind, value in self.plan if kind == "cell"), default=-1)
        return {
            "cells": {str(i): source for i, source in self.cells.items() if i <= last},
            "items": [
                {
                    "name": item.name,
                    "key": item.key,
                    "builds_on": references.builds_on(item.key),
                    "conventions": references.conventions(item.key),
                    "allowed": list(references.allowed(item.key)),
                }
                for item in self.items
            ],
        }

    # --- the sandbox's side (grader.sandbox reads the pipe and calls these) ----------------------------------

    def line_limit(self):
        if self.outstanding is not None and self.outstanding[0] == "call":
            return max(CONTROL_LINE_BYTES, self.outstanding[2].answer_bytes)
        return CONTROL_LINE_BYTES

    def receive(self, event, now):
        kind, step = event.get("event"), event.get("step")
        if kind == "ready" and not self.started:
            self.started = True
            return self._advance(now), True
        if self.outstanding is None or step != self.step or isinstance(step, bool):
            return b"", False
        if self.outstanding[0] == "cell" and kind == "cell_done":
            error = event.get("error")
            if isinstance(error, dict):
                text = f"{_text(error.get('type'), 60)}: {_text(error.get('message'), 200)}"
                for item in self.items:
                    if len(item.cell_errors) < _KEPT_CELL_ERRORS:
                        item.cell_errors[self.outstanding[1]] = text
            return self._advance(now), True
        if self.outstanding[0] == "call" and kind == "result":
            try:
                self.outstanding[1].answer(event, now - self.sent_at)
            except Exception as exc:  # well-formed JSON that no comparison can read: an unreadable answer
                error = {"type": "ValueError", "message": f"the grader cannot read it: {type(exc).__name__}"}
                self.outstanding[1].answer({"defined": True, "error": error}, now - self.sent_at)
            return self._advance(now), True
        return b"", False

    def rejected(self, reason, now):
        """A line that could not be read: when a call is outstanding, it is taken as that call's (unreadable) answer."""
        if self.outstanding is None or self.outstanding[0] != "call" or not reason.startswith("a line longer"):
            return b""
        error = {"type": "ValueError", "builtin_base": "ValueError", "message": f"the grader cannot read it: {reason}"}
        self.outstanding[1].answer({"defined": True, "error": error}, now - self.sent_at)
        return self._advance(now)

    def timeout_failure(self):
        if self.outstanding is not None and self.outstanding[0] == "call" and self.outstanding[3]:
            return "ran longer than its time on the timed case"
        return f"ran longer than {self.limits.cell_seconds:g} s (wall clock)"

    # --- the plan ---------------------------------------------------------------------------------------------

    def _advance(self, now):
        """The next step, as the bytes to send (and its deadline set); "stop" at the end of the plan."""
        while True:
            if self._item is not None:
                current = self._item.current()
                if current is not None:
                    return self._send_call(self._item, *current, now)
                self._item = None
            entry = next(self._queue, None)
            if entry is None:
                self.outstanding, self.active, self.deadline, self.finished = None, None, None, True
                return b'{"do": "stop"}\n'
            kind, value = entry
            if kind == "item":
                self._item = value
                continue
            self.step += 1
            self.outstanding, self.sent_at = ("cell", value), now
            self.active = {"kind": "cell", "index": value}
            self.deadline = now + self.limits.cell_seconds
            return (json.dumps({"do": "cell", "step": self.step, "index": value}) + "\n").encode("ascii")

    def _send_call(self, item, prepared, timed, now):
        self.step += 1
        self.outstanding, self.sent_at = ("call", item, prepared, timed), now
        self.active = {"kind": "call", "function": item.name}
        seconds = self.limits.cell_seconds
        if timed:
            seconds = min(seconds, TIMED_KILL_FACTOR * item.timed.budget)
        self.deadline = now + seconds
        head = json.dumps({"do": "call", "step": self.step, "item": item.number, "attempt": item.attempt})
        return f'{head[:-1]}, "args": {prepared.args}, "kwargs": {prepared.kwargs}}}\n'.encode("ascii")

    def death(self, failure):
        """The Death of a run that ended early, from the step the judge had handed out."""
        if self.outstanding is None:
            return Death("", None, None, failure)
        if self.outstanding[0] == "cell":
            return Death("cell", self.outstanding[1], None, failure)
        item = self.outstanding[1]
        item.stopped, item.stopped_timed = failure, self.outstanding[3]
        return Death("call", None, item.name, failure)


def _death_of(result, known_cells=None):
    """The Death of a feedback run (its runner pushes start and end events, kept by a Recorder).

    Those events may be forged: an index not in ``known_cells`` (when given) is no cell's.
    """
    active = result.active or {}
    kind = active.get("kind") if active.get("kind") in ("cell", "call") else ""
    index = active.get("index") if isinstance(active.get("index"), int) else None
    if known_cells is not None and index not in known_cells:
        index = None
    function = active.get("function") if isinstance(active.get("function"), str) else None
    if kind == "cell" and index is None or kind == "call" and function is None:
        kind = ""
    return Death(kind, index, function, result.failure)


def _label(index, labels):
    label = (labels or {}).get(index)
    return f"cell {index}" + (f" ({label})" if label else "")


def _make_readable(path):
    """Directories 0755 and files 0644, so that the sandbox's unprivileged user can read them."""
    for directory, _subdirs, files in os.walk(path):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
