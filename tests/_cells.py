"""Test helpers shared by the tests of code that runs any cell."""

import numpy as np

from rnn_ref import cells


def random_params(cell, D, H, rng, dtype=np.float64, reset_after=False):
    """Every parameter random (biases and peepholes too), scaled to keep tanh out of saturation."""
    G = cells.get_cell(cell).n_gates
    params = {
        "W_x": rng.normal(0, 0.5, (G * H, D)),
        "W_h": rng.normal(0, 0.5, (G * H, H)),
        "b": rng.normal(0, 0.5, G * H),
    }
    if cell == "gru" and reset_after:
        params["b_hn"] = rng.normal(0, 0.5, H)
    if cell == "peephole":
        params.update({key: rng.normal(0, 0.5, H) for key in ("p_i", "p_f", "p_o")})
    return {key: value.astype(dtype) for key, value in params.items()}


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to the array x (perturbed in place, then restored)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f()
        x[index] = old - eps
        minus = f()
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad
