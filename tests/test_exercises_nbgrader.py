"""The exercises through nbgrader itself: release, validate, autograde, feedback.

One course copy in a temporary directory is released and graded once for the whole module
(the repository's own gradebook and folders are never touched); the tests read the results.
Students: "correct" (every function written), "blank" (the release as handed out), "bugs_1"
and "bugs_2" (typical bugs, at most one per function, from tests/test_exercises.py), "tricky",
whose function passes the visible tests and fails the hidden ones, and "noisy", right but
making NumPy print a warning inside a test cell.
"""

import html
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("nbgrader", reason="the exercises' nbgrader tests need pip install -e '.[grade]'")
ROOT = Path(__file__).resolve().parent.parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


grade_demo = _load("grade_demo", ROOT / "scripts" / "grade_demo.py")
_exercises = _load("_exercises_bugs", ROOT / "tests" / "test_exercises.py")  # the typical bugs, shared
ASSIGNMENTS, BUGS = _exercises.ASSIGNMENTS, _exercises.BUGS

# Passes the visible tests (N <= 3) and the example, fails the graded cases with N >= 4.
TRICKY = ("rnn_step_forward", "h = np.tanh(a)", "h = np.tanh(a) * (1.0 if x.shape[0] < 4 else 0.9)")
# Correct, but makes NumPy warn on stderr when the test cell calls it directly (the gradient check).
NOISY = ("rnn_step_backward", "da = dh * (1 - cache.h**2)", "_ = np.log(np.zeros(1))\n    da = dh * (1 - cache.h**2)")


def _bug_students():
    """{student: {assignment: {grade_id: (old, new)}}}, at most one bug per function and student."""
    students = {}
    for assignment, grade_id, old, new, _ in BUGS:
        for n in range(1, 10):
            changes = students.setdefault(f"bugs_{n}", {}).setdefault(assignment, {})
            if grade_id not in changes:
                changes[grade_id] = (old, new)
                break
    return students


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A released course with every submission autograded and its feedback written."""
    directory = grade_demo.make_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    for name in ASSIGNMENTS:
        grade_demo.submit(directory, "correct", name, grade_demo.student_notebook(directory, name))
        grade_demo.submit(directory, "blank", name, grade_demo.student_notebook(directory, name, written=False))
    for student, assignments in _bug_students().items():
        for name, changes in assignments.items():
            grade_demo.submit(directory, student, name, grade_demo.student_notebook(directory, name, changes))
    tricky = grade_demo.student_notebook(directory, "01_rnn_cell", {TRICKY[0]: TRICKY[1:]})
    grade_demo.submit(directory, "tricky", "01_rnn_cell", tricky)
    noisy = grade_demo.student_notebook(directory, "02_bptt", {NOISY[0]: NOISY[1:]})
    grade_demo.submit(directory, "noisy", "02_bptt", noisy)

    def grade():
        autograde = grade_demo.nbgrader(directory, "autograde", "*", "--force", check=False)
        feedback = grade_demo.nbgrader(directory, "generate_feedback", "*", "--force", check=False)
        return autograde, feedback

    def validate():
        solutions = [str(ROOT / "solutions" / n / f"{n}.ipynb") for n in ASSIGNMENTS]
        release = [str(ROOT / "exercises" / n / f"{n}.ipynb") for n in ASSIGNMENTS]
        valid = grade_demo.nbgrader(directory, "validate", *solutions, check=False)
        return valid, grade_demo.nbgrader(directory, "validate", "--invert", *release, check=False)

    # One after the other: once in about ten runs, validate --invert beside a running autograde reported on one
    # notebook of ten (its kernels and autograde's started together); the 20 s this costs buy a test that
    # says something about the notebooks, not about two nbgrader processes racing.
    autograde, feedback = grade()
    valid, invert = validate()
    return {"dir": directory, "autograde": autograde, "feedback": feedback, "validate": valid, "invert": invert}


def scores(course, student, assignment):
    """{grade_id: (score, max_score)} of the test cells of one graded submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course['dir'] / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades if g.name.startswith("test_")}


def feedback_text(course, student, assignment):
    page = (course["dir"] / "feedback" / student / assignment / f"{assignment}.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def normalized(path):
    nb = nbformat.read(path, as_version=4)
    cells = [(c.cell_type, c.get("id"), c.source, dict(c.metadata)) for c in nb.cells]
    return dict(nb.metadata), cells


# --- release and validation ----------------------------------------------------------------------------------


def test_exercises_equal_a_fresh_release_of_the_solutions(course):
    for name in ASSIGNMENTS:
        fresh = course["dir"] / "exercises" / name / f"{name}.ipynb"
        stored = ROOT / "exercises" / name / f"{name}.ipynb"
        assert normalized(stored) == normalized(fresh), f"exercises/{name} is stale: run make release"


def test_nbgrader_validate_passes_on_every_solution(course):
    out = course["validate"].stdout
    assert out.count("Success! Your notebook passes all the tests.") == len(ASSIGNMENTS), (
        out[-3000:] + course["validate"].stderr[-3000:]
    )


def test_nbgrader_validate_invert_finds_every_test_failing_on_the_release(course):
    out = course["invert"].stdout
    assert out.count("Success! The notebook does not pass any tests.") == len(ASSIGNMENTS), (
        out[-3000:] + course["invert"].stderr[-3000:]
    )


# --- autograde ----------------------------------------------------------------------------------------------


# Known noise, allowed explicitly: when a kernel's channels close, pyzmq's event loop sometimes logs
# "ERROR:tornado.general:Uncaught exception in ZMQStream callback" and a traceback (a race in jupyter_client's
# shutdown, after the notebook has finished; the scores, checked by the tests below, are not affected).
ZMQ_SHUTDOWN_NOISE = re.compile(
    r"^ERROR:tornado\.general:Uncaught exception in ZMQStream callback\n(?:(?!\[).*\n?)*", re.MULTILINE
)


def test_autograde_and_feedback_run_without_error(course):
    for step in ("autograde", "feedback"):
        process = course[step]
        assert process.returncode == 0, process.stderr[-3000:]
        stderr = ZMQ_SHUTDOWN_NOISE.sub("", process.stderr)
        assert "ERROR" not in stderr, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_autograde_gives_the_solutions_full_marks_and_the_blank_release_zero(course, name):
    correct, blank = scores(course, "correct", name), scores(course, "blank", name)
    assert correct and all(score == top > 0 for score, top in correct.values()), correct
    assert blank.keys() == correct.keys() and all(score == 0 for score, _ in blank.values()), blank


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_typical_bugs_lose_the_points_of_their_function_and_only_those(course, name):
    for student, assignments in _bug_students().items():
        if name not in assignments:
            continue
        broken = {f"test_{grade_id}" for grade_id in assignments[name]}
        got = scores(course, student, name)
        lost = {cell for cell, (score, top) in got.items() if score < top}
        assert lost == broken, (student, got)
        assert all(got[cell][0] == 0 for cell in broken)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_feedback_names_each_mistake(course, name):
    for student, assignments in _bug_students().items():
        if name not in assignments:
            continue
        text = feedback_text(course, student, name)
        for assignment, grade_id, old, new, words in BUGS:
            if assignment == name and assignments[name].get(grade_id) == (old, new):
                assert words in text, (student, grade_id, words)


def test_a_correct_function_that_makes_numpy_warn_keeps_its_points(course):
    graded = nbformat.read(course["dir"] / "autograded" / "noisy" / "02_bptt" / "02_bptt.ipynb", as_version=4)
    cell = next(c for c in graded.cells if c.get("id") == "test_rnn_step_backward")
    assert all(o.output_type != "error" for o in cell.outputs)
    got = scores(course, "noisy", "02_bptt")
    assert all(score == top for score, top in got.values()), got


def test_the_feedback_of_hidden_tests_reveals_no_input_or_expected_value(course):
    from rnn_checks import SPECS
    from rnn_checks import cases as checks_cases

    assert scores(course, "tricky", "01_rnn_cell")["test_rnn_step_forward"][0] == 0
    graded = nbformat.read(course["dir"] / "autograded" / "tricky" / "01_rnn_cell" / "01_rnn_cell.ipynb", as_version=4)
    cell = next(c for c in graded.cells if c.get("id") == "test_rnn_step_forward")
    message = "\n".join(o.get("evalue", "") for o in cell.outputs if o.output_type == "error")
    message = " ".join(message.split())  # wrapped to the width of nbgrader validate
    assert "graded cases fail" in message and "do not show input or expected values" in message
    assert not re.search(r"expected -?\d", message) and not re.search(r"got -?\d", message)
    numbers = [float(n) for n in re.findall(r"(?<![\w.])\d+\.\d+(?:e[+-]\d+)?", message)]
    cases = checks_cases.cases(SPECS["rnn.rnn_step_forward"], hidden=True)
    hidden = np.concatenate(
        [
            a.ravel()
            for case in cases
            for a in checks_cases.arrays(case.args)
            + checks_cases.arrays(checks_cases.reference_outputs(SPECS["rnn.rnn_step_forward"], case))
        ]
    )
    for number in numbers:
        assert len(f"{number:g}".replace(".", "").lstrip("0-")) <= 2, number  # two significant digits at most
        assert not np.any(np.isclose(hidden, number, rtol=1e-9, atol=0)), number
    text = feedback_text(course, "tricky", "01_rnn_cell")
    assert 'rnn_checks.grade(rnn_step_forward, "rnn.rnn_step_forward")' in text  # the hidden test is a bare call
