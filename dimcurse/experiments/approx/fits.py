"""The exponent fits of an approx run: alpha in params (and in n, for a learning curve), the limits that
leave a size out, the theory beside each fit, and the run's notes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dimcurse.experiments.approx import bridge
from dimcurse.configs import ApproxConfig as Config
from dimcurse.experiments.approx.fitting import fit_exponent
from dimcurse.experiments.approx.networks import ARCHS
from dimcurse.experiments.approx.targets import get_target, is_teacher
from dimcurse.experiments.approx.plan import target_options, trainer_cap
from dimcurse.experiments.approx.verdict import DEFAULT_TOLERANCE, verdict


ANALYSIS_KEYS = ("target", "inputs", "dim", "teacher_k", "arch", "axis", "fixed")  # the fit table's settings
FIT_KEYS = list(ANALYSIS_KEYS[:5])  # the rows of one exponent: (target, inputs, dim, k, architecture), then the axis
REPLICATE = ["draw", "seed"]  # the replicates an exponent's interval is taken over
MIN_REPLICATES = 5  # below 5 replicates (draws x seeds) the t interval rests on a poorly known spread
# In the files, not on screen.
ANALYSIS_HIDDEN = ("alpha_theil_sen", "log_c", "twonn_id_lo", "twonn_id_hi", "theory_kind")


MIN_FIT_WIDTHS = 3  # a slope from two points has no interval, and no check of the power law
FITS_TITLE = (
    "exponent fits: rel_rmse ~ size^(-alpha) (size: params, or n on the samples axis), "
    "95 % t interval over draws x seeds"
)


# Diagnostics (docs/references.md, Approximation: leave limited points out of the fit, and say so).
DECREMENT_LIMIT = 0.5  # a Gauss–Newton step still promises to halve the loss: not at a minimum
GAP_LIMIT = 1.5  # test RMSE > 1.5 x train RMSE: the samples, not the width, set the error
PRECISION_ULPS = 10  # train RMSE within 10 eps sqrt(P) of the targets' sd: rounding, not approximation


LIMITS = ("optimisation_limited", "estimation_limited", "precision_limited")
CAP_OPTION = {"lm": "--lm-iters", "adam+lm": "--lm-iters", "gn": "--gn-iters", "adam": "--steps", "lbfgs": "--steps"}


def fit_table(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One fit per (target, dim, k, arch) and axis: alpha in params (at each learning-curve n) and, for a
    learning curve, alpha in n (networks and random features at the best width per n by validation, k-NN
    as it is), each with its interval over draws x seeds, the theory exponent, its verdict and the inputs'
    measured ID."""
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


def cap_words(rows: pd.DataFrame, config: Config | None) -> str:
    """The trainers' caps the limited rows stopped at, and the options that raise them: "stopped at --lm-iters
    200 with the test error still moving more than its seed spread (more --lm-iters)"."""
    used = sorted({o for o in rows.get("optimizer", ()) if o in CAP_OPTION})
    if not used:
        return "more training"
    caps = ", ".join(dict.fromkeys(f"{CAP_OPTION[o]} {trainer_cap(config, o)}" for o in used))
    options = " / ".join(dict.fromkeys(CAP_OPTION[o] for o in used))
    return f"stopped at {caps} with the test error still moving more than its seed spread: more {options}"


def _remedies(group: pd.DataFrame, config: Config | None) -> dict:
    """What to do about each limit, in the words of the excluded column."""
    limited = group[group.optimisation_limited.astype(bool)] if "optimisation_limited" in group else group[:0]
    on_file = config is not None and config.data is not None
    return {
        "optimisation-limited": cap_words(limited, config),
        "estimation-limited": "narrower --widths: fewer parameters per row" if on_file else "more --samples",
        "precision-limited": "--dtype float64",
    }


def _limits(chosen: pd.DataFrame, names, x: str) -> dict:
    return {name.replace("_", "-"): _wide(chosen, name, x).astype(float).to_numpy() for name in names if name in chosen}


def _params_fit(key: tuple, group: pd.DataFrame, config: Config, fixed: str) -> dict:
    test = _wide(group, "rel_rmse")
    limited = _limits(group, LIMITS, "params")
    fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), limited=limited, remedies=_remedies(group, config))
    return _fit_row(key, "params", fixed, fit, group, config, marked=_marked(group, fit.used, "params"))


# On the sample axis the samples set the error (estimation-limited points stay); a point whose best width is the
# widest of the sweep is width-limited and left out.
SAMPLE_LIMITS = ("optimisation_limited", "precision_limited")
WIDTH_LIMITED = "width-limited (the widest was best)"


def _samples_fit(key: tuple, group: pd.DataFrame, config: Config) -> dict:
    """alpha in n: k-NN's rows as they are; a trained model's best width per (replicate, n), chosen on the
    validation inputs (never the test ones, whose error is the one fitted)."""
    knn = dict(zip(FIT_KEYS, key))["arch"] == "knn"
    chosen, fixed = (group, "") if knn else (best_width_rows(group), "best width")
    test = _wide(chosen, "rel_rmse", "n_samples")
    limited = _limits(chosen, SAMPLE_LIMITS, "n_samples")
    remedies = _remedies(chosen, config)
    if not knn:  # the widest width of that n chosen: a wider one might do better, so the size, not n, sets it
        limited[WIDTH_LIMITED] = _wide(widest_chosen(group), "widest", "n_samples").astype(float).to_numpy()
        remedies[WIDTH_LIMITED] = "wider --widths"
    fit = fit_exponent(test.columns.to_numpy(), test.to_numpy(), limited=limited, size="n", remedies=remedies)
    return _fit_row(key, "samples", fixed, fit, group, config, marked=_marked(chosen, fit.used, "n_samples"))


def best_width_rows(group: pd.DataFrame) -> pd.DataFrame:
    """Per (replicate, n), the row of the width with the lowest validation RMSE (a learning curve's model
    choice; the test error is what gets fitted, so it must not choose)."""
    return group.loc[group.groupby([*REPLICATE, "n_samples"]).val_rmse.idxmin().dropna()]


def widest_chosen(group: pd.DataFrame) -> pd.DataFrame:
    """best_width_rows with a column ``widest``: the chosen width is the widest trained at that n."""
    chosen = best_width_rows(group)
    return chosen.assign(widest=chosen.width == chosen.n_samples.map(group.groupby("n_samples").width.max()))


def _marked(rows: pd.DataFrame, used: tuple, x: str) -> str:
    """The sizes a fit kept although some replicates did not converge: those that stopped at their cap with
    the test error within the seed spread, and a minority that was optimisation-limited."""
    if "converged" not in rows:
        return ""
    words = []
    for size in used:
        at = rows[(rows[x] == size) & ~rows.diverged.astype(bool)]
        limited = int(at.optimisation_limited.astype(bool).sum())
        short = int((~at.converged.astype(bool)).sum()) - limited
        parts = [f"{short} of {len(at)} stopped at the cap within the seed spread"] if short else []
        parts += [f"{limited} of {len(at)} optimisation-limited"] if limited else []
        if parts:
            words.append(f"{'n' if x == 'n_samples' else 'params'} {size}: {', '.join(parts)}")
    return "; ".join(words)


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


def _fit_row(key: tuple, axis: str, fixed: str, fit, group: pd.DataFrame, config: Config, *, marked: str = "") -> dict:
    target, inputs_label, dim, k, arch = key
    ids = _ids_of(group)
    theory = _theory(key, axis, config, ids)
    kind = (theory[2] if len(theory) > 2 else "prediction") if theory else ""
    alpha_theory = theory[0] if theory else math.nan
    k_hat, k_words = _k_from_alpha(key, fit.alpha, ids)
    tolerance = getattr(config, "verdict_tolerance", DEFAULT_TOLERANCE) if config is not None else DEFAULT_TOLERANCE
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
        "alpha_theory": alpha_theory,
        "verdict": verdict(fit.alpha_lo, fit.alpha_hi, alpha_theory, kind, tolerance),
        "theory_source": theory[1] if theory else "",
        "theory_kind": kind,
        **ids,
        "k_from_alpha": k_hat,
        "n_widths_used": fit.n_used,
        "n_replicates": fit.n_replicates,
        "used_params": ",".join(str(p) for p in fit.used),
        "excluded": fit.excluded,
        "marked": marked,
        "caveat": "; ".join(w for w in (_caveat(fit, theory, per_param=_per_param(axis, config)), k_words) if w),
        "log_c": fit.log_c,
    }


def _k_from_alpha(key: tuple, alpha: float, ids: dict) -> tuple[float, str]:
    """The dimension the exponent implies (2/alpha for networks, 1/alpha for k-NN), blank where it means
    nothing: a target on its cube with no intrinsic dimension (not a teacher), or a value above the inputs'
    dimension d (no k of d inputs has so low a rate); the second are words for the caveat."""
    target, source, dim, _, arch = key
    value = bridge.k_from_alpha(arch, alpha)
    if source == "cube" and not is_teacher(target) and not np.isfinite(ids.get("twonn_id", math.nan)):
        return math.nan, ""
    if np.isfinite(value) and value > int(dim):
        scale = "1/alpha" if arch == "knn" else "2/alpha"
        return math.nan, f"k from alpha left blank: {scale} = {value:.3g} exceeds d = {int(dim)}"
    return value, ""


# A wider half flatter than the narrower: on the teacher at d = 32 (k = 2) the samples were the limit, not the
# iterations (docs/approx.md, "the d = 32 gap": 8 -> 32 samples per parameter moved alpha from 0.72 to 0.90).
FLATTER = " (samples can bend it: more --samples-per-param, e.g. 32, tests that)"


def _per_param(axis: str, config: Config | None) -> bool:
    """Whether a fit's samples were drawn per parameter (--samples-per-param): a target's fit over params without
    --samples; a data file's rows are what they are."""
    return axis == "params" and config is not None and config.data is None and config.n_samples is None


def _caveat(fit, theory, *, per_param: bool = True) -> str:
    """Plain words for an exponent a reader should not take at face value (``per_param``: the samples were
    drawn per parameter, so more of them per parameter is a remedy to name)."""
    words = []
    if fit.n_used >= 3 and fit.n_replicates < MIN_REPLICATES:
        words.append(
            f"interval from {fit.n_replicates} replicate(s) (draws x seeds): its width is poorly known below "
            f"{MIN_REPLICATES} (give more --seeds or --teacher-draws)"
        )
    if theory and np.isfinite(fit.alpha_lo) and fit.alpha_lo > theory[0] + 0.05:
        kind = theory[2] if len(theory) > 2 else "prediction"
        if kind in ("bound", "ceiling"):
            words.append(f"above the theory's {theory[0]:.3g}, a worst case over the class: this target is easier")
        else:
            words.append(
                f"above the predicted {theory[0]:.3g}: this target is simpler than a generic member of "
                "the class, or the widths are pre-asymptotic"
            )
    if np.isfinite(fit.slope_change) and abs(fit.slope_change) > 0.3:
        words.append(
            f"pre-asymptotic: alpha over the wider half differs by {fit.slope_change:+.2f} from the narrower half"
            + (FLATTER if fit.slope_change < 0 and per_param else "")
        )
    return "; ".join(words)


def notes(table: pd.DataFrame, config: Config) -> list[str]:
    """The run's notes on its rows (every kernel's notes function has this name): no ID measured, diverged
    models, the convergence summary, the limits' counts."""
    out = []
    on_data = config.data is not None or config.inputs is not None
    if on_data and len(table) and table["twonn_id"].isna().all():
        out.append(
            f"no intrinsic dimension: the ID is measured on the training inputs ({int(table.n_samples.max())} "
            f"training rows) and TwoNN with the MLE's {bridge.MLE_K} neighbours needs at least {bridge.MLE_K + 2}; "
            "the fits are shown without the ID's prediction."
        )
    if table["diverged"].any():
        out.append(
            f"{int(table['diverged'].sum())} model(s) diverged (loss NaN or exploded): flagged, excluded "
            "from means and fits."
        )
    nets = table[table.arch.isin(list(ARCHS)) & ~table.diverged.astype(bool)]
    if len(nets):
        out.append(convergence_note(nets, config))
    for name, why in (
        (
            "estimation_limited",
            f"test RMSE > {GAP_LIMIT} x train RMSE: {_remedies(table, config)['estimation-limited']}",
        ),
        ("precision_limited", "train error at the float's rounding level: --dtype float64"),
    ):
        count = int(table[name].sum())
        if count:
            out.append(f"{count} of {len(table)} model(s) {name.replace('_', '-')} ({why}).")
    trainers = nets.groupby("arch", sort=False).optimizer.agg(lambda o: "+".join(sorted(set(o))))
    if trainers.nunique() > 1:
        named = ", ".join(f"{arch}: {opt}" for arch, opt in trainers.items())
        out.append(
            f"the architectures were trained by different trainers ({named}); to compare architectures, "
            "give them one (--optimizer adam)."
        )
    if config.optimizer == "auto":
        big = table[(table.arch == "shallow") & (table.optimizer == "gn")]
        if len(big):
            out.append(
                f"--optimizer auto trained {big.width.nunique()} shallow width(s) above --lm-max-params "
                f"{config.lm_max_params} with matrix-free Gauss–Newton (LM's cost grows as params^3)."
            )
    return out


def convergence_note(nets: pd.DataFrame, config: Config | None) -> str:
    """How the trained models ended: converged, stopped at the cap within the seed spread (kept, marked in the
    fits), or optimisation-limited (with the option that raises the cap)."""
    total = len(nets)
    converged = int(nets.converged.astype(bool).sum())
    limited = nets[nets.optimisation_limited.astype(bool)]
    short = total - converged - len(limited)
    words = [f"{converged} of {total} model(s) converged before their cap (training MSE fell < 2 % over the "
             "last fifth of their iterations)"]  # fmt: skip
    if short:
        words.append(f"{short} stopped at the cap with the test error within their width's seed spread (kept, "
                     "marked in the fits)")  # fmt: skip
    if len(limited):
        words.append(f"{len(limited)} optimisation-limited ({cap_words(limited, config)})")
    return "convergence: " + "; ".join(words) + "."


def verdict_notes(fits: pd.DataFrame) -> list[str]:
    """A note for every bridge fit (the ID's prediction), and one for every other fit that disagrees."""
    out = []
    for fit in fits.to_dict("records"):
        if "ID" in str(fit.get("theory_source", "")):
            words = bridge.agreement(fit)
        elif fit.get("verdict") == "disagrees":
            words = _disagreement(fit)
        else:
            words = None
        if words:
            out.append(words)
    return out


def _disagreement(fit: dict) -> str:
    measured = f"alpha {fit['alpha']:.3g} [{fit['alpha_lo']:.3g}, {fit['alpha_hi']:.3g}]"
    source = str(fit.get("theory_source", "")).split(":")[0]
    theory = f"the theory's {fit['alpha_theory']:.3g} ({source}, a {fit.get('theory_kind') or 'prediction'})"
    if fit["alpha_hi"] < fit["alpha_theory"]:
        why = (
            "below it: an unconverged fit, too few samples, widths short of the asymptote, or a target less smooth "
            "than the class assumes"
        )
    else:
        why = "above it: a target simpler than a generic member of its class, or pre-asymptotic sizes"
    return f"{bridge.setting_words(fit, with_k=True)}: {measured} disagrees with {theory}; {why}."


# The fit table's contract, one line per column and in the table's order (docs/approx.md's generated table).
FIT_COLUMN_DOCS = {
    "target": "the target function (or the --data file's stem)",
    "inputs": "cube, the --inputs set, or file",
    "dim": "input dimension d",
    "teacher_k": "the teacher's k (empty for other targets)",
    "arch": "the architecture or baseline fitted",
    "axis": "params (alpha in the parameter count) or samples (alpha in n, a learning curve)",
    "fixed": "what is held fixed: n=... for a params fit of a learning curve; best width for a samples fit",
    "alpha": "the exponent: least squares of log median rel_rmse on log size over the sizes used",
    "alpha_lo": "lower end of the 95 % t interval over replicates (draws x seeds) of their own slopes",
    "alpha_hi": "upper end of that interval",
    "alpha_theil_sen": "Theil-Sen slope of the same medians (robust to one bad size)",
    "alpha_theory": "the theory's exponent (its kind: theory_kind; its source: theory_source)",
    "verdict": "agrees, disagrees, inconclusive or no theory: the interval against alpha_theory (the verdict, below)",
    "theory_source": "where alpha_theory comes from (with the measured ID on data)",
    "theory_kind": "prediction (a scaling law), bound (a worst case a target may beat) or ceiling (cannot beat)",
    "twonn_id": "TwoNN ID of the training inputs (on data)",
    "twonn_id_lo": "lower end of its 95 % sampling interval",
    "twonn_id_hi": "upper end of its 95 % sampling interval",
    "mle_id": "Levina-Bickel MLE ID of the same inputs",
    "k_from_alpha": (
        "the dimension alpha implies: 2/alpha for networks, 1/alpha for k-NN; blank for a target on its cube "
        "without one (not a teacher) and above d (the caveat says so)"
    ),
    "n_widths_used": "sizes the fit used",
    "n_replicates": "replicates whose slopes made the interval",
    "used_params": "the sizes used (params, or n on the samples axis)",
    "excluded": "the sizes left out, why, and what to do",
    "marked": "sizes kept although some replicates stopped at their cap (within the seed spread) or a minority "
    "was limited",
    "caveat": "plain words for an exponent not to take at face value",
    "log_c": "intercept: median rel_rmse ~ exp(log_c) size^(-alpha) (draws the fitted line)",
}
FIT_COLUMNS = list(FIT_COLUMN_DOCS)
