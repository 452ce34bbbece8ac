"""How long an approx run will take, said before it trains; and the run a time budget (--budget) allows.

The cost model is ``plan.Costs``: each stage's counted arithmetic at this machine's rates, LM's JᵀJ
accumulation and Gauss–Newton's product pair (Jv, Jᵀu; also Adam's passes) at each shape the run trains,
measured in those very operations once per process on the run's device (0.06-0.8 s: 0.76 s for the d = 32
defaults' five shapes, one thread), plus a per-iteration overhead; over the iterations a model typically runs
before it converges (``TYPICAL``), and, for the upper bound, over the trainers' caps.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass

import torch

from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx import plan as planning
from dimcurse.experiments.approx import schedule
from dimcurse.experiments.approx.gn import linearise
from dimcurse.experiments.approx.networks import shallow_params
from dimcurse.experiments.approx.plan import Costs, Plan
from dimcurse.parsing import format_duration

# Iterations a model typically runs (at most its cap), fitted to six default runs on 2026-12-07 (AMD EPYC, one
# thread; docs/benchmarks.md: estimate / actual 0.78-1.60 on seven): LM on the teacher and Barron targets stops at a
# median 50-64 (MIN_ITERS is 50) and 80 covers the wider widths; Gauss–Newton ran 90-300 (the widest widths at
# or near the cap of 300); Adam has no rule and runs its steps. On a data file LM's models mostly run to the cap
# (on examples/surface.npz, 53 % reached 400).
TYPICAL = {"lm": 80, "adam+lm": 80, "gn": 150}
TYPICAL_ON_DATA = {"lm": 300, "adam+lm": 300, "gn": 150}
CG_SHARE = 1.0  # a step's CG runs all its --cg-iters: at d = 8, w = 512 every step ran all 60 before 1e-3


@dataclass(frozen=True)
class Estimate:
    """A run's estimated seconds: typically, and with every model at its cap (an upper bound)."""

    typical: float
    at_caps: float


@functools.lru_cache(maxsize=8)
def dense_rate(device: str, threads: int) -> float:
    """FLOP/s of LM's JᵀJ accumulation on this machine (float32; 3 models, 1,024 rows, P = 512: 2 S m P² FLOP;
    the best of a few), measured once per process for each device and thread count."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    S, m, P = 3, 1024, 512
    jac, gram = torch.randn(S, m, P, generator=gen).to(dev), torch.zeros(S, P, P, device=dev)
    return _rate(lambda: gram.baddbmm_(jac.transpose(1, 2), jac), 2 * S * m * P * P, dev)


PROBE_MODELS = 3
PROBE_ELEMENTS = 1 << 21  # samples x units per model: the arrays outgrow the caches as a run's do


@functools.lru_cache(maxsize=64)
def pair_time(device: str, threads: int, dim: int, width: int) -> float:
    """Seconds of one Gauss–Newton product pair Jv, Jᵀu per sample and model at ``dim`` x ``width`` on this
    machine (float32, 3 models, the best of a few), measured once per process for each shape. Measured, not
    counted: at d = 8, w = 512 the pair runs at a sixth of its FLOP rate at d = 32, w = 64 (memory-bound)."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(dim * 100_003 + width)
    n = min(65536, max(1024, PROBE_ELEMENTS // width))
    x = torch.randn(PROBE_MODELS, n, dim, generator=gen).to(dev)
    theta = torch.randn(PROBE_MODELS, shallow_params(dim, width), generator=gen).to(dev)
    lin, _ = linearise(theta, x, dim, width)
    probe = torch.randn(theta.shape, generator=gen, dtype=torch.float64).to(dev)
    return 1.0 / _rate(lambda: lin.vjp(lin.jvp(probe)), PROBE_MODELS * n, dev, repeats=3)


def _rate(product, flops: int, device: torch.device, repeats: int = 4) -> float:
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        product()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return flops / max(best, 1e-9)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def costs(device="cpu", on_data: bool = False) -> Costs:
    """The cost model of this machine: its measured rates, the typical iterations (on a data file or not)."""
    where, threads = str(torch.device(device)), torch.get_num_threads()
    return Costs(
        matmul=dense_rate(where, threads), pair_time=functools.partial(pair_time, where, threads),
        typical=TYPICAL_ON_DATA if on_data else TYPICAL, cg_share=CG_SHARE,
    )  # fmt: skip


def estimate(run: Plan, model: Costs) -> Estimate:
    """The plan's time by ``model``, typically and at the caps."""
    at_caps = dataclasses.replace(model, typical=None, cg_share=1.0)
    return Estimate(_seconds(run, model), _seconds(run, at_caps))


def _seconds(run: Plan, model: Costs) -> float:
    return sum(
        schedule.work(job.config, job.name, job.setting, job.widths, job.pool, model) for job in schedule.jobs(run)
    )


def describe(run: Plan, guess: Estimate) -> str:
    """The one line said before training: models, samples, trainers and the estimated time."""
    config = run.config
    models = sum(len(s.widths) * len(s.replicates) for s in run.settings) * len(config.archs) * len(run.sizes)
    trainers = sorted(
        {
            planning.trainer_for(config, arch, planning.arch_params(arch, s.dim, w, config.depth))
            for s in run.settings for arch in config.archs for w in s.widths
        }
    )  # fmt: skip
    samples = sorted(
        {n for n in run.sizes if n is not None}
        or {_used(config, s, arch, w) for s in run.settings for arch in config.archs for w in s.widths}
    )
    replicates = sorted({len(s.replicates) for s in run.settings})
    return (
        f"plan: {models} models ({_span(sorted({w for s in run.settings for w in s.widths}), 'width')}, "
        f"{_span(replicates, 'replicate')} each), {_span(samples, 'training sample')} per replicate, "
        f"{', '.join(trainers)}; estimated {format_duration(guess.typical)} "
        f"(at most {format_duration(guess.at_caps)} if no model converges before its cap)"
    )


def _used(config, setting, arch: str, width: int) -> int:
    """Training samples one model of a sweep fits on (its own share of the pool for a second-order trainer)."""
    params = planning.arch_params(arch, setting.dim, width, config.depth)
    if planning.trainer_for(config, arch, params) in ("lm", "gn", "adam+lm"):
        return min(setting.pool, planning.own_samples(config, params, setting.pool))
    return setting.pool


def _span(values, unit: str) -> str:
    if len(values) == 1:
        return f"{values[0]:,} {unit}{'s' if values[0] != 1 else ''}"
    return f"{unit}s {values[0]:,}–{values[-1]:,}"


MIN_WIDTHS = 3  # a fit needs three sizes
MIN_SEEDS = 2  # an interval needs two replicates; a teacher keeps two draws as well


def within(run: Plan, budget: float, model: Costs) -> tuple[Plan, list[str]]:
    """The largest run under ``budget`` seconds (by the typical estimate): the plan as given when it fits, else
    the widest widths dropped one at a time down to four, then seeds and teacher draws down to two each, then
    widths down to three; and the note that says what was chosen. Too small for three widths: an error that
    says what would fit."""
    given = estimate(run, model).typical
    if given <= budget:
        return run, [f"--budget {format_duration(budget)}: the run as given fits (estimated {format_duration(given)})."]
    smallest, need = run, given  # a run already at its smallest gives up nothing
    for smallest in _smaller(run):
        need = estimate(smallest, model).typical
        if need <= budget:
            return smallest, [_chosen(smallest, run, budget, need, given)]
    raise DimcurseError(
        f"{format_duration(budget)} is too small for {MIN_WIDTHS} widths: the smallest run "
        f"({_what(smallest)}) needs about {format_duration(need)}; give --budget {_option_text(need)} or more",
        "--budget",
    )


def _option_text(seconds: float) -> str:
    """A duration as --budget takes it, rounded up: 7s, 3m."""
    return f"{math.ceil(seconds)}s" if seconds < 60 else f"{math.ceil(seconds / 60)}m"


def _smaller(run: Plan):
    """Ever smaller plans, in the order a budget gives things up."""
    config = run.config
    widths = sorted({w for s in run.settings for w in s.widths})
    seeds, draws = config.seeds, config.teacher_draws
    least_draws = MIN_SEEDS if _has_teacher(run) else draws  # draws change nothing without a teacher
    while len(widths) > MIN_WIDTHS + 1:
        widths = widths[:-1]
        yield _remade(run, widths, seeds, draws)
    while len(seeds) > MIN_SEEDS or draws > least_draws:
        if draws >= len(seeds) and draws > least_draws:
            draws -= 1
        else:
            seeds = seeds[:-1]
        yield _remade(run, widths, seeds, draws)
    while len(widths) > MIN_WIDTHS:
        widths = widths[:-1]
        yield _remade(run, widths, seeds, draws)


def _has_teacher(run: Plan) -> bool:
    return any(planning.is_teacher(s.target.name) for s in run.settings)


def _remade(run: Plan, widths, seeds, draws) -> Plan:
    config = dataclasses.replace(run.config, widths=tuple(widths), seeds=tuple(seeds), teacher_draws=draws)
    return dataclasses.replace(planning.make(config, run.file, run.projected), notes=run.notes)


def _what(run: Plan) -> str:
    config = run.config
    widths = ", ".join(map(str, sorted({w for s in run.settings for w in s.widths})))
    draws = f" x {config.teacher_draws} teacher draws" if _has_teacher(run) else ""
    return f"widths {widths}, {len(config.seeds)} seeds{draws}"


def _chosen(chosen: Plan, given: Plan, budget: float, guess: float, full: float) -> str:
    lost = []
    if len(chosen.settings[0].widths) < len(given.settings[0].widths):
        lost.append("the fit spans fewer widths")
    if len(chosen.settings[0].replicates) < len(given.settings[0].replicates):
        lost.append("its interval is over fewer replicates (wider)")
    return (
        f"--budget {format_duration(budget)}: {_what(chosen)} (estimated {format_duration(guess)}; as given, "
        f"{_what(given)}, about {format_duration(full)}): {' and '.join(lost)}; more time gives "
        f"{'them' if len(lost) > 1 else 'it'} back."
    )
