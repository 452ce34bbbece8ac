"""Terminal rendering: the aggregated rich table (mean ± sd over seeds, theory beside measured)."""

from __future__ import annotations

import io
import os
import platform

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from dimcurse import layout, results
from dimcurse.results import Result, aggregate, fmt, mean_sd


def result_grid(result: Result) -> layout.Grid:
    """One row per setting; each shown column as ``mean ± sd`` with its theory value under it (cyan).

    Settings and measured values that are the same in every row move to the caption; a
    theory value that is a large-d limit rather than exact is marked ``≈`` (docs/references.md, Distances).
    """
    summary = aggregate(result)
    seeds = sorted(summary["n_seeds"].unique())
    over = f"{seeds[0]} seed(s)" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]} seeds (n per row)"
    replicated = _replicate_words(result)
    over = replicated or over
    keys = result.group_by + ([] if len(seeds) == 1 else ["n_seeds"])
    show = [(m, t) for m, t in result.show if summary[f"{m}_mean"].notna().any()]  # drop columns that do not apply
    headers = [_header(k if k != "n_seeds" else "n") for k in keys] + [_header(m) for m, _ in show]
    numeric = {i for i, k in enumerate(keys) if summary[k].dtype.kind in "fiu"} | set(range(len(keys), len(headers)))
    rows = []
    for _, row in summary.iterrows():
        cells = [layout.cell(fmt(row[k])) for k in keys]
        for measured, theory in show:
            value = mean_sd(row[f"{measured}_mean"], row[f"{measured}_sd"])
            cells.append(layout.cell(value, _theory_text(row, theory, summary)))
        rows.append(cells)
    caption = []
    if any(t and summary[t].notna().any() for _, t in show):
        limit = any(f"{t}_limit" in summary and summary[f"{t}_limit"].any() for _, t in show if t)
        caption.append(
            f"under a value, {layout.THEORY_WORDS[True]}: theory (exact closed form"
            + ("; ≈ a large-d limit" if limit else "")
            + ")"
        )
    if any(result.rows[m].dtype == bool for m, _ in show):
        caption.append(f"flags (limited, diverged …): the fraction of {'replicates' if replicated else 'seeds'}")
    if result.pooled:
        counts = f"{seeds[0]} rows" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]} rows (n per row)"
        over = f"{counts}: seeds and {', '.join(result.pooled)} (pooled by --pool)"
    grid = layout.Grid(f"dimcurse {result.kernel}: mean ± sd over {over}", headers, rows, len(keys), numeric, caption)
    return layout.lift_constants(grid, keep_one=True)


def _replicate_words(result: Result) -> str | None:
    """ "6 replicates (3 teacher draws × 2 seeds)" where a kernel's rows replicate over more than seeds (its
    REPLICATES) and every row of the table has the same counts; None otherwise (the header counts rows)."""
    words = result.replicates or {}
    columns = [c for c in words if c in result.rows]
    if len(columns) < 2 or result.pooled or not len(result.rows):
        return None
    groups = result.rows.groupby(result.group_by, sort=False, dropna=False)
    counts = {c: groups[c].nunique() for c in columns}
    if any(n.nunique() > 1 for n in counts.values()):
        return None
    if [c for c in columns if int(counts[c].iloc[0]) > 1] in ([], ["seed"]):
        return None  # no replicates, or over seeds alone: "N seed(s)" says it
    total = int(np.prod([int(counts[c].iloc[0]) for c in columns]))
    parts = " × ".join(f"{int(counts[c].iloc[0])} {words[c]}" for c in columns)
    return f"{total} replicates ({parts})"


def _theory_text(row, theory: str | None, summary: pd.DataFrame) -> str | None:
    if theory is None or pd.isna(row[theory]):
        return None
    limit = f"{theory}_limit" in summary and bool(row[f"{theory}_limit"])
    return ("≈ " if limit else "") + fmt(row[theory])


def _header(column: str) -> str:
    """Column names with spaces, so a long header can wrap over lines instead of being cut."""
    return column.replace("_", " ")


def console(stderr: bool = False) -> Console:
    """The terminal's own width; a file or pipe gets $COLUMNS, or 120 (rich's 80 would split tables needlessly)."""
    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS"):
        return probe
    return Console(stderr=stderr, width=120)


def print_grid(grid: layout.Grid, console: Console) -> None:
    if console.no_color or console.color_system is None:  # a pipe or NO_COLOR: theory in parentheses
        grid = layout.without_colour(grid)
    for part in layout.fit(grid, console.width):
        console.print(part, highlight=False, crop=False, soft_wrap=False)


def print_result(result: Result, console: Console) -> None:
    print_grid(result_grid(result), console)
    if result.analysis is not None and len(result.analysis):
        console.print()
        keys = ("experiment",) + tuple(result.analysis_keys)
        print_grid(
            frame_grid(result.analysis, result.analysis_title, keys=keys, hidden=result.analysis_hidden), console
        )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def frame_grid(
    frame: pd.DataFrame, title: str, keys: tuple[str, ...] = (), hidden: tuple[str, ...] = ()
) -> layout.Grid:
    """Any small DataFrame as a grid: ``x``, ``x_lo``, ``x_hi`` become one ``x [lo, hi]`` column,
    numbers take 4 significant digits, long text becomes footnotes, constant columns the caption."""
    columns = [c for c in frame.columns if c not in hidden and not _is_bound(c, frame)]
    keys = [c for c in keys if c in columns]
    columns = keys + [c for c in columns if c not in keys]
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for name in columns:
            text = fmt(row[name])
            if f"{name}_lo" in frame and f"{name}_hi" in frame and text:
                text += f" [{fmt(row[f'{name}_lo'], 3)}, {fmt(row[f'{name}_hi'], 3)}]"
            cells.append(layout.cell(text))
        rows.append(cells)
    numeric = {j for j, c in enumerate(columns) if frame[c].dtype.kind in "fiu"}
    headers = [_header(c) + (" [95%]" if f"{c}_lo" in frame else "") for c in columns]
    grid = layout.Grid(title, headers, rows, len(keys), numeric)
    return layout.footnote_long_text(layout.lift_constants(grid, keep_one=True))


def compare_grid(frame: pd.DataFrame, title: str) -> layout.Grid:
    """A comparison: A and B as ``mean ± sd (n)``, then diff, ratio and whether it is beyond the seed noise."""
    keys = [c for c in frame.columns if c not in COMPARED]
    rows = []
    for _, row in frame.iterrows():
        cells = [layout.cell(fmt(row[k])) for k in keys]
        for side in ("a", "b"):
            n, sd = row.get(f"{side}_n", float("nan")), row.get(f"{side}_sd", float("nan"))
            cells.append(layout.cell(f"{mean_sd(row[f'{side}_mean'], sd)} (n={fmt(n) if pd.isna(n) else int(n)})"))
        beyond = row.get("beyond_noise")
        flag = "" if beyond is None or pd.isna(beyond) else ("yes" if beyond else "no")
        cells += [layout.cell(fmt(row["diff"])), layout.cell(fmt(row["ratio"])), layout.cell(flag)]
        rows.append(cells)
    headers = [_header(k) for k in keys] + ["A mean ± sd (n)", "B mean ± sd (n)", "B - A", "B / A", "beyond noise"]
    numeric = {j for j, k in enumerate(keys) if frame[k].dtype.kind in "fiu"} | set(range(len(keys), len(headers) - 1))
    grid = layout.Grid(
        title,
        headers,
        rows,
        len(keys),
        numeric,
        ["beyond noise: |B - A| > 2 standard errors of the difference (blank: one seed a side)"],
    )
    return layout.lift_constants(grid, keep_one=True)


COMPARED = ("a_mean", "a_sd", "a_n", "b_mean", "b_sd", "b_n", "diff", "ratio", "beyond_noise")


def _is_bound(column: str, frame: pd.DataFrame) -> bool:
    for suffix in ("_lo", "_hi"):
        if column.endswith(suffix) and column[: -len(suffix)] in frame:
            return True
    return False


def points_table(points, statuses: dict, store: str) -> layout.Grid:
    """What ``dimcurse batch --dry-run`` prints: every point, its key and whether the store has it."""
    counts = {s: sum(1 for v in statuses.values() if v == s) for s in ("done", "failed", "pending")}
    title = (
        f"{len(points)} points, store {store}: {counts['done']} done, {counts['failed']} failed, "
        f"{counts['pending']} to run"
    )
    rows = [
        [
            layout.cell(p.experiment),
            layout.cell(p.kernel),
            layout.cell(", ".join(f"{k}={v}" for k, v in p.axes) or "(fixed)"),
            layout.cell(p.key),
            layout.cell(statuses[p.key]),
        ]
        for p in points
    ]
    return layout.lift_constants(layout.Grid(title, ["experiment", "kernel", "point", "key", "status"], rows, n_keys=1))


def batch_summary(report, store: str) -> str:
    """The closing lines of a batch: counts, and each failed point with its error."""
    lines = [
        f"batch: {report.done} run, {report.skipped} already done, {len(report.failed)} failed "
        f"(of {report.total} points); store {store}"
    ]
    lines += [f"failed: {label}: {error}" for label, error in report.failed]
    return "\n".join(lines)


def datasets_table() -> layout.Grid:
    """What ``--list-data`` prints: the built-in sets, plugins' sets, and the file types."""
    from dimcurse.data import DATASETS, REAL_DATASETS  # torch: loaded only to list the sets
    from dimcurse.plugins import load_entry_points
    from dimcurse.userdata import SUFFIXES

    load_entry_points()
    rows = [[layout.cell(name), layout.cell(what)] for name, what in REAL_DATASETS.items()]
    rows += [[layout.cell(name), layout.cell("a plugin's data set (register_dataset)")] for name in DATASETS]
    rows.append([layout.cell("FILE"), layout.cell(f"your data: {' '.join(SUFFIXES)} (see --data)")])
    return layout.Grid("dimcurse data sets (--data)", ["name", "what"], rows, n_keys=1)


def info_table() -> Table:
    """Versions, devices and threads: what ``dimcurse info`` prints."""
    import torch

    from dimcurse.provenance import versions

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
    import torch

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


def _as_text(result: Result) -> str:
    """What ``print_result`` prints, as text (no colour), for ``str(result)``."""
    # force_jupyter=False: inside a notebook rich would otherwise send the tables to the page, not the buffer
    buffer = Console(file=io.StringIO(), width=120, color_system=None, force_jupyter=False)
    print_result(result, buffer)
    return buffer.file.getvalue()


results.set_renderer(lambda result: print_result(result, console()), _as_text)
