r"""Optimizers: SGD with momentum, and Adam, on dicts of parameters.

An optimizer's job is to change the parameters, so, unlike every other
function of :mod:`rnn_ref`, ``step(params, grads)`` updates the arrays of
``params`` **in place** (the gradients are never modified).  It keeps its
state (momentum buffers, moment estimates, step counts) per key, so one
optimizer serves one model: pass it the same params dict at every step.

The numbers are those of ``torch.optim.SGD`` (``dampening=0``,
``nesterov=False``) and ``torch.optim.Adam`` (``amsgrad=False``): same
formulas, same order of operations, same bias correction.
"""

import math

import numpy as np

from ._checks import as_array


def _check_number(name, value, *, low=0.0, high=np.inf, include_high=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and low <= value and (value <= high if include_high else value < high)
    if not ok:
        bracket = "]" if include_high else ")"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


class _Optimizer:
    """What SGD and Adam share: per-key state and the checks of ``step``."""

    def __init__(self):
        self.state = {}  # key -> dict of arrays (and a step count for Adam)

    def _check(self, params, grads):
        """Check ``params`` and ``grads``; return the gradients as ndarrays."""
        for name, value in (("params", params), ("grads", grads)):
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be a dict of arrays, got {type(value).__name__}")
        if set(params) != set(grads):
            missing = sorted(set(params) - set(grads))
            extra = sorted(set(grads) - set(params))
            raise ValueError(
                f"grads has keys {sorted(grads)}, expected the keys of params {sorted(params)}"
                + (f" (missing {missing})" if missing else "")
                + (f" (unexpected {extra})" if extra else "")
            )
        checked = {}
        for key, p in params.items():
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise ValueError(
                    f"params[{key!r}] must be a floating ndarray (it is updated in place), "
                    f"got {type(p).__name__}" + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else "")
                )
            if not p.flags.writeable:
                raise ValueError(f"params[{key!r}] is read-only, but the optimizer updates it in place")
            g = as_array(f"grads[{key!r}]", grads[key])
            if g.shape != p.shape:
                raise ValueError(
                    f"grads[{key!r}] has shape {g.shape}, expected the shape of params[{key!r}], {p.shape}"
                )
            if g.dtype != p.dtype:
                raise ValueError(
                    f"grads[{key!r}] has dtype {g.dtype}, expected the dtype of params[{key!r}], {p.dtype}"
                )
            if key in self.state:
                stored = next(v for v in self.state[key].values() if isinstance(v, np.ndarray))
                if stored.shape != p.shape:
                    raise ValueError(
                        f"params[{key!r}] has shape {p.shape}, but this optimizer's state for {key!r} has "
                        f"shape {stored.shape}: use a new optimizer for a new model"
                    )
            checked[key] = g
        return checked


class SGD(_Optimizer):
    r"""Stochastic gradient descent, with optional momentum and weight decay.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta \ge 0`.
    momentum : float
        :math:`\mu \in [0, 1)`; 0 is plain SGD.
    weight_decay : float
        :math:`\lambda \ge 0`, an L2 penalty :math:`\tfrac{\lambda}{2}\|\theta\|^2`
        added to the loss.

    Notes
    -----
    As ``torch.optim.SGD`` with ``dampening=0`` and ``nesterov=False``, for
    each parameter :math:`\theta` with gradient :math:`g`:

    .. math::
        g &\leftarrow g + \lambda \theta \\
        v &\leftarrow \begin{cases} g & \text{first step} \\
                                    \mu v + g & \text{after} \end{cases}
            \qquad (\text{only if } \mu \ne 0; \text{ then } g \leftarrow v) \\
        \theta &\leftarrow \theta - \eta\, g

    Note that the first momentum buffer is the gradient itself, not
    :math:`(1 - \mu) g` nor zero.
    """

    def __init__(self, lr, momentum=0.0, weight_decay=0.0):
        super().__init__()
        self.lr = _check_number("lr", lr)
        self.momentum = _check_number("momentum", momentum, high=1.0)
        self.weight_decay = _check_number("weight_decay", weight_decay)

    def step(self, params, grads):
        """Update every array of ``params`` in place, one SGD step.

        Parameters
        ----------
        params : dict of str to ndarray
            Updated in place.
        grads : dict of str to ndarray
            Same keys, shapes and dtypes.  Not modified.
        """
        grads = self._check(params, grads)
        for key, theta in params.items():
            g = grads[key]
            if self.weight_decay != 0:
                g = g + self.weight_decay * theta  # a new array: grads stay untouched
            if self.momentum != 0:
                if key not in self.state:
                    self.state[key] = {"momentum_buffer": g.copy()}
                else:
                    v = self.state[key]["momentum_buffer"]
                    v *= self.momentum
                    v += g
                g = self.state[key]["momentum_buffer"]
            theta -= self.lr * g  # in place: the caller's array changes


class Adam(_Optimizer):
    r"""Adam (Kingma and Ba 2015): per-entry step sizes from running moments.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta \ge 0`.
    betas : tuple of two floats
        :math:`(\beta_1, \beta_2)`, each in [0, 1): decay of the first and
        second moment estimates.
    eps : float
        :math:`\epsilon \ge 0`, added to the denominator.
    weight_decay : float
        :math:`\lambda \ge 0`, added to the gradient (L2 penalty, not AdamW's
        decoupled decay).

    Notes
    -----
    As ``torch.optim.Adam`` (``amsgrad=False``), with a step count
    :math:`t = 1, 2, \dots` per parameter:

    .. math::
        g &\leftarrow g + \lambda \theta \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \qquad (m = v = 0 \text{ before step } 1) \\
        \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t} \,
            \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    The bias corrections :math:`1 - \beta^t` undo the pull of the zero
    initial moments towards zero during the first steps; as in PyTorch,
    :math:`\epsilon` is added *after* correcting :math:`\sqrt{v}`.  On the
    first step :math:`m / \sqrt{v}` is :math:`\operatorname{sign}(g)`, so every
    entry moves by about :math:`\eta` whatever the scale of its gradient.
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__()
        self.lr = _check_number("lr", lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_number("betas[0]", betas[0], high=1.0), _check_number("betas[1]", betas[1], high=1.0))
        self.eps = _check_number("eps", eps)
        self.weight_decay = _check_number("weight_decay", weight_decay)

    def step(self, params, grads):
        """Update every array of ``params`` in place, one Adam step.

        Parameters
        ----------
        params : dict of str to ndarray
            Updated in place.
        grads : dict of str to ndarray
            Same keys, shapes and dtypes.  Not modified.
        """
        grads = self._check(params, grads)
        beta1, beta2 = self.betas
        for key, theta in params.items():
            g = grads[key]
            if self.weight_decay != 0:
                g = g + self.weight_decay * theta  # a new array: grads stay untouched
            if key not in self.state:
                self.state[key] = {"step": 0, "exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
            state = self.state[key]
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * g  # m = beta1 m + (1 - beta1) g
            v *= beta2
            v += (1 - beta2) * g * g  # v = beta2 v + (1 - beta2) g^2
            step_size = self.lr / (1 - beta1**t)
            # math.sqrt gives a Python float, which keeps float32 arrays float32
            denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
            theta -= step_size * (m / denom)  # in place
