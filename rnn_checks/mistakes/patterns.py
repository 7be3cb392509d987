"""Typical mistakes recognized from the *shape* of an error, for any graded function.

* :func:`error_hint`: a hint for an exception's message (mismatched matmul
  shapes, a missing dict key, a wrong number of returned values, ...);
* :func:`output_hints`: an output that is all zeros, of the wrong sign, in
  reverse time order, another output's value, sigmoid where tanh was due,
  right in some gate blocks only, or right except in the padded sequences;
* :func:`ratio_hint`: an output that is a constant times the right one in
  every failing case (never guessed from fewer than four entries);
* :func:`overflow_hint`: an activation that overflows for large inputs (NaN or
  inf where the reference is finite, or NumPy's overflow warning).

Every hint is a :class:`~rnn_checks.mistakes.common.Hint`: an id (the same for
every student, for the class report) and the text shown.
"""

import inspect

import numpy as np

from rnn_ref.activations import sigmoid

from .common import Hint

# --- errors --------------------------------------------------------------------------------------------------

_ERROR_HINTS = (  # (pattern in the message, id, hint)
    (
        "matmul",
        "matmul-shapes",
        "a matrix product has mismatched shapes. Weights are stored as in the equations, (outputs, inputs): "
        "W_x is (G*H, D) and W_h (G*H, H), so W_x x_t is written x @ W_x.T for a batch x of shape (N, D).",
    ),
    (
        "could not be broadcast",
        "shapes-do-not-broadcast",
        "two arrays have shapes that do not combine: check which are (N, H), (H,) and (N, D).",
    ),
    ("unexpected keyword argument", "signature-changed", "keep the signature of the stub: same arguments, same names."),
    (
        "positional argument",
        "signature-changed",
        "keep the signature of the stub: same arguments, same names, same order.",
    ),
    ("is not defined", "name-not-defined", "run the cells above first (imports and your earlier functions)."),
    ("cannot unpack", "wrong-number-of-values", "check how many values each function returns (see its docstring)."),
    (
        "object has no attribute",
        "no-such-attribute",
        "see the docstring for the fields of the cache and what each argument is.",
    ),
)


def error_hint(text, spec):
    """A :class:`Hint` for an exception message, or None."""
    if text.startswith("KeyError"):
        return Hint("missing-dict-key", "a dict key is missing: see the docstring for the keys of params and grads.")
    for pattern, ident, hint in _ERROR_HINTS:
        if pattern in text:
            return Hint(ident, hint)
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
        return Hint(
            "gate-blocks-in-wrong-order",
            f"{label} has the right gate blocks in the wrong order: yours are "
            f"({', '.join(names[j] for j in order)}), the rows must be ({', '.join(names)})",
        )
    if not any(right):
        return None
    good = ", ".join(n for n, ok in zip(names, right, strict=True) if ok)
    wrong = ", ".join(n for n, ok in zip(names, right, strict=True) if not ok)
    return Hint(
        "some-gate-blocks-wrong", f"{label} is right in the rows of gates {good} and wrong in the rows of {wrong}"
    )


def _padded_sequences_hint(label, e, g, mask):
    """Right for the full-length sequences and wrong for the padded ones; or right at every valid step only."""
    if mask is None or e.ndim < 2 or e.shape[:2] != mask.shape:
        return None
    padded = ~mask.all(axis=0)  # (N,) sequences with padding
    if not padded.any():
        return None
    if _close(e[mask], g[mask]) and not _close(e[~mask], g[~mask]):
        return Hint(
            "wrong-at-padded-steps",
            f"{label} is right at every valid step and wrong at the padded ones: see the docstring for what a "
            "padded step holds (copied unchanged, zero, or the state carried on)",
        )
    if padded.all():
        return None
    right = [_close(e[:, n], g[:, n]) for n in range(e.shape[1])]
    if all(right[n] for n in np.flatnonzero(~padded)) and not any(right[n] for n in np.flatnonzero(padded)):
        return Hint(
            "wrong-with-padding",
            f"{label} is right for the full-length sequences and wrong for those with padding: "
            "each sequence must be handled within its own length (per-sequence reversal, state carried "
            "and output zero at padded steps)",
        )
    return None


def output_hints(spec, problem, expected, case):
    """Hints (:class:`Hint`) about one failing output, from the shape of its error.

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
            text = f"{label} must be summed over the batch (axis 0), giving shape {e.shape}"
            return [Hint("bias-gradient-not-summed", text)]
        if "['b" in label and g.ndim == e.ndim == 1:
            text = f"{label} is summed over the wrong axis: a bias gradient sums over the batch (axis 0) only"
            return [Hint("bias-gradient-wrong-axis", text)]
        return []
    if problem.kind != "value" or not np.isfinite(g).all():
        return []
    hints = []
    if _close(g, np.zeros_like(g)):
        text = f"{label} is all zeros: it is never filled in, or `=` overwrote it where `+=` accumulates"
        hints.append(Hint("all-zeros", text))
    elif _close(g, -e):
        hints.append(Hint("wrong-sign", f"{label} has the wrong sign"))
    elif e.ndim >= 1 and e.shape[0] > 1 and _close(g, e[::-1]) and label[:2] in ("hs", "dx", "ys", "no"):
        hints.append(Hint("reverse-time-order", f"{label} is in reverse time order"))
    for other, value in expected.items():
        if other not in (None, label) and isinstance(value, np.ndarray) and _close(g, np.asarray(value, float)):
            text = f"{label} holds what {other} should: are the outputs returned in the right order?"
            hints.append(Hint("outputs-in-wrong-order", text))
    with np.errstate(divide="ignore", invalid="ignore"):
        if ((e > 0) & (e < 1)).all() and _close(g, np.tanh(np.log(e / (1 - e)))):
            hints.append(Hint("tanh-for-sigmoid", f"{label} uses tanh where sigmoid belongs"))
        if (np.abs(e) < 1).all() and _close(g, sigmoid(np.arctanh(e))):
            hints.append(Hint("sigmoid-for-tanh", f"{label} uses sigmoid where tanh belongs"))
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


MIN_RATIO_ENTRIES = 4  # a ratio seen on fewer entries is no evidence of a constant factor


def ratio_hint(label, pairs):
    """A :class:`Hint` when output ``label`` is a constant times the right one in every failing case, else None.

    Parameters
    ----------
    label : str
    pairs : list of (expected, got)
        The output in every failing case where it differs.

    A case whose output has fewer than :data:`MIN_RATIO_ENTRIES` nonzero entries says nothing either
    way (any one number is a multiple of another); a case with enough entries and no constant ratio
    rules the hint out.  The same factor everywhere is "counted twice, or missing"; a different one
    per case is a factor that depends on the sizes.
    """
    ratios = []
    for e, g in pairs:
        e, g = np.asarray(e, dtype=np.float64), np.asarray(g, dtype=np.float64)
        if e.shape != g.shape or not np.isfinite(g).all():
            return None
        if np.count_nonzero(np.abs(e) > 1e-6 * max(np.abs(e).max(initial=0), 1e-300)) < MIN_RATIO_ENTRIES:
            continue
        c = _constant_ratio(e, g)
        if c is None:
            return None
        ratios.append(c)
    if not ratios or all(abs(c + 1) < 1e-3 for c in ratios):  # none, or the wrong sign (said apart)
        return None
    if max(ratios) - min(ratios) <= 1e-3 * max(abs(c) for c in ratios):
        text = f"{label} is {ratios[0]:.3g} times the expected value (a constant factor: counted twice, or missing)"
        return Hint("constant-factor", text)
    shown = ", ".join(f"{c:.3g}" for c in sorted(set(ratios))[:3])
    text = (
        f"{label} is a constant times the expected value in each failing case, but not the same one ({shown}): "
        "a factor that depends on the sizes (N, T or H), such as a mean where a sum belongs"
    )
    return Hint("size-dependent-factor", text)


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
    lengths = bound.arguments.get("lengths")
    if mask is None and lengths is not None and np.ndim(lengths) == 1 and np.ndim(bound.arguments.get("xs")) >= 2:
        T = np.shape(bound.arguments["xs"])[0]
        mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    if mask is None:
        cache = bound.arguments.get("cache")
        mask = getattr(cache, "mask", None)
        lengths = getattr(cache, "lengths", None)
        if mask is None and lengths is not None:
            T = cache.cache_fwd.xs.shape[0]
            mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    return None if mask is None else np.asarray(mask, dtype=bool)


# --- overflow ---------------------------------------------------------------------------------------------------

# What overflows in each graded function that computes an activation: (the function, its stable form).
_ACTIVATIONS = {
    "rnn.output_layer": ("softmax", "subtract each row's maximum before np.exp, or call rnn_ref.activations.softmax"),
    "losses.softmax_cross_entropy": (
        "softmax",
        "subtract each row's maximum before np.exp (log p = a - max - log(sum(exp(a - max))))",
    ),
    "lstm.candidate": ("tanh", "use np.tanh, which never overflows"),
    "gru.candidate": ("tanh", "use np.tanh, which never overflows"),
    "lstm.hidden_state": ("tanh", "use np.tanh, which never overflows"),
    "rnn.rnn_step_forward": ("tanh", "use np.tanh, which never overflows"),
}
_SIGMOID = ("sigmoid", "use rnn_ref.activations.sigmoid, or np.exp of -|a| only: exp(-|a|) never overflows")
_SIGMOID_OR_TANH = ("sigmoid or tanh", "use rnn_ref.activations.sigmoid and np.tanh, which never overflow")


def _activation_of(key):
    if key in _ACTIVATIONS:
        return _ACTIVATIONS[key]
    if key.endswith("_gate"):
        return _SIGMOID
    return _SIGMOID_OR_TANH


def overflow_hint(spec, runs):
    """A :class:`Hint` when the function's activation overflows for large inputs, else None.

    ``runs`` are ``(expected outputs, Run)`` of the failing cases.  An overflow shows as NaN or inf
    where the reference's output is finite (``(e^a - e^-a) / (e^a + e^-a)`` is ``inf / inf`` above
    about 44 in float32), or as NumPy's warning "overflow encountered".
    """
    for expected, run in runs:
        warned = any("overflow" in note for note in run.warnings)
        not_finite = False
        for e, g in zip(expected, run.outputs or (), strict=False):
            if isinstance(e, np.ndarray) and np.isfinite(e).all():
                try:
                    g = np.asarray(g, dtype=np.float64)
                except (TypeError, ValueError):
                    continue
                not_finite = not_finite or (g.shape == e.shape and not np.isfinite(g).all())
        if warned or not_finite:
            name, fix = _activation_of(spec.key)
            what = "NaN or inf where the reference is finite" if not_finite else "NumPy warned of an overflow"
            return Hint("activation-overflows", f"your {name} overflows for large inputs ({what}): {fix}")
    return None
