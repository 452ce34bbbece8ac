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

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import torch

from dimcurse import memory, userdata
from dimcurse.experiments.approx import baselines, bridge, inputs
from dimcurse.experiments.approx import gn, lm
from dimcurse.configs import ApproxConfig
from dimcurse.errors import DimcurseError
from dimcurse.parsing import check_counts, check_seeds, did_you_mean
from dimcurse.experiments.approx.fitting import fit_exponent
from dimcurse.nets import ARCHS, get_activation, shallow_params, train_adam, train_lbfgs
from dimcurse.provenance import provenance
from dimcurse.results import Result
from dimcurse.runtime import numpy_rng, resolve_dtype
from dimcurse.experiments.approx.targets import TargetOptions, get_target, is_teacher, target_dims

KERNEL = "approx"
VERSION = 4  # 3: the radial-bump teacher, teacher draws and k lists, Gauss–Newton above LM's size, t intervals;
# 4: learning curves (val_rmse, the samples axis), the inputs' measured ID (the bridge), --inputs; a data file
# trains on every training row
BASELINES = ("random-features", "knn")
OPTIMIZERS = ("auto", "lm", "gn", "adam", "adam+lm", "lbfgs")
DEFAULT_STEPS = 2000  # Adam steps / LBFGS iterations when --steps is not given
DEFAULT_LM_ITERS = 200  # LM iterations when --lm-iters is not given
DEFAULT_GN_ITERS = 150  # Gauss–Newton steps when --gn-iters is not given (60 left models still falling)
MIN_SAMPLES = 2000  # the smallest automatic training set


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


def sample_sizes(config: Config) -> tuple:
    """The sample sizes of a learning curve (two or more --samples), else (None,): one pass as given."""
    sizes = config.n_samples or ()
    return tuple(sorted(sizes)) if len(sizes) > 1 else (None,)


def inputs_label(config: Config) -> str:
    """The rows' ``inputs``: cube (the target's own domain), the --inputs spec, or file (a --data file)."""
    if config.data is not None:
        return "file"
    return "cube" if config.inputs is None else str(config.inputs).strip()


def is_learning_curve(config: Config) -> bool:
    return sample_sizes(config) != (None,)


@functools.lru_cache(maxsize=8)
def _parsed_inputs(spec: str):
    return inputs.parse_inputs(spec)


def _inputs(config: Config):
    """The --inputs point set (parsed once per spec), or None for the target's cube."""
    return None if config.inputs is None else _parsed_inputs(config.inputs)


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


DEFAULT_DIM = 8
MAX_AUTO_WIDTH = 64  # widths 4..64: the range where LM's P^3 cost fits the 3-minute budget at d = 32


@dataclass(frozen=True)
class _FileTarget:
    """A user's regression data in place of a target function: its name and its fixed dimension."""

    name: str
    fixed_dim: int
    tree: bool = False


def _settings(config: Config) -> list[tuple]:
    """(target, dim, k) to run: the targets at their dimensions (teachers at each --teacher-k, others with
    k = None), or the one data file."""
    if config.data is not None:
        data = _user_data(config)
        return [(_FileTarget(data.name, int(data.x.shape[1])), int(data.x.shape[1]), None)]
    out = []
    for name in config.targets:
        target = get_target(name)
        ks = config.teacher_k if is_teacher(target.name) else (None,)
        out += [(target, d, k) for d in _dims_for(config, target) for k in ks]
    return out


def replicates(config: Config, target_name: str) -> list[tuple[int, int]]:
    """(teacher draw, seed) pairs trained as one batch: every draw x seed for a teacher, draw 0 otherwise."""
    draws = range(config.teacher_draws) if is_teacher(target_name) else range(1)
    return [(draw, seed) for draw in draws for seed in config.seeds]


def target_options(config: Config, k: int | None, draw: int = 0) -> TargetOptions:
    """The target's knobs for one (k, draw)."""
    return TargetOptions(teacher_k=k or config.teacher_k[0], teacher_draw=draw, q_power_k=config.q_power_k)


def _user_data(config: Config):
    memory.require(userdata.estimate_bytes(config.data), f"reading {config.data}", "--data")
    return userdata.load(config.data, need_y=True, target_column=config.target_column)


def _dims_for(config: Config, target) -> tuple[int, ...]:
    """The dimensions a target runs at; an explicit --dims that a fixed-d target (or real --inputs) cannot
    take is an error."""
    source = _inputs(config)
    if source is not None and source.fixed_dim:
        if config.dims is not None and set(config.dims) != {source.fixed_dim}:
            raise DimcurseError(f"{source.name} fixes d = {source.fixed_dim}; drop --dims", "--dims")
        return (source.fixed_dim,)
    if config.dims is None:
        return (target.fixed_dim or DEFAULT_DIM,)
    return target_dims(target, config.dims)


def widths_for(config: Config, dim: int) -> tuple[int, ...]:
    """The widths swept at ``dim``: the given ones, or 4, 8, 16, ... while shallow_params <= lm_max_params."""
    if config.widths is not None:
        return config.widths
    widths = [4]
    while widths[-1] * 2 <= MAX_AUTO_WIDTH and shallow_params(dim, widths[-1] * 2) <= config.lm_max_params:
        widths.append(widths[-1] * 2)
    return tuple(widths)


def arch_params(arch: str, dim: int, width: int, depth: int) -> int:
    """Parameters of one model of ``arch`` (without building it)."""
    if arch == "deep":
        return (dim + 1) * width + (depth - 1) * (width + 1) * width + width + 1
    if arch == "tree":
        return (dim - 1) * (4 * width + 1)
    return shallow_params(dim, width)


def samples_for(config: Config, params: int) -> int:
    """Training samples a model of ``params`` parameters gets: --samples, or samples_per_param x params."""
    if config.n_samples is not None:
        return max(config.n_samples)
    return max(MIN_SAMPLES, math.ceil(config.samples_per_param * params))


def _own_samples(config: Config, params: int, pool: int) -> int:
    """Samples a second-order trainer fits a model on: a data file's whole pool (the user gave those rows),
    else samples_for."""
    return pool if config.data is not None and config.n_samples is None else samples_for(config, params)


def pool_size(config: Config, dim: int) -> int:
    """Training samples drawn per seed at ``dim``: enough for the largest model of the sweep."""
    largest = max(arch_params(a, dim, w, config.depth) for a in config.archs for w in widths_for(config, dim))
    return samples_for(config, largest)


def trainer_for(config: Config, arch: str, params: int) -> str:
    """The trainer of one model: auto resolves, for shallow networks, to lm up to lm_max_params and to gn
    (matrix-free Gauss–Newton) above; adam for deep and tree networks."""
    if config.optimizer != "auto":
        return config.optimizer
    if arch != "shallow":
        return "adam"
    return "lm" if params <= config.lm_max_params else "gn"


@dataclass
class _Data:
    """One (target, dim) data set stacked over seeds, with standardised training targets."""

    x_train: torch.Tensor  # (S, n, d), S = teacher draws x seeds
    y_train: torch.Tensor  # (S, n), standardised per replicate
    x_test: torch.Tensor
    y_test: torch.Tensor  # original units
    mean: torch.Tensor  # (S,)
    std: torch.Tensor  # (S,)
    reps: list[tuple[int, int]]  # (teacher draw, seed) of each of the S replicates
    k: int | None = None  # the teacher's intrinsic dimension (None for other targets)
    x_val: torch.Tensor | None = None  # validation inputs (learning curves: they choose the best width)
    y_val: torch.Tensor | None = None  # original units
    ids: dict = dataclasses.field(default_factory=dict)  # the inputs' measured intrinsic dimension (bridge)

    def first(self, n: int) -> "_Data":
        """The same data with each replicate's training pool cut to its first n samples."""
        return dataclasses.replace(self, x_train=self.x_train[:, :n], y_train=self.y_train[:, :n])

    @property
    def y_val_std(self) -> torch.Tensor:
        return (self.y_val.double() - self.mean[:, None].double()) / self.std[:, None].double()

    @property
    def seeds(self) -> list[int]:
        """Each replicate's seed (it draws the samples and the initialisation)."""
        return [seed for _, seed in self.reps]

    @property
    def y_test_std(self) -> torch.Tensor:
        """The test targets standardised like the training ones (float64)."""
        return (self.y_test.double() - self.mean[:, None].double()) / self.std[:, None].double()

    @property
    def sd_test(self) -> np.ndarray:
        """The test targets' sd per seed: what rel_rmse divides by."""
        return robust_sd(self.y_test).cpu().numpy()


def robust_sd(y: torch.Tensor) -> torch.Tensor:
    """Per-row sample sd of (S, n) values in float64, taken of the values over their largest |value|:
    a target of size 1e200 (or 1e-200) would overflow (underflow) when squared."""
    y = y.double()
    top = y.abs().amax(1, keepdim=True).clamp_min(torch.finfo(torch.float64).tiny)
    return (y / top).std(1) * top[:, 0]


def _file_data(config: Config, dtype, device) -> _Data:
    """A user's file split per seed (--test-fraction held out, drawn from the seed and the file's hash; a
    learning curve validates on half of them); features standardised by the training rows, the training
    pool every other row (or the first --samples of them)."""
    data = _user_data(config)
    x_all, y_all = np.asarray(data.x, dtype=np.float64), userdata.check_numeric_target(data.y, data.name)
    n = x_all.shape[0]
    n_held = max(1, int(round(config.test_fraction * n)))
    n_val = n_held // 2 if is_learning_curve(config) else 0
    n_test = n_held - n_val
    if n - n_held < 2 or n_test < 2:  # two to train on, and two to measure rel_rmse (a test sd) on
        raise DimcurseError(
            f"{data.name}: {n} rows split into {n - n_held} for training and {n_test} for testing; "
            "each needs at least 2",
            "--test-fraction",
        )
    pool = file_pool(config, n)
    parts = {"train": [], "test": [], "val": []}
    for seed in config.seeds:
        order = numpy_rng(seed, "split", data.content).permutation(n)
        rows = {"test": order[n_val:n_held], "val": order[:n_val], "train": order[n_held:][:pool]}
        mean, std = x_all[rows["train"]].mean(0), x_all[rows["train"]].std(0)
        std = np.where(std > 0, std, 1.0)
        for name, r in rows.items():
            parts[name].append(((x_all[r] - mean) / std, y_all[r]))
    ys, yts = [y for _, y in parts["train"]], [y for _, y in parts["test"]]
    option = "--target-column" if config.target_column else "--data"
    _check_resolvable(torch.as_tensor(np.stack(ys)), f"the target of {data.name}", option)
    _check_resolvable(torch.as_tensor(np.stack(yts)), f"the test rows' target of {data.name}", "--test-fraction")
    x, y = (torch.as_tensor(np.stack([p[i] for p in parts["train"]])) for i in (0, 1))
    xt, yt = (torch.as_tensor(np.stack([p[i] for p in parts["test"]])) for i in (0, 1))
    mean, std = y.mean(1), robust_sd(y)  # _check_resolvable refused a zero sd
    out = _Data(
        _move(x, dtype, device),
        _move((y - mean[:, None]) / std[:, None], dtype, device),
        _move(xt, dtype, device),
        yt.to(device),
        mean.to(device),
        std.to(device),
        [(0, seed) for seed in config.seeds],
    )
    if n_val:
        out.x_val = _move(torch.as_tensor(np.stack([p[0] for p in parts["val"]])), dtype, device)
        out.y_val = torch.as_tensor(np.stack([p[1] for p in parts["val"]])).to(device)
    # The bridge measures the raw training rows of the first seed, as `dimcurse distance --data` would.
    first = numpy_rng(config.seeds[0], "split", data.content).permutation(n)[n_held:][:pool]
    out.ids = bridge.measure(x_all[first])
    return out


def file_pool(config: Config, n_rows: int) -> int:
    """Training rows per seed of a data file of ``n_rows``: every row not held out, or the largest
    --samples (an error naming the largest possible when the file has fewer)."""
    n_held = max(1, int(round(config.test_fraction * n_rows)))
    available = n_rows - n_held
    if config.n_samples is None:
        return available
    if max(config.n_samples) > available:
        raise DimcurseError(
            f"the data have {available} training rows ({n_rows} rows, {n_held} held out by --test-fraction "
            f"{config.test_fraction}); the largest possible is {available}, got {max(config.n_samples)}",
            "--samples",
        )
    return max(config.n_samples)


RESOLUTION_ULPS = 1000  # a target whose sd is under 1000 float64 ulps of its largest value is a constant


def _check_resolvable(y: torch.Tensor, what: str, option: str) -> None:
    """Refuse, before training, a target that is constant to float64 precision on its samples: its
    relative error would be 0/0 (every width inf or NaN), not an approximation rate."""
    sd, top = robust_sd(y), y.double().abs().amax(1)
    floor = RESOLUTION_ULPS * torch.finfo(torch.float64).eps * top
    if not bool(((sd > floor) & (sd > 0)).all()):
        raise DimcurseError(
            f"{what} is constant to float64 precision on its samples (sd {float(sd.min()):.3g}, "
            f"largest |value| {float(top.max()):.3g}): nothing to approximate",
            option,
        )


def _make_data(target, dim: int, k: int | None, config: Config, dtype, device) -> _Data:
    if isinstance(target, _FileTarget):
        return _file_data(config, dtype, device)
    reps = replicates(config, target.name)
    functions = {draw: target.build(dim, target_options(config, k, draw)) for draw, _ in reps}
    # A seed's samples are the same for every teacher draw: drawn once per seed.
    splits = {s: _split(target, config, dim, s) for s in config.seeds}
    xs, xt = [splits[s].train for _, s in reps], [splits[s].test for _, s in reps]
    y = torch.stack([functions[draw](x) for (draw, _), x in zip(reps, xs)])
    yt = torch.stack([functions[draw](x) for (draw, _), x in zip(reps, xt)])
    option = "--q-power-k" if target.name == "q-power" else "--target"
    _check_resolvable(y, f"target {target.name} at d = {dim}", option)
    _check_resolvable(yt, f"target {target.name} at d = {dim} on the test samples", option)
    mean, std = y.mean(1), robust_sd(y)  # _check_resolvable refused a zero sd
    data = _Data(
        _move(torch.stack(xs), dtype, device),
        _move((y - mean[:, None]) / std[:, None], dtype, device),
        _move(torch.stack(xt), dtype, device),
        yt.to(device),
        mean.to(device),
        std.to(device),
        reps,
        k,
    )
    if is_learning_curve(config):
        xv = [splits[s].val for _, s in reps]
        data.x_val = _move(torch.stack(xv), dtype, device)
        data.y_val = torch.stack([functions[draw](x) for (draw, _), x in zip(reps, xv)]).to(device)
    if config.inputs is not None:
        data.ids = bridge.measure(splits[config.seeds[0]].train)
    return data


def _split(target, config: Config, dim: int, seed: int) -> inputs.Split:
    """One seed's training pool, test and (learning curves) validation inputs: uniform on the target's
    domain, or from --inputs."""
    n, n_test = pool_size(config, dim), config.n_test
    n_val = n_test if is_learning_curve(config) else 0
    source = _inputs(config)
    if isinstance(source, inputs.RowInputs):  # real inputs: hold out --test-fraction of them (at most --test-samples)
        rows = source.x.shape[0]
        n_test = min(n_test, max(2, round(config.test_fraction * rows)))
        n_val = n_test if n_val else 0
        n = n if config.n_samples is not None else min(n, rows - n_test - n_val)
    if source is not None:
        return source.split(seed, dim, n, n_test, n_val, (target.low, target.high))
    return inputs.Split(
        target.sample(n, dim, seed, "train"),
        target.sample(config.n_test, dim, seed, "test"),
        target.sample(n_val, dim, seed, "val"),
    )


def _move(tensor: torch.Tensor, dtype, device) -> torch.Tensor:
    return tensor.to(dtype).to(device)


def _rmse(pred_std: torch.Tensor, data: _Data, test: bool, used: list[int] | None = None) -> np.ndarray:
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


def _val_rmse(pred_std: torch.Tensor, data: _Data) -> np.ndarray:
    """RMSE per (seed, model) on the validation inputs, in the target's units."""
    return np.stack([_std_rmse(pred_std[:, :, j], data.y_val_std, data) for j in range(pred_std.shape[2])], 1)


def _std_rmse(pred_std: torch.Tensor, truth_std: torch.Tensor, data: _Data) -> np.ndarray:
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
class _Trained:
    """Everything the rows need about one architecture's sweep: (S, M) arrays, per-width lists."""

    train: np.ndarray  # RMSE in the target's units on the samples each model saw
    test: np.ndarray
    params: list[int]
    diverged: np.ndarray
    steps: list[int]  # optimiser steps (Adam) + iterations (LM) per width
    optimizer: list[str]
    n_used: list[int]
    loss_drop: np.ndarray  # relative fall of the training loss over the last fifth of training
    decrement: np.ndarray  # Gauss–Newton relative decrease still predicted (NaN where not computed)
    sizes: list[int] | None = None  # the row's "width" where it is not the sweep's (k-NN: training-set sizes)
    val: np.ndarray | None = None  # RMSE on the validation inputs (learning curves), target units


class _Job(NamedTuple):
    """One architecture (or baseline) on one (target, dim): what its trainers and rows share."""

    arch: str
    dim: int
    data: _Data
    config: Config
    device: torch.device | str
    tick: Callable[[float], None] | None


def _train_arch(job: _Job, curves: list | None = None, label: dict | None = None) -> _Trained:
    """Train all widths x seeds of one architecture with the trainers ``trainer_for`` assigns."""
    arch, dim, data, config, device, _ = job
    widths = list(widths_for(config, dim))
    params = [arch_params(arch, dim, w, config.depth) for w in widths]
    plan = [trainer_for(config, arch, p) for p in params]
    if plan[0] == "lbfgs":
        return _train_lbfgs(job, widths, params)
    pool = data.x_train.shape[1]
    second = ("lm", "gn", "adam+lm")
    used = [min(pool, _own_samples(config, p, pool)) if plan[j] in second else pool for j, p in enumerate(params)]
    S, M = len(data.reps), len(widths)
    state = _TrainState(np.zeros((S, M), bool), np.zeros((S, M)), np.full((S, M), np.nan), [0] * M)
    model = _make_model(arch, dim, widths, config, device, data.seeds)
    stage = _stage_shares(config, plan, params, used)
    recorder = (
        _Curves(config, data, label or {}, widths, curves) if curves is not None and config.record_every else None
    )
    adam_js = [j for j, t in enumerate(plan) if t in ("adam", "adam+lm")]
    if adam_js:
        _adam_stage(job._replace(tick=_scaled(job.tick, stage["adam"])), model, widths, adam_js, state, recorder)
    for j in (j for j, t in enumerate(plan) if t in ("lm", "adam+lm")):
        _lm_stage(job._replace(tick=_scaled(job.tick, stage[j])), model, j, used[j], state, recorder)
    for j in (j for j, t in enumerate(plan) if t == "gn"):
        _gn_stage(job._replace(tick=_scaled(job.tick, stage[j])), model, j, used[j], state, recorder)
    pred_train, pred_test = _predict(model, data.x_train[:, : max(used)]), _predict(model, data.x_test)
    train, test = _rmse(pred_train, data, False, used), _rmse(pred_test, data, True)
    val = _val_rmse(_predict(model, data.x_val), data) if data.x_val is not None else None
    for errors in (train, test, val):
        if errors is not None:
            errors[state.diverged] = np.nan
    trained = _Trained(train, test, params, state.diverged, state.steps, plan, used, state.loss_drop, state.decrement)
    trained.val = val
    return trained


def _stage_shares(config: Config, plan: list[str], params: list[int], used: list[int]) -> dict:
    """Each training stage's share of an architecture's progress, by its arithmetic: the Adam stage
    (all its widths at once) as params x samples x steps, an LM width as params² x samples x iterations
    (its Gauss–Newton matrix), a Gauss–Newton width as params x samples x iterations x CG iterations."""
    cost = {}
    adam = [j for j, t in enumerate(plan) if t in ("adam", "adam+lm")]
    if adam:
        cost["adam"] = sum(params[j] * used[j] for j in adam) * (config.steps or DEFAULT_STEPS)
    for j, trainer in enumerate(plan):
        if trainer in ("lm", "adam+lm"):
            cost[j] = params[j] ** 2 * used[j] * (config.lm_iters or DEFAULT_LM_ITERS)
        elif trainer == "gn":
            cost[j] = (
                params[j] * used[j] * (config.gn_iters or DEFAULT_GN_ITERS) * (config.cg_iters or gn.DEFAULT_CG_ITERS)
            )
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
    diverged: np.ndarray
    loss_drop: np.ndarray
    decrement: np.ndarray
    steps: list[int]


def _make_model(arch, dim, widths, config, device, seeds=None):
    seeds = list(config.seeds if seeds is None else seeds)
    model = ARCHS[arch](seeds, dim, list(widths), config.activation, config.depth, resolve_dtype(config.dtype))
    return model.to(device)


KEY_COLUMNS = ["target", "inputs", "dim", "teacher_k", "arch", "width", "draw", "seed"]  # a row's setting, replicate


@dataclass
class _Curves:
    """Training curves of one architecture's sweep: train and test RMSE at recorded steps."""

    config: Config
    data: "_Data"
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

        return (self.config.record_every, record)

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

        return (self.config.record_every, record)

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


def _adam_stage(job: _Job, model, widths: list[int], js: list[int], state: _TrainState, curves=None) -> None:
    """Batched Adam on the widths ``js`` (a sub-model of just those widths starts from the same weights)."""
    arch, dim, data, config, device, tick = job
    steps = config.steps or DEFAULT_STEPS
    sub = (
        model if len(js) == len(widths) else _make_model(arch, dim, [widths[j] for j in js], config, device, data.seeds)
    )
    record = curves.adam(sub, js, 0) if curves is not None else None
    trained = train_adam(sub, data.x_train, data.y_train, steps, config.lr or 3e-3, progress=tick, record=record)
    for k, j in enumerate(js):
        if sub is not model:
            model.load_flat(j, sub.flat(k))
        state.diverged[:, j] = trained.diverged[:, k]
        state.loss_drop[:, j] = _drop(trained.loss_at_80[:, k], trained.train_mse[:, k])
        state.steps[j] += steps
        # The decrement of an Adam-only shallow model (LM's own replaces it after adam+lm).
        small = shallow_params(dim, widths[j]) <= config.lm_max_params
        if config.optimizer != "adam+lm" and arch == "shallow" and small:
            theta = model.flat(j)
            if lm.check_fits(theta.shape[0], data.x_train.shape[1], theta.shape[1], theta.element_size(), device):
                state.decrement[:, j] = lm.decrement(
                    theta, data.x_train, data.y_train, dim, widths[j], _lm_rows(config, theta.shape[1])
                )


def _lm_stage(job: _Job, model, j: int, n_used: int, state: _TrainState, curves=None) -> None:
    """Levenberg–Marquardt for width j of every replicate, on the first ``n_used`` training samples."""
    config, device = job.config, job.device
    theta = model.flat(j)
    # run() already refused a sweep whose largest LM step would not fit; this guards the step itself.
    lm.require_fits(theta.shape[0], n_used, theta.shape[1], theta.element_size(), device)
    train = functools.partial(lm.train_lm, rows=_lm_rows(config, theta.shape[1]))
    _second_order(
        job, model, theta, j, n_used, state, curves=curves, train=train, iters=config.lm_iters or DEFAULT_LM_ITERS
    )


def _gn_stage(job: _Job, model, j: int, n_used: int, state: _TrainState, curves=None) -> None:
    """Matrix-free Gauss–Newton for width j of every replicate, on the first ``n_used`` training samples."""
    config, device = job.config, job.device
    theta = model.flat(j)
    need = gn.step_bytes(theta.shape[0], n_used, model.widths[j], theta.shape[1], theta.element_size())
    memory.require(need, f"a Gauss–Newton step for {theta.shape[1]} parameters", "--widths", device)
    train = functools.partial(gn.train_gn, cg_iters=config.cg_iters or gn.DEFAULT_CG_ITERS)
    _second_order(
        job, model, theta, j, n_used, state, curves=curves, train=train, iters=config.gn_iters or DEFAULT_GN_ITERS
    )


def _second_order(job: _Job, model, theta, j: int, n_used: int, state: _TrainState, *, curves, train, iters: int):
    """Run a second-order trainer (LM or Gauss–Newton: the same signature and result) on width j, from its
    parameters ``theta``, and write its outcome into the model and the sweep's state."""
    dim, data, width = job.dim, job.data, model.widths[j]
    record = curves.lm(j, width, dim, n_used, state.steps[j]) if curves is not None else None
    x, y = data.x_train[:, :n_used], data.y_train[:, :n_used]
    out = train(theta, x, y, dim, width, iters, progress=job.tick, record=record)
    model.load_flat(j, out.theta)
    state.diverged[:, j] |= out.diverged
    state.loss_drop[:, j] = _drop(out.loss_at_80, out.loss)
    state.decrement[:, j] = out.decrement
    state.steps[j] += iters


MIN_GN_ROWS = 3000  # a Gauss–Newton matrix from only ~P samples steered small models into poor minima


def _lm_rows(config: Config, params: int) -> int | None:
    """Samples in LM's Gauss–Newton matrix for a model of ``params`` parameters: lm_rows x params, at least
    3000 (None: all)."""
    return None if config.lm_rows == 0 else max(MIN_GN_ROWS, math.ceil(config.lm_rows * params))


def _drop(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Relative fall of the loss, before / after - 1 (0 when it no longer falls)."""
    with np.errstate(all="ignore"):
        return np.where(after > 0, before / after - 1.0, 0.0)


def _train_lbfgs(job: _Job, widths: list[int], params: list[int]) -> _Trained:
    """LBFGS one model at a time (its line search would couple models sharing a loss)."""
    arch, dim, data, config, device, tick = job
    steps = config.steps or DEFAULT_STEPS

    def make(seeds, some_widths):
        return _make_model(arch, dim, some_widths, config, device, seeds)

    models, trained = train_lbfgs(
        make, data.seeds, widths, data.x_train, data.y_train, steps=steps, lr=config.lr or 1.0, progress=tick
    )
    train = _rmse(_predict_each(models, data.x_train), data, False)
    test = _rmse(_predict_each(models, data.x_test), data, True)
    val = _val_rmse(_predict_each(models, data.x_val), data) if data.x_val is not None else None
    for errors in (train, test, val):
        if errors is not None:
            errors[trained.diverged] = np.nan
    S, M = train.shape
    n = data.x_train.shape[1]
    return _Trained(
        train,
        test,
        params,
        trained.diverged,
        [steps] * M,
        ["lbfgs"] * M,
        [n] * M,
        np.full((S, M), np.nan),
        np.full((S, M), np.nan),
        val=val,
    )


def _baseline(name: str, dim: int, data: _Data, config: Config) -> _Trained:
    """Random features (same widths) on the training pool, or k-NN on nested training sets: sizes matched to
    the networks' parameters, or a learning curve's sample sizes."""
    widths = list(widths_for(config, dim))
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
    return _Trained(
        train, test, params, none.astype(bool), [0] * M, [solver] * M, used, none, none + np.nan, list(sizes), val
    )


def _passes(config: Config, name: str) -> list[tuple]:
    """(config, n, share of the progress) per training pass of one architecture or baseline: one pass as
    given, or one per learning-curve size (each on the pool's first n, its share ∝ n, as the work is);
    k-NN takes every size in one pass."""
    sizes = sample_sizes(config)
    if sizes == (None,) or name == "knn":
        return [(config, None, 1.0)]
    return [(dataclasses.replace(config, n_samples=(n,)), n, n / sum(sizes)) for n in sizes]


def estimate_bytes(config: Config, device: torch.device | str = "cpu") -> tuple[float, str]:
    """Peak bytes of the largest (target, dim): data, every model's parameters with gradients and Adam state
    (16 bytes each), LM's largest step, the random-features activations (float64) and the k-NN distance
    matrices; and the option to lower."""
    settings = _settings(config)
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
    needed, option = estimate_bytes(config, device)
    memory.require(needed, "this sweep", option, device)
    settings = _settings(config)
    names = list(config.archs) + list(config.baselines)
    share = 1.0 / max(1, len(settings) * len(names))  # each (setting, architecture or baseline) alike
    started = time.perf_counter()
    rows, curves = [], []
    for target, dim, k in settings:
        data = _make_data(target, dim, k, config, resolve_dtype(config.dtype), device)
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
    if config.data is not None:
        prov["data"] = _user_data(config).describe()  # name, source, content hash, shape
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


class _Meter:
    """One architecture's share of the progress bar: its trainers tick fractions of their work, and what
    they leave (a baseline, rounding) is given at the end, so the whole run sums to exactly 1."""

    def __init__(self, progress: Callable[[float], None] | None, share: float):
        self.progress, self.share, self.given = progress, share, 0.0

    def tick(self, fraction: float) -> None:
        step = min(fraction * self.share, self.share - self.given)  # never past this architecture's share
        if step > 0 and self.progress is not None:
            self.given += step
            self.progress(step)

    def finish(self) -> None:
        if self.progress is not None and self.share > self.given:
            self.progress(self.share - self.given)
        self.given = self.share


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


ANALYSIS_KEYS = ("target", "inputs", "dim", "teacher_k", "arch", "axis", "fixed")  # the fit table's settings
FIT_KEYS = list(ANALYSIS_KEYS[:5])  # the rows of one exponent: (target, inputs, dim, k, architecture), then the axis
REPLICATE = ["draw", "seed"]  # the replicates an exponent's interval is taken over
MIN_REPLICATES = 5  # below 5 replicates (draws x seeds) the t interval rests on a poorly known spread
ANALYSIS_HIDDEN = ("alpha_theil_sen", "log_c", "id_twonn_lo", "id_twonn_hi")  # in the files, not on screen


MIN_FIT_WIDTHS = 3  # a slope from two points has no interval, and no check of the power law
FITS_TITLE = (
    "exponent fits: rel_rmse ~ size^(-alpha) (size: params, or n on the samples axis), "
    "95 % t interval over draws x seeds"
)


# Diagnostics (docs/references.md, Approximation: leave limited points out of the fit, and say so).
DROP_LIMIT = 0.05  # training loss fell > 5 % over the last fifth of training: still falling
DECREMENT_LIMIT = 0.5  # a Gauss–Newton step still promises to halve the loss: not at a minimum
GAP_LIMIT = 1.5  # test RMSE > 1.5 x train RMSE: the samples, not the width, set the error
PRECISION_ULPS = 10  # train RMSE within 10 eps sqrt(P) of the targets' sd: rounding, not approximation


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


LIMITS = ("optimisation_limited", "estimation_limited", "precision_limited")


def fit_table(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One fit per (target, dim, k, arch) and axis: alpha in params (at each learning-curve n) and, for a
    learning curve, alpha in n (networks and random features at the best width per n by validation, k-NN
    as it is), each with its interval over draws x seeds, the theory exponent and the inputs' measured ID."""
    out = []
    # A learning curve's rows carry validation errors (drawn for it alone): from the rows, so a store's
    # experiment reads the same as the run that wrote it.
    curve = "val_rmse" in rows and bool(rows["val_rmse"].notna().any())
    for key, group in rows.groupby(FIT_KEYS, sort=False, dropna=False):
        arch = dict(zip(FIT_KEYS, key))["arch"]
        if not (curve and arch == "knn"):
            by_n = group.groupby("n_samples", sort=True) if curve else [(None, group)]
            for n, part in by_n:
                if part.width.nunique() >= MIN_FIT_WIDTHS:
                    out.append(_params_fit(key, part, config, "" if n is None else f"n={int(n)}"))
        if curve and (group.n_samples.nunique() >= MIN_FIT_WIDTHS):
            out.append(_samples_fit(key, group, config))
    return pd.DataFrame(out, columns=FIT_COLUMNS)


def _wide(group: pd.DataFrame, col: str, x: str = "params") -> pd.DataFrame:
    return group.pivot(index=REPLICATE, columns=x, values=col)


def _params_fit(key: tuple, group: pd.DataFrame, config: Config, fixed: str) -> dict:
    test = _wide(group, "rel_rmse")
    limited = {name.replace("_", "-"): _wide(group, name).astype(float).to_numpy() for name in LIMITS if name in group}
    fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), limited=limited)
    return _fit_row(key, "params", fixed, fit, group, config)


# On the sample axis the samples set the error (estimation-limited points stay); a point whose best width is the
# widest of the sweep is width-limited and left out.
SAMPLE_LIMITS = ("optimisation_limited", "precision_limited")


def _samples_fit(key: tuple, group: pd.DataFrame, config: Config) -> dict:
    """alpha in n: k-NN's rows as they are; a trained model's best width per (replicate, n), chosen on the
    validation inputs (never the test ones, whose error is the one fitted)."""
    knn = dict(zip(FIT_KEYS, key))["arch"] == "knn"
    chosen, fixed = (group, "") if knn else (best_width_rows(group), "best width")
    test = _wide(chosen, "rel_rmse", "n_samples")
    limited = {
        name.replace("_", "-"): _wide(chosen, name, "n_samples").astype(float).to_numpy()
        for name in SAMPLE_LIMITS
        if name in chosen
    }
    if not knn:  # the widest width chosen: a wider one might do better, so the size, not n, sets it
        widest = chosen.assign(widest=chosen.width == group.width.max())
        limited["width-limited (the widest was best)"] = _wide(widest, "widest", "n_samples").astype(float).to_numpy()
    fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), limited=limited, size="n")
    return _fit_row(key, "samples", fixed, fit, group, config)


def best_width_rows(group: pd.DataFrame) -> pd.DataFrame:
    """Per (replicate, n), the row of the width with the lowest validation RMSE (a learning curve's model
    choice; the test error is what gets fitted, so it must not choose)."""
    return group.loc[group.groupby([*REPLICATE, "n_samples"]).val_rmse.idxmin().dropna()]


def _ids_of(group: pd.DataFrame) -> dict:
    """The inputs' measured ID of a setting (one value per setting; NaN where none was measured)."""
    return {
        c: float(group[c].dropna().iloc[0]) if c in group and group[c].notna().any() else math.nan
        for c in bridge.ID_COLUMNS
    }


def _theory(key: tuple, axis: str, config: Config, ids: dict):
    """The exponent beside a fit: the measured ID's on data (a file, or --inputs for a teacher), the
    target's own on its cube, the sample-axis rates on a learning curve."""
    target, source, dim, k, arch = key
    k = None if pd.isna(k) else int(k)
    on_data, file = source != "cube", source == "file"
    teacher = not file and is_teacher(target)
    if axis == "samples":
        return bridge.sample_theory(arch, k if teacher else None, int(dim), ids if on_data else {})
    if file or (teacher and on_data) or (on_data and arch == "knn"):
        return bridge.id_theory(arch, ids, k if teacher else None)
    return None if file else get_target(target).theory(int(dim), target_options(config, k), arch)


def _fit_row(key: tuple, axis: str, fixed: str, fit, group: pd.DataFrame, config: Config) -> dict:
    target, inputs_label, dim, k, arch = key
    ids = _ids_of(group)
    theory = _theory(key, axis, config, ids)
    return {
        "target": target,
        "inputs": inputs_label,
        "dim": int(dim),
        "teacher_k": k,
        "arch": arch,
        "axis": axis,
        "fixed": fixed,
        "alpha": fit.alpha,
        "alpha_lo": fit.alpha_lo,
        "alpha_hi": fit.alpha_hi,
        "alpha_theil_sen": fit.alpha_theil_sen,
        "alpha_theory": theory[0] if theory else float("nan"),
        "theory_source": theory[1] if theory else "",
        **ids,
        "k_from_alpha": bridge.k_from_alpha(arch, fit.alpha),
        "n_widths_used": fit.n_used,
        "n_replicates": fit.n_replicates,
        "used_params": ",".join(str(p) for p in fit.used),
        "excluded": fit.excluded,
        "caveat": _caveat(fit, theory),
        "log_c": fit.log_c,
    }


def _caveat(fit, theory) -> str:
    """Plain words for an exponent a reader should not take at face value."""
    words = []
    if fit.n_used >= 3 and fit.n_replicates < MIN_REPLICATES:
        words.append(
            f"interval from {fit.n_replicates} replicate(s) (draws x seeds): its width is poorly known below "
            f"{MIN_REPLICATES} (give more --seeds or --teacher-draws)"
        )
    if theory and np.isfinite(fit.alpha_lo) and fit.alpha_lo > theory[0] + 0.05:
        if (theory[2] if len(theory) > 2 else "prediction") == "bound":
            words.append(f"above the theory's {theory[0]:.3g}, a worst case over the class: this target is easier")
        else:
            words.append(
                f"above the predicted {theory[0]:.3g}: this target is simpler than a generic member of "
                "the class, or the widths are pre-asymptotic"
            )
    if np.isfinite(fit.slope_change) and abs(fit.slope_change) > 0.3:
        words.append(
            f"pre-asymptotic: alpha over the wider half differs by {fit.slope_change:+.2f} from the narrower half"
        )
    return "; ".join(words)


def _notes(table: pd.DataFrame, config: Config) -> list[str]:
    notes = []
    on_data = config.data is not None or config.inputs is not None
    if on_data and len(table) and table["id_twonn"].isna().all():
        notes.append(
            f"no intrinsic dimension: the ID is measured on the training inputs ({int(table.n_samples.max())} "
            f"training rows) and TwoNN with the MLE's {bridge.MLE_K} neighbours needs at least {bridge.MLE_K + 2}; "
            "the fits are shown without the ID's prediction."
        )
    if table["diverged"].any():
        notes.append(
            f"{int(table['diverged'].sum())} model(s) diverged (loss NaN or exploded): flagged, excluded "
            "from means and fits."
        )
    for name, why in (
        (
            "optimisation_limited",
            f"the training loss still fell > {DROP_LIMIT:.0%} over the last fifth, "
            f"or a Gauss–Newton step still promised > {DECREMENT_LIMIT:.0%}: more --steps / --lm-iters",
        ),
        ("estimation_limited", f"test RMSE > {GAP_LIMIT} x train RMSE: more --samples"),
        ("precision_limited", "train error at the float's rounding level: --dtype float64"),
    ):
        count = int(table[name].sum())
        if count:
            notes.append(f"{count} of {len(table)} model(s) {name.replace('_', '-')} ({why}).")
    nets = table[table.arch.isin(list(ARCHS))]
    trainers = nets.groupby("arch", sort=False).optimizer.agg(lambda o: "+".join(sorted(set(o))))
    if trainers.nunique() > 1:
        named = ", ".join(f"{arch}: {opt}" for arch, opt in trainers.items())
        notes.append(
            f"the architectures were trained by different trainers ({named}); to compare architectures, "
            "give them one (--optimizer adam)."
        )
    if config.optimizer == "auto":
        big = table[(table.arch == "shallow") & (table.optimizer == "gn")]
        if len(big):
            notes.append(
                f"--optimizer auto trained {big.width.nunique()} shallow width(s) above --lm-max-params "
                f"{config.lm_max_params} with matrix-free Gauss–Newton (LM's cost grows as params^3)."
            )
    return notes


COLUMNS = [
    *KEY_COLUMNS,
    "params",
    "train_rmse",
    "test_rmse",
    "rel_rmse",
    "val_rmse",
    "steps",
    "diverged",
    "loss_drop",
    "gn_decrement",
    "optimisation_limited",
    "estimation_limited",
    "precision_limited",
    "elapsed_s",
    "activation",
    "optimizer",
    "n_samples",
    *bridge.ID_COLUMNS,
    "device",
    "dtype",
    "kernel_version",
]

# The row contract's meaning, one line per column: the docs' column tables are generated from it
# (tools/readme_examples.py --tables) and tests/test_docs.py fails on a column left out.
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
    "optimisation_limited": "not converged: the loss fell > 5 % over the last fifth, or gn_decrement > 1/2",
    "estimation_limited": "test RMSE > 1.5 x train RMSE: the samples, not the width, set the error",
    "precision_limited": "train RMSE within 10 eps sqrt(params) x the targets' sd: rounding sets it",
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
FIT_COLUMNS = [
    "target",
    "inputs",
    "dim",
    "teacher_k",
    "arch",
    "axis",
    "fixed",
    "alpha",
    "alpha_lo",
    "alpha_hi",
    "alpha_theil_sen",
    "alpha_theory",
    "theory_source",
    *bridge.ID_COLUMNS,
    "k_from_alpha",
    "n_widths_used",
    "n_replicates",
    "used_params",
    "excluded",
    "caveat",
    "log_c",
]
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
