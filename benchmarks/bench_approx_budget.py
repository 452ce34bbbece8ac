"""Where does approx's measured exponent converge? alpha against the training budget: trainer x steps x samples,
for each intrinsic dimension k of the teacher.

    python benchmarks/bench_approx_budget.py [--dims 32] [--teacher-k 2,4] [--target teacher] [--seeds 2]
                                             [--draws 3] [--widths 4,8,16,32,64]
                                             [--budgets gn:50,gn:150,lm:200,adam:2000,...] [--samples auto,2000]

Each cell is one ``approx.run`` of the shallow ReLU network with the given trainer and
budget (``lm:N``: N Levenberg–Marquardt iterations; ``gn:N``: N matrix-free Gauss–Newton
steps; ``adam:N``: N full-batch Adam steps; ``adam+lm:N+M``: N Adam steps then M LM
iterations) and training-set rule (``auto``: 8 samples per parameter, each width on its
own share of one pool; a number: that many samples for every width). The table gives
alpha with its t interval over draws x seeds, the widths the fit used, the median
relative RMSE of the widest model, and the wall time. An exponent that stops moving as
the budget grows is the function class's; one that still moves is the trainer's.
"""

from __future__ import annotations

import argparse
import time

import torch

from dimcurse.experiments.approx import kernel as approx


def parse_budget(text: str) -> dict:
    trainer, _, counts = text.partition(":")
    numbers = [int(c) for c in counts.split("+") if c]
    if trainer == "lm":
        return {"optimizer": "lm", "lm_iters": numbers[0]}
    if trainer == "adam":
        return {"optimizer": "adam", "steps": numbers[0]}
    if trainer == "gn":
        return {"optimizer": "gn", "gn_iters": numbers[0]}
    if trainer == "adam+lm":
        return {"optimizer": "adam+lm", "steps": numbers[0], "lm_iters": numbers[1]}
    raise SystemExit(f"unknown budget {text!r} (lm:N, gn:N, adam:N, adam+lm:N+M)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="teacher")
    parser.add_argument("--dims", default="32")
    parser.add_argument("--teacher-k", default="2,4")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--widths", default="4,8,16,32,64")
    parser.add_argument("--budgets", default="gn:50,gn:150,lm:200")
    parser.add_argument("--samples", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| target | d | k | trainer | budget | samples | alpha [95 %] | widths used | widest rel RMSE | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    cells = [
        (dim, k, samples, budget)
        for dim in (int(d) for d in args.dims.split(","))
        for k in (int(k) for k in args.teacher_k.split(","))
        for samples in args.samples.split(",")
        for budget in args.budgets.split(",")
    ]
    for dim, k, samples, budget in cells:
        kw = parse_budget(budget)
        config = approx.Config(
            targets=(args.target,),
            dims=(dim,),
            teacher_k=(k,),
            teacher_draws=args.draws,
            widths=tuple(int(w) for w in args.widths.split(",")),
            seeds=tuple(range(args.seeds)),
            n_samples=None if samples == "auto" else int(samples),
            **kw,
        )
        start = time.perf_counter()
        result = approx.run(config)
        wall = time.perf_counter() - start
        fit = result.analysis.iloc[0]
        widest = result.rows[result.rows.width == result.rows.width.max()].rel_rmse.median()
        used = (
            ",".join(
                str(w)
                for w in sorted(
                    result.rows[result.rows.params.astype(str).isin(fit.used_params.split(","))].width.unique()
                )
            )
            or "-"
        )
        print(
            f"| {args.target} | {dim} | {k} | {kw['optimizer']} | {budget.partition(':')[2]} | {samples} | "
            f"{fit.alpha:.2f} [{fit.alpha_lo:.2f}, {fit.alpha_hi:.2f}] | {used} | {widest:.4f} | "
            f"{wall:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
