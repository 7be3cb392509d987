"""The instructor's grading command.

    python -m grader grade ASSIGNMENT [--student ID ...] [--jobs N] [options]
    python -m grader check-sandbox

``grade`` grades every submission of ``submitted/*/ASSIGNMENT`` (or the
students named) into nbgrader's gradebook, writes ``autograded/`` and, with
nbgrader's ``generate_feedback``, ``feedback/``, and writes a report
(``reports/ASSIGNMENT.md``, ``.csv``, ``.json``) and the class report
(``reports/ASSIGNMENT.html``, :mod:`grader.classreport`).  It refuses to run without
the sandbox unless ``--unsafe-no-sandbox`` is given, and before any student
it checks that the sandboxed runs import what they need (:mod:`grader.preflight`).
Exit status: 0 when every submission was graded, 3 when some need a human look
(quarantined, flagged, killed by a limit), 2 when the sandbox is unavailable
or cannot import what grading needs, 1 on a course error.

``check-sandbox`` runs a sandboxed Python and says which walls hold here (and
which do not: no seccomp filter for this architecture, no cgroup).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .sandbox import Limits, Sandbox, SandboxUnavailable


def _limits(args, course):
    defaults = Limits()
    cell_seconds = args.cell_seconds if args.cell_seconds is not None else course.cell_timeout(defaults.cell_seconds)
    return Limits(
        memory_mb=args.memory_mb,
        cpu_seconds=args.cpu_seconds,
        processes=args.processes,
        file_mb=args.file_mb,
        tmp_mb=args.tmp_mb,
        cell_seconds=cell_seconds,
        run_seconds=args.run_seconds,
        student_seconds=args.student_seconds,
        output_mb=args.output_mb,
        event_kb=args.event_kb,
        total_memory_mb=args.total_memory_mb,
    )


def _class_report(paths):
    """``reports/<A>.html``, what the class got wrong (issue 11), from the JSON report; None if it failed."""
    from .classreport import write_assignment

    json_path = next((Path(p) for p in paths if str(p).endswith(".json")), None)
    if json_path is None:
        return None
    try:
        return write_assignment(json_path)
    except Exception as exc:  # the grades are saved: a failed page must not hide them
        print(f"the class report could not be written: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def _check_sandbox(cgroups):
    sandbox = Sandbox(cgroups=cgroups)
    try:
        sandbox.check()
    except SandboxUnavailable as exc:
        print(f"sandbox unavailable: {exc}", file=sys.stderr)
        return 2
    print(f"sandbox ok: {sandbox.description()}")
    for note in sandbox.notes():
        print(f"note: {note}")
    return 0


def main(argv=None):
    defaults = Limits()
    parser = argparse.ArgumentParser(prog="python -m grader", description="Grade nbgrader submissions safely.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade every submission of an assignment")
    grade.add_argument("assignment")
    grade.add_argument("--course", default=".", help="the course root (with nbgrader_config.py); default: .")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    grade.add_argument("--jobs", type=int, default=None, help="students graded at once (default: every core)")
    grade.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    grade.add_argument("--report-dir", default=None, help="default: <course>/reports")
    grade.add_argument("--seed", type=int, default=None, help="the judge's inputs (default: a new secret seed)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true", help="run student code WITHOUT the sandbox")
    group = grade.add_argument_group("limits of each sandboxed run")
    group.add_argument("--memory-mb", type=int, default=defaults.memory_mb)
    group.add_argument("--cpu-seconds", type=int, default=defaults.cpu_seconds)
    group.add_argument("--processes", type=int, default=defaults.processes)
    group.add_argument("--file-mb", type=int, default=defaults.file_mb)
    group.add_argument("--tmp-mb", type=int, default=defaults.tmp_mb)
    group.add_argument("--cell-seconds", type=float, default=None, help="default: nbgrader's Execute.timeout, else 60")
    group.add_argument("--run-seconds", type=float, default=defaults.run_seconds)
    group.add_argument(
        "--student-seconds",
        type=float,
        default=defaults.student_seconds,
        help="wall clock of all the runs of one student together",
    )
    group.add_argument("--output-mb", type=int, default=defaults.output_mb)
    group.add_argument(
        "--event-kb",
        type=int,
        default=defaults.event_kb,
        help="the longest event line of the feedback run that is parsed",
    )
    group.add_argument(
        "--total-memory-mb",
        type=int,
        default=defaults.total_memory_mb,
        help="hard total per sandbox (a cgroup's MemoryMax), where systemd-run can make one",
    )
    cgroup_help = "a cgroup per sandbox through systemd-run: where it works (auto), required, or off"
    group.add_argument("--cgroups", choices=("auto", "require", "off"), default="auto", help=cgroup_help)
    check = commands.add_parser("check-sandbox", help="check that the sandbox works here, and say which walls hold")
    check.add_argument("--cgroups", choices=("auto", "require", "off"), default="auto", help=cgroup_help)
    args = parser.parse_args(argv)

    if args.command == "check-sandbox":
        return _check_sandbox(args.cgroups)

    from .course import Course, CourseError
    from .pipeline import Grader
    from .preflight import SetupError
    from .text import plain

    course = Course.load(args.course)
    sandbox = Sandbox(_limits(args, course), unsafe=args.unsafe_no_sandbox, cgroups=args.cgroups)
    try:
        sandbox.check()
    except SandboxUnavailable as exc:
        print(
            f"refusing to grade: no sandbox ({exc}).\n"
            "Student code would run with your rights, next to solutions/ and gradebook.db.\n"
            "Install bubblewrap (`make grading-setup`), or pass --unsafe-no-sandbox if you trust every submission.",
            file=sys.stderr,
        )
        return 2
    if args.unsafe_no_sandbox:
        print("WARNING: --unsafe-no-sandbox: student code runs without the sandbox.", file=sys.stderr)
    for note in sandbox.notes() if not args.unsafe_no_sandbox else []:
        print(f"note: {note}", file=sys.stderr)
    try:
        grader = Grader(course, args.assignment, sandbox, jobs=args.jobs, seed=args.seed)
    except CourseError as exc:
        print(f"cannot grade: {exc}", file=sys.stderr)
        return 1
    try:
        report = grader.grade(args.student, feedback=not args.no_feedback)
    except SetupError as exc:
        print(f"refusing to grade: {exc}", file=sys.stderr)
        return 2
    finally:
        grader.close()
    paths = report.write(Path(args.report_dir) if args.report_dir else course.root / "reports")
    page = _class_report(paths)
    review = report.review()
    print(
        f"graded {len(report.students)} submissions in {report.grading_seconds:.1f} s "
        f"({report.seconds:.1f} s with the feedback); report: {paths[0]}" + (f", {page}" if page else "")
    )
    if review:
        print(f"{len(review)} need a human look: {', '.join(plain(s.student, 80) for s in review)}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
