"""Figures of the three kernels' results (matplotlib, headless), drawn from the result tables.

Every series is the table's mean over seeds with its standard deviation as error bars;
theory is dashed wherever the table (or a stated rate) gives one. The figure functions
return the matplotlib ``Figure`` so tests can check the plotted data; ``save`` writes it
atomically, in the format its suffix names (png, svg, pdf).

References for the dashed lines: relative contrast of the nearest and farthest of n
i.i.d. points falls like d^(-1/2) for every Lp metric (Aggarwal, Hinneburg & Keim 2001;
Beyer et al. 1999); the distance cv and the approximation exponents come from the tables'
own theory columns (REFERENCES.md §1, §2).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from dimcurse.errors import DimcurseError
from dimcurse.results import Result, probe_writable, write_atomic

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


def figure_for(result: Result):
    """The figure of a result, by kernel."""
    try:
        draw = FIGURES[result.kernel]
    except KeyError:
        raise DimcurseError(f"no figure for {result.kernel!r} results", "--plot") from None
    return draw(result)


def _stats(rows: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """Mean and sd over seeds of ``column`` per ``keys`` (a flag counts as 0/1)."""
    values = rows[keys + [column]].copy()
    values[column] = values[column].astype(float)
    grouped = values.groupby(keys, sort=True, dropna=False)[column]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1).fillna(0.0)}).reset_index()


def _log(ax, x: bool = True, y: bool = False) -> None:
    """Log axes with labels on the decades only (minor labels overlap on short ranges)."""
    from matplotlib.ticker import NullFormatter

    for on, axis, setter in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if on:
            setter("log")
            axis.set_minor_formatter(NullFormatter())


def _series(ax, x, stats: pd.DataFrame, label: str, **style):
    as_array = lambda v: np.asarray(v, dtype=float)  # noqa: E731  (plain arrays in the artists, not pandas objects)
    return ax.errorbar(as_array(x), as_array(stats["mean"]), yerr=as_array(stats["sd"]), label=label, capsize=2,
                       marker="o", ms=3, **style)


# --------------------------------------------------------------------------- distance


def distance_figure(result: Result):
    """Histograms of D / mean D at each d; relative contrast and distance cv against d (log-log)."""
    plt = pyplot()
    rows = result.rows
    histograms = result.tables.get("histograms")
    panels = 3 if histograms is not None and len(histograms) else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    axes = list(np.atleast_1d(axes))
    if panels == 3:
        _histogram_panel(axes.pop(0), histograms)
    if rows["dim"].nunique() > 1:
        _contrast_panel(axes[0], rows)
        _cv_panel(axes[1], rows)
    else:
        _bars(axes[0], rows, "relative_contrast", "relative contrast (Dmax - Dmin) / Dmin")
        _bars(axes[1], rows, "dist_cv", "distance cv (sd / mean)")
    fig.suptitle("dimcurse distance: mean ± sd over seeds")
    fig.tight_layout()
    return fig


def _histogram_panel(ax, histograms: pd.DataFrame) -> None:
    dist, metric = histograms["dist"].iloc[0], histograms["metric"].iloc[0]
    chosen = histograms[(histograms["dist"] == dist) & (histograms["metric"] == metric)]
    for dim, group in chosen.groupby("dim", sort=True):
        mean = group.groupby("bin_lo", sort=True)["density"].mean()
        ax.step(mean.index, mean.to_numpy(), where="post", label=f"d = {dim}")
    ax.set(xlabel="distance / mean distance", ylabel="density (32 queries x 1000 points)",
           title=f"concentration: {dist}, {metric}")
    ax.legend()


def _contrast_panel(ax, rows: pd.DataFrame) -> None:
    for (dist, metric), group in rows.groupby(["dist", "metric"], sort=False):
        stats = _stats(group, ["dim"], "relative_contrast")
        line = _series(ax, stats["dim"], stats, f"{dist}, {metric}")
        last = stats.iloc[-1]
        ref = last["mean"] * (stats["dim"] / last["dim"]) ** -0.5
        ax.plot(stats["dim"], ref, "--", color=line[0].get_color(), alpha=0.6)
    ax.plot([], [], "k--", alpha=0.6, label="theory: ∝ d^(-1/2)")
    _log(ax, x=True, y=True)
    ax.set(xlabel="dimension d", ylabel="relative contrast (Dmax - Dmin) / Dmin", title="nearest and farthest become alike")
    ax.legend(fontsize=7)


def _cv_panel(ax, rows: pd.DataFrame) -> None:
    for (dist, metric), group in rows.groupby(["dist", "metric"], sort=False):
        stats = _stats(group, ["dim"], "dist_cv")
        line = _series(ax, stats["dim"], stats, f"{dist}, {metric}")
        theory = group.groupby("dim", sort=True)["theory_dist_cv"].first()
        if theory.notna().any():
            ax.plot(theory.index, theory.to_numpy(), "--", color=line[0].get_color(), label=f"theory, {dist}, {metric}")
    _log(ax, x=True, y=True)
    ax.set(xlabel="dimension d", ylabel="distance cv (sd / mean)", title="distances concentrate")
    ax.legend(fontsize=7)


def _bars(ax, rows: pd.DataFrame, column: str, ylabel: str) -> None:
    """Real data beside its matched Gaussian (one dimension): one bar per set and metric."""
    stats = _stats(rows, ["dist", "metric"], column)
    labels = [f"{d}\n{m}" for d, m in zip(stats["dist"], stats["metric"])]
    ax.bar(labels, stats["mean"], yerr=stats["sd"], capsize=3, color="tab:blue")
    ax.set(ylabel=ylabel, title=f"d = {int(rows['dim'].iloc[0])}: real data against a Gaussian")


# --------------------------------------------------------------------------- approx


def approx_figure(result: Result):
    """Relative error against parameters (log-log) with fitted and theory power laws; alpha against d."""
    plt = pyplot()
    rows, fits = result.rows, result.fits
    two = fits is not None and rows["dim"].nunique() > 1
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(11 if two else 6, 4.4))
    axes = list(np.atleast_1d(axes))
    ax = axes[0]
    for (target, dim, arch), group in rows.groupby(["target", "dim", "arch"], sort=False):
        stats = _stats(group, ["params"], "rel_rmse")
        line = _series(ax, stats["params"], stats, f"{target}, d={dim}, {arch}")
        fit = _fit_row(fits, target, dim, arch)
        if fit is not None and np.isfinite(fit["alpha"]):
            ax.plot(stats["params"], np.exp(fit["log_c"]) * stats["params"] ** -fit["alpha"], "-", lw=0.8,
                    color=line[0].get_color(), alpha=0.7)
        if fit is not None and np.isfinite(fit["alpha_theory"]):
            first = stats.iloc[0]
            ax.plot(stats["params"], first["mean"] * (stats["params"] / first["params"]) ** -fit["alpha_theory"], "--",
                    color=line[0].get_color(), alpha=0.6)
    ax.plot([], [], "k-", lw=0.8, label="fitted params^(-alpha)")
    ax.plot([], [], "k--", alpha=0.6, label="theory slope")
    _log(ax, x=True, y=True)
    ax.set(xlabel="parameters", ylabel="relative test RMSE", title="error against size")
    ax.legend(fontsize=7)
    if two:
        _alpha_panel(axes[1], fits)
    fig.suptitle("dimcurse approx: mean ± sd over seeds")
    fig.tight_layout()
    return fig


def _fit_row(fits, target, dim, arch):
    if fits is None:
        return None
    match = fits[(fits["target"] == target) & (fits["dim"] == dim) & (fits["arch"] == arch)]
    return match.iloc[0] if len(match) else None


def _alpha_panel(ax, fits: pd.DataFrame) -> None:
    for (target, arch), group in fits.groupby(["target", "arch"], sort=False):
        group = group.sort_values("dim")
        err = np.vstack([group["alpha"] - group["alpha_lo"], group["alpha_hi"] - group["alpha"]])
        line = ax.errorbar(group["dim"].to_numpy(float), group["alpha"].to_numpy(float), yerr=np.nan_to_num(np.abs(err)),
                           marker="o", ms=3, capsize=2, label=f"{target}, {arch}")
        if group["alpha_theory"].notna().any():
            ax.plot(group["dim"], group["alpha_theory"], "--", color=line[0].get_color(), alpha=0.6)
    _log(ax, x=True)
    ax.set(xlabel="dimension d", ylabel="fitted exponent alpha (95 % interval)",
           title="the curse in one picture: exponent against d")
    ax.legend(fontsize=7)


# --------------------------------------------------------------------------- overparam


def overparam_figure(result: Result):
    """Train and test loss and error against parameters per sample, threshold marked; test error over epochs."""
    from dimcurse.experiments.overparam import SETTING, final_rows, summary_table

    plt = pyplot()
    rows = result.rows
    final = final_rows(rows)
    classification = final["test_error"].notna().any()
    curve = rows["epoch"].nunique() > 1
    panels = 1 + classification + curve
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.4))
    axes = list(np.atleast_1d(axes))
    summary = result.fits if result.fits is not None else summary_table(rows)
    for key, group in final.groupby(SETTING, sort=False):
        label = _setting_label(key)
        threshold = _threshold(summary, dict(zip(SETTING, key)))
        for ax, metric in zip(axes, ["loss", "error"][: 1 + classification]):
            for split, style in (("train", ":"), ("test", "-")):
                stats = _stats(group, ["params_per_sample"], f"{split}_{metric}")
                _series(ax, stats["params_per_sample"], stats, f"{split}, {label}", ls=style)
            if threshold is not None:
                ax.axvline(threshold, color="grey", ls="--", lw=0.8)
    for ax, metric in zip(axes, ["loss", "error"][: 1 + classification]):
        ax.plot([], [], color="grey", ls="--", lw=0.8, label="interpolation threshold")
        _log(ax, x=True, y=metric == "loss")
        ax.set(xlabel="parameters per training sample", ylabel=metric, title=f"train and test {metric}")
        if metric == "loss":
            # An interpolating model's train loss is ~1e-20: cut the axis 3 decades under the lowest test loss.
            ax.set_ylim(bottom=float(final["test_loss"].min()) / 1e3)
        ax.legend(fontsize=7)
    if curve:
        ax = axes[-1]
        for width, group in rows.groupby("width", sort=True):
            stats = _stats(group, ["epoch"], "test_error")
            _series(ax, stats["epoch"], stats, f"width {width}")
        ax.set(xlabel="epoch", ylabel="test error", title="test error over training")
        ax.legend(fontsize=7)
    fig.suptitle("dimcurse overparam: mean ± sd over seeds")
    fig.tight_layout()
    return fig


def _setting_label(key) -> str:
    model, data, noise, ridge, decay = key
    parts = [f"{model} on {data}"]
    if noise:
        parts.append(f"noise {noise:g}")
    if ridge:
        parts.append(f"ridge {ridge:g}")
    if decay:
        parts.append(f"wd {decay:g}")
    return ", ".join(parts)


def _threshold(summary: pd.DataFrame, setting: dict) -> float | None:
    """params per sample at the width marked as the threshold in the summary of this setting."""
    match = summary[summary["mark"].str.contains("threshold")]
    for column, value in setting.items():
        if column in match:
            match = match[match[column] == value]
    return float(match["params_per_sample"].iloc[0]) if len(match) else None


FIGURES = {"distance": distance_figure, "approx": approx_figure, "overparam": overparam_figure}
