r"""Reference versions of two exercise functions that have no public module yet.

* :func:`output_layer` (exercise 1): the softmax read-out of every hidden state;
* :func:`jacobian_norms` (exercise 3): how the norm of
  :math:`\partial h_t / \partial h_0` grows or shrinks with :math:`t`.

:mod:`rnn_ref.testing` grades the students' versions against these.  They are
private because the public API of :mod:`rnn_ref` is fixed by the design; they
belong in :mod:`rnn_ref.rnn` if the chapters come to use them.
"""

import numpy as np

from ._checks import Dims
from .activations import softmax
from .rnn import rnn_forward


def output_layer(hs, W_y, b_y):
    r"""Class probabilities of every step: a linear read-out, then a softmax.

    Parameters
    ----------
    hs : ndarray, shape (T, N, H)
        Hidden states of every step.
    W_y : ndarray, shape (V, H)
    b_y : ndarray, shape (V,)

    Returns
    -------
    p : ndarray, shape (T, N, V)
        Non-negative, summing to 1 over the last axis.

    Notes
    -----
    .. math:: p_t = \operatorname{softmax}(W_y h_t + b_y)
    """
    dims = Dims()
    hs = dims.array("hs", hs, ("T", "N", "H"))
    W_y = dims.array("W_y", W_y, ("V", "H"))
    b_y = dims.array("b_y", b_y, ("V",))
    return softmax(hs @ W_y.T + b_y)  # (T, N, V)


def jacobian_norms(xs, h0, params):
    r"""Spectral norm of :math:`\partial h_t / \partial h_0` for every step and sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
    h0 : ndarray, shape (N, H)
    params : dict
        Vanilla RNN parameters ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Returns
    -------
    norms : ndarray, shape (T, N)
        ``norms[t - 1, n]`` is the largest singular value of the Jacobian of
        the state after step ``t`` with respect to ``h0``, for sequence ``n``.

    Notes
    -----
    One step's Jacobian is :math:`J_t = \operatorname{diag}(1 - h_t^2)\, W_h`
    (:math:`h_t = \tanh(a_t)`), and the chain rule multiplies them, the
    newest on the left:

    .. math::
        \frac{\partial h_t}{\partial h_0} = J_t J_{t-1} \cdots J_1, \qquad
        \|A\|_2 = \sigma_{\max}(A)
    """
    hs, _, _ = rnn_forward(xs, h0, params)  # (T, N, H)
    T, N, H = hs.shape
    W_h = params["W_h"]
    product = np.broadcast_to(np.eye(H, dtype=hs.dtype), (N, H, H))  # dh_0/dh_0 for every sequence
    norms = np.empty((T, N), dtype=hs.dtype)
    for t in range(T):
        J = (1 - hs[t] ** 2)[:, :, None] * W_h  # (N, H, H): row k of W_h scaled by tanh'(a_k)
        product = J @ product  # (N, H, H), newest Jacobian on the left
        norms[t] = np.linalg.norm(product, ord=2, axis=(1, 2))
    return norms
