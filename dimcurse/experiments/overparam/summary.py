"""The per-width summary of ``dimcurse overparam`` and the notes that name its effects.

The interpolation threshold, the test-loss and test-error peaks (model-wise), where more
data hurts (sample-wise) and the rise and fall of test error during training (epoch-wise).
"""

from __future__ import annotations


import math

import numpy as np
import pandas as pd

from dimcurse.nets import EXPLODE


def theory_notes(table: pd.DataFrame) -> list[str]:
    infinite = table[(table["model"] == "linear") & table["theory_risk"].isna()]
    notes = []
    for n, rows in infinite.groupby("n_train"):
        widths = ", ".join(str(w) for w in sorted(set(rows["width"])))
        notes.append(
            f"theory_risk is blank at p = {widths}: with |p - n| <= 1 (n = {n}) the min-norm expected risk "
            "is infinite (the inverse-Wishart mean does not exist); the measured risk there is one draw of "
            "a heavy-tailed variable."
        )
    return notes


# --------------------------------------------------------------------------- summary

SETTING = ["model", "data", "label_noise", "ridge", "weight_decay", "n_train", "feature_map"]


def final_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows at the end of training (the last recorded epoch; closed-form models have one)."""
    last = table.groupby(SETTING, sort=False)["epoch"].transform("max")
    return table[table["epoch"] == last]


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting and width: fit fraction, median epochs, mean losses, and the threshold / peak marks."""
    out = []
    for key, group in final_rows(table).groupby(SETTING, sort=False):
        per_width = group.groupby("width", sort=True)
        frame = pd.DataFrame(
            {
                "params_per_sample": per_width["params_per_sample"].first(),
                "fit_fraction": per_width["interpolates"].mean(),
                "median_epochs_to_fit": per_width["epochs_to_interpolate"].median(),
                "train_loss": per_width["train_loss"].mean(),
                "test_loss": per_width["test_loss"].mean(),
                "test_error": per_width["test_error"].mean(),
            }
        ).reset_index()
        threshold = _threshold_width(frame)
        peak = _peak_width(_seed_peaks(group))
        error_peak = _peak_width(_seed_bumps(group)) if group["test_error"].notna().any() else None
        marks = (("threshold", threshold), ("loss peak", peak), ("error peak", error_peak))
        frame["mark"] = [", ".join(m for m, at in marks if at == w) for w in frame["width"]]
        for name, value in zip(SETTING, key):
            frame[name] = value
        out.append(frame)
    columns = SETTING + [
        "width",
        "params_per_sample",
        "fit_fraction",
        "median_epochs_to_fit",
        "train_loss",
        "test_loss",
        "test_error",
        "mark",
    ]
    if is_samplewise(table):
        out = [_samplewise_marks(pd.concat(out, ignore_index=True))]
    model = out[0]["model"].iloc[0]
    # Leave out what does not apply: the mlp has no ridge and the closed forms no epochs or weight decay;
    # the linear model has no classification error.
    drop = {
        "mlp": ("ridge", "feature_map"),
        "cnn": ("ridge", "feature_map"),
        "linear": ("weight_decay", "median_epochs_to_fit", "test_error", "feature_map"),
    }.get(model, ("weight_decay", "median_epochs_to_fit"))
    summary = pd.concat(out, ignore_index=True)
    if model == "linear" and (summary["feature_map"] != "none").any():  # gradient descent: its scales and steps
        drop = tuple(c for c in drop if c != "feature_map")  # name each row's setting
    return summary[[c for c in columns if c not in drop]]


OVER_N = [c for c in SETTING if c != "n_train"] + ["width"]  # a sample-wise curve: one per setting and width


def is_samplewise(rows: pd.DataFrame) -> bool:
    """A sweep over training sizes at a few widths (3 or more sizes, more sizes than widths): its
    summary marks, notes and figure read each width's curve over n."""
    sizes = rows["n_train"].nunique()
    return sizes >= 3 and rows["width"].nunique() < sizes


def _samplewise_marks(summary: pd.DataFrame) -> pd.DataFrame:
    """A sweep over n at one or two widths: per width, "threshold" marks the largest n it still fits
    (every seed) and "loss peak" the n of the largest mean test loss, when it lies inside the sweep."""
    summary = summary.copy()
    summary["mark"] = ""
    for _, group in summary.groupby(OVER_N, sort=False):
        fits = group[group["fit_fraction"] >= 1.0]
        if len(fits):
            summary.loc[fits["n_train"].idxmax(), "mark"] = "threshold"
        peak = group["test_loss"].idxmax()
        if group.loc[peak, "n_train"] not in (group["n_train"].min(), group["n_train"].max()):
            summary.loc[peak, "mark"] = ", ".join(m for m in (summary.loc[peak, "mark"], "loss peak") if m)
    return summary


def _threshold_width(frame: pd.DataFrame) -> int | None:
    """The interpolation threshold: the smallest width at which every seed fits the training set."""
    fits = frame[frame["fit_fraction"] >= 1.0]
    return int(fits["width"].min()) if len(fits) else None


def _seed_peaks(group: pd.DataFrame) -> pd.Series:
    """Per seed, the width with the largest test loss, when it lies strictly inside the sweep.

    A maximum at the smallest or the widest width is a monotone trend, not a peak, so
    such seeds are left out.
    """
    clean = group.dropna(subset=["test_loss"])
    peaks = clean.loc[clean.groupby("seed")["test_loss"].idxmax()].set_index("seed")["width"]
    return peaks[(peaks > group["width"].min()) & (peaks < group["width"].max())]


def _seed_bumps(group: pd.DataFrame, column: str = "test_error") -> pd.Series:
    """Per seed, the width whose ``column`` stands highest above both the lowest value at smaller widths
    and the lowest at larger ones: the double-descent bump of the test error, which an underfitted
    narrowest model (the error's global maximum) would hide from ``_seed_peaks``. Seeds with no bump
    (a monotone curve) are left out."""
    out = {}
    for seed, rows in group.dropna(subset=[column]).groupby("seed"):
        curve = rows.groupby("width")[column].mean().sort_index().to_numpy(float)
        widths = np.sort(rows["width"].unique())
        height = [min(curve[i] - curve[:i].min(), curve[i] - curve[i + 1 :].min()) for i in range(1, len(curve) - 1)]
        if height and max(height) > 0:
            out[seed] = int(widths[1 + int(np.argmax(height))])
    return pd.Series(out, dtype=int)


def _peak_width(peaks: pd.Series) -> int | None:
    """The width most seeds peak at (the smaller on a tie); None when no seed has an interior peak."""
    if peaks.empty:
        return None
    counts = peaks.value_counts()
    return int(min(counts[counts == counts.max()].index))


def summary_notes(table: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """One sentence per setting naming the threshold and the peak, with the spread over seeds."""
    notes = []
    final = final_rows(table)
    for key, group in final.groupby(SETTING, sort=False):
        shown = [
            (k, v)
            for k, v in zip(SETTING[2:], key[2:])
            if (v or k == "label_noise")
            and (k != "n_train" or table["n_train"].nunique() > 1)
            and (k != "feature_map" or v == "fourier" or str(v).startswith("scales"))
        ]
        label = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown)
        setting = dict(zip(SETTING, key))
        cols = [c for c in SETTING if c in summary.columns]
        frame = summary[(summary[cols] == pd.Series([setting[c] for c in cols], index=cols)).all(axis=1)]
        threshold = _threshold_width(frame)
        where = f"{key[0]} on {key[1]} ({label})"
        if group["diverged"].all():
            notes.append(
                f"{where}: every model diverged (the loss became non-finite or rose above "
                f"{EXPLODE:g} x its first value): no result; lower --lr."
            )
            continue
        if (table["n_train"].nunique() > 1 or table["epoch"].nunique() > 1) and group["width"].nunique() < 3:
            continue  # a sweep over n or over steps: one or two widths have no model-wise threshold or peak to name
        if threshold is None:
            notes.append(
                f"{where}: no width fits the training set (the threshold lies beyond width "
                f"{int(frame['width'].max())}), {_peak_sentence(group, None)}"
            )
        else:
            pps = float(frame.loc[frame["width"] == threshold, "params_per_sample"].iloc[0])
            notes.append(
                f"{where}: interpolation threshold at width {threshold} ({pps:.3g} params/sample), "
                f"{_peak_sentence(group, threshold)}"
            )
        if group["diverged"].any():
            notes.append(
                f"{where}: {int(group['diverged'].sum())} model(s) diverged (loss non-finite or above "
                f"{EXPLODE:g} x its first value): flagged, excluded from means and from the threshold."
            )
        if setting["label_noise"] == 1.0 and group["test_error"].notna().any():
            notes.append(_memorisation_sentence(final, group, setting))
    return notes


def samplewise_notes(table: pd.DataFrame) -> list[str]:
    """With 3 or more training sizes: per setting and width, whether the test loss peaks at an
    inner n, i.e. more data hurts before it helps (Nakkiran et al. 2019, section 7)."""
    final = final_rows(table)
    if not is_samplewise(final):
        return []
    notes = []
    for key, group in final.groupby(OVER_N, sort=False):
        curve = group.groupby("n_train")["test_loss"].mean().dropna()
        if len(curve) < 3:
            continue
        peak = curve.idxmax()
        where = f"{key[0]} on {key[1]}, width {key[-1]}"
        if peak in (curve.index[0], curve.index[-1]):
            trend = "falls" if curve.iloc[-1] < curve.iloc[0] else "rises"
            notes.append(
                f"{where}: no sample-wise peak (the test loss {trend} from n = {curve.index[0]} to "
                f"{curve.index[-1]} without an inner maximum)."
            )
            continue
        low = curve.loc[:peak].idxmin()
        said = ""
        if key[0] == "linear":  # the excess risk beside its exact closed form (blank where infinite)
            risk = group.groupby("n_train")[["excess_risk", "theory_risk"]].agg(
                {"excess_risk": "mean", "theory_risk": "first"}
            )
            said = (
                f"; excess risk {risk.excess_risk[low]:.3g} -> {risk.excess_risk[peak]:.3g}, theory "
                f"{risk.theory_risk[low]:.3g} -> {risk.theory_risk[peak]:.3g}"
            )
        notes.append(
            f"{where}: more data hurts: the test loss rises from {curve[low]:.3g} at n = {low} to "
            f"{curve[peak]:.3g} at n = {peak}, then falls to {curve.iloc[-1]:.3g} at n = "
            f"{curve.index[-1]} (sample-wise double descent){said}."
        )
    return notes


EPOCH_PEAK_MARGIN = 0.01  # an epoch-wise peak rises at least 1 percentage point of test error on both sides


def epochwise_notes(table: pd.DataFrame, n_test: int) -> list[str]:
    """With test error recorded at 5 or more epochs: per setting and width, whether the test error falls,
    rises to a peak and falls again during training (epoch-wise double descent, Nakkiran et al. 2019
    section 6); the seeds' mean curve is read, and each side must exceed ``epoch_margin``. Regression
    (the linear model's gradient descent) reads its excess risk instead: risk_epochwise_notes."""
    if table["epoch"].nunique() < 5:
        return []
    if table["test_error"].isna().all():
        return risk_epochwise_notes(table)
    notes = []
    keys = SETTING + ["width"]
    for key, group in table.groupby(keys, sort=False):
        curve = group.groupby("epoch")["test_error"].mean().dropna()
        margin = epoch_margin(curve, n_test * group["seed"].nunique())
        found = epoch_peak(curve, margin)
        where = f"{key[0]} on {key[1]}, width {key[-1]}"
        if found is None:
            continue  # the summary is per width; a sentence for every width without a peak would drown the others
        dip, peak, last = found
        tail = curve.iloc[-max(1, len(curve) // 5) :].mean()
        notes.append(
            f"{where}: epoch-wise double descent: the test error falls to {curve[dip]:.3f} at epoch "
            f"{dip:g}, rises to {curve[peak]:.3f} at epoch {peak:g} and falls back to {tail:.3f} (the "
            f"mean of the last fifth of training, to epoch {last:g})."
        )
    if not notes:
        notes.append(
            f"no epoch-wise double descent at any width: the test error does not fall, rise by at least "
            f"{EPOCH_PEAK_MARGIN:.0%} (or 3 binomial sds of the test set) and come down again by the last "
            "fifth of training (read after a running median of 5 records)."
        )
    return notes


def _worst_after_first_dip(curve: pd.Series) -> float:
    """The largest value from the curve's first local minimum on (the end if it only falls)."""
    values = curve.to_numpy(float)
    rising = np.flatnonzero(np.diff(values) > 0)
    return float(values[rising[0] :].max()) if len(rising) else float(values[-1])


RISK_PEAK_MARGIN = 0.05  # a rise (and the fall after it) of 5 % of the risk's peak: the closed form is exact


def risk_epochwise_notes(table: pd.DataFrame) -> list[str]:
    """Per setting and width of a regression recorded over steps: the dip, the peak and the second descent of
    the mean excess risk over seeds (epoch_peak, margin RISK_PEAK_MARGIN x the peak), the closed form's own
    curve read the same way, and for each setting with equalised step sizes the worst risk after its first
    dip beside the same run with one step size (Heckel & Yilmaz's remedy)."""
    notes, worst = [], {}
    for key, group in table.groupby(SETTING + ["width"], sort=False):
        where = f"{key[0]} ({key[-2]}), width {key[-1]}"
        curves = {c: group.groupby("epoch")[c].mean().dropna() for c in ("excess_risk", "theory_risk")}
        found = {c: epoch_peak(v, RISK_PEAK_MARGIN * float(v.max())) for c, v in curves.items() if len(v) >= 5}
        measured, theory = curves["excess_risk"], curves["theory_risk"]
        worst[key] = _worst_after_first_dip(measured)
        if found.get("excess_risk") is None:
            notes.append(f"{where}: no epoch-wise double descent: the excess risk does not fall, rise by "
                         f"{RISK_PEAK_MARGIN:.0%} of its peak and fall again (closed form: "
                         f"{'the same' if found.get('theory_risk') is None else 'it does'}).")  # fmt: skip
            continue
        dip, peak, last = found["excess_risk"]
        notes.append(
            f"{where}: epoch-wise double descent: the excess risk falls to {measured[dip]:.3g} at step {dip:g}, "
            f"rises to {measured[peak]:.3g} at step {peak:g} and falls to {measured.iloc[-1]:.3g} by step {last:g}"
            f" (closed form: {theory[dip]:.3g}, {theory[peak]:.3g}, {theory.iloc[-1]:.3g})."
        )
    for key, value in worst.items():
        name = str(key[SETTING.index("feature_map")])
        if name.endswith(", equalised steps"):
            same = tuple(name.removesuffix(", equalised steps") if k == name else k for k in key)
            if same in worst:
                notes.append(
                    f"equalised step sizes ({name.removesuffix(', equalised steps')}, width {key[-1]}): the worst "
                    f"excess risk after its first dip is {value:.3g}, against {worst[same]:.3g} with one step size."
                )
    return notes


def epoch_margin(curve: pd.Series, n_test: int) -> float:
    """The rise and fall an epoch-wise peak needs: 1 point of error, or 3 binomial sds of an error
    measured on n_test samples (at the curve's largest error), whichever is larger; a smaller wiggle
    is the test set's noise (about 0.015 at 1,000 samples and 35 % error)."""
    worst = float(curve.max())
    return max(EPOCH_PEAK_MARGIN, 3 * math.sqrt(max(worst * (1 - worst), 0.0) / max(n_test, 1)))


def epoch_peak(curve: pd.Series, margin: float = EPOCH_PEAK_MARGIN) -> tuple[float, float, float] | None:
    """(dip, peak, end) epochs of a test-error curve that falls, rises by ``margin`` to an inner peak and
    stays down again: the end (the mean of the last fifth of the records) lies ``margin`` under the peak.

    The curve is first smoothed by a running median of 5 records, so the step-to-step noise of SGD
    (several points of error between records of one seed) is not read as a peak. None otherwise."""
    smooth = curve.rolling(5, center=True, min_periods=1).median() if len(curve) >= 10 else curve
    values, epochs = smooth.to_numpy(float), smooth.index.to_numpy(float)
    tail = max(1, len(values) // 5)
    end = float(values[-tail:].mean())
    lows = np.minimum.accumulate(values)  # the lowest error up to each record
    # the peak: the record that stands highest above both the lowest error before it and the end
    height = [min(values[i] - lows[i - 1], values[i] - end) for i in range(1, len(values) - tail)]
    if not height or max(height) < margin:
        return None
    peak = 1 + int(np.argmax(height))
    return float(epochs[int(np.argmin(values[:peak]))]), float(epochs[peak]), float(epochs[-1])


def _memorisation_sentence(final: pd.DataFrame, group: pd.DataFrame, setting: dict) -> str:
    """Random labels (Zhang et al. 2017): train error, test error against chance, epochs against clean labels."""
    widest = group[group["width"] == group["width"].max()]
    text = (
        f"random labels (noise 1.0), width {int(widest['width'].iloc[0])}: "
        f"train error {widest['train_error'].mean():.3g}, "
        f"test error {widest['test_error'].mean():.3g} against chance {widest['chance_error'].iloc[0]:.3g}"
    )
    clean = final[
        (final["label_noise"] == 0.0)
        & (final["model"] == setting["model"])
        & (final["data"] == setting["data"])
        & (final["ridge"] == setting["ridge"])
        & (final["weight_decay"] == setting["weight_decay"])
        & (final["width"] == widest["width"].iloc[0])
    ]
    if len(clean) and widest["epochs_to_interpolate"].notna().any():
        text += (
            f"; median epochs to fit {widest['epochs_to_interpolate'].median():.3g} against "
            f"{clean['epochs_to_interpolate'].median():.3g} with clean labels"
        )
    return text + "."


def _peak_sentence(group: pd.DataFrame, threshold: int | None) -> str:
    """Where the test-loss peak is, and relative to the threshold: per-seed parameter ratios, mean ± sd."""
    peaks = _seed_peaks(group)
    if peaks.empty:
        return "and no test-loss peak inside the sweep (the test loss is highest at an end)." + _error_peak_sentence(
            group
        )
    peak = _peak_width(peaks)
    widest = group[group["width"] == group["width"].max()]["test_loss"].mean()
    at_peak = group[group["width"] == peak]["test_loss"].mean()
    relative = ""
    if threshold is not None:
        params = group.groupby("width")["params"].first()
        ratios = np.array([params[w] / params[threshold] for w in peaks])
        spread = f" ± {ratios.std(ddof=1):.2g}" if len(ratios) > 1 else ""
        relative = f"; peak/threshold parameters {ratios.mean():.3g}{spread} over those seeds"
    seeds = group["seed"].nunique()
    return (
        f"test-loss peak at width {peak} ({(peaks == peak).sum()}/{seeds} seeds{relative}); "
        f"test loss {at_peak:.3g} there vs {widest:.3g} at the widest.{_error_peak_sentence(group)}"
    )


def _error_peak_sentence(group: pd.DataFrame) -> str:
    """The test-error peak, which double-descent papers report (it need not sit at the loss peak)."""
    if group["test_error"].isna().all():
        return ""
    peaks = _seed_bumps(group)
    if peaks.empty:
        return " No test-error peak inside the sweep."
    peak = _peak_width(peaks)
    error = group[group["width"] == peak]["test_error"].mean()
    return (
        f" Test-error peak at width {peak} ({(peaks == peak).sum()}/{group['seed'].nunique()} seeds), "
        f"{error:.2%} there."
    )
