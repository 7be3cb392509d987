"""nbgrader configuration: the repository root is the course.

    solutions/<NN_name>/<NN_name>.ipynb   source (instructor version, with solutions and hidden tests)
    exercises/<NN_name>/<NN_name>.ipynb   release (what students get; made by generate_assignment)
    submitted/, autograded/, feedback/, gradebook.db    instructor working state (git-ignored)

The commands are in make/exercises.mk (make release, make grade-demo, ...).
"""

import os

c = get_config()  # noqa: F821 - injected by nbgrader when it loads this file

# --- the course --------------------------------------------------------------------------------------------
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Every file of a source folder except these is copied into the release: keep authoring drafts out of it.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.md",
    "*.py",
    "*.txt",
    "*draft*",
    "drafts",
]

# --- the student's version ---------------------------------------------------------------------------------
# What replaces the code between ### BEGIN SOLUTION and ### END SOLUTION.
c.ClearSolutions.code_stub = {
    "python": (
        "# YOUR CODE HERE\n"
        'raise NotImplementedError("delete this line, write the function, then run the test cell below")'
    )
}
c.ClearSolutions.enforce_metadata = True

# --- running submissions -----------------------------------------------------------------------------------
# Seconds per cell: the tests take well under a second; this catches infinite loops.
c.Execute.timeout = 60
# nbgrader counts any output on stderr as a failed test cell. A correct function that happens to make NumPy
# print a warning (say, an overflow in a naive sigmoid) keeps its points: warnings are removed from the
# outputs before they are graded (IgnorePattern runs right after Execute in autograde; nbgrader >= 0.9.3).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: "

# --- feedback and formgrader -------------------------------------------------------------------------------
# nbgrader's HTML templates show the student's Markdown cells and outputs as they are: raw HTML, <script>,
# javascript: links. These filters sanitize them (grader/inert.py: bleach, with an allow-list for notebooks),
# for `nbgrader generate_feedback` and for the formgrader, which both read this file; `make grade` applies
# them itself whatever this file says.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"markdown2html": "grader.inert.markdown2html", "clean_html": "grader.inert.clean_html"}
