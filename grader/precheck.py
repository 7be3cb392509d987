"""Check a submission before anything runs, and prepare the notebook that will run.

A submission is *quarantined* (not graded, listed for a human with the reason)
when it is not what the students were given plus their answers:

* the folder holds a symbolic link or a special file, or is too large;
* a notebook of the assignment is missing (renamed?), is not valid JSON, or
  is not a valid notebook, or its nbgrader metadata is corrupt;
* a grade cell (a test cell, or a written answer) was deleted, duplicated,
  changed into another kind of cell, or had its points changed; a test cell's
  code was edited; a cell claims to be a grade cell that does not exist.

Everything else is graded, with notes in the report: a read-only cell that
was edited is restored from the source, a solution cell copied twice keeps
its last copy (as nbgrader does), extra files are listed.

:func:`prepare` then makes the notebook to execute the way nbgrader's
``autograde`` does (``ClearOutput``, ``DeduplicateIds``,
``OverwriteKernelspec``, ``OverwriteCells``): outputs cleared, and every cell
known to the gradebook restored to its source version, hidden tests included.
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

MAX_SUBMISSION_BYTES = 50 * 2**20
MAX_NOTEBOOK_BYTES = 20 * 2**20


@dataclass
class Checked:
    """The outcome of :func:`check_submission`."""

    reasons: list = field(default_factory=list)  # why it is quarantined (empty: it is graded)
    notes: list = field(default_factory=list)
    notebooks: dict = field(default_factory=dict)  # name -> NotebookNode, as submitted
    files: list = field(default_factory=list)  # other regular files (relative paths)
    timestamp: object = None

    @property
    def quarantined(self):
        return bool(self.reasons)


def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _describe_edit(old, new):
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if a != b:
            return f"line {number} changed: {b.strip()[:80]!r}"
    if len(new_lines) != len(old_lines):
        change = "added" if len(new_lines) > len(old_lines) else "removed"
        return f"{abs(len(new_lines) - len(old_lines))} line(s) {change}"
    return "whitespace or cell kind changed"


def check_submission(folder, model, max_bytes=MAX_SUBMISSION_BYTES):
    """Check ``folder`` (``submitted/<student>/<assignment>``) against the trusted ``model``."""
    checked = Checked()
    folder = Path(folder)
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
        text = raw.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        checked.reasons.append(f"{path.name} is not UTF-8 text")
        return None
    except (ValueError, RecursionError) as exc:
        checked.reasons.append(f"{path.name} is not valid JSON ({str(exc)[:120]})")
        return None
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # nbformat raises several kinds for a broken notebook
        checked.reasons.append(f"{path.name} is not a valid notebook ({str(exc).splitlines()[0][:160]})")
        return None
    return notebook


def _check_metadata(path_name, notebook, checked):
    """nbgrader's own check of the cell metadata (after ours, whose reasons are clearer)."""
    try:
        MetadataValidator().validate_nb(copy.deepcopy(notebook))
    except Exception as exc:
        checked.reasons.append(f"{path_name}: the nbgrader metadata is corrupt ({str(exc).splitlines()[0][:160]})")


def _check_cells(name, notebook, model, checked):
    counts = {}
    for cell in notebook.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id:
            counts.setdefault(grade_id, []).append(cell)
    graded = set(model.grade_points)
    for grade_id, cells in counts.items():
        meta = _nbgrader(cells[0])
        if grade_id not in model.source_cells:
            if meta.get("grade") or meta.get("points"):
                checked.reasons.append(f"{name}: cell {grade_id!r} claims to be a grade cell, but no such cell exists")
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
            continue
        cell = counts[grade_id][-1]
        release = model.release_cells.get(grade_id)
        meta = _nbgrader(cell)
        points = meta.get("points")
        try:
            points = float(points)
        except (TypeError, ValueError):
            points = None
        if not meta.get("grade"):
            checked.reasons.append(f"{name}: {grade_id!r} is no longer marked as a grade cell")
        if points != model.grade_points[grade_id]:
            checked.reasons.append(
                f"{name}: the points of {grade_id!r} were changed "
                f"from {model.grade_points[grade_id]:g} to {meta.get('points')!r}"
            )
        if release is not None and cell.cell_type != release.cell_type:
            checked.reasons.append(
                f"{name}: {grade_id!r} was changed from a {release.cell_type} cell to a {cell.cell_type} cell"
            )
        elif release is not None and grade_id in model.test_ids and cell.source != release.source:
            checked.reasons.append(
                f"{name}: test cell {grade_id!r} was edited ({_describe_edit(release.source, cell.source)})"
            )
        elif release is not None and grade_id in model.test_ids and not _same_checksum(cell, release):
            checked.reasons.append(f"{name}: the nbgrader flags of test cell {grade_id!r} were changed")
    for grade_id, cells in counts.items():
        source = model.source_cells.get(grade_id)
        release = model.release_cells.get(grade_id)
        if source is None or release is None or grade_id in graded or not source.locked:
            continue
        if cells[-1].source != release.source:
            checked.notes.append(f"{name}: read-only cell {grade_id!r} was edited; the original is restored")


def _same_checksum(cell, release):
    expected = _nbgrader(release).get("checksum")
    try:
        return expected is None or nbutils.compute_checksum(cell) == expected
    except (KeyError, TypeError, ValueError):
        return False


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
    """The notebook to execute: nbgrader's sanitizing steps, from the trusted model (returns a copy)."""
    notebook = copy.deepcopy(notebook)
    notebook.metadata["kernelspec"] = copy.deepcopy(model.release.metadata.get("kernelspec", {}))
    seen = set()
    for cell in reversed(notebook.cells):  # DeduplicateIds: the last copy keeps the id
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if grade_id and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            if grade_id in seen:
                cell.metadata["nbgrader"] = {}
            seen.add(grade_id)
    for cell in notebook.cells:
        if cell.cell_type == "code":  # ClearOutput
            cell.outputs, cell.execution_count = [], None
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if not grade_id:
            continue
        source = model.source_cells.get(grade_id)
        if source is None:
            del meta["grade_id"]
            continue
        if cell.cell_type != source.cell_type:  # OverwriteCells
            cell.cell_type = source.cell_type
            if source.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        meta["locked"] = source.locked
        if grade_id in model.grade_points:
            meta["points"] = model.grade_points[grade_id]
        meta["checksum"] = source.checksum
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
        grade_id = meta.get("grade_id")
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


def checksum(cell):
    return nbutils.compute_checksum(cell)
