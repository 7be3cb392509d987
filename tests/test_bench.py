"""``make bench`` in its quick mode: the structure of what it prints, never its timings.

The numbers of the benchmark are claims about one machine and are reported, not
asserted; what is tested here is that the benchmark measures what it says:
every measurement in a process of its own, every configuration in the table,
the BLAS kernel and threads reported, and the agreement check run first and
failing loudly when two implementations disagree.
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def load(name):
    """Import ``benchmarks/<name>.py`` (the folder is not a package)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def quick(tmp_path_factory, torch):
    """Run ``bench.py --quick`` once; its output, its raw JSON and where it drew the figure."""
    out = tmp_path_factory.mktemp("bench")
    figure, raw = out / "scaling.svg", out / "raw.json"
    command = [sys.executable, str(BENCHMARKS / "bench.py"), "--quick", "--figure", str(figure), "--json", str(raw)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(raw.read_text()), figure


def table_rows(stdout, first_column):
    """The rows of the Markdown table whose header starts with ``first_column``, as lists of cells."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return lines[start], rows


TIME = re.compile(r"^\d+\.\d+ \(\d+\.\d+–\d+\.\d+\)$")  # a median and its min-max over the rounds


@pytest.mark.slow
def test_quick_bench_has_one_row_per_configuration_with_times_and_ratios(quick):
    stdout, _, _ = quick
    bench = load("bench")
    header, rows = table_rows(stdout, "layer")
    assert "rnn_ref / torch" in header and "% of peak" in header
    configs = bench.table_configs(bench.SIZES["quick"])
    assert len(rows) == len(configs)
    for row, (cell, bidirectional, size, dtype) in zip(rows, configs, strict=True):
        name, row_size, row_dtype, ours, naive, torch, path, ratio = row[:8]
        assert name.startswith(("Bi" if bidirectional else "") + bench.NAMES[cell])
        assert (row_size, row_dtype) == (size, dtype)
        assert TIME.match(ours) and TIME.match(torch) and TIME.match(ratio)
        assert bool(naive) != bidirectional  # the naive baseline has no bidirectional layer
        assert path in ("oneDNN fused", "ATen ops")
        assert all(cell.endswith("%") for cell in row[-2:])
    for group in ("LSTM, peephole, BiLSTM", "RNN, GRU, BiRNN, BiGRU"):
        for size in ("large", "small"):
            assert re.search(rf"Worst rnn_ref / torch, {group}, {size}, float32: \d+\.\d\d", stdout)


@pytest.mark.slow
def test_quick_bench_reports_the_machine_its_libraries_and_the_agreement(quick):
    stdout, raw, _ = quick
    assert re.search(r"Machine: \d+ CPUs", stdout)
    assert re.search(r"rnn_ref and naive: NumPy [\d.]+, \S+ \S+ \(\S+ kernel, \d+ \w+ threads\)", stdout)
    assert re.search(r"torch: torch \S+, \d+ \w+ threads, BLAS .+, CPU capability", stdout)
    assert re.search(r"Matmul peak.*float32 \d+ GFLOP/s.*float64 \d+ GFLOP/s", stdout)
    assert "Agreement, checked before timing" in stdout
    assert raw["agreement"]["implementations"] == ["rnn_ref", "naive", "torch"]
    assert set(raw["agreement"]["worst"]) == {"float32", "float64"}


@pytest.mark.slow
def test_every_measurement_ran_in_a_process_of_its_own(quick):
    _, raw, _ = quick
    per_config = [per_impl for part in ("table", "scaling") for per_impl in raw[part].values()]
    results = [result for per_impl in per_config for runs in per_impl.values() for result in runs]
    pids = [r["pid"] for r in results]
    assert len(results) > 50 and len(set(pids)) == len(pids)
    for r in results:
        assert r["threads"] >= 1 and r["blas"]  # which BLAS and how many threads, from every worker
        assert len(r["times"]) >= 3 and r["median"] == pytest.approx(float(np.median(r["times"])))


@pytest.mark.slow
def test_quick_bench_draws_the_scaling_figure_and_its_table(quick):
    stdout, _, figure = quick
    bench = load("bench")
    _, rows = table_rows(stdout, "T")
    points = {tuple(size.values()) for size in bench.SIZES["quick"]["T"] + bench.SIZES["quick"]["H"]}
    assert {tuple(int(v) for v in row[:4]) for row in rows} == points
    text = figure.read_text()
    assert text.startswith("<?xml") and "<svg" in text


def test_agreement_check_names_every_disagreement(monkeypatch):
    worker = load("worker")
    right = worker.NAIVE["lstm"]

    def wrong(xs, params, dhs):  # a classic bug: the recurrent weight gradient of the last step lost
        hs, dxs, grads = right(xs, params, dhs)
        return hs, dxs, {**grads, "W_h": grads["W_h"] * 0.9}

    monkeypatch.setitem(worker.NAIVE, "lstm", wrong)
    with pytest.raises(worker.AgreementError) as error:
        cases = [("lstm", False, 4, 2, 3, 5, "float64"), ("lstm", False, 4, 2, 3, 5, "float32")]
        worker.check_agreement(cases, ["naive"])
    message = str(error.value)
    assert "naive vs rnn_ref: dW_h" in message and "float64" in message and "float32" in message
    assert "dW_x" not in message  # only what is wrong is listed
    worker.check_agreement([("gru", True, 4, 2, 3, 5, "float64")], ["naive"])  # the others still agree


def test_bench_times_nothing_when_the_check_fails(monkeypatch, capsys):
    bench = load("bench")
    calls = []

    def fake_worker(*args):
        calls.append(args[0])
        raise bench.WorkerError("check failed (exit 1):\nthe implementations disagree: lstm dW_h")

    monkeypatch.setattr(bench, "run_worker", fake_worker)
    assert bench.main(["--quick", "--no-scaling"]) == 1
    assert calls == ["check"]
    captured = capsys.readouterr()
    assert "nothing is timed" in captured.err and "dW_h" in captured.err
    assert "|" not in captured.out
