"""The class report: what a class got wrong, at a glance, as one self-contained HTML page.

``make grade A=...`` writes ``reports/<A>.html`` beside the Markdown, CSV and JSON reports;
``make class-report`` gathers every graded assignment (``reports/*.json``) into
``reports/class.html``.  A page shows

* the score distribution of the assignment (totals) and of each graded function (full points,
  part, zero, not graded), as plots;
* the functions where most points were lost;
* for each graded function, how many students made each recognized mistake, each linked to the
  section of the book that explains it;
* the submissions that need a human look;
* the points of every student (across every assignment, on the class page).

It reads only the JSON report (:meth:`grader.report.Report.write`): a row's ``mistakes`` are the
judge's (:func:`rnn_checks.mistakes_of`: ``id``, ``hint``, ``section``).  The page needs no network:
its CSS is inline, its plots inline SVG made by matplotlib, and its Content-Security-Policy allows
no script and no request.  Every text that comes from a submission (student names, reasons, error
messages) is escaped.

    python -m grader.classreport reports/04_lstm.json      reports/04_lstm.html
    python -m grader.classreport --class reports           reports/class.html from reports/*.json
"""

from __future__ import annotations

import argparse
import html
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

BOOK = "../_build/html"  # the built book, relative to the reports folder (at the root of the course)
CLASS_PAGE = "class.html"

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto;
       max-width: 70em; padding: 0 1.5em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
.muted { color: #666; } .bad { color: #a40000; } .ok { color: #1b6e20; }
ul.review li { margin-bottom: 0.4em; } code { font-size: 0.92em; }
table.side td { border: none; padding: 0 0.4em; } table.side pre { margin: 0; font-size: 0.85em; white-space: pre; }
table.side td.mark { color: #1b6e20; text-align: center; } table.side { display: block; overflow-x: auto; }
"""
# No script may run and nothing may be fetched: the page is data.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_PASS, _PART, _ZERO, _NONE = "full points", "part", "zero", "not graded"
_COLORS = {_PASS: "#4caf50", _PART: "#ffb300", _ZERO: "#e53935", _NONE: "#b0bec5"}


def esc(text):
    """Text for HTML (element content and quoted attributes)."""
    return html.escape(str(text), quote=True)


# --- reading a report ----------------------------------------------------------------------------------------


def load(path):
    """The JSON report of one assignment, as a dict."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def graded_cells(report):
    """``{grade_id: {"functions", "max", "rows"}}`` for the automatically graded cells, in report order."""
    cells = {}
    for row in report.get("rows", []):
        if row.get("status") == "manual" or (row.get("status") in ("quarantined", "error") and not row["functions"]):
            continue
        cell = cells.setdefault(row["grade_id"], {"functions": row["functions"], "max": row["max_points"], "rows": []})
        cell["functions"] = cell["functions"] or row["functions"]
        cell["rows"].append(row)
    return cells


def _bucket(row):
    points, top = row.get("points"), row.get("max_points") or 0
    if points is None:
        return _NONE
    if points >= top:
        return _PASS
    return _ZERO if points <= 0 else _PART


def lost_points(report):
    """``[(grade_id, functions, points lost, students who lost some, students graded)]``, most lost first."""
    table = []
    for grade_id, cell in graded_cells(report).items():
        graded = [r for r in cell["rows"] if r.get("points") is not None]
        lost = sum(r["max_points"] - r["points"] for r in graded)
        losing = sum(1 for r in graded if r["points"] < r["max_points"])
        table.append((grade_id, cell["functions"], lost, losing, len(graded)))
    return sorted(table, key=lambda item: (-item[2], item[0]))


def mistake_counts(report):
    """``{grade_id: (Counter of mistake id, {id: (hint, section)}, failing students with no recognized mistake)}``."""
    found = {}
    for grade_id, cell in graded_cells(report).items():
        counts, about, unknown = Counter(), {}, 0
        texts = {}
        for row in cell["rows"]:
            if row.get("status") != "fail":
                continue
            mistakes = [m for m in row.get("mistakes") or [] if isinstance(m, dict) and m.get("id")]
            if not mistakes:
                unknown += 1
            for ident in dict.fromkeys(str(m["id"]) for m in mistakes):  # once per student
                counts[ident] += 1
            for m in mistakes:
                texts.setdefault(str(m["id"]), Counter())[_general(str(m.get("hint", "")))] += 1
                about.setdefault(str(m["id"]), str(m.get("section", "")))
        hints = {ident: (texts[ident].most_common(1)[0][0], about[ident]) for ident in counts}
        if counts or unknown:
            found[grade_id] = (counts, hints, unknown)
    return found


def _general(hint):
    """A hint without what is particular to one student (which cases, the "your outputs equal ...")."""
    return re.sub(r":? your outputs equal what that gives( \(in \d+ of \d+ failing cases\))?$", "", hint)


# --- plots ---------------------------------------------------------------------------------------------------


def _svg(figure):
    """A matplotlib figure as an inline ``<svg>`` element (text as text: no font glyphs, nothing to fetch)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "class-report"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width, height):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    return figure, figure.add_subplot()


def totals_plot(report):
    """A histogram of the students' totals (graded submissions only)."""
    graded = [s for s in report.get("students", []) if not s.get("quarantined") and not s.get("error")]
    top = max([s.get("max_total") or 0 for s in report.get("students", [])] + [1])
    figure, axes = _figure(6.5, 2.8)
    totals = [s["total"] for s in graded]
    bins = min(20, max(1, int(top)))
    axes.hist(totals, bins=bins, range=(0, top), color="#1976d2", edgecolor="white")
    axes.set(xlabel=f"points (of {top:g})", ylabel="students", xlim=(0, top))
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"{report['assignment']}: totals of {len(graded)} graded submissions", fontsize=10)
    return _svg(figure)


def functions_plot(report):
    """One horizontal bar per graded function: how many students got full points, part, zero, or no grade."""
    cells = graded_cells(report)
    labels = [f"{cell['functions'] or grade_id} ({cell['max']:g} pt)" for grade_id, cell in cells.items()]
    figure, axes = _figure(6.5, 0.9 + 0.32 * max(1, len(cells)))
    left = [0] * len(cells)
    for bucket in (_PASS, _PART, _ZERO, _NONE):
        counts = [sum(1 for r in cell["rows"] if _bucket(r) == bucket) for cell in cells.values()]
        if any(counts):
            axes.barh(range(len(cells)), counts, left=left, color=_COLORS[bucket], label=bucket)
            left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_yticks(range(len(cells)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("students")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(fontsize=8, loc="lower right", ncols=4, bbox_to_anchor=(1, 1), frameon=False)
    return _svg(figure)


def assignments_plot(reports):
    """A box of the totals (in % of the maximum) per assignment, with every student as a dot."""
    figure, axes = _figure(6.5, 3.0)
    data, names = [], []
    for report in reports:
        graded = [s for s in report.get("students", []) if not s.get("quarantined") and not s.get("error")]
        data.append([100 * s["total"] / s["max_total"] for s in graded if s.get("max_total")] or [0.0])
        names.append(report["assignment"])
    axes.boxplot(data, showfliers=False)
    for i, values in enumerate(data, 1):
        axes.plot([i] * len(values), values, "o", color="#1976d2", alpha=0.5, markersize=3)
    axes.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right", fontsize=8)
    axes.set(ylabel="% of the points", ylim=(-3, 103))
    return _svg(figure)


# --- the pages -----------------------------------------------------------------------------------------------


def _page(title, body):
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _link(section, book):
    if not section:
        return ""
    href = f"{book.rstrip('/')}/{section}"
    page, _, anchor = section.partition("#")
    return f'<a href="{esc(href)}">{esc(Path(page).stem)}{" § " + esc(anchor) if anchor else ""}</a>'


def _lost_table(report, limit=None):
    rows = [r for r in lost_points(report) if r[2] > 0][:limit]
    if not rows:
        return "<p>No points were lost.</p>"
    lines = [
        "<table><tr><th>test cell</th><th>function</th><th class=num>points lost</th>"
        "<th class=num>students who lost points</th></tr>"
    ]
    for grade_id, functions, lost, losing, graded in rows:
        lines.append(
            f"<tr><td><code>{esc(grade_id)}</code></td><td>{esc(functions)}</td><td class=num>{lost:g}</td>"
            f"<td class=num>{losing} of {graded}</td></tr>"
        )
    return "\n".join(lines + ["</table>"])


def _mistakes_section(report, book):
    found = mistake_counts(report)
    cells = graded_cells(report)
    if not found:
        return "<p>No function failed.</p>"
    parts = []
    for grade_id, (counts, hints, unknown) in found.items():
        failing = sum(1 for r in cells[grade_id]["rows"] if r.get("status") == "fail")
        parts.append(
            f"<h3>{esc(cells[grade_id]['functions'] or grade_id)} <span class=muted>({failing} failing)</span></h3>"
        )
        parts.append("<table><tr><th class=num>students</th><th>recognized mistake</th><th>read</th></tr>")
        for ident, count in counts.most_common():
            hint, section = hints[ident]
            parts.append(
                f"<tr><td class=num>{count}</td><td>{esc(hint)} <span class=muted>(<code>{esc(ident)}</code>)"
                f"</span></td><td>{_link(section, book)}</td></tr>"
            )
        if unknown:
            parts.append(
                f"<tr><td class=num>{unknown}</td><td class=muted>no typical mistake recognized "
                "(see the reasons in the Markdown report)</td><td></td></tr>"
            )
        parts.append("</table>")
    return "\n".join(parts)


def _review_list(report):
    review = [s for s in report.get("students", []) if s.get("needs_review")]
    if not review:
        return "<p>Nothing.</p>"
    items = []
    for s in review:
        reasons = [f"quarantined: {r}" for r in s.get("quarantined", [])]
        reasons += [f"sandbox: {d}" for d in s.get("deaths", [])]
        flags = s.get("flags", [])
        reasons += [f"suspicious code: {f}" for f in flags[:12]]
        if len(flags) > 12:
            reasons.append(f"... and {len(flags) - 12} more flags")
        similar = s.get("similar", [])
        reasons += [f"similar code (no points taken): {line}" for line in similar[:12]]
        if len(similar) > 12:
            reasons.append(f"... and {len(similar) - 12} more similar functions")
        if s.get("error"):
            reasons.append(f"the grader failed on this submission: {s['error']}")
        inner = "".join(f"<li>{esc(r)}</li>" for r in reasons)
        items.append(f"<li><strong>{esc(s['student'])}</strong><ul>{inner}</ul></li>")
    return "<ul class=review>" + "\n".join(items) + "</ul>"


def _total(summary):
    if summary.get("quarantined"):
        return "quarantined"
    if summary.get("error"):
        return "error"
    return f"{summary['total']:g}"


def assignment_page(report, book=BOOK):
    """The HTML page of one assignment's report (a dict, as :func:`load` reads it)."""
    students = report.get("students", [])
    graded = [s for s in students if not s.get("quarantined") and not s.get("error")]
    review = [s for s in students if s.get("needs_review")]
    title = f"What the class got wrong: {report['assignment']}"
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<p>{len(students)} submissions: {len(graded)} graded, "
        f"{sum(1 for s in students if s.get('quarantined'))} quarantined, {len(review)} to review. "
        f'<a href="{esc(CLASS_PAGE)}">Every assignment</a>.</p>',
        "<h2>Scores</h2>",
        f"<figure>{totals_plot(report)}<figcaption>The totals of the graded submissions.</figcaption></figure>",
        f"<figure>{functions_plot(report)}<figcaption>Each graded function: how many students earned its "
        "points.</figcaption></figure>",
        "<h2>Where the points were lost</h2>",
        _lost_table(report),
        "<h2>What the class got wrong</h2>",
        "<p>For each function that failed, the typical mistakes the checks recognized, with the number of "
        "students who made each and the section of the book that explains it.</p>",
        _mistakes_section(report, book),
        "<h2>Needs a human look</h2>",
        _review_list(report),
        "<h2>Similar code</h2>",
        _similar_section(report),
        "<h2>Every student</h2>",
        "<table><tr><th>student</th><th class=num>points</th><th class=num>of</th></tr>",
        *(
            f"<tr><td>{esc(s['student'])}</td><td class=num>{esc(_total(s))}</td>"
            f"<td class=num>{s.get('max_total', 0):g}</td></tr>"
            for s in students
        ),
        "</table>",
    ]
    return _page(title, "\n".join(body))


def _similar_section(report, limit=40):
    """The similarity check's pairs (:mod:`grader.similarity`), each with the two functions side by side."""
    similarity = report.get("similarity") or {}
    if similarity.get("error"):
        return f"<p>{esc(similarity['error'])}</p>"
    pairs = similarity.get("pairs") or []
    if not pairs:
        return "<p>No pair of functions above the similarity threshold (no points are given or taken here).</p>"
    out = [
        "<p>For a human look, no points given or taken: functions that are the same up to renaming, comments, "
        "spacing and the order of independent statements. <code>=</code> marks lines of the same shape.</p>"
    ]
    for pair in pairs[:limit]:
        a, b = pair.get("a", {}), pair.get("b", {})
        out.append(
            f"<h3>{esc(pair.get('function', ''))}: {esc(_side_name(a))} and {esc(_side_name(b))}, "
            f"{float(pair.get('score', 0)):.0%}</h3>"
        )
        rows = "".join(
            f"<tr><td><pre>{esc(left)}</pre></td><td class=mark>{esc(mark)}</td><td><pre>{esc(right)}</pre></td></tr>"
            for left, mark, right in (row[:3] for row in pair.get("rows", []) if len(row) >= 3)
        )
        out.append(
            f"<table class=side><tr><th>{esc(_side_name(a))}</th><th></th><th>{esc(_side_name(b))}</th></tr>"
            f"{rows}</table>"
        )
    if len(pairs) > limit:
        out.append(f"<p>... and {len(pairs) - limit} more pairs in reports/{esc(report.get('assignment', ''))}.md.</p>")
    return "\n".join(out)


def _side_name(side):
    kind = side.get("kind")
    if kind == "student":
        return str(side.get("name", ""))
    return "rnn_ref (the reference)" if kind == "reference" else "solutions/ (the instructor's)"


def class_page(reports, book=BOOK):
    """The HTML page of every assignment's report: distributions, lost points, mistakes, every student."""
    reports = sorted(reports, key=lambda r: r["assignment"])
    title = "What the class got wrong: every assignment"
    body = [f"<h1>{esc(title)}</h1>"]
    if not reports:
        return _page(title, "<h1>No graded assignment</h1><p>Run <code>make grade A=...</code> first.</p>")
    body += [
        f"<p>{len(reports)} graded assignments: "
        + ", ".join(f'<a href="{esc(r["assignment"])}.html">{esc(r["assignment"])}</a>' for r in reports)
        + ".</p>",
        "<h2>Scores</h2>",
        f"<figure>{assignments_plot(reports)}<figcaption>The totals of each assignment, in % of its points "
        "(each dot a student).</figcaption></figure>",
        "<h2>Every student</h2>",
        _students_table(reports),
        "<h2>Where the points were lost</h2>",
    ]
    lost = [(r["assignment"],) + row for r in reports for row in lost_points(r) if row[2] > 0]
    lost.sort(key=lambda item: -item[3])
    if lost:
        body.append(
            "<table><tr><th>assignment</th><th>function</th><th class=num>points lost</th>"
            "<th class=num>students who lost points</th></tr>"
        )
        for assignment, _grade_id, functions, points, losing, graded in lost[:15]:
            body.append(
                f"<tr><td>{esc(assignment)}</td><td>{esc(functions)}</td><td class=num>{points:g}</td>"
                f"<td class=num>{losing} of {graded}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>No points were lost.</p>")
    body.append("<h2>The most common mistakes</h2>")
    common = []
    for report in reports:
        cells = graded_cells(report)
        for grade_id, (counts, hints, _unknown) in mistake_counts(report).items():
            for ident, count in counts.items():
                common.append((count, report["assignment"], cells[grade_id]["functions"], ident, *hints[ident]))
    common.sort(key=lambda item: (-item[0], item[1], item[3]))
    if common:
        body.append(
            "<table><tr><th class=num>students</th><th>assignment</th><th>function</th><th>mistake</th>"
            "<th>read</th></tr>"
        )
        for count, assignment, functions, ident, hint, section in common[:25]:
            body.append(
                f"<tr><td class=num>{count}</td><td>{esc(assignment)}</td><td>{esc(functions)}</td>"
                f"<td>{esc(hint)} <span class=muted>(<code>{esc(ident)}</code>)</span></td>"
                f"<td>{_link(section, book)}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>No mistake was recognized.</p>")
    body.append("<h2>Needs a human look</h2>")
    for report in reports:
        if any(s.get("needs_review") for s in report.get("students", [])):
            body += [f"<h3>{esc(report['assignment'])}</h3>", _review_list(report)]
    if not any(s.get("needs_review") for r in reports for s in r.get("students", [])):
        body.append("<p>Nothing.</p>")
    return _page(title, "\n".join(body))


def _students_table(reports):
    names = list(dict.fromkeys(s["student"] for r in reports for s in r.get("students", [])))
    by = {(r["assignment"], s["student"]): s for r in reports for s in r.get("students", [])}
    head = "".join(f"<th class=num>{esc(r['assignment'])}</th>" for r in reports)
    lines = [f"<table><tr><th>student</th>{head}<th class=num>in all</th></tr>"]
    for name in sorted(names):
        cells, got, top = [], 0.0, 0.0
        for report in reports:
            summary = by.get((report["assignment"], name))
            if summary is None:
                cells.append('<td class="num muted">—</td>')
                continue
            text = _total(summary)
            if text[0].isdigit():
                got += summary["total"]
            top += summary.get("max_total") or 0
            shown = f"{esc(text)} / {summary.get('max_total', 0):g}" if text[0].isdigit() else esc(text)
            cells.append(f"<td class=num>{shown}</td>")
        share = f"{100 * got / top:.0f} %" if top else ""
        lines.append(f"<tr><td>{esc(name)}</td>{''.join(cells)}<td class=num>{share}</td></tr>")
    return "\n".join(lines + ["</table>"])


# --- writing -------------------------------------------------------------------------------------------------


def _write(path, text):
    """Write ``text`` whole or not at all (a temporary file, then a rename)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def write_assignment(json_path, out=None, book=BOOK):
    """``reports/<A>.html`` from ``reports/<A>.json``; returns its path."""
    json_path = Path(json_path)
    return _write(out or json_path.with_suffix(".html"), assignment_page(load(json_path), book))


def write_class(folder, out=None, book=BOOK):
    """``<folder>/class.html`` from every ``<folder>/*.json`` report; returns its path."""
    folder = Path(folder)
    reports = []
    for path in sorted(folder.glob("*.json")):
        data = load(path)
        if isinstance(data, dict) and "assignment" in data and "rows" in data:
            reports.append(data)
    return _write(out or folder / CLASS_PAGE, class_page(reports, book))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.classreport", description=__doc__.split("\n")[0])
    parser.add_argument("report", nargs="?", help="one JSON report (reports/<A>.json)")
    parser.add_argument("--class", dest="folder", help="every JSON report of this folder, into class.html")
    parser.add_argument("--book", default=BOOK, help=f"the built book, relative to the page (default {BOOK})")
    args = parser.parse_args(argv)
    if bool(args.report) == bool(args.folder):
        parser.error("give one JSON report, or --class FOLDER")
    if args.folder:
        if not Path(args.folder).is_dir() or not list(Path(args.folder).glob("*.json")):
            print(f"no report in {args.folder}: grade an assignment first (make grade A=...)", file=sys.stderr)
            return 1
        path = write_class(args.folder, book=args.book)
    else:
        path = write_assignment(args.report, book=args.book)
    print(f"class report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
