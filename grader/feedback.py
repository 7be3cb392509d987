"""The feedback run: the whole notebook executed in the sandbox, for the messages the student reads.

The test cells run here with the real :mod:`rnn_checks` and print what
they print in Jupyter.  The outputs come back as untrusted data and are put
into the notebook nbgrader will turn into feedback, after checks: only the
output types of nbformat, only inert MIME types (text, LaTeX, PNG, JPEG; HTML
and Markdown only as HTML sanitized by :mod:`grader.inert`; no SVG, no
JavaScript, no widget, no metadata), every string valid Unicode without control
characters, everything cut to size.  A cell that killed the run gets an error
output that says so, and the run is started once more without it.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import LimitOutput

from .inert import Budget, markdown_to_html, sanitize
from .judge import RNN_REF_DIR, Death, _death_of, _make_readable, mount_points
from .text import valid_unicode

SAFE_MIME = ("text/plain", "text/latex", "image/png", "image/jpeg")  # kept as they are (escaped when shown)
HTML_MIME = ("text/html", "text/markdown")  # kept as HTML sanitized by grader.inert, under "text/html"
_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
MAX_OUTPUTS = 64  # per cell
MAX_TEXT = 200_000  # characters of one text (a stream, a text/plain, an error's value)
MAX_MARKUP = 100_000  # characters of HTML, Markdown or LaTeX
MAX_IMAGE = 4 * 2**20  # characters of one base64 image
MAX_TRACEBACK = 200  # lines
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")  # C0 controls but tab, new lines and ESC (colours)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def run_notebook(sandbox, notebook, cells, slot, workdir, skip_cells=None, package=RNN_REF_DIR):
    """Execute the code ``cells`` of ``notebook`` (a prepared copy); return (executed notebook, deaths).

    ``package`` is the rnn_ref the notebook imports (a byte-compiled copy, mounted read-only); the rnn_checks
    it imports lies beside it.
    """
    skip_cells = dict(skip_cells or {})
    deaths, result = [], None
    for _attempt in range(2):
        result = _run(sandbox, cells, slot, workdir, skip_cells, Path(package))
        if result.completed:
            break
        death = _death_of(result, known_cells={c["index"] for c in cells})  # a forged index is no cell's
        deaths.append(death)
        if death.kind != "cell":
            break
        skip_cells[death.index] = death.failure
    final = deaths[-1] if deaths and not result.completed and deaths[-1].kind == "cell" else None
    executed = copy.deepcopy(notebook)
    outputs = _outputs(result.events)
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        if index in outputs:
            cell.outputs, cell.execution_count = outputs[index]
        if index in skip_cells:
            message = f"the grader stopped this cell: it {skip_cells[index]}"
            if final is not None and final.index == index:
                message += "; the cells after it were not run"
            cell.outputs = [_error_output("GraderStopped", message)]
    LimitOutput().preprocess(executed, {})
    try:
        nbformat.validate(executed)
    except nbformat.ValidationError:  # should not happen after the checks; never let it break the batch
        for cell in executed.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if _valid(o)]
    return executed, deaths


def _run(sandbox, cells, slot, workdir, skip_cells, package):
    job = {
        "cells": [{"index": c["index"], "source": c["source"]} for c in cells],
        "skip_cells": {str(k): v for k, v in skip_cells.items()},
        "stream_limit": sandbox.limits.stream_kb * 1024,
    }
    with tempfile.TemporaryDirectory(prefix="feedback-", dir=workdir) as job_dir:
        Path(job_dir, "job.json").write_text(json.dumps(job), encoding="utf-8")
        _make_readable(Path(job_dir))
        if sandbox.unsafe:
            return sandbox.run_script(
                "run_notebook.py", ["--job", f"{job_dir}/job.json"], slot=slot, sys_path=[str(package.parent)]
            )
        binds = [(job_dir, "/job")] + [(str(package), point) for point in mount_points("rnn_ref")]
        binds += [(str(package.parent / "rnn_checks"), point) for point in mount_points("rnn_checks")]
        return sandbox.run_script("run_notebook.py", ["--job", "/job/job.json"], binds=binds, slot=slot)


def _outputs(events):
    """Cell index -> (outputs, execution_count), from the runner's "end" events, checked."""
    found, budget = {}, Budget()  # the sanitizer's time, bounded for the whole notebook
    for event in events:
        if event.get("event") != "end" or event.get("kind") != "cell" or not isinstance(event.get("index"), int):
            continue
        raw = event.get("outputs")
        outputs = [_clean(o, budget) for o in raw[:MAX_OUTPUTS]] if isinstance(raw, list) else []
        if isinstance(raw, list) and len(raw) > MAX_OUTPUTS:
            note = f"[... {len(raw) - MAX_OUTPUTS} more outputs not kept by the grader ...]\n"
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=note))
        count = event.get("execution_count")
        found[event["index"]] = (
            [o for o in outputs if o is not None],
            count if isinstance(count, int) and count >= 0 else None,
        )
    return found


def _clean(output, budget=None):
    """An nbformat output made only of what is safe to show, or None."""
    if not isinstance(output, dict) or output.get("output_type") not in _OUTPUT_TYPES:
        return None
    kind = output["output_type"]
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback")
        lines = [_text(line, 2000) for line in traceback[:MAX_TRACEBACK]] if isinstance(traceback, list) else []
        return nbformat.v4.new_output(
            "error",
            ename=_text(output.get("ename", "Error"), 200),
            evalue=_text(output.get("evalue", ""), 10_000),
            traceback=lines,
        )
    data = output.get("data")
    if not isinstance(data, dict):
        return None
    kept = _inert_data(data, budget)
    if not kept:
        kept = {"text/plain": "[an output of a kind the grader does not show]"}
    if kind == "execute_result":
        count = output.get("execution_count")
        return nbformat.v4.new_output(
            "execute_result", data=kept, execution_count=count if isinstance(count, int) else None
        )
    return nbformat.v4.new_output("display_data", data=kept)


def _text(value, limit=MAX_TEXT):
    """A string of an output: valid Unicode, no control character but tab, new lines and ESC, cut to ``limit``."""
    text = value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else ""
    if len(text) > limit:
        text = text[:limit] + "\n[... cut by the grader ...]\n"
    text, _ = valid_unicode(text)
    return _CONTROL.sub("", text)


def _inert_data(data, budget=None):
    """The MIME bundle of a display: what is inert as it is, plus the student's HTML or Markdown, sanitized."""
    kept = {}
    for mime in SAFE_MIME:
        value = data.get(mime)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):  # nbformat's multi-line strings
            value = "".join(value)
        if not isinstance(value, str):
            continue
        if mime.startswith("image/"):
            if len(value) <= MAX_IMAGE and _BASE64.fullmatch(value):
                kept[mime] = value
        elif mime == "text/latex":
            if len(value) <= MAX_MARKUP:
                kept[mime] = _text(value)
        else:
            kept[mime] = _text(value)
    for mime in HTML_MIME:
        value = data.get(mime)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)
        if isinstance(value, str) and len(value) <= MAX_MARKUP:
            source = _text(value, MAX_MARKUP)
            kept["text/html"] = (
                sanitize(source, budget) if mime == "text/html" else markdown_to_html(source, budget=budget)
            )
            break
    return kept


def _valid(output):
    try:
        nbformat.validator.validate(output, ref="output")
    except Exception:
        return False
    return True


def _error_output(name, message):
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


__all__ = ["run_notebook", "Death"]
