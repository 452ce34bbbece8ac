"""The overparam kernel's figure: train and test loss and error across the interpolation threshold,
over epochs and over n (docs/references.md, double descent)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dimcurse.plot import key_line, legend, log_axes, pyplot, seed_stats, series
from dimcurse.results import Result
from dimcurse.experiments.overparam.summary import (
    OVER_N,
    RISK_PEAK_MARGIN,
    SETTING,
    epoch_peak,
    final_rows,
    is_samplewise,
    summary_table,
)


def _size_axis(rows: pd.DataFrame) -> tuple[str, str]:
    """The x column and its label: N/n (features or p per sample) for the closed forms, whose
    threshold is at N = n; parameters per sample for the mlp."""
    if (rows["model"] == "mlp").all():
        return "params_per_sample", "parameters per training sample"
    return "features_per_sample", "features per training sample, N / n (threshold at 1)"


def overparam_figure(result: Result):
    """Train and test loss and error against size per sample, threshold marked, theory dashed; test error over
    epochs. One colour per setting, one line style per quantity, theory in black: the legend is a short key."""
    plt = pyplot()
    if is_samplewise(result.rows):  # a sweep over n at a few widths: its curves against n
        return samplewise_figure(result)
    if (result.rows["model"] == "linear").all() and result.rows["epoch"].nunique() > 1:
        return steps_figure(result)  # gradient descent on the linear model, recorded over steps
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
    metrics = ["loss", "error"][: 1 + classification]
    settings, kinds, drawn = [], set(), False
    for i, (key, group) in enumerate(final.groupby(SETTING, sort=False)):
        label, color = _setting_label(key, show_n=final["n_train"].nunique() > 1), f"C{i % 10}"
        settings.append(key_line(label, color=color, lw=2))
        threshold = _threshold(summary, dict(zip(SETTING, key)), group, x)
        for ax, metric in zip(axes, metrics):
            for split, style in SPLITS:
                stats = seed_stats(group, [x], f"{split}_{metric}")
                series(ax, stats[x], stats, f"{split}, {label}", log_y=metric == "loss", ls=style, color=color)
            if metric == "loss" and group["theory_risk"].notna().any():
                kinds.add(_theory_risk(ax, group, x, label, color))
            if threshold is not None:
                ax.axvline(threshold, color=color, ls="--", lw=0.8, alpha=0.7)
                drawn = True
    for ax, metric in zip(axes, metrics):
        log_axes(ax, x=True, y=metric == "loss")
        ax.set(xlabel=xlabel, ylabel=metric, title=f"train and test {metric}")
        if metric == "loss":
            # An interpolating model's train loss is ~1e-20: cut the axis 3 decades under the lowest test loss.
            ax.set_ylim(bottom=float(final["test_loss"].min()) / 1e3)
        legend(ax, settings + _style_key(kinds if metric == "loss" else set(), drawn))
    if heat:
        _error_heat_map(fig, axes[-1], rows)
    if curve:
        ax = axes[-1 - heat]
        for width, group in rows.groupby("width", sort=True):
            stats = seed_stats(group, ["epoch"], "test_error")
            series(ax, stats["epoch"], stats, f"width {width}")
        ax.set(xlabel="epoch", ylabel="test error", title="test error over training")
        legend(ax)
    fig.suptitle("dimcurse overparam: mean ± sd over seeds (bands)")
    fig.tight_layout()
    return fig


SPLITS = (("train", ":"), ("test", "-"))
RISK_STYLE, THEORY_STYLE = "-.", dict(color="black", ls="--", lw=1.0)


def _style_key(kinds: set, threshold: bool, threshold_style: str = "--") -> list:
    """The styles' half of a legend: what each line style means, theory in black, the threshold."""
    handles = [key_line(split, color="grey", ls=style) for split, style in SPLITS]
    if kinds:
        handles.append(key_line("excess risk", color="grey", ls=RISK_STYLE))
        handles.append(key_line("theory risk: " + " / ".join(sorted(kinds)), **THEORY_STYLE))
    if threshold:
        handles.append(key_line("interpolation threshold", color="grey", ls=threshold_style, lw=0.8))
    return handles


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
    """Test loss (and error) against the training-set size n, one colour per width and setting; for the linear
    model its excess risk with the closed form in black; the threshold n = width dotted (N = n)."""
    plt = pyplot()
    final = final_rows(result.rows)
    classification = final["test_error"].notna().any()
    fig, axes = plt.subplots(1, 1 + classification, figsize=(6.6 * (1 + classification), 4.4))
    axes = list(np.atleast_1d(axes))
    metrics = ["loss", "error"][: 1 + classification]
    settings, kinds = [], set()
    for i, (key, group) in enumerate(final.groupby(OVER_N, sort=False)):
        setting, color = dict(zip(OVER_N, key)), f"C{i % 10}"
        label = f"{_setting_label(tuple(setting.get(c) for c in SETTING))}, width {key[-1]}"
        settings.append(key_line(label, color=color, lw=2))
        for ax, metric in zip(axes, metrics):
            stats = seed_stats(group, ["n_train"], f"test_{metric}")
            series(ax, stats["n_train"], stats, f"test {metric}, {label}", log_y=metric == "loss", color=color)
            ax.axvline(key[-1], color=color, ls=":", lw=0.8)
            if metric == "loss" and group["theory_risk"].notna().any():
                kinds.add(_theory_risk(ax, group, "n_train", label, color))
    for ax, metric in zip(axes, metrics):
        log_axes(ax, x=True, y=metric == "loss")
        ax.set(xlabel="training samples n", ylabel=metric, title=f"test {metric} against n (sample-wise)")
        style = [key_line(f"test {metric}", color="grey", ls="-")]
        if kinds and metric == "loss":
            style += [key_line("excess risk", color="grey", ls=RISK_STYLE)]
            style += [key_line("theory risk: " + " / ".join(sorted(kinds)), **THEORY_STYLE)]
        style.append(key_line("n = width (threshold)", color="grey", ls=":", lw=0.8))
        legend(ax, settings + style)
    fig.suptitle("dimcurse overparam: more data can hurt; mean ± sd over seeds (bands)")
    fig.tight_layout()
    return fig


def _theory_risk(ax, group: pd.DataFrame, x: str, label: str, color: str) -> str:
    """The linear model's excess risk, measured (the setting's colour) and in closed form (black): exact at
    finite n for min-norm, Hastie et al.'s limit for a ridge (docs/references.md). Returns the kind drawn."""
    stats = seed_stats(group, [x], "excess_risk")
    series(ax, stats[x], stats, f"excess risk, {label}", log_y=True, ls=RISK_STYLE, color=color)
    theory = group.groupby(x, sort=True)["theory_risk"].first()
    finite = np.isfinite(theory.to_numpy(float))  # infinite for |p - n| <= 1: the mean does not exist there
    kind = "limit (Hastie et al.)" if group["theory_risk_limit"].any() else "exact"
    ax.plot(
        theory.index.to_numpy(float)[finite],
        theory.to_numpy(float)[finite],
        label=f"theory risk, {kind}, {label}",
        **THEORY_STYLE,
    )
    return kind


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


def steps_figure(result: Result):
    """Gradient descent on the linear model: the excess risk over steps (log axis) per setting and width, its
    closed form in black, the dip and the peak marked where the detector finds them; with three or more
    widths, the risk over steps and width as a heat map (Heckel & Yilmaz 2021)."""
    plt = pyplot()
    rows = result.rows[result.rows["epoch"] > 0]  # step 0 (the zero vector) has no place on a log axis
    heat = rows["width"].nunique() >= 3
    fig, axes = plt.subplots(1, 1 + heat, figsize=(6.6 * (1 + heat), 4.4))
    ax = np.atleast_1d(axes)[0]
    settings, marked = [], False
    for i, (key, group) in enumerate(rows.groupby(SETTING + ["width"], sort=False)):
        color, label = f"C{i % 10}", f"{key[SETTING.index('feature_map')]}, width {key[-1]}"
        settings.append(key_line(label, color=color, lw=2))
        stats = seed_stats(group, ["epoch"], "excess_risk")
        series(ax, stats["epoch"], stats, f"excess risk, {label}", log_y=True, color=color)
        theory = group.groupby("epoch", sort=True)["theory_risk"].mean()
        ax.plot(theory.index, theory.to_numpy(float), label=f"theory, {label}", **THEORY_STYLE)
        curve = stats.set_index("epoch")["mean"]
        found = epoch_peak(curve, RISK_PEAK_MARGIN * float(curve.max()))
        if found is not None:
            dip, peak, _ = found
            ax.scatter([dip, peak], [curve[dip], curve[peak]], marker="v", s=40, color=color, zorder=3)
            marked = True
    log_axes(ax, x=True, y=True)
    ax.set(xlabel="gradient-descent step", ylabel="excess risk", title="excess risk over training")
    style = [key_line("measured (mean ± sd)", color="grey"), key_line("closed form (expected)", **THEORY_STYLE)]
    if marked:
        style.append(key_line("dip and peak", color="grey", marker="v", ls="none"))
    legend(ax, settings + style)
    if heat:
        _risk_heat_map(fig, np.atleast_1d(axes)[1], rows)
    fig.suptitle("dimcurse overparam: gradient descent, epoch-wise double descent in closed form")
    fig.tight_layout()
    return fig


def _risk_heat_map(fig, ax, rows: pd.DataFrame) -> None:
    """Mean excess risk over seeds against step (x, log) and width (y, one row per width)."""
    grid = rows.pivot_table(index="width", columns="epoch", values="excess_risk", aggfunc="mean").sort_index()
    steps, widths = grid.columns.to_numpy(float), grid.index.to_numpy()
    edges = np.concatenate([[steps[0] / 1.2], np.sqrt(steps[1:] * steps[:-1]), [steps[-1] * 1.2]])
    mesh = ax.pcolormesh(edges, np.arange(len(widths) + 1), grid.to_numpy(float), cmap="viridis", shading="flat")
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(widths)) + 0.5, [str(w) for w in widths])
    ax.set(xlabel="gradient-descent step", ylabel="width (features)", title="excess risk over steps and width")
    fig.colorbar(mesh, ax=ax, label="excess risk (mean over seeds)")
