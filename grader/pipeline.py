"""Grade one assignment: every student separately, in parallel, into nbgrader's gradebook.

For each student (in a pool of worker threads, one sandbox slot each):

1. check the submission (:mod:`grader.precheck`); a broken one is quarantined
   with its reason and nothing of it runs;
2. prepare the notebook as ``nbgrader autograde`` does (sources restored);
3. run it whole in the sandbox, for the feedback (:mod:`grader.feedback`);
4. run the judge (:mod:`grader.judge`), which gives the test cells' points; nothing of the
   feedback run is passed to it;
5. scan the student's code for tricks (:mod:`grader.scan`);
6. fingerprint the graded functions (:mod:`grader.similarity`).

The main thread then writes, one student at a time, the autograded notebook
(``autograded/<student>/<assignment>/``, made in a temporary folder and
swapped in whole) and the grades (:mod:`grader.gradebook`).  An exception
while grading or saving a student is recorded for that student and the batch
goes on; an exception of the batch itself is recorded in the report, which
:meth:`Grader.grade` always returns.  Finally nbgrader's own
``generate_feedback`` makes the HTML feedback, with an exporter that keeps it
inert (:mod:`grader.inert`); a student whose feedback failed is listed.
After the batch, the class's fingerprints are compared with each other, the
reference and the solutions: similar code is listed for a human look, and
gives or takes no points.
"""

from __future__ import annotations

import copy
import glob
import multiprocessing
import os
import queue
import secrets
import shutil
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

import rnn_checks

from . import inert, similarity
from .course import load_assignment
from .feedback import run_notebook
from .files import new_folder_beside, swap_in
from .gradebook import GradebookWriter
from .judge import RNN_CHECKS_DIR, RNN_REF_DIR, Judge, _make_readable
from .precheck import check_submission, code_cells, prepare, unchanged_answer
from .preflight import check_imports
from .report import Report, Row, StudentSummary
from .scan import scan_cells
from .text import plain, valid_unicode
from .views import compile_package


def feedback_shard(root, assignment, students):
    """HTML feedback of ``students`` with nbgrader's ``GenerateFeedback`` (as ``generate_feedback --force``)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from .course import Course

    wanted = set(students)

    class ShardFeedback(GenerateFeedback):
        """nbgrader's converter, for the notebooks of these students only (one exporter for all of them)."""

        def init_notebooks(self):
            # nbgrader finds the notebooks with glob patterns made of the student id, which a student id with
            # "[" in it does not match: each student's folder is named here, its notebooks globbed escaped
            self.assignments, self.notebooks = {}, []
            for student in sorted(wanted):
                folder = self._format_source(self.coursedir.assignment_id, student)
                pattern = os.path.join(glob.escape(folder), f"{self.coursedir.notebook_id}.ipynb")
                found = sorted(glob.glob(pattern))
                if found:
                    self.assignments[folder] = found

    course = Course.load(root)
    config = copy.deepcopy(course.config)
    config.BaseConverter.force = True
    inert.configure(config)  # whatever the course's configuration says: no student's HTML or script runs
    coursedir = CourseDirectory(config=config)
    coursedir.root, coursedir.assignment_id = str(course.root), assignment
    try:
        ShardFeedback(coursedir=coursedir, config=config).start()
    except (Exception, SystemExit) as exc:  # nbgrader calls self.fail (SystemExit) on some errors
        return [describe(exc)]
    return []


def _made_since(path, began):
    try:
        return path.stat().st_mtime >= began - 2  # file systems round times
    except OSError:
        return False


def describe(exc):
    """An exception in words, with where it was raised; printable and bounded, whatever it holds."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return plain(f"{type(exc).__name__}: {plain(exc, 1000)}{where}", 1200)


@dataclass
class StudentResult:
    student: str
    checked: object = None
    executed: dict = field(default_factory=dict)  # notebook -> autograded NotebookNode
    scores: dict = field(default_factory=dict)  # (notebook, grade_id) -> auto_score or None
    comments: dict = field(default_factory=dict)  # (notebook, grade_id) -> auto_comment
    rows: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    deaths: list = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    similarity: list = field(default_factory=list)  # grader.similarity.Document of each graded function
    similarity_notes: list = field(default_factory=list)


class Grader:
    """Grades ``assignment`` of ``course`` with ``sandbox``; see the module docstring."""

    def __init__(self, course, assignment, sandbox, jobs=None, seed=None, log=print):
        self.course, self.assignment, self.sandbox = course, assignment, sandbox
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.seed = secrets.randbits(63) if seed is None else int(seed)
        self.log = log
        self.model = load_assignment(course, assignment, set(rnn_checks.SPECS))
        self.workdir = Path(tempfile.mkdtemp(prefix="grader-"))
        os.chmod(self.workdir, 0o755)
        self.judge = Judge(self.model, sandbox, self.workdir / "judge", self.seed)
        # the feedback runs import byte-compiled copies of rnn_ref and rnn_checks: faster, and safe from edits
        # during the batch
        self.package = self.workdir / "full" / "rnn_ref"
        for source, copy_ in ((RNN_REF_DIR, self.package), (RNN_CHECKS_DIR, self.package.parent / "rnn_checks")):
            shutil.copytree(source, copy_, ignore=shutil.ignore_patterns("__pycache__"))
            compile_package(copy_)
        _make_readable(self.workdir / "full")

    def close(self):
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.sandbox.close()

    # --- the batch ---------------------------------------------------------------------------------------

    def check_environment(self):
        """Raise :class:`grader.preflight.SetupError` unless the sandboxed runs import what they need."""
        view = self.judge.groups[0].view.path if self.judge.groups else None
        check_imports(self.sandbox, view, self.package)

    def grade(self, students=None, feedback=True):
        """Grade ``students`` (default: every submission); return the :class:`Report`.

        Raises :class:`grader.preflight.SetupError`, before any student, when the sandbox cannot import
        what the runs need.
        """
        start = time.monotonic()
        self.check_environment()
        students = list(dict.fromkeys(students)) if students else self.course.students(self.assignment)
        report = Report(self.assignment, self.seed, self.sandbox.description(), asdict(self.sandbox.limits))
        report.untrusted_cells = self.model.untrusted_tests()
        slots = queue.Queue()
        for slot in range(self.jobs):
            slots.put(slot)
        graded, results = [], []
        try:
            self._grade_all(students, slots, report, graded, results)
        except Exception as exc:  # the batch itself (the gradebook cannot be opened, ...): say so, keep what was done
            report.errors.append(f"the batch stopped: {describe(exc)}")
        done = {summary.student for summary in report.students}
        for student in students:
            if student not in done:
                self._add_to_report(report, StudentResult(student, error="not graded: the batch stopped before"))
        self._compare_similarity(report, results)
        order = {student: i for i, student in enumerate(students)}
        report.students.sort(key=lambda s: order.get(s.student, 0))
        report.rows.sort(key=lambda r: order.get(r.student, 0))
        report.grading_seconds = time.monotonic() - start
        if feedback and graded:
            try:
                self._feedback(graded, report, start)
            except Exception as exc:
                report.errors.append(f"nbgrader's feedback failed: {describe(exc)}")
        report.seconds = time.monotonic() - start
        return report

    def _grade_all(self, students, slots, report, graded, results):
        writer = GradebookWriter(self.course, self.assignment)
        try:
            with ThreadPoolExecutor(self.jobs) as pool:
                futures = {pool.submit(self._grade_one, student, slots): student for student in students}
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as exc:  # _grade_one records its errors: this is the unexpected
                        result = StudentResult(futures[future], error=describe(exc))
                    if not result.error and not result.checked.quarantined:
                        try:
                            self._save(result, writer)
                            graded.append(result.student)
                        except Exception as exc:  # one student's write must not stop the others
                            result.error = f"saving the grades failed: {describe(exc)}"
                    try:
                        self._add_to_report(report, result)
                    except Exception as exc:
                        self._add_to_report(report, StudentResult(result.student, error=describe(exc)))
                    results.append(result)
                    self.log(self._progress(result, len(report.students), len(students)))
        finally:
            writer.close()

    def _grade_one(self, student, slots):
        slot = slots.get()
        start = time.monotonic()
        result = StudentResult(student)
        try:
            self._grade_into(result, slot)
        except Exception as exc:  # a bug or a surprise: this student is reviewed, the batch goes on
            result.error = describe(exc)
        finally:
            slots.put(slot)
        result.seconds = time.monotonic() - start
        return result

    def _grade_into(self, result, slot):
        checked = result.checked = check_submission(
            self.course.submitted_dir(result.student, self.assignment), self.model
        )
        if checked.quarantined:
            return
        # every sandboxed run of this student shares one wall-clock budget (Limits.student_seconds)
        with self.sandbox.budget(slot) as budget:
            self._run_notebooks(result, slot)
        if budget.exhausted:
            result.deaths.append(
                f"time budget: this student's runs took {budget.seconds:g} s in all, the most one student may take "
                "(--student-seconds); what was not graded by then earns nothing"
            )

    def _run_notebooks(self, result, slot):
        checked = result.checked
        for name, model in self.model.notebooks.items():
            prepared = prepare(checked.notebooks[name], model)
            cells = code_cells(prepared, model)
            labels = {c["index"]: f"{c['role']} {c['grade_id']}" if c["grade_id"] else c["role"] for c in cells}
            result.flags += scan_cells(cells)
            functions = [f for f in self.model.functions if f.notebook == name]
            found, notes = similarity.student_documents(result.student, cells, functions)
            result.similarity += found
            result.similarity_notes += notes
            executed, deaths = run_notebook(self.sandbox, prepared, cells, slot, self.workdir, package=self.package)
            result.deaths += [f"feedback run: {d.where(labels)} {d.failure}" for d in deaths]
            # nothing of the feedback run reaches the judge (no value made in one sandboxed run is input of
            # another): the judge finds the cells that kill its own runs itself
            verdicts, judge_deaths = self.judge.grade(name, cells, slot, labels)
            result.deaths += [f"judge: {d.where(labels)} {d.failure}" for d in judge_deaths]
            result.executed[name] = executed
            self._score(result, name, model, executed, verdicts)

    def _score(self, result, name, model, executed, verdicts):
        by_cell = {}
        for verdict in verdicts:
            by_cell.setdefault(verdict.grade_id, []).append(verdict)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in executed.cells}
        in_order = [g for g in model.release_cells if g in model.grade_points]
        in_order += [g for g in model.grade_points if g not in in_order]
        for grade_id in in_order:
            points, cell = model.grade_points[grade_id], cells.get(grade_id)
            if grade_id in model.test_ids and model.tests.get(grade_id):
                mine = by_cell.get(grade_id, [])
                passed = bool(mine) and all(v.passed for v in mine)
                score = points if passed else 0.0
                reason = "; ".join(v.reason for v in mine if not v.passed) or "; ".join(
                    f"{v.function} {v.reason}" for v in mine
                )
                row = Row(
                    result.student,
                    name,
                    grade_id,
                    ", ".join(v.function for v in mine),
                    score,
                    points,
                    "pass" if passed else "fail",
                    reason,
                    mistakes=[m for v in mine for m in v.mistakes],  # issue 11: for the class report
                )
            elif grade_id in model.test_ids:  # no judge for this cell: nbgrader's rule, on the student's own run
                score, _ = nbutils.determine_grade(cell) if cell is not None else (0.0, points)
                row = Row(
                    result.student,
                    name,
                    grade_id,
                    "",
                    score,
                    points,
                    "untrusted",
                    "graded from the output of the student's kernel",
                )
            else:  # a written answer: graded by hand, zero if left as released
                blank = cell is not None and unchanged_answer(cell, model, grade_id)
                score = 0.0 if blank else None
                row = Row(
                    result.student,
                    name,
                    grade_id,
                    "",
                    score,
                    points,
                    "manual",
                    "no answer" if blank else "to be graded by hand",
                )
            result.scores[(name, grade_id)] = score
            result.rows.append(row)
        for grade_id in model.solution_ids + model.task_ids:
            cell = cells.get(grade_id)
            if grade_id in model.task_ids:
                result.comments[(name, grade_id)] = None
            elif cell is not None:
                result.comments[(name, grade_id)] = "No response." if unchanged_answer(cell, model, grade_id) else None

    # --- saving ------------------------------------------------------------------------------------------

    def _save(self, result, writer):
        """The autograded folder and the grades of one student, whole or not at all.

        Everything is written into a new folder first; then the grades are
        committed to the gradebook (rolled back on failure); only then does the
        new folder replace the old one.  A failure leaves the student's earlier
        autograded folder and grades as they were.
        """
        target = self.course.autograded_dir(result.student, self.assignment)
        folder = new_folder_beside(target)
        try:
            source = self.course.submitted_dir(result.student, self.assignment)
            extra = ["timestamp.txt"] if (source / "timestamp.txt").is_file() else []
            for relative in result.checked.files + extra:
                copied = folder / relative
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / relative, copied, follow_symlinks=False)
            for name, notebook in result.executed.items():
                text, _ = valid_unicode(nbformat.writes(notebook))  # the outputs were checked: this is a last guard
                (folder / f"{name}.ipynb").write_bytes(text.encode("utf-8"))
            writer.record(result.student, result.checked.timestamp, result.scores, result.comments, result.executed)
            swap_in(folder, target)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _feedback(self, students, report, since):
        """nbgrader's own feedback converter for the students graded now, on every core (one shard each).

        nbgrader goes on after a student whose feedback fails (and removes it): each
        student graded now without a fresh feedback file is listed in the report.
        """
        # a worker process costs about as much as 40 notebooks of feedback: small batches stay in this one
        workers = min(self.jobs, max(1, len(students) // 40))
        shards = [students[i::workers] for i in range(workers)]
        failures = []
        if len(shards) == 1:
            failures = feedback_shard(str(self.course.root), self.assignment, shards[0])
        else:
            context = multiprocessing.get_context("spawn")  # a fresh interpreter: this one has threads
            with ProcessPoolExecutor(len(shards), mp_context=context) as pool:
                for done in pool.map(
                    feedback_shard, [str(self.course.root)] * len(shards), [self.assignment] * len(shards), shards
                ):
                    failures += done
        for failure in failures:
            self.log(f"nbgrader's feedback failed: {plain(failure)}")
        began = time.time() - (time.monotonic() - since)  # the batch's start, on the clock of file times
        summaries = {summary.student: summary for summary in report.students}
        for student in students:
            folder = self.course.path(self.course.coursedir.feedback_directory, student, self.assignment)
            missing = [name for name in self.model.notebooks if not _made_since(folder / f"{name}.html", began)]
            if missing and student in summaries:
                why = f" ({plain('; '.join(failures), 500)})" if failures else ""
                summaries[student].feedback = f"nbgrader's generate_feedback made none for {', '.join(missing)}{why}"

    # --- reporting ---------------------------------------------------------------------------------------

    def _add_to_report(self, report, result):
        checked = result.checked
        summary = StudentSummary(
            student=result.student,
            total=sum(s for s in result.scores.values() if s is not None),
            max_total=self.model.max_score,
            quarantined=list(checked.reasons) if checked else [],
            notes=list(checked.notes) if checked else [],
            restored=list(checked.restored) if checked else [],
            flags=list(result.flags),
            deaths=list(result.deaths),
            error=result.error,
            seconds=result.seconds,
        )
        report.students.append(summary)
        if summary.quarantined or result.error:
            status = "quarantined" if summary.quarantined else "error"
            reason = "; ".join(summary.quarantined) or result.error
            for name, model in self.model.notebooks.items():
                for grade_id, points in model.grade_points.items():
                    functions = ", ".join(f.name for f in model.tests.get(grade_id, []))
                    report.rows.append(Row(result.student, name, grade_id, functions, None, points, status, reason))
        else:
            report.rows += result.rows

    def _compare_similarity(self, report, results):
        """Similar code across the class (:mod:`grader.similarity`): listed for a human look, no points."""
        documents = [d for r in results if not r.error for d in r.similarity]
        notes = [n for r in results for n in r.similarity_notes]
        try:
            report.similarity = similarity.check_class(self.course, self.model, documents, notes)
        except Exception as exc:  # the comparison must never cost the grades
            report.similarity = {"error": f"the similarity check failed: {describe(exc)}", "pairs": []}
        flags = similarity.flags_by_student(report.similarity)
        for summary in report.students:
            summary.similar = flags.get(summary.student, [])

    def _progress(self, result, done, total):
        """One printable line (the student's id and texts made plain: the log may be a terminal)."""
        if result.error:
            what = f"grader error: {result.error}"
        elif result.checked.quarantined:
            what = "quarantined: " + "; ".join(result.checked.reasons)
        else:
            what = f"{sum(s for s in result.scores.values() if s is not None):g}/{self.model.max_score:g}"
        return f"[{done}/{total}] {plain(result.student, 200)}: {plain(what, 400)} ({result.seconds:.1f} s)"
