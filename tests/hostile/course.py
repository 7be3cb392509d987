"""Helpers of the grading tests: a throwaway copy of the course, the sandbox or a visible skip, tight limits."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def require_sandbox(limits=None):
    """A working :class:`grader.sandbox.Sandbox`; a visible skip without bubblewrap.

    ``make test`` sets ``RNN_REQUIRE_SANDBOX=1`` (after ``make grading-setup``
    installed bubblewrap), which turns the skip into a failure.
    """
    from grader.sandbox import Sandbox, SandboxUnavailable

    sandbox = Sandbox(limits or tight_limits())
    try:
        sandbox.check()
    except SandboxUnavailable as exc:
        if os.environ.get("RNN_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"the grading sandbox is required (RNN_REQUIRE_SANDBOX=1) but unavailable: {exc}")
        pytest.skip(f"no grading sandbox here ({exc}); `make grading-setup` installs bubblewrap")
    return sandbox


def tight_limits(**changes):
    """Limits small enough that hostile cases end in seconds, large enough for honest notebooks on 2 busy cores."""
    from grader.sandbox import Limits

    values = dict(
        memory_mb=768,
        cpu_seconds=30,
        processes=12,
        file_mb=8,
        tmp_mb=32,
        cell_seconds=6.0,
        run_seconds=90.0,
        student_seconds=60.0,
        output_mb=4,
    )
    values.update(changes)
    return Limits(**values)


def nbgrader(course, *args):
    """Run an nbgrader command in ``course`` (its alembic must be on the PATH, hence the venv's bin first)."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(bin_dir / "nbgrader"), *args, "--log-level=ERROR"]
    return subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, check=True)


_RELEASED = {}  # assignments -> a course released once per test session (nbgrader takes many seconds), copied


def make_course(directory, assignments):
    """A copy of the course in ``directory`` with ``assignments`` released (its own gradebook).

    ``nbgrader generate_assignment`` runs once per set of assignments and test session; each call gets a copy
    of that course (nbgrader_config.py finds its root from its own place, and the gradebook holds no path).
    """
    key = tuple(sorted(assignments))
    if key not in _RELEASED:
        released = Path(tempfile.mkdtemp(prefix="released-course-"))
        atexit.register(shutil.rmtree, released, ignore_errors=True)
        shutil.copy(ROOT / "nbgrader_config.py", released / "nbgrader_config.py")
        for name in assignments:
            shutil.copytree(ROOT / "solutions" / name, released / "solutions" / name)
        nbgrader(released, "generate_assignment", "*", "--force")
        _RELEASED[key] = released
    directory = Path(directory)
    shutil.copytree(_RELEASED[key], directory, dirs_exist_ok=True)
    return directory


def assignments():
    """The assignments that exist in solutions/."""
    return sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*") if (p / f"{p.name}.ipynb").exists())


def submit(course, student, assignment, notebook):
    path = Path(course) / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
