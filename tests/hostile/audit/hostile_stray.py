# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""Processes and threads left running after the student's run (audit)."""

from hostile.corpus import Case, _blank, _extra_cell, _honest

ASSIGNMENT = "08_lstm_gates"

STRAY = """import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        os.closerange(0, 1024)
        t = time.time()
        while time.time() - t < 120:  # AUDIT-STRAY burns a core for 2 minutes
            pass
        os._exit(0)
    os._exit(0)
"""

CASES = [
    Case("s_honest_before", "right", _honest, (1, 1), honest=True),
    Case("s_stray", "a daemonized CPU burner left after its cell", _extra_cell(STRAY, after=0), (1, 1)),
    Case("s_honest_after", "right", _honest, (1, 1), honest=True),
    Case("s_blank", "release", _blank, (0, 0), honest=True),
]
