"""``dimcurse tour``: the whole argument in three steps, with this run's own numbers.

1. Distances concentrate for uniform data as d grows, far less for real data of the same
   ambient dimension (its intrinsic dimension is small).
2. A trained network's error falls with size at a rate that holds up as d grows on a
   Barron-type target, while a fixed basis (random features) loses its rate; on a smooth
   function of k latent coordinates the rate follows k, not d; and a tree-shaped network
   beats a shallow one on a compositional target.
3. Past the interpolation threshold, a model with many more parameters than samples
   generalises again after a peak.

Each step runs a kernel, keeps its rows (with provenance) and its figure, and writes a
sentence whose numbers come from the run. A sentence is only written as a claim when
the run shows the effect; otherwise the report says what was measured instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dimcurse import data, objects, plot
from dimcurse.errors import DimcurseError
from dimcurse.experiments import figure_for
from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.distance import kernel as distance
from dimcurse.experiments.overparam import kernel as overparam
from dimcurse.results import Result, write_atomic, write_result


@dataclass
class Step:
    """One step of the tour: its title, results, figure file and sentences."""

    title: str
    results: list[tuple[str, Result]]
    figure: str
    sentences: list[str] = field(default_factory=list)


# One object moved in x and y (K = 2), measured at 32 x 32 x 3 = 3,072 values and shown at ImageNet's input size
# (224 x 224 x 3 = 150,528 values): measured at 150,528 the distance step alone took 5 min and 16.5 GB with 1,000
# points (2026-12-07, docs/data.md), too much for a tour.
IMAGES = "objects:2:32"
IMAGES_SHOWN = "objects:2:224"
IMAGES_K = 2


def configs(quick: bool) -> dict:
    """The kernels' settings: the full tour (2 min 29 s on 2 cores, 2026-12-07)
    or ``--quick`` (33 s on 2 cores, 2026-12-07)."""
    if quick:
        return {
            "distance": distance.Config(
                dims=(2, 10, 100, 1000), n_points=2000, n_queries=100, id_points=0, seeds=(0, 1)
            ),
            "real": distance.Config(data="digits", n_points=1000, n_queries=100, id_points=500, seeds=(0,)),
            "images": distance.Config(data=IMAGES, n_points=1000, n_queries=100, id_points=1000, seeds=(0,)),
            # Levenberg–Marquardt on 8 samples per parameter (approx's defaults), fewer iterations.
            "barron": approx.Config(
                targets=("barron",),
                dims=(2, 16),
                widths=(4, 8, 16, 32),
                lm_iters=120,
                n_test=1000,
                seeds=(0, 1, 2, 3, 4),  # 5 replicates: a t interval over 2 seeds spans +-12.7 sd
                baselines=("random-features",),
            ),
            # the bump teacher at k = 2 and 4 in d = 8: one seed x 3 draws (LM, approx's defaults otherwise)
            "teacher": approx.Config(
                targets=("teacher",), dims=(8,), teacher_k=(2, 4), widths=(4, 8, 16, 32), n_test=1000, seeds=(0,)
            ),
            # width 8 per tree node and width 23 in one hidden layer both have 231 parameters; one trainer for both
            "tree": approx.Config(
                targets=("product",),
                dims=(8,),
                archs=("shallow", "tree"),
                widths=(8, 23),
                steps=600,
                n_samples=1000,
                n_test=500,
                seeds=(0, 1),
                optimizer="adam",
            ),
            "overparam": overparam.Config(
                data="digits",
                widths=(25, 50, 80, 95, 100, 105, 120, 200, 500, 2000),
                n_train=100,
                n_test=400,
                label_noise=(0.2,),
                ridge=(0.0, 0.1),
                seeds=(0, 1),
            ),
        }
    return {
        "distance": distance.Config(dims=(2, 10, 100, 1000), seeds=(0, 1, 2), id_points=0),
        "real": distance.Config(data="digits", seeds=(0, 1, 2)),
        "images": distance.Config(data=IMAGES, n_points=2000, n_queries=200, id_points=2000, seeds=(0,)),
        "barron": approx.Config(
            targets=("barron",),
            dims=(2, 32),
            widths=(4, 8, 16, 32),
            lm_iters=100,
            seeds=(0, 1, 2, 3, 4),
            baselines=("random-features",),
        ),
        "teacher": approx.Config(
            targets=("teacher",), dims=(4, 16), teacher_k=(2, 4), widths=(4, 8, 16, 32), seeds=(0, 1)
        ),
        "tree": approx.Config(
            targets=("product",),
            dims=(8,),
            archs=("shallow", "tree"),
            widths=(4, 8, 12, 23),
            steps=1500,
            seeds=(0, 1, 2),
            optimizer="adam",
        ),
        "overparam": overparam.Config(
            data="digits",
            widths=(50, 100, 150, 190, 200, 210, 250, 400, 1000, 4000),
            n_train=200,
            n_test=500,
            label_noise=(0.2,),
            ridge=(0.0, 0.1),
            seeds=(0, 1, 2),
        ),
    }


# --------------------------------------------------------------------------- sentences


def distance_sentences(uniform: pd.DataFrame, real: pd.DataFrame) -> list[str]:
    out = []
    contrast = uniform[uniform.metric == "l2"].groupby("dim").relative_contrast.mean()
    lo, hi = contrast.index.min(), contrast.index.max()
    if contrast[hi] < contrast[lo] and contrast.is_monotonic_decreasing:
        out.append(
            f"For uniform points, the relative contrast between the farthest and the nearest neighbour fell "
            f"from {contrast[lo]:.3g} at d = {lo} to {contrast[hi]:.3g} at d = {hi}: in high dimension the "
            f"nearest point is barely nearer than the farthest."
        )
    else:
        out.append(
            f"The relative contrast did not fall steadily with d in this run ({_listing(contrast)}); "
            f"no concentration claim is made."
        )
    data_name, r, g = _beside_gaussian(real)
    d = int(r.dim)
    if r.contrast > g.contrast:
        out.append(
            f"Real data concentrates far less: {data_name} ({d} dimensions) kept a relative contrast of "
            f"{r.contrast:.3g} against {g.contrast:.3g} for a Gaussian of the same dimension, and its TwoNN "
            f"intrinsic dimension is {r.twonn:.2g}, not {d}."
        )
    else:
        out.append(
            f"In this run {data_name} did not keep more contrast than a {d}-dimensional Gaussian "
            f"({r.contrast:.3g} vs {g.contrast:.3g})."
        )
    return out


def _beside_gaussian(rows: pd.DataFrame) -> tuple[str, pd.Series, pd.Series]:
    """A real set's distance rows: its name, its means (contrast, twonn, dim) and the isotropic Gaussian's
    beside it (the first set named gaussian: "gaussian" sorts before "gaussian-cov")."""
    means = {"contrast": ("relative_contrast", "mean"), "twonn": ("twonn_id", "mean")}
    sets = rows.groupby("dist").agg(**means, **({"dim": ("dim", "first")} if "dim" in rows else {}))
    name = next(n for n in sets.index if not str(n).startswith("gaussian"))
    gauss = next(n for n in sets.index if str(n).startswith("gaussian"))
    return name, sets.loc[name], sets.loc[gauss]


def images_sentences(images: pd.DataFrame) -> list[str]:
    """The generated images at ImageNet's input size against a Gaussian of as many dimensions."""
    name, r, g = _beside_gaussian(images)
    near = abs(r.twonn / IMAGES_K - 1) <= 0.15
    found = f"TwoNN finds {r.twonn:.2g}" + (f", near K = {IMAGES_K}" if near else f", not K = {IMAGES_K}")
    kept = "kept" if r.contrast > g.contrast else "did not keep more than"
    k, res, _ = data.objects_spec(IMAGES)
    return [
        f"Images of one object moved by K = {IMAGES_K} random factors ({name}, {3 * res * res:,} values; the "
        f"figure shows the same object at ImageNet's 224 x 224 x 3 = 150,528): {found}; their relative contrast "
        f"{kept} {r.contrast:.3g} against {g.contrast:.3g} for a Gaussian of the same dimension."
    ]


def save_examples(path: Path, spec: str = IMAGES_SHOWN, count: int = 4) -> None:
    """A row of the set's first images, as the eye sees them."""
    k, res, _ = data.objects_spec(spec)
    images = objects.render(objects.factors(count, k, seed=0), res).reshape(count, 3, res, res)
    fig, axes = plot.pyplot().subplots(1, count, figsize=(2.2 * count, 2.4))
    for ax, image in zip(axes, images):
        ax.imshow(np.clip(image.transpose(1, 2, 0) / image.max(), 0, 1))
        ax.set_axis_off()
    fig.suptitle(f"{spec}: {3 * res * res:,} values, intrinsic dimension {k}")
    plot.save(fig, str(path))


def approx_sentences(barron: Result, tree: pd.DataFrame) -> list[str]:
    out = []
    fits = barron.fits.set_index(["arch", "dim"])
    dims = sorted(barron.fits.dim.unique())
    lo, hi = dims[0], dims[-1]

    def get(arch, dim):
        return fits.alpha.get((arch, dim), np.nan)

    net, rf = (get("shallow", lo), get("shallow", hi)), (get("random-features", lo), get("random-features", hi))

    def said(arch, dim):
        return _alpha(fits, arch, dim)

    if np.all(np.isfinite(net + rf)) and net[1] > 0.1 and rf[1] < net[1] / 2 and (net[0] - net[1]) < (rf[0] - rf[1]):
        out.append(
            f"On the Barron target, the trained network's error fell like params^-alpha with alpha = "
            f"{said('shallow', lo)} at d = {lo} and still {said('shallow', hi)} at d = {hi} (Barron's rate is "
            f"1/2 in any d), while random features, a fixed basis, went from {said('random-features', lo)} to "
            f"{said('random-features', hi)}: in {hi} dimensions the fixed basis hardly improves with size, the "
            "trained network still does (95 % t intervals over seeds)."
        )
    else:
        out.append(
            f"The exponents of this run (network {said('shallow', lo)} -> {said('shallow', hi)}, random features "
            f"{said('random-features', lo)} -> {said('random-features', hi)} from d = {lo} to {hi}) do not show "
            "the network keeping its rate better; no claim is made."
        )
    by = tree.groupby(["arch", "params"]).rel_rmse.mean()
    shallow, deep = by["shallow"], by["tree"]
    # Compare the largest tree that some shallow network matches or exceeds in parameters (fair to the shallow one).
    budget = max(p for p in deep.index if p <= shallow.index.max())
    near = min(p for p in shallow.index if p >= budget)
    if deep[budget] < shallow[near]:
        out.append(
            f"On the compositional product target (d = 8), the tree-shaped network with {budget} parameters "
            f"reached a relative error of {deep[budget]:.3g}; a shallow network with at least as many parameters "
            f"({near}) "
            f"reached only {shallow[near]:.3g}."
        )
    else:
        out.append(
            f"In this run the tree ({budget} parameters, error {deep[budget]:.3g}) did not beat the shallow "
            f"network with {near} parameters ({shallow[near]:.3g}); no claim is made."
        )
    return out


def teacher_sentences(teacher: Result) -> list[str]:
    """alpha against the teacher's intrinsic dimension k, at each d: a claim only when it falls with k as 2/k
    does (k = 2's exponent at least 1.4 times k = 4's at every d, each within 35 % of 2/k)."""
    fits = teacher.analysis
    if fits is None or fits.alpha.isna().any():
        return ["The teacher's exponents could not all be fitted in this run (see its rows); no claim is made."]
    by = fits.set_index(["dim", "teacher_k"])
    dims, ks = sorted(fits.dim.unique()), sorted(fits.teacher_k.unique())
    lo, hi = ks[0], ks[-1]
    ratios = [by.alpha[(d, lo)] / by.alpha[(d, hi)] for d in dims]
    near = all(abs(r.alpha / (2 / r.teacher_k) - 1) < 0.35 for r in fits.itertuples())

    def said(d, k):
        row = by.loc[(d, k)]
        return f"{row.alpha:.3g} [{row.alpha_lo:.3g}, {row.alpha_hi:.3g}]"

    listing = "; ".join(f"d = {d}: {said(d, lo)} for k = {lo:g}, {said(d, hi)} for k = {hi:g}" for d in dims)
    if near and min(ratios) >= 1.4:
        ambient = "whatever the ambient d" if len(dims) > 1 else f"in {dims[0]} ambient dimensions"
        return [
            "On a smooth function of k latent coordinates (a sum of many radial bumps of z = R^T x), the exponent "
            f"followed k as Sharma & Kaplan's 2/k predicts, {ambient} ({listing}; 2/k = "
            f"{2 / lo:.3g} and {2 / hi:.3g}): the rate is set by the intrinsic dimension, not the ambient one."
        ]
    return [f"The teacher's exponents ({listing}) do not follow 2/k closely in this run; no claim is made."]


def overparam_sentences(result: Result) -> list[str]:
    rows = result.rows
    clean = rows[rows.ridge == 0].groupby("width").agg(loss=("test_loss", "mean"), pps=("params_per_sample", "first"))
    n = int(rows.n_train.iloc[0])
    peak = clean.loss.idxmax()
    widest = clean.index.max()
    inside = clean.index.min() < peak < widest
    out = []
    if inside and clean.loss[peak] > 3 * clean.loss[widest]:
        out.append(
            f"Random ReLU features on {n} digit images (20 % of labels randomised): the test loss peaked at "
            f"{clean.loss[peak]:.3g} with {peak} features (about n = {n}, where the model can just fit the "
            f"training set) and fell again to {clean.loss[widest]:.3g} with {widest} features, "
            f"{widest / n:.0f} times more than samples: many more parameters than samples, and it generalises "
            f"better than at the threshold."
        )
    else:
        out.append(
            f"The test loss of this run did not show a clear peak inside the sweep (highest at {peak} features: "
            f"{clean.loss[peak]:.3g}; at {widest}: {clean.loss[widest]:.3g}); no double-descent claim is made."
        )
    ridged = rows[rows.ridge > 0]
    if len(ridged):
        ridge = ridged.ridge.iloc[0]
        top = ridged.groupby("width").test_loss.mean().max()
        if top < clean.loss[peak]:
            out.append(
                f"With a ridge of {ridge:g} the worst test loss along the sweep was {top:.3g} instead of "
                f"{clean.loss[peak]:.3g}: regularisation removes the peak."
            )
    return out


def _alpha(fits: pd.DataFrame, arch: str, dim: int) -> str:
    """``0.64 [0.55, 0.71]``: an exponent with its 95 % interval, as the fit table has it."""
    if (arch, dim) not in fits.index:
        return "n/a"
    row = fits.loc[(arch, dim)]
    if not np.isfinite(row.alpha):
        return "n/a"
    return f"{row.alpha:.3g} [{row.alpha_lo:.3g}, {row.alpha_hi:.3g}]"  # 3 digits: a fixed basis's ~0.003 is not 0.00


def _listing(series: pd.Series) -> str:
    return ", ".join(f"d = {k}: {v:.3g}" for k, v in series.items())


# --------------------------------------------------------------------------- run


def run(out: str | Path, quick: bool = False, device: str = "cpu", say: Callable[[str], None] = print) -> Path:
    """Run the three steps, write their results, figures and ``report.md`` to ``out``; returns the report path."""
    folder = Path(out).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DimcurseError(f"cannot make {str(folder)!r}: {exc.strerror}", "--out") from None
    plot.pyplot()
    cfg = configs(quick)
    steps = []

    say("1/3 distances: uniform data in 2 ... 1000 dimensions, and real data and images against a Gaussian")
    uniform, real = distance.run(cfg["distance"], device), distance.run(cfg["real"], device)
    images = distance.run(cfg["images"], device)
    step = Step(
        "Distances concentrate — real data much less",
        [("distance-uniform", uniform), ("distance-digits", real), ("distance-objects", images)],
        "distance.png",
        distance_sentences(uniform.rows, real.rows) + images_sentences(images.rows),
    )
    plot.save(figure_for(uniform), str(folder / step.figure))
    plot.save(figure_for(real), str(folder / "distance-digits.png"))
    save_examples(folder / "objects.png")
    plot.save(figure_for(images), str(folder / "distance-objects.png"))
    steps.append(step)

    say(
        "2/3 approximation: a Barron target in low and high d, a teacher of intrinsic dimension k, "
        "a compositional target"
    )
    barron, tree = approx.run(cfg["barron"], device), approx.run(cfg["tree"], device)
    teacher = approx.run(cfg["teacher"], device)
    step = Step(
        "Networks keep their rate, set by the intrinsic dimension; a tree beats a shallow net on a tree-shaped target",
        [("approx-barron", barron), ("approx-teacher", teacher), ("approx-tree", tree)],
        "approx.png",
        approx_sentences(barron, tree.rows) + teacher_sentences(teacher),
    )
    plot.save(figure_for(barron), str(folder / step.figure))
    plot.save(figure_for(teacher), str(folder / "approx-teacher.png"))
    plot.save(figure_for(tree), str(folder / "approx-tree.png"))
    steps.append(step)

    say("3/3 overparameterisation: random features across the interpolation threshold")
    dd = overparam.run(cfg["overparam"], device)
    step = Step(
        "More parameters than samples, and still generalising",
        [("overparam", dd)],
        "overparam.png",
        overparam_sentences(dd),
    )
    plot.save(figure_for(dd), str(folder / step.figure))
    steps.append(step)

    for step in steps:
        for name, result in step.results:
            write_result(result, str(folder / f"{name}.csv"))
    report = folder / "report.md"
    write_atomic(report, _markdown(steps, quick))
    for step in steps:
        for sentence in step.sentences:
            say(f"- {sentence}")
    return report


EXTRA_FIGURES = {
    "distance.png": ["distance-digits.png", "objects.png", "distance-objects.png"],
    "approx.png": ["approx-teacher.png", "approx-tree.png"],
}


def _markdown(steps: list[Step], quick: bool) -> str:
    lines = [
        "# Why neural networks do not care about the curse of dimensionality",
        "",
        f"A {'quick ' if quick else ''}tour by dimcurse; every number below comes from this run. Raw rows: the "
        "`.csv` files here, each with its `.provenance.json`.",
        "",
    ]
    for i, step in enumerate(steps, 1):
        lines += [f"## {i}. {step.title}", ""]
        lines += [f"- {s}" for s in step.sentences] + [""]
        lines += [f"![{step.title}]({step.figure})", ""]
        for extra in EXTRA_FIGURES.get(step.figure, []):
            lines += [f"![{step.title} ({extra.removesuffix('.png')})]({extra})", ""]
        for name, result in step.results:
            lines += [
                f"`{name}.csv` — {len(result.rows)} rows, "
                f"kernel {result.kernel} v{result.provenance['kernel_version']}",
                "",
            ]
    return "\n".join(lines)
