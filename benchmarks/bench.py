"""Forward plus backward of rnn_ref against a naive implementation and torch.nn, side by side.

Run with ``make bench`` (or ``python benchmarks/bench.py``).  Every configuration is
timed in one process with the implementations interleaved (ours, naive, torch,
ours, naive, torch, ...) and the median reported, so that a slow phase of the
machine hurts all three alike.  The script prints a Markdown table; the README's
performance section is a copy of it.

GFLOP/s counts the matmuls only: the forward pass does ``2 T N G H (D + H)``
multiply-adds-as-flops and the backward pass twice that (input and weight
gradients), so ``6 T N G H (D + H)`` per direction.  The peak is the best
single matmul of a similar shape measured on this machine in the same dtype.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from naive import NAIVE  # noqa: E402

from rnn_ref import bidirectional, cells, init  # noqa: E402

LARGE = dict(T=100, N=64, D=128, H=256)
SMALL = dict(T=20, N=8, D=16, H=32)


def make_case(cell, size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    reset_after = cell == "gru"
    params = init.init_params(cell, size["D"], size["H"], rng, dtype=dtype, reset_after=reset_after)
    params = {key: (value + rng.normal(0, 0.01, value.shape)).astype(dtype) for key, value in params.items()}
    xs = rng.normal(size=(size["T"], size["N"], size["D"])).astype(dtype)
    dhs = rng.normal(size=(size["T"], size["N"], size["H"])).astype(dtype)
    return params, xs, dhs, ({"reset_after": True} if reset_after else {})


def ours_fn(cell, params, xs, dhs, kwargs):
    def run():
        hs, _, cache = cells.sequence_forward(cell, xs, None, params, **kwargs)
        cells.sequence_backward(cell, dhs, cache)

    return run


def ours_bidirectional_fn(cell, params, xs, dhs, kwargs):
    dys = np.concatenate([dhs, dhs], axis=-1)

    def run():
        *_, cache = bidirectional.bidirectional_forward(cell, xs, params, params, **kwargs)
        bidirectional.bidirectional_backward(dys, cache)

    return run


def torch_fn(torch, cell, params, xs, dhs, bidirectional_layer=False):
    from rnn_ref import interop

    module_class = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    dtype = torch.float32 if xs.dtype == np.float32 else torch.float64
    module = module_class(xs.shape[2], params["W_h"].shape[1], bidirectional=bidirectional_layer, dtype=dtype)
    state = interop.to_torch_layout(params, cell, reset_after=cell == "gru")
    if bidirectional_layer:
        state.update(interop.to_torch_layout(params, cell, reset_after=cell == "gru", suffix="_l0_reverse"))
    module.load_state_dict({key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()})
    x = torch.from_numpy(xs).requires_grad_(True)
    dout = torch.from_numpy(np.concatenate([dhs, dhs], axis=-1) if bidirectional_layer else dhs)

    def run():
        out, _ = module(x)
        out.backward(dout)
        x.grad = None
        module.zero_grad(set_to_none=True)

    return run


def naive_fn(cell, params, xs, dhs):
    return lambda: NAIVE[cell](xs, params, dhs)


def interleaved_medians(functions, repeats):
    """Median seconds of each function, timed round-robin after one warm-up call each."""
    for run in functions.values():
        run()
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, run in functions.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def matmul_peak(dtype, repeats=7):
    """Best GFLOP/s of one (6400, 384) @ (384, 1024) matmul: the shape of the LSTM's batched products."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6400, 384)).astype(dtype)
    b = rng.normal(size=(384, 1024)).astype(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * 6400 * 384 * 1024 / best / 1e9


def _timed(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def flops(cell, size, directions=1):
    G = cells.get_cell(cell).n_gates
    return 6 * size["T"] * size["N"] * G * size["H"] * (size["D"] + size["H"]) * directions


def check_naive_agrees():
    """The baseline must compute the same thing, or the comparison means nothing."""
    size = dict(T=5, N=3, D=4, H=6)
    for cell in NAIVE:
        params, xs, dhs, kwargs = make_case(cell, size, np.float64)
        hs, _, cache = cells.sequence_forward(cell, xs, None, params, **kwargs)
        dxs, _, grads = cells.sequence_backward(cell, dhs, cache)
        hs_naive, dxs_naive, grads_naive = NAIVE[cell](xs, params, dhs)
        np.testing.assert_allclose(hs_naive, hs, atol=1e-12)
        np.testing.assert_allclose(dxs_naive, dxs, atol=1e-12)
        for key in grads:
            np.testing.assert_allclose(grads_naive[key], grads[key], atol=1e-11, err_msg=f"{cell} {key}")


def blas_kernel():
    """Which BLAS and which CPU kernel NumPy runs, e.g. "openblas 0.3.31 (SkylakeX, 2 threads)"."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS kernel unknown (pip install threadpoolctl)"
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not blas:
        return "no BLAS found"
    info = blas[0]
    return f"{info['internal_api']} {info.get('version')} ({info.get('architecture')}, {info['num_threads']} threads)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per implementation (median reported)")
    parser.add_argument("--quick", action="store_true", help="3 repeats, for a smoke test")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats

    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: its column is empty (pip install -e '.[test]')", file=sys.stderr)
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    check_naive_agrees()

    peaks = {np.float32: matmul_peak(np.float32), np.float64: matmul_peak(np.float64)}
    rows = []
    configs = [(cell, "large", LARGE, np.float32, False) for cell in ("rnn", "lstm", "gru", "peephole")]
    configs += [(cell, "large", LARGE, np.float64, False) for cell in ("rnn", "lstm", "gru")]
    configs += [(cell, "small", SMALL, np.float32, False) for cell in ("rnn", "lstm", "gru")]
    configs += [(cell, "large", LARGE, np.float32, True) for cell in ("rnn", "lstm", "gru")]
    for cell, size_name, size, dtype, bidi in configs:
        params, xs, dhs, kwargs = make_case(cell, size, dtype)
        functions = {}
        if bidi:
            functions["rnn_ref"] = ours_bidirectional_fn(cell, params, xs, dhs, kwargs)
        else:
            functions["rnn_ref"] = ours_fn(cell, params, xs, dhs, kwargs)
            if cell in NAIVE:
                functions["naive"] = naive_fn(cell, params, xs, dhs)
        if torch is not None and cell != "peephole":
            functions["torch"] = torch_fn(torch, cell, params, xs, dhs, bidirectional_layer=bidi)
        medians = interleaved_medians(functions, repeats)
        gflops = flops(cell, size, 2 if bidi else 1) / medians["rnn_ref"] / 1e9
        rows.append(
            {
                "cell": ("bi" if bidi else "") + cell + (" (reset_after)" if cell == "gru" else ""),
                "size": size_name,
                "dtype": np.dtype(dtype).name,
                "rnn_ref": medians["rnn_ref"],
                "naive": medians.get("naive"),
                "torch": medians.get("torch"),
                "gflops": gflops,
                "peak": peaks[dtype],
            }
        )
        print(f"  measured {rows[-1]['cell']} {size_name} {rows[-1]['dtype']}", file=sys.stderr)

    def ms(value):
        return "" if value is None else f"{value * 1e3:.1f}"

    print(
        f"Forward + backward, median of {repeats} interleaved runs; {threads} cores, {platform.machine()}, "
        f"NumPy {np.__version__} with {blas_kernel()}" + (f", torch {torch.__version__}" if torch is not None else "")
    )
    print(
        "large: T=100, N=64, D=128, H=256; small: T=20, N=8, D=16, H=32; "
        f"matmul peak float32 {peaks[np.float32]:.0f} GFLOP/s, float64 {peaks[np.float64]:.0f} GFLOP/s"
    )
    print()
    columns = ["cell", "size", "dtype", "rnn_ref ms", "naive ms", "torch ms", "rnn_ref / torch", "naive / rnn_ref"]
    print("| " + " | ".join(columns) + " | GFLOP/s (% of peak) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        ratio = f"{row['rnn_ref'] / row['torch']:.2f}" if row["torch"] else ""
        speedup = f"{row['naive'] / row['rnn_ref']:.1f}" if row["naive"] else ""
        print(
            f"| {row['cell']} | {row['size']} | {row['dtype']} | {ms(row['rnn_ref'])} | {ms(row['naive'])} | "
            f"{ms(row['torch'])} | {ratio} | {speedup} | "
            f"{row['gflops']:.1f} ({100 * row['gflops'] / row['peak']:.0f}%) |"
        )
    large = [
        r["rnn_ref"] / r["torch"]
        for r in rows
        if r["torch"] and r["size"] == "large" and r["dtype"] == "float32" and not r["cell"].startswith("bi")
    ]
    if large:
        print()
        print(f"Worst rnn_ref / torch ratio at the large size, float32 (RNN, LSTM, GRU): {max(large):.2f}")


if __name__ == "__main__":
    main()
