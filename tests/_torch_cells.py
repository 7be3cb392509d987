"""The four cells written out in torch tensor operations, so that autograd is the oracle.

PyTorch has modules for the RNN, the LSTM and the GRU with ``reset_after=True``, but none for
the textbook GRU or the peephole LSTM, and none that merges the two directions of a layer by a
sum or a mean.  These step functions follow the equations of the chapters, term by term, and
never call rnn_ref.  torch is passed in (the ``torch`` fixture), never imported here.
"""


def _blocks(a, G):
    """Split a stacked pre-activation (N, G*H) into G blocks (N, H)."""
    H = a.shape[-1] // G
    return [a[:, k * H : (k + 1) * H] for k in range(G)]


def step(torch, cell, x, state, P, reset_after=False):
    """One step of ``cell``: ``x`` (N, D), ``state`` a tuple ``(h,)`` or ``(h, c)``; returns the new state."""
    h = state[0]
    if cell == "rnn":
        return (torch.tanh(x @ P["W_x"].T + h @ P["W_h"].T + P["b"]),)
    if cell == "gru":
        W_xr, W_xz, W_xn = _blocks(P["W_x"].T, 3)
        W_hr, W_hz, W_hn = _blocks(P["W_h"].T, 3)
        b_r, b_z, b_n = P["b"].reshape(3, -1)
        r = torch.sigmoid(x @ W_xr + h @ W_hr + b_r)
        z = torch.sigmoid(x @ W_xz + h @ W_hz + b_z)
        if reset_after:
            n = torch.tanh(x @ W_xn + b_n + r * (h @ W_hn + P["b_hn"]))
        else:
            n = torch.tanh(x @ W_xn + (r * h) @ W_hn + b_n)
        return (z * h + (1 - z) * n,)
    c = state[1]
    a_i, a_f, a_g, a_o = _blocks(x @ P["W_x"].T + h @ P["W_h"].T + P["b"], 4)
    if cell == "lstm":
        i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        c_new = f * c + i * g
    else:  # peephole: i and f look at c_{t-1}, o at c_t
        i, f, g = torch.sigmoid(a_i + P["p_i"] * c), torch.sigmoid(a_f + P["p_f"] * c), torch.tanh(a_g)
        c_new = f * c + i * g
        o = torch.sigmoid(a_o + P["p_o"] * c_new)
    return (o * torch.tanh(c_new), c_new)


def run(torch, cell, xs, P, reset_after=False, state0=None, final=False):
    """Outputs (T, N, H) of ``cell`` over ``xs`` (T, N, D), with no mask.

    ``state0`` is a tuple ``(h0,)`` or ``(h0, c0)`` (zeros when None); with ``final=True`` the
    final state is returned too, as ``(outputs, state)``.
    """
    N, H = xs.shape[1], P["W_h"].shape[1]
    state = state0
    if state is None:
        state = tuple(torch.zeros(N, H, dtype=xs.dtype) for _ in range(2 if cell in ("lstm", "peephole") else 1))
    outputs = []
    for t in range(xs.shape[0]):
        state = step(torch, cell, xs[t], state, P, reset_after)
        outputs.append(state[0])
    hs = torch.stack(outputs) if outputs else torch.zeros(0, N, H, dtype=xs.dtype)
    return (hs, state) if final else hs
