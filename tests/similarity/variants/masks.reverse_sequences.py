"""masks.reverse_sequences (exercise 07): independent correct variants."""

import numpy as np


# %% variant per_sequence_loop
def reverse_sequences(xs, lengths):
    out = xs.copy()
    for n, length in enumerate(lengths):
        length = int(length)
        out[:length, n] = xs[:length, n][::-1]
    return out


# %% variant index_table
def reverse_sequences(xs, lengths):
    steps, batch = xs.shape[0], xs.shape[1]
    rows = np.empty((steps, batch), dtype=int)
    for b in range(batch):
        for t in range(steps):
            rows[t, b] = lengths[b] - 1 - t if t < lengths[b] else t
    cols = np.broadcast_to(np.arange(batch), (steps, batch))
    return xs[rows, cols]


# %% variant flip_and_roll
def reverse_sequences(xs, lengths):
    T = xs.shape[0]
    result = np.empty_like(xs)
    for n in range(xs.shape[1]):
        L = int(lengths[n])
        flipped = np.flip(xs[:, n], axis=0)  # the padding comes first
        result[:, n] = np.roll(flipped, L - T, axis=0) if L else xs[:, n]
        result[L:, n] = xs[L:, n]
    return result
