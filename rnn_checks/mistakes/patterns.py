"""Typical mistakes recognized from the *shape* of an error, for any graded function.

* :func:`error_hint`: a hint for an exception's message (mismatched matmul
  shapes, a missing dict key, a wrong number of returned values, ...);
* :func:`output_hints`: an output that is all zeros, of the wrong sign, a
  constant times the right one, in reverse time order, another output's
  value, sigmoid where tanh was due, right in some gate blocks only, or right
  except in the padded sequences.
"""

import inspect

import numpy as np

from rnn_ref.activations import sigmoid

# --- errors --------------------------------------------------------------------------------------------------

_ERROR_HINTS = (
    (
        "matmul",
        "a matrix product has mismatched shapes. Weights are stored as in the equations, (outputs, inputs): "
        "W_x is (G*H, D) and W_h (G*H, H), so W_x x_t is written x @ W_x.T for a batch x of shape (N, D).",
    ),
    (
        "could not be broadcast",
        "two arrays have shapes that do not combine: check which are (N, H), (H,) and (N, D).",
    ),
    ("unexpected keyword argument", "keep the signature of the stub: same arguments, same names."),
    ("positional argument", "keep the signature of the stub: same arguments, same names, same order."),
    ("is not defined", "run the cells above first (imports and your earlier functions)."),
    ("cannot unpack", "check how many values each function returns (see its docstring)."),
    ("object has no attribute", "see the docstring for the fields of the cache and what each argument is."),
)


def error_hint(text, spec):
    """A hint for an exception message, or None."""
    if text.startswith("KeyError"):
        return "a dict key is missing: see the docstring for the keys of params and grads."
    for pattern, hint in _ERROR_HINTS:
        if pattern in text:
            return hint
    return None


# --- output patterns ------------------------------------------------------------------------------------------


def _close(a, b, rtol=1e-5, atol=1e-7):
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)


def _gate_names(spec):
    module = spec.key.split(".")[0]
    if module in ("lstm", "peephole"):
        return ("i", "f", "g", "o")
    if module == "gru" or spec.key == "bidirectional.bidirectional_backward":
        return ("r", "z", "n")
    return None


def _block_hint(label, e, g, names):
    """Which gate blocks (rows k*H:(k+1)*H) of a stacked gradient are wrong, or in another order."""
    G = len(names)
    if e.ndim == 0 or e.shape[0] % G or e.shape[0] < G:
        return None
    blocks_e, blocks_g = np.split(e, G, axis=0), np.split(g, G, axis=0)
    right = [_close(a, b) for a, b in zip(blocks_e, blocks_g, strict=True)]
    if all(right):
        return None
    order = [next((j for j, b in enumerate(blocks_e) if _close(a, b)), None) for a in blocks_g]
    if None not in order and sorted(order) == list(range(G)):
        return (
            f"{label} has the right gate blocks in the wrong order: yours are "
            f"({', '.join(names[j] for j in order)}), the rows must be ({', '.join(names)})"
        )
    if not any(right):
        return None
    good = ", ".join(n for n, ok in zip(names, right, strict=True) if ok)
    wrong = ", ".join(n for n, ok in zip(names, right, strict=True) if not ok)
    return f"{label} is right in the rows of gates {good} and wrong in the rows of {wrong}"


def _padded_sequences_hint(label, e, g, mask):
    """Right for the full-length sequences, wrong for the padded ones."""
    if mask is None or e.ndim < 2 or e.shape[:2] != mask.shape:
        return None
    padded = ~mask.all(axis=0)  # (N,) sequences with padding
    if not padded.any() or padded.all():
        return None
    right = [_close(e[:, n], g[:, n]) for n in range(e.shape[1])]
    if all(right[n] for n in np.flatnonzero(~padded)) and not any(right[n] for n in np.flatnonzero(padded)):
        return (
            f"{label} is right for the full-length sequences and wrong for those with padding: "
            "each sequence must be handled within its own length (per-sequence reversal, state carried "
            "and output zero at padded steps)"
        )
    return None


def output_hints(spec, problem, expected, case):
    """Hints about one failing output, from the shape of its error.

    Parameters
    ----------
    spec : rnn_checks.specs.Spec
    problem : rnn_checks.compare.Problem
    expected : dict
        The expected value of every output, by name.
    case : rnn_checks.cases.Case
    """
    label, e, g = problem.label, problem.expected, problem.got
    if e is None or g is None:
        return []
    e, g = np.asarray(e, dtype=np.float64), np.asarray(g, dtype=np.float64)
    if problem.kind == "shape":
        if "['b" in label and g.ndim == 2 and g.shape[1:] == e.shape:
            return [f"{label} must be summed over the batch (axis 0), giving shape {e.shape}"]
        return []
    if problem.kind != "value" or not np.isfinite(g).all():
        return []
    hints = []
    if _close(g, np.zeros_like(g)):
        hints.append(f"{label} is all zeros: it is never filled in, or `=` overwrote it where `+=` accumulates")
    elif _close(g, -e):
        hints.append(f"{label} has the wrong sign")
    elif e.ndim >= 1 and e.shape[0] > 1 and _close(g, e[::-1]) and label[:2] in ("hs", "dx", "ys", "no"):
        hints.append(f"{label} is in reverse time order")
    else:
        ratio = _constant_ratio(e, g)
        if ratio is not None:
            hints.append(f"{label} is {ratio:.3g} times the expected value (a factor counted twice, or missing)")
    for other, value in expected.items():
        if other not in (None, label) and isinstance(value, np.ndarray) and _close(g, np.asarray(value, float)):
            hints.append(f"{label} holds what {other} should: are the outputs returned in the right order?")
    if ((e > 0) & (e < 1)).all() and _close(g, np.tanh(np.log(e / (1 - e)))):
        hints.append(f"{label} uses tanh where sigmoid belongs")
    if (np.abs(e) < 1).all() and _close(g, sigmoid(np.arctanh(e))):
        hints.append(f"{label} uses sigmoid where tanh belongs")
    names = _gate_names(spec)
    if names and ("['W_" in label or "['b']" in label):
        hint = _block_hint(label, e, g, names)
        if hint:
            hints.append(hint)
    mask = _mask_of(spec, case)
    hint = _padded_sequences_hint(label, e, g, mask)
    if hint:
        hints.append(hint)
    return hints


def _constant_ratio(e, g):
    """``c`` when ``g == c * e`` for one constant ``c`` other than 1, else None."""
    big = np.abs(e) > 1e-6 * max(np.abs(e).max(), 1e-300)
    if not big.any():
        return None
    ratios = g[big] / e[big]
    c = float(np.median(ratios))
    if abs(c - 1) < 1e-3 or abs(c) < 1e-9:
        return None
    return c if _close(g, c * e) else None


def _mask_of(spec, case):
    try:
        bound = inspect.signature(spec.reference).bind(*case.args, **case.kwargs)
    except TypeError:
        return None
    mask = bound.arguments.get("mask")
    if mask is None:
        cache = bound.arguments.get("cache")
        mask = getattr(cache, "mask", None)
        lengths = getattr(cache, "lengths", None)
        if mask is None and lengths is not None:
            T = cache.cache_fwd.xs.shape[0]
            mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    return None if mask is None else np.asarray(mask, dtype=bool)
