"""Training an approx sweep: every width x seed of one architecture as one batched computation, with the
trainers (Adam, Levenberg–Marquardt, Gauss–Newton, LBFGS) and the baselines; progress and curves."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch

from dimcurse import memory
from dimcurse.experiments.approx import baselines
from dimcurse.experiments.approx import gn, lm
from dimcurse.experiments.approx.lm import Record
from dimcurse.configs import ApproxConfig as Config
from dimcurse.experiments.approx.networks import ARCHS, shallow_params, train_adam, train_lbfgs
from dimcurse.runtime import resolve_dtype
from dimcurse.experiments.approx.plan import (
    DEFAULT_GN_ITERS,
    DEFAULT_LM_ITERS,
    DEFAULT_STEPS,
    arch_params,
    is_learning_curve,
    lm_rows,
    own_samples,
    sample_sizes,
    stage_work,
    trainer_for,
)
from dimcurse.experiments.approx.convergence import CONVERGED_DROP, held_out_drop
from dimcurse.experiments.approx.data import Data


def _rmse(pred_std: torch.Tensor, data: Data, test: bool, used: list[int] | None = None) -> np.ndarray:
    """RMSE in the target's units per (seed, model) from standardised predictions (S, n, M).

    ``used``: training samples model j saw (its RMSE is over those only); None = all. Taken in
    standardised units and then times the sd, so a target of size 1e200 does not overflow.
    """
    truth = data.y_test_std if test else data.y_train[:, : pred_std.shape[1]].double()
    out = np.zeros((pred_std.shape[0], pred_std.shape[2]))
    for j in range(pred_std.shape[2]):
        n = pred_std.shape[1] if used is None else used[j]
        out[:, j] = _std_rmse(pred_std[:, :n, j], truth[:, :n], data)
    return out


def _val_rmse(pred_std: torch.Tensor, data: Data) -> np.ndarray:
    """RMSE per (seed, model) on the validation inputs, in the target's units."""
    return np.stack([_std_rmse(pred_std[:, :, j], data.y_val_std, data) for j in range(pred_std.shape[2])], 1)


def _std_rmse(pred_std: torch.Tensor, truth_std: torch.Tensor, data: Data) -> np.ndarray:
    """RMSE per seed in the target's units of standardised predictions against standardised truth."""
    err = pred_std.double() - truth_std.double()
    return (torch.sqrt((err**2).mean(1)) * data.std.double()).cpu().numpy()


def _predict(model, x: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(x[:, s : s + chunk]) for s in range(0, x.shape[1], chunk)], 1)


def _predict_each(models: dict, x: torch.Tensor) -> torch.Tensor:
    """Predictions (S, n, M) of single models keyed by (seed index, width index)."""
    S, M = max(s for s, _ in models) + 1, max(j for _, j in models) + 1
    return torch.stack([torch.cat([_predict(models[(s, j)], x[s : s + 1])[0] for j in range(M)], 1) for s in range(S)])


@dataclass
class Trained:
    """Everything the rows need about one architecture's sweep: (S, M) arrays, per-width lists."""

    train: np.ndarray  # RMSE in the target's units on the samples each model saw
    test: np.ndarray
    params: list[int]
    diverged: np.ndarray
    steps: np.ndarray  # (S, M) optimiser steps (Adam) + iterations (LM, Gauss–Newton) per model
    optimizer: list[str]
    n_used: list[int]
    loss_drop: np.ndarray  # relative fall of the training loss over the last fifth of training
    decrement: np.ndarray  # Gauss–Newton relative decrease still predicted (NaN where not computed)
    converged: np.ndarray  # (S, M) bool: the trainer's rule met before its cap (convergence.py)
    test_drop: np.ndarray  # (S, M) relative fall of the test RMSE over the second half of training (NaN: none)
    sizes: list[int] | None = None  # the row's "width" where it is not the sweep's (k-NN: training-set sizes)
    val: np.ndarray | None = None  # RMSE on the validation inputs (learning curves), target units


class Sweep(NamedTuple):
    """One architecture's widths (or a baseline) on one (target, dim): what its trainers and rows share."""

    arch: str
    dim: int
    widths: tuple[int, ...]
    data: Data
    config: Config
    device: torch.device | str
    tick: Callable[[float], None] | None


@dataclass
class Resume:
    """Where one sweep keeps its finished stages (``--checkpoint``): the models, their state and the curves
    after the batched Adam stage and after each width's second-order stage."""

    checkpoint: object  # dimcurse.checkpoint.Checkpoint
    key: tuple
    curves: list  # the run's curve rows ...
    start: int  # ... of which this sweep's begin here

    def load(self, model, state: "_TrainState") -> set:
        """Put the saved models and state in place; the stages already done (empty: none)."""
        kept = self.checkpoint.load(self.key)
        if kept is None:
            return set()
        model.load_state_dict(kept["model"])
        for name, value in kept["state"].items():
            getattr(state, name)[...] = value
        self.curves[self.start :] = kept["curves"]
        return kept["done"]

    def save(self, model, state: "_TrainState", done: set) -> None:
        value = {
            "model": model.state_dict(), "state": dataclasses.asdict(state), "done": set(done),
            "curves": self.curves[self.start :],
        }  # fmt: skip
        self.checkpoint.save(self.key, value)


def train_arch(
    job: Sweep, curves: list | None = None, label: dict | None = None, resume: Resume | None = None
) -> Trained:
    """Train all widths x seeds of one architecture with the trainers ``trainer_for`` assigns; with ``resume``,
    skip the stages a killed run finished (their models and state read back) and save each one it ends."""
    arch, dim, widths, data, config, device, _ = job
    widths = list(widths)
    params = [arch_params(arch, dim, w, config.depth) for w in widths]
    plan = [trainer_for(config, arch, p) for p in params]
    if plan[0] == "lbfgs":
        return _train_lbfgs(job, widths, params)
    pool = data.x_train.shape[1]
    second = ("lm", "gn", "adam+lm")
    used = [min(pool, own_samples(config, p, pool)) if plan[j] in second else pool for j, p in enumerate(params)]
    S, M = len(data.reps), len(widths)
    state = _TrainState.empty(S, M)
    model = _make_model(arch, dim, widths, config, device, data.seeds)
    stage = _stage_shares(config, arch, dim, widths, used, data.x_test.shape[1])
    recorder = (
        _Curves(config, data, label or {}, widths, curves) if curves is not None and config.record_every else None
    )
    adam_js = [j for j, t in enumerate(plan) if t in ("adam", "adam+lm")]
    stages = [("adam", None)] if adam_js else []
    stages += [("lm", j) for j, t in enumerate(plan) if t in ("lm", "adam+lm")]
    stages += [("gn", j) for j, t in enumerate(plan) if t == "gn"]
    done = resume.load(model, state) if resume is not None else set()
    for name, j in stages:
        share = stage["adam" if j is None else j]
        if (name, j) in done:
            if job.tick is not None:
                job.tick(share)
            continue
        sub = job._replace(tick=_scaled(job.tick, share))
        if name == "adam":
            _adam_stage(sub, model, widths, adam_js, state, recorder)
        elif name == "lm":
            _lm_stage(sub, model, j, used[j], state, recorder)
        else:
            _gn_stage(sub, model, j, used[j], state, recorder)
        done.add((name, j))
        if resume is not None and len(done) < len(stages):  # the last one: the job's rows are saved instead
            resume.save(model, state, done)
    pred_train, pred_test = _predict(model, data.x_train[:, : max(used)]), _predict(model, data.x_test)
    train, test = _rmse(pred_train, data, False, used), _rmse(pred_test, data, True)
    val = _val_rmse(_predict(model, data.x_val), data) if data.x_val is not None else None
    for errors in (train, test, val):
        if errors is not None:
            errors[state.diverged] = np.nan
    return Trained(
        train=train, test=test, params=params, diverged=state.diverged, steps=state.steps, optimizer=plan,
        n_used=used, loss_drop=state.loss_drop, decrement=state.decrement, val=val, converged=state.converged,
        test_drop=state.test_drop,
    )  # fmt: skip


def _stage_shares(config: Config, arch: str, dim: int, widths: list[int], used: list[int], n_test: int) -> dict:
    """Each training stage's share of an architecture's progress, by its estimated time (plan.stage_work): the
    Adam stage (all its widths at once), then each LM or Gauss–Newton width."""
    cost = stage_work(config, arch, dim, widths, used, n_test)
    total = sum(cost.values()) or 1.0
    return {key: value / total for key, value in cost.items()}


def _scaled(tick: Callable[[float], None] | None, share: float) -> Callable[[float], None] | None:
    """A progress callback whose whole (fractions summing to 1) is ``share`` of ``tick``'s."""
    if tick is None:
        return None

    def scaled(fraction: float) -> None:
        tick(fraction * share)

    return scaled


@dataclass
class _TrainState:
    """(S, M) arrays the stages of one architecture's sweep fill in, model by model."""

    diverged: np.ndarray
    loss_drop: np.ndarray
    decrement: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    test_drop: np.ndarray

    @classmethod
    def empty(cls, S: int, M: int) -> "_TrainState":
        nan = np.full((S, M), np.nan)
        return cls(
            np.zeros((S, M), bool), np.zeros((S, M)), nan.copy(), np.zeros((S, M), int), np.zeros((S, M), bool), nan
        )


def _make_model(arch, dim, widths, config, device, seeds=None):
    seeds = list(config.seeds if seeds is None else seeds)
    model = ARCHS[arch](seeds, dim, list(widths), config.activation, config.depth, resolve_dtype(config.dtype))
    return model.to(device)


KEY_COLUMNS = ["target", "inputs", "dim", "teacher_k", "arch", "width", "draw", "seed"]  # a row's setting, replicate


@dataclass
class _Curves:
    """Training curves of one architecture's sweep: train and test RMSE at recorded steps."""

    config: Config
    data: "Data"
    label: dict  # target, dim, arch
    widths: list[int]
    rows: list[dict]

    def adam(self, sub, js: list[int], offset: int):
        """The record callback of a batched Adam stage over widths ``js``."""

        def record(step: int) -> None:
            train = _rmse(_predict(sub, self.data.x_train), self.data, False)
            test = _rmse(_predict(sub, self.data.x_test), self.data, True)
            for k, j in enumerate(js):
                self._add(j, offset + step, "adam", train[:, k], test[:, k])

        return Record(self.config.record_every, record)

    def lm(self, j: int, width: int, dim: int, n_used: int, offset: int):
        """The record callback of LM on width ``j`` (its training samples: the first ``n_used``)."""
        data = self.data
        y_test = data.y_test_std  # standardised, as LM's targets

        def record(it: int, theta: torch.Tensor) -> None:
            if it == 0 and offset:
                return  # after an Adam stage: its last record is this point
            chunk = max(1, lm.ROW_CHUNK_ELEMS // max(1, theta.numel()))
            std = data.std.double().cpu().numpy()
            train = lm.mse(theta, data.x_train[:, :n_used], data.y_train[:, :n_used], dim, width, chunk)
            test = lm.mse(theta, data.x_test, y_test.to(data.x_test.dtype), dim, width, chunk)
            self._add(j, offset + it, "lm", np.sqrt(train.cpu().numpy()) * std, np.sqrt(test.cpu().numpy()) * std)

        return Record(self.config.record_every, record)

    def _add(self, j: int, step: int, trainer: str, train: np.ndarray, test: np.ndarray) -> None:
        sd = self.data.sd_test
        for si, (draw, seed) in enumerate(self.data.reps):
            self.rows.append(
                {
                    **self.label,
                    "width": self.widths[j],
                    "draw": draw,
                    "seed": seed,
                    "step": step,
                    "trainer": trainer,
                    "train_rmse": float(train[si]),
                    "test_rmse": float(test[si]),
                    "rel_rmse": float(test[si] / sd[si]),
                }
            )


CURVE_COLUMNS = [*KEY_COLUMNS, "n_samples", "step", "trainer", "train_rmse", "test_rmse", "rel_rmse"]


def _adam_stage(job: Sweep, model, widths: list[int], js: list[int], state: _TrainState, curves=None) -> None:
    """Batched Adam on the widths ``js`` (a sub-model of just those widths starts from the same weights)."""
    arch, dim, _, data, config, device, tick = job
    steps = config.steps or DEFAULT_STEPS
    sub = (
        model if len(js) == len(widths) else _make_model(arch, dim, [widths[j] for j in js], config, device, data.seeds)
    )
    record = curves.adam(sub, js, 0) if curves is not None else None
    half = []  # the test RMSE halfway: only the flag reads it (convergence.py)

    def halfway() -> None:
        half.append(_rmse(_predict(sub, data.x_test), data, True))

    lr = config.lr or 3e-3
    trained = train_adam(sub, data.x_train, data.y_train, steps, lr, progress=tick, record=record, halfway=halfway)
    final = _rmse(_predict(sub, data.x_test), data, True)
    for k, j in enumerate(js):
        if sub is not model:
            model.load_flat(j, sub.flat(k))
        state.diverged[:, j] = trained.diverged[:, k]
        state.loss_drop[:, j] = _drop(trained.loss_at_80[:, k], trained.train_mse[:, k])
        state.converged[:, j] = state.loss_drop[:, j] < CONVERGED_DROP
        state.test_drop[:, j] = _drop(half[0][:, k], final[:, k]) if half else np.nan
        state.steps[:, j] += steps
        # The decrement of an Adam-only shallow model (LM's own replaces it after adam+lm).
        small = shallow_params(dim, widths[j]) <= config.lm_max_params
        if config.optimizer != "adam+lm" and arch == "shallow" and small:
            theta = model.flat(j)
            if lm.check_fits(theta.shape[0], data.x_train.shape[1], theta.shape[1], theta.element_size(), device):
                state.decrement[:, j] = lm.decrement(
                    theta, data.x_train, data.y_train, dim, widths[j], lm_rows(config, theta.shape[1])
                )


def _lm_stage(job: Sweep, model, j: int, n_used: int, state: _TrainState, curves=None) -> None:
    """Levenberg–Marquardt for width j of every replicate, on the first ``n_used`` training samples."""
    config, device = job.config, job.device
    theta = model.flat(j)
    # run() already refused a sweep whose largest LM step would not fit; this guards the step itself.
    lm.require_fits(theta.shape[0], n_used, theta.shape[1], theta.element_size(), device)
    train = functools.partial(lm.train_lm, rows=lm_rows(config, theta.shape[1]))
    _second_order(
        job, model, theta, j, n_used, state, curves=curves, train=train, iters=config.lm_iters or DEFAULT_LM_ITERS
    )


def _gn_stage(job: Sweep, model, j: int, n_used: int, state: _TrainState, curves=None) -> None:
    """Matrix-free Gauss–Newton for width j of every replicate, on the first ``n_used`` training samples."""
    config, device = job.config, job.device
    theta = model.flat(j)
    need = gn.step_bytes(theta.shape[0], n_used, model.widths[j], theta.shape[1], theta.element_size())
    memory.require(need, f"a Gauss–Newton step for {theta.shape[1]} parameters", "--widths", device)
    cg_iters = config.cg_iters or gn.DEFAULT_CG_ITERS
    train = functools.partial(gn.train_gn, cg_iters=cg_iters, rows=lm_rows(config, theta.shape[1]))
    _second_order(
        job, model, theta, j, n_used, state, curves=curves, train=train, iters=config.gn_iters or DEFAULT_GN_ITERS
    )


def _second_order(job: Sweep, model, theta, j: int, n_used: int, state: _TrainState, *, curves, train, iters: int):
    """Run a second-order trainer (LM or Gauss–Newton: the same signature and result) on width j, from its
    parameters ``theta``, and write its outcome into the model and the sweep's state."""
    dim, data, width = job.dim, job.data, model.widths[j]
    record = curves.lm(j, width, dim, n_used, int(state.steps[:, j].max())) if curves is not None else None
    x, y = data.x_train[:, :n_used], data.y_train[:, :n_used]
    held_out = (data.x_test, data.y_test_std)  # for the flag only (convergence.py)
    out = train(theta, x, y, dim, width, iters, tol=CONVERGED_DROP, held_out=held_out, progress=job.tick, record=record)
    model.load_flat(j, out.theta)
    state.diverged[:, j] |= out.diverged
    state.loss_drop[:, j] = _drop(out.loss_at_80, out.loss)
    state.decrement[:, j] = out.decrement
    state.steps[:, j] += out.iters
    state.converged[:, j] = out.converged
    state.test_drop[:, j] = held_out_drop(out.held_at_half, out.held_final)


def _drop(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Relative fall of the loss, before / after - 1 (0 when it no longer falls)."""
    with np.errstate(all="ignore"):
        return np.where(after > 0, before / after - 1.0, 0.0)


def _train_lbfgs(job: Sweep, widths: list[int], params: list[int]) -> Trained:
    """LBFGS one model at a time (its line search would couple models sharing a loss)."""
    arch, dim, _, data, config, device, tick = job
    steps = config.steps or DEFAULT_STEPS
    S, M = len(data.reps), len(widths)
    half = np.full((S, M), np.nan)  # the test RMSE halfway: only the flag reads it (convergence.py)

    def make(seeds, some_widths):
        return _make_model(arch, dim, some_widths, config, device, seeds)

    def halfway(si: int, j: int, model) -> None:
        pred = _predict(model, data.x_test[si : si + 1])
        half[si, j] = _std_rmse(pred[:, :, 0], data.y_test_std[si : si + 1], _one(data, si))[0]

    models, trained = train_lbfgs(
        make, data.seeds, widths, data.x_train, data.y_train, steps=steps, lr=config.lr or 1.0, progress=tick,
        halfway=halfway,
    )  # fmt: skip
    train = _rmse(_predict_each(models, data.x_train), data, False)
    test = _rmse(_predict_each(models, data.x_test), data, True)
    val = _val_rmse(_predict_each(models, data.x_val), data) if data.x_val is not None else None
    for errors in (train, test, val):
        if errors is not None:
            errors[trained.diverged] = np.nan
    n = data.x_train.shape[1]
    return Trained(
        train=train, test=test, params=params, diverged=trained.diverged, steps=np.full((S, M), steps),
        optimizer=["lbfgs"] * M, n_used=[n] * M, loss_drop=np.full((S, M), np.nan),
        decrement=np.full((S, M), np.nan), val=val, converged=trained.converged, test_drop=_drop(half, test),
    )  # fmt: skip


def _one(data: Data, si: int) -> Data:
    """Replicate ``si`` of the data alone (its scale: for one model's RMSE in the target's units)."""
    return dataclasses.replace(data, std=data.std[si : si + 1], mean=data.mean[si : si + 1])


def train_baseline(job: Sweep) -> Trained:
    """Random features (same widths) on the training pool, or k-NN on nested training sets: sizes matched to
    the networks' parameters, or a learning curve's sample sizes."""
    name, dim, widths, data, config, _, _ = job
    widths = list(widths)
    n = data.x_train.shape[1]
    S = len(data.reps)
    val = None
    if name == "random-features":
        n_test = data.x_test.shape[1]
        x_eval = data.x_test if data.x_val is None else torch.cat([data.x_test, data.x_val], 1)
        pred_train, pred_eval = baselines.random_features(
            data.seeds, dim, widths, config.activation, x_train=data.x_train, y_train=data.y_train, x_test=x_eval
        )
        if data.x_val is not None:
            val = _val_rmse(pred_eval[:, n_test:], data)
        params = [shallow_params(dim, w) for w in widths]
        train, test = _rmse(pred_train, data, False), _rmse(pred_eval[:, :n_test], data, True)
        sizes, solver, used = widths, "lstsq", [n] * len(widths)
    else:
        if is_learning_curve(config):
            sizes = [m for m in sample_sizes(config) if m <= n]
        else:
            sizes = baselines.knn_sizes([shallow_params(dim, w) for w in widths], dim, n)
        trains, pred_test = baselines.knn_regression(data.x_train, data.y_train, data.x_test, sizes, config.knn_k)
        train = np.stack([_std_rmse(t, data.y_train[:, : t.shape[1]], data) for t in trains], 1)
        test, params, solver = _rmse(pred_test, data, True), [m * (dim + 1) for m in sizes], "none"
        used = list(sizes) if is_learning_curve(config) else [n] * len(sizes)
    M = len(sizes)
    none = np.zeros((S, M))
    return Trained(
        train=train, test=test, params=params, diverged=none.astype(bool), steps=none.astype(int),
        optimizer=[solver] * M, n_used=used, loss_drop=none, decrement=none + np.nan, sizes=list(sizes), val=val,
        converged=none == 0, test_drop=none + np.nan,  # solved in closed form (least squares) or not trained (k-NN)
    )  # fmt: skip


ROUNDING = 1e-12  # a remainder of the bar this small is the shares' rounding, not work left


class Budget:
    """A run's progress in units of estimated work (plan.stage_work's seconds): each job's share is its work
    over the total, so the bar's rate is the run's. Work added later (a learning curve's extended widths)
    takes its share from what is left: the bar never goes back, and it ends at exactly 1."""

    def __init__(self, progress: Callable[[float], None] | None, total: float):
        self.progress, self.total, self.spent, self.shown = progress, max(total, 1e-300), 0.0, 0.0

    def grow(self, work: float) -> None:
        self.total += work

    def advance(self, work: float) -> None:
        rate = (1.0 - self.shown) / max(self.total - self.spent, 1e-300)
        step = min(work * rate, 1.0 - self.shown)
        self.spent += work
        if step > 0 and self.progress is not None:
            self.shown += step
            self.progress(step)

    def finish(self) -> None:
        if self.progress is not None and self.shown < 1.0 - ROUNDING:  # not a tick of the sum's last bit
            self.progress(1.0 - self.shown)
        self.shown = 1.0

    def job(self, work: float) -> "Meter":
        return Meter(self, work)


class Meter:
    """One job's part of the budget: its trainers tick fractions of the job (summing to 1), and what they leave
    (a baseline, models that stopped early, rounding) is given at the end."""

    def __init__(self, budget: Budget, work: float):
        self.budget, self.work, self.given = budget, work, 0.0

    def tick(self, fraction: float) -> None:
        step = min(fraction * self.work, self.work - self.given)  # never past this job's work
        if step > 0:
            self.given += step
            self.budget.advance(step)

    def finish(self) -> None:
        if self.work - self.given > ROUNDING * self.work:
            self.budget.advance(self.work - self.given)
        self.given = self.work
