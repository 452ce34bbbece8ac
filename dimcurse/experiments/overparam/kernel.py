"""docs/overparam.md · Overparameterised models: test error against size across the interpolation threshold.

Three models, one row per (model, data, label noise, ridge, width, epoch, seed):

- ``linear``: min-norm (or ridge) least squares on isotropic Gaussian features, p
  features against n samples; the measured excess risk ||b_hat - b||^2 beside the
  asymptotic risk of Hastie, Montanari, Rosset & Tibshirani 2019 (``dimcurse.experiments.overparam.theory``).
- ``random-features``: a frozen random ReLU layer of N features, the readout solved in
  closed form (min-norm or ridge, float64) on one-hot labels of a classification set;
  Belkin et al. 2019 place the test-error peak at N = n.
- ``mlp``: fully connected classifiers of every width and seed trained as one batched
  computation (``classifier.train_classifier``) to interpolation.

Every seed draws its own training subset (recorded in the provenance) and its own label
noise; the test set is the data set's own test split, the same for every seed. A summary
table gives, per width, the fraction of seeds that fit the training set and the median
epochs they needed, and marks the interpolation threshold and the test-loss peak.
"""

from __future__ import annotations

import math
import sys
from typing import Callable

import numpy as np
import pandas as pd
import torch

from dimcurse import userdata
from dimcurse.configs import OverparamConfig
from dimcurse.data import CATALOGUE, check_name, spec_shape
from dimcurse.errors import DimcurseError
from dimcurse.experiments import contract
from dimcurse.configs import check_counts, check_seeds
from dimcurse.parsing import did_you_mean
from dimcurse.experiments.overparam.cnn import cnn1d_params, cnn2d_params
from dimcurse.nets import ACTIVATIONS
from dimcurse.experiments.overparam.classifier import Resume, mlp_params
from dimcurse.results import Result
from dimcurse.experiments.overparam.gd import STEPS
from dimcurse.experiments.overparam.models import FEATURE_MAPS, run_knn, run_linear, run_mlp, run_random_features
from dimcurse.experiments.overparam.summary import (
    SETTING,
    theory_notes,
    epochwise_notes,
    samplewise_notes,
    summary_notes,
    summary_table,
)
from dimcurse.experiments.overparam.task import (
    IMAGES,
    INTERPOLATION_RTOL,
    MODELS,
    OWN_DATA,
    SEQUENCES,
    TEACHER_CLASSES,
    TRAINED,
    user_file,
    data_name,
    image_shape,
    load_task,
    n_of,
    per_size,
    widths_for,
    with_sizes,
)
from dimcurse.runtime import resolve_dtype
from dimcurse.experiments.overparam.figure import overparam_figure


# --------------------------------------------------------------------------- contract

KERNEL = "overparam"
VERSION = 3  # 2: theory_risk exact at finite n for min-norm (the limit only for a ridge, flagged); 3: n a list
Config = OverparamConfig  # the settings live in dimcurse.configs, importable without torch (fast --help)
SMOKE = Config(
    model="mlp",
    data="teacher",
    widths=(2, 16, 64),
    n_train=64,
    n_test=64,
    epochs=5,
    batch_size=32,
    teacher_dim=8,
    seeds=(0, 1),
    record_every=2,
)


# --------------------------------------------------------------------------- validate


def validate(config: Config) -> None:
    """Raise ``DimcurseError`` naming the option for anything the kernel cannot run."""
    if config.model not in MODELS:
        raise DimcurseError(
            f"unknown model {config.model!r}{did_you_mean(config.model, MODELS)} (known: {', '.join(MODELS)})",
            "--model",
        )
    check_counts(config, ("depth", "n_test", "epochs", "teacher_dim"))
    if config.widths is not None and (not config.widths or any(w < 1 for w in config.widths)):
        raise DimcurseError("widths must be positive integers", "--widths")
    sizes = config.n_train  # None: a --data file's, set from its rows (task.with_sizes)
    if sizes is not None and (not sizes or any(n < 1 for n in sizes) or len(set(sizes)) != len(sizes)):
        raise DimcurseError("training sizes must be distinct positive integers", "--train-samples")
    check_seeds(config.seeds)
    if not config.label_noise or any(not 0.0 <= p <= 1.0 for p in config.label_noise):
        raise DimcurseError("label noise must be fractions in [0, 1]", "--label-noise")
    if not config.ridge or any(not (r >= 0 and math.isfinite(r)) for r in config.ridge):
        raise DimcurseError("ridge values must be finite and >= 0", "--ridge")
    if not (config.weight_decay >= 0 and math.isfinite(config.weight_decay)):
        raise DimcurseError(f"must be finite and >= 0, got {config.weight_decay}", "--weight-decay")
    _validate_model_options(config)
    resolve_dtype(config.dtype)
    if not 0.0 < config.test_fraction < 1.0:
        raise DimcurseError(f"must lie strictly between 0 and 1, got {config.test_fraction}", "--test-fraction")


def _validate_model_options(config: Config) -> None:
    if config.model == "linear":
        if data_name(config) != "gaussian":
            raise DimcurseError("the linear model runs on isotropic Gaussian features; drop --data", "--data")
        if config.label_noise != (0.0,):
            raise DimcurseError("the linear model has Gaussian noise (--noise-var), not label noise", "--label-noise")
        for name, option in (("signal_var", "--signal-var"), ("noise_var", "--noise-var")):
            value = getattr(config, name)
            if not (value >= 0 and math.isfinite(value)):
                raise DimcurseError(f"must be finite and >= 0, got {value}", option)
    elif data_name(config) == "gaussian":
        raise DimcurseError("gaussian data is for --model linear; use a classification set", "--data")
    else:
        check_name(data_name(config), OWN_DATA)
    if config.feature_map not in FEATURE_MAPS:
        raise DimcurseError(
            f"unknown feature map {config.feature_map!r} (known: {', '.join(FEATURE_MAPS)})", "--feature-map"
        )
    if config.feature_map != "relu" and config.model != "random-features":
        raise DimcurseError("a feature map is for --model random-features", "--feature-map")
    if config.model == "cnn":
        _check_cnn(config)
    if config.augment:
        _check_augment(config)
    if config.lr is not None and not (config.lr > 0 and math.isfinite(config.lr)):
        raise DimcurseError(f"must be positive, got {config.lr}", "--lr")  # a step size, wherever one is used
    if config.model in TRAINED:
        if config.ridge != (0.0,):
            raise DimcurseError(f"the {config.model} is trained, not solved: use --weight-decay", "--ridge")
        if config.optimizer not in ("adam", "sgd"):
            raise DimcurseError(f"unknown optimizer {config.optimizer!r} (adam or sgd)", "--optimizer")
        if config.loss not in ("ce", "mse"):
            raise DimcurseError(f"unknown loss {config.loss!r} (ce or mse)", "--loss")
        if config.activation not in ACTIVATIONS:
            raise DimcurseError(
                f"unknown activation {config.activation!r} (known: {', '.join(ACTIVATIONS)})", "--activation"
            )
        if config.batch_size < 0:
            raise DimcurseError(f"must be at least 0 (0 = full batch), got {config.batch_size}", "--batch-size")
        if config.steps is not None and config.steps < 1:
            raise DimcurseError(f"must be at least 1, got {config.steps}", "--steps")
        if config.record_every < 0:
            raise DimcurseError(f"must be at least 0, got {config.record_every}", "--record-every")
    elif config.model == "linear" and config.steps is not None:
        _check_gradient_descent(config)
    elif config.weight_decay or config.steps is not None or config.record_every:
        raise DimcurseError(
            "--weight-decay, --steps and --record-every are for the trained mlp and cnn, and gradient descent "
            "on the linear model; use --ridge",
            "--model",
        )
    if config.model != "linear" or config.steps is None:
        if config.feature_scales != (1.0,) or config.group_steps != ("same",):
            raise DimcurseError(
                "feature scales and group step sizes are for gradient descent on the linear model "
                "(--model linear --steps N): the closed-form risks are for isotropic features",
                "--feature-scales" if config.feature_scales != (1.0,) else "--group-steps",
            )


MAX_GD_STEPS = 10**9  # gd.simulate runs each step (a p x p product): 1e9 is days; beyond int64 the grid overflowed


def _check_gradient_descent(config: Config) -> None:
    """Gradient descent on the linear model: positive scales, one feature per group at least, no ridge."""
    if not 1 <= config.steps <= MAX_GD_STEPS:
        raise DimcurseError(
            f"must be 1..{MAX_GD_STEPS:.0e} (every step is simulated, and recorded on an int64 grid), "
            f"got {config.steps}",
            "--steps",
        )
    if config.record_every < 0 or config.record_every > config.steps:
        raise DimcurseError(f"must lie in 0..--steps ({config.steps}), got {config.record_every}", "--record-every")
    scales = config.feature_scales
    if not scales or any(not (s > 0 and math.isfinite(s)) for s in scales):
        raise DimcurseError(f"scales must be positive and finite, got {','.join(f'{s:g}' for s in scales)}",
                            "--feature-scales")  # fmt: skip
    if min(widths_for(config)) < len(scales):
        raise DimcurseError(
            f"{len(scales)} scales need at least {len(scales)} features; the narrowest width is "
            f"{min(widths_for(config))}",
            "--feature-scales",
        )
    unknown = [s for s in config.group_steps if s not in STEPS]
    if unknown or not config.group_steps or len(set(config.group_steps)) != len(config.group_steps):
        raise DimcurseError(f"give same and/or equalised, each once (got {','.join(config.group_steps)})",
                            "--group-steps")  # fmt: skip
    if config.ridge != (0.0,):
        raise DimcurseError("gradient descent runs on plain least squares (stopping early is its ridge)", "--ridge")
    if config.weight_decay:
        raise DimcurseError("gradient descent runs on plain least squares; drop --weight-decay", "--weight-decay")


def _check_cnn(config: Config) -> None:
    """The CNN needs sequences or images: refuse anything else, and the mlp's own options."""
    name = data_name(config).partition(":")[0].lower()
    if name not in SEQUENCES and image_shape(config) is None:
        raise DimcurseError(
            f"--model cnn needs sequences ({', '.join(SEQUENCES)}: the MNIST-1D net) or images "
            f"({', '.join(IMAGES)}, or an .npz of n x C x H x W: Nakkiran et al.'s 5-layer net); "
            f"{data_name(config)} is neither",
            "--data",
        )
    if config.depth != 1 or config.activation != "relu":
        raise DimcurseError(
            "the cnn's architecture is fixed (the MNIST-1D paper's net on sequences, Nakkiran et "
            "al.'s 5-layer net on images): drop --depth/--activation",
            "--model",
        )


def _check_augment(config: Config) -> None:
    """Crops and flips need images, and a model trained on mini-batches."""
    if config.model not in TRAINED:
        raise DimcurseError(
            f"augmentation transforms mini-batches; the {config.model} model is solved in closed form", "--augment"
        )
    if image_shape(config) is None:
        raise DimcurseError(
            f"random crops and flips are for images ({', '.join(IMAGES)}, or an .npz of n x C x H x "
            f"W); {data_name(config)} is not an image set",
            "--augment",
        )


# --------------------------------------------------------------------------- memory


def estimate_bytes(config: Config, device: torch.device | str = "cpu", prepared=None) -> tuple[float, str]:
    """Peak bytes of the largest solve or of the batched networks, and the option to lower.

    linear: X, test X and the decomposition of an n x p problem (float64); random features:
    the train and test features of the widest N and an SVD's copies (float64); mlp: every
    model's parameters with gradients and optimiser state (16 bytes each) and the data, at
    the data set's input dimension, plus a mini-batch's activations.
    """
    file = prepared  # the user's file (prepare), or None
    config = with_sizes(config, file)
    if len(config.n_train) > 1:  # sizes run one after another: the largest sets the peak
        return max((estimate_bytes(one, device, file) for one in per_size(config)), key=lambda pair: pair[0])
    n, nt, widest = n_of(config), config.n_test, max(widths_for(config))
    if config.model == "linear":
        return 8 * (3 * n * widest + nt * widest + 2 * min(n, widest) ** 2), "--features"
    if config.model == "random-features":
        return 8 * ((3 * n + nt) * widest + 2 * min(n, widest) ** 2), "--features"
    if config.model == "knn":  # the test-to-training and training-to-training distances, float64, per seed
        return 8 * 2 * (nt + n) * n, "--train-samples"
    kind = data_name(config).partition(":")[0]
    dim = config.teacher_dim if kind == "teacher" else _input_dim(config, file)
    classes = TEACHER_CLASSES if kind == "teacher" else 10
    S, widths = len(config.seeds), widths_for(config)
    batch = n if config.batch_size <= 0 else min(config.batch_size, n)
    image = image_shape(config) if config.model == "cnn" else None
    # A mini-batch's activations are kept for the backward pass: about 4 float32 copies (pre/post activation
    # and their gradients). The CNNs' parameters and maps are padded to at most 1.25x in their buckets.
    if image is not None:  # c HW (1 + 2 + 4/4 + 8/16) maps per model
        dim = image[0] * image[1] * image[2]
        params = S * sum(cnn2d_params(image[0], w, classes) for w in widths) * 16 * 1.6
        activations = S * batch * sum(widths) * 1.25 * 4.5 * image[1] * image[2] * 4 * 4
    elif config.model == "cnn":  # c (19 + 10 + 5) positions per model
        params = S * sum(cnn1d_params(dim, w, classes) for w in widths) * 16 * 1.6
        activations = S * batch * sum(widths) * 1.25 * (19 + 10 + 5) * 4 * 4
    else:
        params = S * sum(mlp_params(dim, w, config.depth, classes) for w in widths) * 16
        activations = S * batch * (config.depth * sum(widths) + len(widths) * classes) * 4 * 4
    data = S * (n + nt) * dim * 12
    return params + activations + data, "--widths" if params + activations > data else "--train-samples"


def _input_dim(config: Config, file=None) -> int:
    """A data set's input dimension before it is read: the catalogue's (after transforms), or the user's file's
    (a registered set: the largest built-in's, the safe side of the estimate)."""
    known = spec_shape(data_name(config))
    if known is not None:
        return known[1]
    if userdata.is_user_data(data_name(config)):
        file = file if file is not None else user_file(config)
        return int(np.prod(file.x.shape[1:]))
    return max(entry.dim for entry in CATALOGUE.values())


def prepare(config: Config):
    """The user's --data file, read once and passed down as the device is (None: a named set or the teacher)."""
    return user_file(config)


# --------------------------------------------------------------------------- run


def run(
    config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None,
    checkpoint: str | None = None,
) -> Result:  # fmt: skip
    """Run the sweep for every training-set size and label-noise level; rows plus the per-width summary.
    ``checkpoint``: a folder that keeps each finished (size, noise) sweep and a trained network's state every
    checkpoint.EVERY_S seconds; the same command given it again resumes there."""
    device, started, file = contract.start(sys.modules[__name__], config, device, f"the {config.model} sweep")
    data = file.describe() if file is not None else None
    saved = contract.checkpoint(sys.modules[__name__], config, device, checkpoint, data=data)
    config = with_sizes(config, file)  # a --data file's default sizes, from its rows
    rows, subsets = [], {}
    share = 1.0 / (len(config.label_noise) * len(config.n_train))
    for one in per_size(config):
        for noise in config.label_noise:
            tick = (lambda f: progress(f * share)) if progress else None
            new, used = _run_saved(one, noise, device, tick, file, saved=saved)
            subsets.update({f"{n_of(one)}:{k}" if len(config.n_train) > 1 else k: v for k, v in used.items()})
            for row in new:
                row.update(label_noise=noise, device=str(device), kernel_version=VERSION)
            rows += new
            if progress is not None and config.model not in TRAINED:
                progress(share)
    # One setting's sweep contiguous, widths in order, each width's epochs together.
    table = pd.DataFrame(rows)[COLUMNS].sort_values(SETTING[2:] + ["width", "epoch", "seed"], kind="stable")
    table = table.reset_index(drop=True)
    widths = {n_of(one): list(widths_for(one)) for one in per_size(config)}
    extra = {
        "widths": widths[config.n_train[0]] if len(widths) == 1 else {str(k): v for k, v in widths.items()},
        "data_set": data_name(config),
        "training_subsets": subsets,
    }
    if file is not None:
        extra["data"] = file.describe()  # the one key for a user's file in every kernel (was "data_file")
    group_by = GROUP_BY_MLP if config.model in TRAINED else GROUP_BY
    if config.model == "linear" and config.steps is None:
        group_by = [c for c in group_by if c != "feature_map"]  # "none": not a setting of the solved linear model
    elif config.model == "linear":
        group_by = [*group_by, "epoch"]  # gradient descent: its feature scales and step sizes, over the steps
    result = contract.finish(
        sys.modules[__name__], config, device, table, started, provenance_extra=extra, group_by=group_by
    )
    result.analysis, result.analysis_title = summary_table(table), ANALYSIS_TITLE
    result.notes += notes(table, result.analysis, config) + contract.resumed(saved)
    if config.model in TRAINED and config.record_every:
        result.tables["curves"] = table[CURVE_COLUMNS].reset_index(drop=True)
    return result


def _run_saved(config: Config, noise: float, device, progress, file=None, *, saved=None) -> tuple[list[dict], dict]:
    """The rows of one training-set size and noise level, and the training subsets drawn; with a checkpoint
    (``saved``), read back when a killed run finished them, else computed (a network resuming from its last
    saved state) and kept."""
    key = ("sweep", n_of(config), float(noise))
    kept = saved.load(key) if saved is not None else None
    if kept is not None:
        if progress is not None and config.model in TRAINED:
            progress(1.0)
        return kept["rows"], kept["used"]
    resume = Resume(saved, ("training", *key[1:])) if saved is not None else None
    rows, used = _run_one(config, noise, device, progress, file, resume)
    if saved is not None:
        saved.save(key, {"rows": rows, "used": used})
        saved.drop(resume.key)
    return rows, used


def _run_one(config: Config, noise: float, device, progress, file=None, resume=None) -> tuple[list[dict], dict]:
    """The rows of one training-set size and noise level, and the training subsets drawn."""
    if config.model == "linear":
        return run_linear(config, device), {}
    task = load_task(config, noise, file)
    used = {str(k): v for k, v in task.subsets.items()}
    if config.model == "random-features":
        return run_random_features(config, task, device), used
    if config.model == "knn":
        return run_knn(config, task, device), used
    return run_mlp(config, task, device, progress, resume), used


def notes(table: pd.DataFrame, summary: pd.DataFrame, config: Config) -> list[str]:
    """The sentences a sweep's rows support (every kernel's notes function has this name): threshold and peaks
    per setting, the infinite theory, and the sample-wise and epoch-wise peaks."""
    return (
        summary_notes(table, summary)
        + theory_notes(table)
        + samplewise_notes(table)
        + epochwise_notes(table, config.n_test)
    )


# --------------------------------------------------------------------------- stored rows


def upgraded(rows: pd.DataFrame) -> pd.DataFrame:
    """Stored rows of an older version with the columns this one groups by: VERSION 2 had no
    feature_map (its random features were all ReLU)."""
    if "feature_map" in rows or not len(rows):
        return rows
    return rows.assign(feature_map=np.where(rows["model"] == "random-features", "relu", "none"))


def analysis(result: Result, config: Config) -> Result:
    """The kernel contract's hook for stored rows: the per-width summary and its sentences."""
    result.rows = upgraded(result.rows)
    if len(result.rows):
        result.analysis, result.analysis_title = summary_table(result.rows), ANALYSIS_TITLE
        result.notes += notes(result.rows, result.analysis, config)
    return result


def figure(result: Result):
    result.rows = upgraded(result.rows)
    return overparam_figure(result)


# --------------------------------------------------------------------------- columns

ANALYSIS_TITLE = (
    "summary: per width (per n, for a sweep over n), the fraction of seeds that fit the training "
    "set, and where the threshold and the peaks are. mark: threshold (the narrowest width all seeds "
    "fit), loss peak and error peak (the width most seeds peak at, counted seed by seed, so it need "
    "not hold the largest mean; over n: the n of the largest mean)"
)
# width is a key: a summary too wide for the terminal repeats it in every panel, beside its mark
ANALYSIS_KEYS = ("model", "data", "label_noise", "ridge", "weight_decay", "n_train", "feature_map", "width")
CURVE_COLUMNS = [
    "model",
    "feature_map",
    "data",
    "augment",
    "label_noise",
    "weight_decay",
    "n_train",
    "width",
    "seed",
    "epoch",
    "train_loss",
    "train_error",
    "test_loss",
    "test_error",
]
TABLES = ("curves",)  # training curves (--record-every, mlp), written beside the rows as FILE.curves.csv
# The row contract's meaning, one line per column: the docs' column tables are generated from it
# (tools/readme_examples.py --tables) and tests/test_docs.py fails on a column left out.
COLUMN_DOCS = {
    "model": "linear, random-features, mlp or cnn",
    "feature_map": "random-features: relu or fourier; linear gradient descent: its feature scales (and equalised "
    "steps); none for the others",
    "data": "the data set (gaussian for linear, or the --data file's stem; ' (raw scales)' with --no-standardise)",
    "augment": "random crops and flips of every mini-batch were on",
    "label_noise": "fraction of training labels replaced by uniformly random ones",
    "ridge": "ridge lambda of the closed-form models (0 = min-norm)",
    "weight_decay": "the trained models' weight decay",
    "width": "the swept size: features (linear, random-features), hidden width (mlp) or channels (cnn)",
    "params": "trainable parameters (the readout's for random features)",
    "params_per_sample": "params / n_train: the interpolation threshold is near 1 for the closed-form models",
    "epoch": "the epoch of a training-curve row (linear gradient descent: the step; 0 for the closed-form models)",
    "seed": "the seed of the training subset, label noise, features and initialisation",
    "n_train": "training samples of the row",
    "train_loss": "training loss: cross-entropy, or the squared loss summed over one-hot classes (mse for linear)",
    "train_error": "training classification error rate (empty for linear)",
    "test_loss": "test loss, as train_loss",
    "test_error": "test classification error rate (empty for linear)",
    "weight_norm": "Euclidean norm of the readout, or of all of a network's parameters",
    "interpolates": (
        f"the model fits its training set (closed form: train MSE <= {INTERPOLATION_RTOL:g} mean(y^2); "
        "nets: train error 0)"
    ),
    "epochs_to_interpolate": "the first recorded epoch with train error 0 (trained models)",
    "excess_risk": "linear: the measured ||b_hat - b||^2",
    "theory_risk": "linear: the exact finite-n min-norm risk, or Hastie et al.'s limit with a ridge; gradient "
    "descent: the exact expected excess risk at that step, given the seed's inputs",
    "theory_risk_limit": "true where theory_risk is the large-n limit (with a ridge), not exact",
    "chance_error": "the error of guessing: 1 - 1/classes",
    "diverged": "a network whose loss or weights became non-finite: isolated, its values empty",
    "elapsed_s": "wall time of the run that produced the row",
    "device": "where the row was computed",
    "depth": "hidden layers of the mlp (cnn: its fixed conv layers)",
    "optimizer": "adam or sgd; closed-form, gd (linear with --steps) or none (knn) for the others",
    "loss": "ce or mse",
    "dtype": "the trained models' precision",
    "kernel_version": "the kernel's VERSION (bumped when its maths changes)",
}
COLUMNS = list(COLUMN_DOCS)  # the row contract: one documented line per column, in the rows' order
_NOT_CLASSIFIED = "the linear model and random features regress: no classification error"
NULLABLE = {
    "train_error": _NOT_CLASSIFIED,
    "test_error": _NOT_CLASSIFIED,
    "chance_error": _NOT_CLASSIFIED,
    "epochs_to_interpolate": "never reached within --epochs, or not trained by epochs",
    "excess_risk": "only the linear model on its Gaussian task knows the Bayes risk",
    "theory_risk": "closed form only for the linear model; its expectation is infinite at |p - n| <= 1 (a note)",
    "weight_norm": "no weights (the knn model stores its training points), or the model diverged (flagged diverged)",
    "train_loss": ("the model diverged", "diverged"),
    "test_loss": ("the model diverged", "diverged"),
}
"""Columns that may be undefined (NaN), and why; (reason, flag): only on rows where the flag is set."""
# Inputs of a row (not measurements): report never averages over one that varies within a group.
SETTINGS = [
    "model",
    "feature_map",
    "data",
    "augment",
    "label_noise",
    "ridge",
    "weight_decay",
    "width",
    "params",
    "params_per_sample",
    "epoch",
    "n_train",
    "depth",
    "optimizer",
    "loss",
    "dtype",
    "kernel_version",
]
GROUP_BY = ["model", "feature_map", "data", "label_noise", "ridge", "n_train", "width", "params_per_sample"]
GROUP_BY_MLP = [
    "model",
    "data",
    "augment",
    "label_noise",
    "weight_decay",
    "n_train",
    "width",
    "params_per_sample",
    "epoch",
]
REPORT_GROUP_BY = list(dict.fromkeys(GROUP_BY + GROUP_BY_MLP))  # a store may hold both kinds of run
SHOW = [
    ("train_loss", None),
    ("train_error", None),
    ("test_loss", None),
    ("test_error", None),
    ("excess_risk", "theory_risk"),
    ("weight_norm", None),
    ("interpolates", None),
    ("epochs_to_interpolate", None),
]
