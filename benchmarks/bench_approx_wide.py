"""Wide files (docs/approx.md, "Files with hundreds of columns"): the issue's kind of file, 20,000 grey images of
one object moved by K factors (objects.py's renderer, its colour channels averaged) with the objects target,
written to a scratch folder and run through `dimcurse approx --data FILE [OPTIONS]` as a whole process, timed;
one markdown row per case with the fit, the measured ID beside 2/ID, and the wall time.

    python benchmarks/bench_approx_wide.py LABEL:RESOLUTION:K[:OPTIONS] ...
    python benchmarks/bench_approx_wide.py d576:24:4 d1024:32:4 d576-unprojected:24:4:--components=0
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dimcurse import objects

ROWS = 20_000


def write_file(folder: Path, resolution: int, k: int) -> Path:
    path = folder / f"objects{resolution * resolution}k{k}.npz"
    if not path.exists():
        unit = objects.factors(ROWS, k, 7)
        x = np.empty((ROWS, resolution * resolution), np.float32)
        for start in range(0, ROWS, 2000):  # rendered a block at a time
            rgb = objects.render(unit[start : start + 2000], resolution)
            x[start : start + 2000] = rgb.reshape(-1, 3, resolution * resolution).mean(1)
        np.savez(path, x=x, y=objects.target(unit))
    return path


def run(folder: Path, label: str, resolution: str, k: str, options: str = "") -> str:
    path = write_file(folder, int(resolution), int(k))
    rows, fit = folder / f"{label}.csv", folder / f"{label}.fit.csv"
    extra = [o.replace("=", " ", 1) for o in options.split(",") if o]
    command = ["dimcurse", "approx", "--data", str(path), *" ".join(extra).split(), "--out", str(rows)]
    start = time.perf_counter()
    done = subprocess.run([*command, "--fit-out", str(fit), "--quiet"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        return f"| {label} | failed: {done.stderr.strip()[-200:]} |"
    r, fits = pd.read_csv(rows), pd.read_csv(fit)
    f = fits.iloc[0].to_dict() if "alpha" in fits and len(fits) else {"alpha": np.nan, "verdict": "no fit"}
    f = pd.Series({**f, "twonn_id": r.twonn_id.iloc[0]}, dtype=object)
    comps = "—" if r.components.isna().all() else str(int(r.components.iloc[0]))
    widths = ", ".join(str(w) for w in sorted(r.width.unique()))
    span = f"{r.params.min()}–{r.params.max()} ({np.log10(r.params.max() / r.params.min()):.2f} decades)"
    alpha = "—" if np.isnan(f.alpha) else f"{f.alpha:.3f} [{f.alpha_lo:.3f}, {f.alpha_hi:.3f}]"
    best = r.groupby("width").rel_rmse.mean().min()
    return (
        f"| {label} | {r.dim.iloc[0]} | {comps} | {widths} | {span} | {best:.3f} | {alpha} | "
        f"{f.twonn_id:.2f} | {2 / f.twonn_id:.3f} | {f.verdict} | {wall:.0f} s |"
    )


def main() -> None:
    head = ["case", "columns", "components", "widths", "params", "best rel_rmse", "α [95 %]", "TwoNN ID", "2/ID"]
    print("| " + " | ".join([*head, "verdict", "wall"]) + " |")
    print("|---" * (len(head) + 2) + "|")
    with tempfile.TemporaryDirectory() as scratch:
        for case in sys.argv[1:]:
            print(run(Path(scratch), *case.split(":")), flush=True)


if __name__ == "__main__":
    main()
