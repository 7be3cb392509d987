r"""Gated recurrent unit (Cho et al. 2014): one function per equation, a step, a sequence.

.. math::
    r_t &= \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r) \\
    z_t &= \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z) \\
    n_t &= \tanh(W_{xn} x_t + W_{hn} (r_t \odot h_{t-1}) + b_n)
        \quad \text{(textbook)} \\
    n_t &= \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))
        \quad \text{(PyTorch, cuDNN)} \\
    h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t

The keyword ``reset_after`` chooses the candidate: ``False`` (the default)
applies the reset gate to :math:`h_{t-1}` *before* the recurrent matmul, as
Cho et al. (2014) wrote it; ``True`` applies it *after*, as PyTorch's
``nn.GRU`` and cuDNN do, and then the candidate has a bias of its own inside
the reset, ``b_hn`` (H,).  Some texts (Chung et al. 2014) swap ``z`` and
``1 - z``; here, as in Cho et al. and PyTorch, ``z`` close to 1 keeps the old
state.

The three gates are stacked in PyTorch's order ``r, z, n``: ``W_x`` is
(3H, D), ``W_h`` (3H, H), ``b`` (3H,), and rows ``k*H:(k+1)*H`` belong to
gate ``k``.  PyTorch keeps two bias vectors, ``b_ih`` and ``b_hh``; in our
layout ``b = b_ih + b_hh`` on the ``r`` and ``z`` blocks, ``b_n = b_ih[2H:]``
and ``b_hn = b_hh[2H:]`` (the two candidate biases cannot be merged, since
``b_hn`` is multiplied by :math:`r_t`).
"""

from typing import NamedTuple

import numpy as np

from ._checks import Dims
from .activations import sigmoid
from .lstm import _gate_preactivation  # the same affine map as the LSTM's gates, with the same checks
from .masks import resolve_mask

PARAM_SPECS = {"W_x": ("3H", "D"), "W_h": ("3H", "H"), "b": ("3H",)}
PARAM_SPECS_RESET_AFTER = {**PARAM_SPECS, "b_hn": ("H",)}
GATES = ("r", "z", "n")


def param_specs(reset_after=False):
    """The parameter keys and shapes of a GRU.

    Parameters
    ----------
    reset_after : bool
        Which candidate; only ``True`` has the extra bias ``b_hn``.

    Returns
    -------
    dict
        Key -> shape in dimension letters, e.g. ``{"W_x": ("3H", "D"), ...}``.
    """
    return PARAM_SPECS_RESET_AFTER if reset_after else PARAM_SPECS


def _check_reset_after(reset_after):
    if not isinstance(reset_after, (bool, np.bool_)):
        raise ValueError(f"reset_after must be True or False, got {reset_after!r}")
    return bool(reset_after)


def _check_params(dims, params, reset_after):
    """Check a GRU parameter dict, with a clear message about ``b_hn``."""
    if isinstance(params, dict):
        if reset_after and "b_hn" not in params:
            raise ValueError(
                "params has no 'b_hn': reset_after=True needs the candidate's recurrent bias "
                "params['b_hn'] of shape (H,) (PyTorch's bias_hh[2H:])"
            )
        if not reset_after and "b_hn" in params:
            raise ValueError(
                "params has an unexpected 'b_hn': it is only used with reset_after=True "
                "(pass reset_after=True, or fold it into b and drop it)"
            )
    return dims.params(params, param_specs(reset_after))


# --- one function per equation ---------------------------------------------------------------


def reset_gate(x, h_prev, W_xr, W_hr, b_r):
    r"""Reset gate: how much of the previous state the candidate may see.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xr : ndarray, shape (H, D)
    W_hr : ndarray, shape (H, H)
    b_r : ndarray, shape (H,)

    Returns
    -------
    r : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: r_t = \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r)
    """
    return sigmoid(_gate_preactivation(x, h_prev, W_xr, W_hr, b_r, "r"))


def update_gate(x, h_prev, W_xz, W_hz, b_z):
    r"""Update gate: how much of the previous state is kept.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    W_xz : ndarray, shape (H, D)
    W_hz : ndarray, shape (H, H)
    b_z : ndarray, shape (H,)

    Returns
    -------
    z : ndarray, shape (N, H), values in (0, 1)

    Notes
    -----
    .. math:: z_t = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z)
    """
    return sigmoid(_gate_preactivation(x, h_prev, W_xz, W_hz, b_z, "z"))


def candidate(x, h_prev, r, W_xn, W_hn, b_n, b_hn=None, *, reset_after=False):
    r"""Candidate state (called :math:`\tilde h_t` in many texts), in either variant.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    r : ndarray, shape (N, H)
        The reset gate of this step.
    W_xn : ndarray, shape (H, D)
    W_hn : ndarray, shape (H, H)
    b_n : ndarray, shape (H,)
    b_hn : ndarray, shape (H,), optional
        Required when ``reset_after=True``, refused otherwise.
    reset_after : bool
        Apply the reset gate after the recurrent matmul (PyTorch) instead of
        before it (textbook).

    Returns
    -------
    n : ndarray, shape (N, H), values in (-1, 1)

    Notes
    -----
    ``reset_after=False``:

    .. math:: n_t = \tanh(W_{xn} x_t + W_{hn} (r_t \odot h_{t-1}) + b_n)

    ``reset_after=True``:

    .. math:: n_t = \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn}))

    The two agree when :math:`b_{hn} = 0` and :math:`W_{hn}` is diagonal,
    because only then :math:`W_{hn} (r \odot h) = r \odot (W_{hn} h)`.
    """
    reset_after = _check_reset_after(reset_after)
    if reset_after and b_hn is None:
        raise ValueError("b_hn is None, but reset_after=True needs the candidate's recurrent bias b_hn of shape (H,)")
    if not reset_after and b_hn is not None:
        raise ValueError("b_hn was given, but it is only used with reset_after=True (pass reset_after=True or drop it)")
    dims = Dims()
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    r = dims.array("r", r, ("N", "H"))
    W_xn = dims.array("W_xn", W_xn, ("H", "D"))
    W_hn = dims.array("W_hn", W_hn, ("H", "H"))
    b_n = dims.array("b_n", b_n, ("H",))
    if reset_after:
        b_hn = dims.array("b_hn", b_hn, ("H",))
        return np.tanh(x @ W_xn.T + b_n + r * (h_prev @ W_hn.T + b_hn))  # (N, H)
    return np.tanh(x @ W_xn.T + (r * h_prev) @ W_hn.T + b_n)  # (N, H)


def hidden_state(z, n, h_prev):
    r"""New hidden state: a gate-weighted mix of the old state and the candidate.

    Parameters
    ----------
    z, n, h_prev : ndarray, shape (N, H)

    Returns
    -------
    h : ndarray, shape (N, H)

    Notes
    -----
    .. math:: h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t
    """
    dims = Dims()
    for name, value in (("z", z), ("n", n), ("h_prev", h_prev)):
        dims.array(name, value, ("N", "H"))
    return z * h_prev + (1 - z) * n


# --- shared by the step and the sequence -----------------------------------------------------


def _cell_forward(a_x, h_prev, W_h, b_hn, reset_after):
    """One step after the input projection.

    ``a_x`` (N, 3H) is ``x @ W_x.T + b``.  Returns ``gates`` (N, 3H) holding
    ``r, z, n`` side by side, the new state ``h`` (N, H), and ``u`` (N, H),
    the recurrent term the backward pass needs: ``r * h_prev`` when
    ``reset_after`` is False, ``W_hn h_prev + b_hn`` when it is True.
    """
    H = h_prev.shape[-1]
    gates = np.empty_like(a_x)  # (N, 3H)
    if reset_after:
        p = h_prev @ W_h.T  # (N, 3H): all three recurrent products in one matmul
        p[:, 2 * H :] += b_hn
        gates[:, : 2 * H] = sigmoid(a_x[:, : 2 * H] + p[:, : 2 * H])  # r and z
        r = gates[:, :H]
        u = p[:, 2 * H :]  # W_hn h_prev + b_hn
        gates[:, 2 * H :] = np.tanh(a_x[:, 2 * H :] + r * u)
    else:
        # r and z first: the candidate's matmul needs r
        gates[:, : 2 * H] = sigmoid(a_x[:, : 2 * H] + h_prev @ W_h[: 2 * H].T)  # (N, 2H)
        r = gates[:, :H]
        u = r * h_prev  # (N, H)
        gates[:, 2 * H :] = np.tanh(a_x[:, 2 * H :] + u @ W_h[2 * H :].T)  # (N, H)
    z, n = gates[:, H : 2 * H], gates[:, 2 * H :]
    h = z * h_prev + (1 - z) * n
    return gates, u, h


def _cell_backward(dh, h_prev, gates, u, W_h, reset_after):
    """Backward through one step, up to the matmuls with the weights.

    Takes the gradient ``dh`` (N, H) of the new state and returns

    * ``da`` (N, 3H), the gradient of the input pre-activation
      ``x @ W_x.T + b`` (what ``W_x``, ``b`` and ``x`` receive);
    * ``dp`` (N, 3H), the gradient of the recurrent products: of
      ``h_prev @ W_h.T + [0, 0, b_hn]`` when ``reset_after``, else of
      ``h_prev @ W_h[:2H].T`` and ``(r * h_prev) @ W_h[2H:].T`` (then ``dp = da``);
    * ``dh_prev`` (N, H).
    """
    H = dh.shape[-1]
    r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    da = np.empty_like(gates)  # (N, 3H)
    da_n = dh * (1 - z) * (1 - n**2)  # through n, then tanh
    da[:, H : 2 * H] = dh * (h_prev - n) * z * (1 - z)  # through z, then sigmoid
    da[:, 2 * H :] = da_n
    if reset_after:
        da[:, :H] = da_n * u * r * (1 - r)  # u = W_hn h_prev + b_hn is multiplied by r
        dp = da.copy()
        dp[:, 2 * H :] = da_n * r  # the recurrent part of the candidate sits behind r
        dh_prev = dh * z + dp @ W_h  # (N, H)
    else:
        du = da_n @ W_h[2 * H :]  # (N, H): gradient of u = r * h_prev
        da[:, :H] = du * h_prev * r * (1 - r)
        dp = da
        dh_prev = dh * z + du * r + da[:, : 2 * H] @ W_h[: 2 * H]  # (N, H)
    return da, dp, dh_prev


def _weight_grads(da, dp, x, h_prev, u, reset_after):
    """Weight gradients from rows of ``da``, ``dp`` (M, 3H), ``x`` (M, D), ``h_prev``, ``u`` (M, H).

    ``M`` is ``N`` for one step, ``T * N`` for a sequence: one matmul per
    weight, however many steps.
    """
    H = h_prev.shape[-1]
    grads = {"W_x": da.T @ x, "b": da.sum(axis=0)}  # (3H, D), (3H,)
    if reset_after:
        grads["W_h"] = dp.T @ h_prev  # (3H, H)
        grads["b_hn"] = dp[:, 2 * H :].sum(axis=0)  # (H,)
    else:
        grads["W_h"] = np.concatenate(
            [dp[:, : 2 * H].T @ h_prev, dp[:, 2 * H :].T @ u],  # (2H, H) for r, z; (H, H) for n
            axis=0,
        )
    return {key: grads[key] for key in param_specs(reset_after)}  # same key order as params


# --- one step --------------------------------------------------------------------------------


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from :func:`gru_step_forward`."""

    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    gates: np.ndarray  # (N, 3H): r, z, n after their nonlinearities
    u: np.ndarray  # (N, H): r * h_prev (reset_after=False) or W_hn h_prev + b_hn (True)
    params: dict
    reset_after: bool

    @property
    def r(self):
        """Reset gate (N, H)."""
        return self.gates[:, : self.h_prev.shape[-1]]

    @property
    def z(self):
        """Update gate (N, H)."""
        H = self.h_prev.shape[-1]
        return self.gates[:, H : 2 * H]

    @property
    def n(self):
        """Candidate (N, H)."""
        return self.gates[:, 2 * self.h_prev.shape[-1] :]


def gru_step_forward(x, h_prev, params, *, reset_after=False):
    r"""One GRU step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    params : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,), gates in the order
        ``r, z, n``; with ``reset_after=True`` also ``b_hn`` (H,).
    reset_after : bool
        Which candidate: textbook (False) or PyTorch (True).

    Returns
    -------
    h : ndarray, shape (N, H)
    cache : GRUStepCache

    Notes
    -----
    .. math::
        [a_r; a_z; a_n] &= W_x x_t + b, \quad
        r_t = \sigma(a_r + W_{hr} h_{t-1}), \quad
        z_t = \sigma(a_z + W_{hz} h_{t-1}) \\
        n_t &= \tanh(a_n + W_{hn} (r_t \odot h_{t-1})) \quad \text{(textbook)} \\
        n_t &= \tanh(a_n + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \quad \text{(PyTorch)} \\
        h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t
    """
    reset_after = _check_reset_after(reset_after)
    dims = Dims()
    x = dims.array("x", x, ("N", "D"))
    params = _check_params(dims, params, reset_after)
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    a_x = x @ params["W_x"].T + params["b"]  # (N, 3H)
    gates, u, h = _cell_forward(a_x, h_prev, params["W_h"], params.get("b_hn"), reset_after)
    return h, GRUStepCache(x, h_prev, gates, u, params, reset_after)


def gru_step_backward(dh, cache):
    r"""Backward pass of one GRU step.

    Parameters
    ----------
    dh : ndarray, shape (N, H)
        Gradient with respect to ``h_t``.
    cache : GRUStepCache

    Returns
    -------
    dx : ndarray, shape (N, D)
    dh_prev : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,), and ``b_hn`` (H,) with
        ``reset_after=True``.

    Notes
    -----
    With :math:`\delta a` the gradient of the pre-activations:

    .. math::
        \delta a_z &= \delta h_t \odot (h_{t-1} - n_t) \odot z_t (1 - z_t), \quad
        \delta a_n = \delta h_t \odot (1 - z_t) \odot (1 - n_t^2) \\
        \delta a_r &= (\delta a_n W_{hn}) \odot h_{t-1} \odot r_t (1 - r_t)
            \quad \text{(textbook)} \\
        \delta a_r &= \delta a_n \odot (W_{hn} h_{t-1} + b_{hn}) \odot r_t (1 - r_t)
            \quad \text{(PyTorch)} \\
        \delta h_{t-1} &= \delta h_t \odot z_t + [\delta a_r; \delta a_z] W_{h,rz}
            + (\delta a_n W_{hn}) \odot r_t
            \quad \text{(textbook)} \\
        \delta h_{t-1} &= \delta h_t \odot z_t + [\delta a_r; \delta a_z; \delta a_n \odot r_t] W_h
            \quad \text{(PyTorch)}

    and :math:`\delta x_t = \delta a\, W_x`, :math:`\delta W_x = \delta a^\top x_t`,
    :math:`\delta b = \sum_n \delta a_n`.  The recurrent weights see what was
    multiplied by them: :math:`\delta W_{hn} = \delta a_n^\top (r_t \odot h_{t-1})`
    (textbook), or :math:`\delta W_{hn} = (\delta a_n \odot r_t)^\top h_{t-1}` and
    :math:`\delta b_{hn} = \sum_n \delta a_n \odot r_t` (PyTorch).
    """
    if not isinstance(cache, GRUStepCache):
        raise ValueError(f"cache must be the GRUStepCache returned by gru_step_forward, got {type(cache).__name__}")
    dims = Dims()
    dims.array("h_prev (from cache)", cache.h_prev, ("N", "H"))
    dh = dims.array("dh", dh, ("N", "H"))
    params = cache.params
    da, dp, dh_prev = _cell_backward(dh, cache.h_prev, cache.gates, cache.u, params["W_h"], cache.reset_after)
    grads = _weight_grads(da, dp, cache.x, cache.h_prev, cache.u, cache.reset_after)
    return da @ params["W_x"], dh_prev, grads


# --- a whole sequence ------------------------------------------------------------------------


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward`, and what a chapter plots."""

    xs: np.ndarray  # (T, N, D)
    h_all: np.ndarray  # (T + 1, N, H): h_all[0] = h0, h_all[t + 1] = state after step t
    gates: np.ndarray  # (T, N, 3H): r, z, n of every step
    u: np.ndarray  # (T, N, H): r * h_prev (reset_after=False) or W_hn h_prev + b_hn (True)
    mask: np.ndarray | None  # (T, N)
    params: dict
    reset_after: bool

    @property
    def r(self):
        """Reset gate of every step (T, N, H)."""
        return self.gates[..., : self.h_all.shape[-1]]

    @property
    def z(self):
        """Update gate of every step (T, N, H)."""
        H = self.h_all.shape[-1]
        return self.gates[..., H : 2 * H]

    @property
    def n(self):
        """Candidate of every step (T, N, H)."""
        return self.gates[..., 2 * self.h_all.shape[-1] :]


def gru_forward(xs, h0, params, mask=None, *, lengths=None, reset_after=False):
    r"""Run the GRU over a whole (padded) sequence.

    Parameters
    ----------
    xs : ndarray, shape (T, N, D)
        ``T = 0`` is allowed: no step runs, ``hs`` is empty, the final state is
        the initial one and the backward returns ``dh0 = dh_last``.  So is ``N = 0``.
    h0 : ndarray, shape (N, H), or None for zeros
    params : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,), gates ``r, z, n``;
        with ``reset_after=True`` also ``b_hn`` (H,).
    mask : ndarray of bool, shape (T, N), optional
    lengths : ndarray of int, shape (N,), optional
        Instead of ``mask``.
    reset_after : bool
        Which candidate: textbook (False) or PyTorch (True).

    Returns
    -------
    hs : ndarray, shape (T, N, H)
        Output at every step, zero at padded steps.
    h_last : ndarray, shape (N, H)
        State at each sequence's own last valid step.
    cache : GRUCache
        Also holds the gates of every step (``cache.r``, ``cache.z``,
        ``cache.n``, each (T, N, H)) for plotting.

    Notes
    -----
    The equations of the module docstring, applied for :math:`t = 1, \dots, T`:

    .. math::
        r_t = \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r), \quad
        z_t = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z), \quad
        h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t

    with the candidate :math:`n_t` of ``reset_after``.  At a padded step
    :math:`h_t = h_{t-1}`.  The input projection
    :math:`W_x x_t + b` of every step is one matmul before the loop.
    """
    reset_after = _check_reset_after(reset_after)
    dims = Dims()
    xs = dims.array("xs", xs, ("T", "N", "D"))
    params = _check_params(dims, params, reset_after)
    T, N, D = xs.shape
    H = dims.sizes["H"]
    h0 = np.zeros((N, H), xs.dtype) if h0 is None else dims.array("h0", h0, ("N", "H"))
    mask = resolve_mask(mask, lengths, T, N)
    W_h, b_hn = params["W_h"], params.get("b_hn")

    a_x = (xs.reshape(T * N, D) @ params["W_x"].T).reshape(T, N, 3 * H)  # (T, N, 3H), hoisted
    a_x += params["b"]
    h_all = np.empty((T + 1, N, H), dtype=xs.dtype)
    gates = np.empty((T, N, 3 * H), dtype=xs.dtype)
    u = np.empty((T, N, H), dtype=xs.dtype)
    h_all[0] = h0
    for t in range(T):
        gates[t], u[t], h = _cell_forward(a_x[t], h_all[t], W_h, b_hn, reset_after)
        # a padded step carries the previous state unchanged
        h_all[t + 1] = h if mask is None else np.where(mask[t][:, None], h, h_all[t])
    hs = h_all[1:].copy() if mask is None else h_all[1:] * mask[:, :, None]  # zero output at padding
    cache = GRUCache(xs, h_all, gates, u, mask, params, reset_after)
    return hs, h_all[T].copy(), cache


def gru_backward(dhs, cache, dh_last=None):
    r"""Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (T, N, H)
        Gradient with respect to every output (ignored at padded steps).
    cache : GRUCache
    dh_last : ndarray, shape (N, H), optional
        Gradient with respect to the final state ``h_last``.

    Returns
    -------
    dxs : ndarray, shape (T, N, D)
    dh0 : ndarray, shape (N, H)
    grads : dict
        ``W_x`` (3H, D), ``W_h`` (3H, H), ``b`` (3H,), and ``b_hn`` (H,) with
        ``reset_after=True``, summed over every step.

    Notes
    -----
    The total derivative of the loss with respect to :math:`h_{t-1}` has a
    direct path, :math:`\delta h_t \odot z_t`, besides the paths through the
    gates: when :math:`z_t \approx 1` the gradient passes back unchanged, as
    through the LSTM's cell state:

    .. math::
        \frac{dL}{dh_{t-1}} = \frac{dL}{dh_t} \odot z_t
        + \text{(the paths through } r_t, z_t, n_t\text{)}

    The loop carries this sum backward in time; the weight gradients are one
    matmul each over all steps after it.
    """
    if not isinstance(cache, GRUCache):
        raise ValueError(f"cache must be the GRUCache returned by gru_forward, got {type(cache).__name__}")
    xs, h_all, gates, u, mask, params, reset_after = cache
    T, N, D = xs.shape
    H = h_all.shape[2]
    dims = Dims(T=T, N=N, H=H)
    dims.array("xs (from cache)", xs, ("T", "N", "D"))
    dhs = dims.array("dhs", dhs, ("T", "N", "H"))
    dh = np.zeros((N, H), xs.dtype) if dh_last is None else dims.array("dh_last", dh_last, ("N", "H")).copy()
    W_h = params["W_h"]

    da_all = np.empty((T, N, 3 * H), dtype=xs.dtype)  # gradient of the input pre-activations
    dp_all = np.empty((T, N, 3 * H), dtype=xs.dtype)  # gradient of the recurrent products
    for t in reversed(range(T)):
        if mask is None:
            da_all[t], dp_all[t], dh = _cell_backward(dh + dhs[t], h_all[t], gates[t], u[t], W_h, reset_after)
        else:
            m = mask[t][:, None]  # (N, 1)
            dh_t = np.where(m, dh + dhs[t], 0)  # a padded step receives nothing
            da_all[t], dp_all[t], dh_prev = _cell_backward(dh_t, h_all[t], gates[t], u[t], W_h, reset_after)
            dh = np.where(m, dh_prev, dh)  # padded: the gradient passes straight through

    grads = _weight_grads(
        da_all.reshape(T * N, 3 * H),  # (TN, 3H)
        dp_all.reshape(T * N, 3 * H),  # (TN, 3H)
        xs.reshape(T * N, D),
        h_all[:-1].reshape(T * N, H),
        u.reshape(T * N, H),
        reset_after,
    )
    dxs = (da_all.reshape(T * N, 3 * H) @ params["W_x"]).reshape(T, N, D)
    return dxs, dh, grads
