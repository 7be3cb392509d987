"""Every assignment of the course through the grading command: fully judged, the source scores full marks,
the blank release zero, and an honest class gets the same grades as plain ``nbgrader autograde``."""

from __future__ import annotations

import copy
import csv

import pytest
from hostile.corpus import Kit
from hostile.course import assignments, make_course, nbgrader, require_sandbox, submit, tight_limits

import rnn_checks
from grader.course import Course, load_assignment
from grader.pipeline import Grader

ALL = assignments()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    if not ALL:
        pytest.fail("no assignment in solutions/")
    directory = make_course(tmp_path_factory.mktemp("course"), ALL)
    for assignment in ALL:
        kit = Kit.load(directory, assignment)
        submit(directory, "correct", assignment, kit.honest())
        submit(directory, "blank", assignment, kit.blank())
    return directory


@pytest.mark.parametrize("assignment", ALL)
def test_every_test_cell_is_judged(course, assignment):
    """Each test cell calls rnn_ref.testing with a known reference: no point depends on the student's kernel."""
    model = load_assignment(Course.load(course), assignment, set(rnn_checks.SPECS))
    assert model.functions
    assert model.untrusted_tests() == []
    for notebook in model.notebooks.values():
        assert set(notebook.tests) == set(notebook.test_ids)


@pytest.mark.parametrize("assignment", ALL)
def test_source_scores_full_marks_and_the_release_zero(course, assignment):
    grader = Grader(Course.load(course), assignment, require_sandbox(tight_limits(cell_seconds=30)), jobs=2, log=str)
    try:
        report = grader.grade(["correct", "blank"], feedback=False)
    finally:
        grader.close()
    totals = {s.student: (s.total, s.max_total) for s in report.students}
    assert totals["correct"][0] == totals["correct"][1] > 0, [r.reason for r in report.rows if r.student == "correct"]
    assert totals["blank"][0] == 0
    # "correct" is the instructor's solution typed in: the similarity check must list it (for a human look),
    # and nothing else may ask for one
    review = {s.student: s for s in report.review()}
    assert "blank" not in review
    if "correct" in review:
        summary = review["correct"]
        assert summary.similar and not (summary.quarantined or summary.flags or summary.deaths or summary.error)
        assert all("solution" in line or "rnn_ref" in line or "reference" in line for line in summary.similar)
    # the judge records the recognized mistakes as data, for the class report (issue 11)
    blank = [r for r in report.rows if r.student == "blank" and r.status == "fail"]
    assert blank and all([m["id"] for m in r.mistakes] == ["not-written"] for r in blank), blank[0]
    assert all(r.mistakes == [] for r in report.rows if r.student == "correct")


# A typical mistake per function, as students make them (text of the solution -> what they wrote).
MISTAKES = {
    "lstm_candidate": ("return np.tanh(", "return sigmoid("),
    "lstm_forward": ("lstm_step_forward(xs[t], h, c, params)", "lstm_step_forward(xs[t], h0, c0, params)"),
    "lstm_forget_gate": ("+ b_f", "- b_f"),
}


def test_honest_grades_equal_plain_nbgrader(tmp_path):
    """Correct, partly wrong, broken and blank notebooks: the same points per cell as `nbgrader autograde`."""
    assignment = "04_lstm"
    if assignment not in ALL:
        pytest.skip("04_lstm is not in solutions/")
    plain, ours = make_course(tmp_path / "plain", [assignment]), make_course(tmp_path / "ours", [assignment])
    kit = Kit.load(plain, assignment)
    partly = kit.honest()
    for grade_id, (old, new) in MISTAKES.items():
        cell = kit.cell(partly, grade_id)
        assert old in cell.source, (grade_id, old)
        cell.source = cell.source.replace(old, new)
    broken = kit.honest()
    kit.solution(broken, 0).source = kit.solution(broken, 0).source.replace("def ", "def def ", 1)
    kit.solution(broken, 3).source = kit.solution(broken, 3).source.replace("return ", "return undefined + ", 1)
    students = {"correct": kit.honest(), "partly": partly, "broken": broken, "blank": kit.blank()}
    for folder in (plain, ours):
        for student, notebook in students.items():
            submit(folder, student, assignment, copy.deepcopy(notebook))

    nbgrader(plain, "autograde", assignment, "--force")
    grader = Grader(Course.load(ours), assignment, require_sandbox(tight_limits(cell_seconds=30)), jobs=2, log=str)
    try:
        grader.grade(feedback=False)
    finally:
        grader.close()
    scores = _cell_scores(ours, assignment)
    assert _cell_scores(plain, assignment) == scores
    assert scores[("blank", "total")] < scores[("partly", "total")] < scores[("correct", "total")]


def _cell_scores(course, assignment):
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[(submission.student.id, grade.name)] = grade.score
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as file:
        for row in csv.DictReader(file):
            scores[(row["student_id"], "total")] = float(row["score"])
    return scores


def test_the_unsafe_mode_still_grades(course):
    """--unsafe-no-sandbox: the same judge without the walls (for notebooks the instructor trusts)."""
    from grader.sandbox import Sandbox

    grader = Grader(Course.load(course), ALL[0], Sandbox(tight_limits(cell_seconds=30), unsafe=True), jobs=2, log=str)
    try:
        report = grader.grade(["correct", "blank"], feedback=False)
    finally:
        grader.close()
    totals = {s.student: s.total for s in report.students}
    assert totals["correct"] == grader.model.max_score and totals["blank"] == 0
    assert report.sandbox.startswith("none")
