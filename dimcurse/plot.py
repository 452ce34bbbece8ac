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

import functools
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
    """The figure of a result: its kernel's ``figure(result)`` hook (the kernel contract)."""
    from dimcurse.experiments import REGISTRY

    draw = getattr(REGISTRY.get(result.kernel), "figure", None)
    if draw is None:
        raise DimcurseError(f"no figure for {result.kernel!r} results (its kernel has no figure hook)", "--plot")
    return draw(result)


def _stats(rows: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """Mean and sd over seeds of ``column`` per ``keys`` (a flag counts as 0/1)."""
    values = rows[keys + [column]].copy()
    values[column] = values[column].astype(float)
    grouped = values.groupby(keys, sort=True, dropna=False)[column]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1).fillna(0.0)}).reset_index()


def _log(ax, x: bool = True, y: bool = False, xticks=None) -> None:
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


def _series(ax, x, stats: pd.DataFrame, label: str, log_y: bool = False, **style):
    """The mean as a line with markers, ± sd as a shaded band (never a bar that runs off a log axis)."""

    def as_array(v):  # plain arrays in the artists, not pandas objects
        return np.asarray(v, dtype=float)

    x, mean, sd = as_array(x), as_array(stats["mean"]), as_array(stats["sd"])
    line = ax.plot(x, mean, marker="o", ms=3, label=label, **style)
    low = np.maximum(mean - sd, BAND_FLOOR * mean) if log_y else mean - sd
    ax.fill_between(x, low, mean + sd, color=line[0].get_color(), alpha=0.15, lw=0)
    return line


def _legend(ax) -> None:
    """The legend beside the axes, not over the data."""
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


# --------------------------------------------------------------------------- distance


def distance_figure(result: Result):
    """Histograms of D / mean D; relative contrast and distance cv against d (log-log), theory dashed."""
    plt = pyplot()
    rows = result.rows
    histograms = result.tables.get("histograms")
    panels = 3 if histograms is not None and len(histograms) else 2
    fig, axes = plt.subplots(1, panels, figsize=(6.4 * panels, 4.2))
    axes = list(np.atleast_1d(axes))
    if panels == 3:
        _histogram_panel(axes.pop(0), histograms)
    if rows["dim"].nunique() > 1:
        _contrast_panel(axes[0], rows)
        _cv_panel(axes[1], rows)
    else:
        _bars(axes[0], rows, "relative_contrast", "relative contrast (Dmax - Dmin) / Dmin")
        _bars(axes[1], rows, "dist_cv", "distance cv (sd / mean)", theory="theory_dist_cv")
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
    _legend(ax)


def _contrast_panel(ax, rows: pd.DataFrame) -> None:
    for (dist, metric), group in rows.groupby(["dist", "metric"], sort=False):
        stats = _stats(group, ["dim"], "relative_contrast")
        line = _series(ax, stats["dim"], stats, f"{dist}, {metric}", log_y=True)
        last = stats.iloc[-1]
        ref = last["mean"] * (stats["dim"] / last["dim"]) ** -0.5
        ax.plot(stats["dim"], ref, "--", color=line[0].get_color(), alpha=0.6)
    ax.plot([], [], "k--", alpha=0.6, label="rate: ∝ d^(-1/2)")
    _log(ax, x=True, y=True)
    ax.set(
        xlabel="dimension d", ylabel="relative contrast (Dmax - Dmin) / Dmin", title="nearest and farthest become alike"
    )
    _legend(ax)


def _cv_panel(ax, rows: pd.DataFrame) -> None:
    for (dist, metric), group in rows.groupby(["dist", "metric"], sort=False):
        stats = _stats(group, ["dim"], "dist_cv")
        line = _series(ax, stats["dim"], stats, f"{dist}, {metric}", log_y=True)
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
    _log(ax, x=True, y=True)
    ax.set(xlabel="dimension d", ylabel="distance cv (sd / mean)", title="distances concentrate")
    _legend(ax)


def _bars(ax, rows: pd.DataFrame, column: str, ylabel: str, theory: str | None = None) -> None:
    """Real data beside its matched Gaussian (one dimension): one bar per set and metric, theory as a tick."""
    stats = _stats(rows, ["dist", "metric"], column)
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
    _legend(ax)


# --------------------------------------------------------------------------- approx


APPROX_KEYS = ["target", "inputs", "dim", "teacher_k", "arch"]  # one curve and fit each (k empty off teachers)


def approx_figure(result: Result):
    """Relative error against parameters (log-log) with fitted and theory power laws; alpha against d, and
    alpha against the teacher's k beside 2/k, where the run has more than one of either."""
    plt = pyplot()
    all_fits = result.analysis
    rows, fits = _params_view(result.rows, all_fits)
    panels = [_error_panel]
    if all_fits is not None and (all_fits["axis"] == "samples").any():
        panels.append(functools.partial(_learning_panel, all_rows=result.rows, all_fits=all_fits))
    if fits is not None and rows["dim"].nunique() > 1:
        panels.append(_alpha_panel)
    if fits is not None and fits["teacher_k"].nunique() > 1:
        panels.append(_alpha_k_panel)
    if all_fits is not None and "id_twonn" in all_fits and all_fits["id_twonn"].notna().any():
        panels.append(functools.partial(_bridge_panel, all_fits=all_fits))
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 + 5.5 * (len(panels) - 1), 4.4))
    for panel, ax in zip(panels, np.atleast_1d(axes)):
        panel(ax, rows, fits)
    if rows["n_samples"].nunique() == 1 and result.rows["n_samples"].nunique() > 1:
        np.atleast_1d(axes)[0].set_title(f"error against size at n = {int(rows['n_samples'].iloc[0])}")
    fig.suptitle("dimcurse approx: mean ± sd over seeds and teacher draws (bands)")
    fig.tight_layout()
    return fig


def _params_view(rows: pd.DataFrame, fits):
    """The rows and fits of the parameter axis: for a learning curve, its largest n only (one curve per
    setting), k-NN's rows left to the learning-curve panel."""
    if fits is None or "axis" not in fits:
        return rows, fits
    fits = fits[fits["axis"] == "params"]
    if fits["fixed"].str.startswith("n=").any():
        largest = int(rows["n_samples"].max())
        fits = fits[fits["fixed"] == f"n={largest}"]
        rows = rows[(rows["n_samples"] == largest) & (rows["arch"] != "knn")]
    return rows, fits.reset_index(drop=True)


def _learning_panel(ax, rows, fits, *, all_rows: pd.DataFrame, all_fits: pd.DataFrame) -> None:
    """Relative error against training samples: trained models at their best width per n (by validation),
    k-NN as it is; fitted and theory slopes as in the error panel."""
    from dimcurse.experiments.approx.kernel import best_width_rows

    for _, fit in all_fits[all_fits["axis"] == "samples"].iterrows():
        k = fit["teacher_k"]
        same_k = all_rows["teacher_k"].isna() if pd.isna(k) else all_rows["teacher_k"] == k
        keys = (all_rows["target"] == fit["target"]) & (all_rows["dim"] == fit["dim"]) & same_k
        keys &= all_rows["inputs"] == fit["inputs"]
        group = all_rows[keys & (all_rows["arch"] == fit["arch"])]
        if fit["arch"] != "knn":
            group = best_width_rows(group)
        stats = _stats(group, ["n_samples"], "rel_rmse")
        label = f"{fit['arch']}" + (f" ({fit['fixed']})" if fit["fixed"] else "") + _alpha_label(fit)
        line = _series(ax, stats["n_samples"], stats, label, log_y=True)
        if np.isfinite(fit["alpha_theory"]):
            first = stats.iloc[0]
            slope = (stats["n_samples"] / first["n_samples"]) ** -fit["alpha_theory"]
            ax.plot(stats["n_samples"], first["mean"] * slope, "--", color=line[0].get_color(), alpha=0.6)
    _log(ax, x=True, y=True)
    ax.set(xlabel="training samples n", ylabel="relative test RMSE", title="learning curves (theory dashed)")
    _legend(ax)


def _bridge_panel(ax, rows, fits, *, all_fits: pd.DataFrame) -> None:
    """The bridge: fitted exponents against the inputs' measured ID, both intervals, and 2/ID, 1/ID."""
    measured = all_fits[all_fits["id_twonn"].notna() & all_fits["alpha"].notna()]
    for (arch, axis), group in measured.groupby(["arch", "axis"], sort=False):
        xerr = np.vstack([group["id_twonn"] - group["id_twonn_lo"], group["id_twonn_hi"] - group["id_twonn"]])
        yerr = np.vstack([group["alpha"] - group["alpha_lo"], group["alpha_hi"] - group["alpha"]])
        ax.errorbar(
            group["id_twonn"], group["alpha"], xerr=np.nan_to_num(np.abs(xerr)), yerr=np.nan_to_num(np.abs(yerr)),
            marker="o", ms=3, capsize=2, ls="none", label=f"{arch}, {axis}",
        )  # fmt: skip
    if len(measured):
        ids = np.linspace(max(0.8, measured["id_twonn"].min() * 0.8), measured["id_twonn"].max() * 1.25, 100)
        ax.plot(ids, 2 / ids, "k--", alpha=0.6, label="2/ID (networks, Sharma & Kaplan 2020)")
        ax.plot(ids, 1 / ids, "k:", alpha=0.6, label="1/ID (k-NN, Kpotufe 2011)")
    _log(ax, x=True, y=True)
    ax.set(xlabel="measured intrinsic dimension (TwoNN, 95 %)", ylabel="fitted exponent alpha (95 %)",
           title="the bridge: exponent against the data's ID")  # fmt: skip
    _legend(ax)


def _error_panel(ax, rows: pd.DataFrame, fits) -> None:
    for (target, source, dim, k, arch), group in rows.groupby(APPROX_KEYS, sort=False, dropna=False):
        stats = _stats(group, ["params"], "rel_rmse")
        fit = _fit_row(fits, target, dim, k, arch, source)
        setting = f"{target}{_on(source)}, d={dim}" + ("" if pd.isna(k) else f", k={int(k)}") + f", {arch}"
        line = _series(ax, stats["params"], stats, setting + _alpha_label(fit), log_y=True)
        if fit is not None and np.isfinite(fit["alpha"]):
            ax.plot(
                stats["params"],
                np.exp(fit["log_c"]) * stats["params"] ** -fit["alpha"],
                "-",
                lw=0.8,
                color=line[0].get_color(),
                alpha=0.7,
            )
        if fit is not None and np.isfinite(fit["alpha_theory"]):
            first = stats.iloc[0]
            ax.plot(
                stats["params"],
                first["mean"] * (stats["params"] / first["params"]) ** -fit["alpha_theory"],
                "--",
                color=line[0].get_color(),
                alpha=0.6,
            )
    if fits is not None and fits["alpha"].notna().any():
        ax.plot([], [], "k-", lw=0.8, label="fitted params^(-alpha)")
    if fits is not None and fits["alpha_theory"].notna().any():
        ax.plot([], [], "k--", alpha=0.6, label="theory slope")
    _log(ax, x=True, y=True)
    ax.set(xlabel="parameters", ylabel="relative test RMSE", title="error against size")
    _legend(ax)


def _alpha_label(fit) -> str:
    """``, alpha 0.98 [0.91, 1.05]`` for a legend; nothing without a fit."""
    if fit is None or not np.isfinite(fit["alpha"]):
        return ""
    return f", alpha {fit['alpha']:.3g} [{fit['alpha_lo']:.3g}, {fit['alpha_hi']:.3g}]"  # 3 digits: 0.0005 is not 0


def _on(source: str) -> str:
    """The legend words for where the inputs came from (" on torus:2"); none for the target's own cube."""
    return "" if source == "cube" else f" on {source}"


def _fit_row(fits, target, dim, k, arch, source="cube"):
    if fits is None:
        return None
    same_k = fits["teacher_k"].isna() if pd.isna(k) else fits["teacher_k"] == k
    match = fits[(fits["target"] == target) & (fits["dim"] == dim) & same_k & (fits["arch"] == arch)]
    match = match[match["inputs"] == source] if "inputs" in match else match
    return match.iloc[0] if len(match) else None


def _alpha_errorbars(ax, group: pd.DataFrame, x: str, label: str):
    group = group.sort_values(x)
    err = np.vstack([group["alpha"] - group["alpha_lo"], group["alpha_hi"] - group["alpha"]])
    return ax.errorbar(
        group[x].to_numpy(float),
        group["alpha"].to_numpy(float),
        yerr=np.nan_to_num(np.abs(err)),
        marker="o",
        ms=3,
        capsize=2,
        label=label,
    )


def _alpha_panel(ax, rows: pd.DataFrame, fits: pd.DataFrame) -> None:
    for (target, source, k, arch), group in fits.groupby(
        ["target", "inputs", "teacher_k", "arch"], sort=False, dropna=False
    ):
        group = group.sort_values("dim")
        label = f"{target}{_on(source)}" + ("" if pd.isna(k) else f", k={int(k)}") + f", {arch}"
        line = _alpha_errorbars(ax, group, "dim", label)
        if group["alpha_theory"].notna().any():
            ax.plot(
                group["dim"].to_numpy(float),
                group["alpha_theory"].to_numpy(float),
                "--",
                color=line[0].get_color(),
                alpha=0.6,
                label=f"theory, {label}",
            )
    _log(ax, x=True, xticks=fits["dim"].unique() if fits["dim"].nunique() <= 8 else None)
    ax.set(
        xlabel="dimension d",
        ylabel="fitted exponent alpha (95 % interval)",
        title="the curse in one picture: exponent against d",
    )
    _legend(ax)


def _alpha_k_panel(ax, rows: pd.DataFrame, fits: pd.DataFrame) -> None:
    """alpha against the teacher's intrinsic dimension k, one series per (target, d, arch), and 2/k."""
    teachers = fits[fits["teacher_k"].notna()]
    for (target, source, dim, arch), group in teachers.groupby(["target", "inputs", "dim", "arch"], sort=False):
        _alpha_errorbars(ax, group, "teacher_k", f"{target}{_on(source)}, d={dim}, {arch}")
    ks = np.linspace(max(0.8, teachers["teacher_k"].min() * 0.9), teachers["teacher_k"].max() * 1.1, 100)
    ax.plot(ks, 2 / ks, "k--", alpha=0.6, label="2/k (Sharma & Kaplan 2020)")
    _log(ax, x=True, y=True, xticks=sorted(teachers["teacher_k"].unique()))
    ax.set(
        xlabel="intrinsic dimension k",
        ylabel="fitted exponent alpha (95 % interval)",
        title="where the curse goes: exponent against k",
    )
    _legend(ax)


# --------------------------------------------------------------------------- overparam


def _size_axis(rows: pd.DataFrame) -> tuple[str, str]:
    """The x column and its label: N/n (features or p per sample) for the closed forms, whose
    threshold is at N = n; parameters per sample for the mlp."""
    if (rows["model"] == "mlp").all():
        return "params_per_sample", "parameters per training sample"
    return "features_per_sample", "features per training sample, N / n (threshold at 1)"


def overparam_figure(result: Result):
    """Train and test loss and error against size per sample, threshold marked, theory dashed; test error over
    epochs."""
    from dimcurse.experiments.overparam.summary import SETTING, final_rows, is_samplewise, summary_table

    plt = pyplot()
    if is_samplewise(result.rows):  # a sweep over n at a few widths: its curves against n
        return samplewise_figure(result)
    rows = result.rows.assign(features_per_sample=result.rows["width"] / result.rows["n_train"])
    final = final_rows(rows)
    classification = final["test_error"].notna().any()
    curve = rows["epoch"].nunique() > 1
    heat = curve and classification and rows["width"].nunique() >= 3 and rows["epoch"].nunique() >= 3
    panels = 1 + classification + curve + heat
    fig, axes = plt.subplots(1, panels, figsize=(6.6 * panels, 4.4))
    axes = list(np.atleast_1d(axes))
    summary = result.analysis if result.analysis is not None else summary_table(rows)
    x, xlabel = _size_axis(final)
    drawn = False
    for key, group in final.groupby(SETTING, sort=False):
        label = _setting_label(key, show_n=final["n_train"].nunique() > 1)
        threshold = _threshold(summary, dict(zip(SETTING, key)), group, x)
        for ax, metric in zip(axes, ["loss", "error"][: 1 + classification]):
            for split, style in (("train", ":"), ("test", "-")):
                stats = _stats(group, [x], f"{split}_{metric}")
                _series(ax, stats[x], stats, f"{split}, {label}", log_y=metric == "loss", ls=style)
            if metric == "loss" and group["theory_risk"].notna().any():
                _theory_risk(ax, group, x, label)
            if threshold is not None:
                ax.axvline(threshold, color="grey", ls="--", lw=0.8)
                drawn = True
    for ax, metric in zip(axes, ["loss", "error"][: 1 + classification]):
        if drawn:
            ax.plot([], [], color="grey", ls="--", lw=0.8, label="interpolation threshold")
        _log(ax, x=True, y=metric == "loss")
        ax.set(xlabel=xlabel, ylabel=metric, title=f"train and test {metric}")
        if metric == "loss":
            # An interpolating model's train loss is ~1e-20: cut the axis 3 decades under the lowest test loss.
            ax.set_ylim(bottom=float(final["test_loss"].min()) / 1e3)
        _legend(ax)
    if heat:
        _error_heat_map(fig, axes[-1], rows)
    if curve:
        ax = axes[-1 - heat]
        for width, group in rows.groupby("width", sort=True):
            stats = _stats(group, ["epoch"], "test_error")
            _series(ax, stats["epoch"], stats, f"width {width}")
        ax.set(xlabel="epoch", ylabel="test error", title="test error over training")
        _legend(ax)
    fig.suptitle("dimcurse overparam: mean ± sd over seeds (bands)")
    fig.tight_layout()
    return fig


def _error_heat_map(fig, ax, rows: pd.DataFrame) -> None:
    """Mean test error over seeds against epoch (x) and width (y, one row per width, in order):
    the picture of Nakkiran et al. 2019's epoch-wise double descent."""
    grid = rows.pivot_table(index="width", columns="epoch", values="test_error", aggfunc="mean").sort_index()
    epochs, widths = grid.columns.to_numpy(float), grid.index.to_numpy()
    edges = np.concatenate([[epochs[0]], (epochs[1:] + epochs[:-1]) / 2, [epochs[-1]]])
    mesh = ax.pcolormesh(edges, np.arange(len(widths) + 1), grid.to_numpy(float), cmap="viridis", shading="flat")
    ax.set_yticks(np.arange(len(widths)) + 0.5, [str(w) for w in widths])
    ax.set(xlabel="epoch", ylabel="width", title="test error over epochs and width")
    fig.colorbar(mesh, ax=ax, label="test error (mean over seeds)")


def samplewise_figure(result: Result):
    """Test loss (and error) against the training-set size n, one line per width; for the linear
    model its excess risk with the closed form dashed; the threshold n = width dotted (N = n)."""
    from dimcurse.experiments.overparam.summary import OVER_N, SETTING, final_rows

    plt = pyplot()
    final = final_rows(result.rows)
    classification = final["test_error"].notna().any()
    fig, axes = plt.subplots(1, 1 + classification, figsize=(6.6 * (1 + classification), 4.4))
    axes = list(np.atleast_1d(axes))
    for key, group in final.groupby(OVER_N, sort=False):
        setting = dict(zip(OVER_N, key))
        label = f"{_setting_label(tuple(setting.get(c) for c in SETTING))}, width {key[-1]}"
        for ax, metric in zip(axes, ["loss", "error"][: 1 + classification]):
            stats = _stats(group, ["n_train"], f"test_{metric}")
            line = _series(ax, stats["n_train"], stats, f"test {metric}, {label}", log_y=metric == "loss")
            ax.axvline(key[-1], color=line[0].get_color(), ls=":", lw=0.8)
            if metric == "loss" and group["theory_risk"].notna().any():
                _theory_risk(ax, group, "n_train", label)
    for ax, metric in zip(axes, ["loss", "error"][: 1 + classification]):
        ax.plot([], [], color="grey", ls=":", lw=0.8, label="n = width (threshold)")
        _log(ax, x=True, y=metric == "loss")
        ax.set(xlabel="training samples n", ylabel=metric, title=f"test {metric} against n (sample-wise)")
        _legend(ax)
    fig.suptitle("dimcurse overparam: more data can hurt; mean ± sd over seeds (bands)")
    fig.tight_layout()
    return fig


def _theory_risk(ax, group: pd.DataFrame, x: str, label: str) -> None:
    """The linear model's excess risk, measured and in closed form: exact at finite n for min-norm,
    Hastie et al.'s limit for a ridge (REFERENCES.md §3)."""
    stats = _stats(group, [x], "excess_risk")
    line = _series(ax, stats[x], stats, f"excess risk, {label}", log_y=True, ls="-.")
    theory = group.groupby(x, sort=True)["theory_risk"].first()
    finite = np.isfinite(theory.to_numpy(float))  # infinite for |p - n| <= 1: the mean does not exist there
    kind = "limit (Hastie et al.)" if group["theory_risk_limit"].any() else "exact"
    ax.plot(
        theory.index.to_numpy(float)[finite],
        theory.to_numpy(float)[finite],
        "--",
        color=line[0].get_color(),
        lw=1.2,
        label=f"theory risk, {kind}, {label}",
    )


def _setting_label(key, show_n: bool = False) -> str:
    model, data, noise, ridge, decay, n, feature_map = key
    parts = [f"{model}{' (fourier)' if feature_map == 'fourier' else ''} on {data}"] + ([f"n {n}"] if show_n else [])
    if noise:
        parts.append(f"noise {noise:g}")
    if ridge:
        parts.append(f"ridge {ridge:g}")
    if decay:
        parts.append(f"wd {decay:g}")
    return ", ".join(parts)


def _threshold(summary: pd.DataFrame, setting: dict, group: pd.DataFrame, x: str) -> float | None:
    """The x position of the width the summary marks as the threshold of this setting."""
    match = summary[summary["mark"].str.contains("threshold")]
    for column, value in setting.items():
        if column in match:
            match = match[match[column] == value]
    if not len(match):
        return None
    width = int(match["width"].iloc[0])
    return float(group.loc[group["width"] == width, x].iloc[0])
