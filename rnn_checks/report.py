"""The message of a failed grade: every failing case, the likely mistake, one term at a time.

The message is made from data: the failing cases and what the student's
function gave on them (:class:`rnn_checks.outcome.Run`).  Recognizing a
typical mistake runs the mistaken versions of the reference on the same
inputs, here; the runs of the student's function with one term at a time are
made by whoever ran the function (``rerun`` in the notebooks, the judge's
sandbox for the judge) and passed in.
"""

from __future__ import annotations

import copy
import re
import textwrap
import warnings

from . import mistakes
from .cases import isolated_cases
from .compare import outputs_close
from .mistakes import Hint

_MAX_DETAILED_CASES = 2  # cases reported line by line; the others get one line each
_MAX_LINES_PER_CASE = 4
_MAX_RECOGNIZED = 4  # failing cases given to the recognizers of typical mistakes: enough, and each costs runs

# `nbgrader validate` prints every line of an error after a 4-space indent and cuts it past 87 characters
# (nbgrader.validator.Validator: width 90, `line[:width - 3] + "..."`): lines of 83 characters at most keep
# everything, the "got" values included. The first line follows "GradingFailure: " in the traceback.
LINE_WIDTH = 83
HEADLINE_WIDTH = LINE_WIDTH - len("GradingFailure: ")
_KEEP = "\u00a0"  # a space that wrapping does not break at (inside "(expected ..., got ...)")


def fit(lines, width=LINE_WIDTH, headline_width=HEADLINE_WIDTH):
    """``lines`` wrapped to ``width`` characters (the first to ``headline_width``), as one string.

    A wrapped line keeps its indent, and its continuation is indented two more columns (under a
    ``*`` bullet, its text); words are never cut, and ``(expected ..., got ...)`` stays on one line.
    """
    out = []
    for number, line in enumerate(lines):
        limit = headline_width if number == 0 else width
        if len(line) <= limit:
            out.append(line.replace(_KEEP, " "))
            continue
        indent = len(line) - len(line.lstrip(" "))
        more = 2  # under "  * ", the text of the bullet
        wrapped = textwrap.wrap(
            line.strip(),
            width=limit,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + more),
            break_long_words=False,
            break_on_hyphens=False,
        )
        out += [piece.replace(_KEEP, " ") for piece in wrapped]
    return "\n".join(out)


def calls_message(name, spec, calls):
    allowed = [key for key in spec.allowed if not key.startswith("gradcheck")]
    return fit(
        [
            f"{name} calls {', '.join(calls)}, from the reference implementation.",
            "The grade compares your code with rnn_ref, so a function that calls it earns nothing: write this "
            "computation yourself. From rnn_ref you may call sigmoid and tanh (rnn_ref.activations)"
            + (f" and {', '.join('rnn_ref.' + k for k in allowed)}." if allowed else "."),
        ]
    )


class Report:
    """Collects the failing cases of one function and writes the message.

    Parameters
    ----------
    name : str
        The student's name of the function.
    spec : rnn_checks.specs.Spec
    hidden : bool
        Graded cases: no values in the message.
    rerun : callable, optional
        ``rerun(case) -> Run``: the student's function on another case (for one term at a time).
    isolations : list of (str, bool), optional
        Instead of ``rerun``: the label of each one-term-at-a-time run and whether it was right.
    """

    def __init__(self, name, spec, hidden, rerun=None, isolations=None):
        self.name, self.spec, self.hidden = name, spec, hidden
        self._rerun, self._isolations = rerun, isolations
        self.failures = []  # (case, run, expected)
        self._likely = None
        self._n_cases = None  # how many cases ran (for "every case"), set by text()

    def add_failure(self, case, run, expected):
        self.failures.append((case, run, expected))
        self._likely = None

    def text(self, n_cases, example=False, n_failing=None):
        """The whole message, wrapped to :data:`LINE_WIDTH` (``n_failing``: when more cases failed than were added)."""
        if example:
            lines = [f"{self.name} does not give the values worked out by hand in the example."]
        else:
            kind = "graded" if self.hidden else "random"
            failing = len(self.failures) if n_failing is None else n_failing
            lines = [f"{self.name} does not match the reference: {failing} of {n_cases} {kind} cases fail."]
        self._n_cases = n_cases
        hints, recognized = self.likely_mistakes()
        if hints:
            lines += ["", "Likely mistake:"] + [f"  * {hint.text}" for hint in hints]
        lines += ["", "What differs:"]
        lines += self.case_lines()
        if not recognized:
            lines += self.isolation_lines()
        if self.hidden:
            lines += ["", "(Graded tests do not show input or expected values; the visible tests above do.)"]
        return fit(lines)

    def case_lines(self):
        lines, errors = [], {}
        for number, (case, run, _) in enumerate(self.failures, 1):
            if run.error is not None:  # identical errors are reported once
                text = f"{run.error.type}: {run.error.message}"
                errors.setdefault((text, run.where), []).append(case.label)
                continue
            mutated = [f"{path} modified in place" for path in run.mutated]
            if number > _MAX_DETAILED_CASES:
                differ = [f"{label} differs" for label in dict.fromkeys(p.label for p in run.problems)]
                lines.append(f"  Case {case.label}: {', '.join(differ + mutated)}")
                continue
            lines.append("  In the example:" if case.label == "example" else f"  Case {case.label}:")
            details = [p.detail + self._values(p) for p in run.problems]
            if len(details) > _MAX_LINES_PER_CASE:
                more = len(details) - _MAX_LINES_PER_CASE + 1
                details = details[: _MAX_LINES_PER_CASE - 1] + [f"... and {more} more outputs differ"]
            lines += [f"    {text}" for text in details + mutated]
            lines += [f"    NumPy warned: {note}" for note in run.warnings]
        for (text, where), labels in errors.items():
            if len(labels) == len(self.failures) == (self._n_cases or len(self.failures)):
                cases = "every case"
            else:  # name them: what they share (a variant, a size) is often the clue
                shown = "; ".join(labels[:3]) + (f"; and {len(labels) - 3} more" if len(labels) > 3 else "")
                cases = f"{len(labels)} case{'s' if len(labels) > 1 else ''} ({shown})"
            lines.append(f"  In {cases}, {self.name} raised {text}")
            if where:
                lines.append(f"    at {where}")
            hint = mistakes.error_hint(text, self.spec)
            if hint:
                lines.append(f"    Hint: {hint.text}")
        return lines

    def _values(self, problem):
        """`` (expected 0.5, got 0.25)``, unbreakable, in visible tests; "" in graded ones."""
        if not problem.values or self.hidden:
            return ""
        return " " + f"({problem.values})".replace(" ", _KEEP)

    def likely_mistakes(self):
        """``(hints, recognized)``: :class:`~rnn_checks.mistakes.Hint` s to show, and whether a mistake was named."""
        if self._likely is None:
            self._likely = self._find_likely_mistakes()
        return self._likely

    def _find_likely_mistakes(self):
        hints = []
        errors = [run.error for _, run, _ in self.failures if run.error is not None]
        if errors and all(e.is_a("NotImplementedError") for e in errors):
            text = f"{self.name} is not written yet: replace `raise NotImplementedError(...)` with your code."
            return [Hint("not-written", text)], True
        overflow = mistakes.overflow_hint(
            self.spec, [(e, run) for _, run, e in self.failures if run.outputs is not None]
        )
        matches, by_id = {}, {}
        evaluated = 0
        for case, run, _ in self._value_failures()[:_MAX_RECOGNIZED]:
            evaluated += 1
            for mistake in mistakes.for_key(self.spec.key):
                if self._matches(mistake, case, run):
                    matches[mistake.id] = matches.get(mistake.id, 0) + 1
                    by_id[mistake.id] = mistake
        if evaluated and not matches and overflow is None:  # two mistakes at once?
            for mistake in mistakes.pairs_for_key(self.spec.key):
                if all(self._matches(mistake, case, run) for case, run, _ in self._value_failures()[:3]):
                    matches[mistake.id] = evaluated
                    by_id[mistake.id] = mistake
                    break
        for ident, count in sorted(matches.items(), key=lambda item: -item[1]):
            if count * 2 >= evaluated:
                suffix = "" if count == evaluated else f" (in {count} of {evaluated} failing cases)"
                hints.append(Hint(ident, f"{by_id[ident].hint}: your outputs equal what that gives{suffix}"))
        if overflow is not None:
            hints.insert(0, overflow)
        recognized = bool(hints)
        if not hints:
            hints += self._output_hints()
        mutated = sorted({path for _, run, _ in self.failures for path in run.mutated})
        if mutated:
            text = (
                f"{self.name} modifies its argument {', '.join(mutated)} in place (`+=`, `*=` or `[...] =` on an "
                f"argument changes the caller's array): {_fix_for(mutated[0])}"
            )
            hints.append(Hint("modifies-argument", text))
        return hints[:4], recognized

    def mistakes(self):
        """The recognized mistakes as data: one :class:`~rnn_checks.mistakes.Hint` per mistake (a pair gives two).

        The likely mistakes of the message and the hints for the exceptions raised; without the
        "what differs" of each case.
        """
        found = []
        catalogue = {m.id: m for m in mistakes.for_key(self.spec.key)}
        for hint in self.likely_mistakes()[0]:
            parts = hint.id.split("+")
            if len(parts) > 1 and all(part in catalogue for part in parts):
                found += [Hint(part, catalogue[part].hint) for part in parts]
            else:
                found.append(hint)
        for _, run, _ in self.failures:
            if run.error is not None:
                hint = mistakes.error_hint(f"{run.error.type}: {run.error.message}", self.spec)
                if hint is not None:
                    found.append(hint)
        return list({hint.id: hint for hint in found}.values())

    def _value_failures(self):
        return [(case, run, e) for case, run, e in self.failures if any(p.kind == "value" for p in run.problems)]

    def _matches(self, mistake, case, run):
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = mistake.fn(*args, **kwargs)
        except Exception:  # a mistake that cannot run on these shapes does not match
            return False
        outputs = (result,) if len(self.spec.outputs) == 1 else tuple(result)
        return outputs_close(self.spec, outputs, run.outputs, case.dtype)

    def _output_hints(self):
        hints, by_label = [], {}
        for case, run, expected in self.failures:
            if run.outputs is None:
                continue
            named = dict(zip(self.spec.outputs, expected, strict=True))
            for p in run.problems:
                if p.kind == "value" and p.expected is not None and p.got is not None:
                    by_label.setdefault(p.label, []).append((p.expected, p.got))
                for hint in mistakes.output_hints(self.spec, p, named, case):
                    if hint not in hints:
                        hints.append(hint)
        for label, pairs in by_label.items():
            hint = mistakes.ratio_hint(label, pairs)
            if hint is not None and not any(h.text.startswith(f"{label} ") for h in hints):
                hints.append(hint)
        return hints

    def first_value_failure(self):
        """The case whose runs with one term at a time explain the failure (None when no output value differs)."""
        first = next(iter(self._value_failures()), None)
        return None if first is None else first[0]

    def isolation_lines(self):
        case = self.first_value_failure()
        if case is None or not self.spec.isolations:
            return []
        verdicts = self._isolations
        if verdicts is None and self._rerun is not None:
            verdicts = [(label, right(self._rerun(isolated))) for label, isolated in isolated_cases(self.spec, case)]
        if not verdicts:
            return []
        lines = [f"    {label}: {'right' if ok else 'wrong'}" for label, ok in verdicts]
        where = "the example" if case.label == "example" else f"case {case.label}"
        if not any(ok for _, ok in verdicts):
            return (
                ["", f"Run again with one term at a time ({where}), every run is wrong:"]
                + lines
                + ["  So the mistake is in what every term goes through: the activation, or what is done after it."]
            )
        if all(ok for _, ok in verdicts):
            return (
                ["", f"Run again with one term at a time ({where}), every run is right:"]
                + lines
                + [
                    "  So each term is right on its own, and what is wrong is how they are put together: "
                    "their combination (added, multiplied, in which order), or the state passed from one "
                    "step to the next (or the gradient carried back)."
                ]
            )
        return ["", f"Run again with one term at a time ({where}), to see which part is wrong:"] + lines


def right(run):
    """The verdict of a run with one term at a time: its outputs agree (modifying an argument is reported apart)."""
    return run.error is None and not run.problems


def _fix_for(path):
    """How not to modify the argument at ``path`` (``dh``, ``grads['W_x']``, ``cache.c``)."""
    root = re.split(r"[\[.]", path)[0]
    if path.startswith(f"{root}['"):
        return f"make new arrays instead, e.g. a new dict `{{key: value * coef for key, value in {root}.items()}}`"
    if path.startswith(f"{root}."):
        return f"{path} belongs to the forward pass: compute with it, and copy it (`.copy()`) before changing it"
    return f"work on a new array, e.g. `{root} = {root} + ...` or `{root}.copy()`"
