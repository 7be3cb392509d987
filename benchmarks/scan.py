"""The static scan on crafted cells: how long it takes, now that its work is bounded.

Run with ``python benchmarks/scan.py`` (``--unbounded`` also times IPython's own
``TransformerManager`` on the magic cells, as the scan used it before: slow).

Each family is a kind of cell written to make a reader slow or make it crash:
IPython magics, shell escapes and help lines (IPython re-reads the whole cell
for every one it rewrites), long operator chains and deep nesting (recursion),
many flagged statements (a flood of flags).  Each is timed at several sizes up
to the largest cell the scan reads, and as a whole notebook of 200 such cells
(20 MB, the largest notebook the pre-check lets through).  The script prints a
Markdown table; book/instructors.md quotes it.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import scan  # noqa: E402

FAMILIES = {
    "line magics (`%time pass`)": lambda n: "%time pass\n" * (n // 11),
    "shell escapes (`!ls`)": lambda n: "!ls\n" * (n // 4),
    "help lines (`x?`)": lambda n: "x?\n" * (n // 3),
    "operator chain (`1+1+...`)": lambda n: "x = " + "+".join(["1"] * (n // 2)),
    "`not not ... x`": lambda n: "x = " + "not " * (n // 4) + "x",
    "attribute chain assigned": lambda n: "a" + ".b" * (n // 2) + " = 1",
    "nested brackets, 190 deep": lambda n: ("f(" * 190 + ")" * 190 + "\n") * max(1, n // 381),
    "flagged statements (`a.b = 1`)": lambda n: "a.b = 1\n" * (n // 8),
}
SIZES = (1_000, 10_000, scan.MAX_CELL_CHARS, 77_000)


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbounded", action="store_true", help="also time IPython's transform_cell alone")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}; seconds per cell (flags found)\n")
    print("| cell | " + " | ".join(f"{size // 1000} KB" for size in SIZES) + " | notebook of 400 x 50 KB |")
    print("| --- |" + " ---: |" * (len(SIZES) + 1))
    for name, make in FAMILIES.items():
        row = []
        for size in SIZES:
            seconds, flags = timed(scan.scan_source, make(size), "cell")
            row.append(f"{seconds:.2f} ({len(flags)})")
        cells = [
            {"index": i, "source": make(scan.MAX_CELL_CHARS), "role": "solution", "grade_id": ""} for i in range(200)
        ]
        seconds, flags = timed(scan.scan_cells, cells)
        row.append(f"{seconds:.2f} ({len(flags)})")
        print(f"| {name} | " + " | ".join(row) + " |")
    if args.unbounded:
        from IPython.core.inputtransformer2 import TransformerManager

        print("\nIPython's TransformerManager().transform_cell alone (what the scan called before):\n")
        for name in list(FAMILIES)[:3]:
            seconds, _ = timed(_transform, TransformerManager(), FAMILIES[name](77_000))
            print(f"- {name}, 77 KB: {seconds:.1f} s")


def _transform(manager, source):
    try:
        return manager.transform_cell(source)
    except RuntimeError:  # "Input transformation still changing after 500 iterations. Aborting."
        return None


if __name__ == "__main__":
    main()
