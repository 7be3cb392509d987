"""The instructor's report of a grading run: Markdown to read, CSV and JSON to process.

One row per student and test cell (the function it grades, the points, the
reason), then the submissions that need a human look: quarantined ones (with
the reason), those the static scan flagged, those whose sandbox was killed,
those with code similar to the reference's, the solution's or a classmate's
(:mod:`grader.similarity`; the pairs, side by side, in the section "Similar
code" and under ``similarity`` in the JSON), and any that the grader itself
failed on.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import similarity as _similarity


@dataclass
class Row:
    student: str
    notebook: str
    grade_id: str
    functions: str
    points: float | None
    max_points: float
    status: str  # "pass", "fail", "manual", "untrusted", "quarantined"
    reason: str
    mistakes: list = field(default_factory=list)  # issue 11: the judge's recognized mistakes ({"id", "hint", ...})


@dataclass
class StudentSummary:
    student: str
    total: float
    max_total: float
    quarantined: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    deaths: list = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    similar: list = field(default_factory=list)  # code similar to another's (grader.similarity): a human look

    @property
    def needs_review(self):
        return bool(self.quarantined or self.flags or self.deaths or self.error or self.similar)


@dataclass
class Report:
    assignment: str
    seed: int
    sandbox: str
    limits: dict
    rows: list = field(default_factory=list)
    students: list = field(default_factory=list)
    untrusted_cells: list = field(default_factory=list)
    seconds: float = 0.0  # in all
    grading_seconds: float = 0.0  # before nbgrader's feedback
    similarity: dict = field(default_factory=dict)  # grader.similarity.result: the similar pairs, side by side

    def review(self):
        return [s for s in self.students if s.needs_review]

    def write(self, folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / self.assignment
        with open(f"{stem}.csv", "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(
                ["student", "notebook", "grade_id", "functions", "points", "max_points", "status", "reason"]
            )
            for row in self.rows:
                points = "" if row.points is None else f"{row.points:g}"
                writer.writerow(
                    [
                        row.student,
                        row.notebook,
                        row.grade_id,
                        row.functions,
                        points,
                        f"{row.max_points:g}",
                        row.status,
                        row.reason,
                    ]
                )
        data = asdict(self)
        for student, summary in zip(data["students"], self.students, strict=True):
            student["needs_review"] = summary.needs_review
            student["flags"] = [str(flag) for flag in summary.flags]
        Path(f"{stem}.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        Path(f"{stem}.md").write_text(self.markdown(), encoding="utf-8")
        return [Path(f"{stem}.md"), Path(f"{stem}.csv"), Path(f"{stem}.json")]

    def markdown(self):
        graded = [s for s in self.students if not s.quarantined and not s.error]
        lines = [
            f"# Grading report: {self.assignment}",
            "",
            f"{len(self.students)} submissions: {len(graded)} graded, "
            f"{sum(1 for s in self.students if s.quarantined)} quarantined, {len(self.review())} to review. "
            f"Sandbox: {self.sandbox}. Seed of the judge's inputs: {self.seed}. "
            f"Time: {self.grading_seconds:.1f} s grading, {self.seconds:.1f} s with the feedback.",
            "",
        ]
        if self.untrusted_cells:
            lines += [
                "**Untrusted test cells** (no `rnn_ref.testing` call the judge can repeat; their points come from "
                "the student's own kernel): " + ", ".join(f"{nb}/{gid}" for nb, gid in self.untrusted_cells),
                "",
            ]
        lines += ["## Needs a human look", ""]
        review = self.review()
        if not review:
            lines += ["Nothing.", ""]
        for summary in review:
            lines.append(f"- **{summary.student}**")
            for reason in summary.quarantined:
                lines.append(f"  - quarantined: {reason}")
            for death in summary.deaths:
                lines.append(f"  - sandbox: {death}")
            for flag in summary.flags[:12]:
                lines.append(f"  - suspicious code: {flag}")
            if len(summary.flags) > 12:
                lines.append(f"  - ... and {len(summary.flags) - 12} more flags")
            for similar in summary.similar[:12]:
                lines.append(f"  - similar code (see Similar code; no points taken): {_similarity.escape(similar)}")
            if len(summary.similar) > 12:
                lines.append(f"  - ... and {len(summary.similar) - 12} more similar functions")
            if summary.error:
                lines.append(f"  - the grader failed on this submission: {summary.error}")
        lines += ["", "## Totals", "", "| student | points | of | notes |", "| --- | ---: | ---: | --- |"]
        for summary in self.students:
            total = "quarantined" if summary.quarantined else "error" if summary.error else f"{summary.total:g}"
            notes = "; ".join(summary.notes)
            lines.append(f"| {_cell(summary.student)} | {total} | {summary.max_total:g} | {_cell(notes)} |")
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
                f"| {_cell(row.student)} | {_cell(row.grade_id)} | {_cell(row.functions)} | {points} "
                f"| {row.max_points:g} | {_cell(row.reason)} |"
            )
        similar = _similarity.markdown(self.similarity)
        if similar:
            lines += [""] + similar
        return "\n".join(lines) + "\n"


def _cell(text):
    """Text for one Markdown table cell (one line, no pipes)."""
    text = " ".join(str(text).split())
    return text.replace("|", "\\|")[:600]
