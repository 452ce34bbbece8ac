"""The approx kernel's figure: error against size with fitted and theory slopes; exponents against d,
against the teacher's k and against the data's measured ID; learning curves (docs/references.md)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from dimcurse.plot import BAND_FLOOR, legend, log_axes, pyplot, seed_stats, series
from dimcurse.results import Result
from dimcurse.experiments.approx.fits import best_width_rows


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
    if all_fits is not None and "twonn_id" in all_fits and all_fits["twonn_id"].notna().any():
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
    for _, fit in all_fits[all_fits["axis"] == "samples"].iterrows():
        k = fit["teacher_k"]
        same_k = all_rows["teacher_k"].isna() if pd.isna(k) else all_rows["teacher_k"] == k
        keys = (all_rows["target"] == fit["target"]) & (all_rows["dim"] == fit["dim"]) & same_k
        keys &= all_rows["inputs"] == fit["inputs"]
        group = all_rows[keys & (all_rows["arch"] == fit["arch"])]
        if fit["arch"] != "knn":
            group = best_width_rows(group)
        stats = seed_stats(group, ["n_samples"], "rel_rmse")
        label = f"{fit['arch']}" + (f" ({fit['fixed']})" if fit["fixed"] else "") + _alpha_label(fit)
        line = series(ax, stats["n_samples"], stats, label, log_y=True)
        if np.isfinite(fit["alpha_theory"]):
            first = stats.iloc[0]
            slope = (stats["n_samples"] / first["n_samples"]) ** -fit["alpha_theory"]
            ax.plot(stats["n_samples"], first["mean"] * slope, "--", color=line[0].get_color(), alpha=0.6)
    log_axes(ax, x=True, y=True)
    ax.set(xlabel="training samples n", ylabel="relative test RMSE", title="learning curves (theory dashed)")
    legend(ax)


def _bridge_panel(ax, rows, fits, *, all_fits: pd.DataFrame) -> None:
    """The bridge: fitted exponents against the inputs' measured ID, both intervals, and 2/ID, 1/ID."""
    measured = all_fits[all_fits["twonn_id"].notna() & (all_fits["alpha"] > 0)]  # a log axis
    for (arch, axis), group in measured.groupby(["arch", "axis"], sort=False):
        xerr = np.vstack([group["twonn_id"] - group["twonn_id_lo"], group["twonn_id_hi"] - group["twonn_id"]])
        # On the log axis an interval reaching 0 or below is drawn down to a tenth of alpha (as plot's bands).
        low = np.maximum(group["alpha_lo"], group["alpha"] * BAND_FLOOR)
        yerr = np.vstack([group["alpha"] - low, group["alpha_hi"] - group["alpha"]])
        ax.errorbar(
            group["twonn_id"], group["alpha"], xerr=np.nan_to_num(np.abs(xerr)), yerr=np.nan_to_num(np.abs(yerr)),
            marker="o", ms=3, capsize=2, ls="none", label=f"{arch}, {axis}",
        )  # fmt: skip
    if len(measured):
        ids = np.linspace(max(0.8, measured["twonn_id"].min() * 0.8), measured["twonn_id"].max() * 1.25, 100)
        ax.plot(ids, 2 / ids, "k--", alpha=0.6, label="2/ID (networks, Sharma & Kaplan 2020)")
        ax.plot(ids, 1 / ids, "k:", alpha=0.6, label="1/ID (k-NN, Kpotufe 2011)")
    else:  # every fitted exponent is 0 or below: nothing to place on the log axis
        ax.text(0.5, 0.5, "no fitted exponent above 0 to place", transform=ax.transAxes, ha="center", fontsize=8)
    log_axes(ax, x=True, y=True)
    ax.set(xlabel="measured intrinsic dimension (TwoNN, 95 %)", ylabel="fitted exponent alpha (95 %)",
           title="the bridge: exponent against the data's ID")  # fmt: skip
    legend(ax)


def _used(fit, params: pd.Series) -> np.ndarray:
    """Which sizes the fit used (its used_params); all of them where there is no fit to ask."""
    if fit is None or "used_params" not in fit or not isinstance(fit["used_params"], str):
        return np.ones(len(params), dtype=bool)
    kept = {int(p) for p in fit["used_params"].split(",") if p.strip()}
    return params.astype(int).isin(kept).to_numpy()


def _error_panel(ax, rows: pd.DataFrame, fits) -> None:
    """Error against parameters per setting; the fitted power law over the sizes it used, the sizes left out
    (optimisation-, estimation- or precision-limited: the fit table's 'excluded') as hollow markers."""
    left_out = False
    for (target, source, dim, k, arch), group in rows.groupby(APPROX_KEYS, sort=False, dropna=False):
        stats = seed_stats(group, ["params"], "rel_rmse")
        fit = _fit_row(fits, target, dim, k, arch, source)
        setting = f"{target}{_on(source)}, d={dim}" + ("" if pd.isna(k) else f", k={int(k)}") + f", {arch}"
        line = series(ax, stats["params"], stats, setting + _alpha_label(fit), log_y=True)
        used = _used(fit, stats["params"])
        if not used.all():
            left_out = True
            ax.scatter(stats["params"][~used], stats["mean"][~used], s=30, facecolors="white",
                       edgecolors=line[0].get_color(), linewidths=1.2, zorder=3)  # fmt: skip
        if fit is not None and np.isfinite(fit["alpha"]):
            ax.plot(
                stats["params"][used],
                np.exp(fit["log_c"]) * stats["params"][used] ** -fit["alpha"],
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
    if left_out:
        ax.scatter([], [], s=30, facecolors="white", edgecolors="black", label="left out of the fit")
    if fits is not None and fits["alpha"].notna().any():
        ax.plot([], [], "k-", lw=0.8, label="fitted params^(-alpha)")
    if fits is not None and fits["alpha_theory"].notna().any():
        ax.plot([], [], "k--", alpha=0.6, label="theory slope")
    log_axes(ax, x=True, y=True)
    ax.set(xlabel="parameters", ylabel="relative test RMSE", title="error against size")
    legend(ax)


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
    log_axes(ax, x=True, xticks=fits["dim"].unique() if fits["dim"].nunique() <= 8 else None)
    ax.set(
        xlabel="dimension d",
        ylabel="fitted exponent alpha (95 % interval)",
        title="the curse in one picture: exponent against d",
    )
    legend(ax)


def _alpha_k_panel(ax, rows: pd.DataFrame, fits: pd.DataFrame) -> None:
    """alpha against the teacher's intrinsic dimension k, one series per (target, d, arch), and 2/k."""
    teachers = fits[fits["teacher_k"].notna()]
    for (target, source, dim, arch), group in teachers.groupby(["target", "inputs", "dim", "arch"], sort=False):
        _alpha_errorbars(ax, group, "teacher_k", f"{target}{_on(source)}, d={dim}, {arch}")
    ks = np.linspace(max(0.8, teachers["teacher_k"].min() * 0.9), teachers["teacher_k"].max() * 1.1, 100)
    ax.plot(ks, 2 / ks, "k--", alpha=0.6, label="2/k (Sharma & Kaplan 2020)")
    log_axes(ax, x=True, y=True, xticks=sorted(teachers["teacher_k"].unique()))
    ax.set(
        xlabel="intrinsic dimension k",
        ylabel="fitted exponent alpha (95 % interval)",
        title="where the curse goes: exponent against k",
    )
    legend(ax)
