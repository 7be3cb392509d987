"""Grading works where instructors install it, and refuses with what to do where it cannot.

The layouts built here (each graded end to end, an honest correct and an honest blank student):

* the virtual environment outside the course, with an editable install made elsewhere: every grading
  test does it (the course is a throwaway copy under the temporary folder; the environment and the
  editable install are the repository's);
* the course found through the working directory, not installed (``python -m grader`` run from the
  course, as an instructor with a venv that holds only the dependencies would): before the packages had a
  fixed place in the sandbox, every student scored 0 with "os._exit or sys.exit?";
* an instructor who is not root (``setpriv`` to another user, when the tests run as root and the
  interpreter is reachable by other users);
* an interpreter without NumPy: refused before any student, with what to do.

Grading as root with the interpreter under ``/root`` (mode 0700, staged for the sandbox's user) is how the
development machine runs every test.  No conda here: a conda environment is a prefix like the interpreter
under ``/root``, mounted the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hostile.corpus import Kit
from hostile.course import ROOT, make_course, require_sandbox, submit, tight_limits

from grader.course import Course
from grader.judge import RNN_REF_DIR
from grader.pipeline import Grader
from grader.preflight import SetupError, check_imports, package_binds
from grader.sandbox import Sandbox, _reachable_by_others

ASSIGNMENT = "01_rnn_cell"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    require_sandbox()
    directory = make_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    kit = Kit.load(directory, ASSIGNMENT)
    submit(directory, "correct", ASSIGNMENT, kit.honest())
    submit(directory, "blank", ASSIGNMENT, kit.blank())
    return directory


def _grade_with_the_command(course, *, cwd, user=None, env=None):
    """``python -m grader grade`` in a subprocess; the report's totals per student."""
    command = [
        sys.executable,
        "-m",
        "grader",
        "grade",
        ASSIGNMENT,
        "--course",
        str(course),
        "--no-feedback",
        "--jobs",
        "2",
        "--cell-seconds",
        "30",
    ]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 3), done.stdout + done.stderr  # 3: some need a look (similarity, say)
    report = json.loads((Path(course) / "reports" / f"{ASSIGNMENT}.json").read_text())
    return {s["student"]: (s["total"], s["max_total"]) for s in report["students"]}, done


def test_the_course_found_through_the_working_directory_is_graded(course, tmp_path):
    """rnn_ref and rnn_checks importable only because the grader runs from the course (not installed)."""
    for package in ("rnn_ref", "rnn_checks"):
        shutil.copytree(ROOT / package, course / package, ignore=shutil.ignore_patterns("__pycache__"))
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import rnn_ref; print(rnn_ref.__file__)"],
            cwd=course,
            capture_output=True,
            text=True,
            check=True,
        )
        assert probe.stdout.strip() == str(course / "rnn_ref" / "__init__.py")  # the copy, not the install
        totals, _ = _grade_with_the_command(course, cwd=course)
    finally:
        for package in ("rnn_ref", "rnn_checks"):
            shutil.rmtree(course / package)
    assert totals["correct"][0] == totals["correct"][1] > 0
    assert totals["blank"][0] == 0


def test_a_non_root_instructor_grades_alike(course):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (to become another user with setpriv)")
    interpreter = [Path(sys.executable).resolve(), Path(sys.prefix)]
    unreachable = [str(path) for path in interpreter if not _reachable_by_others(path)]
    if unreachable:
        pytest.skip(f"the interpreter is not reachable by other users here ({', '.join(unreachable)})")
    user = 62_000
    # not under pytest's temporary folder: it is private to root
    base = Path(tempfile.mkdtemp(prefix="grader-non-root-"))
    try:
        own, home = base / "course", base / "home"
        shutil.copytree(course, own, symlinks=True)
        home.mkdir()
        for path in [base, *base.rglob("*")]:
            os.chown(path, user, user, follow_symlinks=False)
        env = dict(os.environ, HOME=str(home), TMPDIR=str(base))
        totals, _ = _grade_with_the_command(own, cwd=own, user=user, env=env)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert totals["correct"][0] == totals["correct"][1] > 0
    assert totals["blank"][0] == 0


def test_an_interpreter_without_numpy_is_refused_before_any_student(course, tmp_path):
    """A Python that cannot import NumPy in the sandbox: a SetupError that says what to do, and nobody graded."""
    bare = tmp_path / "bare"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(bare)], check=True)
    sandbox = Sandbox(tight_limits(), python=str(bare / "bin" / "python"))
    submit(course, "refused", ASSIGNMENT, Kit.load(course, ASSIGNMENT).honest())
    grader = Grader(Course.load(course), ASSIGNMENT, sandbox, jobs=1, log=str)
    try:
        with pytest.raises(SetupError) as refused:
            grader.grade(["refused"], feedback=False)
    finally:
        grader.close()
        shutil.rmtree(course / "submitted" / "refused")
    message = str(refused.value)
    assert "numpy cannot be imported: ModuleNotFoundError" in message
    assert f"{bare / 'bin' / 'python'} -m pip install" in message and "numpy" in message
    assert "PYTHONPATH" in message and "No student was graded" in message
    assert not (course / "autograded" / "refused").exists()


def test_the_preflight_mounts_the_packages_as_the_runs_do(course, monkeypatch):
    """The check is only worth something if it imports what the judge's and the feedback's runs import."""
    sandbox = require_sandbox(tight_limits())
    grader = Grader(Course.load(course), ASSIGNMENT, sandbox, jobs=1, log=str)
    seen = []
    real = Sandbox.run_script

    def recording(self, script, args, binds=(), slot=0, **options):
        seen.append((script, sorted(binds)))
        return real(self, script, args, binds=binds, slot=slot, **options)

    monkeypatch.setattr(Sandbox, "run_script", recording)
    try:
        grader.check_environment()
        grader.grade(["correct"], feedback=False)
        view = grader.judge.groups[0].view.path
        package = grader.package
    finally:
        grader.close()
    packages = {dest for _, dest in package_binds(RNN_REF_DIR, RNN_REF_DIR.parent / "rnn_checks")}
    judge = {(s, d) for script, binds in seen if script == "run_judge.py" for s, d in binds if d in packages}
    feedback = {(s, d) for script, binds in seen if script == "run_notebook.py" for s, d in binds if d in packages}
    assert judge and feedback
    views = {str(group.view.path) for group in grader.judge.groups}
    assert {d for _, d in judge} == packages and {s for s, d in judge if d.endswith("rnn_ref")} <= views
    assert set(package_binds(package, package.parent / "rnn_checks")) == feedback
    one_view = {(s, d) for s, d in judge if s in (str(view), str(view.parent / "rnn_checks"))}
    assert one_view == set(package_binds(view, view.parent / "rnn_checks"))


def test_the_judge_sees_the_view_wherever_the_host_finds_the_package(course):
    """Every place the grader's Python finds rnn_ref is covered by the view inside the sandbox."""
    from grader.judge import mount_points

    points = mount_points("rnn_ref")
    assert points[0] == "/opt/grader/packages/rnn_ref"
    for entry in sys.path:
        candidate = Path(entry or os.curdir) / "rnn_ref"
        if candidate.is_dir():
            assert str(candidate.resolve()) in points and str(candidate.absolute()) in points
    sandbox = require_sandbox(tight_limits())
    check_imports(sandbox, None, RNN_REF_DIR)  # the real package, from the fixed place: no complaint


def test_copies_in_the_base_interpreters_packages_are_hidden_too(tmp_path, monkeypatch):
    """A venv without system packages does not look in the base interpreter's site-packages, but a student's
    ``sys.path.append`` can: a copy of rnn_ref or an autodiff library installed there is covered as well."""
    from grader import judge

    site = tmp_path / "base" / "lib" / "python3.11" / "site-packages"
    for package in ("rnn_ref", "torch"):
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
    (site / "autograd.py").write_text("")
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / "base"))
    assert str(site) in judge.package_folders()
    assert str(site / "rnn_ref") in judge.mount_points("rnn_ref")
    hidden = judge.autodiff_locations()
    assert str(site / "torch") in hidden and str(site / "autograd.py") in hidden
    inside = judge._inside(hidden, [(str(tmp_path / "base"), str(tmp_path / "base"))])
    assert str(site / "torch") in inside and str(site / "autograd.py") in inside
