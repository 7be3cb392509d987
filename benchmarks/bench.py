"""``make bench``: forward + backward of rnn_ref against a naive NumPy version and torch.nn.

Each measurement runs in a process of its own (``benchmarks/worker.py``), never
two libraries in one process: OpenBLAS's and OpenMP's thread pools keep
spinning after a call and would slow whichever library ran next.  The driver
(this script, which imports neither NumPy's BLAS-heavy code nor torch) first
has a worker check that the implementations agree, and stops if they do not;
then it measures the machine's matmul peak, then it starts one worker per
(implementation, configuration, round), alternating the implementations and
rotating their order from round to round, so that a slow phase of the shared
machine falls on all of them alike.  Each worker times calls for about
``--budget`` seconds after two warm-up calls and reports its median; a table
cell is the median over the rounds, with the spread (min-max) over the rounds.
A ratio is taken round by round (two processes started one after the other)
and its median reported.  Last, it measures how the cost of the LSTM grows
with T and with H and draws ``benchmarks/scaling.svg``.

Every worker also reports which BLAS kernel and how many threads its library
used, and the driver records how much CPU time other processes took while the
worker ran (from ``/proc/stat``): the machine is shared, and a busy neighbour
slows a library that uses both cores.  ``--wait-idle`` makes it wait for a
quiet second before each worker.

Options: ``--quick`` (tiny sizes, one round, a smoke test), ``--rounds``,
``--budget``, ``--no-scaling``, ``--scaling-rounds``, ``--figure``, ``--json``,
``--wait-idle``.  Run as ``make bench BENCH_ARGS="--rounds 3 --no-scaling"``.

GFLOP/s count the matmuls only: ``2 T N G H (D + H)`` flops forward and twice
that backward (input and weight gradients), so ``6 T N G H (D + H)`` per
direction; the peak is the best ``(n, n) @ (n, n)`` product of NumPy or torch
on this machine, in the same dtype.
"""

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "peephole": 4}
NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU (reset_after)", "peephole": "peephole LSTM"}

SIZES = {
    "full": {
        "large": dict(T=100, N=64, D=128, H=256),
        "small": dict(T=20, N=8, D=16, H=32),
        "T": [dict(T=T, N=64, D=128, H=256) for T in (10, 30, 100, 300, 1000)],
        "H": [dict(T=100, N=64, D=128, H=H) for H in (32, 64, 128, 256, 512, 1024)],
        "peak_n": 2048,
    },
    "quick": {
        "large": dict(T=6, N=4, D=5, H=8),
        "small": dict(T=3, N=2, D=3, H=4),
        "T": [dict(T=T, N=2, D=3, H=4) for T in (2, 4)],
        "H": [dict(T=3, N=2, D=3, H=H) for H in (4, 8)],
        "peak_n": 128,
    },
}


def table_configs(sizes):
    """(cell, bidirectional, size name, dtype) of every row of the table."""
    configs = []
    for size in ("large", "small"):
        configs += [(cell, False, size, "float32") for cell in GATES]
        configs += [(cell, True, size, "float32") for cell in ("rnn", "lstm", "gru")]
    configs += [(cell, False, "large", "float64") for cell in ("rnn", "lstm", "gru")]
    return configs


def flops(cell, bidirectional, size):
    """Matmul flops of forward + backward: ``6 T N G H (D + H)`` per direction."""
    G = GATES[cell]
    return 6 * size["T"] * size["N"] * G * size["H"] * (size["D"] + size["H"]) * (2 if bidirectional else 1)


# --- running workers --------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker process failed: its command and error output are in the message."""


def cpu_ticks():
    """Busy and total CPU clock ticks of the whole machine since boot (Linux ``/proc/stat``), or None."""
    try:
        values = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


def children_ticks():
    """CPU time used so far by this process's finished children, in clock ticks."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * os.sysconf("SC_CLK_TCK")


def others_share(before, after, ours):
    """The share of the machine's CPU time that other processes used between two ``cpu_ticks`` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return max(0.0, (after[0] - before[0] - ours) / (after[1] - before[1]))


def wait_until_idle(limit):
    """Wait up to ``limit`` seconds for a second in which other processes use under 10% of the CPU."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = cpu_ticks()
        time.sleep(1)
        share = others_share(before, cpu_ticks(), 0)
        if share is None or share < 0.1:
            return True
    return False


def run_worker(*args, wait_idle=0):
    """Run ``worker.py args`` in a fresh interpreter and return its JSON answer.

    The answer also says how busy the rest of the machine was meanwhile:
    ``others`` is the share of all CPU time used by processes other than the
    worker (None where ``/proc/stat`` is not available).
    """
    command = [sys.executable, str(WORKER), *map(str, args)]
    idle = wait_until_idle(wait_idle) if wait_idle else None
    before, ours = cpu_ticks(), children_ticks()
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    others = others_share(before, cpu_ticks(), children_ticks() - ours)
    if done.returncode != 0:
        raise WorkerError(f"{' '.join(command[1:])} failed (exit {done.returncode}):\n{done.stderr.strip()}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "others": others, "waited_for_idle": idle}


def time_one(impl, cell, bidirectional, size, dtype, budget, wait_idle=0):
    args = ["time", "--impl", impl, "--cell", cell, "--dtype", dtype, "--budget", budget]
    args += [item for key in "TNDH" for item in (f"--{key}", size[key])]
    return run_worker(*args, *(["--bidirectional"] if bidirectional else []), wait_idle=wait_idle)


def implementations(cell, bidirectional, have_torch):
    impls = ["rnn_ref"] + ([] if bidirectional else ["naive"]) + (["torch"] if have_torch else [])
    return impls


def rotated(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def log(message):
    print(message, file=sys.stderr, flush=True)


# --- the steps ---------------------------------------------------------------------------------


def check(sizes, configs, have_torch):
    """Every configuration of the table at its own size and dtype, and every layer at a tiny size in float64."""
    cases = [[cell, bidirectional, *sizes[size].values(), dtype] for cell, bidirectional, size, dtype in configs]
    cases += [[cell, bidirectional, 5, 3, 4, 6, "float64"] for cell in GATES for bidirectional in (False, True)]
    args = ["check"] + [item for case in cases for item in ("--case", json.dumps(case))]
    return run_worker(*args, *([] if have_torch else ["--no-torch"]))


def peaks(sizes, have_torch, rounds):
    """Best matmul GFLOP/s per dtype over NumPy and torch, with who reached it."""
    best = {}
    libs = ["numpy"] + (["torch"] if have_torch else [])
    for round_ in range(rounds):
        for dtype in ("float32", "float64"):
            for lib in rotated(libs, round_):
                result = run_worker("peak", "--lib", lib, "--dtype", dtype, "--n", sizes["peak_n"])
                if result["gflops"] > best.get(dtype, (0,))[0]:
                    best[dtype] = (result["gflops"], lib)
    return best


def measure(jobs, rounds, budget, label, wait_idle=0):
    """Time every (key, impl, cell, bidirectional, size, dtype) job once per round, alternating implementations.

    Returns ``{key: {impl: [worker result of round 0, round 1, ...]}}``.
    """
    results = {}
    by_key = {}
    for key, impl, *rest in jobs:
        by_key.setdefault(key, {})[impl] = rest
    for round_ in range(rounds):
        start = time.perf_counter()
        for key, impls in by_key.items():
            for impl in rotated(list(impls), round_):
                result = time_one(impl, *impls[impl], budget, wait_idle)
                results.setdefault(key, {}).setdefault(impl, []).append(result)
        log(f"{label}: round {round_ + 1}/{rounds} took {time.perf_counter() - start:.0f} s")
    return results


def summary(results, impl):
    """Median over the rounds of each process's median call, and the min and max over the rounds."""
    medians = [result["median"] for result in results[impl]]
    return statistics.median(medians), min(medians), max(medians)


def round_ratios(results, numerator, denominator):
    """``numerator / denominator`` round by round: the median, the min and the max."""
    ratios = [a["median"] / b["median"] for a, b in zip(results[numerator], results[denominator], strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def ms(stats, spread=True):
    if stats is None:
        return ""
    median, low, high = (value * 1e3 for value in stats)
    digits = 2 if median < 10 else 1
    return f"{median:.{digits}f}" + (f" ({low:.{digits}f}–{high:.{digits}f})" if spread else "")


def percent(gflop, stats, peak):
    """The fraction of the matmul peak reached by ``gflop`` of matmuls in the median time of ``stats``."""
    return "" if stats is None else f"{100 * gflop / stats[0] / peak[0]:.0f}%"


def ratio(stats):
    return "" if stats is None else f"{stats[0]:.2f} ({stats[1]:.2f}–{stats[2]:.2f})"


def libraries_line(results):
    """One line per library saying which BLAS kernel and how many threads every worker reported."""
    seen = {"numpy": set(), "torch": set()}
    for per_impl in results.values():
        for impl, runs in per_impl.items():
            for r in runs:
                if impl == "torch":
                    seen["torch"].add(
                        f"{r['library']}, {r['threads']} {r['threading']} threads, BLAS {r.get('blas', '?')}, "
                        f"{r.get('onednn', 'no oneDNN')}, CPU capability {r.get('kernel', '?')}"
                    )
                else:
                    threads = f", {r['threads']} {r['threading']} threads" if "threads" in r else ""
                    seen["numpy"].add(f"{r['library']}, {r['blas']} ({r.get('kernel', '?')} kernel{threads})")
    lines = [f"rnn_ref and naive: {'; '.join(sorted(seen['numpy']))}"]
    if seen["torch"]:
        lines.append(f"torch: {'; '.join(sorted(seen['torch']))}")
    return lines


def load_line(results, wait_idle):
    """How busy the rest of the machine was while the workers ran."""
    runs = [r for per_impl in results.values() for rs in per_impl.values() for r in rs]
    shares = sorted(r["others"] for r in runs if r.get("others") is not None)
    if not shares:
        return "Load from other processes during the runs: unknown (no /proc/stat)"
    line = (
        f"Load from other processes during the runs: median {100 * statistics.median(shares):.0f}%, "
        f"max {100 * shares[-1]:.0f}% of the machine's CPU time"
    )
    if wait_idle:
        waited = sum(1 for r in runs if r.get("waited_for_idle"))
        line += f"; {waited} of {len(runs)} runs started after an idle second (waited up to {wait_idle:.0f} s)"
    return line


def machine_line():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " (" + line.split(":", 1)[1].strip() + ")"
                break
    except OSError:
        pass
    return (
        f"Machine: {os.cpu_count()} CPUs{model}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def print_table(sizes, configs, results, peak):
    print(
        "| layer | size | dtype | rnn_ref ms | naive ms | torch ms | torch runs | rnn_ref / torch "
        "| naive / rnn_ref | rnn_ref % of peak | torch % of peak |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    worst = {}
    for config in configs:
        cell, bidirectional, size, dtype = config
        per_impl = results[config]
        ours = summary(per_impl, "rnn_ref")
        naive = summary(per_impl, "naive") if "naive" in per_impl else None
        torch = summary(per_impl, "torch") if "torch" in per_impl else None
        vs_torch = round_ratios(per_impl, "rnn_ref", "torch") if torch else None
        vs_naive = round_ratios(per_impl, "naive", "rnn_ref") if naive else None
        work = flops(cell, bidirectional, sizes[size]) / 1e9
        name = ("Bi" if bidirectional else "") + NAMES[cell] + (" ¹" if cell == "peephole" else "")
        path = per_impl["torch"][0].get("path", "") if torch else ""
        print(
            f"| {name} | {size} | {dtype} | {ms(ours)} | {ms(naive)} | {ms(torch)} | {path} | {ratio(vs_torch)} | "
            f"{'' if vs_naive is None else f'{vs_naive[0]:.1f}'} | {percent(work, ours, peak[dtype])} | "
            f"{percent(work, torch, peak[dtype])} |"
        )
        if vs_torch and dtype == "float32":
            group = "LSTM, peephole, BiLSTM" if cell in ("lstm", "peephole") else "RNN, GRU, BiRNN, BiGRU"
            worst.setdefault((group, size), []).append((vs_torch[0], name))
    print()
    print(
        "¹ torch has no peephole LSTM: its column is torch.nn.LSTM, the nearest equivalent (the same matmuls, "
        "three fewer elementwise products per step)."
    )
    print()
    for (group, size), values in sorted(worst.items()):
        value, name = max(values)
        print(f"Worst rnn_ref / torch, {group}, {size}, float32: {value:.2f} ({name})")


def print_scaling(points, results, peak):
    print("| T | N | D | H | rnn_ref ms | torch ms | rnn_ref / torch | rnn_ref % of peak | torch % of peak |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in points:
        per_impl = results[key]
        work = flops("lstm", False, dict(zip("TNDH", key, strict=True))) / 1e9
        ours = summary(per_impl, "rnn_ref")
        torch = summary(per_impl, "torch") if "torch" in per_impl else None
        vs_torch = round_ratios(per_impl, "rnn_ref", "torch") if torch else None
        cells = [*map(str, key), ms(ours), ms(torch), ratio(vs_torch)]
        cells += [percent(work, ours, peak["float32"]), percent(work, torch, peak["float32"])]
        print(f"| {' | '.join(cells)} |")


def draw_figure(sizes, results, peak, path):
    """Time and fraction of the matmul peak against T and against H, rnn_ref and torch, as an SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    plt.rcParams["svg.hashsalt"] = "rnn-course-bench"  # the same data gives the same file
    figure, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharex="col", layout="constrained")
    for column, (axis_name, points) in enumerate((("T", sizes["T"]), ("H", sizes["H"]))):
        for impl, style in (("rnn_ref", "o-"), ("torch", "s--")):
            keys = [tuple(p.values()) for p in points if impl in results[tuple(p.values())]]
            if not keys:
                continue
            x = [dict(zip("TNDH", key, strict=True))[axis_name] for key in keys]
            stats = [summary(results[key], impl) for key in keys]
            median = [s[0] * 1e3 for s in stats]
            errors = [[(s[0] - s[1]) * 1e3 for s in stats], [(s[2] - s[0]) * 1e3 for s in stats]]
            axes[0, column].errorbar(x, median, yerr=errors, fmt=style, capsize=3, label=impl)
            work = [flops("lstm", False, dict(zip("TNDH", key, strict=True))) / 1e9 for key in keys]
            fraction = [100 * w / s[0] / peak["float32"][0] for w, s in zip(work, stats, strict=True)]
            axes[1, column].plot(x, fraction, style, label=impl)
        fixed = ", ".join(f"{k}={v}" for k, v in points[0].items() if k != axis_name)
        axes[0, column].set(xscale="log", yscale="log", ylabel="forward + backward (ms)", title=f"LSTM, {fixed}")
        axes[1, column].set(xscale="log", xlabel=axis_name, ylabel="% of matmul peak", ylim=(0, None))
        axes[0, column].legend()
        for row in (0, 1):
            axis = axes[row, column]
            axis.set_xticks([p[axis_name] for p in points])  # the measured sizes, written out
            axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
            axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            axis.grid(True, which="major", alpha=0.3)
        axes[0, column].yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        axes[0, column].yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axes[0, column].yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    figure.suptitle(f"float32; matmul peak {peak['float32'][0]:.0f} GFLOP/s; median and min-max over rounds")
    figure.savefig(path, metadata={"Date": None, "Creator": None})
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke test (~1 minute)")
    parser.add_argument("--rounds", type=int, help="rounds of the table (default 5; 1 with --quick)")
    parser.add_argument("--budget", type=float, help="seconds of timed calls per process (default 1; 0.05 quick)")
    parser.add_argument("--no-scaling", dest="scaling", action="store_false", help="skip the figure")
    parser.add_argument("--scaling-rounds", type=int, help="rounds of the scaling runs (default 3; 1 with --quick)")
    parser.add_argument("--figure", type=Path, default=HERE / "scaling.svg", help="where to write the figure")
    parser.add_argument("--json", type=Path, help="also write every worker's raw result here")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each process, wait up to this long for a second in which other processes use under 10%% "
        "of the CPU (default 0: do not wait)",
    )
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    rounds = args.rounds or (1 if args.quick else 5)
    scaling_rounds = args.scaling_rounds or (1 if args.quick else 3)
    budget = args.budget or (0.05 if args.quick else 1.0)
    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        log("torch is not installed: its columns stay empty (pip install -e '.[test]')")

    configs = table_configs(sizes)
    started = time.perf_counter()
    log("checking that the implementations agree ...")
    try:
        agreement = check(sizes, configs, have_torch)
    except WorkerError as error:
        log(f"the implementations disagree: nothing is timed.\n{error}")
        return 1
    peak = peaks(sizes, have_torch, rounds=min(rounds, 2))
    jobs = [
        (config, impl, config[0], config[1], sizes[config[2]], config[3])
        for config in configs
        for impl in implementations(config[0], config[1], have_torch)
    ]
    results = measure(jobs, rounds, budget, "table", args.wait_idle)
    scaling = {}
    if args.scaling:
        points = {tuple(size.values()): size for size in sizes["T"] + sizes["H"]}
        impls = ["rnn_ref"] + (["torch"] if have_torch else [])
        jobs = [(key, impl, "lstm", False, size, "float32") for key, size in points.items() for impl in impls]
        scaling = measure(jobs, scaling_rounds, budget, "scaling", args.wait_idle)

    large, small = sizes["large"], sizes["small"]
    print(
        f"Forward + backward of one layer. Every (implementation, configuration) pair runs in a process of its own, "
        f"{rounds} round{'s' if rounds > 1 else ''}, implementations alternated; a time is the median over the "
        "rounds of each process's median call (min–max over the rounds in parentheses), a ratio the median of "
        "the round-by-round ratios (min–max)."
    )
    print()
    print(f"- {machine_line()}")
    for line in libraries_line({**results, **scaling}):
        print(f"- {line}")
    print(f"- {load_line({**results, **scaling}, args.wait_idle)}")
    print(
        "- Matmul peak, best (n, n) @ (n, n) of NumPy and torch: "
        + ", ".join(f"{dtype} {value:.0f} GFLOP/s ({lib})" for dtype, (value, lib) in peak.items())
    )
    worst = ", ".join(f"{dtype} {error:.0e}" for dtype, error in agreement["worst"].items())
    print(
        f"- Agreement, checked before timing: outputs, input gradients and parameter gradients of "
        f"{', '.join(agreement['implementations'])} agree on every configuration (largest relative error {worst})"
    )
    print(
        f"- large: {', '.join(f'{k}={v}' for k, v in large.items())}; small: "
        f"{', '.join(f'{k}={v}' for k, v in small.items())}"
    )
    print()
    print_table(sizes, configs, results, peak)
    if args.scaling:
        print()
        print(f"How the cost of the LSTM grows (float32, {scaling_rounds} round{'s' if scaling_rounds > 1 else ''}):")
        print()
        print_scaling(list(scaling), scaling, peak)
        draw_figure(sizes, scaling, peak, args.figure)
        log(f"figure written to {args.figure}")
    if args.json:
        raw = {
            "table": {json.dumps(k): v for k, v in results.items()},
            "scaling": {json.dumps(k): v for k, v in scaling.items()},
            "peak": peak,
            "agreement": agreement,
        }
        args.json.write_text(json.dumps(raw, indent=1))
    log(f"make bench took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
