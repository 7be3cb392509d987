"""The instructor's commands say what to do: a fresh clone is told to run `make release`, and `make grade`
reports "some need a human look" (the grader's exit status 3) as a result, not as a make error."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.course import Course, CourseError, load_assignment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("alembic_on_path", [True, False])
def test_a_course_never_released_is_told_to_run_make_release(tmp_path, monkeypatch, alembic_on_path):
    """As on a fresh clone: no gradebook.db (nbgrader makes one with alembic, which `make grade` puts on the PATH)."""
    import sys

    bin_dir = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bin_dir]
    monkeypatch.setenv("PATH", os.pathsep.join(([bin_dir] if alembic_on_path else []) + path))
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    course = Course.load(tmp_path)
    course.coursedir.root = str(tmp_path)
    with pytest.raises(CourseError) as info:
        load_assignment(course, "04_lstm", set())
    assert "make release" in str(info.value) and "generate_assignment" not in str(info.value)


def _make_grade(tmp_path, status):
    """`make grade` with the grader replaced by a script that exits with ``status``: (exit code, output)."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "grader $*"\ncase "$*" in *"grader grade"*) exit $FAKE_STATUS;; esac\n')
    fake.chmod(0o755)
    env = dict(os.environ, FAKE_STATUS=str(status))
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "-o", "grading-setup", "grade", "A=04_lstm", f"PY={fake}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def test_make_grade_reports_submissions_to_review_without_a_make_error(tmp_path):
    code, output = _make_grade(tmp_path, 3)
    assert code == 0, output
    assert "some need a human look" in output and "Error" not in output


@pytest.mark.parametrize("status", [1, 2])
def test_make_grade_still_fails_when_grading_fails(tmp_path, status):
    code, output = _make_grade(tmp_path, status)
    assert code != 0 and f"Error {status}" in output, output
