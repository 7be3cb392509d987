"""Safe grading of the course's nbgrader submissions: sandboxed student code, a trusted judge.

``python -m grader grade ASSIGNMENT`` (``make grade A=ASSIGNMENT``) grades every
submission into nbgrader's gradebook; see the "Grading safely" sections of the README and of book/instructors.md.

It builds on :mod:`rnn_checks` (the cases, comparisons and messages, through its public API only)
and :mod:`rnn_ref` (the references, and the package the views are made from); nothing imports
``grader`` but its own command and tests.  The code under :mod:`grader.sandboxed` runs inside the
sandbox and imports neither.

=========================  ======================================================
:mod:`grader.pipeline`     the batch: one student per worker, results saved in order
:mod:`grader.precheck`     checks before anything runs; quarantine; cells restored
:mod:`grader.sandbox`      bubblewrap + seccomp + prlimit runs, their limits, budgets and how they end
:mod:`grader.seccomp`      the seccomp filter: system calls that hold memory outside the limits
:mod:`grader.preflight`    before any student: the sandbox imports what the runs need
:mod:`grader.feedback`     the whole notebook in the sandbox, for the feedback
:mod:`grader.judge`        the points: the student's functions on secret inputs, compared outside
:mod:`grader.views`        rnn_ref without the references of the graded functions
:mod:`grader.references`   where each graded function's reference lives, for the views
:mod:`grader.sandboxed`    what runs inside the sandbox (untrusted), and the wire format
:mod:`grader.gradebook`    writes into nbgrader's gradebook
:mod:`grader.scan`         static scan of the student's code, for a human look
:mod:`grader.fingerprint`  winnowed fingerprints of a function's normalized syntax tree
:mod:`grader.similarity`   similar code against rnn_ref, solutions/ and the class, for a human look
:mod:`grader.report`       the instructor's report (Markdown, CSV, JSON)
:mod:`grader.inert`        the student's HTML and Markdown sanitized, for the feedback
:mod:`grader.text`         a submission's strings made safe to keep, show and write
:mod:`grader.files`        files and folders written whole or not at all
:mod:`grader.course`       the trusted model of an assignment (gradebook and release)
=========================  ======================================================
"""
