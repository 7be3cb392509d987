"""The notebook, ``nbgrader validate``, the feedback and the judge agree, cell by cell, on honest variants.

Each variant of ``tests/hostile/variants.py`` is a notebook a student could have written (helpers
redefined later or named like a later test variable, statements before a ``def``, own calling
conventions for a wrong helper, loops, magics), right wherever its own tests say so.  All are
graded in one batch per assignment by the grading command and, at the same time, run by nbgrader's
own validator in a Jupyter kernel; for every test cell of every variant, the three say the same as
the variant: the validator (the student's kernel), the feedback (the autograded notebook's outputs,
run in the sandbox with the real checks) and the judge's points.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from hostile.corpus import Kit
from hostile.course import make_course, require_sandbox, submit, tight_limits
from hostile.variants import VARIANTS, make

pytestmark = pytest.mark.slow

ASSIGNMENTS = sorted({v.assignment for v in VARIANTS})

_VALIDATE = """
import json, sys
from nbgrader.validator import Validator

results = {}
for path in sys.argv[1:]:
    found = Validator().validate(path)
    results[path] = [cell["source"] for cell in found.get("failed", [])] + (["<changed>"] if "changed" in found else [])
print(json.dumps(results))
"""


def _validate(paths):
    """{path: [source of every failing cell]} from nbgrader's validator (a Jupyter kernel per notebook)."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(
        [sys.executable, "-c", _VALIDATE, *map(str, paths)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    from grader.course import Course
    from grader.pipeline import Grader

    sandbox = require_sandbox(tight_limits(cell_seconds=30))
    course = make_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    notebooks, paths = {}, {}
    kits = {assignment: Kit.load(course, assignment) for assignment in ASSIGNMENTS}
    for variant in VARIANTS:
        notebook = make(kits[variant.assignment], variant)
        submit(course, variant.name, variant.assignment, notebook)
        notebooks[variant.name] = notebook
        paths[variant.name] = course / "submitted" / variant.name / variant.assignment / f"{variant.assignment}.ipynb"

    def grade():
        reports = {}
        for assignment in ASSIGNMENTS:
            students = [v.name for v in VARIANTS if v.assignment == assignment]
            grader = Grader(Course.load(course), assignment, sandbox, jobs=2, log=str)
            try:
                reports[assignment] = grader.grade(students, feedback=False)
            finally:
                grader.close()
        return reports

    with ThreadPoolExecutor(2) as pool:
        graded = pool.submit(grade)
        validated = pool.submit(_validate, list(paths.values()))
        reports, failing = graded.result(), validated.result()
    return course, kits, notebooks, reports, {name: failing[str(path)] for name, path in paths.items()}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_validate_feedback_and_judge_agree_with_the_notebook(agreement, variant):
    course, kits, notebooks, reports, failing = agreement
    kit, notebook = kits[variant.assignment], notebooks[variant.name]
    assert "<changed>" not in failing[variant.name], "nbgrader validate saw an edited read-only cell"
    rows = {row.grade_id: row for row in reports[variant.assignment].rows if row.student == variant.name}
    autograded = nbformat.read(
        course / "autograded" / variant.name / variant.assignment / f"{variant.assignment}.ipynb", as_version=4
    )
    for grade_id in kit.test_ids:
        expected = grade_id not in variant.fails
        validated = kit.cell(notebook, grade_id).source.strip() not in failing[variant.name]
        outputs = kit.cell(autograded, grade_id).outputs
        in_feedback = not any(o.output_type == "error" for o in outputs)
        judged = rows[grade_id].points == rows[grade_id].max_points
        seen = {"nbgrader validate": validated, "feedback": in_feedback, "judge": judged}
        assert seen == dict.fromkeys(seen, expected), (grade_id, seen, rows[grade_id].reason[:1500])


def test_every_variant_is_judged_without_a_death_or_an_error(agreement):
    _, _, _, reports, _ = agreement
    for report in reports.values():
        for summary in report.students:
            assert not summary.deaths and not summary.error and not summary.quarantined, summary


def _terms(text):
    """The verdicts of the runs with one term at a time in a message: {label: "right" or "wrong"}."""
    found = re.findall(r"^\s*(only the [^:]+|no [^:]+): (right|wrong)$", text, re.MULTILINE)
    return dict(found)


def test_the_judge_gives_the_same_diagnosis_as_the_visible_test(agreement):
    """A mistake that no recognizer names: the judge's reason runs one term at a time, as the notebook's test."""
    course, kits, _, reports, _ = agreement
    variant = next(v for v in VARIANTS if v.name == "wrong_recurrent_term")
    row = next(r for r in reports[variant.assignment].rows if r.student == variant.name and r.grade_id in variant.fails)
    autograded = nbformat.read(
        course / "autograded" / variant.name / variant.assignment / f"{variant.assignment}.ipynb", as_version=4
    )
    outputs = kits[variant.assignment].cell(autograded, row.grade_id).outputs
    visible = "\n".join(o.get("evalue", "") for o in outputs if o.output_type == "error")
    assert "Likely mistake" not in row.reason, row.reason
    assert _terms(row.reason) == _terms(visible) and len(_terms(visible)) == 3, (row.reason, visible)
    assert _terms(row.reason)["only the recurrent term (x = 0, b = 0)"] == "wrong"
