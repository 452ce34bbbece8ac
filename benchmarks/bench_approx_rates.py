"""Where an approx run's time goes: each trainer's stages, their arithmetic and its achieved rate against the
machine's matrix-product rate at the same dtype, and the iterations the models needed against their caps.

    python benchmarks/bench_approx_rates.py [--target teacher] [--teacher-k 2] [--dims 16] [--threads 1]
                                            [any other approx option as --name value, e.g. --seeds 2]
    python benchmarks/bench_approx_rates.py --data examples/surface.npz

The run is ``dimcurse.approx`` with the given options (defaults otherwise). The kernel's own functions are
wrapped, not changed: each call is timed (torch on the CPU is synchronous) and its floating-point operations
counted from its shapes:

- LM's JᵀJ (``lm._add_gram``): 2 S m P² (3/4 of it when only the upper blocks are built);
- LM's Jacobian build (``lm.jacobian``): S n P elementwise, the gradient (``lm.gradient``) 4 S n P;
- LM's solves: Cholesky and two triangular solves, S (P³/3 + 2 P²) (primal) or with the dual's J Jᵀ,
  S (2 n² P + n³/3);
- the loss evaluations (``lm.mse``, also Gauss–Newton's and the held-out loss): 2 S n P;
- Gauss–Newton's products Jv and Jᵀu (``jvp``, ``vjp``) and its linearisation: 2 S n d w each;
- Adam (``networks.train_adam``): 6 S n P per step over all its widths.

The reference rate is a batched product of the largest JᵀJ's shape (and a square 2048 product) in float32 and
float64, on the same threads, measured in the same run. "other" is the run's time outside these stages:
data, baselines, the ID measurement, bookkeeping.
"""

from __future__ import annotations

import argparse
import collections
import functools
import time

import torch

from dimcurse import api
from dimcurse.experiments.approx import gn, lm, networks, training
from dimcurse.experiments.approx.plan import trainer_cap

TIME = collections.Counter()
FLOPS = collections.Counter()
CALLS = collections.Counter()
DTYPES: dict[str, str] = {}
LARGEST_GRAM: list[tuple] = [(0, 0, 0)]  # (S, m, P) of the largest JᵀJ block


def timed(stage: str, count):
    """Wrap a function: its calls' time and counted floating-point operations go to ``stage``."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            TIME[stage] += time.perf_counter() - start
            FLOPS[stage] += count(*args, **kwargs)
            CALLS[stage] += 1
            return out

        return inner

    return wrap


def _gram(gram, jac, half):
    S, m, P = jac.shape
    if S * m * P * P > LARGEST_GRAM[0][0] * LARGEST_GRAM[0][1] * LARGEST_GRAM[0][2] ** 2:
        LARGEST_GRAM[0] = (S, m, P)
    DTYPES["LM JᵀJ"] = str(jac.dtype).replace("torch.", "")
    return 2 * S * m * P * P * (0.75 if half else 1.0)


def _snp(factor):
    def count(theta, x, *args, **kwargs):
        return factor * theta.shape[0] * x.shape[1] * theta.shape[1]

    return count


def _primal(gram, grad, lam):
    S, P = grad.shape
    return S * (P**3 / 3 + 2 * P * P)


def _dual(jac, resid, lam):
    S, n, P = jac.shape
    return S * (2 * n * n * P + n**3 / 3)


def _product(self, vector):
    S, n, d = self.x.shape
    return 2 * S * n * d * self.width


def _linearise(theta, x, dim, width):
    return 2 * x.shape[0] * x.shape[1] * x.shape[2] * width


def _adam(model, x, y, steps, *args, **kwargs):
    S, n, d = x.shape
    params = sum(networks.shallow_params(d, w) for w in model.widths) if hasattr(model, "widths") else 0
    return 6 * S * n * params * steps


def instrument() -> None:
    """Wrap the stages in place (the kernel looks each up by its module's global name at call time)."""
    lm._add_gram = timed("LM JᵀJ", _gram)(lm._add_gram)
    lm.jacobian = timed("LM Jacobian", _snp(1))(lm.jacobian)
    lm.gradient = timed("LM gradient", _snp(4))(lm.gradient)
    lm.solve_primal = timed("LM solve", _primal)(lm.solve_primal)
    lm.solve_dual = timed("LM solve (dual)", _dual)(lm.solve_dual)
    lm.mse = timed("losses", _snp(2))(lm.mse)
    gn.lm_mse = lm.mse
    gn._Linearised.jvp = timed("GN Jv, Jᵀu", _product)(gn._Linearised.jvp)
    gn._Linearised.vjp = timed("GN Jv, Jᵀu", _product)(gn._Linearised.vjp)
    gn.linearise = timed("GN linearise", _linearise)(gn.linearise)
    training.train_adam = timed("Adam", _adam)(training.train_adam)


def matmul_rate(shape: tuple, dtype: torch.dtype, repeats: int = 3) -> float:
    """GFLOP/s of a batched product of JᵀJ's shape (S, P, m) x (S, m, P) in ``dtype``."""
    S, m, P = shape
    jac = torch.randn(S, m, P, dtype=dtype)
    gram = torch.zeros(S, P, P, dtype=dtype)
    gram.baddbmm_(jac.transpose(1, 2), jac)  # warm
    start = time.perf_counter()
    for _ in range(repeats):
        gram.baddbmm_(jac.transpose(1, 2), jac)
    return 2 * S * m * P * P * repeats / (time.perf_counter() - start) / 1e9


def square_rate(dtype: torch.dtype, size: int = 2048) -> float:
    a = torch.randn(size, size, dtype=dtype)
    a @ a
    start = time.perf_counter()
    for _ in range(3):
        a @ a
    return 2 * size**3 * 3 / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args, rest = parser.parse_known_args()
    given = {name.lstrip("-").replace("-", "_"): value for name, value in zip(rest[::2], rest[1::2])}
    # the teacher at k = 2, d = 16 unless told otherwise (a --data file brings its own target and dimension)
    options = given if "data" in given else {"target": "teacher", "teacher_k": "2", "dims": "16", **given}
    torch.set_num_threads(args.threads)
    instrument()
    start = time.perf_counter()
    result = api.approx(threads=args.threads, **options)
    wall = time.perf_counter() - start
    shape = LARGEST_GRAM[0] if LARGEST_GRAM[0][0] else (6, 2000, 256)
    rates = {dtype: matmul_rate(shape, getattr(torch, dtype)) for dtype in ("float32", "float64")}
    square = {dtype: square_rate(getattr(torch, dtype)) for dtype in ("float32", "float64")}
    print(f"approx {' '.join(f'--{k.replace(chr(95), chr(45))} {v}' for k, v in options.items())}, "
          f"{args.threads} thread(s): {wall:.1f} s")  # fmt: skip
    print(
        f"reference: batched JᵀJ of shape S={shape[0]}, m={shape[1]}, P={shape[2]}: float32 "
        f"{rates['float32']:.1f}, float64 {rates['float64']:.1f} GFLOP/s; square 2048 product: float32 "
        f"{square['float32']:.1f}, float64 {square['float64']:.1f} GFLOP/s"
    )
    print()
    print("| stage | calls | seconds | share of the run | GFLOP | GFLOP/s | of the float32 JᵀJ rate |")
    print("|---|---|---|---|---|---|---|")
    for stage in sorted(TIME, key=TIME.get, reverse=True):
        seconds, gflop = TIME[stage], FLOPS[stage] / 1e9
        rate = gflop / seconds if seconds else float("nan")
        print(f"| {stage} | {CALLS[stage]} | {seconds:.2f} | {seconds / wall:.0%} | {gflop:.1f} | {rate:.1f} | "
              f"{rate / rates['float32']:.0%} |")  # fmt: skip
    other = wall - sum(TIME.values())
    print(f"| other | | {other:.2f} | {other / wall:.0%} | | | |")
    print()
    print("| trainer | models | median iterations | at the cap | cap | converged |")
    print("|---|---|---|---|---|---|")
    rows = result.rows[result.rows.optimizer.isin(["lm", "gn", "adam", "adam+lm"])]
    for trainer, group in rows.groupby("optimizer"):
        cap = trainer_cap(api.make_config("approx", dict(options)), trainer)
        print(f"| {trainer} | {len(group)} | {group.steps.median():.0f} | {(group.steps >= cap).mean():.0%} | "
              f"{cap} | {group.converged.astype(bool).mean():.0%} |")  # fmt: skip
    if len(result.analysis if result.analysis is not None else []):
        fit = result.analysis.iloc[0]
        print(f"\nalpha {fit.alpha:.3g} [{fit.alpha_lo:.3g}, {fit.alpha_hi:.3g}] against {fit.alpha_theory:.3g}")


if __name__ == "__main__":
    main()
