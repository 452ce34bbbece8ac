"""What an approx run trains, in order: one job per (setting, architecture or baseline, learning-curve size),
each with its estimated work for the progress bar; and, on a learning curve, the wider widths it adds where
the widest was best.

Extending the widths: a learning curve picks the best width per n on validation data; a point whose best
width is the widest of the sweep says a wider network might do better, so n did not set its error (it is
left out of the sample fit, "width-limited"). Rather than give up, the run trains the next width (twice the
widest) at those n, up to ``MAX_EXTENSIONS`` times and while the wider network has at most one parameter per 4
of n's samples, and says so in a note.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from dimcurse.configs import ApproxConfig as Config
from dimcurse.experiments.approx.fits import widest_chosen
from dimcurse.experiments.approx.plan import (
    CAPS,
    Plan,
    Setting,
    arch_params,
    baseline_work,
    own_samples,
    stage_work,
    trainer_for,
)
from dimcurse.experiments.approx.networks import ARCHS

MAX_EXTENSIONS = 2  # a learning curve widens its sweep at most twice (each time doubling the widest)
# and only to networks with at most one parameter per 4 training samples (half the default --samples-per-param:
# wider ones cost LM P^3 for points the estimation error holds anyway)
EXTEND_PARAMS_PER_SAMPLE = 0.25


@dataclass(frozen=True)
class Job:
    """One training pass: an architecture (or baseline) at a setting, on the first n samples (None: the pool)."""

    setting: Setting
    name: str
    config: Config  # the run's config, narrowed to this pass's n (and widths, for an extension or a retry)
    n: int | None
    widths: tuple[int, ...]
    work: float  # estimated seconds (plan.stage_work): the progress bar's share

    @property
    def target(self):
        return self.setting.target

    @property
    def pool(self) -> int:
        """Training samples per replicate of this pass: its n, else the setting's pool."""
        return pool_of(self.setting, self.n)

    @property
    def dim(self) -> int:
        return self.setting.dim

    @property
    def k(self) -> int | None:
        return self.setting.k

    def narrowed(self, config: Config, n: int | None, widths: tuple[int, ...]) -> "Job":
        """The same pass on other widths, caps or n, with its work estimated again."""
        pool = pool_of(self.setting, n)
        return dataclasses.replace(
            self, config=config, n=n, widths=widths, work=work(config, self.name, self.setting, widths, pool)
        )


def pool_of(setting: Setting, n: int | None) -> int:
    """Training samples per replicate of a pass on the first ``n`` (None: the setting's whole pool)."""
    return n if n is not None else setting.pool


def jobs(plan: Plan) -> list[Job]:
    """Every pass of the run, in the order it trains them."""
    out = []
    config = plan.config
    for setting in plan.settings:
        for name in list(config.archs) + list(config.baselines):
            passes = [(config, None)] if not plan.learning_curve or name == "knn" else [
                (dataclasses.replace(config, n_samples=(n,)), n) for n in plan.sizes
            ]  # fmt: skip
            for cfg, n in passes:
                pool = pool_of(setting, n)
                out.append(Job(setting, name, cfg, n, setting.widths, work(cfg, name, setting, setting.widths, pool)))
    return out


def work(config: Config, name: str, setting: Setting, widths, pool: int, costs=CAPS) -> float:
    """A job's estimated seconds by ``costs`` (plan.Costs; the default, the progress bar's unit: at the caps):
    its trainers' stages, or its baseline."""
    dim, n_models = setting.dim, len(setting.replicates)
    if name not in ARCHS:
        return baseline_work(name, dim, widths, pool, config.n_test, n_models, costs=costs)
    second = ("lm", "gn", "adam+lm")
    used = []
    for w in widths:
        params = arch_params(name, dim, w, config.depth)
        own = trainer_for(config, name, params) in second
        used.append(min(pool, own_samples(config, params, pool)) if own else pool)
    return sum(stage_work(config, name, dim, widths, used, config.n_test, n_models=n_models, costs=costs).values())


def extensions(config: Config, job: Job, rows: pd.DataFrame) -> list[Job]:
    """The learning-curve passes that widen ``job``'s architecture where its widest width was best at an n in
    most replicates (rows: that architecture's rows at this setting so far), or none."""
    if job.name not in ARCHS:
        return []
    out = []
    for n in widest_best(rows):
        wider = 2 * int(rows[rows.n_samples == n].width.max())
        if arch_params(job.name, job.dim, wider, config.depth) > EXTEND_PARAMS_PER_SAMPLE * n:
            continue
        out.append(job.narrowed(dataclasses.replace(config, n_samples=(n,), widths=(wider,)), n, (wider,)))
    return out


def widest_best(rows: pd.DataFrame) -> list[int]:
    """The sample sizes at which the widest width trained there was best (on validation) in most replicates;
    none where the rows are no learning curve (no validation errors)."""
    if rows.empty or rows["val_rmse"].isna().all():
        return []
    share = widest_chosen(rows).groupby("n_samples").widest.mean()
    return [int(n) for n, most in (share > 0.5).items() if most]
