"""A fixed class graded now gets the grades it got when they were recorded (tests/stable_grades.py).

The record was made before the exercise checks moved from ``rnn_ref.testing`` to the
``rnn_checks`` package: this test is the evidence that the move changed no grade.  The students'
code is put into today's release of each notebook, as when a class hands in notebooks released
before an update of the course (the grader restores the read-only cells from the source).
"""

from __future__ import annotations

import json

import pytest
from hostile.course import assignments, make_course, require_sandbox, tight_limits
from stable_grades import RECORD, grade_class, write_class

pytestmark = pytest.mark.slow

# Test cells whose function changed its contract on purpose since the record: the bidirectional
# layer now takes initial states and returns final states (and their gradients), as every cell
# does. The recorded code of these functions follows the old contract (07, 10), or calls the
# bidirectional layer of rnn_ref with it (the tagger of 09), so it cannot keep its grade.
CHANGED_CONTRACT = {
    ("07_bidirectional", "test_bidirectional_forward"),
    ("09_bilstm", "test_bi_tagger_logits"),
    ("09_bilstm", "test_bi_tagger_loss"),
    ("10_bigru", "test_bidirectional_backward"),
}


def test_the_recorded_class_gets_the_recorded_grades(tmp_path):
    record = json.loads(RECORD.read_text())
    assert sorted(record["code"]) == assignments(), "every assignment is in the record"
    course = make_course(tmp_path / "course", list(record["code"]))
    write_class(course, record["code"])
    scores = grade_class(course, record["code"], require_sandbox(tight_limits(cell_seconds=30)))
    differences = []
    for assignment, students in record["scores"].items():
        for student, cells in students.items():
            for cell, points in cells.items():
                if (assignment, cell) in CHANGED_CONTRACT:
                    continue
                now = scores[assignment].get(student, {}).get(cell)
                if now != points:
                    differences.append(f"{assignment} {student} {cell}: recorded {points}, now {now}")
    assert not differences, "\n".join(differences)
    # the record is not empty of meaning: right and wrong work both in it, on every assignment
    for assignment, students in record["scores"].items():
        assert sum(students["correct"].values()) > 0 and sum(students["blank"].values()) == 0, assignment
