# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""Hostile submissions of 01_rnn_cell against the comparison (audit)."""

from hostile.audit.honest01 import sols
from hostile.corpus import Case, _blank, _honest

ASSIGNMENT = "01_rnn_cell"


def three(expr_h, expr_hs, expr_p, pre=""):
    return sols(
        {
            0: pre + f"def rnn_step_forward(x, h_prev, params):\n    N, H = h_prev.shape\n    return {expr_h}, None\n",
            1: pre
            + f"def rnn_forward(xs, h0, params, mask=None):\n    T, N, _ = xs.shape\n    H = h0.shape[1]\n    hs = {expr_hs}\n    return hs, hs[-1], None\n",
            2: pre
            + f"def output_layer(hs, W_y, b_y):\n    T, N, _ = hs.shape\n    V = W_y.shape[0]\n    return {expr_p}\n",
        }
    )


CASES = [
    Case("h01_honest", "right", _honest, (1, 1, 1), honest=True),
    Case("h01_blank", "release", _blank, (0, 0, 0), honest=True),
    Case(
        "h01_nan",
        "NaN everywhere",
        three("np.full((N, H), np.nan)", "np.full((T, N, H), np.nan)", "np.full((T, N, V), np.nan)"),
        (0, 0, 0),
    ),
    Case(
        "h01_inf",
        "inf everywhere",
        three("np.full((N, H), np.inf)", "np.full((T, N, H), np.inf)", "np.full((T, N, V), np.inf)"),
        (0, 0, 0),
    ),
    Case(
        "h01_masked",
        "fully masked arrays",
        three("np.ma.masked_all((N, H))", "np.ma.masked_all((T, N, H))", "np.ma.masked_all((T, N, V))"),
        (0, 0, 0),
    ),
    Case(
        "h01_object",
        "object arrays of NaN",
        three(
            "np.full((N, H), np.nan, dtype=object)",
            "np.full((T, N, H), None, dtype=object)",
            "np.full((T, N, V), 1.0 / 3, dtype=object)",
        ),
        (0, 0, 0),
    ),
    Case(
        "h01_broadcast",
        "arrays of a shape that broadcasts",
        three("np.zeros((1, 1))", "np.zeros((1, 1, 1))", "np.full((1, 1, 1), 0.5)"),
        (0, 0, 0),
    ),
    Case(
        "h01_empty", "empty arrays", three("np.zeros((0, H))", "np.zeros((T, 0, H))", "np.zeros((T, N, 0))"), (0, 0, 0)
    ),
    Case(
        "h01_lying_subclass",
        "ndarray subclass whose comparisons and ufuncs say equal",
        three(
            "Liar(np.zeros((N, H)))",
            "Liar(np.zeros((T, N, H)))",
            "Liar(np.full((T, N, V), 1.0 / V))",
            pre="class Liar(np.ndarray):\n    def __new__(cls, a):\n        return np.asarray(a).view(cls)\n    def __eq__(self, o):\n        return np.ones(np.shape(self), bool)\n    def __array_ufunc__(self, *a, **k):\n        return np.zeros(np.shape(self))\n    def __array_function__(self, func, types, args, kwargs):\n        return True\n    def __abs__(self):\n        return np.zeros(np.shape(self))\n    def __sub__(self, o):\n        return np.zeros(np.shape(self))\n    __rsub__ = __sub__\n\n\n",
        ),
        (0, 0, 0),
    ),
    Case(
        "h01_float16_complex",
        "complex and half dtypes of zeros",
        three(
            "np.zeros((N, H), np.complex128)",
            "np.zeros((T, N, H), np.float16)",
            "np.full((T, N, V), 1.0 / V, np.longdouble)",
        ),
        (0, 0, 0),
    ),
]
