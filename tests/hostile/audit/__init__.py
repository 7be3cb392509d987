"""An independent audit of ``python -m grader grade`` (issue 10): submissions beyond tests/hostile/corpus.py.

Not collected by pytest: ``harness.py`` grades one module's cases in a small batch (an honest correct
and a blank student beside them) and prints OK or BAD per student against the expected points.

    OPENBLAS_NUM_THREADS=1 VALIDATE=1 .venv/bin/python tests/hostile/audit/harness.py honest01b

Modules: honest01, honest01b (01_rnn_cell), honest04 (04_lstm), honest08 (08_lstm_gates): correct work
in other styles; hostile01 (the comparison: NaN, inf, masked, object, broadcast, empty, lying ndarray
subclass, complex), hostile02 / hostile08 (backward passes by colored complex-step or finite
differences), hostile_stray (a daemonized process left behind), hostile_cpu (busy processes beside
a classmate's timed case).

Known BAD at the time of the audit, and what became of them:
* hostile08 h08_complex_step, h08_fd_colored, hostile02 h02_complex_step_da, h02_complex_step_blind: a
  step backward by complex-step or finite differences of the student's own forward, with the Jacobian's
  columns grouped (few evaluations), earned full marks: the timed case could not see it.  Now 0: every
  step backward has cases whose cache was not computed from its x (rnn_checks.specs.common.MADE_UP_CACHE).
* hostile_cpu c_honest_slow (timing-dependent, 2 of 3 runs): busy processes of another student graded at
  the same time push an honest (slow, loop-written) backward over its 3 s on the timed case.  Open (the
  instructors' page says to grade with --jobs 1 where that matters).
"""
