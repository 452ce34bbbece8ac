"""The Python API: ``dimcurse.distance``, ``dimcurse.approx`` and ``dimcurse.overparam``.

The keywords are the command line's option names in snake_case (``points``, ``dist``,
``train_samples`` …; the config field names work too) and take the CLI's forms:
``seeds=3`` is seeds 0..2, ``dims=10`` is one dimension, ``dims="10,100"`` two. ``data``
takes a path, a numpy array, a torch tensor, a pandas DataFrame or an ``(x, y)`` pair.
Bad values raise ``DimcurseError`` with the CLI's one-line message. Each call returns the
kernel's ``Result``: ``.rows``, ``.summary`` (the mean ± sd table the terminal shows),
``.provenance``, ``.to(path)``.

    >>> import numpy as np, dimcurse
    >>> result = dimcurse.distance(np.random.rand(2000, 50), seeds=2)
    >>> result.summary[["dist", "twonn_id_mean"]]
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

from dimcurse import configs
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx.registered import register_target  # noqa: F401  (part of the API)
from dimcurse.plugins import register_dataset  # noqa: F401  (part of the API)
from dimcurse.parsing import (
    did_you_mean,
    parse_float,
    parse_float_list,
    parse_int,
    parse_int_list,
    parse_name_list,
    parse_seeds,
)


def distance(data=None, *, device: str = "auto", threads: int | None = None, **options):
    return run("distance", data, device, options, threads=threads)


def approx(data=None, *, device: str = "auto", threads: int | None = None, **options):
    return run("approx", data, device, options, threads=threads)


def overparam(data=None, *, device: str = "auto", threads: int | None = None, **options):
    return run("overparam", data, device, options, threads=threads)


def run(kernel: str, data=None, device: str = "auto", options: dict | None = None, *, threads: int | None = None):
    """Build the kernel's Config from CLI-style keywords, validate it, run it on ``threads`` torch threads
    (None: 1, as the command line; the caller's count is restored after)."""
    from dimcurse.experiments import REGISTRY, run_kernel
    from dimcurse.runtime import resolve_device

    module = REGISTRY[kernel]
    config = make_config(kernel, dict(options or {}), data)
    module.validate(config)
    return run_kernel(module, config, resolve_device(device), threads=threads)


def make_config(kernel: str, options: dict, data=None):
    """A kernel's Config from keywords in the CLI's names and forms (or the fields' own)."""
    config_class = configs.CONFIGS[kernel]
    names = configs.CLI_NAMES.get(kernel, {})
    hints = typing.get_type_hints(config_class)
    fields = {f.name for f in dataclasses.fields(config_class)}
    values = {}
    for name, value in options.items():
        field = names.get(name, name)
        option = "--" + name.replace("_", "-")
        if field not in fields:
            known = sorted(fields | set(names))
            raise DimcurseError(f"unknown option {name!r}{did_you_mean(name, known)} for dimcurse.{kernel}", option)
        if field in values:
            raise DimcurseError(f"{name!r} and another name both set {field}", option)
        values[field] = cli_value(value, hints[field], option, field)
    if data is not None:
        if "data" in values:
            raise DimcurseError("give the data once (data=... or the data keyword)", "--data")
        values["data"] = data_spec(kernel, data, values.get("target_column"))
    return config_class(**values)


def data_spec(kernel: str, data, target_column: str | None = None) -> str:
    """A path stays a path; an array, tensor, DataFrame or (x, y) pair is registered for this process."""
    from dimcurse import userdata

    if isinstance(data, (str, Path)):
        return str(data)
    if isinstance(data, tuple) and len(data) == 2:
        return userdata.register_array(data[0], data[1])
    if hasattr(data, "columns") and kernel != "distance":  # a DataFrame with a target column
        column = target_column or "y"
        if column not in data.columns:
            raise DimcurseError(f"the DataFrame has no column {column!r} for the target (give target_column)", "--data")
        return userdata.register_array(data.drop(columns=[column]), data[column])
    return userdata.register_array(data)


def cli_value(value, hint, option: str, field: str):
    """One keyword's value as the field's type: a CLI string (``"10,100"``, ``"0..4"``), a number,
    a list, or the field's own type; anything else names the option."""
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()  # a numpy scalar
    if field == "seeds":
        if isinstance(value, bool):
            raise DimcurseError(f"{value!r} is not a seed count or list", option)
        if isinstance(value, int):
            return parse_seeds(str(value), option)  # the CLI's count: seeds=3 is 0, 1, 2
        if isinstance(value, str):
            return parse_seeds(value, option)
    if isinstance(value, str):
        return _from_text(value, hint, option)
    if isinstance(value, (list, tuple, range)):
        value = list(value)
    from dimcurse.sweep import _as_type, _describe

    try:
        return _as_type(value, hint)
    except TypeError:
        raise DimcurseError(f"{value!r} is not {_describe(hint)}", option) from None


def _from_text(text: str, hint, option: str):
    """The CLI's parsers, chosen by the field's type."""
    base = _strip_optional(hint)
    origin, args = typing.get_origin(base), typing.get_args(base)
    if origin is tuple:
        parser = {int: parse_int_list, float: parse_float_list, str: parse_name_list}[args[0]]
        return parser(text, option)
    if base is int:
        return parse_int(text, option, minimum=None)
    if base is float:
        return parse_float(text, option)
    if base is bool:
        raise DimcurseError(f"{text!r} is not true or false", option)
    return text


def _strip_optional(hint):
    """``int | None`` -> ``int``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 else hint


def _doc(kernel: str, summary: str) -> str:
    """The function's help: every option (CLI name, field) with its default and meaning."""
    config_class = configs.CONFIGS[kernel]
    aliases = {field: name for name, field in configs.CLI_NAMES.get(kernel, {}).items()}
    docs = configs.field_docs(config_class)
    lines = [summary, "", "Keywords (the CLI's option names; the field names work too), default, meaning:", ""]
    for f in dataclasses.fields(config_class):
        name = aliases.get(f.name, f.name)
        also = f" (or {f.name})" if name != f.name else ""
        lines.append(f"    {name}{also} = {f.default!r}: {docs.get(f.name, '')}")
    lines += [
        "",
        "data: a path, a numpy array, a torch tensor, a pandas DataFrame or an (x, y) pair.",
        "device: 'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N'.",
        "Returns the kernel's Result (.rows, .summary, .provenance, .to(path)).",
    ]
    return "\n".join(lines)


distance.__doc__ = _doc("distance", "Distance concentration of synthetic sets or your data (as `dimcurse distance`).")
approx.__doc__ = _doc("approx", "Approximation error against width, with fitted exponents (as `dimcurse approx`).")
overparam.__doc__ = _doc("overparam", "Test error across the interpolation threshold (as `dimcurse overparam`).")
