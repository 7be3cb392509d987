"""What every spec shares: the :class:`Spec` record, random inputs, and the isolations of one term.

One :class:`Spec` per function a student writes, keyed by the name of its
reference in :mod:`rnn_ref` (``"lstm.input_gate"``).  A spec says

* how to draw random inputs for given sizes (``make``), caches included: a
  backward pass always receives a cache made by the *reference* forward, so
  that its pre-activations and activations agree;
* the names of the returned values (``None`` for a cache, never compared);
* the functions of the student's notebook it builds on (``builds_on``): while
  it is graded they are the reference's, so that one mistake costs points once;
* which other :mod:`rnn_ref` functions the student may call (``allowed``);
* how to isolate one term at a time (``isolations``: the arguments to zero);
* which arguments to shift to large pre-activations, for a function that
  computes an activation (``large``: its bias, the logits; see
  :func:`rnn_checks.cases.enlarge`);
* for a function that returns gradients, the sizes of its *timed case* (``timed``): a case large
  enough that computing the gradients by numerical differentiation (one or two forward passes per
  input entry) takes orders of magnitude longer than backpropagation, which a judge times.

This module holds :class:`Spec`, the random inputs and the term isolations
shared by every chapter; the specs themselves are in :mod:`rnn_checks.specs.rnn`
(chapters 1-3), :mod:`rnn_checks.specs.gated` (LSTM, GRU, peephole LSTM) and
:mod:`rnn_checks.specs.bi` (masks, bidirectional layers, the tagger, the BiGRU).
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from rnn_ref.activations import sigmoid
from rnn_ref.masks import lengths_to_mask

# What every graded function may call: the activations (sigmoid, tanh, softmax).
ALWAYS_ALLOWED = ("activations.*",)


class Spec(NamedTuple):
    """How to grade one function; see the module docstring."""

    key: str
    reference: Callable
    outputs: tuple
    make: Callable  # make(rng, dims, dtype, variant) -> (args, kwargs)
    variants: tuple = ({},)
    builds_on: dict = {}
    allowed: tuple = ()
    isolations: tuple = ()  # (label, targets to zero): "x", "params['b']", "dhs[:-1]"
    rtol: float = 1e-6  # float64; float32 uses FLOAT32_RTOL
    uses: str = "TNDH"  # the dimension letters that matter (for the case labels)
    large: tuple = ()  # shifted by +-100 in one more case, where an activation must not overflow: "b_i", "params['b']"
    timed: tuple = ()  # (dims, variant index) of the timed case, for a function that returns gradients


FLOAT32_RTOL, FLOAT32_ATOL, FLOAT64_ATOL = 2e-4, 2e-5, 1e-9


# --- random inputs -----------------------------------------------------------------------------------


def normal(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def state(rng, shape, dtype):
    """A hidden state: values in (-1, 1), as tanh makes them."""
    return np.tanh(rng.standard_normal(shape)).astype(dtype)


def gate_values(rng, shape, dtype):
    """Gate activations: values in (0, 1)."""
    return sigmoid(rng.standard_normal(shape)).astype(dtype)


# A step's backward pass is a function of its cache: the activations stored there are the point at which the
# chain rule is taken.  One case of each step backward gets a cache whose activations were drawn at random,
# not computed from its x, h_prev and weights (the label says "not from x").  A backward pass that reads the
# cache answers it like the reference; one that computes the step again from the inputs (to differentiate it
# numerically, say) answers for other activations, and fails there.
MADE_UP_CACHE = "not from x"


def cell_params(rng, G, D, H, dtype, extra=()):
    """Stacked weights scaled so that pre-activations are of order 1, and a nonzero bias."""
    params = {
        "W_x": normal(rng, (G * H, D), dtype, 1 / np.sqrt(D)),
        "W_h": normal(rng, (G * H, H), dtype, 1 / np.sqrt(H)),
        "b": normal(rng, (G * H,), dtype, 0.5),
    }
    for key in extra:
        params[key] = normal(rng, (H,), dtype, 0.5)
    return params


def params_of(cell, rng, D, H, dtype, reset_after=False):
    if cell == "rnn":
        return cell_params(rng, 1, D, H, dtype)
    if cell == "gru":
        return cell_params(rng, 3, D, H, dtype, ("b_hn",) if reset_after else ())
    return cell_params(rng, 4, D, H, dtype, ("p_i", "p_f", "p_o") if cell == "peephole" else ())


def mask_of(rng, T, N):
    """Left-aligned valid steps: the first sequence is full, the others of random length in [1, T]."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T
    if N > 1 and T > 1:
        lengths[1] = rng.integers(1, T)  # at least one sequence with padding
    return lengths_to_mask(lengths, T)


def gate_args(rng, d, dtype):
    """``x, h_prev, W_x?, W_h?, b_?`` of one gate (H rows)."""
    N, D, H = d["N"], d["D"], d["H"]
    p = cell_params(rng, 1, D, H, dtype)
    return (normal(rng, (N, D), dtype), state(rng, (N, H), dtype), p["W_x"], p["W_h"], p["b"])


# --- isolating one term at a time ----------------------------------------------------------------------


def gate_isolations(b):
    return (
        ("only the bias (x = 0, h_prev = 0)", ("x", "h_prev")),
        (f"only the input term (h_prev = 0, {b} = 0)", ("h_prev", b)),
        (f"only the recurrent term (x = 0, {b} = 0)", ("x", b)),
    )


STEP_ISOLATIONS = (
    ("only the bias (x = 0, h_prev = 0)", ("x", "h_prev")),
    ("only the input term (h_prev = 0, b = 0)", ("h_prev", "params['b']")),
    ("only the recurrent term (x = 0, b = 0)", ("x", "params['b']")),
)
SEQUENCE_ISOLATIONS = (
    ("only the inputs (h0 = 0, b = 0)", ("h0", "params['b']")),
    ("only the initial state (xs = 0, b = 0)", ("xs", "params['b']")),
    ("only the bias (xs = 0, h0 = 0)", ("xs", "h0")),
)
BPTT_ISOLATIONS = (
    ("only the gradient of the last output (dhs[:-1] = 0, no dh_last)", ("dhs[:-1]", "dh_last")),
    ("only dh_last (dhs = 0)", ("+dh_last", "dhs")),
    ("only the outputs' gradients (no dh_last)", ("dh_last",)),
)
