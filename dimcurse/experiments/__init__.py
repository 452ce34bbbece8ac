"""Experiment kernels, one module each, listed explicitly in ``REGISTRY``.

A kernel is one module and one registry entry; report, compare, render, plot, batch and
the stores reach it only through the members of ``Kernel`` below, so a new kernel needs no
change anywhere else (tests/test_registry.py runs a toy fourth kernel through all of them).
"""

from __future__ import annotations

import inspect
import os
import warnings
from typing import Callable, Protocol, runtime_checkable

from dimcurse.runtime import float32_policy, torch_threads

from dimcurse import plot, results
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.distance import kernel as distance
from dimcurse.experiments.overparam import kernel as overparam


@runtime_checkable
class Kernel(Protocol):
    """The sealed kernel contract. Required members:

    - ``KERNEL``: its name; ``VERSION``: bumped whenever its maths changes (stored results of
      an older version get other keys, never mixed in);
    - ``Config``: a frozen dataclass of its settings; ``SMOKE``: a tiny Config for tests;
    - ``validate(config)``: raises ``DimcurseError`` naming the option;
    - ``run(config, device=..., progress=...) -> Result`` (keywords only for ``Result``);
    - ``estimate_bytes(config, device, prepared=None) -> (bytes, option to lower)``;
    - ``COLUMNS``: the row contract; ``SHOW``: (measured, theory or None) pairs for the table;
      ``GROUP_BY``: the setting columns a row is aggregated over seeds by; ``SETTINGS``:
      every input column (report never averages over one that varies); ``NULLABLE``: the
      columns that may be undefined (NaN), each with its reason (a string), or (reason, flag
      column) where NaN is allowed only on rows with the flag set. ``run`` passes it to
      ``Result(nullable=...)``, which refuses inf anywhere and NaN elsewhere (a bug: it raises
      under DIMCURSE_STRICT=1, as in the test suite, and is blanked and flagged in use).

    Optional members, read with ``getattr`` (the defaults in brackets):
    ``REPORT_GROUP_BY`` [GROUP_BY],
    ``TABLES`` [()] (figure tables written beside the rows), ``ANALYSIS_KEYS`` [()] and
    ``ANALYSIS_HIDDEN`` [()] (the analysis table's setting columns, and those kept off screen),
    ``REPLICATES`` [None] (columns a mean is over besides the seed, with their words for the table's header),
    ``RENAMED`` [{}] (old column name -> new: stored rows are read under the new names),
    ``prepare(config)`` [None] (what a run reads or decides once before any work: the third argument of
    ``estimate_bytes`` and ``contract.start``'s ``prepared``),
    ``forecast(config, device, prepared, say) -> prepared`` [None] (what the run will do and how long it will
    take, one line to ``say`` before any work; it may change what was prepared: approx's time budget), with
    ``run``'s keyword ``say`` [absent] (``run_kernel`` passes the CLI's line printer only to a ``run`` that
    takes it),
    ``analysis(result, config) -> Result`` (its derived table from stored rows) and
    ``figure(result)`` (a matplotlib Figure).
    """

    KERNEL: str
    VERSION: int
    COLUMNS: list
    SHOW: list
    GROUP_BY: list
    SETTINGS: list
    NULLABLE: dict
    Config: type
    SMOKE: object
    validate: Callable
    run: Callable
    estimate_bytes: Callable


REQUIRED = (
    "KERNEL",
    "VERSION",
    "Config",
    "SMOKE",
    "validate",
    "run",
    "estimate_bytes",
    "COLUMNS",
    "SHOW",
    "GROUP_BY",
    "SETTINGS",
    "NULLABLE",
)
OPTIONAL_MEMBERS = (
    "REPORT_GROUP_BY",
    "TABLES",
    "ANALYSIS_KEYS",
    "ANALYSIS_HIDDEN",
    "REPLICATES",
    "RENAMED",
    "prepare",
    "analysis",
    "figure",
)


def missing_members(module) -> list[str]:
    """The required members a module lacks (empty for a kernel that keeps the contract)."""
    return [name for name in REQUIRED if not hasattr(module, name)]


REGISTRY = {
    "distance": distance,
    "approx": approx,
    "overparam": overparam,
}


def figure_for(result):
    """The figure of a result: its kernel's ``figure(result)`` hook (the kernel contract)."""
    draw = getattr(REGISTRY.get(result.kernel), "figure", None)
    if draw is None:
        raise DimcurseError(f"no figure for {result.kernel!r} results (its kernel has no figure hook)", "--plot")
    return draw(result)


results.set_figure_maker(figure_for, lambda path: plot.check_plot_path(path, "plot"), plot.save)


class EscapedWarning(AssertionError):
    """A Python warning raised during a kernel's run (a bug: raised under DIMCURSE_STRICT=1)."""


def run_kernel(
    kernel, config, device, progress=None, *, threads: int | None = None, tf32: bool = False, say=None,
    checkpoint: str | None = None,
):  # fmt: skip
    """``kernel.run`` on ``threads`` torch threads (None: runtime.DEFAULT_THREADS, 1; the process's count
    is restored after), with every Python warning caught: none reaches stderr. Each becomes a note
    naming it (it is a bug: numerical warnings are to be prevented at the source), and under
    DIMCURSE_STRICT=1 (the test suite) it fails the run instead. ``say``: takes a kernel's forecast line;
    ``checkpoint``: a folder where the kernel keeps its finished work and resumes from it (approx, overparam)."""
    if tf32 and not str(device).startswith("cuda"):  # recorded as on, it would claim what never ran
        raise DimcurseError(
            f"TF32 exists only in CUDA matmuls and convolutions; on {device} it would change nothing: drop it",
            "--tf32",
        )
    with warnings.catch_warnings(record=True) as caught, torch_threads(threads), float32_policy(tf32):
        warnings.simplefilter("always")
        takes = inspect.signature(kernel.run).parameters
        told = {"say": say} if say is not None and "say" in takes else {}
        if checkpoint is not None:
            if "checkpoint" not in takes:
                raise DimcurseError(f"the {kernel.KERNEL} kernel has no training to resume", "--checkpoint")
            told["checkpoint"] = checkpoint
        result = kernel.run(config, device=device, progress=progress, **told)
    messages = sorted(
        {f"{w.category.__name__}: {w.message} ({os.path.basename(w.filename)}:{w.lineno})" for w in caught}
    )
    if messages and os.environ.get("DIMCURSE_STRICT") == "1":
        raise EscapedWarning(f"{kernel.KERNEL}: warnings during the run: {'; '.join(messages)}")
    if tf32 and str(device).startswith("cuda"):
        result.notes.append("TF32 was on (--tf32): float32 matmuls and convolutions ran with 10-bit mantissas.")
    result.notes += [
        f"a Python warning was raised and caught: {m}; the values it touched may be wrong; "
        "this is a dimcurse bug: please report it with the command."
        for m in messages
    ]
    return result
