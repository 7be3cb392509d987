"""Before any student: the sandbox imports what the runs need, or the grader refuses and says what to do.

An instructor's installation can hide a package from the sandbox, which sees
only ``/usr``, the Python installation and its environment (mounted
read-only) and what the grader mounts: NumPy found through ``PYTHONPATH`` or
the user site (``~/.local``), a ``.pth`` file pointing outside the
environment, a Python whose libraries lie elsewhere.  Every run would then
die on its first import and every student would score zero.  So the grader
first runs ``grader/sandboxed/probe.py`` twice, mounted as the real runs are:

* as the judge's runs: ``numpy``, ``rnn_ref`` (a view) and ``rnn_checks`` (its stub);
* as the feedback's runs: ``numpy``, ``IPython``, ``rnn_ref`` and ``rnn_checks`` (the real ones).

Each must import, and the course's packages from where the grader mounted them
(``PACKAGES_MOUNT``, not another copy found on the way); otherwise
:func:`check_imports` raises :class:`SetupError` with what failed and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

from .judge import mount_points
from .sandbox import PACKAGES_MOUNT, RUNNER_DIR, RUNNER_MOUNT
from .views import CHECKS_STUB

JUDGE_MODULES = ("numpy", "rnn_ref", "rnn_checks")
FEEDBACK_MODULES = ("numpy", "IPython", "rnn_ref", "rnn_checks")
_PIP_NAMES = {"numpy": "numpy", "IPython": "ipython"}


class SetupError(RuntimeError):
    """The sandbox cannot import what grading needs; the message says what to do."""


def package_binds(rnn_ref_dir, rnn_checks_dir):
    """The read-only mounts that make ``rnn_ref_dir`` and ``rnn_checks_dir`` the sandbox's rnn_ref and rnn_checks."""
    binds = [(str(rnn_ref_dir), point) for point in mount_points("rnn_ref")]
    return binds + [(str(rnn_checks_dir), point) for point in mount_points("rnn_checks")]


def check_imports(sandbox, view, package):
    """Raise SetupError unless the judge's and the feedback's runs can import what they need.

    Parameters
    ----------
    sandbox : grader.sandbox.Sandbox
    view : path or None
        The ``rnn_ref`` folder of one of the judge's views (its rnn_checks stub lies beside it); None when
        the assignment has no judged function.
    package : path
        The ``rnn_ref`` folder the feedback runs import (the real rnn_checks lies beside it).
    """
    problems = []
    runs = [("the feedback's", Path(package), Path(package).parent / "rnn_checks", FEEDBACK_MODULES)]
    if view is not None:
        runs.insert(0, ("the judge's", Path(view), Path(view).parent / CHECKS_STUB, JUDGE_MODULES))
    for what, rnn_ref_dir, rnn_checks_dir, modules in runs:
        problems += [f"{what} runs: {problem}" for problem in _probe(sandbox, rnn_ref_dir, rnn_checks_dir, modules)]
    if problems:
        raise SetupError(_message(sandbox, problems))


def _probe(sandbox, rnn_ref_dir, rnn_checks_dir, modules):
    """Problems (in words) of one probe run: [] when every module imports from where it should."""
    args = [arg for name in modules for arg in ("--module", name)]
    if sandbox.unsafe:
        root = str(rnn_ref_dir.parent)
        script, binds, expected = str(RUNNER_DIR / "probe.py"), [], root
        args += ["--sys-path", root]
    else:
        script, binds, expected = f"{RUNNER_MOUNT}/probe.py", package_binds(rnn_ref_dir, rnn_checks_dir), None
        args += ["--sys-path", PACKAGES_MOUNT]
    result = sandbox.run_command([sandbox.python, "-I", "-B", script, *args], binds=binds)
    found = {}
    for line in result.log.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("module") in modules:
            found[item["module"]] = item
    problems = []
    for name in modules:
        item = found.get(name)
        if item is None:
            log = " ".join(result.log.split())[:600]
            return [f"the sandboxed Python stopped before importing {name} ({result.failure}): {log or 'no output'}"]
        if item.get("error"):
            problems.append(f"{name} cannot be imported: {item['error']}")
            continue
        if name in ("rnn_ref", "rnn_checks"):
            where = f"{expected or PACKAGES_MOUNT}/{name}/"
            if not str(item.get("file") or "").startswith(where):
                problems.append(
                    f"{name} was imported from {item.get('file')}, not from where the grader put it ({where})"
                )
    return problems


def _message(sandbox, problems):
    python = sandbox.python
    lines = [f"inside the sandbox, {python} cannot import what grading needs:"]
    lines += [f"  - {problem}" for problem in problems]
    lines.append("What to do:")
    missing = sorted({name for name in _PIP_NAMES for p in problems if f" {name} cannot be imported" in p})
    if missing:
        pips = " ".join(_PIP_NAMES[name] for name in missing)
        lines.append(
            f"  - install {', '.join(missing)} into the environment of {python}: "
            f"`{python} -m pip install {pips}` (or `make setup` in the course). The sandbox sees /usr and that "
            "environment only: a package found through PYTHONPATH, the user site (~/.local) or a .pth file "
            "pointing outside the environment is not there."
        )
    if any("stopped before importing" in p for p in problems):
        lines.append(
            "  - the interpreter itself does not run in the sandbox: run `python -m grader check-sandbox`, and "
            "use a Python whose libraries lie under /usr or under its own prefix (a virtual environment, conda)."
        )
    if any(("rnn_ref" in p or "rnn_checks" in p) and "stopped before" not in p for p in problems) and not missing:
        lines.append(
            "  - the course's packages could not be mounted as expected: run the grader from the course's own "
            "environment (`make grade A=...`, or `pip install -e <course>` into your environment), and report "
            "this message if it persists."
        )
    lines.append("No student was graded (every one would have scored zero).")
    return "\n".join(lines)
