"""A fixed class of submissions and the grades they got, to show that a refactoring changes no grade.

The class: for every assignment, "correct" (the solutions as a student types them), "blank" (the
release as handed out), "bugs_1", "bugs_2", ... (the typical bugs of tests/test_exercises.py, at most
one per function and student), "tricky" (passes the visible tests, fails the graded cases) and
"broken" (a syntax error in one function, a name error in another).  Only the students' own code is
recorded (the source of each solution cell), so the same work can be put into any later release of
the notebooks, as when students hand in a notebook released before an update of the course.

    python tests/stable_grades.py record     grade the class with the code as it is now and write
                                             tests/data/stable_grades.json (done once, before a change)

tests/test_stable_grades.py grades the recorded class again and compares, cell by cell.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RECORD = HERE / "data" / "stable_grades.json"
SEED = 20261204  # the judge's inputs: fixed, so that before and after see the same cases

from hostile.corpus import Kit  # noqa: E402
from hostile.course import assignments, make_course, submit  # noqa: E402

TRICKY = ("01_rnn_cell", "rnn_step_forward", "h = np.tanh(a)", "h = np.tanh(a) * (1.0 if x.shape[0] < 4 else 0.9)")


def _bugs():
    sys.path.insert(0, str(HERE))
    import test_exercises

    return test_exercises.BUGS


def students_code(course, every_assignment):
    """{assignment: {student: {grade_id: source of the solution cell}}} for the fixed class."""
    code = {}
    by_student = {}
    for assignment, grade_id, old, new, _words in _bugs():
        for n in range(1, 10):
            changes = by_student.setdefault(f"bugs_{n}", {}).setdefault(assignment, {})
            if grade_id not in changes:
                changes[grade_id] = (old, new)
                break
    for assignment in every_assignment:
        kit = Kit.load(course, assignment)
        correct = {gid: kit.cell(kit.honest(), gid).source for gid in kit.solution_ids}
        blank = {gid: kit.cell(kit.blank(), gid).source for gid in kit.solution_ids}
        mine = code[assignment] = {"correct": correct, "blank": blank}
        for student, bugs in by_student.items():
            if assignment in bugs:
                changed = dict(correct)
                for grade_id, (old, new) in bugs[assignment].items():
                    if old not in changed[grade_id]:
                        raise ValueError(f"{assignment} {grade_id}: {old!r} is not in the solution")
                    changed[grade_id] = changed[grade_id].replace(old, new)
                mine[student] = changed
        if assignment == TRICKY[0]:
            tricky = dict(correct)
            tricky[TRICKY[1]] = tricky[TRICKY[1]].replace(TRICKY[2], TRICKY[3])
            mine["tricky"] = tricky
        broken = dict(correct)
        first, last = kit.solution_ids[0], kit.solution_ids[-1]
        broken[first] = broken[first].replace("def ", "def def ", 1)
        if last != first:
            broken[last] = broken[last].replace("return ", "return undefined_name + ", 1)
        mine["broken"] = broken
    return code


def write_class(course, code):
    """Submit every recorded student into ``course``: its release, with the recorded code typed in."""
    for assignment, students in code.items():
        kit = Kit.load(course, assignment)
        for student, sources in students.items():
            notebook = copy.deepcopy(kit.release)
            for cell in notebook.cells:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id in sources:
                    cell.source = sources[grade_id]
            submit(course, student, assignment, notebook)


def grade_class(course, code, sandbox, jobs=2):
    """{assignment: {student: {grade_id: points}}} of the test cells, graded by the judge at ``SEED``."""
    from grader.course import Course
    from grader.pipeline import Grader

    scores = {}
    for assignment, students in code.items():
        grader = Grader(Course.load(course), assignment, sandbox, jobs=jobs, seed=SEED, log=str)
        try:
            report = grader.grade(list(students), feedback=False)
        finally:
            grader.close()
        mine = scores[assignment] = {}
        for row in report.rows:
            if row.grade_id.startswith("test_"):
                mine.setdefault(row.student, {})[row.grade_id] = row.points
    return scores


def record():
    from hostile.course import require_sandbox, tight_limits

    with tempfile.TemporaryDirectory() as directory:
        every = assignments()
        course = make_course(Path(directory) / "course", every)
        code = students_code(course, every)
        write_class(course, code)
        scores = grade_class(course, code, require_sandbox(tight_limits(cell_seconds=30)))
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps({"seed": SEED, "code": code, "scores": scores}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORD}")


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        sys.exit(__doc__)
    record()
