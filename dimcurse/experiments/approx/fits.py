"""The exponent fits of an approx run: alpha in params (and in n, for a learning curve), the limits that
leave a size out, the theory beside each fit, and the run's notes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dimcurse.experiments.approx import bridge
from dimcurse.configs import ApproxConfig as Config
from dimcurse.experiments.approx.fitting import fit_exponent
from dimcurse.nets import ARCHS
from dimcurse.experiments.approx.targets import get_target, is_teacher
from dimcurse.experiments.approx.plan import target_options


ANALYSIS_KEYS = ("target", "inputs", "dim", "teacher_k", "arch", "axis", "fixed")  # the fit table's settings
FIT_KEYS = list(ANALYSIS_KEYS[:5])  # the rows of one exponent: (target, inputs, dim, k, architecture), then the axis
REPLICATE = ["draw", "seed"]  # the replicates an exponent's interval is taken over
MIN_REPLICATES = 5  # below 5 replicates (draws x seeds) the t interval rests on a poorly known spread
ANALYSIS_HIDDEN = ("alpha_theil_sen", "log_c", "id_twonn_lo", "id_twonn_hi")  # in the files, not on screen


MIN_FIT_WIDTHS = 3  # a slope from two points has no interval, and no check of the power law
FITS_TITLE = (
    "exponent fits: rel_rmse ~ size^(-alpha) (size: params, or n on the samples axis), "
    "95 % t interval over draws x seeds"
)


# Diagnostics (docs/references.md, Approximation: leave limited points out of the fit, and say so).
DROP_LIMIT = 0.05  # training loss fell > 5 % over the last fifth of training: still falling
DECREMENT_LIMIT = 0.5  # a Gauss–Newton step still promises to halve the loss: not at a minimum
GAP_LIMIT = 1.5  # test RMSE > 1.5 x train RMSE: the samples, not the width, set the error
PRECISION_ULPS = 10  # train RMSE within 10 eps sqrt(P) of the targets' sd: rounding, not approximation


LIMITS = ("optimisation_limited", "estimation_limited", "precision_limited")


def fit_table(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One fit per (target, dim, k, arch) and axis: alpha in params (at each learning-curve n) and, for a
    learning curve, alpha in n (networks and random features at the best width per n by validation, k-NN
    as it is), each with its interval over draws x seeds, the theory exponent and the inputs' measured ID."""
    out = []
    # A learning curve's rows carry validation errors (drawn for it alone): from the rows, so a store's
    # experiment reads the same as the run that wrote it.
    curve = "val_rmse" in rows and bool(rows["val_rmse"].notna().any())
    for key, group in rows.groupby(FIT_KEYS, sort=False, dropna=False):
        arch = dict(zip(FIT_KEYS, key))["arch"]
        if not (curve and arch == "knn"):
            by_n = group.groupby("n_samples", sort=True) if curve else [(None, group)]
            for n, part in by_n:
                if part.width.nunique() >= MIN_FIT_WIDTHS:
                    out.append(_params_fit(key, part, config, "" if n is None else f"n={int(n)}"))
        if curve and (group.n_samples.nunique() >= MIN_FIT_WIDTHS):
            out.append(_samples_fit(key, group, config))
    return pd.DataFrame(out, columns=FIT_COLUMNS)


def _wide(group: pd.DataFrame, col: str, x: str = "params") -> pd.DataFrame:
    return group.pivot(index=REPLICATE, columns=x, values=col)


def _params_fit(key: tuple, group: pd.DataFrame, config: Config, fixed: str) -> dict:
    test = _wide(group, "rel_rmse")
    limited = {name.replace("_", "-"): _wide(group, name).astype(float).to_numpy() for name in LIMITS if name in group}
    fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), limited=limited)
    return _fit_row(key, "params", fixed, fit, group, config)


# On the sample axis the samples set the error (estimation-limited points stay); a point whose best width is the
# widest of the sweep is width-limited and left out.
SAMPLE_LIMITS = ("optimisation_limited", "precision_limited")


def _samples_fit(key: tuple, group: pd.DataFrame, config: Config) -> dict:
    """alpha in n: k-NN's rows as they are; a trained model's best width per (replicate, n), chosen on the
    validation inputs (never the test ones, whose error is the one fitted)."""
    knn = dict(zip(FIT_KEYS, key))["arch"] == "knn"
    chosen, fixed = (group, "") if knn else (best_width_rows(group), "best width")
    test = _wide(chosen, "rel_rmse", "n_samples")
    limited = {
        name.replace("_", "-"): _wide(chosen, name, "n_samples").astype(float).to_numpy()
        for name in SAMPLE_LIMITS
        if name in chosen
    }
    if not knn:  # the widest width chosen: a wider one might do better, so the size, not n, sets it
        widest = chosen.assign(widest=chosen.width == group.width.max())
        limited["width-limited (the widest was best)"] = _wide(widest, "widest", "n_samples").astype(float).to_numpy()
    fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), limited=limited, size="n")
    return _fit_row(key, "samples", fixed, fit, group, config)


def best_width_rows(group: pd.DataFrame) -> pd.DataFrame:
    """Per (replicate, n), the row of the width with the lowest validation RMSE (a learning curve's model
    choice; the test error is what gets fitted, so it must not choose)."""
    return group.loc[group.groupby([*REPLICATE, "n_samples"]).val_rmse.idxmin().dropna()]


def _ids_of(group: pd.DataFrame) -> dict:
    """The inputs' measured ID of a setting (one value per setting; NaN where none was measured)."""
    return {
        c: float(group[c].dropna().iloc[0]) if c in group and group[c].notna().any() else math.nan
        for c in bridge.ID_COLUMNS
    }


def _theory(key: tuple, axis: str, config: Config, ids: dict):
    """The exponent beside a fit: the measured ID's on data (a file, or --inputs for a teacher), the
    target's own on its cube, the sample-axis rates on a learning curve."""
    target, source, dim, k, arch = key
    k = None if pd.isna(k) else int(k)
    on_data, file = source != "cube", source == "file"
    teacher = not file and is_teacher(target)
    if axis == "samples":
        return bridge.sample_theory(arch, k if teacher else None, int(dim), ids if on_data else {})
    if file or (teacher and on_data) or (on_data and arch == "knn"):
        return bridge.id_theory(arch, ids, k if teacher else None)
    return None if file else get_target(target).theory(int(dim), target_options(config, k), arch)


def _fit_row(key: tuple, axis: str, fixed: str, fit, group: pd.DataFrame, config: Config) -> dict:
    target, inputs_label, dim, k, arch = key
    ids = _ids_of(group)
    theory = _theory(key, axis, config, ids)
    return {
        "target": target,
        "inputs": inputs_label,
        "dim": int(dim),
        "teacher_k": k,
        "arch": arch,
        "axis": axis,
        "fixed": fixed,
        "alpha": fit.alpha,
        "alpha_lo": fit.alpha_lo,
        "alpha_hi": fit.alpha_hi,
        "alpha_theil_sen": fit.alpha_theil_sen,
        "alpha_theory": theory[0] if theory else float("nan"),
        "theory_source": theory[1] if theory else "",
        **ids,
        "k_from_alpha": bridge.k_from_alpha(arch, fit.alpha),
        "n_widths_used": fit.n_used,
        "n_replicates": fit.n_replicates,
        "used_params": ",".join(str(p) for p in fit.used),
        "excluded": fit.excluded,
        "caveat": _caveat(fit, theory),
        "log_c": fit.log_c,
    }


def _caveat(fit, theory) -> str:
    """Plain words for an exponent a reader should not take at face value."""
    words = []
    if fit.n_used >= 3 and fit.n_replicates < MIN_REPLICATES:
        words.append(
            f"interval from {fit.n_replicates} replicate(s) (draws x seeds): its width is poorly known below "
            f"{MIN_REPLICATES} (give more --seeds or --teacher-draws)"
        )
    if theory and np.isfinite(fit.alpha_lo) and fit.alpha_lo > theory[0] + 0.05:
        if (theory[2] if len(theory) > 2 else "prediction") == "bound":
            words.append(f"above the theory's {theory[0]:.3g}, a worst case over the class: this target is easier")
        else:
            words.append(
                f"above the predicted {theory[0]:.3g}: this target is simpler than a generic member of "
                "the class, or the widths are pre-asymptotic"
            )
    if np.isfinite(fit.slope_change) and abs(fit.slope_change) > 0.3:
        words.append(
            f"pre-asymptotic: alpha over the wider half differs by {fit.slope_change:+.2f} from the narrower half"
        )
    return "; ".join(words)


def _notes(table: pd.DataFrame, config: Config) -> list[str]:
    notes = []
    on_data = config.data is not None or config.inputs is not None
    if on_data and len(table) and table["id_twonn"].isna().all():
        notes.append(
            f"no intrinsic dimension: the ID is measured on the training inputs ({int(table.n_samples.max())} "
            f"training rows) and TwoNN with the MLE's {bridge.MLE_K} neighbours needs at least {bridge.MLE_K + 2}; "
            "the fits are shown without the ID's prediction."
        )
    if table["diverged"].any():
        notes.append(
            f"{int(table['diverged'].sum())} model(s) diverged (loss NaN or exploded): flagged, excluded "
            "from means and fits."
        )
    for name, why in (
        (
            "optimisation_limited",
            f"the training loss still fell > {DROP_LIMIT:.0%} over the last fifth, "
            f"or a Gauss–Newton step still promised > {DECREMENT_LIMIT:.0%}: more --steps / --lm-iters",
        ),
        ("estimation_limited", f"test RMSE > {GAP_LIMIT} x train RMSE: more --samples"),
        ("precision_limited", "train error at the float's rounding level: --dtype float64"),
    ):
        count = int(table[name].sum())
        if count:
            notes.append(f"{count} of {len(table)} model(s) {name.replace('_', '-')} ({why}).")
    nets = table[table.arch.isin(list(ARCHS))]
    trainers = nets.groupby("arch", sort=False).optimizer.agg(lambda o: "+".join(sorted(set(o))))
    if trainers.nunique() > 1:
        named = ", ".join(f"{arch}: {opt}" for arch, opt in trainers.items())
        notes.append(
            f"the architectures were trained by different trainers ({named}); to compare architectures, "
            "give them one (--optimizer adam)."
        )
    if config.optimizer == "auto":
        big = table[(table.arch == "shallow") & (table.optimizer == "gn")]
        if len(big):
            notes.append(
                f"--optimizer auto trained {big.width.nunique()} shallow width(s) above --lm-max-params "
                f"{config.lm_max_params} with matrix-free Gauss–Newton (LM's cost grows as params^3)."
            )
    return notes


FIT_COLUMNS = [
    "target",
    "inputs",
    "dim",
    "teacher_k",
    "arch",
    "axis",
    "fixed",
    "alpha",
    "alpha_lo",
    "alpha_hi",
    "alpha_theil_sen",
    "alpha_theory",
    "theory_source",
    *bridge.ID_COLUMNS,
    "k_from_alpha",
    "n_widths_used",
    "n_replicates",
    "used_params",
    "excluded",
    "caveat",
    "log_c",
]
