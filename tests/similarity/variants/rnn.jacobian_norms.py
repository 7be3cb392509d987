"""rnn.jacobian_norms (exercise 03): independent correct variants."""

import numpy as np

from rnn_ref.rnn import rnn_forward  # noqa: F401 (as the notebook imports it)


# %% variant per_sequence_loops
def jacobian_norms(xs, h0, params):
    hs, _, _ = rnn_forward(xs, h0, params)
    T, N, H = hs.shape
    out = np.zeros((T, N), dtype=hs.dtype)
    for n in range(N):
        J = np.eye(H, dtype=hs.dtype)
        for t in range(T):
            local = np.diag(1 - hs[t, n] ** 2) @ params["W_h"]
            J = local @ J
            out[t, n] = np.linalg.svd(J, compute_uv=False)[0]
    return out


# %% variant own_forward_batched
def jacobian_norms(xs, h0, params):
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    H = W_h.shape[0]
    h = h0
    acc = np.tile(np.eye(H, dtype=xs.dtype), (h0.shape[0], 1, 1))  # (N, H, H)
    result = []
    for x in xs:
        h = np.tanh(x @ W_x.T + h @ W_h.T + b)
        step = np.einsum("nh,hk->nhk", 1 - h * h, W_h)
        acc = np.matmul(step, acc)
        result.append(np.linalg.norm(acc, ord=2, axis=(1, 2)))
    return np.array(result, dtype=xs.dtype).reshape(len(xs), h0.shape[0])


# %% variant eigen_of_gram
def jacobian_norms(xs, h0, params):
    states, _, _ = rnn_forward(xs, h0, params)
    Wh = params["W_h"]
    n_steps, batch, size = states.shape
    norms = np.empty((n_steps, batch), dtype=states.dtype)
    product = None
    for t in range(n_steps):
        d = (1.0 - states[t] ** 2)[:, :, None]
        product = d * Wh if product is None else (d * Wh) @ product
        gram = np.transpose(product, (0, 2, 1)) @ product
        norms[t] = np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[:, -1], 0))
    return norms
