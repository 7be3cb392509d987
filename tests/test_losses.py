"""rnn_ref.losses: masked cross-entropy and mean squared error, with their gradients."""

import warnings

import numpy as np
import pytest

from rnn_ref.gradcheck import numerical_gradient, relative_error
from rnn_ref.losses import mse, softmax_cross_entropy

T, N, V, K = 4, 3, 5, 2


def _batch(rng):
    logits = 3 * rng.standard_normal((T, N, V))
    targets = rng.integers(0, V, (T, N))
    mask = np.arange(T)[:, None] < np.array([4, 2, 1])[None, :]  # (T, N), lengths 4, 2, 1
    return logits, targets, mask


# --- softmax_cross_entropy -------------------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True])
def test_softmax_cross_entropy_matches_torch_and_its_autograd(torch, rng, masked):
    logits, targets, mask = _batch(rng)
    keep = mask if masked else np.ones((T, N), dtype=bool)
    a = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(a[torch.tensor(keep)], torch.tensor(targets[keep]))
    expected.backward()
    loss, dlogits = softmax_cross_entropy(logits, targets, mask if masked else None)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, a.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_softmax_cross_entropy_ignores_targets_at_padded_steps_as_torch_ignore_index(torch, rng):
    logits, targets, mask = _batch(rng)
    padded_targets = np.where(mask, targets, -100)  # torch's ignore_index
    a = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(a.reshape(-1, V), torch.tensor(padded_targets).reshape(-1))
    expected.backward()
    loss, dlogits = softmax_cross_entropy(logits, padded_targets, mask)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, a.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_softmax_cross_entropy_gradient_matches_numeric(rng):
    _, targets, mask = _batch(rng)
    logits = rng.standard_normal((T, N, V))  # unit scale: no probability so tiny that rounding noise dominates it
    _, dlogits = softmax_cross_entropy(logits, targets, mask)
    numeric = numerical_gradient(lambda a: softmax_cross_entropy(a, targets, mask)[0], logits)
    assert relative_error(dlogits, numeric) < 1e-6
    assert np.max(np.abs(dlogits - numeric)) < 1e-9
    assert np.all(dlogits[~mask] == 0)  # padded steps: exactly zero


def test_softmax_cross_entropy_of_one_step_equals_the_sequence_of_length_one(rng):
    logits, targets, mask = _batch(rng)
    loss, dlogits = softmax_cross_entropy(logits[1], targets[1], mask[1])
    loss_seq, dlogits_seq = softmax_cross_entropy(logits[1:2], targets[1:2], mask[1:2])
    assert loss == loss_seq
    np.testing.assert_array_equal(dlogits, dlogits_seq[0])


def test_softmax_cross_entropy_is_the_mean_over_valid_steps(rng):
    # Padding must not dilute the loss: adding padded steps leaves it unchanged.
    logits, targets, mask = _batch(rng)
    loss, _ = softmax_cross_entropy(logits, targets, mask)
    padded = np.concatenate([logits, rng.standard_normal((2, N, V))])
    loss_padded, _ = softmax_cross_entropy(
        padded, np.concatenate([targets, np.zeros((2, N), int)]), np.concatenate([mask, np.zeros((2, N), bool)])
    )
    assert loss_padded == pytest.approx(loss, rel=1e-14)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)  # naive softmax: fine at this scale
    naive = -np.log(np.take_along_axis(p, targets[..., None], -1)[..., 0])[mask].mean()
    assert loss == pytest.approx(naive, rel=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    # exp(1000) overflows float64; log-sum-exp must not.
    logits = np.array([[1000.0, 0.0, -1000.0], [1e30, -1e30, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, divide, invalid) fails the test
        loss, dlogits = softmax_cross_entropy(logits, np.array([1, 0]))
        loss_right, _ = softmax_cross_entropy(logits, np.array([0, 0]))
        loss_extreme, dlogits_extreme = softmax_cross_entropy(np.array([[1e308, -1e308]]), np.array([0]))
    # target 1 of row 0 costs -log p = 1000 (up to e^-1000); row 0 of row 1 costs 0
    assert loss == pytest.approx((1000.0 + 0.0) / 2, rel=1e-12)
    assert loss_right == 0.0
    assert np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits[0], np.array([1.0, -1.0, 0.0]) / 2, atol=1e-300)
    assert loss_extreme == 0.0  # 1e308 - (-1e308) overflows, but p = (1, 0) is still right
    np.testing.assert_array_equal(dlogits_extreme, [[0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_preserves_dtype(rng, dtype):
    logits, targets, mask = _batch(rng)
    loss, dlogits = softmax_cross_entropy(logits.astype(dtype), targets, mask)
    assert np.asarray(loss).dtype == dtype and dlogits.dtype == dtype
    loss64, _ = softmax_cross_entropy(logits, targets, mask)
    assert loss == pytest.approx(loss64, rel=1e-5)


def test_softmax_cross_entropy_does_not_mutate(rng):
    logits, targets, mask = _batch(rng)
    copies = [logits.copy(), targets.copy(), mask.copy()]
    softmax_cross_entropy(logits, targets, mask)
    for original, copy in zip([logits, targets, mask], copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_softmax_cross_entropy_bad_input_raises_value_error(rng):
    logits, targets, mask = _batch(rng)
    with pytest.raises(ValueError, match=r"logits has shape \(5,\) \(1 dimensions\), expected \(T, N, V\) or \(N, V\)"):
        softmax_cross_entropy(logits[0, 0], targets[0, 0])
    with pytest.raises(ValueError, match="logits has dtype int64"):
        softmax_cross_entropy(targets[..., None], targets)
    with pytest.raises(ValueError, match=r"logits has shape \(4, 3, 0\), expected at least one class"):
        softmax_cross_entropy(np.zeros((T, N, 0)), targets)
    with pytest.raises(ValueError, match=r"targets has shape \(3, 4\), expected \(T, N\) = \(4, 3\)"):
        softmax_cross_entropy(logits, targets.T)
    with pytest.raises(ValueError, match=r"targets has shape \(4,\), expected \(N,\) = \(3,\)"):
        softmax_cross_entropy(logits[0], targets[:, 0])
    with pytest.raises(ValueError, match="targets has dtype float64, expected integer"):
        softmax_cross_entropy(logits, targets.astype(float))
    bad = targets.copy()
    bad[1, 0] = V
    with pytest.raises(
        ValueError, match=r"targets\[1, 0\] = 5 at a valid step, expected a class in \[0, V\) = \[0, 5\)"
    ):
        softmax_cross_entropy(logits, bad, mask)
    bad[1, 0] = -1
    with pytest.raises(ValueError, match=r"targets\[1, 0\] = -1"):
        softmax_cross_entropy(logits, bad)
    with pytest.raises(ValueError, match=r"mask has shape \(3, 4\), expected \(T, N\) = \(4, 3\)"):
        softmax_cross_entropy(logits, targets, mask.T)
    with pytest.raises(ValueError, match="mask has dtype float64, expected bool"):
        softmax_cross_entropy(logits, targets, mask.astype(float))
    with pytest.raises(ValueError, match="mask has no valid step"):
        softmax_cross_entropy(logits, targets, np.zeros((T, N), bool))
    with pytest.raises(ValueError, match="no steps"):
        softmax_cross_entropy(np.zeros((0, N, V)), np.zeros((0, N), int))


# --- mse -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask_kind", ["none", "steps", "elements"])
def test_mse_matches_torch_and_its_autograd(torch, rng, mask_kind):
    pred = rng.standard_normal((T, N, K))
    target = rng.standard_normal((T, N, K))
    _, _, step_mask = _batch(rng)
    mask = {"none": None, "steps": step_mask, "elements": rng.random((T, N, K)) < 0.6}[mask_kind]
    keep = np.ones((T, N, K), bool) if mask is None else np.broadcast_to(mask.reshape(T, N, -1), (T, N, K))
    p = torch.tensor(pred, requires_grad=True)
    expected = torch.nn.functional.mse_loss(p[torch.tensor(keep)], torch.tensor(target[keep]))
    expected.backward()
    loss, dpred = mse(pred, target, mask)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dpred, p.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_mse_gradient_matches_numeric(rng):
    pred, target = rng.standard_normal((2, T, N, K))
    _, _, mask = _batch(rng)
    _, dpred = mse(pred, target, mask)
    numeric = numerical_gradient(lambda y: mse(y, target, mask)[0], pred)
    assert relative_error(dpred, numeric) < 1e-6
    assert np.all(dpred[~mask] == 0)


def test_mse_is_the_mean_over_valid_elements_by_hand():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[0.0, 0.0], [0.0, 10.0]])
    loss, dpred = mse(pred, target, np.array([True, False]))  # only row 0: (1 + 4) / 2
    assert loss == 2.5
    np.testing.assert_array_equal(dpred, [[1.0, 2.0], [0.0, 0.0]])  # 2 (pred - target) / 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mse_preserves_dtype_and_does_not_mutate(rng, dtype):
    pred, target = rng.standard_normal((2, T, N, K)).astype(dtype)
    copies = pred.copy(), target.copy()
    loss, dpred = mse(pred, target)
    assert np.asarray(loss).dtype == dtype and dpred.dtype == dtype
    np.testing.assert_array_equal(pred, copies[0])
    np.testing.assert_array_equal(target, copies[1])


def test_mse_bad_input_raises_value_error(rng):
    pred, target = rng.standard_normal((2, T, N, K))
    with pytest.raises(ValueError, match=r"target has shape \(4, 3\), expected the shape of pred, \(4, 3, 2\)"):
        mse(pred, target[..., 0])
    with pytest.raises(ValueError, match="pred has dtype int64"):
        mse(np.ones(3, dtype=np.int64), np.ones(3))
    with pytest.raises(ValueError, match="target has dtype float32 but pred has dtype float64"):
        mse(pred, target.astype(np.float32))
    with pytest.raises(ValueError, match=r"mask has shape \(3, 4\), expected a prefix of pred's shape = \(4, 3\)"):
        mse(pred, target, np.ones((N, T), bool))
    with pytest.raises(ValueError, match=r"mask has shape \(4, 3, 2, 1\)"):
        mse(pred, target, np.ones((T, N, K, 1), bool))
    with pytest.raises(ValueError, match="mask has no valid step"):
        mse(pred, target, np.zeros((T, N), bool))
    with pytest.raises(ValueError, match="mean over zero elements"):
        mse(np.zeros((0, 2)), np.zeros((0, 2)))
