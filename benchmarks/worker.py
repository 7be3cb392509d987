"""One measurement of ``make bench``, in a process of its own.

``benchmarks/bench.py`` starts this script once per (implementation,
configuration, round), so that no two libraries ever share a process: the
thread pools of OpenBLAS (NumPy) and of OpenMP (torch) keep spinning for a
while after a call, and in a shared process they would slow down whichever
library runs next.  Three commands, each printing one line of JSON:

``time``
    Forward plus backward of one implementation (``rnn_ref``, ``naive`` or
    ``torch``) on one configuration: two warm-up calls, then as many timed
    calls as fit in ``--budget`` seconds (at least 3, at most
    ``--max-repeats``).  Reports the seconds of every call and which BLAS
    kernel and how many threads the library used.
``check``
    Runs every implementation once on the same inputs and compares outputs,
    input gradients and parameter gradients (float64 and float32).  Exits
    with status 1 and a list of every disagreement if one is found.
``peak``
    The machine's matmul speed: the best GFLOP/s of an ``(n, n) @ (n, n)``
    product with NumPy or with torch.

Only ``torch`` processes import torch.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from naive import NAIVE  # noqa: E402

from rnn_ref import bidirectional, cells, init, interop  # noqa: E402

IMPLEMENTATIONS = ("rnn_ref", "naive", "torch")
CELLS = ("rnn", "lstm", "gru", "peephole")
# torch has no peephole LSTM: its nearest equivalent, torch.nn.LSTM, stands in (same matmuls, three fewer
# elementwise terms).  The GRU is timed with reset_after=True, the variant torch.nn.GRU computes.
TORCH_MODULE = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "peephole": "LSTM"}


class AgreementError(AssertionError):
    """Two implementations computed different outputs or gradients."""


# --- the inputs ------------------------------------------------------------------------------


def make_params(cell, D, H, dtype, rng):
    """Random parameters; every entry (biases and peepholes too) is nonzero, so that none is left untested.

    Only the vectors (biases, peepholes, which the initialization sets to constants) get noise: noise of 0.1 on
    a 256 x 256 recurrent matrix gives it a spectral radius near 1.6, a chaotic tanh RNN in which float32
    rounding grows over 100 steps until two correct implementations differ by 2e-4.
    """
    params = init.init_params(cell, D, H, rng, dtype=np.float64, reset_after=cell == "gru")
    noisy = lambda value: value + rng.normal(0, 0.1, value.shape) if value.ndim == 1 else value  # noqa: E731
    return {key: noisy(value).astype(dtype) for key, value in params.items()}


def make_case(cell, bidirectional_layer, T, N, D, H, dtype, seed=0):
    """``params`` (a pair for a bidirectional layer), ``xs`` (T, N, D) and the upstream gradient ``dys``."""
    rng = np.random.default_rng(seed)
    params = make_params(cell, D, H, dtype, rng)
    if bidirectional_layer:
        params = (params, make_params(cell, D, H, dtype, rng))
    xs = rng.normal(size=(T, N, D)).astype(dtype)
    dys = rng.normal(size=(T, N, (2 if bidirectional_layer else 1) * H)).astype(dtype)
    return params, xs, dys


def cell_kwargs(cell):
    return {"reset_after": True} if cell == "gru" else {}


# --- the three implementations: each returns a function running forward + backward ----------
# Each function returns (ys, dxs, grads); grads is a dict, or a pair of dicts for a bidirectional layer.


def rnn_ref_runner(cell, bidirectional_layer, params, xs, dys):
    kwargs = cell_kwargs(cell)
    if bidirectional_layer:

        def run():
            ys, _, _, cache = bidirectional.bidirectional_forward(cell, xs, *params, **kwargs)
            dxs, _, _, grads_fwd, grads_bwd = bidirectional.bidirectional_backward(dys, cache)
            return ys, dxs, (grads_fwd, grads_bwd)

        return run

    def run():
        hs, _, cache = cells.sequence_forward(cell, xs, None, params, **kwargs)
        dxs, _, grads = cells.sequence_backward(cell, dys, cache)
        return hs, dxs, grads

    return run


def naive_runner(cell, bidirectional_layer, params, xs, dys):
    if bidirectional_layer:
        return None  # the naive baseline has no bidirectional layer
    return lambda: NAIVE[cell](xs, params, dys)


def torch_runner(cell, bidirectional_layer, params, xs, dys):
    import torch

    module_class = getattr(torch.nn, TORCH_MODULE[cell])
    tdtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[xs.dtype]
    pairs = [(params, "_l0")] if not bidirectional_layer else [(params[0], "_l0"), (params[1], "_l0_reverse")]
    H = pairs[0][0]["W_h"].shape[1]
    module = module_class(xs.shape[2], H, bidirectional=bidirectional_layer, dtype=tdtype)
    state = {}
    for p, suffix in pairs:
        if cell == "peephole":  # the LSTM part of the peephole parameters
            p = {key: p[key] for key in ("W_x", "W_h", "b")}
        state.update(interop.to_torch_layout(p, TORCH_MODULE[cell].lower(), reset_after=cell == "gru", suffix=suffix))
    module.load_state_dict({key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()})
    x = torch.from_numpy(xs.copy()).requires_grad_(True)
    dout = torch.from_numpy(dys.copy())

    def run():
        x.grad = None
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.backward(dout)
        grads = [_torch_grads(module, cell, suffix) for _, suffix in pairs]
        return out.detach().numpy(), x.grad.numpy(), grads[0] if len(grads) == 1 else tuple(grads)

    def run_timed():  # the same work, without copying the gradients out
        out, _ = module(x)
        out.backward(dout)
        x.grad = None
        module.zero_grad(set_to_none=True)

    run.timed = run_timed
    run.module, run.x, run.dout = module, x, dout
    return run


def _torch_grads(module, cell, suffix):
    """Parameter gradients of a torch module in rnn_ref's layout (b = bias_ih + bias_hh, so db = dbias_ih)."""
    g = {name: getattr(module, f"{name}{suffix}").grad.numpy() for name in ("weight_ih", "weight_hh", "bias_ih")}
    grads = {"W_x": g["weight_ih"], "W_h": g["weight_hh"], "b": g["bias_ih"]}
    if cell == "gru":  # b_hn is bias_hh's candidate block, which sits inside r * (W_hn h + b_hn)
        grads["b_hn"] = getattr(module, f"bias_hh{suffix}").grad.numpy()[2 * g["weight_hh"].shape[1] :]
    return grads


RUNNERS = {"rnn_ref": rnn_ref_runner, "naive": naive_runner, "torch": torch_runner}


# --- what each library runs on -----------------------------------------------------------------


def numpy_library():
    """NumPy's version and its BLAS: kernel (OpenBLAS's CPU target) and threads, from threadpoolctl."""
    info = {"library": f"NumPy {np.__version__}"}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["blas"] = "unknown BLAS (pip install threadpoolctl)"
        return info
    blas = [entry for entry in threadpool_info() if entry.get("user_api") == "blas"]
    if blas:
        entry = blas[0]
        info["blas"] = f"{entry['internal_api']} {entry.get('version')}"
        info["kernel"] = entry.get("architecture") or "unknown"
        info["threads"] = entry["num_threads"]
        info["threading"] = entry.get("threading_layer", "unknown")
    else:
        info["blas"] = "no BLAS found"
    return info


def torch_library(run=None):
    """torch's version, threads, BLAS and oneDNN versions, and which kernel ran (from the autograd graph)."""
    import torch

    config = torch.__config__.show()
    info = {"library": f"torch {torch.__version__}", "threads": torch.get_num_threads()}
    for line in config.splitlines():
        line = line.strip(" -")
        if line.startswith("Intel(R) oneAPI Math Kernel Library Version"):
            info["blas"] = "MKL " + line.split("Version")[1].split("-")[0].strip()
        elif line.startswith("Intel(R) MKL-DNN") or line.startswith("Intel(R) oneDNN"):
            info["onednn"] = "oneDNN " + line.split()[2]
        elif line.startswith("CPU capability usage:"):
            info["kernel"] = line.split(":", 1)[1].strip()
        elif line.startswith("Build settings:") and "blas" not in info:
            for setting in line.split(":", 1)[1].split(","):
                if setting.strip().startswith("BLAS_INFO="):
                    info["blas"] = setting.split("=", 1)[1]
    info["threading"] = "OpenMP" if "OpenMP" in torch.__config__.parallel_info() else "unknown"
    if run is not None:
        info["path"] = _torch_path(run)
    return info


def _torch_path(run):
    """Which code torch ran: oneDNN's fused RNN layer, or ATen's ops step by step (read off the autograd graph)."""
    out, _ = run.module(run.x)
    names, seen, stack = set(), set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(node.name())
        stack.extend(next_node for next_node, _ in node.next_functions)
    return "oneDNN fused" if any("Mkldnn" in name for name in names) else "ATen ops"


# --- the three commands --------------------------------------------------------------------------


def command_time(args):
    dtype = np.dtype(args.dtype)
    params, xs, dys = make_case(args.cell, args.bidirectional, args.T, args.N, args.D, args.H, dtype)
    run = RUNNERS[args.impl](args.cell, args.bidirectional, params, xs, dys)
    if run is None:
        raise SystemExit(f"{args.impl} has no bidirectional layer")
    library = torch_library(run) if args.impl == "torch" else numpy_library()
    call = getattr(run, "timed", run)
    for _ in range(2):  # warm-up: first-call costs (allocator, thread pools, oneDNN's kernel generation)
        call()
    gc.collect()
    gc.disable()  # as timeit does: a collection inside one call would charge it to whichever library ran
    times, deadline = [], time.perf_counter() + args.budget
    while len(times) < args.max_repeats and (len(times) < 3 or time.perf_counter() < deadline):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    gc.enable()
    return {"median": statistics.median(times), "times": times, **library}


def command_peak(args):
    """Best GFLOP/s of an (n, n) @ (n, n) matmul, over a few calls after a warm-up."""
    n, dtype = args.n, np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, n)).astype(dtype), rng.normal(size=(n, n)).astype(dtype)
    if args.lib == "torch":
        import torch

        a, b = torch.from_numpy(a), torch.from_numpy(b)
        out = torch.empty_like(a)
        product, library = (lambda: torch.matmul(a, b, out=out)), torch_library()
    else:
        out = np.empty_like(a)
        product, library = (lambda: np.matmul(a, b, out=out)), numpy_library()
    product()
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * n**3 / best / 1e9, **library}


def max_relative_error(actual, expected):
    """``max |actual - expected| / max |expected|``: one number per array, independent of its scale."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    scale = np.abs(expected).max() if expected.size else 0.0
    return float(np.abs(actual - expected).max() / scale) if scale > 0 else float(np.abs(actual).max(initial=0))


TOLERANCE = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}


def compare(label, results, reference, dtype):
    """Errors of ``results`` against ``reference`` (both ``(ys, dxs, grads)``) as ``(name, error, tolerance)``."""
    ys, dxs, grads = results
    ys_ref, dxs_ref, grads_ref = reference
    if isinstance(grads, dict):
        grads, grads_ref = (grads,), (grads_ref,)
    rows = [(f"{label}: ys", max_relative_error(ys, ys_ref)), (f"{label}: dxs", max_relative_error(dxs, dxs_ref))]
    for direction, (ours, theirs) in enumerate(zip(grads, grads_ref, strict=True)):
        prefix = "" if len(grads) == 1 else ("forward " if direction == 0 else "backward ")
        if sorted(ours) != sorted(theirs):
            rows.append((f"{label}: {prefix}grads keys {sorted(ours)} vs {sorted(theirs)}", float("inf")))
            continue
        rows += [(f"{label}: {prefix}d{key}", max_relative_error(ours[key], theirs[key])) for key in theirs]
    return [(name, error, TOLERANCE[dtype]) for name, error in rows]


def check_case(cell, bidirectional_layer, T, N, D, H, dtype, implementations=IMPLEMENTATIONS):
    """Every implementation against rnn_ref on one case; returns ``(name, error, tolerance)`` rows."""
    dtype = np.dtype(dtype)
    params, xs, dys = make_case(cell, bidirectional_layer, T, N, D, H, dtype, seed=1)
    name = f"{'bi' if bidirectional_layer else ''}{cell} T={T} N={N} D={D} H={H} {dtype.name}"
    reference = rnn_ref_runner(cell, bidirectional_layer, params, xs, dys)()
    rows = []
    if "naive" in implementations and not bidirectional_layer:
        rows += compare(f"{name}, naive vs rnn_ref", naive_runner(cell, False, params, xs, dys)(), reference, dtype)
    if "torch" in implementations:
        if cell == "peephole":
            # torch.nn.LSTM stands in for the peephole LSTM in the timings: with zero peepholes the two agree
            no_peepholes = [{**p, **{key: 0 * p[key] for key in ("p_i", "p_f", "p_o")}} for p in _pairs(params)]
            params = no_peepholes[0] if not bidirectional_layer else tuple(no_peepholes)
            reference = rnn_ref_runner(cell, bidirectional_layer, params, xs, dys)()
            reference = (*reference[:2], _drop_peepholes(reference[2]))
            name += " (zero peepholes)"
        theirs = torch_runner(cell, bidirectional_layer, params, xs, dys)()
        rows += compare(f"{name}, torch vs rnn_ref", theirs, reference, dtype)
    return rows


def _pairs(params):
    return params if isinstance(params, tuple) else (params,)


def _drop_peepholes(grads):
    drop = lambda g: {key: value for key, value in g.items() if not key.startswith("p_")}  # noqa: E731
    return drop(grads) if isinstance(grads, dict) else tuple(drop(g) for g in grads)


def check_agreement(cases, implementations=IMPLEMENTATIONS):
    """Check every case; raise AgreementError listing every disagreement, else return the worst error per dtype."""
    worst, failures = {}, []
    for case in cases:
        dtype = np.dtype(case[-1]).name
        for name, error, tolerance in check_case(*case, implementations=implementations):
            worst[dtype] = max(worst.get(dtype, 0.0), error)
            if not error <= tolerance:
                failures.append(f"{name}: relative error {error:.2e} > {tolerance:.0e}")
    if failures:
        raise AgreementError("the implementations disagree:\n  " + "\n  ".join(failures))
    return worst


def command_check(args):
    implementations = [impl for impl in IMPLEMENTATIONS if impl != "torch" or args.torch]
    cases = [tuple(json.loads(case)) for case in args.case]
    try:
        worst = check_agreement(cases, implementations)
    except AgreementError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1) from None
    return {"worst": worst, "cases": len(cases), "implementations": implementations}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("time", help="time one implementation on one configuration")
    timing.add_argument("--impl", choices=IMPLEMENTATIONS, required=True)
    timing.add_argument("--cell", choices=CELLS, required=True)
    timing.add_argument("--bidirectional", action="store_true")
    for size in ("T", "N", "D", "H"):
        timing.add_argument(f"--{size}", type=int, required=True)
    timing.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    timing.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls (at least 3 calls)")
    timing.add_argument("--max-repeats", type=int, default=200)
    peak = commands.add_parser("peak", help="matmul GFLOP/s of NumPy or torch")
    peak.add_argument("--lib", choices=("numpy", "torch"), required=True)
    peak.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    peak.add_argument("--n", type=int, default=2048)
    peak.add_argument("--repeats", type=int, default=5)
    check = commands.add_parser("check", help="check that the implementations agree")
    check.add_argument("--case", action="append", required=True, help='JSON: ["lstm", false, T, N, D, H, "float32"]')
    check.add_argument("--no-torch", dest="torch", action="store_false")
    args = parser.parse_args(argv)
    result = {"time": command_time, "peak": command_peak, "check": command_check}[args.command](args)
    result["pid"] = os.getpid()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
