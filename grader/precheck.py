"""Check a submission before anything runs, and prepare the notebook that will run.

A submission is *quarantined* (not graded, listed for a human with the reason)
only when it cannot be graded:

* the student id (the folder's name) is not printable text (not UTF-8, or a
  control character), which nbgrader's gradebook and feedback cannot take;
* the folder holds a symbolic link or a special file, or is too large;
* a notebook of the assignment is missing (renamed?), is not valid JSON, or
  is not a valid notebook;
* a grade cell (a test cell, or a written answer) was deleted or duplicated:
  there is no cell (or more than one) to give its points.

Everything else is graded, as ``nbgrader autograde`` would, from the source.
What the student changed of the cells nbgrader knows is *restored* and listed
for a human look: a test cell's code (a ``print`` added, say), the kind of a
grade cell, its points, and the nbgrader flags of any cell (a solution cell
re-marked as a 50-point grade cell, a cell of the student's that claims to be
a grade cell).  Smaller things are notes: a read-only cell that was edited (and
is restored), a solution cell copied twice (the last copy counts), text that
was not valid Unicode (a lone UTF-16 surrogate, replaced by U+FFFD), extra files.

:func:`prepare` then makes the notebook to execute the way nbgrader's
``autograde`` does (``ClearOutput``, ``DeduplicateIds``,
``OverwriteKernelspec``, ``OverwriteCells``), with every nbgrader flag and the
notebook's metadata taken from the source, never from the submission:
outputs cleared, every cell known to the gradebook restored to its source
version (hidden tests included), and no nbgrader flag on any other cell.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils
from nbgrader.nbgraderformat import MetadataValidator

from .text import is_printable_name, plain, valid_unicode

MAX_SUBMISSION_BYTES = 50 * 2**20
MAX_NOTEBOOK_BYTES = 20 * 2**20
_FLAGS = ("grade", "solution", "task", "locked")


@dataclass
class Checked:
    """The outcome of :func:`check_submission`."""

    reasons: list = field(default_factory=list)  # why it is quarantined (empty: it is graded)
    notes: list = field(default_factory=list)
    restored: list = field(default_factory=list)  # what the student changed of nbgrader's cells (restored)
    notebooks: dict = field(default_factory=dict)  # name -> NotebookNode, as submitted (valid Unicode)
    files: list = field(default_factory=list)  # other regular files (relative paths)
    timestamp: object = None

    @property
    def quarantined(self):
        return bool(self.reasons)


def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell):
    """The cell's grade id, or None (a grade id that is not a non-empty string is none)."""
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def _describe_edit(old, new):
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if a != b:
            return f"line {number} changed: {b.strip()[:80]!r}"
    if len(new_lines) != len(old_lines):
        change = "added" if len(new_lines) > len(old_lines) else "removed"
        return f"{abs(len(new_lines) - len(old_lines))} line(s) {change}"
    return "whitespace or cell kind changed"


def check_student(student):
    """Why ``student`` (a folder name under ``submitted/``) cannot be graded, or "" when it can."""
    if is_printable_name(student):
        return ""
    return (
        f"the student id {plain(ascii(student), 200)} is not printable text (not UTF-8, or a control character): "
        "nbgrader's gradebook and feedback cannot use it; rename the folder under submitted/"
    )


def check_submission(folder, model, max_bytes=MAX_SUBMISSION_BYTES):
    """Check ``folder`` (``submitted/<student>/<assignment>``) against the trusted ``model``."""
    checked = Checked()
    folder = Path(folder)
    why = check_student(folder.parent.name)
    if why:
        checked.reasons.append(why)
        return checked
    if not folder.exists() and not folder.is_symlink():
        checked.reasons.append(f"no submission: {folder} does not exist")
        return checked
    if folder.is_symlink() or not folder.is_dir():
        checked.reasons.append(f"{folder.name} is not a folder (a symbolic link or a file)")
        return checked
    if folder.parent.is_symlink():  # submitted/<student> itself
        checked.reasons.append(f"{folder.parent.name}/ is a symbolic link")
        return checked
    total = 0
    for directory, subdirs, files in os.walk(folder, followlinks=False):
        for name in subdirs + files:
            path = Path(directory) / name
            mode = path.lstat().st_mode
            relative = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(mode):
                checked.reasons.append(f"contains a symbolic link: {relative} -> {os.readlink(path)}")
            elif stat.S_ISREG(mode):
                total += path.lstat().st_size
                if name not in ("timestamp.txt",) and not (
                    name.endswith(".ipynb") and Path(relative).parent == Path(".")
                ):
                    checked.files.append(relative)
            elif not stat.S_ISDIR(mode):
                checked.reasons.append(f"contains a special file: {relative}")
    if total > max_bytes:
        checked.reasons.append(f"is {total / 2**20:.1f} MB, more than the {max_bytes / 2**20:.0f} MB allowed")
    if checked.reasons:
        return checked
    for name, notebook_model in model.notebooks.items():
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            others = sorted(p.name for p in folder.glob("*.ipynb") if p.stem not in model.notebooks)
            hint = f"; found {', '.join(others)} (renamed?)" if others else ""
            checked.reasons.append(f"{name}.ipynb is missing{hint}")
            continue
        notebook = _read_notebook(path, checked)
        if notebook is None:
            continue
        before = len(checked.reasons)
        _check_cells(name, notebook, notebook_model, checked)
        if len(checked.reasons) == before:
            _check_metadata(path.name, notebook, checked)
        checked.notebooks[name] = notebook
    checked.timestamp = _timestamp(folder, checked)
    if checked.files:
        checked.notes.append(f"extra files: {', '.join(checked.files[:10])}{' ...' if len(checked.files) > 10 else ''}")
    return checked


def _read_notebook(path, checked):
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        checked.reasons.append(f"{path.name} is {size / 2**20:.1f} MB, more than {MAX_NOTEBOOK_BYTES / 2**20:.0f} MB")
        return None
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        checked.reasons.append(f"{path.name} is not UTF-8 text")
        return None
    except (ValueError, RecursionError) as exc:
        checked.reasons.append(f"{path.name} is not valid JSON ({str(exc)[:120]})")
        return None
    # JSON may spell a lone UTF-16 surrogate ("\ud800"), which no UTF-8 file can hold: the notebook graded,
    # written back and shown has U+FFFD in its place (as a UTF-8 decoder would put for a broken byte).
    data, surrogates = valid_unicode(data)
    if surrogates:
        checked.notes.append(
            f"{path.name}: {surrogates} lone UTF-16 surrogate(s) (text that is not valid Unicode) replaced by U+FFFD"
        )
    try:
        notebook = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # nbformat raises several kinds for a broken notebook
        checked.reasons.append(f"{path.name} is not a valid notebook ({str(exc).splitlines()[0][:160]})")
        return None
    return notebook


def _check_metadata(path_name, notebook, checked):
    """nbgrader's own check of the cell metadata: what it finds is replaced by the source's flags."""
    try:
        MetadataValidator().validate_nb(copy.deepcopy(notebook))
    except Exception as exc:
        message = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        checked.restored.append(
            f"{path_name}: the nbgrader metadata is not valid ({message}); every flag is taken from the source"
        )


def _role(grade_id, model):
    if grade_id in model.test_ids:
        return "test cell"
    if grade_id in model.grade_points:
        return "graded answer"
    if grade_id in model.solution_ids:
        return "solution cell"
    return "read-only cell" if model.source_cells[grade_id].locked else "cell"


def _check_cells(name, notebook, model, checked):
    counts = {}
    for cell in notebook.cells:
        grade_id = _grade_id(cell)
        if grade_id:
            counts.setdefault(grade_id, []).append(cell)
        elif any(_nbgrader(cell).get(flag) for flag in _FLAGS + ("points",)):
            checked.restored.append(
                f"{name}: a cell with no grade id is marked as an nbgrader cell; its flags are removed"
            )
    graded = set(model.grade_points)
    for grade_id, cells in counts.items():
        if grade_id not in model.source_cells:
            meta = _nbgrader(cells[0])
            if any(meta.get(flag) for flag in _FLAGS + ("points",)):
                checked.restored.append(
                    f"{name}: cell {grade_id!r} claims to be an nbgrader cell, but no such cell exists; "
                    "it is graded as a cell of the student's (its flags are removed)"
                )
            continue
        if len(cells) > 1:
            if grade_id in graded:
                checked.reasons.append(f"{name}: grade cell {grade_id!r} appears {len(cells)} times (duplicated)")
            else:
                checked.notes.append(f"{name}: cell {grade_id!r} appears {len(cells)} times; the last copy counts")
    for grade_id in model.grade_points:
        if grade_id not in counts:
            kind = "test cell" if grade_id in model.test_ids else "graded answer"
            checked.reasons.append(f"{name}: {kind} {grade_id!r} was deleted")
    for grade_id, cells in counts.items():
        if grade_id not in model.source_cells or (grade_id in graded and len(cells) > 1):
            continue
        cell, source, release = cells[-1], model.source_cells[grade_id], model.release_cells.get(grade_id)
        role = _role(grade_id, model)
        changed = _changed_flags(_nbgrader(cell), trusted_flags(grade_id, model))
        if changed:
            checked.restored.append(
                f"{name}: the nbgrader flags of {role} {grade_id!r} were changed ({', '.join(changed)}); "
                "the source's are used"
            )
        if cell.cell_type != source.cell_type:
            checked.restored.append(
                f"{name}: {role} {grade_id!r} was changed from a {source.cell_type} cell to a {cell.cell_type} cell; "
                f"it is a {source.cell_type} cell again"
            )
        elif source.locked and release is not None and cell.source != release.source:
            edit = _describe_edit(release.source, cell.source)
            what = f"{name}: {role} {grade_id!r} was edited ({edit}); the original is restored"
            (checked.restored if grade_id in graded else checked.notes).append(what)


def _changed_flags(mine, trusted):
    """What differs between the student's nbgrader flags and the source's, in words (empty: nothing)."""
    changed = [f"{flag}: {mine.get(flag)!r}" for flag in _FLAGS if bool(mine.get(flag)) != bool(trusted.get(flag))]
    try:
        points = float(mine["points"]) if "points" in mine else None
    except (TypeError, ValueError, OverflowError):
        points = float("nan")  # not a number: never equal to the source's
    if trusted.get("grade") or trusted.get("task") or mine.get("grade"):
        wrong = points != trusted.get("points")
    else:
        wrong = bool(points)  # points on a cell that gives none (0 or none at all is what nbgrader writes)
    if wrong:
        changed.append(f"points: {plain(repr(mine.get('points')), 40)}")
    return changed


def trusted_flags(grade_id, model):
    """The nbgrader metadata of cell ``grade_id`` from the source: the release's, with the gradebook's values."""
    source = model.source_cells[grade_id]
    release = model.release_cells.get(grade_id)
    flags = copy.deepcopy(_nbgrader(release)) if release is not None else {}
    flags.update(
        grade_id=grade_id,
        cell_type=source.cell_type,
        grade=grade_id in model.grade_points,
        solution=grade_id in model.solution_ids,
        task=grade_id in model.task_ids,
        locked=bool(source.locked),
    )
    flags.setdefault("schema_version", 3)
    if source.checksum is not None:
        flags["checksum"] = source.checksum
    if flags["grade"]:
        flags["points"] = model.grade_points[grade_id]
    elif not flags["task"]:
        flags.pop("points", None)
    return flags


def _timestamp(folder, checked):
    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    text = path.read_bytes()[:200].decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        return nbutils.parse_utc(text)
    except (ValueError, OverflowError):
        checked.notes.append(f"timestamp.txt is not a date ({text[:40]!r}); ignored")
        return None


def prepare(notebook, model):
    """The notebook to execute: nbgrader's sanitizing steps, from the trusted model (returns a copy).

    Every nbgrader flag comes from the source: a cell the gradebook knows gets
    the source's flags (and, when read-only, its source and cell type back); any
    other cell gets none; the notebook's metadata is the release's.  The other
    metadata of the student's cells (tags, say) is dropped: nothing reads it,
    and HTML templates show some of it as it is.
    """
    notebook = copy.deepcopy(notebook)
    notebook.metadata = copy.deepcopy(model.release.metadata)  # OverwriteKernelspec, and nothing of the student's
    known, seen = {}, set()
    for cell in reversed(notebook.cells):  # DeduplicateIds: the last copy keeps the id
        grade_id = _grade_id(cell)
        if grade_id in model.source_cells and grade_id not in seen:
            known[id(cell)] = grade_id
            seen.add(grade_id)
    for cell in notebook.cells:
        if cell.cell_type == "code":  # ClearOutput
            cell.outputs, cell.execution_count = [], None
        grade_id = known.get(id(cell))
        if grade_id is None:
            cell.metadata = nbformat.NotebookNode()
            continue
        source, release = model.source_cells[grade_id], model.release_cells.get(grade_id)
        metadata = copy.deepcopy(release.metadata) if release is not None else nbformat.NotebookNode()
        metadata["nbgrader"] = nbformat.from_dict(trusted_flags(grade_id, model))
        cell.metadata = nbformat.from_dict(metadata)
        if cell.cell_type != source.cell_type:  # OverwriteCells
            cell.cell_type = source.cell_type
            if source.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
                cell.pop("attachments", None)
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        if source.locked:
            cell.source = source.source
    return notebook


def code_cells(notebook, model):
    """``[{"index", "source", "role"}]`` of the code cells, role "test", "solution", "locked" or "free"."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        grade_id = _grade_id(cell)
        if grade_id in model.test_ids:
            role = "test"
        elif meta.get("solution"):
            role = "solution"
        elif meta.get("locked"):
            role = "locked"
        else:
            role = "free"
        cells.append({"index": index, "source": cell.source, "role": role, "grade_id": grade_id})
    return cells


def unchanged_answer(cell, model, grade_id):
    """True when a solution cell is exactly as released (nbgrader's "No response.")."""
    release = model.release_cells.get(grade_id)
    return release is not None and cell.source == release.source and cell.cell_type == release.cell_type
