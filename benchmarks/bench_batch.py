"""Batch executors on one sweep, in the same run: serial against a local process pool.

    python benchmarks/bench_batch.py [--sweep benchmarks/sweeps/distance-headline.toml] [--workers 2]

Runs the sweep into two fresh stores, one per executor, and reports the wall times,
their ratio, and how long the store appends took (the fsync per point) next to the
computing. The stored rows must agree to 1e-9 relative: the pool's workers run torch
on cores // workers threads, which changes float summation order, not results.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dimcurse.batch import run_batch
from dimcurse.store import Store, read_records
from dimcurse.sweep import load_sweep


def _rows(folder) -> pd.DataFrame:
    frames = [pd.DataFrame(r["rows"]).assign(key=k) for k, r in sorted(read_records(folder).items())]
    frame = pd.concat(frames, ignore_index=True)
    return frame.drop(columns=[c for c in frame if c.endswith("_s")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default=str(Path(__file__).parent / "sweeps" / "distance-headline.toml"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    points = load_sweep(args.sweep)
    with tempfile.TemporaryDirectory() as tmp:
        times = {}
        for name, kwargs in (("serial", {}), ("processes", {"executor": "processes", "workers": args.workers})):
            start = time.perf_counter()
            report = run_batch(points, Path(tmp) / name, **kwargs)
            times[name] = time.perf_counter() - start
            assert report.done == len(points) and not report.failed, report.failed
        compute = sum(r["elapsed_s"] for r in read_records(Path(tmp) / "serial").values())
        store = Store.open(Path(tmp) / "appends")
        record = next(iter(read_records(Path(tmp) / "serial").values()))
        start = time.perf_counter()
        for _ in range(len(points)):
            store.append(record)
        appends = time.perf_counter() - start
        store.close()
        a, b = _rows(Path(tmp) / "serial"), _rows(Path(tmp) / "processes")
        numeric = [c for c in a.select_dtypes("number").columns]
        pd.testing.assert_frame_equal(a.drop(columns=numeric), b.drop(columns=numeric))
        diff = np.nanmax(
            np.abs(a[numeric].to_numpy(float) - b[numeric].to_numpy(float))
            / np.maximum(np.abs(a[numeric].to_numpy(float)), 1e-300)
        )
    print(f"sweep {args.sweep}: {len(points)} points")
    print(
        f"serial {times['serial']:.1f} s (points' own compute {compute:.1f} s); processes x{args.workers} "
        f"{times['processes']:.1f} s; speed-up {times['serial'] / times['processes']:.2f}x"
    )
    print(f"store: {len(points)} appends of one point's record with fsync took {appends * 1000:.0f} ms in all")
    print(f"rows, serial vs processes: max relative difference {diff:.1e} (tolerance 1e-9)")
    if not diff < 1e-9:
        raise SystemExit("serial and processes results disagree")


if __name__ == "__main__":
    main()
