"""Approximation error against width: shallow, deep and tree networks, and fixed-basis baselines.

For each (target, dim, arch), all widths x seeds train as one batched computation
(``dimcurse.nets``); each seed draws its own training and test samples. Rows report
train and test RMSE, the relative RMSE (test RMSE / sd of the test targets) and the
parameter count; a fit table gives the exponent alpha of rel_rmse ~ params^(-alpha)
with a seed-resampling interval and the theory exponent beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from dimcurse import baselines, memory
from dimcurse.errors import DimcurseError
from dimcurse.parsing import check_counts, check_seeds
from dimcurse.fitting import fit_exponent
from dimcurse.nets import ARCHS, get_activation, shallow_params, train_adam, train_lbfgs
from dimcurse.provenance import provenance
from dimcurse.results import Result
from dimcurse.runtime import resolve_dtype
from dimcurse.targets import TargetOptions, get_target, target_dims

KERNEL = "approx"
VERSION = 1
BASELINES = ("random-features", "knn")


@dataclass(frozen=True)
class Config:
    """Settings of an approximation-against-width run (CLI options in brackets)."""

    targets: tuple[str, ...] = ("barron",)
    """Target functions [--target]; see --list-targets."""
    dims: tuple[int, ...] | None = None
    """Input dimensions [--dims]; None: 8 for targets defined in any d, the fixed d otherwise."""
    archs: tuple[str, ...] = ("shallow",)
    """Architectures [--arch]: shallow, deep, tree."""
    widths: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    """Hidden widths (per tree node for tree) [--widths / --width]."""
    depth: int = 3
    """Hidden layers of the deep architecture [--depth]."""
    activation: str = "relu"
    """relu, tanh, softplus, silu, poly (a quadratic fitted to ReLU on [-3, 3]) [--activation]."""
    n_samples: int = 2000
    """Training samples per seed [--samples]."""
    n_test: int = 2000
    """Fresh test samples per seed [--test-samples]."""
    steps: int = 2000
    """Full-batch optimiser steps (LBFGS: iterations per model) [--steps]."""
    optimizer: str = "adam"
    """adam (all models batched) or lbfgs (one model at a time) [--optimizer]."""
    lr: float | None = None
    """Learning rate; None = 3e-3 for Adam (cosine-decayed to 1 %), 1.0 for LBFGS [--lr]."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Seeds: samples and initialisation [--seeds]."""
    baselines: tuple[str, ...] = ()
    """Fixed-basis baselines on the same data: random-features, knn [--baselines]."""
    knn_k: int = 1
    """Neighbours averaged by the k-NN baseline [--knn-k]."""
    teacher_k: int = 4
    """Intrinsic dimension of the teacher target [--teacher-k]."""
    q_power_k: int = 2
    """k of the q-power target Q^(2^k) [--q-power-k]."""
    dtype: str = "float32"
    """Training precision [--dtype]."""


OPTION = {"n_samples": "--samples", "n_test": "--test-samples", "steps": "--steps", "depth": "--depth",
          "knn_k": "--knn-k", "teacher_k": "--teacher-k", "q_power_k": "--q-power-k"}

SMOKE = Config(targets=("barron", "poggio-tree4"), dims=(4,), archs=("shallow", "tree"), widths=(4, 8, 16), depth=2,
               n_samples=200, n_test=200, steps=30, seeds=(0, 1), baselines=BASELINES)


def validate(config: Config) -> None:
    """Raise ``DimcurseError`` naming the option for anything the kernel cannot run."""
    check_counts(config, OPTION)
    if not config.widths or any(w < 1 for w in config.widths):
        raise DimcurseError("widths must be positive integers", "--widths")
    check_seeds(config.seeds)
    if config.optimizer not in ("adam", "lbfgs"):
        raise DimcurseError(f"unknown optimizer {config.optimizer!r} (adam or lbfgs)", "--optimizer")
    if config.lr is not None and not config.lr > 0:
        raise DimcurseError(f"must be positive, got {config.lr}", "--lr")
    for arch in config.archs:
        if arch not in ARCHS:
            raise DimcurseError(f"unknown architecture {arch!r} (known: {', '.join(ARCHS)})", "--arch")
    for name in config.baselines:
        if name not in BASELINES:
            raise DimcurseError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})", "--baselines")
    get_activation(config.activation)
    resolve_dtype(config.dtype)
    if not config.targets:
        raise DimcurseError("give at least one target", "--target")
    for name in config.targets:
        target = get_target(name)
        for dim in _dims_for(config, target):
            if dim < 1:
                raise DimcurseError("dimensions must be positive integers", "--dims")
            if "tree" in config.archs and (dim < 2 or dim & (dim - 1)):
                raise DimcurseError(f"the tree architecture needs d a power of 2, got {dim} for {name}", "--arch")
            if name == "teacher" and dim < config.teacher_k:
                raise DimcurseError(f"the teacher's intrinsic dimension {config.teacher_k} exceeds d = {dim}", "--dims")


DEFAULT_DIM = 8


def _dims_for(config: Config, target) -> tuple[int, ...]:
    """The dimensions a target runs at; an explicit --dims that a fixed-d target cannot take is an error."""
    if config.dims is None:
        return (target.fixed_dim or DEFAULT_DIM,)
    return target_dims(target, config.dims)


@dataclass
class _Data:
    """One (target, dim) data set stacked over seeds, with standardised training targets."""

    x_train: torch.Tensor  # (S, n, d)
    y_train: torch.Tensor  # (S, n), standardised per seed
    x_test: torch.Tensor
    y_test: torch.Tensor  # original units
    mean: torch.Tensor  # (S,)
    std: torch.Tensor  # (S,)


def _make_data(target, dim: int, config: Config, dtype, device) -> _Data:
    opts = TargetOptions(teacher_k=config.teacher_k, q_power_k=config.q_power_k)
    f = target.build(dim, opts)
    xs = [target.sample(config.n_samples, dim, s, "train") for s in config.seeds]
    xt = [target.sample(config.n_test, dim, s, "test") for s in config.seeds]
    y, yt = torch.stack([f(x) for x in xs]), torch.stack([f(x) for x in xt])
    mean, std = y.mean(1), y.std(1).clamp_min(1e-12)
    move = lambda t: t.to(dtype).to(device)  # noqa: E731
    return _Data(move(torch.stack(xs)), move((y - mean[:, None]) / std[:, None]), move(torch.stack(xt)), yt.to(device), mean.to(device), std.to(device))


def _units(values_std: torch.Tensor, data: _Data) -> torch.Tensor:
    """Standardised values (S, n) back in the target's units (per-seed mean and sd), float64."""
    return values_std.double() * data.std[:, None].double() + data.mean[:, None].double()


def _rmse(pred_std: torch.Tensor, data: _Data, test: bool) -> np.ndarray:
    """RMSE in the target's units per (seed, model) from standardised predictions (S, n, M)."""
    truth = data.y_test.double() if test else _units(data.y_train, data)
    pred = torch.stack([_units(pred_std[:, :, j], data) for j in range(pred_std.shape[2])], 2)
    return torch.sqrt(((pred - truth[:, :, None]) ** 2).mean(1)).cpu().numpy()


def _predict(model, x: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(x[:, s : s + chunk]) for s in range(0, x.shape[1], chunk)], 1)


def _predict_each(models: dict, x: torch.Tensor) -> torch.Tensor:
    """Predictions (S, n, M) of single models keyed by (seed index, width index)."""
    S, M = max(s for s, _ in models) + 1, max(j for _, j in models) + 1
    return torch.stack([torch.cat([_predict(models[(s, j)], x[s : s + 1])[0] for j in range(M)], 1) for s in range(S)])


def _train_arch(arch: str, dim: int, data: _Data, config: Config, device, tick):
    """Train all widths x seeds of one architecture; returns train and test RMSE (S, M), params, diverged."""
    dtype = resolve_dtype(config.dtype)
    make = lambda seeds, widths: ARCHS[arch](seeds, dim, widths, config.activation, config.depth, dtype).to(device)  # noqa: E731
    if config.optimizer == "adam":
        model = make(list(config.seeds), list(config.widths))
        trained = train_adam(model, data.x_train, data.y_train, config.steps, config.lr or 3e-3, progress=tick)
        pred_train, pred_test = _predict(model, data.x_train), _predict(model, data.x_test)
        params = model.params_per_model(dim)
    else:
        models, trained = train_lbfgs(make, list(config.seeds), list(config.widths), data.x_train, data.y_train,
                                      config.steps, config.lr or 1.0, progress=tick)
        pred_train, pred_test = _predict_each(models, data.x_train), _predict_each(models, data.x_test)
        params = [models[(0, j)].params_per_model(dim)[0] for j in range(len(config.widths))]
    train, test = _rmse(pred_train, data, False), _rmse(pred_test, data, True)
    train[trained.diverged], test[trained.diverged] = np.nan, np.nan
    return train, test, params, trained.diverged, trained.steps


def _baseline(name: str, dim: int, data: _Data, config: Config):
    """Random features (same widths) or k-NN (matched sizes): RMSE (S, M), sizes, params."""
    if name == "random-features":
        pred_train, pred_test = baselines.random_features(list(config.seeds), dim, list(config.widths), config.activation,
                                                          data.x_train, data.y_train, data.x_test)
        params = [shallow_params(dim, w) for w in config.widths]
        return _rmse(pred_train, data, False), _rmse(pred_test, data, True), list(config.widths), params
    sizes = baselines.knn_sizes([shallow_params(dim, w) for w in config.widths], dim, config.n_samples)
    trains, pred_test = baselines.knn_regression(data.x_train, data.y_train, data.x_test, sizes, config.knn_k)
    truth = _units(data.y_train, data)
    train = np.stack([torch.sqrt(((_units(t, data) - truth[:, : t.shape[1]]) ** 2).mean(1)).cpu().numpy() for t in trains], 1)
    return train, _rmse(pred_test, data, True), sizes, [n * (dim + 1) for n in sizes]


def estimate_bytes(config: Config) -> tuple[float, str]:
    """Peak bytes of the largest (target, dim): data, every model's parameters with gradients and Adam state
    (16 bytes each), the random-features activations (float64) and the k-NN distance matrices; and the option to lower."""
    S, n, nt = len(config.seeds), config.n_samples, config.n_test
    dims = [d for t in config.targets for d in _dims_for(config, get_target(t))]
    dim = max(dims)
    per_model = {"shallow": lambda w: shallow_params(dim, w),
                 "deep": lambda w: (dim + 1) * w + (config.depth - 1) * (w + 1) * w + w + 1,
                 "tree": lambda w: (dim - 1) * (4 * w + 1)}
    params = max((sum(per_model[a](w) for w in config.widths) for a in config.archs), default=0) * S * 16
    data = S * (n + nt) * dim * 12
    terms = {"--widths": params, "--samples": data}
    if "random-features" in config.baselines:
        terms["--widths"] += S * (n + nt) * sum(config.widths) * 8 * 2
    if "knn" in config.baselines:
        terms["--samples"] += S * (nt * n + n * n) * 8 * 2
    return sum(terms.values()), max(terms, key=terms.get)


def run(config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None) -> Result:
    """Train every (target, dim, arch) sweep and the baselines; rows plus the fit table."""
    validate(config)
    device = torch.device(device)
    needed, option = estimate_bytes(config)
    memory.require(needed, "this sweep", option, device)
    settings = [(get_target(t), d) for t in config.targets for d in _dims_for(config, get_target(t))]
    share = 1.0 / max(1, len(settings) * len(config.archs))
    tick = (lambda f: progress(f * share)) if progress else None
    started = time.perf_counter()
    rows = []
    for target, dim in settings:
        data = _make_data(target, dim, config, resolve_dtype(config.dtype), device)
        sd_test = data.y_test.std(1).cpu().numpy()
        for arch in config.archs:
            t0 = time.perf_counter()
            train, test, params, diverged, steps = _train_arch(arch, dim, data, config, device, tick)
            rows += _rows(target.name, dim, arch, config.widths, params, train, test, sd_test, diverged, steps,
                          time.perf_counter() - t0, config, device)
        for name in config.baselines:
            t0 = time.perf_counter()
            train, test, sizes, params = _baseline(name, dim, data, config)
            no_div = np.zeros_like(test, dtype=bool)
            rows += _rows(target.name, dim, name, sizes, params, train, test, sd_test, no_div, 0,
                          time.perf_counter() - t0, config, device)
    table = pd.DataFrame(rows, columns=COLUMNS)
    prov = provenance(KERNEL, VERSION, config, device)
    prov["elapsed_s"] = round(time.perf_counter() - started, 3)
    result = Result(KERNEL, table, prov, GROUP_BY, SHOW, _notes(table))
    result.fits = fit_table(table, config)
    result.fits_title = "exponent fits: rel_rmse ~ params^(-alpha), 95 % interval from resampling seeds"
    return result


def _rows(target, dim, arch, widths, params, train, test, sd_test, diverged, steps, elapsed, config, device):
    rows = []
    for si, seed in enumerate(config.seeds):
        for j, width in enumerate(widths):
            rows.append({
                "target": target, "dim": dim, "arch": arch, "width": int(width), "seed": seed, "params": int(params[j]),
                "train_rmse": float(train[si, j]), "test_rmse": float(test[si, j]),
                "rel_rmse": float(test[si, j] / sd_test[si]), "steps": steps, "diverged": bool(diverged[si, j]),
                "elapsed_s": round(elapsed, 3), "activation": config.activation, "optimizer": config.optimizer,
                "n_samples": config.n_samples, "device": str(device), "dtype": config.dtype, "kernel_version": VERSION,
            })
    return rows


def fit_table(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One fit per (target, dim, arch): alpha with its interval, the theory exponent and its source."""
    out = []
    opts = TargetOptions(teacher_k=config.teacher_k, q_power_k=config.q_power_k)
    for (target, dim, arch), group in rows.groupby(["target", "dim", "arch"], sort=False):
        wide = lambda col: group.pivot(index="seed", columns="params", values=col)  # noqa: E731
        test = wide("rel_rmse")
        train = wide("train_rmse") / (wide("test_rmse") / test)  # train RMSE on the same relative scale
        # k-NN interpolates (train error 0): its error is estimation error by nature, so no gap rule.
        fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), None if arch == "knn" else train.to_numpy())
        theory = get_target(target).theory(int(dim), opts, arch)
        out.append({
            "target": target, "dim": int(dim), "arch": arch, "alpha": fit.alpha, "alpha_lo": fit.alpha_lo,
            "alpha_hi": fit.alpha_hi, "alpha_theil_sen": fit.alpha_theil_sen,
            "alpha_theory": theory[0] if theory else float("nan"), "theory_source": theory[1] if theory else "",
            "n_widths_used": fit.n_used, "excluded": fit.excluded, "log_c": fit.log_c,
        })
    return pd.DataFrame(out, columns=FIT_COLUMNS)


def _notes(table: pd.DataFrame) -> list[str]:
    notes = []
    if table["diverged"].any():
        notes.append(f"{int(table['diverged'].sum())} model(s) diverged (loss NaN or exploded): flagged, excluded from means and fits.")
    return notes


COLUMNS = ["target", "dim", "arch", "width", "seed", "params", "train_rmse", "test_rmse", "rel_rmse", "steps",
           "diverged", "elapsed_s", "activation", "optimizer", "n_samples", "device", "dtype", "kernel_version"]
FIT_COLUMNS = ["target", "dim", "arch", "alpha", "alpha_lo", "alpha_hi", "alpha_theil_sen", "alpha_theory",
               "theory_source", "n_widths_used", "excluded", "log_c"]
GROUP_BY = ["target", "dim", "arch", "width"]
SHOW = [("params", None), ("train_rmse", None), ("test_rmse", None), ("rel_rmse", None), ("diverged", None)]
