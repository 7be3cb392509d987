"""Grade a handful of sample submissions with nbgrader, in a throwaway copy of the course.

    python scripts/grade_demo.py [ASSIGNMENT ...]     (default: 01_rnn_cell 04_lstm)

Makes a copy of the course (nbgrader_config.py, solutions/) in a temporary directory, releases
the assignments there, writes four submissions per assignment, runs `nbgrader autograde` and
`nbgrader generate_feedback`, and prints the grade table. The repository's own gradebook,
submitted/, autograded/ and feedback/ are never touched.

The submissions:

    correct   the release with every function written (the solutions, as a student would type them)
    partly    the same with a typical mistake in some functions (see MISTAKES below)
    blank     the release as it was handed out
    broken    a syntax error in one function and a name error in another

The functions here are also used by tests/test_exercises.py.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("01_rnn_cell", "04_lstm")

# A typical mistake in some functions of each assignment: grade_id -> (text of the solution, replacement).
MISTAKES = {
    "01_rnn_cell": {"rnn_step_forward": ("h = np.tanh(a)", "h = 1 / (1 + np.exp(-a))")},
    "02_bptt": {"rnn_backward": ("for t in reversed(range(T)):", "for t in range(T):")},
    "04_lstm": {
        "lstm_candidate": ("return np.tanh(", "return sigmoid("),
        "lstm_forward": (
            "h, c, _ = lstm_step_forward(xs[t], h, c, params)",
            "h, c, _ = lstm_step_forward(xs[t], h0, c0, params)",
        ),
    },
}


def nbgrader_env():
    """The environment for nbgrader: it runs `alembic` from the PATH, so the venv's bin comes first."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(course, *args, check=True):
    """Run one nbgrader command in ``course``; return the completed process."""
    quiet = [] if args[0] == "validate" else ["--log-level=WARN"]  # validate has no --log-level
    command = [str(Path(sys.executable).parent / "nbgrader"), *args, *quiet]
    return subprocess.run(command, cwd=course, env=nbgrader_env(), capture_output=True, text=True, check=check)


def make_course(directory, assignments):
    """A course in ``directory``: the config and the sources of ``assignments``, released there."""
    directory = Path(directory)
    shutil.copy(ROOT / "nbgrader_config.py", directory / "nbgrader_config.py")
    for name in assignments:
        shutil.copytree(ROOT / "solutions" / name, directory / "solutions" / name)
    nbgrader(directory, "generate_assignment", "*", "--force")
    return directory


def _solution_code(text):
    """The code of a solution cell as a student would have typed it: the markers removed."""
    return "\n".join(
        line for line in text.splitlines() if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


def student_notebook(course, assignment, changes=None, written=True):
    """The release notebook, with every solution cell written (``written``), and ``changes`` applied.

    ``changes`` maps a grade_id to (old, new): a text replacement in that solution cell, which
    must occur in it.
    """
    course = Path(course)
    release = nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells if _is_solution(c)}
    changes = dict(changes or {})
    for cell in release.cells:
        if not _is_solution(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if written:
            cell.source = _solution_code(solutions[grade_id])
        if grade_id in changes:
            old, new = changes.pop(grade_id)
            if old not in cell.source:
                raise ValueError(f"{assignment}/{grade_id}: {old!r} is not in the solution")
            cell.source = cell.source.replace(old, new)
    if changes:
        raise ValueError(f"{assignment}: no solution cells {sorted(changes)}")
    return release


def _is_solution(cell):
    return cell.metadata.get("nbgrader", {}).get("solution", False)


def submit(course, student, assignment, notebook):
    path = Path(course) / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def broken_notebook(course, assignment):
    """A syntax error in the first function, a name error in the second; the others written."""
    notebook = student_notebook(course, assignment)
    cells = [c for c in notebook.cells if _is_solution(c)]
    cells[0].source = cells[0].source.replace("def ", "def def ", 1)
    cells[1].source = re.sub(r"return ", "return undefined_name + ", cells[1].source, count=1)
    return notebook


def grade(course):
    """Autograde every submission of every assignment, then write their feedback."""
    nbgrader(course, "autograde", "*", "--force")
    nbgrader(course, "generate_feedback", "*", "--force")


def grade_table(course):
    """Rows of the exported grade table (nbgrader export)."""
    nbgrader(course, "export", "--to", "grades.csv")
    with open(Path(course) / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", default=list(DEFAULT))
    parser.add_argument("--keep", action="store_true", help="keep the course copy and print where it is")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="rnn-grade-demo-")
    try:
        course = make_course(directory, args.assignments)
        for name in args.assignments:
            submit(course, "correct", name, student_notebook(course, name))
            submit(course, "partly", name, student_notebook(course, name, MISTAKES.get(name)))
            submit(course, "blank", name, student_notebook(course, name, written=False))
            submit(course, "broken", name, broken_notebook(course, name))
        grade(course)
        rows = grade_table(course)
        print("correct: every function written; partly: a typical mistake in some; blank: as released;")
        print("broken: a syntax error in one function and a name error in another\n")
        print(f"{'student':<10} {'assignment':<24} {'score':>7} {'max':>5}")
        for row in sorted(rows, key=lambda r: (r["assignment"], r["student_id"])):
            score, top = float(row["score"]), float(row["max_score"])
            print(f"{row['student_id']:<10} {row['assignment']:<24} {score:>7.1f} {top:>5.1f}")
        if args.keep:
            print(f"course copy (feedback in feedback/): {directory}")
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
