"""The second wall: the trusted judge, which gives the points of the test cells.

For every graded function of an assignment the judge draws inputs from a seed
the student cannot know, computes the reference outputs in its own process,
and sends only the inputs into the sandbox, where the student's cells run
against a view of :mod:`rnn_ref` that lacks the reference (see
:mod:`grader.views`) and a :mod:`rnn_checks` that does nothing.  The raw
return values come back as data, and the comparison, the mutation check and
the message are :mod:`rnn_checks`'s (its judge's API), run here.  A test cell earns its points when
every function it tests agrees with the reference on every case, as in
nbgrader, where one failing assertion costs the whole cell.

Functions are graded in groups that share a view (the same helpers and the
same allowed calls); each group is one sandboxed run.  A run that dies (a
cell that calls ``os._exit``, a function that loops) is started once more
without the cell or the function that killed it, so that the rest is graded.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import rnn_checks
import rnn_ref

from . import references
from .sandboxed import wire
from .views import CHECKS_STUB, ViewMaker

RNN_REF_DIR = Path(rnn_ref.__file__).resolve().parent
RNN_CHECKS_DIR = Path(rnn_checks.__file__).resolve().parent


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


def mount_points(package="rnn_ref"):
    """Every place inside the sandbox where ``import <package>`` could find it (``rnn_ref`` or ``rnn_checks``)."""
    import sys

    points = {str({"rnn_ref": RNN_REF_DIR, "rnn_checks": RNN_CHECKS_DIR}[package])}
    for entry in sys.path:
        candidate = Path(entry) / package
        if entry and candidate.is_dir() and str(Path(entry)).startswith(str(Path(sys.prefix).resolve())):
            points.add(str(candidate.resolve()))
    return sorted(points)


class Judge:
    """Grades the functions of one assignment for any number of students.

    Parameters
    ----------
    model : grader.course.AssignmentModel
    sandbox : grader.sandbox.Sandbox
    workdir : path
        Where views, inputs and jobs are written (readable by the sandbox user).
    seed : int
        The secret seed of the inputs.
    """

    def __init__(self, model, sandbox, workdir, seed):
        self.model, self.sandbox, self.seed = model, sandbox, seed
        self.workdir = Path(workdir)
        self.cases_dir = self.workdir / "cases"
        self.cases_dir.mkdir(parents=True, exist_ok=True)
        self.views = ViewMaker(RNN_REF_DIR, self.workdir / "views")
        self.cases, self.expected = {}, {}
        for function in model.functions:
            if function.key in self.cases:
                continue
            cases = rnn_checks.judge_cases(function.key, seed)
            self.cases[function.key] = cases
            self.expected[function.key] = [rnn_checks.expected_outputs(function.key, case) for case in cases]
            encoded = [{"args": wire.encode(tuple(c.args)), "kwargs": wire.encode(dict(c.kwargs))} for c in cases]
            (self.cases_dir / f"{function.key}.json").write_text(json.dumps(encoded), encoding="utf-8")
        self.groups = self._plan()
        self._deciding = threading.Lock()
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

    # --- one student ---------------------------------------------------------------------------------------

    def grade(self, notebook, cells, slot=0, skip_cells=None, labels=None):
        """Verdicts for the functions of ``notebook``, judged from the code ``cells`` of one submission.

        ``skip_cells`` maps cell indexes to the reason they are not run (they
        killed an earlier run); cells that kill a run here are added to it.
        Returns ``(verdicts, deaths)``.
        """
        skip_cells = dict(skip_cells or {})
        verdicts, deaths = [], []
        for group in self.groups:
            if group.notebook != notebook:
                continue
            group_verdicts, group_deaths = self._grade_group(group, cells, slot, skip_cells, labels)
            verdicts += group_verdicts
            deaths += group_deaths
            for death in group_deaths:
                if death.kind == "cell":
                    skip_cells[death.index] = death.failure
        return verdicts, deaths

    def _grade_group(self, group, cells, slot, skip_cells, labels):
        skip_cells = dict(skip_cells)
        skip_functions, deaths = {}, []
        result = None
        for _attempt in range(2):
            result = self._run(group, cells, slot, skip_cells, skip_functions)
            if result.completed:
                break
            death = _death_of(result)
            deaths.append(death)
            if death.kind == "cell":
                skip_cells[death.index] = death.failure
            elif death.kind == "call":
                skip_functions[death.function] = death.failure
            else:
                break
        reports, cell_errors, missing = _collect(result.events)
        verdicts = []
        with self._deciding:  # rnn_checks' diagnosis sets warning filters, which are global
            for function in group.functions:
                verdicts.append(
                    self._verdict(function, reports, cell_errors, missing, skip_functions, deaths, result, labels)
                )
        return verdicts, deaths

    def _run(self, group, cells, slot, skip_cells, skip_functions):
        job = {
            "cells": [{"index": c["index"], "source": c["source"]} for c in cells],
            "skip_cells": {str(k): v for k, v in skip_cells.items()},
            "skip_functions": dict(skip_functions),
            "functions": [
                {
                    "name": f.name,
                    "key": f.key,
                    "builds_on": references.builds_on(f.key),
                    "allowed": list(references.allowed(f.key)),
                }
                for f in group.functions
            ],
        }
        with tempfile.TemporaryDirectory(prefix="job-", dir=self.workdir) as job_dir:
            Path(job_dir, "job.json").write_text(json.dumps(job), encoding="utf-8")
            _make_readable(Path(job_dir))
            if self.sandbox.unsafe:
                args = ["--job", f"{job_dir}/job.json", "--cases", str(self.cases_dir)]
                return self.sandbox.run_script("run_judge.py", args, slot=slot, sys_path=[str(group.view.path.parent)])
            binds = [(job_dir, "/job"), (str(self.cases_dir), "/cases")]
            binds += [(str(group.view.path), point) for point in mount_points("rnn_ref")]
            binds += [(str(group.view.path.parent / CHECKS_STUB), point) for point in mount_points("rnn_checks")]
            return self.sandbox.run_script(
                "run_judge.py", ["--job", "/job/job.json", "--cases", "/cases"], binds=binds, slot=slot
            )

    def _verdict(self, function, reports, cell_errors, missing, skip_functions, deaths, result, labels):
        name, key = function.name, function.key
        cases, expected = self.cases[key], self.expected[key]

        def fail(reason):
            return Verdict(name, key, function.grade_id, False, reason, len(cases))

        if name in skip_functions:
            return fail(
                f"{name} stopped the grader: it {skip_functions[name]} (the other functions were graded without it)"
            )
        if name in missing:
            what = missing[name]
            if what:
                return fail(f"{name} is a {what}, not a function")
            errors = "; ".join(f"{_label(i, labels)} raised {e}" for i, e in cell_errors.items())
            return fail(f"{name} is not defined" + (f" ({errors})" if errors else " (was its cell run?)"))
        mine = reports.get(name, {})
        failures = []
        for number, case in enumerate(cases):
            attempts = [mine.get((number, attempt)) for attempt in ("reference", "own")]
            attempts = [a for a in attempts if a is not None]
            if not attempts:
                why = deaths[-1].failure if deaths else (result.failure or "no result was reported")
                return fail(f"{name} was not graded to the end: the sandbox {why}")
            runs = [self._run_of(key, name, case, expected[number], attempt) for attempt in attempts]
            run = rnn_checks.choose(runs)
            if run.calls:
                return fail(rnn_checks.calls_message(key, name, run.calls))
            if run.error is not None or run.problems or run.mutated:
                failures.append((case, run, expected[number]))
        if failures:
            verdict = fail(rnn_checks.explain(key, name, failures, len(cases)))
            verdict.mistakes = rnn_checks.mistakes_of(key, failures)  # issue 11: counted by the class report
            return verdict
        return Verdict(
            name, key, function.grade_id, True, f"agrees with the reference on {len(cases)} cases", len(cases)
        )

    def _run_of(self, key, name, case, expected, attempt):
        decoded = dict(attempt)
        try:
            budget = wire.Budget()
            if "outputs" in attempt:
                decoded["outputs"] = wire.decode(attempt["outputs"], budget)
            decoded["args_after"] = wire.decode(attempt.get("args_after", {"~": "tuple", "items": []}), budget)
            decoded["kwargs_after"] = wire.decode(
                attempt.get("kwargs_after", {"~": "dict", "keys": [], "values": []}), budget
            )
            if not isinstance(decoded["args_after"], tuple) or not isinstance(decoded["kwargs_after"], dict):
                raise wire.WireError("arguments are not a tuple and a dict")
        except wire.WireError as exc:
            decoded = {
                "error": {
                    "type": "ValueError",
                    "builtin_base": "ValueError",
                    "message": f"the grader cannot read what it returned: {exc}",
                }
            }
        if not isinstance(decoded.get("calls", []), list) or not all(
            isinstance(c, str) for c in decoded.get("calls", [])
        ):
            decoded["calls"] = []
        if not isinstance(decoded.get("warnings", []), list):
            decoded["warnings"] = []
        if decoded.get("error") is not None and not isinstance(decoded["error"], dict):
            decoded["error"] = {
                "type": "Exception",
                "builtin_base": "Exception",
                "message": str(decoded["error"])[:500],
            }
        return rnn_checks.run_of(key, name, case, expected, decoded)


def _collect(events):
    """From a judge run's events: results by function and (case, attempt), cell errors, missing functions."""
    reports, cell_errors, missing = {}, {}, {}
    for event in events:
        kind = event.get("event")
        if kind == "result":
            function, case, attempt = event.get("function"), event.get("case"), event.get("attempt")
            if isinstance(function, str) and isinstance(case, int) and attempt in ("reference", "own"):
                reports.setdefault(function, {})[(case, attempt)] = event
        elif kind == "end" and event.get("kind") == "cell" and isinstance(event.get("error"), dict):
            error = event["error"]
            if isinstance(event.get("index"), int):
                cell_errors[event["index"]] = f"{str(error.get('type'))[:60]}: {str(error.get('message'))[:200]}"
        elif kind == "missing" and isinstance(event.get("function"), str):
            what = event.get("type")
            missing[event["function"]] = str(what)[:60] if what else ""
    return reports, cell_errors, missing


def _death_of(result):
    active = result.active or {}
    kind = active.get("kind") if active.get("kind") in ("cell", "call") else ""
    index = active.get("index") if isinstance(active.get("index"), int) else None
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
