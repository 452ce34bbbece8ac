"""Sweep files: TOML experiments expanded into grid points, each a validated kernel config.

A sweep file holds one or more ``[[experiment]]`` tables::

    [[experiment]]
    name = "curse"            # optional; defaults to "<kernel>-<index>"
    kernel = "distance"        # a name in dimcurse.experiments.REGISTRY
    [experiment.fixed]         # settings shared by every point
    n_points = 10000
    [experiment.grid]          # axes whose cross product is run
    dims = [2, 10, 100, 1000]
    metrics = ["l2", "l1"]
    seeds = [0, 1, 2]

Keys are exactly the kernel's ``Config`` field names. A grid axis lists values for its
field; a scalar given for a tuple field (``dims = 10``) means the one-element tuple, so
``seeds = [0, 1, 2]`` makes one point per seed and the report aggregates over them.
Every problem (bad TOML, unknown kernel or key, a value of the wrong type, a value the
kernel rejects) raises one ``DimcurseError`` naming the file, the experiment and the key,
before any point runs.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dimcurse import options
from dimcurse.errors import DimcurseError
from dimcurse.experiments import REGISTRY
from dimcurse.provenance import config_dict, config_key


@dataclass(frozen=True)
class Point:
    """One run of a kernel: its experiment, its grid values and the resolved config."""

    experiment: str
    kernel: str
    config: object
    axes: tuple[tuple[str, object], ...]  # the grid values that define this point, as the file gives them

    @property
    def key(self) -> str:
        """Hash of (kernel, kernel version, resolved config): the point's identity in a store."""
        return config_key(self.kernel, REGISTRY[self.kernel].VERSION, self.config)

    def label(self) -> str:
        return f"{self.experiment}: " + ", ".join(f"{k}={v}" for k, v in self.axes)

    def config_json(self) -> dict:
        return config_dict(self.config)


def load_sweep(path: str | Path) -> list[Point]:
    """Parse and expand a sweep file; every point's config is validated by its kernel."""
    path = Path(path).expanduser()
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise DimcurseError(f"{path}: no such sweep file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DimcurseError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DimcurseError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(doc) - {"experiment"}
    if unknown:
        raise DimcurseError(f"{path}: unknown top-level key {sorted(unknown)[0]!r} (use [[experiment]] tables)")
    experiments = doc.get("experiment")
    if not isinstance(experiments, list) or not experiments:
        raise DimcurseError(f"{path}: no [[experiment]] tables")
    points, names = [], set()
    for index, table in enumerate(experiments):
        new = _expand(path, index, table)
        name = new[0].experiment
        if name in names:
            raise DimcurseError(f"{path}: experiment {name!r}: the name is used twice")
        names.add(name)
        points += new
    keys = {}
    for point in points:
        if point.key in keys:
            first = keys[point.key]
            axes = ", ".join(f"{k}={v}" for k, v in point.axes) or "its fixed settings"
            raise DimcurseError(
                f"{path}: experiment {point.experiment!r}: the point {axes} is the same run as "
                f"{first.label()} (a repeated grid value, or two experiments with one config)"
            )
        keys[point.key] = point
    return points


def _expand(path: Path, index: int, table) -> list[Point]:
    where = f"{path}: experiment #{index + 1}"
    if not isinstance(table, dict):
        raise DimcurseError(f"{where}: not a table")
    extra = set(table) - {"name", "kernel", "fixed", "grid"}
    if extra:
        raise DimcurseError(f"{where}: unknown key {sorted(extra)[0]!r} (name, kernel, fixed, grid)")
    kernel_name = table.get("kernel")
    name = table.get("name", f"{kernel_name}-{index + 1}")
    if not isinstance(name, str) or not name:
        raise DimcurseError(f"{where}: key 'name' must be a non-empty string")
    where = f"{path}: experiment {name!r}"
    if kernel_name not in REGISTRY:
        raise DimcurseError(f"{where}: key 'kernel': unknown kernel {kernel_name!r} (known: {', '.join(REGISTRY)})")
    kernel = REGISTRY[kernel_name]
    fixed, grid = table.get("fixed", {}), table.get("grid", {})
    for part, value in (("fixed", fixed), ("grid", grid)):
        if not isinstance(value, dict):
            raise DimcurseError(f"{where}: key {part!r} must be a table")
    both = set(_fields(where, kernel_name, fixed)) & set(_fields(where, kernel_name, grid))
    if both:
        raise DimcurseError(f"{where}: key {sorted(both)[0]!r} is both fixed and a grid axis")
    settings = {}
    for key, value in fixed.items():
        settings.update(options.typed_key(where, kernel_name, key, value))
    axes = []
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise DimcurseError(f"{where}: grid key {key!r} must be a non-empty list of values")
        axes.append([(key, v, options.typed_key(where, kernel_name, key, v)) for v in values])
    points = []
    for combo in itertools.product(*axes) if axes else [()]:
        values = {**settings, **{field: value for _, _, one in combo for field, value in one.items()}}
        config = kernel.Config(**values)
        try:
            kernel.validate(config)
        except DimcurseError as exc:
            detail = ", ".join(f"{k}={raw}" for k, raw, _ in combo)
            raise DimcurseError(f"{where}{' (' + detail + ')' if detail else ''}: {exc}") from None
        points.append(Point(name, kernel_name, config, tuple((key, raw) for key, raw, _ in combo)))
    return points


def _fields(where: str, kernel: str, table: dict) -> list[str]:
    """The fields a table's keys set (the CLI's names or the fields'), every key known and set once."""
    try:
        return options.field_names(kernel, table, what="key")
    except DimcurseError as exc:
        raise DimcurseError(f"{where}: {exc.message}") from None
