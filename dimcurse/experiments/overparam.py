"""Overparameterised models: test error against size across the interpolation threshold.

Three models, one row per (model, data, label noise, ridge, width, epoch, seed):

- ``linear``: min-norm (or ridge) least squares on isotropic Gaussian features, p
  features against n samples; the measured excess risk ||b_hat - b||^2 beside the
  asymptotic risk of Hastie, Montanari, Rosset & Tibshirani 2019 (``dimcurse.ridge``).
- ``random-features``: a frozen random ReLU layer of N features, the readout solved in
  closed form (min-norm or ridge, float64) on one-hot labels of a classification set;
  Belkin et al. 2019 place the test-error peak at N = n.
- ``mlp``: fully connected classifiers of every width and seed trained as one batched
  computation (``dimcurse.nets.train_classifier``) to interpolation.

Every seed draws its own training subset (recorded in the provenance) and its own label
noise; the test set is the data set's own test split, the same for every seed. A summary
table gives, per width, the fraction of seeds that fit the training set and the median
epochs they needed, and marks the interpolation threshold and the test-loss peak.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from dimcurse import memory, userdata
from dimcurse.data import load_dataset, validate_finite
from dimcurse.configs import OverparamConfig
from dimcurse.errors import DimcurseError
from dimcurse.parsing import check_counts, check_seeds, did_you_mean
from dimcurse.cnn import CNN1DClassifier, CNN2DClassifier, cnn1d_params, cnn2d_params, crop_and_flip
from dimcurse.nets import ACTIVATIONS, EXPLODE, MLPClassifier, mlp_params, train_classifier
from dimcurse.provenance import provenance
from dimcurse.results import Result
from dimcurse.ridge import RidgePath, hastie_risk, minnorm_risk_exact
from dimcurse.runtime import generator, numpy_rng, resolve_dtype

KERNEL = "overparam"
VERSION = 3  # 2: theory_risk exact at finite n for min-norm (the limit only for a ridge, flagged); 3: n a list
MODELS = ("linear", "random-features", "mlp", "cnn")
TRAINED = ("mlp", "cnn")  # trained by mini-batch AdamW/SGD over epochs (the others are solved in closed form)
SEQUENCES = ("mnist1d",)  # the data sets the 1-D CNN takes: sequences of one channel
IMAGES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}  # (C, H, W)
CNN_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
DATA = ("mnist1d", "digits", "teacher", "mnist:DIR", "fashion-mnist:DIR", "cifar10:DIR")
# Default sweeps as multiples of the training-set size: dense around the threshold (1.0).
LINEAR_GAMMAS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0, 4.0, 10.0)
FEATURE_RATIOS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 4.0, 10.0, 20.0)
MLP_WIDTHS = (4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048)
INTERPOLATION_RTOL = 1e-8  # closed-form models fit when train MSE <= this x mean(y^2)


Config = OverparamConfig  # the settings live in dimcurse.configs, importable without torch (fast --help)


OPTION = {"depth": "--depth", "n_test": "--test-samples", "epochs": "--epochs",
          "teacher_dim": "--teacher-dim"}
TEACHER_CLASSES = 10
TEACHER_WIDTH = 32

SMOKE = Config(model="mlp", data="teacher", widths=(2, 16, 64), n_train=64, n_test=64, epochs=5, batch_size=32,
               teacher_dim=8, seeds=(0, 1), record_every=2)


def validate(config: Config) -> None:
    """Raise ``DimcurseError`` naming the option for anything the kernel cannot run."""
    if config.model not in MODELS:
        raise DimcurseError(f"unknown model {config.model!r}{did_you_mean(config.model, MODELS)} (known: {', '.join(MODELS)})", "--model")
    check_counts(config, OPTION)
    if config.widths is not None and (not config.widths or any(w < 1 for w in config.widths)):
        raise DimcurseError("widths must be positive integers", "--widths")
    sizes = config.n_train
    if not sizes or any(n < 1 for n in sizes) or len(set(sizes)) != len(sizes):
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
        _check_data_name(data_name(config))
    if config.feature_map not in FEATURE_MAPS:
        raise DimcurseError(f"unknown feature map {config.feature_map!r} (known: {', '.join(FEATURE_MAPS)})",
                            "--feature-map")
    if config.feature_map != "relu" and config.model != "random-features":
        raise DimcurseError("a feature map is for --model random-features", "--feature-map")
    if config.model == "cnn":
        _check_cnn(config)
    if config.augment:
        _check_augment(config)
    if config.model in TRAINED:
        if config.ridge != (0.0,):
            raise DimcurseError(f"the {config.model} is trained, not solved: use --weight-decay", "--ridge")
        if config.optimizer not in ("adam", "sgd"):
            raise DimcurseError(f"unknown optimizer {config.optimizer!r} (adam or sgd)", "--optimizer")
        if config.loss not in ("ce", "mse"):
            raise DimcurseError(f"unknown loss {config.loss!r} (ce or mse)", "--loss")
        if config.activation not in ACTIVATIONS:
            raise DimcurseError(f"unknown activation {config.activation!r} (known: {', '.join(ACTIVATIONS)})", "--activation")
        if config.lr is not None and not (config.lr > 0 and math.isfinite(config.lr)):
            raise DimcurseError(f"must be positive, got {config.lr}", "--lr")
        if config.batch_size < 0:
            raise DimcurseError(f"must be at least 0 (0 = full batch), got {config.batch_size}", "--batch-size")
        if config.steps is not None and config.steps < 1:
            raise DimcurseError(f"must be at least 1, got {config.steps}", "--steps")
        if config.record_every < 0:
            raise DimcurseError(f"must be at least 0, got {config.record_every}", "--record-every")
    elif config.weight_decay or config.steps is not None or config.record_every:
        raise DimcurseError("--weight-decay, --steps and --record-every are for the trained mlp and cnn; use --ridge", "--model")


def image_shape(config: Config) -> tuple[int, int, int] | None:
    """(C, H, W) of an image set: a named one, or a user's .npz whose x is n x C x H x W; else None."""
    if userdata.is_user_data(data_name(config)):
        shape = _user_file(config).image_shape
        return tuple(shape) if shape else None
    return IMAGES.get(data_name(config).partition(":")[0].lower())


def _check_cnn(config: Config) -> None:
    """The CNN needs sequences or images: refuse anything else, and the mlp's own options."""
    name = data_name(config).partition(":")[0].lower()
    if name not in SEQUENCES and image_shape(config) is None:
        raise DimcurseError(f"--model cnn needs sequences ({', '.join(SEQUENCES)}: the MNIST-1D net) or images "
                            f"({', '.join(IMAGES)}, or an .npz of n x C x H x W: Nakkiran et al.'s 5-layer net); "
                            f"{data_name(config)} is neither", "--data")
    if config.depth != 1 or config.activation != "relu":
        raise DimcurseError("the cnn's architecture is fixed (the MNIST-1D paper's net on sequences, Nakkiran et "
                            "al.'s 5-layer net on images): drop --depth/--activation", "--model")


def _check_augment(config: Config) -> None:
    """Crops and flips need images, and a model trained on mini-batches."""
    if config.model not in TRAINED:
        raise DimcurseError(f"augmentation transforms mini-batches; the {config.model} model is solved in closed "
                            "form", "--augment")
    if image_shape(config) is None:
        raise DimcurseError(f"random crops and flips are for images ({', '.join(IMAGES)}, or an .npz of n x C x H x "
                            f"W); {data_name(config)} is not an image set", "--augment")


def _check_data_name(name: str) -> None:
    if userdata.is_user_data(name):
        userdata.check_spec(name)
        return
    from dimcurse import plugins

    plugins.load_entry_points()
    if name.strip().lower() in plugins.DATASETS:
        return
    kind, _, root = name.partition(":")
    if kind in ("mnist1d", "digits", "teacher") and not root:
        return
    if kind in ("mnist", "fashion-mnist", "cifar10"):
        if root:
            return
        raise DimcurseError(f"{kind} needs a folder, as in {kind}:~/data", "--data")
    problem = userdata.path_problem(name)
    raise DimcurseError(problem or f"unknown data set {name!r}{did_you_mean(name, DATA)} (known: {', '.join(DATA)}, "
                                   f"or a file: {', '.join(userdata.SUFFIXES)})", "--data")


def data_name(config: Config) -> str:
    if config.data is not None:
        return config.data
    return "gaussian" if config.model == "linear" else "mnist1d"


def widths_for(config: Config) -> tuple[int, ...]:
    """The swept sizes: explicit, or the model's default (features as multiples of n for the closed forms)."""
    if config.widths is not None:
        return config.widths
    if config.model == "mlp":
        return MLP_WIDTHS
    if config.model == "cnn":
        return CNN_WIDTHS
    ratios = LINEAR_GAMMAS if config.model == "linear" else FEATURE_RATIOS
    return tuple(sorted({max(1, round(r * n_of(config))) for r in ratios}))


def n_of(config: Config) -> int:
    """The training-set size of a one-size config (``run`` splits a list of sizes into such configs)."""
    if len(config.n_train) != 1:
        raise ValueError(f"one training size expected, got {config.n_train}")
    return config.n_train[0]


def per_size(config: Config) -> list[Config]:
    """One config per training-set size, in the order given (a sample-wise sweep runs each)."""
    return [dataclasses.replace(config, n_train=(n,)) for n in config.n_train]


# --------------------------------------------------------------------------- data


@dataclass
class Task:
    """A classification task stacked over seeds: standardised inputs, noisy training labels."""

    name: str
    x: torch.Tensor  # (S, n, d) float64
    y: torch.Tensor  # (S, n) int64, after label noise
    x_test: torch.Tensor  # (n_test, d) float64
    y_test: torch.Tensor  # (n_test,) int64
    classes: int
    subsets: dict  # seed -> {"sha256": ..., "indices": [...]} (indices when small)

    @property
    def chance_error(self) -> float:
        """The test error of always answering the most frequent test class."""
        counts = torch.bincount(self.y_test, minlength=self.classes)
        return 1.0 - float(counts.max()) / len(self.y_test)


def _pool(config: Config):
    """(x, y, x_test, y_test) as numpy: the training pool subsets are drawn from, and the test split."""
    name = data_name(config)
    if userdata.is_user_data(name):
        return _user_pool(config)
    dataset = load_dataset(name, download=config.download)
    if len(dataset.x_test):
        return dataset.x, dataset.y, dataset.x_test, dataset.y_test
    # digits ships without a split: a fixed 70/30 split, the same for every seed.
    order = numpy_rng(0, "split", name).permutation(len(dataset.x))
    cut = int(0.7 * len(order))
    return dataset.x[order[:cut]], dataset.y[order[:cut]], dataset.x[order[cut:]], dataset.y[order[cut:]]


def _user_file(config: Config):
    """The user's --data file (read once per run: userdata caches it), or None for a named set."""
    spec = data_name(config)
    if not userdata.is_user_data(spec):
        return None
    memory.require(userdata.estimate_bytes(spec), f"reading {spec}", "--data")
    return userdata.load(spec, need_y=True, target_column=config.target_column)


def _user_pool(config: Config):
    """A user's file: integer labels 0..C-1, one fixed split (--test-fraction held out, drawn from the file's hash)."""
    data = _user_file(config)
    y = userdata.check_labels(np.asarray(data.y), data.name)
    n = len(y)
    order = numpy_rng(0, "split", data.content).permutation(n)
    cut = n - max(1, int(round(config.test_fraction * n)))
    train, test = np.sort(order[:cut]), np.sort(order[cut:])
    x = np.asarray(data.x, dtype=np.float64)
    return x[train], y[train], x[test], y[test]


def _teacher_pool(config: Config, n: int, seed: int | None):
    """Gaussian inputs labelled by the argmax of a fixed random ReLU network (the same teacher for every seed)."""
    d = config.teacher_dim
    gen_net = generator(0, "teacher-net", d)
    w1 = torch.randn(d, TEACHER_WIDTH, generator=gen_net, dtype=torch.float64) / math.sqrt(d)
    w2 = torch.randn(TEACHER_WIDTH, TEACHER_CLASSES, generator=gen_net, dtype=torch.float64) / math.sqrt(TEACHER_WIDTH)
    stream = ("teacher-test",) if seed is None else ("teacher-train", seed)
    x = torch.randn(n, d, generator=generator(0 if seed is None else seed, *stream, d), dtype=torch.float64)
    h = torch.relu(x @ w1)
    logits = (h - h.mean(0)) @ w2  # centred hidden units keep the classes roughly balanced
    return x.numpy(), logits.argmax(1).numpy()


def _subset_record(indices: np.ndarray) -> dict:
    record = {"sha256": hashlib.sha256(np.asarray(indices, dtype=np.int64).tobytes()).hexdigest()[:16]}
    if len(indices) <= 5000:
        record["indices"] = [int(i) for i in indices]
    return record


def load_task(config: Config, noise: float) -> Task:
    """The training subsets (one per seed, with label noise ``noise``) and the test set."""
    S, n = len(config.seeds), n_of(config)
    name = data_name(config)
    subsets = {}
    if name == "teacher":
        pools = [_teacher_pool(config, n, seed) for seed in config.seeds]
        xs, ys = [p[0] for p in pools], [p[1] for p in pools]
        x_test, y_test = _teacher_pool(config, config.n_test, None)
        mean, std = np.zeros(config.teacher_dim), np.ones(config.teacher_dim)
    else:
        x_pool, y_pool, x_test_all, y_test_all = _pool(config)
        validate_finite(x_pool, name)
        if n > len(x_pool):
            raise DimcurseError(f"{Path(name).name} has {len(x_pool)} training samples; asked for {n} "
                                f"(give --train-samples {len(x_pool)} or fewer)", "--train-samples")
        if config.n_test > len(x_test_all):
            raise DimcurseError(f"{Path(name).name} has {len(x_test_all)} test samples; asked for {config.n_test} "
                                f"(give --test-samples {len(x_test_all)} or fewer)", "--test-samples")
        xs, ys = [], []
        # a user's file is seeded by its content, so the same array in any format gives the same rows
        user = _user_file(config)
        key = user.content if user is not None else name
        for seed in config.seeds:
            idx = np.sort(numpy_rng(seed, "subset", key, n).choice(len(x_pool), n, replace=False))
            subsets[seed] = _subset_record(idx)
            xs.append(x_pool[idx])
            ys.append(y_pool[idx])
        keep = numpy_rng(0, "test-subset", key).permutation(len(x_test_all))[: config.n_test]
        x_test, y_test = x_test_all[np.sort(keep)], y_test_all[np.sort(keep)]
        # Standardise with the whole training pool's statistics (seed-independent; a constant pixel stays 0).
        mean, std = x_pool.mean(0), x_pool.std(0)
        std = np.where(std > 1e-8, std, 1.0)
    classes = int(max(max(y.max() for y in ys), y_test.max())) + 1
    noisy = [_add_label_noise(y, noise, classes, seed) for y, seed in zip(ys, config.seeds)]
    scale = lambda a: torch.as_tensor((np.asarray(a, dtype=np.float64) - mean) / std)  # noqa: E731
    label = _user_file(config).name if userdata.is_user_data(name) else name
    return Task(label, torch.stack([scale(x) for x in xs]), torch.as_tensor(np.stack(noisy), dtype=torch.int64),
                scale(x_test), torch.as_tensor(y_test, dtype=torch.int64), classes, subsets)


def _add_label_noise(labels: np.ndarray, noise: float, classes: int, seed: int) -> np.ndarray:
    """Replace round(noise x n) labels, chosen at random, by labels drawn uniformly from all classes."""
    rng = numpy_rng(seed, "label-noise", noise)
    out = np.array(labels, dtype=np.int64)
    chosen = rng.choice(len(out), int(round(noise * len(out))), replace=False)
    out[chosen] = rng.integers(0, classes, size=len(chosen))
    return out


# --------------------------------------------------------------------------- models


def _metrics(pred: torch.Tensor, onehot: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Squared loss (summed over classes, mean over samples) and error rate of one-hot regression."""
    loss = float(((pred - onehot) ** 2).sum(1).mean())
    return loss, float((pred.argmax(1) != labels).double().mean())


def _interpolates(train_mse: float, targets: torch.Tensor) -> bool:
    return train_mse <= INTERPOLATION_RTOL * float((targets.double() ** 2).sum(1).mean())


def run_random_features(config: Config, task: Task, device) -> list[dict]:
    """Nested random ReLU features (the first N of one draw per seed), readout by min-norm / ridge."""
    widths = widths_for(config)
    n, d = task.x.shape[1], task.x.shape[2]
    onehot = torch.nn.functional.one_hot(task.y, task.classes).double()
    onehot_test = torch.nn.functional.one_hot(task.y_test, task.classes).double().to(device)
    labels_test = task.y_test.to(device)
    rows = []
    for si, seed in enumerate(config.seeds):
        features = _feature_map(config.feature_map, d, max(widths), seed, device)
        phi, phi_test = features(task.x[si].to(device)), features(task.x_test.to(device))
        y, labels = onehot[si].to(device), task.y[si].to(device)
        for width in widths:
            t0 = time.perf_counter()
            path = RidgePath.fit(phi[:, :width], y)
            for ridge in config.ridge:
                coef = path.coef(ridge)
                train_loss, train_error = _metrics(phi[:, :width] @ coef, y, labels)
                test_loss, test_error = _metrics(phi_test[:, :width] @ coef, onehot_test, labels_test)
                rows.append(_row(config, task.name, seed, width, width * task.classes, n, ridge=ridge,
                                 train_loss=train_loss, train_error=train_error, test_loss=test_loss, test_error=test_error,
                                 weight_norm=float(coef.norm()), interpolates=_interpolates(train_loss, y),
                                 chance_error=task.chance_error, elapsed_s=time.perf_counter() - t0))
    return rows


FEATURE_MAPS = ("relu", "fourier")


def _feature_map(kind: str, d: int, width: int, seed: int, device) -> Callable[[torch.Tensor], torch.Tensor]:
    """The first ``width`` random features of one draw per seed (nested: N features are the first N).

    relu: max(0, w.x + b), w ~ N(0, I/d) (unit-variance pre-activations on standardised inputs),
    b ~ N(0, 1). fourier: cos(w_k.x), sin(w_k.x) in pairs, k = 1..ceil(N/2), w_k ~ N(0, I/d): random
    Fourier features of the Gaussian kernel exp(-|x - y|^2 / 2d) (Rahimi & Recht 2007), the map
    Belkin et al. 2019 used; N counts real features, so the threshold is N = n as for relu."""
    gen = generator(seed, "random-features", d) if kind == "relu" else generator(seed, "fourier", d)
    if kind == "relu":
        w = torch.randn(d, width, generator=gen, dtype=torch.float64).to(device) / math.sqrt(d)
        b = torch.randn(1, width, generator=gen, dtype=torch.float64).to(device)
        return lambda x: torch.relu(x @ w + b)
    # Drawn in fixed blocks of 64 frequencies (torch's normal sampler depends on the tensor's size), so
    # any N's features are exactly the first N of a wider draw.
    pairs, block = (width + 1) // 2, 64
    w = torch.cat([torch.randn(block, d, generator=gen, dtype=torch.float64) for _ in range(-(-pairs // block))])
    w = w[:pairs].T.to(device) / math.sqrt(d)

    def fourier(x: torch.Tensor) -> torch.Tensor:
        phase = x @ w
        pairs = torch.stack([torch.cos(phase), torch.sin(phase)], dim=2)  # (n, k, 2): cos_1, sin_1, cos_2 ...
        return pairs.reshape(x.shape[0], -1)[:, :width]

    return fourier


def _theory_risk(n: int, p: int, config: Config, ridge: float) -> float:
    """The expected excess risk: exact at this n and p for min-norm (an inverse-Wishart mean,
    REFERENCES.md section 3), and Hastie et al.'s large-n limit for a ridge, where no finite-n
    closed form exists (the row's theory_risk_limit says so). NaN where the expectation is
    infinite (|p - n| <= 1 with noise): undefined, with a note (_theory_notes)."""
    if ridge > 0:
        risk = hastie_risk(p / n, config.signal_var, config.noise_var, ridge)
    else:
        risk = minnorm_risk_exact(n, p, config.signal_var, config.noise_var)
    return risk if math.isfinite(risk) else math.nan


def _theory_notes(table: pd.DataFrame) -> list[str]:
    infinite = table[(table["model"] == "linear") & table["theory_risk"].isna()]
    notes = []
    for n, rows in infinite.groupby("n_train"):
        widths = ", ".join(str(w) for w in sorted(set(rows["width"])))
        notes.append(f"theory_risk is blank at p = {widths}: with |p - n| <= 1 (n = {n}) the min-norm expected risk "
                     "is infinite (the inverse-Wishart mean does not exist); the measured risk there is one draw of "
                     "a heavy-tailed variable.")
    return notes


def run_linear(config: Config, device) -> list[dict]:
    """Min-norm / ridge least squares, x ~ N(0, I_p), y = x.beta + N(0, sigma^2), ||beta||^2 = r^2."""
    n, rows = n_of(config), []
    for seed in config.seeds:
        for p in widths_for(config):
            t0 = time.perf_counter()
            gen = generator(seed, "linear", p)
            beta = torch.randn(p, generator=gen, dtype=torch.float64)
            beta = beta * math.sqrt(config.signal_var) / beta.norm().clamp_min(1e-300)
            draw = lambda m: torch.randn(m, p, generator=gen, dtype=torch.float64)  # noqa: E731
            x, x_test = draw(n), draw(config.n_test)
            noise = math.sqrt(config.noise_var)
            y = x @ beta + noise * torch.randn(n, generator=gen, dtype=torch.float64)
            y_test = x_test @ beta + noise * torch.randn(config.n_test, generator=gen, dtype=torch.float64)
            x, y, x_test, y_test, beta = (t.to(device) for t in (x, y, x_test, y_test, beta))
            path = RidgePath.fit(x, y[:, None])
            for ridge in config.ridge:
                coef = path.coef(ridge)[:, 0]
                train_loss = float(((x @ coef - y) ** 2).mean())
                rows.append(_row(config, "gaussian", seed, p, p, n, ridge=ridge, train_loss=train_loss,
                                 test_loss=float(((x_test @ coef - y_test) ** 2).mean()),
                                 weight_norm=float(coef.norm()), interpolates=_interpolates(train_loss, y[:, None]),
                                 excess_risk=float(((coef - beta) ** 2).sum()),
                                 theory_risk=_theory_risk(n, p, config, ridge), theory_risk_limit=ridge > 0,
                                 elapsed_s=time.perf_counter() - t0))
    return rows


def run_mlp(config: Config, task: Task, device, progress) -> list[dict]:
    """All widths x seeds as one batched network (an MLP, or the CNN), trained by mini-batch AdamW/SGD."""
    widths, dtype = widths_for(config), resolve_dtype(config.dtype)
    S, n, d = task.x.shape
    image = image_shape(config)
    if config.model == "cnn" and image is not None:
        model = CNN2DClassifier(list(config.seeds), image, widths, task.classes, dtype).to(device)
    elif config.model == "cnn":
        model = CNN1DClassifier(list(config.seeds), d, widths, task.classes, dtype).to(device)
    else:
        model = MLPClassifier(list(config.seeds), d, widths, task.classes, config.depth, config.activation,
                              dtype).to(device)
    sizes = model.params_per_model(d)
    x = task.x.to(dtype).to(device)
    x_test = task.x_test.to(dtype).to(device)[None].expand(S, -1, -1)
    y_test = task.y_test.to(device)[None].expand(S, -1)
    lr = config.lr or (1e-3 if config.optimizer == "adam" else 0.05)
    t0 = time.perf_counter()
    trained = train_classifier(model, x, task.y.to(device), x_test, y_test, list(config.seeds), epochs=config.epochs,
                               batch_size=config.batch_size, lr=lr, optimizer=config.optimizer,
                               weight_decay=config.weight_decay, loss=config.loss, record_every=config.record_every,
                               steps=config.steps, progress=progress,
                               augment=crop_and_flip(image, list(config.seeds)) if config.augment else None)
    elapsed = time.perf_counter() - t0
    rows = []
    for record in trained.records:
        for si, seed in enumerate(config.seeds):
            for j, width in enumerate(widths):
                dead = bool(trained.diverged[si, j])
                first = record["first_zero"][si, j]
                rows.append(_row(config, task.name, seed, width, sizes[j], n,
                                 epoch=record["epoch"], train_loss=record["train_loss"][si, j],
                                 train_error=record["train_error"][si, j], test_loss=record["test_loss"][si, j],
                                 test_error=record["test_error"][si, j],
                                 weight_norm=float("nan") if dead else record["weight_norm"][si, j],
                                 interpolates=bool(first <= record["epoch"]), epochs_to_interpolate=first,
                                 chance_error=task.chance_error, diverged=dead, elapsed_s=elapsed))
    return rows


def _row(config: Config, data: str, seed: int, width: int, params: int, n: int, **values) -> dict:
    row = {
        "model": config.model, "feature_map": config.feature_map if config.model == "random-features" else "none",
        "data": data, "augment": config.augment, "label_noise": values.pop("label_noise", 0.0),
        "ridge": values.pop("ridge", 0.0), "weight_decay": config.weight_decay, "width": int(width),
        "params": int(params), "params_per_sample": params / n, "epoch": float(values.pop("epoch", 0.0)), "seed": seed,
        "n_train": n, "train_loss": math.nan, "train_error": math.nan, "test_loss": math.nan, "test_error": math.nan,
        "weight_norm": math.nan, "interpolates": False, "epochs_to_interpolate": math.nan, "excess_risk": math.nan,
        "theory_risk": math.nan, "theory_risk_limit": False, "chance_error": math.nan, "diverged": False,
        "elapsed_s": 0.0,
    }
    row.update({k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in values.items()})
    row["elapsed_s"] = round(row["elapsed_s"], 4)
    trained = config.model in TRAINED
    row.update({"depth": config.depth if config.model == "mlp" else 0,
                "optimizer": config.optimizer if trained else "closed-form",
                "loss": config.loss if trained else "mse", "dtype": config.dtype if trained else "float64",
                "kernel_version": VERSION})
    return row


# --------------------------------------------------------------------------- run


def estimate_bytes(config: Config, device: torch.device | str = "cpu") -> tuple[float, str]:
    """Peak bytes of the largest solve or of the batched networks, and the option to lower.

    linear: X, test X and the decomposition of an n x p problem (float64); random features:
    the train and test features of the widest N and an SVD's copies (float64); mlp: every
    model's parameters with gradients and optimiser state (16 bytes each) and the data, at
    the data set's input dimension, plus a mini-batch's activations.
    """
    if len(config.n_train) > 1:  # sizes run one after another: the largest sets the peak
        return max((estimate_bytes(one, device) for one in per_size(config)), key=lambda pair: pair[0])
    n, nt, widest = n_of(config), config.n_test, max(widths_for(config))
    if config.model == "linear":
        return 8 * (3 * n * widest + nt * widest + 2 * min(n, widest) ** 2), "--features"
    if config.model == "random-features":
        return 8 * ((3 * n + nt) * widest + 2 * min(n, widest) ** 2), "--features"
    kind = data_name(config).partition(":")[0]
    dim = {"teacher": config.teacher_dim, "mnist1d": 40, "digits": 64, "mnist": 784, "fashion-mnist": 784}.get(kind, 3072)
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


def run(config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None) -> Result:
    """Run the sweep for every training-set size and label-noise level; rows plus the per-width summary."""
    validate(config)
    device = torch.device(device)
    needed, option = estimate_bytes(config, device)
    memory.require(needed, f"the {config.model} sweep", option, device)
    started = time.perf_counter()
    rows, subsets = [], {}
    share = 1.0 / (len(config.label_noise) * len(config.n_train))
    for one in per_size(config):
        for noise in config.label_noise:
            new, used = _run_one(one, noise, device, (lambda f: progress(f * share)) if progress else None)
            subsets.update({f"{n_of(one)}:{k}" if len(config.n_train) > 1 else k: v for k, v in used.items()})
            for row in new:
                row["label_noise"] = noise
                row["device"] = str(device)
            rows += new
            if progress is not None and config.model not in TRAINED:
                progress(share)
    # One setting's sweep contiguous, widths in order, each width's epochs together.
    table = pd.DataFrame(rows)[COLUMNS].sort_values(SETTING[2:] + ["width", "epoch", "seed"], kind="stable")
    table = table.reset_index(drop=True)
    prov = provenance(KERNEL, VERSION, config, device)
    widths = {n_of(one): list(widths_for(one)) for one in per_size(config)}
    prov.update({"elapsed_s": round(time.perf_counter() - started, 3),
                 "widths": widths[config.n_train[0]] if len(widths) == 1 else {str(k): v for k, v in widths.items()},
                 "data": data_name(config), "training_subsets": subsets})
    if userdata.is_user_data(data_name(config)):
        prov["data_file"] = _user_file(config).describe()
    group_by = GROUP_BY_MLP if config.model in TRAINED else GROUP_BY
    if config.model == "linear":
        group_by = [c for c in group_by if c != "feature_map"]  # "none": not a setting of the linear model
    result = Result(kernel=KERNEL, rows=table, provenance=prov, group_by=group_by, show=SHOW, analysis_keys=ANALYSIS_KEYS,
                    nullable=NULLABLE)
    result.analysis, result.analysis_title = summary_table(table), ANALYSIS_TITLE
    result.notes += derived_notes(table, result.analysis, config)
    if config.model in TRAINED and config.record_every:
        result.tables["curves"] = table[CURVE_COLUMNS].reset_index(drop=True)
    return result


def _run_one(config: Config, noise: float, device, progress) -> tuple[list[dict], dict]:
    """The rows of one training-set size and noise level, and the training subsets drawn."""
    if config.model == "linear":
        return run_linear(config, device), {}
    task = load_task(config, noise)
    used = {str(k): v for k, v in task.subsets.items()}
    if config.model == "random-features":
        return run_random_features(config, task, device), used
    return run_mlp(config, task, device, progress), used


ANALYSIS_TITLE = ("summary: per width (per n, for a sweep over n), the fraction of seeds that fit the training "
                  "set, and where the threshold and the test-loss peak are")
ANALYSIS_KEYS = ("model", "data", "label_noise", "ridge", "weight_decay", "n_train", "feature_map")


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
        result.notes += derived_notes(result.rows, result.analysis, config)
    return result


def derived_notes(table: pd.DataFrame, summary: pd.DataFrame, config: Config) -> list[str]:
    """The sentences a sweep's rows support: threshold and peaks per setting, the infinite theory,
    and the sample-wise and epoch-wise peaks."""
    return (summary_notes(table, summary) + _theory_notes(table) + samplewise_notes(table)
            + epochwise_notes(table, config.n_test))


def figure(result: Result):
    from dimcurse import plot

    result.rows = upgraded(result.rows)
    return plot.overparam_figure(result)


CURVE_COLUMNS = ["model", "feature_map", "data", "augment", "label_noise", "weight_decay", "n_train", "width", "seed", "epoch", "train_loss", "train_error",
                 "test_loss", "test_error"]
TABLES = ("curves",)  # training curves (--record-every, mlp), written beside the rows as FILE.curves.csv


# --------------------------------------------------------------------------- summary

SETTING = ["model", "data", "label_noise", "ridge", "weight_decay", "n_train", "feature_map"]


def final_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows at the end of training (the last recorded epoch; closed-form models have one)."""
    last = table.groupby(SETTING, sort=False)["epoch"].transform("max")
    return table[table["epoch"] == last]


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting and width: fit fraction, median epochs, mean losses, and the threshold / peak marks."""
    out = []
    for key, group in final_rows(table).groupby(SETTING, sort=False):
        per_width = group.groupby("width", sort=True)
        frame = pd.DataFrame({
            "params_per_sample": per_width["params_per_sample"].first(),
            "fit_fraction": per_width["interpolates"].mean(),
            "median_epochs_to_fit": per_width["epochs_to_interpolate"].median(),
            "train_loss": per_width["train_loss"].mean(), "test_loss": per_width["test_loss"].mean(),
            "test_error": per_width["test_error"].mean(),
        }).reset_index()
        threshold = _threshold_width(frame)
        peak = _peak_width(_seed_peaks(group))
        error_peak = _peak_width(_seed_bumps(group)) if group["test_error"].notna().any() else None
        marks = (("threshold", threshold), ("peak", peak), ("error peak", error_peak))
        frame["mark"] = [" ".join(m for m, at in marks if at == w) for w in frame["width"]]
        for name, value in zip(SETTING, key):
            frame[name] = value
        out.append(frame)
    columns = SETTING + ["width", "params_per_sample", "fit_fraction", "median_epochs_to_fit", "train_loss",
                         "test_loss", "test_error", "mark"]
    if is_samplewise(table):
        out = [_samplewise_marks(pd.concat(out, ignore_index=True))]
    model = out[0]["model"].iloc[0]
    # Leave out what does not apply: the mlp has no ridge and the closed forms no epochs or weight decay;
    # the linear model has no classification error.
    drop = {"mlp": ("ridge", "feature_map"), "cnn": ("ridge", "feature_map"),
            "linear": ("weight_decay", "median_epochs_to_fit", "test_error", "feature_map")}.get(
        model, ("weight_decay", "median_epochs_to_fit"))
    return pd.concat(out, ignore_index=True)[[c for c in columns if c not in drop]]


OVER_N = [c for c in SETTING if c != "n_train"] + ["width"]  # a sample-wise curve: one per setting and width


def is_samplewise(rows: pd.DataFrame) -> bool:
    """A sweep over training sizes at a few widths (3 or more sizes, more sizes than widths): its
    summary marks, notes and figure read each width's curve over n."""
    sizes = rows["n_train"].nunique()
    return sizes >= 3 and rows["width"].nunique() < sizes


def _samplewise_marks(summary: pd.DataFrame) -> pd.DataFrame:
    """A sweep over n at one or two widths: per width, "threshold" marks the largest n it still fits
    (every seed) and "peak" the n of the largest mean test loss, when it lies inside the sweep."""
    summary = summary.copy()
    summary["mark"] = ""
    for _, group in summary.groupby(OVER_N, sort=False):
        fits = group[group["fit_fraction"] >= 1.0]
        if len(fits):
            summary.loc[fits["n_train"].idxmax(), "mark"] = "threshold"
        peak = group["test_loss"].idxmax()
        if group.loc[peak, "n_train"] not in (group["n_train"].min(), group["n_train"].max()):
            summary.loc[peak, "mark"] = (summary.loc[peak, "mark"] + " peak").strip()
    return summary


def _threshold_width(frame: pd.DataFrame) -> int | None:
    """The interpolation threshold: the smallest width at which every seed fits the training set."""
    fits = frame[frame["fit_fraction"] >= 1.0]
    return int(fits["width"].min()) if len(fits) else None


def _seed_peaks(group: pd.DataFrame) -> pd.Series:
    """Per seed, the width with the largest test loss, when it lies strictly inside the sweep.

    A maximum at the smallest or the widest width is a monotone trend, not a peak, so
    such seeds are left out.
    """
    clean = group.dropna(subset=["test_loss"])
    peaks = clean.loc[clean.groupby("seed")["test_loss"].idxmax()].set_index("seed")["width"]
    return peaks[(peaks > group["width"].min()) & (peaks < group["width"].max())]


def _seed_bumps(group: pd.DataFrame, column: str = "test_error") -> pd.Series:
    """Per seed, the width whose ``column`` stands highest above both the lowest value at smaller widths
    and the lowest at larger ones: the double-descent bump of the test error, which an underfitted
    narrowest model (the error's global maximum) would hide from ``_seed_peaks``. Seeds with no bump
    (a monotone curve) are left out."""
    out = {}
    for seed, rows in group.dropna(subset=[column]).groupby("seed"):
        curve = rows.groupby("width")[column].mean().sort_index().to_numpy(float)
        widths = np.sort(rows["width"].unique())
        height = [min(curve[i] - curve[:i].min(), curve[i] - curve[i + 1 :].min()) for i in range(1, len(curve) - 1)]
        if height and max(height) > 0:
            out[seed] = int(widths[1 + int(np.argmax(height))])
    return pd.Series(out, dtype=int)


def _peak_width(peaks: pd.Series) -> int | None:
    """The width most seeds peak at (the smaller on a tie); None when no seed has an interior peak."""
    if peaks.empty:
        return None
    counts = peaks.value_counts()
    return int(min(counts[counts == counts.max()].index))


def summary_notes(table: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """One sentence per setting naming the threshold and the peak, with the spread over seeds."""
    notes = []
    final = final_rows(table)
    for key, group in final.groupby(SETTING, sort=False):
        shown = [(k, v) for k, v in zip(SETTING[2:], key[2:])
                 if (v or k == "label_noise") and (k != "n_train" or table["n_train"].nunique() > 1)
                 and (k != "feature_map" or v == "fourier")]
        label = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown)
        setting = dict(zip(SETTING, key))
        cols = [c for c in SETTING if c in summary.columns]
        frame = summary[(summary[cols] == pd.Series([setting[c] for c in cols], index=cols)).all(axis=1)]
        threshold = _threshold_width(frame)
        where = f"{key[0]} on {key[1]} ({label})"
        if group["diverged"].all():
            notes.append(f"{where}: every model diverged (the loss became non-finite or rose above "
                         f"{EXPLODE:g} x its first value): no result; lower --lr.")
            continue
        if table["n_train"].nunique() > 1 and group["width"].nunique() < 3:
            continue  # a sample-wise sweep: one or two widths have no model-wise threshold or peak to name
        if threshold is None:
            notes.append(f"{where}: no width fits the training set (the threshold lies beyond width "
                         f"{int(frame['width'].max())}), {_peak_sentence(group, None)}")
        else:
            pps = float(frame.loc[frame["width"] == threshold, "params_per_sample"].iloc[0])
            notes.append(f"{where}: interpolation threshold at width {threshold} ({pps:.3g} params/sample), "
                         f"{_peak_sentence(group, threshold)}")
        if group["diverged"].any():
            notes.append(f"{where}: {int(group['diverged'].sum())} model(s) diverged (loss non-finite or above "
                         f"{EXPLODE:g} x its first value): flagged, excluded from means and from the threshold.")
        if setting["label_noise"] == 1.0 and group["test_error"].notna().any():
            notes.append(_memorisation_sentence(final, group, setting))
    return notes


def samplewise_notes(table: pd.DataFrame) -> list[str]:
    """With 3 or more training sizes: per setting and width, whether the test loss peaks at an
    inner n, i.e. more data hurts before it helps (Nakkiran et al. 2019, section 7)."""
    final = final_rows(table)
    if not is_samplewise(final):
        return []
    notes = []
    for key, group in final.groupby(OVER_N, sort=False):
        curve = group.groupby("n_train")["test_loss"].mean().dropna()
        if len(curve) < 3:
            continue
        peak = curve.idxmax()
        where = f"{key[0]} on {key[1]}, width {key[-1]}"
        if peak in (curve.index[0], curve.index[-1]):
            trend = "falls" if curve.iloc[-1] < curve.iloc[0] else "rises"
            notes.append(f"{where}: no sample-wise peak (the test loss {trend} from n = {curve.index[0]} to "
                         f"{curve.index[-1]} without an inner maximum).")
            continue
        low = curve.loc[: peak].idxmin()
        said = ""
        if key[0] == "linear":  # the excess risk beside its exact closed form (blank where infinite)
            risk = group.groupby("n_train")[["excess_risk", "theory_risk"]].agg({"excess_risk": "mean",
                                                                               "theory_risk": "first"})
            said = (f"; excess risk {risk.excess_risk[low]:.3g} -> {risk.excess_risk[peak]:.3g}, theory "
                    f"{risk.theory_risk[low]:.3g} -> {risk.theory_risk[peak]:.3g}")
        notes.append(f"{where}: more data hurts: the test loss rises from {curve[low]:.3g} at n = {low} to "
                     f"{curve[peak]:.3g} at n = {peak}, then falls to {curve.iloc[-1]:.3g} at n = "
                     f"{curve.index[-1]} (sample-wise double descent){said}.")
    return notes


EPOCH_PEAK_MARGIN = 0.01  # an epoch-wise peak rises at least 1 percentage point of test error on both sides


def epochwise_notes(table: pd.DataFrame, n_test: int) -> list[str]:
    """With test error recorded at 5 or more epochs: per setting and width, whether the test error falls,
    rises to a peak and falls again during training (epoch-wise double descent, Nakkiran et al. 2019
    section 6); the seeds' mean curve is read, and each side must exceed ``epoch_margin``."""
    if table["epoch"].nunique() < 5 or table["test_error"].isna().all():
        return []
    notes = []
    keys = SETTING + ["width"]
    for key, group in table.groupby(keys, sort=False):
        curve = group.groupby("epoch")["test_error"].mean().dropna()
        margin = epoch_margin(curve, n_test * group["seed"].nunique())
        found = epoch_peak(curve, margin)
        where = f"{key[0]} on {key[1]}, width {key[-1]}"
        if found is None:
            continue  # the summary is per width; a sentence for every width without a peak would drown the others
        dip, peak, last = found
        tail = curve.iloc[-max(1, len(curve) // 5):].mean()
        notes.append(f"{where}: epoch-wise double descent: the test error falls to {curve[dip]:.3f} at epoch "
                     f"{dip:g}, rises to {curve[peak]:.3f} at epoch {peak:g} and falls back to {tail:.3f} (the "
                     f"mean of the last fifth of training, to epoch {last:g}).")
    if not notes:
        notes.append(f"no epoch-wise double descent at any width: the test error does not fall, rise by at least "
                     f"{EPOCH_PEAK_MARGIN:.0%} (or 3 binomial sds of the test set) and come down again by the last "
                     "fifth of training (read after a running median of 5 records).")
    return notes


def epoch_margin(curve: pd.Series, n_test: int) -> float:
    """The rise and fall an epoch-wise peak needs: 1 point of error, or 3 binomial sds of an error
    measured on n_test samples (at the curve's largest error), whichever is larger; a smaller wiggle
    is the test set's noise (about 0.015 at 1,000 samples and 35 % error)."""
    worst = float(curve.max())
    return max(EPOCH_PEAK_MARGIN, 3 * math.sqrt(max(worst * (1 - worst), 0.0) / max(n_test, 1)))


def epoch_peak(curve: pd.Series, margin: float = EPOCH_PEAK_MARGIN) -> tuple[float, float, float] | None:
    """(dip, peak, end) epochs of a test-error curve that falls, rises by ``margin`` to an inner peak and
    stays down again: the end (the mean of the last fifth of the records) lies ``margin`` under the peak.

    The curve is first smoothed by a running median of 5 records, so the step-to-step noise of SGD
    (several points of error between records of one seed) is not read as a peak. None otherwise."""
    smooth = curve.rolling(5, center=True, min_periods=1).median() if len(curve) >= 10 else curve
    values, epochs = smooth.to_numpy(float), smooth.index.to_numpy(float)
    tail = max(1, len(values) // 5)
    end = float(values[-tail:].mean())
    lows = np.minimum.accumulate(values)  # the lowest error up to each record
    # the peak: the record that stands highest above both the lowest error before it and the end
    height = [min(values[i] - lows[i - 1], values[i] - end) for i in range(1, len(values) - tail)]
    if not height or max(height) < margin:
        return None
    peak = 1 + int(np.argmax(height))
    return float(epochs[int(np.argmin(values[:peak]))]), float(epochs[peak]), float(epochs[-1])


def _memorisation_sentence(final: pd.DataFrame, group: pd.DataFrame, setting: dict) -> str:
    """Random labels (Zhang et al. 2017): train error, test error against chance, epochs against clean labels."""
    widest = group[group["width"] == group["width"].max()]
    text = (f"random labels (noise 1.0), width {int(widest['width'].iloc[0])}: train error {widest['train_error'].mean():.3g}, "
            f"test error {widest['test_error'].mean():.3g} against chance {widest['chance_error'].iloc[0]:.3g}")
    clean = final[(final["label_noise"] == 0.0) & (final["model"] == setting["model"]) & (final["data"] == setting["data"])
                  & (final["ridge"] == setting["ridge"]) & (final["weight_decay"] == setting["weight_decay"])
                  & (final["width"] == widest["width"].iloc[0])]
    if len(clean) and widest["epochs_to_interpolate"].notna().any():
        text += (f"; median epochs to fit {widest['epochs_to_interpolate'].median():.3g} against "
                 f"{clean['epochs_to_interpolate'].median():.3g} with clean labels")
    return text + "."


def _peak_sentence(group: pd.DataFrame, threshold: int | None) -> str:
    """Where the test-loss peak is, and relative to the threshold: per-seed parameter ratios, mean ± sd."""
    peaks = _seed_peaks(group)
    if peaks.empty:
        return ("and no test-loss peak inside the sweep (the test loss is highest at an end)."
                + _error_peak_sentence(group))
    peak = _peak_width(peaks)
    widest = group[group["width"] == group["width"].max()]["test_loss"].mean()
    at_peak = group[group["width"] == peak]["test_loss"].mean()
    relative = ""
    if threshold is not None:
        params = group.groupby("width")["params"].first()
        ratios = np.array([params[w] / params[threshold] for w in peaks])
        spread = f" ± {ratios.std(ddof=1):.2g}" if len(ratios) > 1 else ""
        relative = f"; peak/threshold parameters {ratios.mean():.3g}{spread} over those seeds"
    seeds = group["seed"].nunique()
    return (f"test-loss peak at width {peak} ({(peaks == peak).sum()}/{seeds} seeds{relative}); "
            f"test loss {at_peak:.3g} there vs {widest:.3g} at the widest.{_error_peak_sentence(group)}")


def _error_peak_sentence(group: pd.DataFrame) -> str:
    """The test-error peak, which double-descent papers report (it need not sit at the loss peak)."""
    if group["test_error"].isna().all():
        return ""
    peaks = _seed_bumps(group)
    if peaks.empty:
        return " No test-error peak inside the sweep."
    peak = _peak_width(peaks)
    error = group[group["width"] == peak]["test_error"].mean()
    return (f" Test-error peak at width {peak} ({(peaks == peak).sum()}/{group['seed'].nunique()} seeds), "
            f"{error:.2%} there.")


COLUMNS = ["model", "feature_map", "data", "augment", "label_noise", "ridge", "weight_decay", "width", "params", "params_per_sample", "epoch",
           "seed", "n_train", "train_loss", "train_error", "test_loss", "test_error", "weight_norm", "interpolates",
           "epochs_to_interpolate", "excess_risk", "theory_risk", "theory_risk_limit", "chance_error", "diverged", "elapsed_s", "device",
           "depth", "optimizer", "loss", "dtype", "kernel_version"]
_NOT_CLASSIFIED = "the linear model and random features regress: no classification error"
NULLABLE = {
    "train_error": _NOT_CLASSIFIED, "test_error": _NOT_CLASSIFIED, "chance_error": _NOT_CLASSIFIED,
    "epochs_to_interpolate": "never reached within --epochs, or not trained by epochs",
    "excess_risk": "only the linear model on its Gaussian task knows the Bayes risk",
    "theory_risk": "closed form only for the linear model; its expectation is infinite at |p - n| <= 1 (a note)",
    "weight_norm": ("the model diverged", "diverged"),
    "train_loss": ("the model diverged", "diverged"), "test_loss": ("the model diverged", "diverged"),
}
"""Columns that may be undefined (NaN), and why; (reason, flag): only on rows where the flag is set."""
# Inputs of a row (not measurements): report never averages over one that varies within a group.
SETTINGS = ["model", "feature_map", "data", "augment", "label_noise", "ridge", "weight_decay", "width", "params", "params_per_sample",
            "epoch", "n_train", "depth", "optimizer", "loss", "dtype", "kernel_version"]
GROUP_BY = ["model", "feature_map", "data", "label_noise", "ridge", "n_train", "width", "params_per_sample"]
GROUP_BY_MLP = ["model", "data", "augment", "label_noise", "weight_decay", "n_train", "width", "params_per_sample", "epoch"]
REPORT_GROUP_BY = list(dict.fromkeys(GROUP_BY + GROUP_BY_MLP))  # a store may hold both kinds of run
SHOW = [("train_loss", None), ("train_error", None), ("test_loss", None), ("test_error", None),
        ("excess_risk", "theory_risk"), ("weight_norm", None), ("interpolates", None), ("epochs_to_interpolate", None)]
