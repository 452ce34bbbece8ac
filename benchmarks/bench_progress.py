"""How honest is `dimcurse approx`'s progress bar? Its estimated time left against the time that was left.

The bar's total is every job's estimated work (dimcurse/experiments/approx/plan.py: stage_work), so its rate is
the run's. This script records the progress callback of real runs with timestamps and replays rich's estimate
(the remaining fraction over the speed of the last 30 s, as rich.progress computes it) at every tick after the
first 10 %, against the time the run actually had left. The issue's target: within 2x.

    python benchmarks/bench_progress.py            # the surface file's defaults and its learning curve
    python benchmarks/bench_progress.py --quick    # the docs' teacher learning curve only (about 10 s)
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "surface, defaults": "--data examples/surface.npz",
    "surface, learning curve": "--data examples/surface.npz --samples 500,1000,2000,4000 --baselines knn",
    "teacher, docs' learning curve": "--target teacher --teacher-k 2 --dims 16 --widths 4,8,16 "
    "--samples 250,500,1000,2000 --baselines knn --seeds 2 --teacher-draws 1 --test-samples 1000",
}
WINDOW_S = 30.0  # rich.progress.Progress's speed_estimate_period


def record(options: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(tick times, fraction done at each) of one run, and its end time (seconds from its start)."""
    import torch

    from dimcurse.api import make_config
    from dimcurse.experiments.approx import kernel

    torch.set_num_threads(1)  # as the command line's default
    stamps, done = [], [0.0]
    start = time.perf_counter()

    def tick(fraction: float) -> None:
        stamps.append(time.perf_counter() - start)
        done.append(done[-1] + fraction)

    words = shlex.split(options)
    kwargs = {words[i][2:].replace("-", "_"): words[i + 1] for i in range(0, len(words), 2)}
    kernel.run(make_config("approx", kwargs), progress=tick)
    return np.array(stamps), np.array(done[1:]), time.perf_counter() - start


def eta_ratios(stamps: np.ndarray, done: np.ndarray, end: float, after: float = 0.1) -> np.ndarray:
    """rich's estimate of the time left over the time actually left, at every tick past ``after`` done."""
    ratios = []
    for i in np.flatnonzero((done >= after) & (done < 1.0 - 1e-9)):
        window = stamps >= stamps[i] - WINDOW_S
        first = int(np.flatnonzero(window)[0])
        elapsed = stamps[i] - (stamps[first - 1] if first else 0.0)
        gained = done[i] - (done[first - 1] if first else 0.0)
        if elapsed <= 0 or gained <= 0 or end - stamps[i] < 1.0:
            continue
        ratios.append(((1.0 - done[i]) / (gained / elapsed)) / (end - stamps[i]))
    return np.array(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import os

    os.chdir(ROOT)
    runs = {k: v for k, v in RUNS.items() if not args.quick or k.startswith("teacher")}
    print("| run | wall | ticks | estimate / actual time left after 10 %: min | median | max |")
    print("|---|---|---|---|---|---|")
    for name, options in runs.items():
        stamps, done, end = record(options)
        ratios = eta_ratios(stamps, done, end)
        low, mid, high = (np.min(ratios), np.median(ratios), np.max(ratios)) if len(ratios) else (np.nan,) * 3
        print(f"| {name} | {end:.0f} s | {len(stamps)} | {low:.2f} | {mid:.2f} | {high:.2f} |")


if __name__ == "__main__":
    main()
