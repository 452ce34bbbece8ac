"""docs/approx.md · Approximation error against width: shallow, deep and tree networks, and fixed-basis baselines.

For each (target, dim, arch), all widths x seeds train as one batched computation
(``dimcurse.nets``); each seed draws its own training and test samples. Rows report
train and test RMSE, the relative RMSE (test RMSE / sd of the test targets) and the
parameter count; a fit table gives the exponent alpha of rel_rmse ~ params^(-alpha)
with a t interval over teacher draws x seeds and the theory exponent beside it.

Two or more ``--samples`` make a learning curve: every width trains on the first n of one
pool for each n, and the fit table adds alpha in n (the best width per n, chosen on a
validation draw; k-NN on nested training sets). On data (a file, or ``--inputs``) the
training inputs' intrinsic dimension is measured first (``bridge``) and predicts alpha.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
import time
from typing import Callable

import pandas as pd
import torch

from dimcurse import userdata
from dimcurse.data import objects_spec
from dimcurse.configs import ApproxConfig, check_counts, check_seeds, field_options
from dimcurse.errors import DimcurseError
from dimcurse.experiments import contract
from dimcurse.experiments.approx import bridge, estimate, fits, gn, lm, plan, schedule
from dimcurse.experiments.approx.convergence import CONVERGED_DROP, MIN_SPREAD, log_spread
from dimcurse.experiments.approx.data import make_data
from dimcurse.experiments.approx.figure import approx_figure
from dimcurse.experiments.approx.fits import (
    CAP_OPTION,
    DECREMENT_LIMIT,
    FIT_KEYS,
    FITS_TITLE,
    GAP_LIMIT,
    MIN_FIT_WIDTHS,
    PRECISION_ULPS,
    REPLICATE,
    fit_table,
    verdict_notes,
)
from dimcurse.experiments.approx.plan import (
    Plan,
    arch_params,
    dims_for,
    input_source,
    inputs_label,
    samples_for,
    trainer_cap,
    trainer_for,
)
from dimcurse.experiments.approx.targets import TEACHERS, get_target, is_teacher
from dimcurse.experiments.approx.training import (
    CURVE_COLUMNS,
    Budget,
    Resume,
    Sweep,
    Trained,
    train_arch,
    train_baseline,
)
from dimcurse.nets import get_activation
from dimcurse.experiments.approx.networks import ARCHS, shallow_params
from dimcurse.parsing import did_you_mean
from dimcurse.results import Result, renamed_columns
from dimcurse.runtime import resolve_dtype


# --------------------------------------------------------------------------- contract

KERNEL = "approx"
VERSION = 7  # 3: the radial-bump teacher, teacher draws and k lists, Gauss–Newton above LM's size, t intervals;
# 4: learning curves (val_rmse, the samples axis), the inputs' measured ID (the bridge), --inputs; a data file
# trains on every training row; 5: each model trains until converged or its cap (convergence.py; the columns
# converged and test_drop), widths on data from its rows, a learning curve's extended widths, the verdict;
# 6: Gauss–Newton's curvature from a window of rows (as LM's), its products fused, at most 20 CG iterations, and
# LM only up to 600 parameters (matrix-free Gauss–Newton above); 7: a --data file of more than 64 columns trains on
# its principal components (--components; the column components)
BASELINES = ("random-features", "knn")
OPTIMIZERS = ("auto", "lm", "gn", "adam", "adam+lm", "lbfgs")
Config = ApproxConfig  # the settings live in dimcurse.configs, importable without torch (fast --help)
# The analysis table's contract, from the fits: its setting columns, those kept off screen, every column's meaning
# (the docs' "fits approx" table is generated from it).
ANALYSIS_KEYS, ANALYSIS_HIDDEN, FIT_COLUMN_DOCS = fits.ANALYSIS_KEYS, fits.ANALYSIS_HIDDEN, fits.FIT_COLUMN_DOCS
# Q^(2^k) lives near the corner Q = 1 only: the largest sampled |value| at 2000 samples is 7e-9 at
# k = 10, 1e-135 at 13 and 0 (underflow) at 15; beyond 10 it depends on how near the corner one sample falls.
MAX_Q_POWER_K = 10
SMOKE = Config(
    targets=("barron", "poggio-tree4"),
    dims=(4,),
    archs=("shallow", "tree"),
    widths=(4, 8, 16),
    depth=2,
    n_samples=200,
    n_test=200,
    steps=30,
    lm_iters=5,
    seeds=(0, 1),
    baselines=BASELINES,
)


# --------------------------------------------------------------------------- validate


def validate(config: Config) -> None:
    """Raise ``DimcurseError`` naming the option for anything the kernel cannot run."""
    check_counts(config, ("n_test", "depth", "knn_k", "teacher_draws", "q_power_k", "lm_max_params"))
    if not config.teacher_k or any(k < 1 for k in config.teacher_k):
        raise DimcurseError(f"intrinsic dimensions must be at least 1, got {config.teacher_k}", "--teacher-k")
    if config.q_power_k > MAX_Q_POWER_K:
        raise DimcurseError(
            f"k must be 1..{MAX_Q_POWER_K}, got {config.q_power_k}: beyond, Q^(2^k) underflows to 0 "
            "in float64 on the whole domain (|Q| <= 1)",
            "--q-power-k",
        )
    if config.n_test < 2:  # rel_rmse divides by the test targets' sd
        raise DimcurseError(
            f"must be at least 2 (rel_rmse divides by the test targets' sd), got {config.n_test}", "--test-samples"
        )
    check_counts(config, ("steps", "lm_iters", "gn_iters", "cg_iters"))  # None: the trainer's own cap
    _validate_samples(config)
    if config.widths is not None and (not config.widths or any(w < 1 for w in config.widths)):
        raise DimcurseError("widths must be positive integers", "--widths")
    check_seeds(config.seeds)
    if not 0.0 < config.verdict_tolerance < 1.0:  # also refuses NaN
        raise DimcurseError(
            f"must lie strictly between 0 and 1 (a share of the theory's exponent), got {config.verdict_tolerance}",
            "--verdict-tolerance",
        )
    _validate_trainer(config)
    if config.components is not None and (config.components < 0 or config.data is None):
        raise DimcurseError(
            f"projects a --data file's columns: give --data and 0 (no projection) or more, got {config.components}",
            "--components",
        )
    for arch in config.archs:
        if arch not in ARCHS:
            raise DimcurseError(
                f"unknown architecture {arch!r}{did_you_mean(arch, ARCHS)} (known: {', '.join(ARCHS)})", "--arch"
            )
    for name in config.baselines:
        if name not in BASELINES:
            raise DimcurseError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})", "--baselines")
    get_activation(config.activation)
    resolve_dtype(config.dtype)
    _validate_target_options(config)
    if config.data is not None:
        _validate_data(config)
        return
    if not config.targets:
        raise DimcurseError("give at least one target", "--target")
    source = input_source(config)
    for name in config.targets:
        target = get_target(name)
        if source is not None and source.fixed_dim and target.fixed_dim not in (None, source.fixed_dim):
            raise DimcurseError(
                f"target {name} is defined for d = {target.fixed_dim} only and {source.name} has "
                f"{source.fixed_dim} dimensions",
                "--inputs",
            )
        for dim in dims_for(config, target):
            if dim < 1:
                raise DimcurseError("dimensions must be positive integers", "--dims")
            if "tree" in config.archs and (dim < 2 or dim & (dim - 1)):
                raise DimcurseError(f"the tree architecture needs d a power of 2, got {dim} for {name}", "--arch")
            if is_teacher(name) and dim < max(config.teacher_k):
                raise DimcurseError(
                    f"the teacher's intrinsic dimension k = {max(config.teacher_k)} exceeds d = {dim}", "--teacher-k"
                )


def _validate_samples(config: Config) -> None:
    """Sample sizes a model can learn from: at least 2 (and the k-NN baseline's k), no repeats."""
    if config.n_samples is None:
        return
    least = max(2, config.knn_k if "knn" in config.baselines else 2)
    if not config.n_samples or min(config.n_samples) < least:
        raise DimcurseError(
            f"sample sizes must be at least {least} (a fit needs 2 points{', k-NN its k' if least > 2 else ''}), "
            f"got {config.n_samples}",
            "--samples",
        )
    if len(set(config.n_samples)) != len(config.n_samples):
        raise DimcurseError(f"sample sizes repeat: {config.n_samples}", "--samples")


def _validate_data(config: Config) -> None:
    """A user's regression file (or the generated objects set): it fixes the target and the dimension, and the
    tree needs d a power of 2."""
    if objects_spec(config.data) is None:
        userdata.check_spec(config.data)
    elif config.target_column is not None:
        raise DimcurseError("the objects set has one target (its factors' products); drop --target-column", "--data")
    if config.inputs is not None:
        raise DimcurseError("a data file brings its own inputs; --inputs is for synthetic targets", "--inputs")
    if not 0.0 < config.test_fraction < 1.0:
        raise DimcurseError(f"must lie strictly between 0 and 1, got {config.test_fraction}", "--test-fraction")
    if config.dims is not None or config.targets != Config().targets:
        raise DimcurseError("a data file fixes the target and the dimension; drop --target/--dims", "--data")


# Options of some targets only: (field, option, whether a target name uses it, the targets that do). Given
# (not at its default) with none of those targets, it would change nothing: refused, not ignored in silence.
TARGET_OPTIONS = (
    ("teacher_k", "--teacher-k", is_teacher, f"the teacher targets ({', '.join(TEACHERS)})"),
    ("teacher_draws", "--teacher-draws", is_teacher, f"the teacher targets ({', '.join(TEACHERS)})"),
    ("q_power_k", "--q-power-k", lambda name: str(name).strip().lower() == "q-power", "the q-power target"),
)


def _validate_target_options(config: Config) -> None:
    defaults = Config()
    for field, option, uses, who in TARGET_OPTIONS:
        if getattr(config, field) == getattr(defaults, field):
            continue
        if config.data is not None or not any(uses(name) for name in config.targets):
            runs = "a --data file" if config.data is not None else ", ".join(config.targets)
            raise DimcurseError(f"only {who} take it, and this run has {runs}: it would change nothing", option)


def _validate_trainer(config: Config) -> None:
    """The optimizer exists, and no option is given that the chosen trainer would ignore."""
    opt = config.optimizer
    if opt not in OPTIMIZERS:
        raise DimcurseError(f"unknown optimizer {opt!r} ({', '.join(OPTIMIZERS)})", "--optimizer")
    if config.lr is not None and not config.lr > 0:
        raise DimcurseError(f"must be positive, got {config.lr}", "--lr")
    if not (config.samples_per_param > 0 and math.isfinite(config.samples_per_param)):
        raise DimcurseError(f"must be a positive number, got {config.samples_per_param}", "--samples-per-param")
    if not (config.lm_rows >= 0 and math.isfinite(config.lm_rows)):
        raise DimcurseError(f"must be 0 (all samples) or positive, got {config.lm_rows}", "--lm-rows")
    uses_lm = opt in ("auto", "lm", "adam+lm")
    for value, option in ((config.gn_iters, "--gn-iters"), (config.cg_iters, "--cg-iters")):
        if value is not None and opt not in ("auto", "gn"):
            raise DimcurseError(
                f"{option} applies to the Gauss–Newton trainer (--optimizer gn or auto), not {opt}", option
            )
    if config.record_every < 0:
        raise DimcurseError(f"must be 0 (off) or positive, got {config.record_every}", "--record-every")
    if config.record_every and opt == "lbfgs":
        raise DimcurseError(
            "training curves are recorded for Adam and LM; LBFGS runs its iterations inside one "
            "call (use --optimizer adam or lm)",
            "--record-every",
        )
    if opt == "lm" and config.steps is not None:
        raise DimcurseError("--steps counts Adam/LBFGS steps; --optimizer lm takes --lm-iters", "--steps")
    if opt == "lm" and config.lr is not None:
        raise DimcurseError("Levenberg–Marquardt has no learning rate (its damping adapts per model)", "--lr")
    if not uses_lm and config.lm_iters is not None:
        raise DimcurseError(f"--lm-iters does not apply to --optimizer {opt}", "--lm-iters")
    if opt == "gn" and (config.steps is not None or config.lr is not None):
        raise DimcurseError("Gauss–Newton takes --gn-iters and has no learning rate", "--optimizer")
    if opt in ("lm", "gn", "adam+lm") and any(a != "shallow" for a in config.archs):
        raise DimcurseError(
            f"the {opt} trainer is built for --arch shallow (use auto or adam for deep and tree)",
            "--optimizer",
        )


# --------------------------------------------------------------------------- memory


def prepare(config: Config) -> Plan:
    """The run's plan, decided once (plan.make): it reads a --data file, and every later step reads the plan."""
    return plan.make(config)


def forecast(config: Config, device, prepared: Plan, say: Callable[[str], None] | None = None) -> Plan:
    """The plan a --budget allows (the plan as made without one), and its one line, models, samples, trainers
    and estimated time, said to ``say`` before any training. The machine's rates are measured only when
    someone listens or a budget needs them."""
    if say is None and config.budget is None:
        return prepared
    model = estimate.costs(device, on_data=prepared.file is not None)
    if config.budget is not None:
        prepared, chosen = estimate.within(prepared, config.budget, model)
        prepared = dataclasses.replace(prepared, notes=prepared.notes + tuple(chosen))
    if say is not None:
        say(estimate.describe(prepared, estimate.estimate(prepared, model)))
    return prepared


def estimate_bytes(config: Config, device: torch.device | str = "cpu", prepared: Plan | None = None):
    """Peak bytes of the largest (target, dim): data, every model's parameters with gradients and Adam state
    (16 bytes each), LM's largest step, the random-features activations (float64) and the k-NN distance
    matrices: (bytes, the option to lower). ``prepared``: the run's plan (made here when not given)."""
    run = prepared if prepared is not None else plan.make(config)
    config = run.config
    S = max(len(setting.replicates) for setting in run.settings)
    nt = config.n_test
    widest = max(run.settings, key=lambda setting: setting.dim)
    dim, widths, n = widest.dim, widest.widths, widest.drawn
    params = max((sum(arch_params(a, dim, w, config.depth) for w in widths) for a in config.archs), default=0) * S * 16
    itemsize = resolve_dtype(config.dtype).itemsize
    second = (
        max((_second_order_bytes(config, S, n, dim, w, itemsize) for w in widths), default=0)
        if "shallow" in config.archs
        else 0
    )
    # Without --samples the training set grows with the widths: name --widths for it.
    terms = {"--widths": params + second, "--samples": S * n * dim * 12, "--test-samples": S * nt * dim * 12}
    if config.n_samples is None:
        terms["--widths"] += terms.pop("--samples")
    if "random-features" in config.baselines:
        terms["--widths"] += S * (n + nt) * sum(widths) * 8 * 2
    if "knn" in config.baselines:
        terms["--widths" if config.n_samples is None else "--samples"] += S * (nt * n + n * n) * 8 * 2
    return sum(terms.values()), max(terms, key=terms.get)


def _second_order_bytes(config: Config, S: int, n: int, dim: int, width: int, itemsize: int) -> int:
    """Peak bytes of one second-order step of a shallow width: LM's P x P systems, Gauss–Newton's activations,
    0 for a width another trainer takes (the widths train one after another: the sweep's peak is the max)."""
    params = shallow_params(dim, width)
    used = min(n, samples_for(config, params))
    trainer = trainer_for(config, "shallow", params)
    if trainer in ("lm", "adam+lm"):
        return lm.step_bytes(S, used, params, itemsize)
    return gn.step_bytes(S, used, width, params, itemsize) if trainer == "gn" else 0


# --------------------------------------------------------------------------- run


def run(
    config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None,
    say: Callable[[str], None] | None = None, checkpoint: str | None = None,
) -> Result:  # fmt: skip
    """Train every (target, dim, arch) sweep and the baselines; rows plus the fit table. ``say``: takes the
    plan's one line (models, samples, trainers, estimated time) before any training. ``checkpoint``: a folder
    that keeps each finished sweep and each trained width; the same command given it again resumes there."""
    device, started, run_plan = contract.start(sys.modules[__name__], config, device, "this sweep", say)
    file = run_plan.file.describe() if run_plan.file is not None else None
    saved = contract.checkpoint(sys.modules[__name__], config, device, checkpoint, data=file)
    planned = schedule.jobs(run_plan)
    budget = Budget(progress, sum(job.work for job in planned))
    rows, curves, notes = [], [], list(run_plan.notes)
    dtype = resolve_dtype(config.dtype)
    for setting, group in itertools.groupby(planned, key=lambda job: job.setting):
        group = list(group)
        data = make_data(run_plan, setting, dtype, device)
        for name in dict.fromkeys(job.name for job in group):
            mine = [job for job in group if job.name == name]
            done = [row for job in mine for row in _train_saved(job, data, budget, curves, device, saved=saved)]
            for _ in range(schedule.MAX_EXTENSIONS):
                wider = schedule.extensions(run_plan.config, mine[0], pd.DataFrame(done))
                if not wider:
                    break
                budget.grow(sum(job.work for job in wider))
                done += [row for job in wider for row in _train_saved(job, data, budget, curves, device, saved=saved)]
                notes += _extended(wider)
            notes += _still_widest(mine[0], pd.DataFrame(done))
            rows += done
    extra = {}
    if config.widths is None and run_plan.config.widths is not None:
        extra["widths"] = list(run_plan.config.widths)  # the default widths the data's rows chose
    if run_plan.file is not None:
        extra["data"] = run_plan.file.describe()  # name, source, content hash, shape
    if config.budget is not None:  # what the budget chose: the run again, without it
        chosen = run_plan.config
        extra["budget_chose"] = {
            "widths": list(chosen.widths or ()), "seeds": list(chosen.seeds), "teacher_draws": chosen.teacher_draws
        }  # fmt: skip
    result = contract.finish(sys.modules[__name__], config, device, rows, started, provenance_extra=extra)
    result.notes = notes + fits.notes(result.rows, run_plan.config) + contract.resumed(saved)
    if config.record_every:
        result.tables["curves"] = pd.DataFrame(curves, columns=CURVE_COLUMNS)
    analysis(result, run_plan.config)
    if result.analysis is None:
        n_widths = result.rows.groupby(FIT_KEYS, dropna=False).width.nunique().max()
        result.notes.append(
            f"no exponent: a fit needs at least {MIN_FIT_WIDTHS} widths and this run has "
            f"{n_widths} (give --widths, e.g. 8,16,32,64)."
        )
    else:  # a retry's work joins the bar's total: it never stands at 100 % while work goes on
        elapsed = time.perf_counter() - started
        result.notes += _tried(result, run_plan, planned, budget, elapsed, device=device, saved=saved)
    budget.finish()
    return result


RETRY_CAP_FACTOR = 4  # a fit left with too few sizes by the trainer's cap is retried at 4 x the cap ...
RETRY_SHARE = 1.0  # ... when that costs at most the run's own time again (by the plan's estimate)


def _tried(
    result: Result, run_plan: Plan, planned: list, budget: Budget, elapsed: float, *, device, saved=None
) -> list[str]:
    """For a width fit the trainers' caps left with fewer than 3 sizes: train the limited widths again at
    RETRY_CAP_FACTOR x the cap, when that is cheap, and say what happened (the rows stay those of the run's
    config); otherwise say what it would cost."""
    notes = []
    config, table = run_plan.config, result.analysis
    short = table[(table.axis == "params") & (table.fixed == "") & (table.n_widths_used < MIN_FIT_WIDTHS)]
    for fit in short[short.excluded.str.contains("optimisation-limited at", regex=False)].to_dict("records"):
        key = _setting_key(fit["target"], fit["dim"], fit["teacher_k"], fit["arch"])
        rows = result.rows[[_setting_key(*r) == key for r in result.rows[SETTING].itertuples(index=False)]]
        limited = rows.groupby("width").optimisation_limited.mean()
        widths = tuple(int(w) for w in limited[limited > 0.5].index)
        job = next((j for j in planned if _setting_key(j.target.name, j.dim, j.k, j.name) == key), None)
        trainer = rows[rows.width.isin(widths)].optimizer.iloc[0] if widths else None
        if job is None or trainer not in CAP_OPTION:
            continue
        option, cap = CAP_OPTION[trainer], RETRY_CAP_FACTOR * trainer_cap(config, trainer)
        trial = job.narrowed(dataclasses.replace(job.config, **{field_options(Config)[option]: cap}), job.n, widths)
        where = f"{fit['target']} d = {fit['dim']} {fit['arch']}"
        at = f"{option} {cap} at widths {', '.join(map(str, widths))}"
        if trial.work > RETRY_SHARE * max(elapsed, 1.0):
            notes.append(f"{where}: a fit needs {MIN_FIT_WIDTHS} sizes; {at} would take about {trial.work:.0f} s "
                         f"by the plan's estimate (not tried: give {option} {cap}).")  # fmt: skip
            continue
        budget.grow(trial.work)
        notes.append(_retry(trial, rows, run_plan, budget, device=device, where=where, at=at, saved=saved))
    return notes


SETTING = ["target", "dim", "teacher_k", "arch"]  # a fit's setting, as a row, a fit and a job name it


def _setting_key(target, dim, k, arch) -> tuple:
    """(target, dim, k, arch) comparable across rows, fits and jobs: an empty k (NaN or None) is None."""
    return target, int(dim), None if k is None or pd.isna(k) else int(k), arch


def _retry(
    trial, rows: pd.DataFrame, run_plan: Plan, budget: Budget, *, device, where: str, at: str, saved=None
) -> str:  # fmt: skip
    """Train ``trial`` and say what it gives: how many of its models converged or settled, and the fit with
    its rows in place of the limited ones."""
    data = make_data(run_plan, trial.setting, resolve_dtype(run_plan.config.dtype), device)
    again = pd.DataFrame(_train_saved(trial, data, budget, [], device, saved=saved))
    settled = int((~again.optimisation_limited).sum())
    mixed = pd.concat([rows[~rows.width.isin(trial.config.widths)], again], ignore_index=True)
    fit = fit_table(mixed, trial.config)  # its caps name the retry's
    fit = fit[(fit.axis == "params") & (fit.fixed == "")]
    words = f"{where}: tried {at}: {settled} of {len(again)} models converged or settled"
    if len(fit) and fit.n_widths_used.iloc[0] >= MIN_FIT_WIDTHS:
        one = fit.iloc[0]
        words += (
            f"; with them the fit has {int(one.n_widths_used)} sizes, alpha {one.alpha:.3g} "
            f"[{one.alpha_lo:.3g}, {one.alpha_hi:.3g}] ({one.verdict}): rerun with those settings"
        )
    else:
        words += f"; still fewer than {MIN_FIT_WIDTHS} sizes: {fit.excluded.iloc[0] if len(fit) else 'no fit'}"
    return words + "."


def _train_saved(job: schedule.Job, data, budget: Budget, curves: list, device, *, saved=None) -> list[dict]:
    """Train one job (an architecture's widths at one n, or a baseline) and return its rows; with a checkpoint
    (``saved``), read a finished job back, resume an unfinished one after its last trained width, and keep
    the rows and curves of each job once it ends."""
    t0 = time.perf_counter()
    meter = budget.job(job.work)
    key = ("job", _job_key(job))
    kept = saved.load(key) if saved is not None else None
    if kept is not None:
        meter.finish()
        curves += kept["curves"]
        return kept["rows"]
    part = data if job.n is None else data.first(job.n)
    sweep = Sweep(job.name, job.dim, job.widths, part, job.config, device, meter.tick)
    label = {"target": job.target.name, "inputs": inputs_label(job.config), "dim": job.setting.columns}
    label["teacher_k"] = job.k if job.k is not None else math.nan
    label.update(arch=job.name, **({"n_samples": job.n} if job.n is not None else {}))
    start = len(curves)
    resume = Resume(saved, ("stages", *key[1:]), curves, start) if saved is not None else None
    trained = train_arch(sweep, curves, label, resume) if job.name in ARCHS else train_baseline(sweep)
    meter.finish()
    rows = _rows(sweep, job.setting, trained, time.perf_counter() - t0)
    if saved is not None:
        saved.save(key, {"rows": rows, "curves": curves[start:]})
        saved.drop(resume.key)
    return rows


def _job_key(job: schedule.Job) -> tuple:
    """What names a job's work in a checkpoint: its setting, architecture, n, widths and every config field."""
    setting = job.setting
    where = (setting.target.name, setting.dim, setting.columns, setting.k, setting.replicates, setting.pool)
    return (*where, job.name, job.n, tuple(job.widths), repr(dataclasses.astuple(job.config)))


def _extended(wider: list) -> list[str]:
    """The note of one round of a learning curve's extension."""
    at = ", ".join(str(job.n) for job in wider)
    width = wider[0].config.widths[0]
    return [
        f"learning curve, {wider[0].target.name} d = {wider[0].dim} {wider[0].name}: the widest width was best at "
        f"n = {at}, so width {width} was trained there too."
    ]


def _still_widest(job, rows: pd.DataFrame) -> list[str]:
    """A note for the sample sizes where the widest width is still best after the extensions."""
    sizes = schedule.widest_best(rows) if job.name in ARCHS else []
    if not sizes:
        return []
    return [
        f"learning curve, {job.target.name} d = {job.dim} {job.name}: at n = {', '.join(map(str, sizes))} the "
        f"widest width trained there was still best (width-limited, left out of the sample fit): a wider one "
        f"would have fewer than {1 / schedule.EXTEND_PARAMS_PER_SAMPLE:g} samples per parameter, or the sweep "
        f"widened {schedule.MAX_EXTENSIONS} times already (give --widths)."
    ]


def _flags(trained: Trained, si: int, j: int, spread: float, train_sd: float, *, arch: str, dtype: str) -> dict:
    """The row's convergence and limit flags (convergence.py): ``spread`` is its width's seed spread."""
    drop, dec, moved = trained.loss_drop[si, j], trained.decrement[si, j], trained.test_drop[si, j]
    train, test = trained.train[si, j], trained.test[si, j]
    floor = PRECISION_ULPS * float(torch.finfo(resolve_dtype(dtype)).eps) * math.sqrt(trained.params[j]) * train_sd
    converged = bool(trained.converged[si, j]) and not dec > DECREMENT_LIMIT
    settled = bool(moved <= spread)  # stopped at the cap, its test error already within the seed spread
    return {
        "converged": converged,
        "loss_drop": float(drop),
        "test_drop": float(moved),
        "gn_decrement": float(dec),
        "optimisation_limited": bool(dec > DECREMENT_LIMIT or not (converged or settled)),
        # k-NN interpolates (train error 0): its error is estimation error by nature, not a limit to flag.
        "estimation_limited": bool(arch != "knn" and test > GAP_LIMIT * train),
        "precision_limited": bool(arch in ARCHS and train < floor),
    }


def _rows(job: Sweep, setting, trained: Trained, elapsed: float) -> list[dict]:
    """One row per (seed, width) of a trained architecture or baseline at ``setting`` (plan.Setting)."""
    arch, _, widths, _, config, device, _ = job
    components = setting.projected.components if setting.projected is not None else math.nan
    sd_test, sd_train = job.data.sd_test, job.data.std.cpu().numpy()
    rows = []
    sizes = trained.sizes or list(widths)
    spread = log_spread(trained.test / sd_test[:, None])  # per width: sd over replicates of log rel_rmse
    for si, (draw, seed) in enumerate(job.data.reps):
        for j, width in enumerate(sizes):
            rows.append(
                {
                    "target": setting.target.name,
                    "inputs": inputs_label(config),
                    "dim": setting.columns,
                    "components": components,
                    "teacher_k": job.data.k if job.data.k is not None else math.nan,
                    "arch": arch,
                    "width": int(width),
                    "draw": draw,
                    "seed": seed,
                    "params": int(trained.params[j]),
                    "train_rmse": float(trained.train[si, j]),
                    "test_rmse": float(trained.test[si, j]),
                    "rel_rmse": float(trained.test[si, j] / sd_test[si]),
                    "val_rmse": float(trained.val[si, j]) if trained.val is not None else math.nan,
                    "steps": int(trained.steps[si, j]),
                    "diverged": bool(trained.diverged[si, j]),
                    **_flags(trained, si, j, float(spread[j]), float(sd_train[si]), arch=arch, dtype=config.dtype),
                    "elapsed_s": round(elapsed, 3),
                    "activation": config.activation,
                    "optimizer": trained.optimizer[j],
                    "n_samples": int(trained.n_used[j]),
                    **bridge.row_columns(job.data.ids),
                    "device": str(device),
                    "dtype": config.dtype,
                    "kernel_version": VERSION,
                }
            )
    return rows


# --------------------------------------------------------------------------- stored rows

# Columns renamed since they were first written (old -> new), read under their new names from stores and files
# (report.renamed, upgraded): the ID columns took distance's spelling on 2026-12-07 (issue 34).
RENAMED = {"id_twonn": "twonn_id", "id_twonn_lo": "twonn_id_lo", "id_twonn_hi": "twonn_id_hi", "id_mle": "mle_id"}


def upgraded(rows: pd.DataFrame, config: Config | None = None) -> pd.DataFrame:
    """Stored rows of an older version with the columns this one groups by: before VERSION 3 there were no
        teacher draws (draw 0) and no teacher_k column (left empty: the k was in the config only); before 4 no
        inputs column (the cube, or the data file: the config says which); before 7 no components column (no file was
    projected); RENAMED columns under their names now."""
    rows = renamed_columns(rows, RENAMED)
    missing = {"teacher_k": math.nan, "components": math.nan, "draw": 0}
    missing["inputs"] = inputs_label(config) if config else "cube"
    rows = rows.assign(**{c: v for c, v in missing.items() if c not in rows})
    if "converged" not in rows:  # before VERSION 5 a model ran every iteration: its flag was the only verdict
        rows = rows.assign(converged=~rows["optimisation_limited"].astype(bool), test_drop=math.nan)
    return rows


def analysis(result: Result, config: Config) -> Result:
    """The exponent fits of the rows, one table per experiment: run() calls it, and so does the kernel
    contract for stored rows (dimcurse report, plot)."""
    result.rows = upgraded(result.rows, config)
    rows = result.rows
    split = "experiment" if "experiment" in rows and rows["experiment"].nunique() > 1 else None
    parts = []
    for label, group in rows.groupby(split, sort=False) if split else [(None, rows)]:
        if group.duplicated([*FIT_KEYS, *REPLICATE, "params", "n_samples"]).any():
            result.notes.append(
                "no exponent fits: the rows repeat a (target, dim, teacher_k, arch, draw, seed, params) setting "
                "(narrow them with --where)"
            )
            return result
        fits = fit_table(group, config)
        if fits.empty:
            continue
        result.notes += verdict_notes(fits)
        if split:
            fits.insert(0, "experiment", label)
        parts.append(fits)
    if parts:
        result.analysis, result.analysis_title = pd.concat(parts, ignore_index=True), FITS_TITLE
    return result


def figure(result: Result):
    result.rows = upgraded(result.rows)
    return approx_figure(result)


# --------------------------------------------------------------------------- columns

# The row contract, one line per column and in the rows' order: COLUMNS is its keys, the docs' column tables
# are generated from it (tools/readme_examples.py --tables), and the limits' numbers are their constants.
COLUMN_DOCS = {
    "target": "the target function (or the --data file's stem)",
    "inputs": "where the inputs came from: cube (the target's domain), the --inputs set, or file (--data)",
    "dim": "input dimension d (a --data file's columns)",
    "components": "principal components a wide --data file's columns were projected onto (--components)",
    "teacher_k": "the teacher's intrinsic dimension k (empty for targets without one)",
    "arch": "shallow, deep, tree, or a baseline: random-features, knn",
    "width": "hidden width (per tree node for tree; the training-set size n for knn)",
    "draw": "which random teacher (its basis and bumps); 0 for targets without draws",
    "seed": "the seed that drew the samples and the initialisation",
    "params": "trainable parameters (random features: the shallow network's count; knn: the stored n (d + 1))",
    "train_rmse": "RMSE on the samples that model trained on, in the target's units",
    "test_rmse": "RMSE on the fresh test samples, in the target's units",
    "rel_rmse": "test RMSE / sd of the test targets (1 = predicting the mean)",
    "val_rmse": "RMSE on the validation inputs of a learning curve, which choose its best width per n",
    "steps": "Adam steps plus the LM or Gauss-Newton iterations this model ran (it stops once converged)",
    "diverged": "the loss became non-finite or exploded: the model was isolated, its errors empty",
    "converged": (
        f"the trainer's rule met before its cap: training MSE fell < {CONVERGED_DROP:.0%} over the last fifth "
        f"of its iterations (LBFGS: its own tolerances) and gn_decrement <= {DECREMENT_LIMIT:g}"
    ),
    "loss_drop": "relative fall of the training loss over the last fifth of training",
    "test_drop": "relative fall of the test RMSE over the second half of training (read by the flag only)",
    "gn_decrement": "share of the loss a nearly undamped Gauss-Newton step still promises to remove (shallow only)",
    "optimisation_limited": (
        "not converged, and test_drop above its width's seed spread (sd of log rel_rmse over replicates, at "
        f"least {MIN_SPREAD:.0%}): more training would move the point; or gn_decrement > {DECREMENT_LIMIT:g}"
    ),
    "estimation_limited": f"test RMSE > {GAP_LIMIT:g} x train RMSE: the samples, not the width, set the error",
    "precision_limited": f"train RMSE within {PRECISION_ULPS} eps sqrt(params) x the targets' sd: rounding sets it",
    "elapsed_s": "wall time of the batched training that produced the row (the only column that differs between runs)",
    "activation": "the hidden activation",
    "optimizer": "the row's trainer: lm, gn, adam, adam+lm, lbfgs, lstsq (random features), none (knn)",
    "n_samples": "that row's training samples",
    "twonn_id": "TwoNN intrinsic dimension of the training inputs (data or --inputs), as dimcurse distance measures it",
    "twonn_id_lo": "lower end of TwoNN's 95 % sampling interval",
    "twonn_id_hi": "upper end of TwoNN's 95 % sampling interval",
    "mle_id": "Levina-Bickel MLE intrinsic dimension (20 neighbours) of the same inputs",
    "device": "where the row was computed",
    "dtype": "the training precision",
    "kernel_version": "the kernel's VERSION (bumped when its maths changes)",
}
COLUMNS = list(COLUMN_DOCS)
_DIVERGED = ("the model diverged (loss NaN or exploded)", "diverged")  # NaN only on rows flagged diverged
_NO_ID = "no ID measured: inputs on the target's own cube (its dimension is known), or under 22 rows"
NULLABLE = {
    "teacher_k": "the target has no intrinsic-dimension knob (only the teachers do)",
    "components": "inputs not projected: a target's own, or a file of at most 64 columns (or --components 0)",
    "val_rmse": "not a learning curve (one --samples): no validation inputs are drawn",
    **dict.fromkeys(bridge.ID_COLUMNS, _NO_ID),
    "gn_decrement": "the trainer gives none (Adam on deep or tree nets, LBFGS, baselines)",
    "test_drop": "not trained (baselines), or stored before VERSION 5",
    "loss_drop": "the trainer gives none (LBFGS, baselines)",
    "train_rmse": _DIVERGED,
    "test_rmse": _DIVERGED,
    "rel_rmse": _DIVERGED,
}
"""Columns that may be undefined (NaN), and why; (reason, flag): only on rows where the flag is set."""
TABLES = ("curves",)  # training curves (--record-every), written beside the rows as FILE.curves.csv
# Inputs of a row (not measurements): report never averages over one that varies within a group.
SETTINGS = [
    "target",
    "inputs",
    "dim",
    "components",
    "teacher_k",
    "arch",
    "width",
    "params",
    "activation",
    "optimizer",
    "n_samples",
    "dtype",
    "kernel_version",
]
GROUP_BY = ["target", "inputs", "dim", "teacher_k", "arch", "width", "n_samples"]
REPLICATES = {"draw": "teacher draws", "seed": "seeds"}  # a mean is over draws x seeds (the header counts both)
SHOW = [
    ("params", None),
    ("train_rmse", None),
    ("test_rmse", None),
    ("rel_rmse", None),
    ("diverged", None),
    ("optimisation_limited", None),
    ("estimation_limited", None),
]
