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
from pathlib import Path

from dimcurse import configs
from dimcurse import render  # noqa: F401  (gives Result its display() and print())
from dimcurse.errors import DimcurseError
from dimcurse import userdata
from dimcurse.experiments import REGISTRY, run_kernel
from dimcurse.runtime import check_threads, resolve_device
from dimcurse.experiments.approx.registered import register_target  # noqa: F401  (part of the API)
from dimcurse.data import register_dataset  # noqa: F401  (part of the API)
from dimcurse import options as options_


def distance(data=None, *, device: str = "auto", threads: int | None = None, tf32: bool = False, **options):
    return run("distance", data, device, options, threads=threads, tf32=tf32)


def approx(
    data=None, *, device: str = "auto", threads: int | None = None, tf32: bool = False, checkpoint=None, **options
):
    return run("approx", data, device, options, threads=threads, tf32=tf32, checkpoint=checkpoint)


def overparam(
    data=None, *, device: str = "auto", threads: int | None = None, tf32: bool = False, checkpoint=None, **options
):
    return run("overparam", data, device, options, threads=threads, tf32=tf32, checkpoint=checkpoint)


def run(
    kernel: str,
    data=None,
    device: str = "auto",
    options: dict | None = None,
    *,
    threads: int | None = None,
    tf32: bool = False,
    checkpoint=None,
):
    """Build the kernel's Config from CLI-style keywords, validate it, run it on ``threads`` torch threads
    (None: 1, as the command line; the caller's count is restored after); ``checkpoint``: a folder to keep
    finished work in and resume from (approx, overparam), as --checkpoint."""
    module = REGISTRY[kernel]
    config = make_config(kernel, dict(options or {}), data)
    module.validate(config)
    device = resolve_device(device)
    folder = None if checkpoint is None else str(checkpoint)
    _, warning = check_threads(threads, "threads")  # too many threads, or a loaded machine: said in a note
    result = run_kernel(module, config, device, threads=threads, tf32=tf32, checkpoint=folder)
    if warning:
        result.notes.insert(0, warning.removeprefix("warning: "))
    return result


def make_config(kernel: str, options: dict, data=None):
    """A kernel's Config from keywords in the CLI's names and forms (or the fields' own): the one
    converter (dimcurse.options), with ``data`` as a path, an array, a tensor, a frame or a pair."""
    values = options_.config_values(kernel, options)
    if data is not None:
        if "data" in values:
            raise DimcurseError("give the data once (data=... or the data keyword)", "--data")
        values["data"] = data_spec(kernel, data, values.get("target_column"))
    return options_.config_class(kernel)(**values)


def data_spec(kernel: str, data, target_column: str | None = None) -> str:
    """A path stays a path; an array, tensor, DataFrame or (x, y) pair is registered for this process."""
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
        *(
            ["checkpoint: a folder that keeps finished work; the same call given it again resumes there."]
            if kernel != "distance"
            else []
        ),
        "Returns the kernel's Result (.rows, .summary, .provenance, .to(path)).",
    ]
    return "\n".join(lines)


distance.__doc__ = _doc("distance", "Distance concentration of synthetic sets or your data (as `dimcurse distance`).")
approx.__doc__ = _doc("approx", "Approximation error against width, with fitted exponents (as `dimcurse approx`).")
overparam.__doc__ = _doc("overparam", "Test error across the interpolation threshold (as `dimcurse overparam`).")
