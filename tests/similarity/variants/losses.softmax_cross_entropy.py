"""losses.softmax_cross_entropy (exercise 09): independent correct variants."""

import numpy as np


# %% variant flattened
def softmax_cross_entropy(logits, targets, mask=None):
    T, N, V = logits.shape
    flat = logits.reshape(-1, V).astype(np.float64)
    labels = targets.reshape(-1)
    keep = np.ones(T * N, dtype=bool) if mask is None else mask.reshape(-1).astype(bool)
    count = keep.sum()
    labels = np.where(keep, labels, 0)
    flat = flat - flat.max(axis=1, keepdims=True)
    probs = np.exp(flat)
    probs /= probs.sum(axis=1, keepdims=True)
    rows = np.arange(T * N)
    loss = -np.log(probs[rows, labels])[keep].sum() / count
    grad = probs.copy()
    grad[rows, labels] -= 1
    grad[~keep] = 0
    grad /= count
    return float(loss), grad.reshape(T, N, V).astype(logits.dtype)


# %% variant logsumexp_loops
def softmax_cross_entropy(logits, targets, mask=None):
    valid = mask if mask is not None else np.full(targets.shape, True)
    total, count = 0.0, 0
    dlogits = np.zeros_like(logits)
    for t in range(logits.shape[0]):
        for n in range(logits.shape[1]):
            if not valid[t, n]:
                continue
            row = logits[t, n]
            top = row.max()
            lse = top + np.log(np.sum(np.exp(row - top)))
            total += lse - row[targets[t, n]]
            dlogits[t, n] = np.exp(row - lse)
            dlogits[t, n, targets[t, n]] -= 1
            count += 1
    return total / count, dlogits / count


# %% variant one_hot_matrix
def softmax_cross_entropy(logits, targets, mask=None):
    V = logits.shape[-1]
    weights = (np.ones(targets.shape) if mask is None else mask.astype(float))[..., None]
    safe = np.clip(targets, 0, V - 1)
    onehot = np.eye(V)[safe]  # (T, N, V)
    m = np.max(logits, axis=-1, keepdims=True)
    log_norm = m + np.log(np.exp(logits - m).sum(-1, keepdims=True))
    logp = logits - log_norm
    M = weights.sum()
    loss = -(onehot * logp * weights).sum() / M
    dlogits = weights * (np.exp(logp) - onehot) / M
    return loss, dlogits.astype(logits.dtype)
