"""Peak memory of the distance kernel against the size of the data it holds.

    python benchmarks/bench_memory.py [--points 1000000] [--dim 100] [--queries 1000]

Runs ``dimcurse distance`` in a child process and reads the child's peak resident set
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``). The ratio to the float32 points
(n x d x 4 bytes) is the figure to watch: the chunked kernel must not grow with q x n.
A baseline child that only imports torch is measured in the same run and subtracted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def peak_mb(argv: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall time of a child process (each measured in a fresh interpreter)."""
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, check=True)
    return int(done.stdout.strip()) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    base, _ = peak_mb([sys.executable, "-c", "import torch, pandas, dimcurse.cli"])
    run, seconds = peak_mb(
        [
            sys.executable,
            "-m",
            "dimcurse",
            "distance",
            "--dims",
            str(args.dim),
            "--points",
            str(args.points),
            "--queries",
            str(args.queries),
            "--seeds",
            "1",
            "--quiet",
            "--device",
            "cpu",
        ]
    )
    data_mb = args.points * args.dim * 4 / 2**20
    print(f"n = {args.points}, d = {args.dim}, q = {args.queries}: {seconds:.1f} s")
    print(f"peak RSS {run:.0f} MB; import-only baseline {base:.0f} MB; float32 points {data_mb:.0f} MB")
    print(
        f"(peak - baseline) / points = {(run - base) / data_mb:.2f}  "
        f"(a q x n float32 matrix would be {args.queries * args.points * 4 / 2**20:.0f} MB)"
    )


if __name__ == "__main__":
    main()
