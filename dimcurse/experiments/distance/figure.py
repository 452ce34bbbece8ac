"""The distance kernel's figure: histograms of D / mean D, relative contrast and distance cv against d.

The relative contrast of the nearest and farthest of n i.i.d. points falls like d^(-1/2) for
every Lp metric (Aggarwal, Hinneburg & Keim 2001; Beyer et al. 1999); the cv's theory comes
from the rows' own column (docs/references.md, distances).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dimcurse.plot import legend, log_axes, pyplot, seed_stats, series
from dimcurse.results import Result


def distance_figure(result: Result):
    """Histograms of D / mean D; relative contrast and distance cv against d (log-log), theory dashed."""
    plt = pyplot()
    rows = result.rows
    histograms = result.tables.get("histograms")
    drawn = histograms is not None and len(histograms)
    # one dimension (a user's data beside its Gaussians): its intrinsic dimension is the key number
    ids = rows["dim"].nunique() == 1 and "twonn_id" in rows and bool(rows["twonn_id"].notna().any())
    panels = 2 + bool(drawn) + ids
    fig, axes = plt.subplots(1, panels, figsize=(6.4 * panels, 4.2))
    axes = list(np.atleast_1d(axes))
    if drawn:
        _histogram_panel(axes.pop(0), histograms)
    if rows["dim"].nunique() > 1:
        _contrast_panel(axes[0], rows)
        _cv_panel(axes[1], rows)
    else:
        _bars(axes[0], rows, "relative_contrast", "relative contrast (Dmax - Dmin) / Dmin")
        _bars(axes[1], rows, "dist_cv", "distance cv (sd / mean)", theory="theory_dist_cv")
    if ids:
        _id_panel(axes[2], rows)
    fig.suptitle("dimcurse distance: mean ± sd over seeds (bands)")
    fig.tight_layout()
    return fig


def _histogram_panel(ax, histograms: pd.DataFrame) -> None:
    """One dimension: every set (real data beside its Gaussians); several: the first set at each d."""
    metric = histograms["metric"].iloc[0]
    chosen = histograms[histograms["metric"] == metric]
    by = "dist" if chosen["dim"].nunique() == 1 else "dim"
    if by == "dim":
        chosen = chosen[chosen["dist"] == chosen["dist"].iloc[0]]
    for value, group in chosen.groupby(by, sort=by == "dim"):
        mean = group.groupby("bin_lo", sort=True)["density"].mean()
        ax.step(mean.index, mean.to_numpy(), where="post", label=f"d = {value}" if by == "dim" else str(value))
    what = chosen["dist"].iloc[0] if by == "dim" else f"d = {int(chosen['dim'].iloc[0])}"
    ax.set(
        xlabel="distance / mean distance",
        ylabel="density (32 queries x 1000 points)",
        title=f"concentration: {what}, {metric}",
    )
    legend(ax)


def _contrast_panel(ax, rows: pd.DataFrame) -> None:
    for (dist, metric), group in rows.groupby(["dist", "metric"], sort=False):
        stats = seed_stats(group, ["dim"], "relative_contrast")
        line = series(ax, stats["dim"], stats, f"{dist}, {metric}", log_y=True)
        last = stats.iloc[-1]
        ref = last["mean"] * (stats["dim"] / last["dim"]) ** -0.5
        ax.plot(stats["dim"], ref, "--", color=line[0].get_color(), alpha=0.6)
    ax.plot([], [], "k--", alpha=0.6, label="rate: ∝ d^(-1/2)")
    log_axes(ax, x=True, y=True)
    ax.set(
        xlabel="dimension d", ylabel="relative contrast (Dmax - Dmin) / Dmin", title="nearest and farthest become alike"
    )
    legend(ax)


def _cv_panel(ax, rows: pd.DataFrame) -> None:
    for (dist, metric), group in rows.groupby(["dist", "metric"], sort=False):
        stats = seed_stats(group, ["dim"], "dist_cv")
        line = series(ax, stats["dim"], stats, f"{dist}, {metric}", log_y=True)
        theory = group.groupby("dim", sort=True)["theory_dist_cv"].first()
        if theory.notna().any():
            limit = "theory_dist_cv_limit" in group and bool(group["theory_dist_cv_limit"].any())
            ax.plot(
                theory.index,
                theory.to_numpy(),
                "--",
                color=line[0].get_color(),
                label=f"{'limit' if limit else 'theory'}, {dist}, {metric}",
            )
    log_axes(ax, x=True, y=True)
    ax.set(xlabel="dimension d", ylabel="distance cv (sd / mean)", title="distances concentrate")
    legend(ax)


def _bars(ax, rows: pd.DataFrame, column: str, ylabel: str, theory: str | None = None) -> None:
    """Real data beside its matched Gaussian (one dimension): one bar per set and metric, theory as a tick."""
    stats = seed_stats(rows, ["dist", "metric"], column)
    labels = [f"{d}\n{m}" for d, m in zip(stats["dist"], stats["metric"])]
    ax.bar(labels, stats["mean"], yerr=stats["sd"], capsize=3, color="tab:blue", label="measured")
    if theory is not None and theory in rows:
        values = (
            rows.groupby(["dist", "metric"], sort=True)[theory]
            .first()
            .reindex(pd.MultiIndex.from_frame(stats[["dist", "metric"]]))
            .to_numpy(float)
        )
        if np.isfinite(values).any():
            ax.scatter(labels, values, marker="_", s=400, color="black", zorder=3, label="theory")
    ax.set(ylabel=ylabel, title=f"d = {int(rows['dim'].iloc[0])}: real data against a Gaussian")
    legend(ax)


def _id_panel(ax, rows: pd.DataFrame) -> None:
    """TwoNN and MLE intrinsic dimension of every set (the estimates use l2 neighbours, so one metric's
    rows), the known dimension of the Gaussians as a tick, and the ambient d as a dotted line."""
    rows = rows[rows["metric"] == rows["metric"].iloc[0]]
    sets = list(dict.fromkeys(rows["dist"]))
    x = np.arange(len(sets))
    for shift, column, name in ((-0.2, "twonn_id", "TwoNN"), (0.2, "mle_id", "MLE")):
        stats = seed_stats(rows, ["dist"], column).set_index("dist").reindex(sets)
        bars = ax.bar(x + shift, stats["mean"], width=0.4, yerr=stats["sd"], capsize=3, label=name)
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=2)
    known = rows.groupby("dist", sort=False)["theory_id"].first().reindex(sets).to_numpy(float)
    if np.isfinite(known).any():
        ax.scatter(x, known, marker="_", s=400, color="black", zorder=3, label="known dimension")
    dim = int(rows["dim"].iloc[0])
    ax.axhline(dim, color="grey", ls=":", lw=0.8, label=f"ambient d = {dim}")
    ax.set_xticks(x, sets)
    ax.set(ylabel="intrinsic dimension", title="intrinsic dimension: what the distances feel")
    legend(ax)
