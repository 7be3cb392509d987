r"""rnn_ref: the reference NumPy implementation of the RNN course.

Every chapter, exercise and grade of the course is computed with this package.
It is written to be read: one cell per module, one function per equation, the
names of the equations, NumPy the only dependency.

It holds the reference and nothing else: it imports NumPy and the standard
library only, never the exercise checks (:mod:`rnn_checks`, which build on it)
nor the grader.

Notation
--------
=========  ==================================================================
Letter     Meaning
=========  ==================================================================
``T``      number of time steps (sequences are **time-major**)
``N``      batch size (number of sequences)
``D``      input size
``H``      hidden size
``G``      number of gates stacked in one weight matrix
           (RNN 1, GRU 3, LSTM and peephole LSTM 4)
``V``      vocabulary size (characters of a language model)
``K``      number of classes or tags of an output layer
=========  ==================================================================

Shapes
------
=====================  ===============  ======================================
Array                  Shape            Meaning
=====================  ===============  ======================================
``xs``                 (T, N, D)        inputs of every step
``x``                  (N, D)           input of one step
``h0``, ``h``          (N, H)           a hidden state
``c0``, ``c``          (N, H)           a cell state (LSTM, peephole LSTM)
``hs``                 (T, N, H)        output of every step
``mask``               (T, N) bool      True at valid steps, False at padding
``lengths``            (N,) int         instead of a mask: valid prefix lengths
``W_x``                (G*H, D)         input weights (math layout, as PyTorch)
``W_h``                (G*H, H)         recurrent weights
``b``                  (G*H,)           bias
``b_hn``               (H,)             GRU with ``reset_after=True`` only
``p_i, p_f, p_o``      (H,)             peephole LSTM only (diagonal)
=====================  ===============  ======================================

The pre-activation of a step is ``x @ W_x.T + h_prev @ W_h.T + b`` (N, G*H):
in the equations, :math:`W_x x_t + W_h h_{t-1} + b`.

Gate order
----------
Gates are stacked in PyTorch's order, rows ``k*H:(k+1)*H`` for gate ``k``:

* LSTM and peephole LSTM: ``i, f, g, o`` (input, forget, candidate, output);
* GRU: ``r, z, n`` (reset, update, candidate);
* vanilla RNN: one block.

GRU convention
--------------
:math:`h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t` (Cho et al. 2014, as
PyTorch): ``z`` close to 1 keeps the old state.  The candidate comes in two
published variants, chosen by ``reset_after``:

* ``False`` (default, the textbook form):
  :math:`n_t = \tanh(W_{xn} x_t + W_{hn} (r_t \odot h_{t-1}) + b_n)`;
* ``True`` (PyTorch, cuDNN):
  :math:`n_t = \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))`.

Peephole convention
-------------------
Diagonal peepholes (Gers and Schmidhuber 2000): ``i`` and ``f`` look at
:math:`c_{t-1}`, ``o`` looks at the new :math:`c_t`:
:math:`i_t = \sigma(W_{xi} x_t + W_{hi} h_{t-1} + p_i \odot c_{t-1} + b_i)`.

Masks
-----
At a padded step the state is carried unchanged, the output is zero and no
gradient flows into it; final states are taken at each sequence's own last
valid step (PyTorch's ``h_n``, ``c_n`` for packed sequences).

Conventions of every function
-----------------------------
* Parameters travel as a dict of arrays; gradients come back as a dict with
  the same keys and shapes.
* Forward functions return ``(outputs..., cache)``; backward functions take
  ``(d_outputs..., cache)`` and return one gradient per input of the forward,
  initial states included.  No argument is ever modified.
* Computation happens in the dtype of the inputs (float32 or float64); arrays
  of different dtypes, or of the wrong shape, raise ``ValueError`` naming the
  argument, the shape it had and the shape it should have.
"""

from . import (
    activations,
    bidirectional,
    cells,
    clip,
    data,
    gradcheck,
    gru,
    init,
    interop,
    losses,
    lstm,
    masks,
    models,
    optim,
    peephole,
    rnn,
    tbptt,
)

__version__ = "0.1.0"

__all__ = [
    "activations",
    "bidirectional",
    "cells",
    "clip",
    "data",
    "gradcheck",
    "gru",
    "init",
    "interop",
    "losses",
    "lstm",
    "masks",
    "models",
    "optim",
    "peephole",
    "rnn",
    "tbptt",
]
