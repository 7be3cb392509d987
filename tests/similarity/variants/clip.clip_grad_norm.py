"""clip.clip_grad_norm (exercise 03): independent correct variants."""

import numpy as np


# %% variant loop_accumulate
def clip_grad_norm(grads, max_norm):
    squares = 0.0
    for name in grads:
        squares += float((grads[name].astype(np.float64) ** 2).sum())
    norm = squares**0.5
    out = {}
    for name, g in grads.items():
        if norm > max_norm:
            out[name] = (g * (max_norm / (norm + 1e-6))).astype(g.dtype)
        else:
            out[name] = g.copy()
    return out, norm


# %% variant concatenate_flat
def clip_grad_norm(grads, max_norm):
    flat = np.concatenate([np.ravel(v) for v in grads.values()]) if grads else np.zeros(0)
    global_norm = float(np.linalg.norm(flat))
    scale = max_norm / (global_norm + 1e-6)
    if scale >= 1:
        return {k: np.array(v, copy=True) for k, v in grads.items()}, global_norm
    return {k: np.asarray(v * scale, dtype=v.dtype) for k, v in grads.items()}, global_norm


# %% variant helper_norm
def _sum_of_squares(arrays):
    return sum(np.vdot(a, a).real for a in arrays)


def clip_grad_norm(grads, max_norm):
    total = float(np.sqrt(_sum_of_squares(list(grads.values()))))
    factor = np.minimum(1.0, max_norm / (total + 1e-6))
    clipped = dict()
    for key in sorted(grads):
        clipped[key] = (factor * grads[key]).astype(grads[key].dtype)
    return clipped, total
