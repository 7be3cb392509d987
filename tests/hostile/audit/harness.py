"""Grade a small batch of the audit's submissions and say which grades differ from what is expected.

    .venv/bin/python tests/hostile/audit/harness.py honest01 [case names...]     (from the repository's root)

Environment: V=1 prints every lost point's reason; VALIDATE=1 also runs ``nbgrader validate`` on every
submission and prints, for each test cell, whether it agrees with the judge.
"""

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from hostile.corpus import Kit  # noqa: E402
from hostile.course import make_course, require_sandbox, tight_limits  # noqa: E402

VERBOSE = os.environ.get("V") == "1"


def run(cases, assignment, limits=None):
    from grader.course import Course
    from grader.pipeline import Grader

    sandbox = require_sandbox(limits or tight_limits(cell_seconds=30))
    course = make_course(Path(tempfile.mkdtemp(prefix="audit-")), [assignment])
    kit = Kit.load(course, assignment)
    for case in cases:
        kit.folder = course / "submitted" / case.name / assignment
        case.make(kit)
    grader = Grader(Course.load(course), assignment, sandbox, jobs=2, log=lambda l: None)
    t = time.time()
    try:
        report = grader.grade([c.name for c in cases], feedback=False)
    finally:
        grader.close()
    print(f"graded in {time.time() - t:.0f}s, course {course}")
    bad = []
    for case in cases:
        rows = [r for r in report.rows if r.student == case.name]
        got = tuple(r.points / r.max_points for r in rows)
        summ = next(s for s in report.students if s.student == case.name)
        ok = case.expect is None and summ.quarantined or got == tuple(case.expect or ())
        print(
            ("OK  " if ok else "BAD ") + f"{case.name}: got {got} expected {case.expect}"
            f" deaths={summ.deaths} err={summ.error} q={summ.quarantined}"
        )
        if not ok or VERBOSE:
            bad.append(case.name)
            for r in rows:
                if r.points < r.max_points:
                    print("     ", r.grade_id, r.reason[:700].replace("\n", "\n      "))
    if os.environ.get("VALIDATE") == "1":
        validate(report, course, kit, cases, assignment)
    return report, course


def validate(report, course, kit, cases, assignment):
    import json
    import subprocess
    from pathlib import Path as P

    import nbformat

    code = (
        "import json, sys\nfrom nbgrader.validator import Validator\nres = {}\n"
        "for p in sys.argv[1:]:\n    f = Validator().validate(p)\n"
        "    res[p] = [c['source'] for c in f.get('failed', [])] + (['<changed>'] if 'changed' in f else [])\n"
        "print(json.dumps(res))"
    )
    paths = [str(course / "submitted" / c.name / assignment / f"{assignment}.ipynb") for c in cases]
    env = dict(os.environ, PATH=f"{P(sys.executable).parent}:{os.environ['PATH']}")
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, env=env, check=True)
    failing = json.loads(out.stdout.strip().splitlines()[-1])
    for case, path in zip(cases, paths, strict=True):
        nb = nbformat.read(path, as_version=4)
        rows = {r.grade_id: r for r in report.rows if r.student == case.name}
        for gid in kit.test_ids:
            v = kit.cell(nb, gid).source.strip() not in failing[path]
            j = rows[gid].points == rows[gid].max_points
            flag = "" if v == j else "   <== DISAGREE"
            print(f"  validate {case.name} {gid}: validate={v} judge={j}{flag}")
            if flag:
                print("      ", rows[gid].reason[:600].replace("\n", "\n       "))


if __name__ == "__main__":
    mod = importlib.import_module(f"hostile.audit.{sys.argv[1]}")
    names = sys.argv[2:]
    cases = [c for c in mod.CASES if not names or c.name in names]
    run(cases, mod.ASSIGNMENT)
