r"""Masks for batches of sequences of different lengths.

A mask ``(T, N)`` of bools marks the valid steps: ``mask[t, n]`` is True when
step ``t`` of sequence ``n`` is real data and False when it is padding.  Every
sequence function of :mod:`rnn_ref` treats a padded step the same way:

* the state is carried unchanged, :math:`h_t = h_{t-1}` (and :math:`c_t = c_{t-1}`),
  so the final state of a sequence is its state at its own last valid step;
* the output at that step is zero;
* no gradient flows into it: the upstream gradient there is ignored and the
  parameters and the input receive nothing from it.
"""

import numpy as np

from ._checks import as_array, check_mask


def lengths_to_mask(lengths, T):
    """Mask of the first ``lengths[n]`` steps of each sequence.

    Parameters
    ----------
    lengths : array_like of int, shape (N,), values in [0, T]
    T : int
        Number of time steps of the padded batch.

    Returns
    -------
    mask : ndarray of bool, shape (T, N)
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 0:
        raise ValueError(f"T must be an int >= 0, got {T!r}")
    lengths = as_array("lengths", lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths has shape {lengths.shape} and dtype {lengths.dtype}, expected (N,) integers")
    if lengths.size and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"lengths must lie in [0, T] = [0, {T}], got min {lengths.min()} and max {lengths.max()}")
    return np.arange(T)[:, None] < lengths[None, :]  # (T, N)


def mask_to_lengths(mask, *, name="mask"):
    """Lengths of a left-aligned mask (valid steps first, then padding).

    Parameters
    ----------
    mask : ndarray of bool, shape (T, N)

    Returns
    -------
    lengths : ndarray of int, shape (N,)

    Raises
    ------
    ValueError
        If some sequence has a valid step after a padded one.
    """
    mask = as_array(name, mask)
    if mask.ndim != 2:
        raise ValueError(f"{name} has shape {mask.shape}, expected (T, N)")
    mask = check_mask(mask, *mask.shape, name=name)  # bools, or 0/1 integers made bools
    lengths = mask.sum(axis=0)
    if not np.array_equal(mask, lengths_to_mask(lengths, mask.shape[0])):
        bad = np.flatnonzero((mask != lengths_to_mask(lengths, mask.shape[0])).any(axis=0))
        raise ValueError(
            f"{name} must be left-aligned (each sequence's valid steps first, then padding); "
            f"sequences {bad.tolist()} are not"
        )
    return lengths


def resolve_mask(mask, lengths, T, N):
    """The mask given by ``mask`` or by ``lengths`` (at most one of them).

    Parameters
    ----------
    mask : array_like of bool, shape (T, N), or None
    lengths : array_like of int, shape (N,), or None
    T, N : int
        Time steps and batch size of the sequences being masked.

    Returns
    -------
    ndarray of bool, shape (T, N), or None
        None when neither is given: every step is valid.
    """
    if mask is not None and lengths is not None:
        raise ValueError("pass mask or lengths, not both")
    if lengths is not None:
        lengths = as_array("lengths", lengths)
        if lengths.shape != (N,):
            raise ValueError(f"lengths has shape {lengths.shape}, expected (N,) = ({N},)")
        return lengths_to_mask(lengths, T)
    return check_mask(mask, T, N)


def reverse_index(lengths, T):
    """Time index that reverses each sequence within its own length.

    Parameters
    ----------
    lengths : ndarray of int, shape (N,)
    T : int

    Returns
    -------
    index : ndarray of int, shape (T, N)
        ``index[t, n] = lengths[n] - 1 - t`` for ``t < lengths[n]`` and ``t``
        for padded steps, so padding stays where it is.  Reversing twice is the
        identity.
    """
    lengths = as_array("lengths", lengths)
    t = np.arange(T)[:, None]  # (T, 1)
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, N)


def reverse_sequences(xs, lengths):
    """Reverse every sequence of a padded batch within its own length.

    Parameters
    ----------
    xs : ndarray, shape (T, N, ...)
    lengths : ndarray of int, shape (N,)

    Returns
    -------
    ndarray, shape (T, N, ...): ``out[t, n] = xs[lengths[n] - 1 - t, n]`` for
    valid steps; padded steps are copied unchanged.
    """
    xs = as_array("xs", xs)
    if xs.ndim < 2:
        raise ValueError(f"xs has shape {xs.shape}, expected (T, N, ...)")
    T, N = xs.shape[:2]
    lengths = as_array("lengths", lengths)
    if lengths.shape != (N,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"lengths has shape {lengths.shape} and dtype {lengths.dtype}, expected (N,) = ({N},) integers"
        )
    if N and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"lengths must lie in [0, T] = [0, {T}], got min {lengths.min()} and max {lengths.max()}")
    if (lengths == T).all():  # no padding: reversing each sequence is flipping the time axis (a faster copy)
        return xs[::-1].copy()
    index = reverse_index(lengths, T)  # (T, N)
    return xs[index, np.arange(N)[None, :]]  # out[t, n] = xs[index[t, n], n]: the two index arrays broadcast to (T, N)
