r"""Initial parameters for every cell.

Three published recipes, one per kind of parameter:

* **Input weights** ``W_x``: Xavier (Glorot) uniform (Glorot and Bengio 2010),
  drawn separately for each gate block (H, D), so every gate sees inputs of
  the same scale whatever the number of gates.
* **Recurrent weights** ``W_h``: a random orthogonal matrix per gate block
  (H, H) (Saxe et al. 2014).  All singular values are 1, so at initialization
  the recurrent product neither shrinks nor blows up the state (see the
  chapter on vanishing and exploding gradients).
* **Biases**: zero, except the forget-gate block of the LSTM (and peephole
  LSTM), set to ``forget_bias = 1`` (Gers et al. 2000; Jozefowicz et al. 2015):
  :math:`\sigma(1) \approx 0.73`, so the cell starts by remembering instead of
  forgetting everything at every step.

Peepholes ``p_i, p_f, p_o`` start at **zero**: the peephole LSTM then starts
as exactly the plain LSTM with the same weights, and learns how much to look
at the cell state (their gradients are not zero, since :math:`c_{t-1} \ne 0`
after the first step).  The GRU's ``b_hn`` (``reset_after=True``) is zero.

Random numbers are drawn from the caller's ``rng`` in a fixed order (the
``W_x`` blocks in gate order, then the ``W_h`` blocks), so a seed gives the
same parameters on every machine.
"""

import numpy as np

from ._checks import check_choice

#: Number of gates ``G`` of each cell: ``W_x`` is (G*H, D).
N_GATES = {"rnn": 1, "lstm": 4, "gru": 3, "peephole": 4}


def param_specs(cell, *, reset_after=False):
    """The parameter keys of a cell and their shapes, in dimension letters.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    reset_after : bool
        GRU only: add ``b_hn`` (H,).

    Returns
    -------
    dict
        For example ``{"W_x": ("4H", "D"), "W_h": ("4H", "H"), "b": ("4H",)}`` for the LSTM.
    """
    check_choice("cell", cell, tuple(N_GATES))
    if not isinstance(reset_after, (bool, np.bool_)):
        raise ValueError(f"reset_after must be True or False, got {reset_after!r}")
    if reset_after and cell != "gru":
        raise ValueError(f"reset_after=True only applies to the GRU, not to cell {cell!r}")
    G = N_GATES[cell]
    GH = "H" if G == 1 else f"{G}H"
    specs = {"W_x": (GH, "D"), "W_h": (GH, "H"), "b": (GH,)}
    if cell == "gru" and reset_after:
        specs["b_hn"] = ("H",)
    if cell == "peephole":
        specs.update(p_i=("H",), p_f=("H",), p_o=("H",))
    return specs


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_real(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_shape(shape):
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be a pair (fan_out, fan_in), got {shape!r}")
    return tuple(_check_size(f"shape[{k}]", n) for k, n in enumerate(shape))


def xavier_uniform(shape, rng, dtype=np.float64, *, gain=1.0):
    r"""Xavier (Glorot) uniform initialization of a weight matrix.

    Parameters
    ----------
    shape : tuple of int, (fan_out, fan_in)
        Math layout: ``(H, D)`` for a gate block of ``W_x``.
    rng : numpy.random.Generator
    dtype : float32 or float64
    gain : float
        Scales the limit (as ``torch.nn.init.xavier_uniform_``).

    Returns
    -------
    W : ndarray, shape ``shape``, values in :math:`[-\ell, \ell]`

    Notes
    -----
    Glorot and Bengio (2010) keep the variance of activations and of gradients
    about equal across layers by choosing
    :math:`\operatorname{Var}(W) = 2 / (n_\text{in} + n_\text{out})`; a uniform
    distribution on :math:`[-\ell, \ell]` has variance :math:`\ell^2 / 3`, so

    .. math:: \ell = \text{gain} \cdot \sqrt{\frac{6}{n_\text{in} + n_\text{out}}}
    """
    fan_out, fan_in = _check_shape(shape)
    _check_rng(rng)
    dtype = _check_dtype(dtype)
    gain = _check_real("gain", gain)
    limit = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(dtype)


def orthogonal(shape, rng, dtype=np.float64, *, gain=1.0):
    r"""A random (semi-)orthogonal matrix, uniformly distributed (Haar).

    Parameters
    ----------
    shape : tuple of int, (rows, cols)
    rng : numpy.random.Generator
    dtype : float32 or float64
    gain : float
        Multiplies the result (all singular values equal ``gain``).

    Returns
    -------
    Q : ndarray, shape ``shape``
        :math:`Q^\top Q = \text{gain}^2 I` when rows >= cols, and
        :math:`Q Q^\top = \text{gain}^2 I` when rows < cols.

    Notes
    -----
    As Saxe et al. (2014) and ``torch.nn.init.orthogonal_``: take the QR
    decomposition :math:`A = QR` of a matrix :math:`A` of independent standard
    normal entries (tall: transpose first if needed), then flip the sign of
    every column :math:`q_k` whose :math:`R_{kk} < 0`:

    .. math:: Q \leftarrow Q \operatorname{diag}(\operatorname{sign} R_{kk})

    Without this sign fix the result is orthogonal but *not* uniformly
    distributed: LAPACK's Householder QR chooses the signs of
    :math:`R_{kk}` by its own rule, which biases the columns of :math:`Q`
    (Mezzadri 2007).  With it, :math:`Q` is the unique factor with a positive
    diagonal in :math:`R`, and inherits the rotation invariance of the
    Gaussian.
    """
    rows, cols = _check_shape(shape)
    _check_rng(rng)
    dtype = _check_dtype(dtype)
    gain = _check_real("gain", gain)
    A = rng.standard_normal((rows, cols))  # float64 for an accurate QR
    if rows < cols:
        A = A.T  # (cols, rows): QR needs a tall matrix for orthonormal columns
    Q, R = np.linalg.qr(A)  # Q (max, min), R (min, min)
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)  # not np.sign: it would zero a column if R_kk == 0
    Q = Q * signs  # flips column k when R_kk < 0
    if rows < cols:
        Q = Q.T
    return (gain * Q).astype(dtype)


def init_params(cell, D, H, rng, dtype=np.float64, *, forget_bias=1.0, reset_after=False):
    r"""Initial parameters of one cell, as the dict every function of rnn_ref takes.

    Parameters
    ----------
    cell : str
        ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
    D : int
        Input size.
    H : int
        Hidden size.
    rng : numpy.random.Generator
    dtype : float32 or float64
    forget_bias : float
        Value of the forget-gate block of ``b`` (rows ``H:2H``) for the LSTM
        and the peephole LSTM; ignored by the other cells.
    reset_after : bool
        GRU only: also return ``b_hn`` (H,), zero.

    Returns
    -------
    params : dict
        ``W_x`` (G*H, D): a Xavier-uniform block (H, D) per gate;
        ``W_h`` (G*H, H): an orthogonal block (H, H) per gate;
        ``b`` (G*H,): zeros, forget block ``forget_bias`` (LSTM, peephole);
        ``b_hn`` (H,) zeros (GRU with ``reset_after=True``);
        ``p_i, p_f, p_o`` (H,) zeros (peephole).

    Notes
    -----
    .. math::
        W_x = \begin{bmatrix} W_{x1} \\ \vdots \\ W_{xG} \end{bmatrix},\;
        W_{xk} \sim \mathcal U\!\left(-\sqrt{\tfrac{6}{D + H}}, \sqrt{\tfrac{6}{D + H}}\right),
        \qquad
        W_h = \begin{bmatrix} W_{h1} \\ \vdots \\ W_{hG} \end{bmatrix},\;
        W_{hk}^\top W_{hk} = I
    """
    specs = param_specs(cell, reset_after=reset_after)  # checks cell and reset_after
    D = _check_size("D", D)
    H = _check_size("H", H)
    _check_rng(rng)
    dtype = _check_dtype(dtype)
    forget_bias = _check_real("forget_bias", forget_bias)
    G = N_GATES[cell]
    params = {
        "W_x": np.concatenate([xavier_uniform((H, D), rng, dtype) for _ in range(G)]),  # (G*H, D)
        "W_h": np.concatenate([orthogonal((H, H), rng, dtype) for _ in range(G)]),  # (G*H, H)
        "b": np.zeros(G * H, dtype=dtype),
    }
    if cell in ("lstm", "peephole"):
        params["b"][H : 2 * H] = forget_bias  # gates i, f, g, o: f is block 1
    for key in specs:
        if key not in params:  # b_hn, p_i, p_f, p_o
            params[key] = np.zeros(H, dtype=dtype)
    return params
