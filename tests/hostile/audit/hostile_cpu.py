# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""A student who steals the CPU from the students graded beside it (audit)."""

from hostile.audit.honest01 import sols
from hostile.audit.honest08 import EINSUM_CLASS, OUTER_LOOP
from hostile.audit.hostile08 import PURE_PYTHON_WEIGHTS
from hostile.corpus import Case, _extra_cell, _honest

ASSIGNMENT = "08_lstm_gates"

BURNERS = """import os, time
for _ in range(9):  # AUDIT-BURNER: busy processes, each under its own RLIMIT_CPU (12 processes at most)
    try:
        if os.fork() == 0:
            while True:
                pass
    except OSError:
        break
time.sleep(25)  # stays under the cell limit; the burners run meanwhile
"""

CASES = [
    Case(
        "c_burner", "forks 9 busy processes and sleeps 25 s in a cell of its own", _extra_cell(BURNERS, after=0), (1, 1)
    ),
    Case(
        "c_honest_slow",
        "honest: dW_x by a triple Python loop (2 s alone, 3 s allowed)",
        sols({0: PURE_PYTHON_WEIGHTS}),
        (1, 1),
        honest=True,
    ),
    Case("c_honest", "right", _honest, (1, 1), honest=True),
]


CASES += [
    Case("c_honest_outer", "honest: a loop over the batch with np.outer", sols({0: OUTER_LOOP}), (1, 1), honest=True),
    Case("c_honest_einsum", "honest: einsum", sols({0: EINSUM_CLASS}), (1, 1), honest=True),
]
