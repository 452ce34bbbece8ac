"""The start and the end of every kernel's ``run``, written once.

``start``: the config validated, the device resolved, what the run reads or decides once
prepared (the kernel's ``prepare``: approx's plan, overparam's file, distance's data set), the
kernel's ``forecast`` of what it will do and how long it will take (approx: the plan's one line, and the
plan a time budget allows),
the run's peak memory checked against what the device has (one line naming the option to
lower), the clock started. ``finish``: the provenance (configuration, seed, device,
versions, kernel version, elapsed time) and the ``Result`` built from the kernel's own
contract: its columns, grouping, shown pairs, nullable columns and analysis keys
(dimcurse/experiments/__init__.py lists them).
"""

from __future__ import annotations

import time
from typing import Callable, NamedTuple

import pandas as pd
import torch

from dimcurse import checkpoint as checkpoint_
from dimcurse import memory
from dimcurse.provenance import provenance
from dimcurse.results import Result


class Started(NamedTuple):
    device: torch.device
    clock: float  # time.perf_counter() when the work began
    prepared: object  # what the kernel's prepare(config) gave (None without one)


def start(module, config, device, what: str, say: Callable[[str], None] | None = None) -> Started:
    """Validate, resolve the device, prepare, forecast, refuse a run larger than the device's memory. ``what``
    names the work in the memory error; ``say`` takes the kernel's forecast (one line before any work)."""
    module.validate(config)
    device = torch.device(device)
    prepare = getattr(module, "prepare", None)
    prepared = prepare(config) if prepare is not None else None
    forecast = getattr(module, "forecast", None)
    if forecast is not None:
        prepared = forecast(config, device, prepared, say)
    needed, option = module.estimate_bytes(config, device, prepared)
    memory.require(needed, what, option, device)
    return Started(device, time.perf_counter(), prepared)


def finish(module, config, device, rows, started: float, *, provenance_extra: dict | None = None, **fields) -> Result:
    """The run's Result: ``rows`` (dicts, or a frame) in the kernel's COLUMNS, its provenance with the elapsed
    time and ``provenance_extra``, and the contract's grouping and columns (``fields`` overrides them)."""
    prov = provenance(module.KERNEL, module.VERSION, config, device)
    prov["elapsed_s"] = round(time.perf_counter() - started, 3)
    prov.update(provenance_extra or {})
    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=module.COLUMNS)
    contract = {
        "group_by": module.GROUP_BY,
        "show": module.SHOW,
        "nullable": module.NULLABLE,
        "analysis_keys": getattr(module, "ANALYSIS_KEYS", ()),
        "analysis_hidden": getattr(module, "ANALYSIS_HIDDEN", ()),
        "replicates": getattr(module, "REPLICATES", None),
    }
    return Result(kernel=module.KERNEL, rows=table, provenance=prov, **{**contract, **fields})


def checkpoint(module, config, device, folder: str | None, data: dict | None = None):
    """The run's ``--checkpoint`` folder (None without one), claimed for this kernel, version, config and device,
    and ``data`` (a user's file as ``describe()`` gives it: its content hash), so no other run resumes from it."""
    if folder is None:
        return None
    mine = checkpoint_.identity(module.KERNEL, module.VERSION, config, device)
    if data is not None:
        mine["data"] = data
    return checkpoint_.Checkpoint(folder, mine)


def resumed(saved) -> list[str]:
    """The note of a run that read finished work back from its checkpoint folder (none: nothing read)."""
    if saved is None or not saved.loaded:
        return []
    return [
        f"resumed from {saved.folder}: {saved.loaded} piece(s) of finished work read back, not recomputed "
        "(their rows are those of an uninterrupted run; elapsed_s counts this run's time only)."
    ]
