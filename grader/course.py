"""The course as nbgrader sees it, and the trusted description of one assignment.

Everything the grader trusts about an assignment comes from the instructor's
side: nbgrader's gradebook (the source cells saved by ``nbgrader
generate_assignment``, hidden tests included, and the points of every grade
cell) and the release notebooks in ``exercises/`` (what the students were
given, with the checksums of the read-only cells).  Nothing is read from a
submission here.

A test cell is *judged* when its source calls ``testing.check``,
``testing.grade`` or ``testing.check_example`` with a function of the
notebook and the name of its reference (``testing.grade(lstm_forward,
"lstm.lstm_forward")``): the judge then gives its points.  A grade cell
without such a call keeps nbgrader's own rule (points unless the cell shows
an error) and is reported as *untrusted*.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

_TESTING_CALLS = {"check", "grade", "check_example"}


class CourseError(RuntimeError):
    """The course is not ready to be graded (no gradebook entry, no release, ...)."""


@dataclass
class Course:
    """An nbgrader course directory, configured by its ``nbgrader_config.py``."""

    root: Path
    coursedir: CourseDirectory
    config: Config

    @classmethod
    def load(cls, root):
        root = Path(root).resolve()
        config = Config()
        if (root / "nbgrader_config.py").exists():
            config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(root)
        return cls(root, coursedir, config)

    @property
    def db_url(self):
        return self.coursedir.db_url

    def path(self, step, student, assignment):
        """``<root>/<step>/<student>/<assignment>`` (nbgrader's directory structure; links not followed)."""
        return Path(os.path.normpath(self.coursedir.format_path(step, student, assignment)))

    def release_dir(self, assignment):
        return self.path(self.coursedir.release_directory, ".", assignment)

    def source_dir(self, assignment):
        return self.path(self.coursedir.source_directory, ".", assignment)

    def submitted_dir(self, student, assignment):
        return self.path(self.coursedir.submitted_directory, student, assignment)

    def autograded_dir(self, student, assignment):
        return self.path(self.coursedir.autograded_directory, student, assignment)

    def students(self, assignment):
        """Students with a submission of ``assignment`` (directories ``submitted/<student>/<assignment>``)."""
        submitted = Path(self.coursedir.root) / self.coursedir.submitted_directory
        if not submitted.is_dir():
            return []
        found = []
        for entry in sorted(submitted.iterdir()):
            if (entry / assignment).exists() or (entry / assignment).is_symlink():
                found.append(entry.name)
        return found

    def cell_timeout(self, default=60.0):
        """nbgrader's ``Execute.timeout`` (seconds per cell), if the course sets it."""
        try:
            value = self.config.Execute.timeout
        except AttributeError:
            return default
        return float(value) if isinstance(value, (int, float)) and value > 0 else default


@dataclass
class Function:
    """A graded function: its name in the notebook, its reference, the test cell that gives its points."""

    name: str
    key: str
    grade_id: str
    notebook: str


@dataclass
class SourceCell:
    grade_id: str
    cell_type: str
    locked: bool
    source: str
    checksum: str


@dataclass
class NotebookModel:
    """One notebook of the assignment, from the gradebook and the release."""

    name: str
    release: nbformat.NotebookNode
    source_cells: dict  # grade_id -> SourceCell (test cells with their hidden tests)
    grade_points: dict  # grade_id -> max score, for every grade cell
    test_ids: list  # code grade cells that are not solution cells (autograded tests)
    written_ids: list  # grade cells that are also solution cells (answers graded by hand)
    solution_ids: list
    task_ids: list
    release_cells: dict = field(default_factory=dict)  # grade_id -> cell of the release
    tests: dict = field(default_factory=dict)  # test grade_id -> [Function]


@dataclass
class AssignmentModel:
    name: str
    notebooks: dict  # name -> NotebookModel

    @property
    def functions(self):
        return [f for nb in self.notebooks.values() for fs in nb.tests.values() for f in fs]

    def untrusted_tests(self):
        """Test cells the judge cannot grade (no testing call with a known reference)."""
        return [(nb.name, gid) for nb in self.notebooks.values() for gid in nb.test_ids if not nb.tests.get(gid)]

    @property
    def max_score(self):
        return sum(sum(nb.grade_points.values()) for nb in self.notebooks.values())


def testing_calls(source, known_keys):
    """``[(function name, reference key)]`` called through rnn_ref.testing in a test cell's source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name not in _TESTING_CALLS:
            continue
        fn, key = node.args[0], node.args[1]
        if isinstance(fn, ast.Name) and isinstance(key, ast.Constant) and isinstance(key.value, str):
            if key.value in known_keys and (fn.id, key.value) not in found:
                found.append((fn.id, key.value))
    return found


def load_assignment(course, assignment, known_keys):
    """The trusted model of ``assignment``; CourseError if it was never generated."""
    fresh = course.db_url.startswith("sqlite:///") and not Path(course.db_url[len("sqlite:///") :]).exists()
    try:
        gradebook = Gradebook(course.db_url, course.coursedir.course_id)
    except Exception as exc:  # no database, or another course's
        advice = " (a fresh clone has none: run `make release` first)" if fresh else ""
        raise CourseError(f"cannot open the gradebook {course.db_url}: {exc}{advice}") from exc
    with gradebook as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(
                f"assignment {assignment!r} is not in the gradebook ({course.db_url}): run `make release` first "
                "(it records every assignment of solutions/ in the gradebook, as on a fresh clone)"
            ) from None
        notebooks = {}
        for notebook in record.notebooks:
            release_path = course.release_dir(assignment) / f"{notebook.name}.ipynb"
            if not release_path.exists():
                raise CourseError(f"{release_path} is missing: run `make release` first")
            release = nbformat.read(release_path, as_version=4)
            source_cells = {
                c.name: SourceCell(c.name, c.cell_type, bool(c.locked), c.source, c.checksum)
                for c in notebook.source_cells
            }
            solution_ids = [c.name for c in notebook.solution_cells]
            grade_cells = list(notebook.grade_cells)
            model = NotebookModel(
                name=notebook.name,
                release=release,
                source_cells=source_cells,
                grade_points={c.name: float(c.max_score) for c in grade_cells},
                test_ids=[c.name for c in grade_cells if c.cell_type == "code" and c.name not in solution_ids],
                written_ids=[c.name for c in grade_cells if c.name in solution_ids],
                solution_ids=solution_ids,
                task_ids=[c.name for c in notebook.task_cells],
            )
            for cell in release.cells:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id:
                    model.release_cells[grade_id] = cell
            for grade_id in model.test_ids:
                calls = testing_calls(source_cells[grade_id].source, known_keys)
                model.tests[grade_id] = [Function(name, key, grade_id, notebook.name) for name, key in calls]
            notebooks[notebook.name] = model
    if not notebooks:
        raise CourseError(f"assignment {assignment!r} has no notebooks in the gradebook")
    return AssignmentModel(assignment, notebooks)
