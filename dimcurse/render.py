"""Terminal rendering: the aggregated rich table (mean ± sd over seeds, theory beside measured)."""

from __future__ import annotations

import os
import platform

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from dimcurse.provenance import versions
from dimcurse.results import Result, aggregate, fmt, mean_sd


def result_table(result: Result) -> Table:
    """One row per setting; each shown column as ``mean ± sd``, its theory column right after it."""
    summary = aggregate(result)
    seeds = summary["n_seeds"].unique()
    over = f"{seeds[0]} seed(s)" if len(seeds) == 1 else "seeds (n seeds per row)"
    title = f"dimcurse {result.kernel}: mean ± sd over {over}"
    if any(theory and summary[theory].notna().any() for _, theory in result.show):
        title += "; cyan 'theory' = closed form for the column on its left"
    table = Table(title=title, title_justify="left")
    keys = result.group_by + ([] if len(seeds) == 1 else ["n_seeds"])
    show = [(m, t) for m, t in result.show if summary[f"{m}_mean"].notna().any()]  # drop columns that do not apply
    for name in keys:
        table.add_column(_header(name), justify="right" if summary[name].dtype.kind in "fiu" else "left", no_wrap=True)
    for measured, theory in show:
        table.add_column(_header(measured), justify="right", no_wrap=True)
        if theory is not None:
            table.add_column("theory", justify="right", style="cyan", no_wrap=True)
    for _, row in summary.iterrows():
        cells = [fmt(row[name]) for name in keys]
        for measured, theory in show:
            cells.append(mean_sd(row[f"{measured}_mean"], row[f"{measured}_sd"]))
            if theory is not None:
                cells.append(fmt(row[theory]))
        table.add_row(*cells)
    return table


def _header(column: str) -> str:
    """Column names with spaces, so rich can wrap a long header instead of cutting it."""
    return column.replace("_", " ")


def console(stderr: bool = False) -> Console:
    """A console that is wide when writing to a file or pipe (tables are not cut at 80 columns)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=220)


def print_result(result: Result, console: Console) -> None:
    console.print(result_table(result))
    if result.fits is not None:
        shown = [c for c in result.fits.columns if c not in ("alpha_theil_sen", "log_c")]  # kept in files
        console.print(frame_table(result.fits[shown], result.fits_title))
    for note in result.notes:
        console.print(f"note: {note}")


def frame_table(frame, title: str) -> Table:
    """Any small DataFrame as a rich table (numbers to 4 significant digits)."""
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(_header(name), justify="right" if frame[name].dtype.kind in "fiu" else "left")
    for _, row in frame.iterrows():
        table.add_row(*[fmt(row[name]) for name in frame.columns])
    return table


def points_table(points, statuses: dict, store: str) -> Table:
    """What ``dimcurse batch --dry-run`` prints: every point, its key and whether the store has it."""
    counts = {s: sum(1 for v in statuses.values() if v == s) for s in ("done", "failed", "pending")}
    title = f"{len(points)} points, store {store}: {counts['done']} done, {counts['failed']} failed, {counts['pending']} to run"
    table = Table(title=title, title_justify="left")
    for name in ("experiment", "kernel", "point", "key", "status"):
        table.add_column(name)
    for point in points:
        grid = ", ".join(f"{k}={v}" for k, v in point.axes) or "(fixed)"
        table.add_row(point.experiment, point.kernel, grid, point.key, statuses[point.key])
    return table


def batch_summary(report, store: str) -> str:
    """The closing lines of a batch: counts, and each failed point with its error."""
    lines = [f"batch: {report.done} run, {report.skipped} already done, {len(report.failed)} failed "
             f"(of {report.total} points); store {store}"]
    lines += [f"failed: {label}: {error}" for label, error in report.failed]
    return "\n".join(lines)


def targets_table() -> Table:
    """What ``dimcurse approx --list-targets`` prints."""
    from dimcurse.targets import TARGETS

    table = Table(title="dimcurse approx targets", title_justify="left")
    for name in ("name", "d", "domain", "formula", "source"):
        table.add_column(name)
    for t in TARGETS.values():
        dim = str(t.fixed_dim) if t.fixed_dim else "any" + (" (2^m for tree)" if t.tree else "")
        table.add_row(t.name, dim, f"[{t.low:.3g}, {t.high:.3g}]^d", t.formula, t.source)
    return table


def info_table() -> Table:
    """Versions, devices and threads: what ``dimcurse info`` prints."""
    table = Table(title="dimcurse info", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value")
    for name, version in versions().items():
        table.add_row(name, version)
    table.add_row("platform", platform.platform())
    table.add_row("cpu cores", str(os.cpu_count()))
    table.add_row("torch threads", str(torch.get_num_threads()))
    table.add_row("numpy blas", _blas_name())
    table.add_row("devices", ", ".join(_devices()))
    return table


def _devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    return devices


def _blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        return config["Build Dependencies"]["blas"]["name"]
    except Exception:  # numpy's config layout differs across versions; this line is informational
        return "unknown"
