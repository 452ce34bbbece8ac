"""What share of `dimcurse approx`'s models converge by default, what each cap costs, and what holds the
exponent on the bridge's surface file.

Part `caps`: the surface file (examples/surface.npz) and the docs' teacher example (the tests' data) at LM caps
100 ... 800: models converged before the cap, settled at it (test error within the seed spread), limited, the
exponent with its verdict, and the wall time. Part `limits`: the surface file with more seeds, wider widths and
the other trainer, to see which limit holds its exponent.

    python benchmarks/bench_convergence.py                 # both parts (about 15 min on 2 cores)
    python benchmarks/bench_convergence.py --part caps
    python benchmarks/bench_convergence.py --part limits
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SURFACE = "--data examples/surface.npz"
TEACHER = "--target teacher --dims 4,16 --teacher-k 2,4 --widths 4,8,16,32 --seeds 2"
CAPS = (100, 200, 400, 800)
LIMITS = {
    "defaults (3 seeds, widths 4-14, LM)": "",
    "6 seeds": "--seeds 6",
    "widths 4-32 (to 1,345 parameters: 3.6 rows each)": "--widths 4,8,16,32",
    "Gauss-Newton": "--optimizer gn",
}


def run(options: str):
    """One approx run from CLI-style options, on one thread as the command line; (result, wall seconds)."""
    import torch

    from dimcurse.api import make_config
    from dimcurse.experiments.approx import kernel

    torch.set_num_threads(1)
    words = shlex.split(options)
    kwargs = {words[i][2:].replace("-", "_"): words[i + 1] for i in range(0, len(words), 2)}
    start = time.perf_counter()
    result = kernel.run(make_config("approx", kwargs))
    return result, time.perf_counter() - start


def shares(rows) -> str:
    nets = rows[rows.arch == "shallow"]
    converged = nets.converged.mean()
    limited = nets.optimisation_limited.mean()
    return f"{converged:.0%} | {1 - converged - limited:.0%} | {limited:.0%}"


def fits(result) -> str:
    out = []
    for fit in result.analysis.itertuples():
        alpha = f"{fit.alpha:.2f} [{fit.alpha_lo:.2f}, {fit.alpha_hi:.2f}]" if fit.alpha == fit.alpha else "none"
        setting = "" if fit.dim == 40 else f"d={fit.dim} k={int(fit.teacher_k)}: "
        out.append(f"{setting}{alpha} vs {fit.alpha_theory:.2f}, {fit.verdict}")
    return "; ".join(out)


def caps() -> None:
    print("| data | --lm-iters | converged | settled at the cap | limited | alpha [95 %] vs theory, verdict | wall |")
    print("|---|---|---|---|---|---|---|")
    for name, options in (("surface", SURFACE), ("teacher (docs)", TEACHER)):
        for cap in CAPS:
            result, wall = run(f"{options} --lm-iters {cap}")
            print(f"| {name} | {cap} | {shares(result.rows)} | {fits(result)} | {wall:.0f} s |", flush=True)


def limits() -> None:
    print("| surface run | alpha [95 %] vs 2/ID, verdict | converged | settled at the cap | limited | wall |")
    print("|---|---|---|---|---|---|")
    for name, extra in LIMITS.items():
        result, wall = run(f"{SURFACE} {extra}".strip())
        print(
            f"| {name} (`{extra or 'defaults'}`) | {fits(result)} | {shares(result.rows)} | {wall:.0f} s |", flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("caps", "limits", "all"), default="all")
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.part in ("caps", "all"):
        caps()
    if args.part in ("limits", "all"):
        limits()


if __name__ == "__main__":
    main()
