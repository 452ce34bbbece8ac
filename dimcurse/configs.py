"""The kernels' settings: one frozen dataclass per kernel, each field documented with its CLI option.

Kept apart from the kernels (which import torch) so that the command line can show its
defaults, and answer ``--help``, without loading torch, pandas or a kernel. Each kernel
module re-exports its class as ``Config``.
"""

from __future__ import annotations

import ast
import inspect
import re
import dataclasses
import functools
from dataclasses import dataclass
from typing import ClassVar

from dimcurse.errors import DimcurseError
from dimcurse.parsing import check_seed_count, parse_duration


@dataclass(frozen=True)
class DistanceConfig:
    """Settings of a distance-concentration run (CLI options in brackets)."""

    dims: tuple[int, ...] = (2, 10, 100, 1000)
    """Ambient dimensions to sweep [--dims]; ignored with a real data set, whose dimension is fixed."""
    dists: tuple[str, ...] = ("uniform",)
    """Synthetic distributions [--dist]: uniform (the unit cube), gaussian, sphere (uniform on S^(d-1), d >= 2),
    subspace:K (N(0, I_K) rotated into R^d), torus:K (the flat torus of side 1 in R^(2K), rotated into R^d)."""
    metrics: tuple[str, ...] = ("l2",)
    """Distances [--metric]: l2, l1, linf, lp:P (P >= ln(d)/340, below which the distances leave float64),
    cosine (1 - cos)."""
    n_points: int = 10_000
    """Points per set [--points]; a real set gives at most its size minus the queries."""
    n_queries: int = 100
    """Queries per set, drawn from the same distribution, disjoint from the points [--queries]."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Seeds, each drawing fresh points and queries: a count (5 = seeds 0..4), a range (0..4) or a list (0,3,7)
    [--seeds]."""
    k: int = 10
    """Neighbours for the hubness k-occurrence [--k]."""
    mle_k: int = 20
    """Neighbours for the Levina-Bickel intrinsic dimension [--mle-k]."""
    id_points: int = 2000
    """Points (the first of each set) used for intrinsic dimension and hubness; 0 turns them off [--id-points]."""
    data: str | None = None
    """A real data set instead of --dist: digits, mnist1d, mnist:DIR, fashion-mnist:DIR, or a file
    (.npy .npz .csv .tsv .parquet) whose rows are the points; default: none (the --dist sets) [--data]."""
    download: bool = False
    """Let torchvision download mnist/fashion-mnist into DIR [--download]."""
    dtype: str = "float32"
    """float32 or float64: the working precision of the chunked distances [--dtype]; extremes are always
    recomputed in float64."""
    chunk_elems: int = 0
    """Query x point elements held at once, which bounds memory; 0 = auto: 2^20 on the CPU, 2^26 on a GPU
    [--chunk]."""


@dataclass(frozen=True)
class ApproxConfig:
    """Settings of an approximation-against-width run (CLI options in brackets)."""

    # Fields added after stores were written (2026-12-06): at their defaults they leave a point's store key
    # as it was (provenance.config_key). The verdict's tolerance changes only the fit table, never the rows.
    KEY_LATER_FIELDS: ClassVar[tuple[str, ...]] = ("verdict_tolerance", "budget")

    targets: tuple[str, ...] = ("barron",)
    """Target functions [--target]; see --list-targets."""
    dims: tuple[int, ...] | None = None
    """Input dimensions [--dims]; None: 8 for targets defined in any d, the fixed d otherwise."""
    archs: tuple[str, ...] = ("shallow",)
    """Architectures [--arch]: shallow, deep, tree (a list compares them)."""
    widths: tuple[int, ...] | None = None
    """Hidden widths (per tree node for tree) [--widths / --width]; None: 4, 8, 16, ... while a shallow
    network of that width has at most 2,500 parameters (at most 64)."""
    depth: int = 3
    """Hidden layers of the deep architecture [--depth]."""
    activation: str = "relu"
    """relu, tanh, softplus, silu, poly (a quadratic fitted to ReLU on [-3, 3]) [--activation]."""
    n_samples: tuple[int, ...] | None = None
    """Training samples per seed [--samples]; None: --samples-per-param x the model's parameters
    (at least 2000), each width on the first samples of one pool, so no width is estimation-limited.
    Two or more sizes draw a learning curve: every width trains on the first n of one pool for each n."""
    samples_per_param: float = 8.0
    """Training samples per parameter when --samples is not given [--samples-per-param]."""
    n_test: int = 5000
    """Fresh test samples per seed [--test-samples] (sd of the RMSE ~ RMSE / sqrt(2n): 1 % at 5000)."""
    steps: int | None = None
    """Adam steps (LBFGS: iterations per model) [--steps]; None: 2000."""
    lm_iters: int | None = None
    """Levenberg–Marquardt iterations at most: a model stops once converged [--lm-iters]; None: 400."""
    lm_rows: float = 1.0
    """Samples per parameter in the Gauss–Newton matrix of LM and of gn (its CG products), at least 3000 (the
    gradient uses all) [--lm-rows]; 0: all."""
    lm_max_params: int = 600
    """Largest model LM trains under --optimizer auto (its cost grows as P^3; above, matrix-free Gauss-Newton,
    whose cost grows as P) [--lm-max-params]."""
    optimizer: str = "auto"
    """auto (for shallow networks LM up to --lm-max-params and matrix-free Gauss-Newton above; Adam for deep
    and tree), lm, gn (matrix-free Gauss-Newton, any size), adam, adam+lm (Adam, then
    LM), lbfgs (one model at a time) [--optimizer]."""
    gn_iters: int | None = None
    """Gauss-Newton steps at most (a model stops once converged) [--gn-iters]; None: 300."""
    cg_iters: int | None = None
    """Conjugate-gradient iterations per Gauss-Newton step at most [--cg-iters]; None: 20."""
    lr: float | None = None
    """Adam/LBFGS learning rate; None = 3e-3 for Adam (cosine-decayed to 1 %), 1.0 for LBFGS [--lr]."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Seeds, each drawing samples and initialisation: a count (5 = seeds 0..4), a range (0..4) or a list
    (0,3,7) [--seeds]."""
    baselines: tuple[str, ...] = ()
    """Fixed-basis baselines on the same data: random-features, knn [--baselines]."""
    knn_k: int = 1
    """Neighbours averaged by the k-NN baseline [--knn-k]."""
    teacher_k: tuple[int, ...] = (4,)
    """Intrinsic dimensions k of the teacher targets, a list sweeps k [--teacher-k]."""
    teacher_draws: int = 3
    """Random teachers drawn per (d, k) [--teacher-draws]; the exponent's interval is over draws x seeds."""
    q_power_k: int = 2
    """k of the q-power target Q^(2^k) [--q-power-k]."""
    dtype: str = "float32"
    """float32 or float64: the training precision [--dtype] (LM's solves, losses and gradients are float64
    either way)."""
    record_every: int = 0
    """Record train and test RMSE every N Adam steps / LM iterations, from step 0 (0 = off) [--record-every]."""
    data: str | None = None
    """A regression data file (.npy .npz .csv .tsv .parquet) instead of --target: features and a target y;
    default: none [--data]."""
    target_column: str | None = None
    """The target's column (or .npz key) in --data; default: y (the last column of an .npy) [--target-column]."""
    test_fraction: float = 0.2
    """Share of --data's rows held out for testing, drawn per seed [--test-fraction]."""
    inputs: str | None = None
    """Where a synthetic target's inputs come from [--inputs]: a point set (subspace:K, torus:K, sphere,
    gaussian, uniform) or real inputs (digits, mnist1d, a .npy file, with +upsample:F / +noise:K);
    default: uniform on the target's cube."""
    verdict_tolerance: float = 0.3
    """A fit agrees with its theory when its 95 % interval contains the theory's exponent and its half-width
    is at most this share of it (0 to 1; docs/approx.md, the verdict) [--verdict-tolerance]."""
    components: int | None = None
    """Principal components a --data file's standardised columns are projected onto before training
    [--components]; None: on files of more than 64 columns, the fewest that carry 99.9 % of the training rows'
    variance (at most 64), none on narrower files; 0: never."""
    budget: float | None = None
    """Seconds the run may take (5m, 90s, 1h30m): the widest widths, then seeds and teacher draws, are dropped
    until the estimate fits, and a note says what was chosen [--budget]; None: no limit."""

    def __post_init__(self) -> None:
        # One k (one sample size) may be given as a plain int (the Python API, older sweep files and stored
        # configs): it is the 1-tuple; a list read back from JSON is the tuple.
        if isinstance(self.budget, str):  # budget="5m" in Python, as on the command line
            object.__setattr__(self, "budget", parse_duration(self.budget, "--budget"))
        for name in ("teacher_k", "n_samples"):
            value = getattr(self, name)
            if isinstance(value, int):
                object.__setattr__(self, name, (value,))
            elif isinstance(value, list):
                object.__setattr__(self, name, tuple(value))


OVERPARAM_N = 1000  # overparam's default training and test sizes (a --data file's, at most)


def _is_user_data(spec: str) -> bool:
    from dimcurse.userdata import is_user_data  # numpy: only for a config naming data, never at --help

    return is_user_data(spec)


@dataclass(frozen=True)
class OverparamConfig:
    """Settings of an overparameterisation sweep (CLI options in brackets)."""

    # Fields added after stores were written (2026-12-05, gradient descent): at their defaults they leave a
    # point's store key as it was (provenance.config_key).
    KEY_LATER_FIELDS: ClassVar[tuple[str, ...]] = ("feature_scales", "group_steps", "standardise")

    model: str = "random-features"
    """linear, random-features, mlp, cnn (on MNIST-1D sequences, or images) or knn (a k-nearest-neighbour
    classifier, k the --widths; a learning curve's baseline) [--model]."""
    data: str | None = None
    """mnist1d, digits, teacher, mnist:DIR, fashion-mnist:DIR, cifar10:DIR, or a file (.npy .npz .csv .tsv
    .parquet) of features and integer labels y; None: mnist1d (gaussian for linear) [--data]."""
    widths: tuple[int, ...] | None = None
    """Hidden widths (mlp), channels (cnn) or features (linear, random-features); None: the model's default
    sweep [--widths / --features]."""
    depth: int = 1
    """Hidden layers of the mlp (the cnn's are fixed) [--depth]."""
    feature_map: str = "relu"
    """random-features: relu (ReLU of a Gaussian projection) or fourier (cos/sin pairs, Rahimi & Recht)
    [--feature-map]."""
    n_train: tuple[int, ...] | None = None
    """Training samples per seed (a subset drawn per seed); a list sweeps n, for sample-wise double descent
    [--train-samples]. None: 1000, or every training row of a --data file with fewer."""
    n_test: int | None = None
    """Test samples (the same for every seed) [--test-samples]. None: 1000, or every held-out row of a --data
    file (at most 10,000)."""
    label_noise: tuple[float, ...] = (0.0,)
    """Fractions of training labels replaced by uniformly random ones (Zhang et al. 2017) [--label-noise]."""
    ridge: tuple[float, ...] = (0.0,)
    """Ridge lambda of the closed-form models, normalised: (1/n)||y - Xb||^2 + lambda ||b||^2; 0 = min-norm
    [--ridge]."""
    weight_decay: float = 0.0
    """Weight decay of the mlp's and cnn's optimiser (decoupled for adam, L2 for sgd) [--weight-decay]."""
    epochs: int = 300
    """Passes over the training set (mlp, cnn) [--epochs]."""
    steps: int | None = None
    """Optimiser steps instead of --epochs (mlp, cnn); for linear, full-batch gradient descent from zero for
    that many steps, recorded with its exact risk, instead of the closed-form solution; default: none
    (--epochs counts; linear: solved) [--steps]."""
    optimizer: str = "adam"
    """adam (AdamW) or sgd (momentum 0.9), both batched exactly [--optimizer]."""
    lr: float | None = None
    """Learning rate; None = 1e-3 (adam), 0.05 (sgd), 1/lambda_max of the training Gram matrix (linear
    gradient descent); constant [--lr]."""
    batch_size: int = 100
    """Mini-batch size; 0 = full batch (then epochs = steps) [--batch-size]."""
    loss: str = "ce"
    """mlp loss: ce (cross-entropy) or mse (squared loss on one-hot labels) [--loss]."""
    activation: str = "relu"
    """Hidden activation of the mlp: relu, tanh, softplus, silu, poly [--activation]."""
    record_every: int = 0
    """Record train and test loss and error every N epochs, from epoch 0 (mlp, cnn; 0 = the final epoch
    only); linear gradient descent: every N steps (0 = about 10 log-spaced records per decade) [--record-every]."""
    augment: bool = False
    """Image sets: random crops (padding H/8) and horizontal flips of every mini-batch; off by default [--augment]."""
    signal_var: float = 1.0
    """linear: r^2 = ||beta||^2 [--signal-var]."""
    noise_var: float = 0.25
    """linear: sigma^2, the label noise variance [--noise-var]."""
    feature_scales: tuple[float, ...] = (1.0,)
    """linear with --steps: the standard deviations of equal groups of the features, each group carrying an
    equal share of the signal; 1,0.05: a fast and a slow group (Heckel & Yilmaz 2021) [--feature-scales]."""
    standardise: bool = True
    """Scale every input feature of a data set to unit sd on the training pool (centred either way); off keeps
    the data's own scales, as a two-speed network needs them (epoch-wise double descent) [--standardise]."""
    group_steps: tuple[str, ...] = ("same",)
    """linear with --steps: same (one step size) or equalised (per-group step sizes ∝ 1/scale², every group
    learned at one speed: Heckel & Yilmaz's remedy); a list runs both [--group-steps]."""
    teacher_dim: int = 20
    """teacher data: input dimension [--teacher-dim]."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Seeds, each drawing a training subset, label noise, features and initialisation: a count (5 = seeds
    0..4), a range (0..4) or a list (0,3,7) [--seeds]."""
    download: bool = False
    """Let torchvision fetch mnist/fashion-mnist into DIR [--download]."""
    dtype: str = "float32"
    """float32 or float64: the trained models' precision (closed-form solves always run in float64) [--dtype]."""
    target_column: str | None = None
    """The label column (or .npz key) of a --data file; default: y (the last column of an .npy) [--target-column]."""
    test_fraction: float = 0.2
    """Share of a --data file's rows held out for testing: one fixed split, drawn from the file's content,
    so every seed is tested on the same rows (approx's is drawn per seed) [--test-fraction]."""

    def __post_init__(self) -> None:
        # One size may be given as a plain int (the Python API, older sweep files): it is the 1-tuple.
        if isinstance(self.n_train, int):
            object.__setattr__(self, "n_train", (self.n_train,))
        # A named set's sizes are known now (and keep the store keys they had); a file's wait for its rows.
        if self.data is None or not _is_user_data(self.data):
            if self.n_train is None:
                object.__setattr__(self, "n_train", (OVERPARAM_N,))
            if self.n_test is None:
                object.__setattr__(self, "n_test", OVERPARAM_N)


# The command line's option names (snake_case) that differ from the field they set. The
# Python API and sweep files accept these as well as the field names, so one set of names
# works everywhere (`points` and `n_points`, `dist` and `dists`).
CLI_NAMES = {
    "distance": {
        "dist": "dists",
        "metric": "metrics",
        "points": "n_points",
        "queries": "n_queries",
        "chunk": "chunk_elems",
    },
    "approx": {
        "target": "targets",
        "arch": "archs",
        "width": "widths",
        "samples": "n_samples",
        "test_samples": "n_test",
        "baseline": "baselines",
    },
    "overparam": {"features": "widths", "train_samples": "n_train", "test_samples": "n_test"},
}
CONFIGS = {"distance": DistanceConfig, "approx": ApproxConfig, "overparam": OverparamConfig}


@functools.cache
def field_docs(config_class) -> dict[str, str]:
    """Each field's documentation: the string literal under it in this file (read with ast)."""
    tree = ast.parse(inspect.getsource(config_class))
    body = tree.body[0].body
    docs = {}
    for node, after in zip(body, body[1:] + [None]):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


OPTION_MARK = r"\[(--[\w-]+(?:\s*/\s*--[\w-]+)*)\]"  # "[--widths / --width]" in a field's documentation


@functools.cache
def field_options(config_class) -> dict[str, str]:
    """Each CLI option (``--points``) and the field it sets, from the marks in the fields' documentation."""
    options = {}
    for name, doc in field_docs(config_class).items():
        for mark in re.finditer(OPTION_MARK, doc):
            options.update((option, name) for option in re.split(r"\s*/\s*", mark.group(1)))
    return options


def option_of(config_class, field: str) -> str:
    """The CLI option that sets ``field`` (the first its documentation names), for an error message."""
    return next((option for option, name in field_options(config_class).items() if name == field), field)


def check_counts(config, fields: tuple[str, ...]) -> None:
    """Every one of ``fields`` must be at least 1; an error names the field's option (from its documentation)."""
    for name in fields:
        value = getattr(config, name)
        if value is not None and value < 1:  # None: a default the kernel sets from its data
            raise DimcurseError(f"must be at least 1, got {value}", option_of(type(config), name))


def check_seeds(seeds) -> None:
    """Seeds of a config: at least one, non-negative, distinct (a repeat would double-count a run)."""
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise DimcurseError("seeds must be distinct non-negative integers", "--seeds")
    check_seed_count(len(seeds))


def option_help(config_class, field: str) -> str:
    """A field's documentation as its option's help: the option mark taken out."""
    text = re.sub(r"\s*" + OPTION_MARK, "", field_docs(config_class)[field]).strip()
    return re.sub(r"\bNone ?[:=] ", "default: ", text)  # the CLI's user never types None


def cli_default(config_class, field: str):
    """A field's default as the command line writes it: lists with commas, seeds 0..n-1 as the count n."""
    # the field's own default: None stays None where the kernel sets it later (overparam's sizes of a file)
    value = {f.name: f.default for f in dataclasses.fields(config_class)}[field]
    if field == "seeds" and value == tuple(range(len(value))):
        return str(len(value))
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return value
