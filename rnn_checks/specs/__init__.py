"""What each graded function is: how to draw its inputs, what it returns, what it may use.

One :class:`Spec` per function a student writes, keyed by the name of its
reference in :mod:`rnn_ref` (``"lstm.input_gate"``).  The specs are data, one
module per chapter group, each listing its own in ``SPECS``:

* :mod:`rnn_checks.specs.rnn`: chapters 1-3 (the RNN cell, BPTT, clipping, the Jacobian);
* :mod:`rnn_checks.specs.gated`: chapters 4, 5, 6 and 8 (LSTM, GRU, peephole LSTM);
* :mod:`rnn_checks.specs.bi`: chapters 7, 9 and 10 (masks, bidirectional layers, the tagger, the BiGRU);

and :mod:`rnn_checks.specs.common` holds what they share.  This package only
gathers them: it imports the chapter modules, which import ``common``, never
the other way round.
"""

from . import bi, gated, rnn
from .common import ALWAYS_ALLOWED, FLOAT32_ATOL, FLOAT32_RTOL, FLOAT64_ATOL, Spec

SPECS = {spec.key: spec for group in (rnn, gated, bi) for spec in group.SPECS}


def spec_of(key):
    """The :class:`Spec` of the graded function ``key``; ValueError naming the close keys for an unknown one."""
    if key not in SPECS:
        close = [k for k in SPECS if k.split(".")[-1] == str(key).split(".")[-1]]
        raise ValueError(f"unknown reference {key!r}" + (f"; did you mean {' or '.join(close)}?" if close else ""))
    return SPECS[key]


__all__ = ["ALWAYS_ALLOWED", "FLOAT32_ATOL", "FLOAT32_RTOL", "FLOAT64_ATOL", "SPECS", "Spec", "spec_of"]
