"""Figures: the shared drawing helpers (matplotlib, headless) and the dispatch to each kernel's own.

Each kernel draws its figure in ``experiments/<kernel>/figure.py`` with these helpers, reached
through its ``figure(result)`` hook; this module names no kernel. Every series is the table's
mean over seeds with its standard deviation as a band; theory is dashed wherever the table
(or a stated rate) gives one. ``save`` writes a figure atomically, in the format its suffix
names (png, svg, pdf).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from dimcurse.errors import DimcurseError
from dimcurse.results import probe_writable, write_atomic

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def pyplot():
    """matplotlib's pyplot on the headless Agg backend, or a clear error naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise DimcurseError("plotting needs matplotlib: pip install 'dimcurse[plot]'", "--plot") from None
    return plt


def image_format(path: str, option: str = "--plot") -> str:
    """The format of a figure file from its suffix; anything else is refused (naming ``option``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DimcurseError(f"cannot tell the image format of {path!r} (use {', '.join(FORMATS)})", option)
    return FORMATS[suffix]


def check_plot_path(path: str, option: str = "--plot") -> str:
    """Before any work: the format, an existing writable folder, and matplotlib."""
    fmt = image_format(path, option)
    parent = Path(path).expanduser().parent
    if not parent.is_dir():
        raise DimcurseError(f"directory {str(parent)!r} does not exist", option)
    probe_writable(parent, path, option)
    pyplot()
    return fmt


def save(figure, path: str) -> None:
    """Write ``figure`` atomically (the folder was checked before the run; a write failure is one line)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format(path), bbox_inches="tight", dpi=120)
    pyplot().close(figure)
    write_atomic(Path(path), buffer.getvalue())


def seed_stats(rows: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """Mean and sd over seeds of ``column`` per ``keys`` (a flag counts as 0/1)."""
    values = rows[keys + [column]].copy()
    values[column] = values[column].astype(float)
    grouped = values.groupby(keys, sort=True, dropna=False)[column]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1).fillna(0.0)}).reset_index()


def log_axes(ax, x: bool = True, y: bool = False, xticks=None) -> None:
    """Log axes that label enough ticks to be read. Call after drawing: an axis whose data span
    under two decades gets labels at 1, 2 and 5 per decade (plain numbers, %g), since decades
    alone would leave it one labelled tick; wider axes keep their decades."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for on, axis, setter, interval in (
        (x, ax.xaxis, ax.set_xscale, ax.dataLim.intervalx),
        (y, ax.yaxis, ax.set_yscale, ax.dataLim.intervaly),
    ):
        if not on:
            continue
        setter("log")
        low, high = (float(v) for v in interval)
        if low > 0 and np.isfinite(high) and np.log10(high / low) < 2:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_minor_formatter(NullFormatter())
    if xticks is not None:  # few values on a short axis (dimensions): label exactly those
        from matplotlib.ticker import FixedLocator

        ax.xaxis.set_major_locator(FixedLocator(sorted(xticks)))


BAND_FLOOR = 0.1  # on a log axis a band is clipped at 1/10 of the mean: mean - sd <= 0 has no place there


def series(ax, x, stats: pd.DataFrame, label: str, log_y: bool = False, **style):
    """The mean as a line with markers, ± sd as a shaded band (never a bar that runs off a log axis)."""

    def as_array(v):  # plain arrays in the artists, not pandas objects
        return np.asarray(v, dtype=float)

    x, mean, sd = as_array(x), as_array(stats["mean"]), as_array(stats["sd"])
    line = ax.plot(x, mean, marker="o", ms=3, label=label, **style)
    low = np.maximum(mean - sd, BAND_FLOOR * mean) if log_y else mean - sd
    ax.fill_between(x, low, mean + sd, color=line[0].get_color(), alpha=0.15, lw=0)
    return line


def legend(ax, handles: list | None = None) -> None:
    """The legend beside the axes, not over the data; ``handles``: a key of its own (colours and styles)
    instead of one entry per drawn line."""
    where = dict(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    if handles is None and not ax.get_legend_handles_labels()[0]:
        return  # nothing drawn with a label (an empty panel): no legend, and no warning from matplotlib
    ax.legend(**({"handles": handles} if handles is not None else {}), **where)


def key_line(label: str, **style):
    """A legend entry that is no drawn line: a colour (a setting) or a style (a quantity)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], label=label, **style)
