"""What ``dimcurse overparam`` trains on: the model's sweep, the data set and each seed's subset.

Every seed draws its own training subset of the pool (its indices are recorded in the
provenance) and its own label noise; the test set is the data set's own test split, the
same for every seed.
"""

from __future__ import annotations


import hashlib
import math
from pathlib import Path
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from dimcurse import userdata
from dimcurse.data import CATALOGUE, load_dataset, spec_shape, split_transforms, validate_finite
from dimcurse.configs import OVERPARAM_N
from dimcurse.configs import OverparamConfig as Config
from dimcurse.errors import DimcurseError
from dimcurse.runtime import generator, numpy_rng


MODELS = ("linear", "random-features", "mlp", "cnn", "knn")
TRAINED = ("mlp", "cnn")  # trained by mini-batch AdamW/SGD over epochs (the others are solved in closed form)
# The data sets the 1-D CNN takes (sequences of one channel) and the image sets, (C, H, W): from the catalogue.
SEQUENCES = tuple(name for name, entry in CATALOGUE.items() if entry.sequence)
IMAGES = {name: entry.image for name, entry in CATALOGUE.items() if entry.image is not None}
CNN_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
OWN_DATA = ("teacher",)  # the kernel's own task, named as a data set
# Default sweeps as multiples of the training-set size: dense around the threshold (1.0).
LINEAR_GAMMAS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0, 4.0, 10.0)
FEATURE_RATIOS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 4.0, 10.0, 20.0)
TEST_MOST = 10_000  # a --data file's default test rows, at most: their cost is n_test x the widest model
KNN_WIDTHS = (1,)  # the k-NN classifier's "width" is its k: 1-NN by default (its learning curve is the point)
MLP_WIDTHS = (4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048)
INTERPOLATION_RTOL = 1e-8  # closed-form models fit when train MSE <= this x mean(y^2)


TEACHER_CLASSES = 10
TEACHER_WIDTH = 32


def image_shape(config: Config) -> tuple[int, int, int] | None:
    """(C, H, W) of an image set: a named one after its transforms (objects:K:R at its resolution, digits+upsample:4
    upsampled), or a user's .npz whose x is n x C x H x W; else None."""
    if userdata.is_user_data(data_name(config)):
        shape = user_file(config).image_shape
        return tuple(shape) if shape else None
    known = spec_shape(data_name(config))
    return known[2] if known is not None else None


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
    if config.model == "knn":
        return KNN_WIDTHS
    ratios = LINEAR_GAMMAS if config.model == "linear" else FEATURE_RATIOS
    return tuple(sorted({max(1, round(r * n_of(config))) for r in ratios}))


def n_of(config: Config) -> int:
    """The training-set size of a one-size config (``run`` splits a list of sizes into such configs)."""
    if len(config.n_train) != 1:
        raise ValueError(f"one training size expected, got {config.n_train}")
    return config.n_train[0]


def with_sizes(config: Config, file=None) -> Config:
    """A --data file's default sizes, from its rows: min(1000, its training rows) to train on, and every
    held-out row (at most TEST_MOST) to test on. A named set's defaults were set when its config was made."""
    if config.n_train is not None and config.n_test is not None:
        return config
    x, _, x_test, _ = _user_pool(config, file)
    n_train = config.n_train or (min(OVERPARAM_N, len(x)),)
    return dataclasses.replace(config, n_train=n_train, n_test=config.n_test or min(TEST_MOST, len(x_test)))


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


def _pool(config: Config, file=None):
    """(x, y, x_test, y_test) as numpy: the training pool subsets are drawn from, and the test split."""
    name = data_name(config)
    if userdata.is_user_data(name):
        return _user_pool(config, file)
    dataset = load_dataset(name, download=config.download)
    if len(dataset.x_test):
        return dataset.x, dataset.y, dataset.x_test, dataset.y_test
    # digits ships without a split: a fixed 70/30 split, the same for every seed, and for every transform of
    # the set (digits+upsample:4 splits the same images as digits).
    order = numpy_rng(0, "split", split_transforms(name)[0]).permutation(len(dataset.x))
    cut = int(0.7 * len(order))
    return dataset.x[order[:cut]], dataset.y[order[:cut]], dataset.x[order[cut:]], dataset.y[order[cut:]]


def user_file(config: Config):
    """The user's --data file, or None for a named set: ``run`` reads it once and passes it down; the
    checks that need its shape before a run (validate, the memory estimate of a cnn) read it themselves."""
    spec = data_name(config)
    if not userdata.is_user_data(spec):
        return None
    return userdata.read(spec, config.target_column)


def _user_pool(config: Config, file=None):
    """A user's file: integer labels 0..C-1, one fixed split (--test-fraction held out, drawn from the file's hash)."""
    data = file if file is not None else user_file(config)
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


def load_task(config: Config, noise: float, file=None) -> Task:
    """The training subsets (one per seed, with label noise ``noise``) and the test set; ``file``: the
    user's --data file, read by the caller (read here when not given)."""
    if file is None:
        file = user_file(config)
    n = n_of(config)
    name = data_name(config)
    subsets = {}
    if name == "teacher":
        pools = [_teacher_pool(config, n, seed) for seed in config.seeds]
        xs, ys = [p[0] for p in pools], [p[1] for p in pools]
        x_test, y_test = _teacher_pool(config, config.n_test, None)
        mean, std = np.zeros(config.teacher_dim), np.ones(config.teacher_dim)
    else:
        x_pool, y_pool, x_test_all, y_test_all = _pool(config, file)
        validate_finite(x_pool, name)
        if n > len(x_pool):
            raise DimcurseError(
                f"{Path(name).name} has {len(x_pool)} training samples; asked for {n} "
                f"(give --train-samples {len(x_pool)} or fewer)",
                "--train-samples",
            )
        if config.n_test > len(x_test_all):
            raise DimcurseError(
                f"{Path(name).name} has {len(x_test_all)} test samples; asked for {config.n_test} "
                f"(give --test-samples {len(x_test_all)} or fewer)",
                "--test-samples",
            )
        xs, ys = [], []
        # a user's file is seeded by its content, so the same array in any format gives the same rows
        user = file
        # a transform (+upsample:4) keeps the rows, so it keeps their subsets: the same images at every size
        key = user.content if user is not None else split_transforms(name)[0]
        for seed in config.seeds:
            idx = np.sort(numpy_rng(seed, "subset", key, n).choice(len(x_pool), n, replace=False))
            subsets[seed] = _subset_record(idx)
            xs.append(x_pool[idx])
            ys.append(y_pool[idx])
        keep = numpy_rng(0, "test-subset", key).permutation(len(x_test_all))[: config.n_test]
        x_test, y_test = x_test_all[np.sort(keep)], y_test_all[np.sort(keep)]
        # Standardise with the whole training pool's statistics (seed-independent; a constant pixel stays 0).
        mean, std = x_pool.mean(0), x_pool.std(0)
        std = np.where((std > 1e-8) & config.standardise, std, 1.0)  # --standardise off: centred only
    classes = int(max(max(y.max() for y in ys), y_test.max())) + 1
    noisy = [_add_label_noise(y, noise, classes, seed) for y, seed in zip(ys, config.seeds)]

    def scale(a):
        return torch.as_tensor((np.asarray(a, dtype=np.float64) - mean) / std)

    label = file.name if file is not None else name
    label += "" if config.standardise else " (raw scales)"  # a setting of its own: it changes what the model sees
    return Task(
        label,
        torch.stack([scale(x) for x in xs]),
        torch.as_tensor(np.stack(noisy), dtype=torch.int64),
        scale(x_test),
        torch.as_tensor(y_test, dtype=torch.int64),
        classes,
        subsets,
    )


def _add_label_noise(labels: np.ndarray, noise: float, classes: int, seed: int) -> np.ndarray:
    """Replace round(noise x n) labels, chosen at random, by labels drawn uniformly from all classes."""
    rng = numpy_rng(seed, "label-noise", noise)
    out = np.array(labels, dtype=np.int64)
    chosen = rng.choice(len(out), int(round(noise * len(out))), replace=False)
    out[chosen] = rng.integers(0, classes, size=len(chosen))
    return out
