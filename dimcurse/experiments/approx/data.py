"""An approx run's data: targets sampled on their domain or on --inputs, or a user's file, split per seed
and standardised."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from dimcurse import userdata
from dimcurse.data import principal_axes
from dimcurse.experiments.approx import bridge, inputs
from dimcurse.configs import ApproxConfig as Config
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx.plan import (
    FileTarget,
    Plan,
    Setting,
    file_split,
    input_source,
    row_inputs_split,
    standardiser,
    target_options,
)


@dataclass
class Data:
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

    def first(self, n: int) -> "Data":
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


def _file_data(config: Config, file, learning_curve: bool, dtype, device, projected=None) -> Data:
    """A user's file split per seed (plan.file_split: --test-fraction held out, drawn from the seed and the
    file's hash; a learning curve validates on half of them); features standardised by the training rows and,
    for a wide file (``projected``), projected onto the training rows' first principal components, each then
    standardised too; the training pool every other row (or the first --samples of them)."""
    data = file
    x_all, y_all = np.asarray(data.x, dtype=np.float64), userdata.check_numeric_target(data.y, data.name)
    n = x_all.shape[0]
    n_held = max(1, int(round(config.test_fraction * n)))
    n_test = n_held - (n_held // 2 if learning_curve else 0)
    if n - n_held < 2 or n_test < 2:  # two to train on, and two to measure rel_rmse (a test sd) on
        raise DimcurseError(
            f"{data.name}: {n} rows split into {n - n_held} for training and {n_test} for testing; "
            "each needs at least 2",
            "--test-fraction",
        )
    parts = {"train": [], "test": [], "val": []}
    splits = {seed: file_split(config, data, seed, learning_curve) for seed in config.seeds}
    for rows in splits.values():
        features = _features(x_all, rows["train"], projected)
        for name, r in rows.items():
            parts[name].append((features(x_all[r]), y_all[r]))
    ys, yts = [y for _, y in parts["train"]], [y for _, y in parts["test"]]
    option = "--target-column" if config.target_column else "--data"
    check_resolvable(torch.as_tensor(np.stack(ys)), f"the target of {data.name}", option)
    check_resolvable(torch.as_tensor(np.stack(yts)), f"the test rows' target of {data.name}", "--test-fraction")
    x, y = (torch.as_tensor(np.stack([p[i] for p in parts["train"]])) for i in (0, 1))
    xt, yt = (torch.as_tensor(np.stack([p[i] for p in parts["test"]])) for i in (0, 1))
    mean, std = y.mean(1), robust_sd(y)  # _check_resolvable refused a zero sd
    out = Data(
        x_train=_move(x, dtype, device),
        y_train=_move((y - mean[:, None]) / std[:, None], dtype, device),
        x_test=_move(xt, dtype, device),
        y_test=yt.to(device),
        mean=mean.to(device),
        std=std.to(device),
        reps=[(0, seed) for seed in config.seeds],
    )
    if parts["val"] and len(parts["val"][0][1]):
        out.x_val = _move(torch.as_tensor(np.stack([p[0] for p in parts["val"]])), dtype, device)
        out.y_val = torch.as_tensor(np.stack([p[1] for p in parts["val"]])).to(device)
    # The bridge measures the raw training rows of the first seed, as `dimcurse distance --data` would.
    out.ids = bridge.measure(x_all[splits[config.seeds[0]]["train"]])
    return out


def _features(x_all: np.ndarray, train: np.ndarray, projected):
    """The map from a file's rows to the network's inputs, fitted on one seed's training rows: each column
    standardised; for a wide file, then projected onto the first ``projected.components`` principal axes of
    those rows and scaled by one factor so their variances average 1. Not whitened: a component keeps its
    share of the variance, as in the standardised columns a network would otherwise see, so the projection
    restricts that network's first layer to the leading components (up to one scale). On 20,000 grey 24 x 24
    objects of 4 factors, whitened components gave alpha 0.527 [0.489, 0.565] and these 0.545 [0.232, 0.859],
    2/ID 0.536: the choice does not set the exponent (docs/approx.md)."""
    mean, std = standardiser(x_all[train])
    if projected is None:
        return lambda rows: (rows - mean) / std
    axes, variances = principal_axes((x_all[train] - mean) / std)
    axes, scale = axes[:, : projected.components], math.sqrt(variances[: projected.components].mean())
    return lambda rows: ((rows - mean) / std) @ axes / scale


RESOLUTION_ULPS = 1000  # a target whose sd is under 1000 float64 ulps of its largest value is a constant


def check_resolvable(y: torch.Tensor, what: str, option: str) -> None:
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


def make_data(plan: Plan, setting: Setting, dtype, device) -> Data:
    """One setting's data, stacked over its replicates: the user's file split per seed, or the target sampled
    on its domain (or on --inputs)."""
    config, target, dim, k = plan.config, setting.target, setting.dim, setting.k
    if isinstance(target, FileTarget):
        return _file_data(config, plan.file, plan.learning_curve, dtype, device, setting.projected)
    reps = list(setting.replicates)
    functions = {draw: target.build(dim, target_options(config, k, draw)) for draw, _ in reps}
    # A seed's samples are the same for every teacher draw: drawn once per seed.
    splits = {s: split_inputs(plan, setting, s) for s in config.seeds}
    xs, xt = [splits[s].train for _, s in reps], [splits[s].test for _, s in reps]
    y = torch.stack([functions[draw](x) for (draw, _), x in zip(reps, xs)])
    yt = torch.stack([functions[draw](x) for (draw, _), x in zip(reps, xt)])
    option = "--q-power-k" if target.name == "q-power" else "--target"
    check_resolvable(y, f"target {target.name} at d = {dim}", option)
    check_resolvable(yt, f"target {target.name} at d = {dim} on the test samples", option)
    mean, std = y.mean(1), robust_sd(y)  # _check_resolvable refused a zero sd
    data = Data(
        x_train=_move(torch.stack(xs), dtype, device),
        y_train=_move((y - mean[:, None]) / std[:, None], dtype, device),
        x_test=_move(torch.stack(xt), dtype, device),
        y_test=yt.to(device),
        mean=mean.to(device),
        std=std.to(device),
        reps=reps,
        k=k,
    )
    if plan.learning_curve:
        xv = [splits[s].val for _, s in reps]
        data.x_val = _move(torch.stack(xv), dtype, device)
        data.y_val = torch.stack([functions[draw](x) for (draw, _), x in zip(reps, xv)]).to(device)
    if config.inputs is not None:
        data.ids = bridge.measure(splits[config.seeds[0]].train)
    return data


def split_inputs(plan: Plan, setting: Setting, seed: int) -> inputs.Split:
    """One seed's training pool, test and (learning curves) validation inputs: uniform on the target's
    domain, or from --inputs."""
    config, target, dim, n = plan.config, setting.target, setting.dim, setting.drawn
    n_test = config.n_test
    n_val = n_test if plan.learning_curve else 0
    source = input_source(config)
    if isinstance(source, inputs.RowInputs):  # real inputs: hold out --test-fraction of them (at most --test-samples)
        n_test, n_val, left = row_inputs_split(config, source.x.shape[0])
        n = n if config.n_samples is not None else min(n, left)
    if source is not None:
        return source.split(seed, dim, n, n_test, n_val, (target.low, target.high))
    return inputs.Split(
        target.sample(n, dim, seed, "train"),
        target.sample(config.n_test, dim, seed, "test"),
        target.sample(n_val, dim, seed, "val"),
    )


def _move(tensor: torch.Tensor, dtype, device) -> torch.Tensor:
    return tensor.to(dtype).to(device)
