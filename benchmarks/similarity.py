"""The similarity check on a synthetic class of 300: how long one assignment takes to compare.

    python benchmarks/similarity.py [--students 300] [--seed 0]

Each synthetic student writes every function of the calibration corpus
(``tests/similarity/variants``, 15 graded functions): one of its independent
variants, renamed (as every student names things their own way), plus, for
one student in ten, a disguised copy of a classmate's, of the reference or of
the solution.  Timed: fingerprinting every submission (what the pipeline does
per student) and the comparison of the class (the index, the candidate pairs,
the report's pairs), as ``make grade`` runs it after grading.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from similarity.corpus import solution_code, variants  # noqa: E402
from similarity.disguise import disguise, rename  # noqa: E402

from grader import similarity  # noqa: E402
from grader.course import Function  # noqa: E402


def synthetic_class(students, seed):
    """``{student: [cells]}`` and the graded functions: one cell per function, as a notebook holds them."""
    rng = random.Random(seed)
    by_key = {}
    for variant in variants():
        by_key.setdefault(variant.key, []).append(variant.code)
    functions = [Function(key.split(".")[-1], key, f"test_{i}", "nb") for i, key in enumerate(sorted(by_key))]
    references = {d.key: d.code for d in similarity.reference_documents(sorted(by_key))}
    submissions = {}
    for number in range(students):
        cells = []
        for index, function in enumerate(functions):
            keep = {function.name}
            if number % 10 == 9:  # a copier: a classmate's (the previous one), the reference or the solution
                original = rng.choice(
                    [submissions[f"s{number - 1:03d}"][2 * index]["source"], references[function.key]]
                    + ([solution_code(function.key)] if solution_code(function.key) else [])
                )
                code = disguise(original, keep)
            else:
                code = rename(rng.choice(by_key[function.key]), keep)
            cells.append({"index": 2 * index, "source": code, "role": "solution", "grade_id": None})
            cells.append({"index": 2 * index + 1, "source": "", "role": "test", "grade_id": function.grade_id})
        submissions[f"s{number:03d}"] = cells
    return submissions, functions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    submissions, functions = synthetic_class(args.students, args.seed)
    lines = sum(c["source"].count("\n") for cells in submissions.values() for c in cells)
    start = time.perf_counter()
    documents, notes = [], []
    for student, cells in submissions.items():
        found, problems = similarity.student_documents(student, cells, functions)
        documents += found
        notes += problems
    fingerprinted = time.perf_counter() - start
    keys = sorted({f.key for f in functions})
    start = time.perf_counter()
    sources = similarity.reference_documents(keys, keys)
    sources += [
        similarity.student_documents(
            "solutions",
            [{"index": 0, "source": solution_code(k), "role": "solution", "grade_id": None}],
            [f for f in functions if f.key == k],
            kind="solution",
        )[0][0]
        for k in keys
        if solution_code(k)
    ]
    pairs = similarity.compare(documents + sources)
    result = similarity.result(pairs, notes, len(submissions), keys, 0.0)
    compared = time.perf_counter() - start
    print(
        f"{len(submissions)} students x {len(functions)} graded functions ({len(documents)} functions, "
        f"{lines} lines of code)"
    )
    print(f"fingerprinting: {fingerprinted:.2f} s in all ({1000 * fingerprinted / len(submissions):.1f} ms a student)")
    print(f"comparing the class (index, pairs, report rows): {compared:.2f} s")
    print(f"pairs listed: {len(pairs)} ({len(result['pairs'])} in the report); notes: {len(notes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
