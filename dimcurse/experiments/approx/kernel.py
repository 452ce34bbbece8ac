"""Approximation error against width: shallow, deep and tree networks, and fixed-basis baselines.

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

import math
import time
from typing import Callable

import pandas as pd
import torch

from dimcurse import memory, userdata
from dimcurse.experiments.approx import bridge
from dimcurse.experiments.approx import gn, lm
from dimcurse.configs import ApproxConfig
from dimcurse.errors import DimcurseError
from dimcurse.parsing import check_counts, check_seeds, did_you_mean
from dimcurse.nets import ARCHS, get_activation, shallow_params
from dimcurse.provenance import provenance
from dimcurse.results import Result
from dimcurse.runtime import resolve_dtype
from dimcurse.experiments.approx.targets import get_target, is_teacher
from dimcurse.experiments.approx.plan import (
    _dims_for,
    _inputs,
    _settings,
    _user_data,
    arch_params,
    inputs_label,
    pool_size,
    replicates,
    samples_for,
    trainer_for,
    widths_for,
)  # noqa: F401
from dimcurse.experiments.approx.data import _make_data

# Names older code reached through this module, from their modules now (plan, data, training, fits).
from dimcurse.experiments.approx.data import _check_resolvable, _split  # noqa: F401
from dimcurse.experiments.approx.fits import FIT_COLUMNS, best_width_rows  # noqa: F401
from dimcurse.experiments.approx.plan import MIN_SAMPLES  # noqa: F401
from dimcurse.experiments.approx.training import (
    CURVE_COLUMNS,
    _Job,
    _Meter,
    _Trained,
    _baseline,
    _passes,
    _train_arch,
)  # noqa: F401
from dimcurse.experiments.approx.fits import (
    ANALYSIS_HIDDEN,
    ANALYSIS_KEYS,
    DECREMENT_LIMIT,
    DROP_LIMIT,
    FITS_TITLE,
    FIT_KEYS,
    GAP_LIMIT,
    MIN_FIT_WIDTHS,
    PRECISION_ULPS,
    REPLICATE,
    _notes,
    fit_table,
)  # noqa: F401

KERNEL = "approx"
VERSION = 4  # 3: the radial-bump teacher, teacher draws and k lists, Gauss–Newton above LM's size, t intervals;
# 4: learning curves (val_rmse, the samples axis), the inputs' measured ID (the bridge), --inputs; a data file
# trains on every training row
BASELINES = ("random-features", "knn")
OPTIMIZERS = ("auto", "lm", "gn", "adam", "adam+lm", "lbfgs")


Config = ApproxConfig  # the settings live in dimcurse.configs, importable without torch (fast --help)


# Q^(2^k) lives near the corner Q = 1 only: the largest sampled |value| at 2000 samples is 7e-9 at
# k = 10, 1e-135 at 13 and 0 (underflow) at 15; beyond 10 it depends on how near the corner one sample falls.
MAX_Q_POWER_K = 10
OPTIONAL_COUNTS = {
    "steps": "--steps",
    "lm_iters": "--lm-iters",
    "gn_iters": "--gn-iters",
    "cg_iters": "--cg-iters",
}

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
    for name, option in OPTIONAL_COUNTS.items():
        value = getattr(config, name)
        if value is not None and value < 1:
            raise DimcurseError(f"must be at least 1, got {value}", option)
    _validate_samples(config)
    if config.widths is not None and (not config.widths or any(w < 1 for w in config.widths)):
        raise DimcurseError("widths must be positive integers", "--widths")
    check_seeds(config.seeds)
    _validate_trainer(config)
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
    if config.data is not None:
        _validate_data(config)
        return
    if not config.targets:
        raise DimcurseError("give at least one target", "--target")
    source = _inputs(config)
    for name in config.targets:
        target = get_target(name)
        if source is not None and source.fixed_dim and target.fixed_dim not in (None, source.fixed_dim):
            raise DimcurseError(
                f"target {name} is defined for d = {target.fixed_dim} only and {source.name} has "
                f"{source.fixed_dim} dimensions",
                "--inputs",
            )
        for dim in _dims_for(config, target):
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
    """A user's regression file: it fixes the target and the dimension, and the tree needs d a power of 2."""
    userdata.check_spec(config.data)
    if config.inputs is not None:
        raise DimcurseError("a data file brings its own inputs; --inputs is for synthetic targets", "--inputs")
    if not 0.0 < config.test_fraction < 1.0:
        raise DimcurseError(f"must lie strictly between 0 and 1, got {config.test_fraction}", "--test-fraction")
    if config.dims is not None or config.targets != Config().targets:
        raise DimcurseError("a data file fixes the target and the dimension; drop --target/--dims", "--data")


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


def estimate_bytes(config: Config, device: torch.device | str = "cpu", file=None) -> tuple[float, str]:
    """Peak bytes of the largest (target, dim): data, every model's parameters with gradients and Adam state
    (16 bytes each), LM's largest step, the random-features activations (float64) and the k-NN distance
    matrices; and the option to lower."""
    settings = _settings(config, file)
    S = max(len(replicates(config, target.name)) for target, _, _ in settings)
    nt = config.n_test
    dim = max(d for _, d, _ in settings)
    widths, n = widths_for(config, dim), pool_size(config, dim)
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


def run(config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None) -> Result:
    """Train every (target, dim, arch) sweep and the baselines; rows plus the fit table."""
    validate(config)
    device = torch.device(device)
    file = _user_data(config) if config.data is not None else None  # read once, passed down as device is
    needed, option = estimate_bytes(config, device, file)
    memory.require(needed, "this sweep", option, device)
    settings = _settings(config, file)
    names = list(config.archs) + list(config.baselines)
    share = 1.0 / max(1, len(settings) * len(names))  # each (setting, architecture or baseline) alike
    started = time.perf_counter()
    rows, curves = [], []
    for target, dim, k in settings:
        data = _make_data(target, dim, k, config, resolve_dtype(config.dtype), device, file=file)
        for name in names:
            for cfg, n, fraction in _passes(config, name):
                t0 = time.perf_counter()
                meter = _Meter(progress, share * fraction)
                part = data if n is None else data.first(n)
                job = _Job(name, dim, part, cfg, device, meter.tick if progress else None)
                label = {"target": target.name, "inputs": inputs_label(config), "dim": dim}
                label["teacher_k"] = k if k is not None else math.nan
                label.update(arch=name, **({"n_samples": n} if n is not None else {}))
                trained = _train_arch(job, curves, label) if name in ARCHS else _baseline(name, dim, part, cfg)
                meter.finish()
                rows += _rows(job, target.name, trained, time.perf_counter() - t0)
    table = pd.DataFrame(rows, columns=COLUMNS)
    prov = provenance(KERNEL, VERSION, config, device)
    prov["elapsed_s"] = round(time.perf_counter() - started, 3)
    if file is not None:
        prov["data"] = file.describe()  # name, source, content hash, shape
    result = Result(
        kernel=KERNEL,
        rows=table,
        provenance=prov,
        group_by=GROUP_BY,
        show=SHOW,
        notes=_notes(table, config),
        nullable=NULLABLE,
        analysis_keys=ANALYSIS_KEYS,
        analysis_hidden=ANALYSIS_HIDDEN,
    )
    if config.record_every:
        result.tables["curves"] = pd.DataFrame(curves, columns=CURVE_COLUMNS)
    analysis(result, config)
    if result.analysis is None:
        n_widths = table.groupby(FIT_KEYS, dropna=False).width.nunique().max()
        result.notes.append(
            f"no exponent: a fit needs at least {MIN_FIT_WIDTHS} widths and this run has "
            f"{n_widths} (give --widths, e.g. 8,16,32,64)."
        )
    return result


def upgraded(rows: pd.DataFrame, config: Config | None = None) -> pd.DataFrame:
    """Stored rows of an older version with the columns this one groups by: before VERSION 3 there were no
    teacher draws (draw 0) and no teacher_k column (left empty: the k was in the config only); before 4 no
    inputs column (the cube, or the data file: the config says which)."""
    missing = {"teacher_k": math.nan, "draw": 0, "inputs": inputs_label(config) if config else "cube"}
    return rows.assign(**{c: v for c, v in missing.items() if c not in rows})


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
        result.notes += [words for words in map(bridge.agreement, fits.to_dict("records")) if words]
        if split:
            fits.insert(0, "experiment", label)
        parts.append(fits)
    if parts:
        result.analysis, result.analysis_title = pd.concat(parts, ignore_index=True), FITS_TITLE
    return result


def figure(result: Result):
    from dimcurse.experiments.approx.figure import approx_figure

    result.rows = upgraded(result.rows)
    return approx_figure(result)


def _flags(trained: _Trained, si: int, j: int, train_sd: float, arch: str, dtype: str) -> dict:
    drop, dec = trained.loss_drop[si, j], trained.decrement[si, j]
    train, test = trained.train[si, j], trained.test[si, j]
    floor = PRECISION_ULPS * float(torch.finfo(resolve_dtype(dtype)).eps) * math.sqrt(trained.params[j]) * train_sd
    return {
        "loss_drop": float(drop),
        "gn_decrement": float(dec),
        "optimisation_limited": bool(drop > DROP_LIMIT or dec > DECREMENT_LIMIT),
        # k-NN interpolates (train error 0): its error is estimation error by nature, not a limit to flag.
        "estimation_limited": bool(arch != "knn" and test > GAP_LIMIT * train),
        "precision_limited": bool(arch in ARCHS and train < floor),
    }


def _rows(job: _Job, target: str, trained: _Trained, elapsed: float) -> list[dict]:
    """One row per (seed, width) of a trained architecture or baseline."""
    arch, dim, _, config, device, _ = job
    sd_test, sd_train = job.data.sd_test, job.data.std.cpu().numpy()
    rows = []
    sizes = trained.sizes or list(widths_for(config, dim))
    for si, (draw, seed) in enumerate(job.data.reps):
        for j, width in enumerate(sizes):
            rows.append(
                {
                    "target": target,
                    "inputs": inputs_label(config),
                    "dim": dim,
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
                    "steps": int(trained.steps[j]),
                    "diverged": bool(trained.diverged[si, j]),
                    **_flags(trained, si, j, float(sd_train[si]), arch, config.dtype),
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


# The row contract, one line per column and in the rows' order: COLUMNS is its keys, the docs' column tables
# are generated from it (tools/readme_examples.py --tables), and the limits' numbers are their constants.
COLUMN_DOCS = {
    "target": "the target function (or the --data file's stem)",
    "inputs": "where the inputs came from: cube (the target's domain), the --inputs set, or file (--data)",
    "dim": "input dimension d",
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
    "steps": "Adam steps plus LM or Gauss-Newton iterations",
    "diverged": "the loss became non-finite or exploded: the model was isolated, its errors empty",
    "loss_drop": "relative fall of the training loss over the last fifth of training",
    "gn_decrement": "share of the loss a nearly undamped Gauss-Newton step still promises to remove (shallow only)",
    "optimisation_limited": (
        f"not converged: the loss fell > {DROP_LIMIT:.0%} over the last fifth, or gn_decrement > {DECREMENT_LIMIT:g}"
    ),
    "estimation_limited": f"test RMSE > {GAP_LIMIT:g} x train RMSE: the samples, not the width, set the error",
    "precision_limited": f"train RMSE within {PRECISION_ULPS} eps sqrt(params) x the targets' sd: rounding sets it",
    "elapsed_s": "wall time of the batched training that produced the row (the only column that differs between runs)",
    "activation": "the hidden activation",
    "optimizer": "the row's trainer: lm, gn, adam, adam+lm, lbfgs, lstsq (random features), none (knn)",
    "n_samples": "that row's training samples",
    "id_twonn": "TwoNN intrinsic dimension of the training inputs (data or --inputs), as dimcurse distance measures it",
    "id_twonn_lo": "lower end of TwoNN's 95 % sampling interval",
    "id_twonn_hi": "upper end of TwoNN's 95 % sampling interval",
    "id_mle": "Levina-Bickel MLE intrinsic dimension (20 neighbours) of the same inputs",
    "device": "where the row was computed",
    "dtype": "the training precision",
    "kernel_version": "the kernel's VERSION (bumped when its maths changes)",
}
COLUMNS = list(COLUMN_DOCS)
_DIVERGED = ("the model diverged (loss NaN or exploded)", "diverged")  # NaN only on rows flagged diverged
_NO_ID = "no ID measured: inputs on the target's own cube (its dimension is known), or under 22 rows"
NULLABLE = {
    "teacher_k": "the target has no intrinsic-dimension knob (only the teachers do)",
    "val_rmse": "not a learning curve (one --samples): no validation inputs are drawn",
    **dict.fromkeys(bridge.ID_COLUMNS, _NO_ID),
    "gn_decrement": "the trainer gives none (Adam on deep or tree nets, LBFGS, baselines)",
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
SHOW = [
    ("params", None),
    ("train_rmse", None),
    ("test_rmse", None),
    ("rel_rmse", None),
    ("diverged", None),
    ("optimisation_limited", None),
    ("estimation_limited", None),
]
