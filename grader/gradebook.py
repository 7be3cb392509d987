"""Writes into nbgrader's gradebook: one student at a time, from one thread.

What nbgrader's ``autograde`` writes (``SaveAutoGrades``, ``AssignLatePenalties``),
with the judge's points in place of "no error in the cell's output":

* the student and the submission (with its timestamp, for late penalties);
* for every grade cell, ``auto_score``, and ``needs_manual_grade`` when a
  human already changed the score or there is no automatic score (written
  answers);
* for every solution cell, the automatic comment "No response." when it is
  exactly as released;
* the late penalty of nbgrader's configured plugin.

A human's ``manual_score`` is never overwritten.  Every write goes through the
one :class:`GradebookWriter` of a grading run, in the main thread, and is
committed per student, so a failure leaves every other student's grades whole.
"""

from __future__ import annotations

import warnings

from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy.exc import SAWarning


class GradebookWriter:
    def __init__(self, course, assignment):
        self.course, self.assignment = course, assignment
        self.gradebook = Gradebook(course.db_url, course.coursedir.course_id)

    def close(self):
        self.gradebook.close()

    def record(self, student, timestamp, scores, comments, notebooks):
        """Save one student's grades.

        Parameters
        ----------
        student : str
        timestamp : datetime or None
        scores : dict
            ``(notebook, grade_id) -> auto_score`` (None: to be graded by hand).
        comments : dict
            ``(notebook, grade_id) -> auto_comment`` for solution cells.
        notebooks : dict
            Notebook name -> the autograded notebook (for the late penalty).
        """
        gb = self.gradebook
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's own add_submission warns about its session
            self._record(gb, student, timestamp, scores, comments)
        for name, notebook in notebooks.items():
            resources = {
                "nbgrader": {
                    "db_url": self.course.db_url,
                    "assignment": self.assignment,
                    "notebook": name,
                    "student": student,
                }
            }
            AssignLatePenalties(config=self.course.config).preprocess(notebook, resources)

    def _record(self, gb, student, timestamp, scores, comments):
        try:
            gb.update_or_create_student(student)
            if timestamp is not None:
                gb.update_or_create_submission(self.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(self.assignment, student)
            for (notebook, grade_id), score in scores.items():
                grade = gb.find_grade(grade_id, notebook, self.assignment, student)
                grade.auto_score = score
                grade.needs_manual_grade = grade.manual_score is not None or score is None
            for (notebook, grade_id), text in comments.items():
                comment = gb.find_comment(grade_id, notebook, self.assignment, student)
                comment.auto_comment = text
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise
