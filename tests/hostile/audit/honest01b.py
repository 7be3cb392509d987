# ruff: noqa: E501 (the student code in the strings is written as students write it)
"""More honest variants of 01_rnn_cell (audit)."""

import nbformat

from hostile.audit.honest01 import FORWARD_GLOBAL, FULL, OUTPUT_HELPER_LATER, STEP_NAMEDTUPLE, sols
from hostile.corpus import Case

ASSIGNMENT = "01_rnn_cell"


def own_cell(codes_after_solution, blank_solutions=()):
    """Student cells added after solution i; the solution cells in blank_solutions keep their stub."""

    def make(kit):
        nb = kit.honest()
        release = kit.blank()
        for i in blank_solutions:
            kit.solution(nb, i).source = kit.solution(release, i).source
        for i, code in sorted(codes_after_solution.items(), reverse=True):
            pos = nb.cells.index(kit.solution(nb, i)) + 1
            nb.cells.insert(pos, nbformat.v4.new_code_cell(code))
        kit.write(nb)

    return make


FACTORY = """def make_step(activation):
    def step(x, h_prev, params):
        return activation(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None
    return step


rnn_step_forward = make_step(np.tanh)
"""

STARARGS = """def rnn_forward(*args, **kwargs):
    xs, h0, params = args[:3]
    h, hs = h0, []
    for x in xs:
        h, _ = rnn_step_forward(x, h, params)
        hs.append(h)
    return np.array(hs), h, None
"""

TIMEIT = """def rnn_step_forward(x, h_prev, params):
    return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None


_x, _h = np.ones((4, 3)), np.zeros((4, 2))
_p = {"W_x": np.ones((2, 3)), "W_h": np.eye(2), "b": np.zeros(2)}
%timeit rnn_step_forward(_x, _h, _p)
assert rnn_step_forward(_x, _h, _p)[0].shape == (4, 2)
"""

FORWARD_LISTS = """def rnn_forward(xs, h0, params, mask=None):
    h = h0
    hs = []
    for t in range(xs.shape[0]):
        h, _ = rnn_step_forward(xs[t], h, params)
        hs.append(h)
    return hs, h, None  # a list of the states
"""

FORWARD_LATER_HELPER = """def rnn_forward(xs, h0, params, mask=None):
    return run_all(rnn_step_forward, xs, h0, params)
"""
LATER_HELPER = """def run_all(step, xs, h0, params):
    h, hs = h0, []
    for x in xs:
        h, _ = step(x, h, params)
        hs.append(h)
    return np.stack(hs), h, None
"""

OWN_STEP = '''def rnn_step_forward(x, h_prev, params):
    """My version (typed in a new cell)."""
    return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None
'''

CASES = [
    Case("v_factory", "step made by a factory (its __name__ is 'step')", sols({0: FACTORY}), FULL, honest=True),
    Case(
        "v_starargs",
        "forward takes *args, **kwargs; returns np.array of a list",
        sols({1: STARARGS}),
        FULL,
        honest=True,
    ),
    Case("v_timeit_assert", "step cell with %timeit and an assert after the def", sols({0: TIMEIT}), FULL, honest=True),
    Case("v_forward_lists", "forward returns hs as a list of arrays", sols({1: FORWARD_LISTS}), None, honest=True),
    Case(
        "v_helper_in_later_cell",
        "forward's helper is defined in a student cell after the solution, before the test",
        own_cell({1: LATER_HELPER}, ()),
        FULL,
        honest=True,
    ),
    Case(
        "v_sol_left_stub_own_cell",
        "the step typed in a new cell below the untouched solution cell",
        own_cell({0: OWN_STEP}, (0,)),
        FULL,
        honest=True,
    ),
    Case(
        "v_global_rebound_later",
        "ACT rebound only after forward's test; softmax redefined after output's test",
        sols(
            {0: STEP_NAMEDTUPLE, 1: FORWARD_GLOBAL, 2: OUTPUT_HELPER_LATER},
            after={1: "ACT = None  # scratch", 2: "def softmax(a):\n    return a  # scratch\n"},
        ),
        FULL,
        honest=True,
    ),
]

DISPLAY_FIRST = """display(np.zeros(2))  # a look at something, as one does in Jupyter


def rnn_step_forward(x, h_prev, params):
    return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None
"""

MAIN_GUARD = """def _forward(xs, h0, params):
    h, hs = h0, []
    for x in xs:
        h, _ = rnn_step_forward(x, h, params)
        hs.append(h)
    return np.stack(hs), h, None


if __name__ == "__main__":  # pasted from my script
    def rnn_forward(xs, h0, params, mask=None):
        return _forward(xs, h0, params)
"""

IPYTHON_THINGS = """from IPython.display import Markdown, display

display(Markdown("**softmax** over the last axis"))
get_ipython().run_line_magic("precision", "4")


def output_layer(hs, W_y, b_y):
    z = hs @ W_y.T + b_y
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""

CASES += [
    Case("v_display_first", "display() before the def, as in Jupyter", sols({0: DISPLAY_FIRST}), FULL, honest=True),
    Case("v_main_guard", "the def inside if __name__ == '__main__'", sols({1: MAIN_GUARD}), FULL, honest=True),
    Case(
        "v_ipython_things",
        "IPython.display and an explicit line magic before the def",
        sols({2: IPYTHON_THINGS}),
        FULL,
        honest=True,
    ),
]

WRITEFILE = """%%writefile my_layers.py
import numpy as np


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""

USES_FILE = """from my_layers import softmax


def output_layer(hs, W_y, b_y):
    return softmax(hs @ W_y.T + b_y)
"""


def _writefile(kit):
    notebook = kit.honest()
    kit.solution(notebook, 2).source = USES_FILE
    position = notebook.cells.index(kit.solution(notebook, 2))
    notebook.cells.insert(position, nbformat.v4.new_code_cell(WRITEFILE))
    kit.write(notebook)


CASES += [
    Case("v_writefile", "%%writefile of a helper module, imported by output_layer", _writefile, FULL, honest=True),
]

PLOTS_FIRST = """import matplotlib.pyplot as plt

plt.plot(np.tanh(np.linspace(-3, 3, 50)))  # what tanh looks like
plt.title("tanh")
plt.show()


def rnn_step_forward(x, h_prev, params):
    return np.tanh(x @ params["W_x"].T + h_prev @ params["W_h"].T + params["b"]), None
"""

CASES += [
    Case("v_plots_first", "a matplotlib plot before the def", sols({0: PLOTS_FIRST}), FULL, honest=True),
]
