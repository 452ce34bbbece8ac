"""What an approx run trains: its (target, dim, k) settings, widths, sample sizes and trainers."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass


from dimcurse import memory, userdata
from dimcurse.experiments.approx import inputs
from dimcurse.configs import ApproxConfig as Config
from dimcurse.errors import DimcurseError
from dimcurse.nets import shallow_params
from dimcurse.experiments.approx.targets import TargetOptions, get_target, is_teacher, target_dims

DEFAULT_STEPS = 2000  # Adam steps / LBFGS iterations when --steps is not given
DEFAULT_LM_ITERS = 200  # LM iterations when --lm-iters is not given
DEFAULT_GN_ITERS = 150  # Gauss–Newton steps when --gn-iters is not given (60 left models still falling)
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


def _inputs(config: Config):
    """The --inputs point set (parsed once per spec), or None for the target's cube."""
    return None if config.inputs is None else _parsed_inputs(config.inputs)


DEFAULT_DIM = 8
MAX_AUTO_WIDTH = 64  # widths 4..64: the range where LM's P^3 cost fits the 3-minute budget at d = 32


@dataclass(frozen=True)
class _FileTarget:
    """A user's regression data in place of a target function: its name and its fixed dimension."""

    name: str
    fixed_dim: int
    tree: bool = False


def _settings(config: Config, file=None) -> list[tuple]:
    """(target, dim, k) to run: the targets at their dimensions (teachers at each --teacher-k, others with
    k = None), or the one data file."""
    if config.data is not None:
        data = file if file is not None else _user_data(config)
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
