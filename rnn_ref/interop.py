r"""Convert parameters to and from the state dicts of PyTorch's recurrent layers.

rnn_ref stores weights in PyTorch's own layout (``W_x`` is ``weight_ih``,
``W_h`` is ``weight_hh``, gates in PyTorch's order), so the conversion is
mostly renaming.  The one real difference is the bias: PyTorch keeps two,
``bias_ih`` and ``bias_hh``, which enter every gate only through their sum,
except in the GRU's candidate, where ``bias_hh`` sits inside the reset gate:

.. math::
    n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))

So ``b = bias_ih + bias_hh`` for the RNN, the LSTM and the ``r, z`` blocks of
the GRU, while the GRU's candidate keeps ``b_n = bias_ih[2H:]`` and
``b_hn = bias_hh[2H:]`` apart (our ``reset_after=True``).  PyTorch has no
textbook GRU (``reset_after=False``) and no peephole LSTM: converting those
raises ``ValueError``.

Keys are ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``;
``suffix`` selects another layer or direction (``"_l1"``,
``"_l0_reverse"``).  This module does not import torch: it returns NumPy
arrays, and accepts torch tensors (anything with ``.detach()``) as input.
"""

import numpy as np

from ._checks import Dims
from .init import N_GATES, param_specs

_TORCH_CELLS = {"rnn": "torch.nn.RNN", "lstm": "torch.nn.LSTM", "gru": "torch.nn.GRU"}


def _check_cell(cell, reset_after):
    param_specs(cell, reset_after=reset_after)  # unknown cell, bad reset_after
    if cell == "peephole":
        raise ValueError(
            "the peephole LSTM has no PyTorch equivalent: torch.nn.LSTM has no peephole weights "
            "(p_i, p_f, p_o), so there is no state dict to convert to or from"
        )
    if cell == "gru" and not reset_after:
        raise ValueError(
            "the GRU with reset_after=False (the textbook candidate W_hn (r * h)) has no PyTorch "
            "equivalent: torch.nn.GRU applies the reset gate after the matmul, r * (W_hn h + b_hn). "
            "Pass reset_after=True (and run rnn_ref.gru with reset_after=True)"
        )


def _check_suffix(suffix):
    if not isinstance(suffix, str):
        raise ValueError(f"suffix must be a string such as '_l0' or '_l0_reverse', got {suffix!r}")


def to_torch_layout(params, cell, *, reset_after=False, suffix="_l0"):
    r"""Parameters of rnn_ref as the state dict of a PyTorch recurrent layer.

    Parameters
    ----------
    params : dict
        ``W_x`` (G*H, D), ``W_h`` (G*H, H), ``b`` (G*H,), and ``b_hn`` (H,)
        for the GRU.  Not modified.
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"`` (``"peephole"`` raises ValueError).
    reset_after : bool
        Must be True for the GRU (PyTorch's variant); False raises ValueError.
    suffix : str
        Appended to every key: ``"_l0"`` for the first layer.

    Returns
    -------
    state_dict : dict of str to ndarray
        ``weight_ih{suffix}`` (G*H, D), ``weight_hh{suffix}`` (G*H, H),
        ``bias_ih{suffix}`` (G*H,), ``bias_hh{suffix}`` (G*H,): new arrays,
        ready for ``module.load_state_dict({k: torch.from_numpy(v) ...})``.

    Notes
    -----
    Our single bias goes to ``bias_ih``; ``bias_hh`` is zero, except the
    GRU's candidate block, which holds ``b_hn``:

    .. math::
        \text{bias\_ih} = b, \qquad
        \text{bias\_hh} = \begin{cases} [0; 0; b_{hn}] & \text{GRU} \\ 0 & \text{otherwise} \end{cases}

    Only the sum of the two biases matters elsewhere, so this is one of many
    state dicts that give the same layer.
    """
    _check_cell(cell, reset_after)
    _check_suffix(suffix)
    dims = Dims()
    params = dims.params(params, param_specs(cell, reset_after=reset_after))
    H = dims.sizes["H"]
    bias_hh = np.zeros_like(params["b"])  # (G*H,)
    if cell == "gru":
        bias_hh[2 * H :] = params["b_hn"]  # gates r, z, n: n is block 2
    return {
        f"weight_ih{suffix}": params["W_x"].copy(),
        f"weight_hh{suffix}": params["W_h"].copy(),
        f"bias_ih{suffix}": params["b"].copy(),
        f"bias_hh{suffix}": bias_hh,
    }


def _to_numpy(value):
    """An ndarray from an ndarray, a list, or a torch tensor (duck-typed: ``.detach()``)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    # np.asarray then .copy(): np.array(tensor) would pass copy= to torch's __array__, which warns
    return np.asarray(value).copy()  # a copy: never a view of the caller's (or torch's) memory


def from_torch_layout(state_dict, cell, *, suffix="_l0", reset_after=False):
    r"""Parameters of rnn_ref from the state dict of a PyTorch recurrent layer.

    Parameters
    ----------
    state_dict : mapping of str to ndarray or torch tensor
        For example ``module.state_dict()``.  Keys of other layers or
        directions are ignored.  Without both bias keys (a module made with
        ``bias=False``) the biases are zero.  Not modified.
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"`` (``"peephole"`` raises ValueError).
    suffix : str
        Which layer and direction: ``"_l0"``, ``"_l1"``, ``"_l0_reverse"``...
    reset_after : bool
        Must be True for the GRU (``torch.nn.GRU`` is the reset-after
        variant); False raises ValueError.

    Returns
    -------
    params : dict of ndarray
        ``W_x``, ``W_h``, ``b`` (and ``b_hn`` for the GRU), new NumPy arrays
        in the dtype of the state dict.

    Notes
    -----
    .. math::
        W_x = \text{weight\_ih}, \quad W_h = \text{weight\_hh}, \quad
        b = \text{bias\_ih} + \text{bias\_hh}

    except for the GRU's candidate block :math:`n` (rows ``2H:3H``), where
    :math:`b_n = \text{bias\_ih}[2H{:}3H]` and
    :math:`b_{hn} = \text{bias\_hh}[2H{:}3H]`.
    """
    _check_cell(cell, reset_after)
    _check_suffix(suffix)
    if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
        raise ValueError(f"state_dict must be a mapping (module.state_dict()), got {type(state_dict).__name__}")
    keys = {name: f"{name}{suffix}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    if f"weight_hr{suffix}" in state_dict:
        raise ValueError(f"state_dict has weight_hr{suffix}: an LSTM with proj_size > 0 has no rnn_ref equivalent")
    for name in ("weight_ih", "weight_hh"):
        if keys[name] not in state_dict:
            raise ValueError(
                f"state_dict has no key {keys[name]!r} (keys: {sorted(state_dict.keys())}); is suffix={suffix!r} right?"
            )
    has_bias = [keys[name] in state_dict for name in ("bias_ih", "bias_hh")]
    if any(has_bias) and not all(has_bias):
        missing = keys["bias_hh"] if has_bias[0] else keys["bias_ih"]
        raise ValueError(f"state_dict has one bias but not {missing!r}: expected both or neither (bias=False)")

    G = N_GATES[cell]
    GH = "H" if G == 1 else f"{G}H"
    dims = Dims()
    W_x = dims.array(f"state_dict[{keys['weight_ih']!r}]", _to_numpy(state_dict[keys["weight_ih"]]), (GH, "D"))
    W_h = dims.array(f"state_dict[{keys['weight_hh']!r}]", _to_numpy(state_dict[keys["weight_hh"]]), (GH, "H"))
    H = dims.sizes["H"]
    if all(has_bias):
        bias_ih = dims.array(f"state_dict[{keys['bias_ih']!r}]", _to_numpy(state_dict[keys["bias_ih"]]), (GH,))
        bias_hh = dims.array(f"state_dict[{keys['bias_hh']!r}]", _to_numpy(state_dict[keys["bias_hh"]]), (GH,))
    else:
        bias_ih = np.zeros(G * H, dtype=W_x.dtype)
        bias_hh = np.zeros(G * H, dtype=W_x.dtype)

    params = {"W_x": W_x, "W_h": W_h, "b": bias_ih + bias_hh}  # (G*H,)
    if cell == "gru":
        params["b"][2 * H :] = bias_ih[2 * H :]  # b_n: the candidate's input bias alone
        params["b_hn"] = bias_hh[2 * H :].copy()  # (H,), stays inside r * (W_hn h + b_hn)
    return params
