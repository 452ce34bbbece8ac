"""Start-up of the command line against ``import torch``, in the same run.

    python benchmarks/bench_startup.py [--repeats 7] [--limit 0.3]

Times fresh interpreters (median of --repeats) for ``import torch`` and for
``dimcurse --version``, ``--help``, ``-h`` and every command's ``--help``; prints each
time and its ratio to ``import torch``, and exits 1 when a ratio exceeds --limit (issue:
under 0.3x). Quote the ratios, not the times: the processor changes between sessions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = ["--version", "--help", "-h"] + [
    f"{c} --help" for c in ("distance", "approx", "overparam", "batch", "report", "compare", "plot", "tour")
]


def _median_seconds(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--limit", type=float, default=0.3)
    args = parser.parse_args()
    torch_s = _median_seconds([sys.executable, "-c", "import torch"], args.repeats)
    print(f"{'command':<28} {'median s':>9} {'/ import torch':>15}")
    print(f"{'python -c import torch':<28} {torch_s:>9.3f} {1.0:>15.2f}")
    worst = 0.0
    for command in COMMANDS:
        seconds = _median_seconds([sys.executable, "-m", "dimcurse", *command.split()], args.repeats)
        worst = max(worst, seconds / torch_s)
        print(f"{'dimcurse ' + command:<28} {seconds:>9.3f} {seconds / torch_s:>15.2f}")
    print(f"worst ratio {worst:.2f} (limit {args.limit})")
    sys.exit(0 if worst <= args.limit else 1)


if __name__ == "__main__":
    main()
