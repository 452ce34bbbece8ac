"""What an approx run trains, decided once: ``make(config, file)`` gives the run's ``Plan`` (its settings,
each with its widths, replicates and training pool; the inputs' label; the learning curve's sizes), which the
schedule, the memory estimate, the data and the rows read; and the rules it is made by (widths, samples,
trainers, caps, each stage's estimated work)."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Callable


import numpy as np

from dimcurse import data, memory, userdata
from dimcurse.data import principal_axes
from dimcurse.experiments.approx import inputs
from dimcurse.experiments.approx.gn import DEFAULT_CG_ITERS
from dimcurse.configs import ApproxConfig as Config
from dimcurse.errors import DimcurseError
from dimcurse.runtime import numpy_rng
from dimcurse.experiments.approx.networks import shallow_params
from dimcurse.experiments.approx.targets import TargetOptions, get_target, is_teacher, target_dims

DEFAULT_STEPS = 2000  # Adam steps / LBFGS iterations when --steps is not given
# The second-order trainers' caps: a model stops earlier once converged (convergence.py). On a 2-d surface in
# 40-d (widths 2-14, 6 seeds) LM's models met the rule by iteration 50-343 or not by 500, Gauss–Newton's by
# 50-488; on the docs' teacher (d = 4, 16) every LM model by 50-100. Before the rule: 200 and 150, run in full.
DEFAULT_LM_ITERS = 400  # LM iterations at most when --lm-iters is not given
DEFAULT_GN_ITERS = 300  # Gauss–Newton steps at most when --gn-iters is not given
MIN_SAMPLES = 2000  # the smallest automatic training set


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


def input_source(config: Config):
    """The --inputs point set (parsed once per spec), or None for the target's cube."""
    return None if config.inputs is None else _parsed_inputs(config.inputs)


DEFAULT_DIM = 8
MAX_AUTO_WIDTH = 64  # the default sweep on a target: widths 4..64 ...
MAX_AUTO_PARAMS = 2500  # ... while a shallow network has at most 2,500 parameters (width 64 up to d = 37)


@dataclass(frozen=True)
class FileTarget:
    """A user's regression data in place of a target function: its name and its fixed dimension."""

    name: str
    fixed_dim: int
    tree: bool = False


def settings_of(config: Config, file, projected: Projection | None = None) -> list[tuple]:
    """(target, dim, k) to run: the targets at their dimensions (teachers at each --teacher-k, others with
    k = None), or the one data file (dim: its columns, or the components they are projected onto)."""
    if config.data is not None:
        dim = projected.components if projected else int(file.x.shape[1])
        return [(FileTarget(file.name, dim), dim, None)]
    out = []
    for name in config.targets:
        target = get_target(name)
        ks = config.teacher_k if is_teacher(target.name) else (None,)
        out += [(target, d, k) for d in dims_for(config, target) for k in ks]
    return out


def replicates(config: Config, target_name: str) -> list[tuple[int, int]]:
    """(teacher draw, seed) pairs trained as one batch: every draw x seed for a teacher, draw 0 otherwise."""
    draws = range(config.teacher_draws) if is_teacher(target_name) else range(1)
    return [(draw, seed) for draw in draws for seed in config.seeds]


def target_options(config: Config, k: int | None, draw: int = 0) -> TargetOptions:
    """The target's knobs for one (k, draw)."""
    return TargetOptions(teacher_k=k or config.teacher_k[0], teacher_draw=draw, q_power_k=config.q_power_k)


def dims_for(config: Config, target) -> tuple[int, ...]:
    """The dimensions a target runs at; an explicit --dims that a fixed-d target (or real --inputs) cannot
    take is an error."""
    source = input_source(config)
    if source is not None and source.fixed_dim:
        if config.dims is not None and set(config.dims) != {source.fixed_dim}:
            raise DimcurseError(f"{source.name} fixes d = {source.fixed_dim}; drop --dims", "--dims")
        return (source.fixed_dim,)
    if config.dims is None:
        return (target.fixed_dim or DEFAULT_DIM,)
    return target_dims(target, config.dims)


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


def file_split(config: Config, file, seed: int, learning_curve: bool) -> dict[str, np.ndarray]:
    """A data file's rows for one seed: "test" (--test-fraction of them, drawn from the seed and the file's
    hash), "val" (half of the held-out rows on a learning curve, else none) and "train" (the rest, at most
    the training pool)."""
    n = int(file.x.shape[0])
    n_held = max(1, int(round(config.test_fraction * n)))
    n_val = n_held // 2 if learning_curve else 0
    order = numpy_rng(seed, "split", file.content).permutation(n)
    return {"test": order[n_val:n_held], "val": order[:n_val], "train": order[n_held:][: file_pool(config, n)]}


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and sd of each column of the training rows ``x`` (a constant column's sd: 1)."""
    mean, std = x.mean(0), x.std(0)
    return mean, np.where(std > 0, std, 1.0)


# Wide files are projected onto their principal components before training (--components): at d = 576 a
# Gauss–Newton product pair on 16,000 rows took 40-140 ms a model, against 2-4 ms at d = 32, and the rows /
# --samples-per-param rule left one width (docs/approx.md, "Files with hundreds of columns").
PROJECT_ABOVE = 64  # files with more columns are projected by default
VARIANCE_KEPT = 0.999  # the share of the standardised training rows' variance the default components keep
MAX_COMPONENTS = 64  # ... with at most this many


@dataclass(frozen=True)
class Projection:
    """A data file's columns onto their first principal components: how many, of how many columns, and the
    share of the (first seed's standardised training rows') variance they carry."""

    columns: int
    components: int
    share: float
    given: bool  # --components given (else chosen by the default rule)

    def describe(self) -> str:
        rule = "--components" if self.given else (
            f"the fewest with {VARIANCE_KEPT:.1%} of it, at most {MAX_COMPONENTS}; --components sets them"
        )  # fmt: skip
        return (
            f"the file's {self.columns} columns, standardised, were projected onto their first {self.components} "
            f"principal components, which carry {self.share:.2%} of the training rows' variance ({rule})"
        )


def projection(config: Config, file) -> Projection | None:
    """How a --data file's columns are projected (``Projection``), or None where they are not: --components
    0, or the default on a file of at most PROJECT_ABOVE columns."""
    if file is None or config.components == 0:
        return None
    columns = int(file.x.shape[1])
    if config.components is None and columns <= PROJECT_ABOVE:
        return None
    if config.components is not None and config.components >= columns:
        raise DimcurseError(
            f"{file.name} has {columns} columns; --components must be fewer (0: no projection)", "--components"
        )
    train = file_split(config, file, config.seeds[0], False)["train"]
    # float64: the file, and of its training rows the standardised copy, the centred one, the SVD's and its axes
    need = 8 * columns * (int(file.x.shape[0]) + 4 * len(train))
    memory.require(need, f"projecting {file.name}'s {columns} columns onto principal components", "--data")
    x = np.asarray(file.x, dtype=np.float64)[train]
    mean, std = standardiser(x)
    variances = principal_axes((x - mean) / std)[1]
    shares = np.cumsum(variances) / max(variances.sum(), 1e-300)
    if config.components is not None:
        r = config.components
    else:
        r = min(MAX_COMPONENTS, int(np.searchsorted(shares, VARIANCE_KEPT)) + 1)
    r = min(r, len(variances))
    return Projection(columns, r, float(shares[r - 1]), config.components is not None)


def row_inputs_split(config: Config, rows: int) -> tuple[int, int, int]:
    """Real --inputs of ``rows`` rows: (test, validation, training rows left); --test-fraction of them is held
    out for testing (at most --test-samples), as many again for validation on a learning curve."""
    n_test = min(config.n_test, max(2, round(config.test_fraction * rows)))
    n_val = n_test if is_learning_curve(config) else 0
    return n_test, n_val, rows - n_test - n_val


def fixed_rows(config: Config, file) -> int | None:
    """The training rows a data source fixes (a --data file, or real --inputs): the most any model can train
    on; None where samples are drawn as needed (the target's cube, a point set)."""
    if config.data is not None:
        return file_pool(config, int(file.x.shape[0]))
    source = input_source(config)
    if source is not None and getattr(source, "x", None) is not None:
        left = row_inputs_split(config, int(source.x.shape[0]))[2]
        return left if config.n_samples is None else min(left, max(config.n_samples))
    return None


# The narrowest default width on data: 2 units in 40-d stuck in a poor minimum in 2 to 3 of 6 seeds on the
# bridge's surface file (rel_rmse 0.43-0.98 against 0.05-0.07 for the others), and their median bent the fit.
MIN_DATA_WIDTH = 4
WIDTH_RATIO = math.sqrt(2)  # the default widths on data step by sqrt 2: more sizes in the range the rows allow


def data_widths(config: Config, dim: int, rows: int) -> tuple[tuple[int, ...], str]:
    """Default widths on ``rows`` training rows: the widest whose shallow network has at most rows /
    --samples-per-param parameters (at most MAX_AUTO_WIDTH), then down by sqrt 2 to MIN_DATA_WIDTH; and the
    words that say which limit ends the sweep."""
    budget = rows / config.samples_per_param
    top = math.floor((budget - 1) / (dim + 2))  # shallow_params(dim, w) = (dim + 2) w + 1 <= budget
    limit = (
        f"where a wider network would have more than {rows} rows / --samples-per-param "
        f"{config.samples_per_param:g} = {budget:.0f} parameters"
    )
    if top > MAX_AUTO_WIDTH:
        top, limit = MAX_AUTO_WIDTH, f"at the automatic cap of width {MAX_AUTO_WIDTH} (give --widths for wider)"
    widths = [max(top, MIN_DATA_WIDTH)]
    while round(widths[-1] / WIDTH_RATIO) >= MIN_DATA_WIDTH and round(widths[-1] / WIDTH_RATIO) < widths[-1]:
        widths.append(round(widths[-1] / WIDTH_RATIO))
    return tuple(sorted(set(widths))), limit


def resolve(config: Config, file, projected: Projection | None = None) -> tuple[Config, list[str]]:
    """The config with its default widths chosen from the data's training rows (a file, projected or not, or
    real --inputs), and the note that says which limit ends the sweep; the config as given elsewhere."""
    if config.widths is not None:
        return config, []
    rows = fixed_rows(config, file)
    if rows is None:
        return config, []
    if projected is not None:
        dim = projected.components
    else:
        dim = int(file.x.shape[1]) if file is not None else input_source(config).fixed_dim
    widths, limit = data_widths(config, dim, rows)
    words = f"widths {', '.join(map(str, widths))} (the default on {rows} training rows): the sweep ends {limit}"
    if len(widths) < 3:
        words += f"; a fit needs 3 widths, and these data have too few rows per parameter at d = {dim}"
    return dataclasses.replace(config, widths=widths), [words + "."]


@dataclass(frozen=True)
class Setting:
    """One (target, dim, k) of a run, with what every later step asks of it."""

    target: object  # a Target, or the user's file (FileTarget)
    dim: int
    k: int | None  # the teacher's intrinsic dimension (None for other targets)
    widths: tuple[int, ...]
    replicates: tuple[tuple[int, int], ...]  # (teacher draw, seed) trained as one batch
    drawn: int  # samples drawn per replicate for the training pool (pool_size)
    pool: int  # training samples per replicate (a file's rows, else the drawn pool, at most real inputs')
    projected: Projection | None = None  # a wide file's columns onto principal components (dim: the components)

    @property
    def columns(self) -> int:
        """The inputs' own dimension: a projected file's columns, else ``dim``."""
        return self.projected.columns if self.projected is not None else self.dim


@dataclass(frozen=True)
class Plan:
    """An approx run, decided once from its config and data (``make``); every later step reads it."""

    config: Config  # with the default widths on data chosen (resolve)
    file: object | None  # the user's --data file, read once (None: a target function)
    settings: tuple[Setting, ...]
    inputs: str  # the rows' inputs column
    sizes: tuple  # a learning curve's sample sizes, ascending, else (None,)
    rows: int | None  # the training rows the data fix (fixed_rows)
    notes: tuple[str, ...]  # what the plan chose for the user (the default widths on data)
    projected: Projection | None = None  # a wide file's projection onto principal components

    @property
    def learning_curve(self) -> bool:
        return self.sizes != (None,)


_FOUND = object()  # make()'s default: the projection is found from the file


def make(config: Config, file=None, projected=_FOUND) -> Plan:
    """The run's plan; ``file``: the --data file when already read (it is read here otherwise);
    ``projected``: its projection when already found (--budget's smaller plans keep the run's seeds[0], split
    and --components, so the principal components are not computed again)."""
    if config.data is not None and file is None:
        file = read_data(config)
    if projected is _FOUND:
        projected = projection(config, file) if config.data is not None else None
    config, notes = resolve(config, file, projected)
    rows = fixed_rows(config, file)
    settings = tuple(
        Setting(
            target, dim, k, widths_for(config, dim), tuple(replicates(config, target.name)),
            pool_size(config, dim), training_pool(config, dim, rows), projected,
        )
        for target, dim, k in settings_of(config, file, projected)
    )  # fmt: skip
    notes = ([projected.describe() + "."] if projected else []) + notes
    return Plan(config, file, settings, inputs_label(config), sample_sizes(config), rows, tuple(notes), projected)


def read_data(config: Config):
    """The run's regression data: a user's file (read once, checked), or the generated ``objects:K[:R]`` set."""
    if data.objects_spec(config.data) is not None:
        return data.objects_regression(config.data)
    return userdata.read(config.data, config.target_column)


def training_pool(config: Config, dim: int, rows: int | None) -> int:
    """Training samples per replicate: a file's rows, else the pool drawn for the sweep (at most real inputs')."""
    if config.data is not None:
        return rows
    n = pool_size(config, dim)
    return n if rows is None else min(n, rows)


def widths_for(config: Config, dim: int) -> tuple[int, ...]:
    """The widths swept at ``dim``: the given ones, or 4, 8, 16, ... while shallow_params <= MAX_AUTO_PARAMS."""
    if config.widths is not None:
        return config.widths
    widths = [4]
    while widths[-1] * 2 <= MAX_AUTO_WIDTH and shallow_params(dim, widths[-1] * 2) <= MAX_AUTO_PARAMS:
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


def own_samples(config: Config, params: int, pool: int) -> int:
    """Samples a second-order trainer fits a model on: a data file's whole pool (the user gave those rows),
    else samples_for."""
    return pool if config.data is not None and config.n_samples is None else samples_for(config, params)


def pool_size(config: Config, dim: int) -> int:
    """Training samples drawn per seed at ``dim``: enough for the largest model of the sweep."""
    largest = max(arch_params(a, dim, w, config.depth) for a in config.archs for w in widths_for(config, dim))
    return samples_for(config, largest)


def trainer_cap(config: Config | None, optimizer: str) -> int:
    """The most iterations (steps) a model gets from ``optimizer``: its option, or the default cap."""
    given = {} if config is None else {"lm": config.lm_iters, "gn": config.gn_iters}
    if optimizer in ("lm", "adam+lm"):
        return given.get("lm") or DEFAULT_LM_ITERS
    if optimizer == "gn":
        return given.get("gn") or DEFAULT_GN_ITERS
    return (config.steps if config is not None else None) or DEFAULT_STEPS


def trainer_for(config: Config, arch: str, params: int) -> str:
    """The trainer of one model: auto resolves, for shallow networks, to lm up to lm_max_params and to gn
    (matrix-free Gauss–Newton) above; adam for deep and tree networks."""
    if config.optimizer != "auto":
        return config.optimizer
    if arch != "shallow":
        return "adam"
    return "lm" if params <= config.lm_max_params else "gn"


MIN_GN_ROWS = 3000  # a Gauss–Newton matrix from only ~P samples steered small models into poor minima


def lm_rows(config: Config, params: int) -> int | None:
    """Samples in LM's Gauss–Newton matrix for a model of ``params`` parameters: lm_rows x params, at least
    3000 (None: all)."""
    return None if config.lm_rows == 0 else max(MIN_GN_ROWS, math.ceil(config.lm_rows * params))


@dataclass(frozen=True)
class Costs:
    """The cost model of a run's stages: each trainer's arithmetic at a machine's rates, plus its per-iteration
    overhead, over a number of iterations. ``CAPS`` (below) is the progress bar's unit: seconds of one core at
    the trainers' caps, with the rates measured on the development machine (AMD EPYC, one thread, 2026-12-06:
    LM 3.9 ms an iteration at P = 85 and 478 ms at 2,353; Gauss–Newton 12 ms at 85 and 246 ms at 4,705 on
    4,800 rows); only its ratios matter there. ``estimate.costs()`` gives this machine's rates, measured, and
    the iterations a model typically runs before it converges (``typical``)."""

    matmul: float = 5e10  # FLOP/s of a dense product (LM's JᵀJ)
    stream: float = 1.8e10  # FLOP/s of batched products on thin matrices (Gauss–Newton's Jv, Jᵀu; Adam's passes)
    pair_time: Callable[[int, int], float] | None = None  # (d, w) -> seconds of one product pair per sample and
    # model, measured (estimate.costs); None: 4 P FLOP at ``stream``
    lm_overhead: float = 3e-3  # seconds per model and iteration: losses, the solve's bookkeeping
    gn_overhead: float = 5e-3
    adam_overhead: float = 2e-4  # per model and step
    typical: dict | None = None  # trainer -> iterations a model typically runs (at most its cap); None: the caps
    cg_share: float = 1.0  # the share of --cg-iters a Gauss–Newton step typically runs

    def pair(self, rows: int, dim: int, width: int) -> float:
        """Seconds of one product pair Jv, Jᵀu (or a forward and a backward pass) of one shallow model of
        ``dim`` x ``width`` over ``rows`` samples."""
        if self.pair_time is not None:
            return rows * self.pair_time(dim, width)
        return 4 * rows * shallow_params(dim, width) / self.stream

    def iterations(self, config: Config, trainer: str) -> int:
        cap = trainer_cap(config, trainer)
        return cap if self.typical is None or trainer not in self.typical else min(cap, self.typical[trainer])


CAPS = Costs()
# A Gauss–Newton step's passes over every sample (linearising: three activations of n x w written; the gradient;
# the candidate's loss), in product pairs: 6, measured at d = 8, w = 512, n = 40,968 (linearising alone 0.52 s
# against 19 ms for a pair on 5,121 rows, 3 models, one thread, 2026-12-07).
GN_PASSES = 6


def stage_work(
    config: Config, arch: str, dim: int, widths, used, n_test: int, *, n_models: int = 1, costs=CAPS
) -> dict:
    """Estimated seconds of each stage of one architecture's sweep (``used``: each width's training samples):
    "adam" for the Adam stage of all its widths, and each LM or Gauss–Newton width by its index; by ``costs``
    (the default: at the trainers' caps, so a model that converges early leaves its share to be given at once)."""
    params = [arch_params(arch, dim, w, config.depth) for w in widths]
    plan = [trainer_for(config, arch, p) for p in params]
    cost = {}
    adam = [j for j, t in enumerate(plan) if t in ("adam", "adam+lm")]
    if adam:
        per_step = sum(
            1.5 * costs.pair(used[j], dim, widths[j]) * params[j] / shallow_params(dim, widths[j]) + costs.adam_overhead
            for j in adam
        )
        cost["adam"] = per_step * costs.iterations(config, "adam")
    for j, trainer in enumerate(plan):
        P, n, w = params[j], used[j], widths[j]
        held = 0.5 * costs.pair(n_test, dim, w)  # the held-out loss each iteration (a forward pass)
        m = min(n, lm_rows(config, P) or n)  # rows in the curvature
        if trainer in ("lm", "adam+lm"):
            # JᵀJ from three of its four blocks; the float32 Cholesky (P³/3 FLOP at about a third of the rate);
            # the gradient and the candidate's loss over every sample
            gram = (1.5 * m * P * P + P**3) / costs.matmul
            per = gram + 1.5 * costs.pair(n, dim, w) + held + costs.lm_overhead
            cost[j] = per * costs.iterations(config, "lm")
        elif trainer == "gn":
            cg = (config.cg_iters or DEFAULT_CG_ITERS) * costs.cg_share
            # CG's products on the curvature's rows; linearising, the gradient and the candidate's loss on all
            per = cg * costs.pair(m, dim, w) + GN_PASSES * costs.pair(n, dim, w) + held + costs.gn_overhead
            cost[j] = per * costs.iterations(config, "gn")
    return {key: value * n_models for key, value in cost.items()}


def baseline_work(name: str, dim: int, widths, n: int, n_test: int, n_models: int = 1, *, costs=CAPS) -> float:
    """Estimated seconds of a baseline: random features' least squares, or k-NN's distances."""
    if name == "random-features":
        return n_models * sum(2 * (n + n_test) * (dim + w) * w / costs.stream for w in widths)
    return n_models * 2 * (n + n_test) * n * dim / costs.matmul
