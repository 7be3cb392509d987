# %% [markdown]
# # Exercise 3: vanishing and exploding gradients
#
# Backpropagation through time multiplies one Jacobian per step,
# $\partial h_t / \partial h_0 = J_t J_{t-1} \cdots J_1$ with
# $J_t = \operatorname{diag}(1 - h_t^2)\, W_h$. You will measure how the norm of that product
# shrinks or grows with $t$, then write the two usual remedies for exploding gradients:
# clipping by the global norm and clipping each value.

# %% header

# %% setup
import numpy as np

import rnn_checks
from rnn_ref.rnn import rnn_forward  # noqa: F401 (for your code)

# %% [markdown]
# ## 1. Measuring the Jacobian's norm (3 points)
#
# On the product of Jacobians, see [chapter 3](../../book/03_vanishing_exploding.md). Run
# `rnn_forward` (given) to get the states, then build the product one step at a time, the
# newest Jacobian on the left, for every sequence of the batch at once (an `(N, H, H)` array;
# `@` multiplies stacks of matrices). Record the spectral norm (the largest singular value,
# `np.linalg.norm(P, ord=2, axis=(1, 2))`) after every step.


# %% solution id="jacobian_norms"
def jacobian_norms(xs, h0, params):
    r"""Spectral norm of :math:`\partial h_t / \partial h_0` for every step and sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
    h0 : ndarray, shape (N, H)
    params : dict
        ``W_x`` (H, D), ``W_h`` (H, H), ``b`` (H,).

    Returns
    -------
    norms : ndarray, shape (T, N)
        ``norms[t, n]``: the norm for sequence ``n`` after step ``t`` (that is, of
        :math:`\partial h_{t+1} / \partial h_0` with ``hs[t]`` as :math:`h_{t+1}`).

    Notes
    -----
    .. math::
        J_t = \operatorname{diag}(1 - h_t^2)\, W_h, \qquad
        \frac{\partial h_t}{\partial h_0} = J_t J_{t-1} \cdots J_1
    """
    ### BEGIN SOLUTION
    hs, _, _ = rnn_forward(xs, h0, params)
    T, N, H = hs.shape
    P = np.broadcast_to(np.eye(H, dtype=hs.dtype), (N, H, H))
    norms = np.empty((T, N), dtype=hs.dtype)
    for t in range(T):
        J = (1 - hs[t] ** 2)[:, :, None] * params["W_h"]  # (N, H, H): row k scaled by tanh'
        P = J @ P
        norms[t] = np.linalg.norm(P, ord=2, axis=(1, 2))
    return norms
    ### END SOLUTION


# %% test id="test_jacobian_norms" points=3
"""jacobian_norms: a case worked out by hand, then random cases against the reference."""
# With W_x = 0 and b = 0 the state stays at h0 = 0, so tanh' = 1 and every J_t is W_h:
# the norm after t steps is that of W_h**t. For W_h = diag(0.5, 2) it is 2**t.
params = {"W_x": np.zeros((2, 1)), "W_h": np.diag([0.5, 2.0]), "b": np.zeros(2)}
rnn_checks.check_example(
    jacobian_norms,
    "rnn.jacobian_norms",
    args=(np.ones((3, 1, 1)), np.zeros((1, 2)), params),
    expected={"norms": [[2.0], [4.0], [8.0]]},
)
rnn_checks.check(jacobian_norms, "rnn.jacobian_norms")
### BEGIN HIDDEN TESTS
rnn_checks.grade(jacobian_norms, "rnn.jacobian_norms")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Clipping by the global norm (2 points)
#
# On gradient clipping, see [chapter 3](../../book/03_vanishing_exploding.md). Compute one
# norm over **all** the gradients, as if they were concatenated into one vector. If it exceeds
# `max_norm`, scale every gradient by the same factor `max_norm / (total_norm + 1e-6)`
# (PyTorch's `clip_grad_norm_`); otherwise leave them unchanged. Return new arrays (never
# modify the ones you are given) and the norm measured **before** clipping.


# %% solution id="clip_grad_norm"
def clip_grad_norm(grads, max_norm):
    r"""Rescale all gradients together so that their global L2 norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict of str to ndarray
        Any keys and shapes. Not modified.
    max_norm : float
        Positive.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays: same keys, shapes and dtypes.
    total_norm : float
        The global norm before clipping.

    Notes
    -----
    .. math::
        \|g\| = \sqrt{\textstyle\sum_p \sum_k g_{p,k}^2}, \quad
        g_p \leftarrow \min\Big(1, \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\Big)\, g_p
    """
    ### BEGIN SOLUTION
    total_norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    coef = min(1.0, max_norm / (total_norm + 1e-6))
    return {key: (g * coef).astype(g.dtype) for key, g in grads.items()}, total_norm
    ### END SOLUTION


# %% test id="test_clip_grad_norm" points=2
"""clip_grad_norm: a 3-4-12 triangle by hand, then random cases against the reference."""
# The global norm of (3, 4) and (12,) is sqrt(9 + 16 + 144) = 13; clipping to 6.5 halves everything.
grads = {"W": np.array([[3.0, 4.0]]), "b": np.array([12.0])}
half = 6.5 / (13 + 1e-6)
rnn_checks.check_example(
    clip_grad_norm,
    "clip.clip_grad_norm",
    args=(grads, 6.5),
    expected={"clipped": {"W": [[3 * half, 4 * half]], "b": [12 * half]}, "total_norm": 13.0},
)
rnn_checks.check(clip_grad_norm, "clip.clip_grad_norm")
### BEGIN HIDDEN TESTS
rnn_checks.grade(clip_grad_norm, "clip.clip_grad_norm")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Clipping each value (1 point)
#
# Clamp every entry to `[-clip_value, clip_value]` (PyTorch's `clip_grad_value_`). Simpler,
# but it changes the direction of the update. Return new arrays.


# %% solution id="clip_grad_value"
def clip_grad_value(grads, clip_value):
    r"""Clamp every gradient entry to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    grads : dict of str to ndarray
        Not modified.
    clip_value : float
        Positive.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays: same keys, shapes and dtypes.

    Notes
    -----
    .. math:: g_{p,k} \leftarrow \min(\max(g_{p,k}, -c), c)
    """
    ### BEGIN SOLUTION
    return {key: np.clip(g, -clip_value, clip_value).astype(g.dtype) for key, g in grads.items()}
    ### END SOLUTION


# %% test id="test_clip_grad_value" points=1
"""clip_grad_value: values clamped to [-1, 1] by hand, then random cases against the reference."""
grads = {"W": np.array([[-3.0, 0.5], [1.0, 2.0]]), "b": np.array([-0.25])}
rnn_checks.check_example(
    clip_grad_value,
    "clip.clip_grad_value",
    args=(grads, 1.0),
    expected={"clipped": {"W": [[-1.0, 0.5], [1.0, 1.0]], "b": [-0.25]}},
)
rnn_checks.check(clip_grad_value, "clip.clip_grad_value")
### BEGIN HIDDEN TESTS
rnn_checks.grade(clip_grad_value, "clip.clip_grad_value")
### END HIDDEN TESTS
