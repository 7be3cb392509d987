"""Every step forward returns arrays the caller owns: modifying them cannot corrupt the backward pass."""

import numpy as np
import pytest
from _cells import random_params

from rnn_ref import gru, lstm, peephole, rnn


def _step(cell, rng):
    params = random_params(cell, 3, 4, rng, reset_after=True)
    x, h_prev, c_prev = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    if cell == "rnn":
        return rnn.rnn_step_forward(x, h_prev, params), rnn.rnn_step_backward
    if cell == "gru":
        return gru.gru_step_forward(x, h_prev, params, reset_after=True), gru.gru_step_backward
    module = lstm if cell == "lstm" else peephole
    return getattr(module, f"{cell}_step_forward")(x, h_prev, c_prev, params), getattr(module, f"{cell}_step_backward")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole"])
def test_modifying_step_outputs_leaves_the_backward_unchanged(cell):
    (*outputs, cache), backward = _step(cell, np.random.default_rng(3))
    upstream = [np.ones_like(out) for out in outputs]
    before = backward(*upstream, cache)
    for out in outputs:
        out += 100.0  # what a caller may do with the arrays it was given
    after = backward(*upstream, cache)
    for a, b in zip(before, after, strict=True):
        if isinstance(a, dict):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole"])
def test_step_outputs_and_gradients_share_no_memory_with_the_cache(cell):
    """The cache also serves the chapters (cache.c, cache.gates): an output that aliases it would let a caller
    corrupt it, even where this step's backward does not read the aliased array."""
    (*outputs, cache), backward = _step(cell, np.random.default_rng(4))
    gradients = backward(*[np.ones_like(out) for out in outputs], cache)
    cached = [value for value in cache if isinstance(value, np.ndarray)]
    cached += [value for value in cache.params.values()]
    returned = list(outputs) + [g for g in gradients if isinstance(g, np.ndarray)] + list(gradients[-1].values())
    for i, out in enumerate(returned):
        assert not any(np.shares_memory(out, c) for c in cached), f"returned array {i} aliases the cache"
