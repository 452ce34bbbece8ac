"""The d = 32 gap (docs/approx.md): the teacher k = 2 over d, each case one approx.run with the defaults but
for the samples per parameter and the iteration caps; the kernel's alpha, and the exponents of the test and of
the training error (the mean over replicates of each one's log-log least-squares slope, with its t interval).

    python benchmarks/bench_approx_gap.py LABEL:D:SAMPLES_PER_PARAM:CAP_FACTOR[:WIDTHS] ...
    python benchmarks/bench_approx_gap.py d2:2:8:1 d32:32:8:1 d32spp32:32:32:1 d32it2:32:8:2 d32w:32:8:1:4,8,16,32
"""

import json
import sys
import time

import numpy as np
import torch
from scipy import stats

from dimcurse.configs import ApproxConfig
from dimcurse.experiments.approx import kernel as approx

torch.set_num_threads(1)


def slopes(rows, col):
    out = []
    for _, rep in rows.groupby(["draw", "seed"]):
        rep = rep[~rep.diverged]
        if rep.width.nunique() >= 3:
            out.append(-np.polyfit(np.log(rep.params), np.log(rep[col]), 1)[0])
    out = np.array(out)
    half = stats.t.ppf(0.975, len(out) - 1) * out.std(ddof=1) / np.sqrt(len(out))
    return f"{out.mean():.3f} [{out.mean() - half:.3f}, {out.mean() + half:.3f}]"


def main() -> None:
    for case in sys.argv[1:]:
        run(*case.split(":"))


def run(label: str, dim: str, spp: str, factor: str, widths: str = "") -> None:
    fields = dict(targets=("teacher",), teacher_k=(2,), dims=(int(dim),), samples_per_param=float(spp))
    if widths:
        fields["widths"] = tuple(int(w) for w in widths.split(","))
    if factor != "1":
        fields.update(lm_iters=400 * int(factor), gn_iters=300 * int(factor))
    t = time.perf_counter()
    res = approx.run(ApproxConfig(**fields))
    a = res.analysis.iloc[0]
    rows = res.rows
    print(
        json.dumps(
            {
                "case": label,
                "d": int(dim),
                "spp": float(spp),
                "iters": factor,
                "alpha": f"{a.alpha:.3f} [{a.alpha_lo:.3f}, {a.alpha_hi:.3f}]",
                "test": slopes(rows, "test_rmse"),
                "train": slopes(rows, "train_rmse"),
                "widths": sorted(rows.width.unique().tolist()),
                "median_steps_widest": float(rows[rows.width == rows.width.max()].steps.median()),
                "s": round(time.perf_counter() - t, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
