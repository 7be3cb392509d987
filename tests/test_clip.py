"""rnn_ref.clip: gradient clipping, against torch.nn.utils and by its definition."""

import numpy as np
import pytest

from rnn_ref.clip import clip_grad_norm, clip_grad_value


def _grads(rng, scale=1.0, dtype=np.float64):
    shapes = {"W_x": (8, 3), "W_h": (8, 2), "b": (8,), "p_i": (2,)}
    return {key: (scale * rng.standard_normal(shape)).astype(dtype) for key, shape in shapes.items()}


def _torch_clip(torch, grads, clip):
    """Clip copies of ``grads`` with a torch.nn.utils function; return (grads, torch's return value)."""
    tensors = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads.values()]
    for tensor, g in zip(tensors, grads.values(), strict=True):
        tensor.grad = torch.tensor(g)
    out = clip(tensors)
    return {key: t.grad.numpy() for key, t in zip(grads, tensors, strict=True)}, out


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(torch, rng, max_norm):
    grads = _grads(rng)  # global norm about sqrt(44), so 0.5 and 3 clip and 100 does not
    expected, total = _torch_clip(torch, grads, lambda ts: torch.nn.utils.clip_grad_norm_(ts, max_norm))
    clipped, total_norm = clip_grad_norm(grads, max_norm)
    assert total_norm == pytest.approx(float(total), rel=1e-12)
    assert set(clipped) == set(grads)
    for key in grads:
        np.testing.assert_allclose(clipped[key], expected[key], rtol=1e-12, atol=0)


def test_clip_grad_norm_matches_its_definition(rng):
    grads = _grads(rng)
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))  # norm of everything concatenated
    clipped, total_norm = clip_grad_norm(grads, 1.0)
    assert total_norm == pytest.approx(norm, rel=1e-12)
    clipped_norm = np.sqrt(sum(np.sum(g**2) for g in clipped.values()))
    assert clipped_norm == pytest.approx(1.0 * norm / (norm + 1e-6), rel=1e-12)  # just below max_norm
    for key in grads:  # same direction: every array scaled by the same positive factor
        np.testing.assert_allclose(clipped[key], grads[key] / (norm + 1e-6), rtol=1e-12)


def test_clip_grad_norm_below_max_norm_returns_equal_new_arrays(rng):
    grads = _grads(rng, scale=0.01)
    clipped, total_norm = clip_grad_norm(grads, 10.0)
    assert total_norm < 10.0
    for key in grads:
        np.testing.assert_array_equal(clipped[key], grads[key])
        assert not np.shares_memory(clipped[key], grads[key])


def test_clip_grad_norm_of_zero_gradients_is_finite():
    clipped, total_norm = clip_grad_norm({"b": np.zeros(3)}, 1.0)
    assert total_norm == 0.0
    np.testing.assert_array_equal(clipped["b"], np.zeros(3))
    assert clip_grad_norm({}, 1.0) == ({}, 0.0)


@pytest.mark.parametrize("clip", [lambda g: clip_grad_norm(g, 0.1)[0], lambda g: clip_grad_value(g, 0.1)])
def test_clipping_does_not_mutate_its_input(rng, clip):
    grads = _grads(rng)
    before = {key: g.copy() for key, g in grads.items()}
    clipped = clip(grads)
    assert clipped is not grads
    for key in grads:
        np.testing.assert_array_equal(grads[key], before[key])
        assert not np.shares_memory(clipped[key], grads[key])


@pytest.mark.parametrize("clip", [lambda g: clip_grad_norm(g, 0.1)[0], lambda g: clip_grad_value(g, 0.1)])
def test_clipping_preserves_float32(rng, clip):
    clipped = clip(_grads(rng, dtype=np.float32))
    assert all(g.dtype == np.float32 for g in clipped.values())


@pytest.mark.parametrize("clip_value", [0.3, 5.0])
def test_clip_grad_value_matches_torch(torch, rng, clip_value):
    grads = _grads(rng)
    expected, _ = _torch_clip(torch, grads, lambda ts: torch.nn.utils.clip_grad_value_(ts, clip_value))
    clipped = clip_grad_value(grads, clip_value)
    for key in grads:
        np.testing.assert_array_equal(clipped[key], expected[key])


def test_clip_grad_value_clamps_only_entries_outside_the_interval(rng):
    grads = _grads(rng)
    clipped = clip_grad_value(grads, 0.5)
    for key, g in grads.items():
        inside = np.abs(g) <= 0.5
        np.testing.assert_array_equal(clipped[key][inside], g[inside])
        np.testing.assert_array_equal(clipped[key][~inside], 0.5 * np.sign(g[~inside]))


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan, "1", None, True])
def test_clip_bad_threshold_raises_value_error(rng, bad):
    with pytest.raises(ValueError, match="max_norm must be a positive finite number"):
        clip_grad_norm(_grads(rng), bad)
    with pytest.raises(ValueError, match="clip_value must be a positive finite number"):
        clip_grad_value(_grads(rng), bad)


@pytest.mark.parametrize("clip", [clip_grad_norm, clip_grad_value])
def test_clip_bad_grads_raise_value_error(clip):
    with pytest.raises(ValueError, match="grads must be a dict of arrays, got list"):
        clip([np.ones(3)], 1.0)
    with pytest.raises(ValueError, match=r"grads\['b'\] has dtype int64, expected a floating dtype"):
        clip({"b": np.ones(3, dtype=np.int64)}, 1.0)
    with pytest.raises(ValueError, match=r"grads\['b'\] is None"):
        clip({"b": None}, 1.0)
