"""Grading 100 submissions: the safe grading command against plain sequential ``nbgrader autograde``.

Run with ``make grading-bench`` (or ``python benchmarks/grading.py [--assignment 04_lstm] [--students 100]``).

Two throwaway copies of the course get the same class of honest submissions of
one assignment: complete ones, ones with the typical mistakes of
``MISTAKES``, unfinished ones (some functions left as released), broken ones
(a syntax error in one function), and blank ones.  In one copy plain
``nbgrader autograde`` grades them (sequentially, one kernel after another,
no sandbox); in the other ``python -m grader grade`` does (sandboxed, every
core, the judge), twice each, interleaved, keeping the best time of each
(the machine may be shared).  The script prints a Markdown table of the wall-clock
times and checks that every grade cell of every student got the same score;
the README's figures are a copy of it.  Feedback is timed apart: plain
``nbgrader generate_feedback`` against the grading command's own feedback step
(nbgrader's converter, one process per core); the grading command's times are
read from its report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from hostile.corpus import Kit  # noqa: E402
from hostile.course import make_course, submit  # noqa: E402

# Typical mistakes, as text replacements in a solution cell (grade_id -> (text of the solution, what is typed)).
MISTAKES = {
    "lstm_candidate": ("return np.tanh(", "return sigmoid("),
    "lstm_forget_gate": ("+ b_f", "- b_f"),
    "lstm_forward": ("lstm_step_forward(xs[t], h, c, params)", "lstm_step_forward(xs[t], h0, c0, params)"),
    "rnn_step_forward": ("h = np.tanh(a)", "h = 1 / (1 + np.exp(-a))"),
    "rnn_backward": ("for t in reversed(range(T)):", "for t in range(T):"),
}


def make_class(kit, n, seed):
    """``n`` honest notebooks: (student, kind, notebook)."""
    rng = random.Random(seed)
    mistakes = {g: m for g, m in MISTAKES.items() if g in kit.solution_ids}
    kinds = ["complete"] * 4 + ["mistakes"] * 2 * bool(mistakes) + ["unfinished"] * 2 + ["broken", "blank"]
    students = []
    for number in range(n):
        kind = kinds[number % len(kinds)]
        notebook = kit.blank() if kind == "blank" else kit.honest()
        if kind == "mistakes":
            for grade_id in rng.sample(sorted(mistakes), rng.randint(1, len(mistakes))):
                old, new = mistakes[grade_id]
                cell = kit.cell(notebook, grade_id)
                cell.source = cell.source.replace(old, new)
        elif kind == "unfinished":
            release = kit.blank()
            for grade_id in rng.sample(kit.solution_ids, rng.randint(1, len(kit.solution_ids) - 1)):
                kit.cell(notebook, grade_id).source = kit.cell(release, grade_id).source
        elif kind == "broken":
            cell = kit.cell(notebook, rng.choice(kit.solution_ids))
            cell.source = cell.source.replace("def ", "def def ", 1)
        students.append((f"student{number:03d}", kind, notebook))
    return students


def scores(course, assignment):
    """(student, grade cell) -> score, straight from the gradebook."""
    query = """
        SELECT student.id, base_cell.name, grade.auto_score, grade.manual_score
        FROM grade
        JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id
        JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id
        JOIN assignment ON submitted_assignment.assignment_id = assignment.id
        JOIN student ON submitted_assignment.student_id = student.id
        JOIN base_cell ON grade.cell_id = base_cell.id
        WHERE assignment.name = ?
    """
    with sqlite3.connect(Path(course) / "gradebook.db") as connection:
        rows = connection.execute(query, (assignment,)).fetchall()
    return {(student, cell): manual if manual is not None else auto for student, cell, auto, manual in rows}


def timed(command, cwd):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: the grader lists submissions for review (none expected here)
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="04_lstm")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=None, help="the grader's workers (default: every core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs of each; the best is reported")
    parser.add_argument("--keep", action="store_true", help="keep the two course copies")
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    try:
        plain = make_course(base / "plain", [args.assignment])
        ours = make_course(base / "ours", [args.assignment])
        kit = Kit.load(plain, args.assignment)
        kinds = {}
        for student, kind, notebook in make_class(kit, args.students, args.seed):
            kinds[student] = kind
            for course in (plain, ours):
                submit(course, student, args.assignment, notebook)
                (course / "submitted" / student / args.assignment / "timestamp.txt").write_text(
                    "2025-11-20 10:00:00.000000 UTC"
                )
        nbgrader_bin = str(Path(sys.executable).parent / "nbgrader")
        grader = [sys.executable, "-m", "grader", "grade", args.assignment]
        if args.jobs:
            grader += ["--jobs", str(args.jobs)]
        runs = {"plain": [], "plain feedback": [], "ours": [], "ours feedback": []}
        for _ in range(args.repeat):  # interleaved, and the best of each kept: the machine is shared
            runs["plain"].append(
                timed([nbgrader_bin, "autograde", args.assignment, "--force", "--log-level=ERROR"], plain)
            )
            runs["plain feedback"].append(
                timed([nbgrader_bin, "generate_feedback", args.assignment, "--force", "--log-level=ERROR"], plain)
            )
            t_command = timed(grader, ours)  # wall clock of the whole command, start-up included
            report = json.loads((ours / "reports" / f"{args.assignment}.json").read_text())
            runs["ours feedback"].append(report["seconds"] - report["grading_seconds"])
            runs["ours"].append(t_command - runs["ours feedback"][-1])
        t_plain, f_plain, t_ours, f_ours = (min(runs[k]) for k in ("plain", "plain feedback", "ours", "ours feedback"))
        a, b = scores(plain, args.assignment), scores(ours, args.assignment)
        students = sorted(kinds)
        same = [
            s
            for s in students
            if {k: v for k, v in a.items() if k[0] == s} == {k: v for k, v in b.items() if k[0] == s}
        ]
        differ = [s for s in students if s not in same]
        n = len(students)
        print(f"## Grading {n} submissions of {args.assignment}\n")
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}."
        )
        counts = {kind: sum(1 for k in kinds.values() if k == kind) for kind in sorted(set(kinds.values()))}
        print("Class: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()) + ".\n")
        print(
            "| | plain `nbgrader autograde` (sequential, no sandbox) | `python -m grader grade` (sandboxed, judged) |"
        )
        print("| --- | ---: | ---: |")
        print(f"| grading, wall clock | {t_plain:.1f} s | {t_ours:.1f} s |")
        print(f"| per submission | {t_plain / n:.2f} s | {t_ours / n:.2f} s |")
        print(f"| speed-up | 1.0x | {t_plain / t_ours:.1f}x |")
        print(f"| feedback (nbgrader's `GenerateFeedback`) | {f_plain:.1f} s | {f_ours:.1f} s |")
        print(f"| grading and feedback | {t_plain + f_plain:.1f} s | {t_ours + f_ours:.1f} s |")
        print(f"| speed-up, with the feedback | 1.0x | {(t_plain + f_plain) / (t_ours + f_ours):.1f}x |")
        print(
            f"\nBest of {args.repeat} interleaved runs each; all runs (s): "
            + "; ".join(f"{name} {', '.join(f'{t:.1f}' for t in times)}" for name, times in runs.items())
        )
        print(f"\nIdentical scores on every grade cell: {len(same)} of {n} students.")
        if differ:
            for student in differ:
                cells = sorted({k[1] for k in a if k[0] == student} | {k[1] for k in b if k[0] == student})
                diff = [
                    (c, a.get((student, c)), b.get((student, c)))
                    for c in cells
                    if a.get((student, c)) != b.get((student, c))
                ]
                print(f"- {student} ({kinds[student]}): {diff}")
        if args.keep:
            print(f"\ncourses kept in {base}")
        return 0 if not differ else 1
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
