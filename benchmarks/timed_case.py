"""The margins of the timed case: backpropagation, honest or not vectorized, against numerical differentiation.

    python benchmarks/timed_case.py [--repeats 3]

For every graded function that returns gradients, on its timed case (``rnn_checks.timed_case``), in
this process with one BLAS thread (as in the sandbox):

* the reference's time, and the judge's budget ``max(TIMED_FLOOR_SECONDS, TIMED_FACTOR x it)``;
* the course's solution, and the honest variants with loops of ``tests/hostile/variants.py``;
* numerical differentiation, extrapolated from samples: any method that treats the forward pass as a
  black box needs at least one forward pass per entry of the gradients (forward differences; central
  differences need two), so ``entries x`` the time of rnn_ref's forward pass on the same case is a
  lower bound; and for the LSTM, the batched forward of the hostile corpus (a chunk of 64 perturbed
  copies of every input per pass), timed on one chunk.

The judge's own clock adds the transfer of the case and of the result (measured by the grading tests:
0.1 to 0.4 s on the development machine).  Prints a Markdown table; the instructors' page quotes it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hostile import corpus  # noqa: E402
from hostile.corpus import Kit  # noqa: E402
from hostile.variants import VARIANTS, make  # noqa: E402

import rnn_checks  # noqa: E402
from grader.judge import TIMED_FACTOR, TIMED_FLOOR_SECONDS  # noqa: E402
from rnn_ref import gru, lstm, models, rnn  # noqa: E402

# Where each graded function lives, and the forward pass whose gradients it returns (on its case's arguments).
ASSIGNMENT = {
    "rnn.rnn_step_backward": "02_bptt",
    "rnn.rnn_backward": "02_bptt",
    "tbptt.truncated_bptt": "02_bptt",
    "lstm.lstm_step_backward": "08_lstm_gates",
    "lstm.lstm_backward": "08_lstm_gates",
    "losses.softmax_cross_entropy": "09_bilstm",
    "models.bi_tagger_loss": "09_bilstm",
    "gru.gru_step_backward": "10_bigru",
    "gru.gru_backward": "10_bigru",
    "bidirectional.bidirectional_backward": "10_bigru",
}


def _gru_forward(cache):
    return gru.gru_forward(cache.xs, cache.h_all[0], cache.params, cache.mask, reset_after=cache.reset_after)


FORWARD = {
    "rnn.rnn_step_backward": lambda dh, c: rnn.rnn_step_forward(c.x, c.h_prev, c.params),
    "rnn.rnn_backward": lambda dhs, c, *rest: rnn.rnn_forward(c.xs, c.h_all[0], c.params),
    "tbptt.truncated_bptt": lambda cell, xs, s0, p, *rest, **kw: rnn.rnn_forward(xs, s0[0], p),
    "lstm.lstm_step_backward": lambda dh, dc, c: lstm.lstm_step_forward(c.x, c.h_prev, c.c_prev, c.params),
    "lstm.lstm_backward": lambda dhs, c, *rest: lstm.lstm_forward(c.xs, c.h_all[0], c.c_all[0], c.params),
    "losses.softmax_cross_entropy": lambda *args: rnn_checks.expected_outputs("losses.softmax_cross_entropy", _C),
    "models.bi_tagger_loss": lambda params, xs, tags, mask, **kw: models.bi_tagger_logits(
        params, xs, mask, cell=kw["cell"], merge=kw["merge"]
    ),
    "gru.gru_step_backward": lambda dh, c: gru.gru_step_forward(c.x, c.h_prev, c.params, reset_after=c.reset_after),
    "gru.gru_backward": lambda dhs, c, *rest: _gru_forward(c),
    "bidirectional.bidirectional_backward": lambda dys, c, *rest: (
        _gru_forward(c.cache_fwd),
        _gru_forward(c.cache_bwd),
    ),
}
_C = None  # the case of softmax_cross_entropy, whose forward is itself


def best(fn, case, repeats):
    """Best time of ``repeats`` calls of ``fn`` on fresh copies of the case's inputs."""
    seconds = float("inf")
    for _ in range(repeats):
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        start = time.perf_counter()
        fn(*args, **kwargs)
        seconds = min(seconds, time.perf_counter() - start)
    return seconds


def functions(notebook, names):
    """The student's functions ``names``: every code cell of ``notebook`` run in order, test cells excepted."""
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):  # what the notebook prints
        _run_cells(notebook, namespace)
    return {name: namespace[name] for name in names}


def _run_cells(notebook, namespace):
    from IPython.core.inputtransformer2 import TransformerManager

    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        source = cell.source
        if source.lstrip().startswith("%%"):
            source = source.split("\n", 1)[1]
        exec(compile(TransformerManager().transform_cell(source), "<cell>", "exec"), namespace)


def batched_lstm_seconds_per_entry(case, sequence, chunk=64):
    """The hostile corpus's batched forward (``_FD_OF_OWN_FORWARD``), one chunk of ``chunk`` copies, per entry."""
    namespace = {}
    exec(corpus._FD_BATCHED, namespace)
    steps = namespace["_steps"]
    cache = case.args[1] if sequence else case.args[2]
    params = [np.repeat(cache.params[k][None], chunk, axis=0) for k in ("W_x", "W_h", "b")]
    if sequence:
        xs, h, c = (np.repeat(v[None], chunk, axis=0) for v in (cache.xs, cache.h_all[0], cache.c_all[0]))
        start = time.perf_counter()
        for t in range(xs.shape[1]):
            h, c = steps(xs[:, t], h, c, *params)
    else:
        x, h, c = (np.repeat(v[None], chunk, axis=0) for v in (cache.x, cache.h_prev, cache.c_prev))
        start = time.perf_counter()
        steps(x, h, c, *params)
    return 2 * (time.perf_counter() - start) / chunk  # central differences: two passes per entry


def main(argv=None):
    global _C
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args(argv)
    kits = {a: Kit.load(ROOT, a) for a in sorted(set(ASSIGNMENT.values()))}
    loops = {v.name: v for v in VARIANTS if v.name in ("loops_over_batch_and_time", "magic_and_loop_over_units")}
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores, one BLAS thread\n")
    print(
        "| function | timed case | gradient entries | rnn_ref | budget | solution | with loops | "
        "numerical, black box (at least) | numerical, batched own forward |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, assignment in ASSIGNMENT.items():
        case = rnn_checks.timed_case(key, seed=0)
        if key == "losses.softmax_cross_entropy":
            _C = case
        spec = rnn_checks.spec(key)
        name = key.split(".")[-1]
        expected = rnn_checks.expected_outputs(key, case)
        entries = sum(
            a.size
            for label, value in zip(spec.outputs, expected, strict=True)
            if label and label != "loss"
            for a in rnn_checks.cases.arrays(value)
        )
        reference = best(spec.reference, case, options.repeats)
        budget = max(TIMED_FLOOR_SECONDS, TIMED_FACTOR * reference)
        kit = kits[assignment]
        solution = best(functions(kit.honest(), [name])[name], case, options.repeats)
        looped = [v for v in loops.values() if v.assignment == assignment]
        with_loops = ""
        for variant in looped:
            fn = functions(make(kit, variant), [name])[name]
            with_loops = f"{best(fn, case, options.repeats):.3f} s"
        forward = best(FORWARD[key], case, options.repeats)
        black_box = entries * forward
        batched = ""
        if key.startswith("lstm."):
            batched = f"{entries * batched_lstm_seconds_per_entry(case, key == 'lstm.lstm_backward'):.0f} s"
        print(
            f"| {name} | {case.label} | {entries:,} | {1000 * reference:.1f} ms | {budget:.1f} s | "
            f"{1000 * solution:.1f} ms | {with_loops} | {black_box:.0f} s ({black_box / budget:.0f}x the budget) | "
            f"{batched} |"
        )


if __name__ == "__main__":
    main()
