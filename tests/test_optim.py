"""rnn_ref.optim: SGD and Adam, step for step against torch.optim in float64."""

import numpy as np
import pytest

from rnn_ref.optim import SGD, Adam

SHAPES = {"W_x": (8, 3), "W_h": (8, 2), "b": (8,)}


def _params(rng, dtype=np.float64):
    return {key: rng.standard_normal(shape).astype(dtype) for key, shape in SHAPES.items()}


def _run_both(torch, rng, ours, make_theirs, steps=5):
    """Run our optimizer and torch's side by side on the same random gradients; compare after every step."""
    params = _params(rng)
    tensors = {key: torch.nn.Parameter(torch.tensor(p)) for key, p in params.items()}
    theirs = make_theirs(list(tensors.values()))
    for _ in range(steps):
        grads = {key: rng.standard_normal(shape) for key, shape in SHAPES.items()}
        for key, t in tensors.items():
            t.grad = torch.tensor(grads[key])
        ours.step(params, grads)
        theirs.step()
        for key in params:
            np.testing.assert_allclose(params[key], tensors[key].detach().numpy(), rtol=1e-12, atol=1e-14)
    return params


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.05, "weight_decay": 0.01},
        {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
    ],
)
def test_sgd_matches_torch_for_five_steps(torch, rng, kwargs):
    _run_both(torch, rng, SGD(**kwargs), lambda ts: torch.optim.SGD(ts, **kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
        {"lr": 0.01, "weight_decay": 0.1},
    ],
)
def test_adam_matches_torch_for_five_steps(torch, rng, kwargs):
    _run_both(torch, rng, Adam(**kwargs), lambda ts: torch.optim.Adam(ts, **kwargs))


def test_sgd_without_momentum_is_theta_minus_lr_times_grad(rng):
    params = _params(rng)
    expected = {key: p - 0.1 * (p + 0.0) for key, p in params.items()}  # grad = params, for instance
    SGD(lr=0.1).step(params, {key: p.copy() for key, p in params.items()})
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-15)


def test_sgd_momentum_accumulates_a_constant_gradient(rng):
    # With a constant gradient g, the buffer after k steps is g (1 + mu + ... + mu^(k-1)).
    params = {"b": np.zeros(3)}
    g = rng.standard_normal(3)
    opt = SGD(lr=1.0, momentum=0.5)
    for _ in range(3):
        opt.step(params, {"b": g})
    np.testing.assert_allclose(params["b"], -g * (1 + 1.5 + 1.75), rtol=1e-14)


def test_adam_first_step_moves_every_entry_by_about_lr(rng):
    # Step 1: m = (1 - b1) g and v = (1 - b2) g^2, so after bias correction m / sqrt(v) = g / |g|:
    # the step is lr * g / (|g| + eps), about lr whatever the gradient's scale.
    params = _params(rng)
    before = {key: p.copy() for key, p in params.items()}
    grads = {  # random signs, magnitudes from 5e-4 to 150
        key: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape) * 10.0 ** rng.integers(-3, 3, shape)
        for key, shape in SHAPES.items()
    }
    Adam(lr=0.01, eps=1e-8).step(params, grads)
    for key, g in grads.items():
        step = params[key] - before[key]
        np.testing.assert_allclose(step, -0.01 * g / (np.abs(g) + 1e-8), rtol=1e-9)
        np.testing.assert_allclose(np.abs(step), 0.01, rtol=1e-3)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9, weight_decay=0.1), lambda: Adam(weight_decay=0.1)])
def test_step_updates_params_in_place_and_leaves_grads_alone(rng, make):
    params = _params(rng)
    arrays = {key: p for key, p in params.items()}  # the very same objects
    before = {key: p.copy() for key, p in params.items()}
    grads = {key: rng.standard_normal(shape) for key, shape in SHAPES.items()}
    grads_before = {key: g.copy() for key, g in grads.items()}
    opt = make()
    for _ in range(2):
        opt.step(params, grads)
    for key in params:
        assert params[key] is arrays[key]
        assert not np.array_equal(params[key], before[key])
        np.testing.assert_array_equal(grads[key], grads_before[key])
        for value in opt.state[key].values():  # no state array aliases the caller's gradients
            assert not (isinstance(value, np.ndarray) and np.shares_memory(value, grads[key]))


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam()])
def test_step_preserves_float32(rng, make):
    params = _params(rng, np.float32)
    grads = {key: g.astype(np.float32) for key, g in _params(rng).items()}
    opt = make()
    opt.step(params, grads)
    opt.step(params, grads)
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam()])
def test_step_bad_input_raises_value_error(rng, make):
    params = _params(rng)
    grads = {key: np.zeros(shape) for key, shape in SHAPES.items()}
    opt = make()
    with pytest.raises(ValueError, match="params must be a dict"):
        opt.step(list(params.values()), grads)
    with pytest.raises(ValueError, match="grads must be a dict"):
        opt.step(params, None)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        opt.step(params, {k: v for k, v in grads.items() if k != "b"})
    with pytest.raises(ValueError, match=r"grads\['W_h'\] has shape \(2, 8\), expected .* \(8, 2\)"):
        opt.step(params, {**grads, "W_h": grads["W_h"].T})
    with pytest.raises(ValueError, match=r"grads\['b'\] has dtype float32, expected .* float64"):
        opt.step(params, {**grads, "b": grads["b"].astype(np.float32)})
    with pytest.raises(ValueError, match=r"params\['b'\] must be a floating ndarray .* got list"):
        opt.step({**params, "b": [0.0] * 8}, grads)
    read_only = params["b"].copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\['b'\] is read-only"):
        opt.step({**params, "b": read_only}, grads)
    opt.step(params, grads)
    with pytest.raises(ValueError, match="use a new optimizer for a new model"):
        opt.step({**params, "b": np.zeros(5)}, {**grads, "b": np.zeros(5)})


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(-0.1), "lr must be"),
        (lambda: SGD("0.1"), "lr must be"),
        (lambda: SGD(0.1, momentum=1.0), "momentum must be"),
        (lambda: SGD(0.1, weight_decay=-1.0), "weight_decay must be"),
        (lambda: Adam(lr=np.nan), "lr must be"),
        (lambda: Adam(betas=(0.9,)), "betas must be a pair"),
        (lambda: Adam(betas=(0.9, 1.0)), r"betas\[1\] must be"),
        (lambda: Adam(betas=(-0.1, 0.999)), r"betas\[0\] must be"),
        (lambda: Adam(eps=-1e-8), "eps must be"),
        (lambda: Adam(weight_decay=True), "weight_decay must be"),
    ],
)
def test_bad_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
