"""The instructor's report of a grading run: Markdown to read, CSV and JSON to process.

One row per student and test cell (the function it grades, the points, the
reason), then the submissions that need a human look: quarantined ones (with
the reason), those whose nbgrader cells had to be restored from the source,
those the static scan flagged, those whose sandbox was killed, those with code
similar to the reference's, the solution's or a classmate's
(:mod:`grader.similarity`; the pairs, side by side, in the section "Similar
code" and under ``similarity`` in the JSON), and any that the grader itself
failed on.

Much of what the report says comes from the student (their id, file names,
exception messages, texts of the sandbox's events): every such string goes
through :mod:`grader.text` before it is written, so that it shows as the text
it is, on one line, bounded, and cannot add a heading, a table row or a
``<!--`` to the Markdown, or a formula to the CSV.  Each file is written
whole or not at all (:func:`grader.files.write_atomic`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import similarity as _similarity
from .files import write_atomic
from .text import csv_field, markdown, plain

MAX_LISTED = 12  # items of one kind listed per student in the Markdown (the JSON keeps up to MAX_KEPT)
MAX_KEPT = 100


@dataclass
class Row:
    student: str
    notebook: str
    grade_id: str
    functions: str
    points: float | None
    max_points: float
    status: str  # "pass", "fail", "manual", "untrusted", "quarantined", "error"
    reason: str
    mistakes: list = field(default_factory=list)  # issue 11: the judge's recognized mistakes ({"id", "hint", ...})


@dataclass
class StudentSummary:
    student: str
    total: float
    max_total: float
    quarantined: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    restored: list = field(default_factory=list)  # nbgrader cells or flags the student changed, restored
    flags: list = field(default_factory=list)
    deaths: list = field(default_factory=list)
    error: str = ""
    feedback: str = ""  # why no feedback was made for this student, if none was
    seconds: float = 0.0
    similar: list = field(default_factory=list)  # code similar to another's (grader.similarity): a human look

    @property
    def needs_review(self):
        return bool(
            self.quarantined
            or self.restored
            or self.flags
            or self.deaths
            or self.error
            or self.feedback
            or self.similar
        )


@dataclass
class Report:
    assignment: str
    seed: int
    sandbox: str
    limits: dict
    rows: list = field(default_factory=list)
    students: list = field(default_factory=list)
    untrusted_cells: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # problems of the batch itself (not of one student)
    seconds: float = 0.0  # in all
    grading_seconds: float = 0.0  # before nbgrader's feedback
    similarity: dict = field(default_factory=dict)  # grader.similarity.result: the similar pairs, side by side

    def review(self):
        return [s for s in self.students if s.needs_review]

    def write(self, folder):
        """Write ``<assignment>.md``, ``.csv`` and ``.json`` into ``folder``; return their paths (Markdown first)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = plain(self.assignment, 200).replace("/", "_")
        paths = [folder / f"{stem}.md", folder / f"{stem}.csv", folder / f"{stem}.json"]
        texts = [self.markdown(), self.csv(), self.json()]  # all made before any file is touched
        for path, text in zip(paths, texts, strict=True):
            write_atomic(path, text)
        return paths

    def csv(self):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["student", "notebook", "grade_id", "functions", "points", "max_points", "status", "reason"])
        for row in self.rows:
            points = "" if row.points is None else f"{row.points:g}"
            text = [row.student, row.notebook, row.grade_id, row.functions]
            writer.writerow(
                [csv_field(t) for t in text]
                + [points, f"{row.max_points:g}", csv_field(row.status), csv_field(row.reason)]
            )
        return out.getvalue()

    def json(self):
        data = asdict(self)
        data["students"] = []
        for summary in self.students:
            entry = {
                name: value
                for name, value in asdict(summary).items()
                if name not in ("quarantined", "notes", "restored", "flags", "deaths")
            }
            for name in ("quarantined", "notes", "restored", "flags", "deaths"):
                items = [str(item) if not isinstance(item, str) else item for item in getattr(summary, name)]
                more = [f"... and {len(items) - MAX_KEPT} more"] if len(items) > MAX_KEPT else []
                entry[name] = items[:MAX_KEPT] + more
            entry["needs_review"] = summary.needs_review
            data["students"].append(entry)
        return json.dumps(_plain_strings(data), indent=1, ensure_ascii=False, default=str) + "\n"

    def markdown(self):
        md = markdown
        graded = [s for s in self.students if not s.quarantined and not s.error]
        lines = [
            f"# Grading report: {md(self.assignment)}",
            "",
            f"{len(self.students)} submissions: {len(graded)} graded, "
            f"{sum(1 for s in self.students if s.quarantined)} quarantined, {len(self.review())} to review. "
            f"Sandbox: {md(self.sandbox)}. Seed of the judge's inputs: {self.seed}. "
            f"Time: {self.grading_seconds:.1f} s grading, {self.seconds:.1f} s with the feedback.",
            "",
        ]
        if self.errors:
            lines += ["**The batch did not go as planned:**", ""]
            lines += [f"- {md(error, 2000)}" for error in self.errors[:MAX_KEPT]]
            lines.append("")
        if self.untrusted_cells:
            lines += [
                "**Untrusted test cells** (no `rnn_ref.testing` call the judge can repeat; their points come from "
                "the student's own kernel): " + ", ".join(f"{md(nb)}/{md(gid)}" for nb, gid in self.untrusted_cells),
                "",
            ]
        lines += ["## Needs a human look", ""]
        review = self.review()
        if not review:
            lines += ["Nothing.", ""]
        for summary in review:
            lines.append(f"- **{md(summary.student, 200)}**")
            lines += _listed("quarantined", summary.quarantined)
            lines += _listed("restored from the source", summary.restored)
            lines += _listed("sandbox", summary.deaths)
            lines += _listed("suspicious code", summary.flags)
            lines += _listed("similar code (see Similar code; no points taken)", summary.similar)
            if summary.error:
                lines.append(f"  - the grader failed on this submission: {md(summary.error)}")
            if summary.feedback:
                lines.append(f"  - no feedback: {md(summary.feedback)}")
        lines += ["", "## Totals", "", "| student | points | of | notes |", "| --- | ---: | ---: | --- |"]
        for summary in self.students:
            total = "quarantined" if summary.quarantined else "error" if summary.error else f"{summary.total:g}"
            notes = "; ".join(plain(note, 300) for note in summary.notes[:MAX_LISTED])
            if len(summary.notes) > MAX_LISTED:
                notes += f"; ... and {len(summary.notes) - MAX_LISTED} more"
            lines.append(f"| {md(summary.student, 200)} | {total} | {summary.max_total:g} | {md(notes, 2000)} |")
        lines += [
            "",
            "## Per student and function",
            "",
            "| student | test cell | function | points | of | reason |",
            "| --- | --- | --- | ---: | ---: | --- |",
        ]
        for row in self.rows:
            points = "" if row.points is None else f"{row.points:g}"
            lines.append(
                f"| {md(row.student, 200)} | {md(row.grade_id)} | {md(row.functions)} | {points} "
                f"| {row.max_points:g} | {md(row.reason)} |"
            )
        similar = _similarity.markdown(self.similarity)  # escaped there; code in fences, whose spacing counts
        if similar:
            lines += [""] + [plain(line, 2000, one_line=False) for line in similar]
        return "\n".join(lines) + "\n"


def _listed(what, items):
    lines = [f"  - {what}: {markdown(item)}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"  - ... and {len(items) - MAX_LISTED} more ({what})")
    return lines


def _plain_strings(value):
    """Parsed-JSON-like ``value`` with every string made printable (new lines kept) and bounded."""
    if isinstance(value, str):
        return plain(value, 4000, one_line=False)
    if isinstance(value, dict):
        return {plain(k, 200) if isinstance(k, str) else k: _plain_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_strings(v) for v in value]
    return value
