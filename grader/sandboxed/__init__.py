"""The code that runs *inside* the sandbox, next to the student's code.

Nothing here is trusted: the student's code runs in the same interpreter and
can replace any of it.  These modules only carry the student's results out
(one JSON event per line on an inherited pipe; the judge's runner also reads
the grader's steps on a second pipe); the grader outside decides what they
are worth.  They import the standard library, NumPy and IPython, and the
judge's runner the view of :mod:`rnn_ref` it is given; never
:mod:`rnn_checks` or the rest of :mod:`grader` (``adapter.py`` repeats the
rules of ``rnn_checks.adapter``, from the data the grader sends).
"""
