"""The distance kernel end to end: closed forms, the shape of the curse, real data, determinism."""

import math

import numpy as np
import pandas as pd
import pytest

from dimcurse.errors import DimcurseError
from dimcurse.experiments.distance import kernel as distance
from helpers import pick_one


def _run(**overrides):
    base = dict(seeds=(0,), n_points=5000, n_queries=200, id_points=0)
    return distance.run(distance.Config(**{**base, **overrides})).rows


def _one(rows, **where):
    return pick_one(rows, **where)


@pytest.mark.slow
def test_power_moments_match_closed_forms():
    # 200 queries x 5000 points, seed 0. The pooled mean has an sd of ~0.5 % (query effects),
    # the pooled variance ~2 %: tolerances 2 % and 6 %.
    rows = _run(dims=(100,), dists=("uniform", "gaussian"), metrics=("l2", "l1", "lp:0.5"))
    for _, row in rows.iterrows():
        assert row.mean_pow_dist == pytest.approx(row.theory_mean_pow_dist, rel=0.02), (row.dist, row.metric)
        assert row.var_pow_dist == pytest.approx(row.theory_var_pow_dist, rel=0.06), (row.dist, row.metric)
    uniform = _one(rows, dist="uniform", metric="l2")
    assert uniform.theory_mean_pow_dist == pytest.approx(100 / 6) and uniform.theory_var_pow_dist == pytest.approx(
        700 / 180
    )
    gaussian = _one(rows, dist="gaussian", metric="l2")
    assert gaussian.theory_mean_pow_dist == pytest.approx(200) and gaussian.theory_var_pow_dist == pytest.approx(800)
    assert gaussian.mean_dist == pytest.approx(gaussian.theory_mean_dist, rel=0.01)


def test_sphere_inner_product_variance_is_one_over_d():
    # cosine distance = 1 - <x, y> on the sphere: mean 1, variance 1/d (6 %).
    row = _one(_run(dims=(200,), dists=("sphere",), metrics=("cosine",)))
    assert row.mean_pow_dist == pytest.approx(1.0, abs=0.01)
    assert row.var_pow_dist == pytest.approx(1 / 200, rel=0.06)


@pytest.mark.slow
@pytest.mark.parametrize("metric, constant", [("lp:0.5", 0.8292), ("l1", 0.7071), ("l2", 0.5916)])
def test_relative_variance_approaches_francois_constants(metric, constant):
    # sqrt(d) * dist_cv -> (1/p) sigma_p / mu_p for uniform data; within 2 % at d = 1000.
    row = _one(_run(dims=(1000,), dists=("uniform",), metrics=(metric,), n_points=2000, n_queries=100))
    assert math.sqrt(1000) * row.dist_cv == pytest.approx(constant, rel=0.02)


@pytest.mark.slow
def test_relative_contrast_falls_with_dimension_and_orders_the_norms():
    rows = _run(
        dims=(2, 10, 100, 1000),
        dists=("uniform",),
        metrics=("lp:0.5", "l1", "l2", "linf"),
        n_points=2000,
        n_queries=100,
    )
    for metric in ("lp:0.5", "l1", "l2", "linf"):
        contrast = rows[rows.metric == metric].sort_values("dim").relative_contrast.to_numpy()
        assert np.all(np.diff(contrast) < 0), metric
    for dim in (10, 100, 1000):
        at_d = rows[rows.dim == dim].set_index("metric").relative_contrast
        assert at_d["lp:0.5"] > at_d["l1"] > at_d["l2"] > at_d["linf"], dim


def test_subspace_data_keeps_the_contrast_of_its_intrinsic_dimension():
    rows = _run(dims=(1000,), dists=("subspace:2", "gaussian"), n_points=2000, n_queries=100)
    sub, full = _one(rows, dist="subspace:2"), _one(rows, dist="gaussian")
    low = _one(_run(dims=(2,), dists=("gaussian",), n_points=2000, n_queries=100))
    assert sub.relative_contrast > 100 * full.relative_contrast
    assert sub.relative_contrast == pytest.approx(low.relative_contrast, rel=0.5)
    assert sub.dist_cv == pytest.approx(sub.theory_dist_cv, rel=0.05)  # the K = 2 closed form


def test_structure_columns_report_the_subset_used():
    rows = _run(dims=(30,), dists=("torus:3",), n_points=1500, n_queries=50, id_points=1000, k=10)
    row = _one(rows)
    assert row.id_points == 1000 and row.theory_id == 3
    assert row.twonn_id == pytest.approx(3, rel=0.1) and row.mle_id == pytest.approx(3, rel=0.1)
    assert abs(row.hubness) < 1.0  # a torus has no boundary: little hubness


def test_real_data_concentrates_far_less_than_a_gaussian_of_its_dimension():
    rows = distance.run(distance.Config(data="digits", seeds=(0,), n_points=1500, n_queries=100, id_points=1500)).rows
    digits, gaussian = _one(rows, dist="digits"), _one(rows, dist="gaussian")
    assert digits.dim == gaussian.dim == 64 and digits.n_points == gaussian.n_points == 1500
    assert digits.relative_contrast > 2 * gaussian.relative_contrast
    assert digits.twonn_id < 0.5 * gaussian.twonn_id
    assert math.isnan(digits.theory_mean_pow_dist)  # no closed form claimed for real data


def test_same_seed_same_rows_other_seed_other_rows():
    config = dict(dims=(5, 50), dists=("gaussian",), metrics=("l2", "l1"), n_points=800, n_queries=40, id_points=300)
    a, b = _run(**config), _run(**config)
    pd.testing.assert_frame_equal(a, b)
    c = distance.run(distance.Config(**{**config, "seeds": (1,)})).rows
    assert not np.allclose(a.nn_dist, c.nn_dist)


@pytest.mark.parametrize(
    "overrides, option",
    [
        (dict(dims=(0,)), "--dims"),
        (dict(n_points=0), "--points"),
        (dict(n_queries=-1), "--queries"),
        (dict(dists=("cube",)), "--dist"),
        (dict(metrics=("l3",)), "--metric"),
        (dict(k=3000, id_points=2000), "--k"),
        (dict(dims=(3,), dists=("subspace:5",)), "--dims"),
        (dict(seeds=()), "--seeds"),
        (dict(dtype="half"), "--dtype"),
        (dict(id_points=-1), "--id-points"),
    ],
)
def test_validation_names_the_option(overrides, option):
    with pytest.raises(DimcurseError) as err:
        distance.validate(distance.Config(**overrides))
    assert err.value.option == option


def test_twonn_far_below_d_is_flagged_as_sample_limited():
    config = distance.Config(dims=(4, 100), n_points=1000, n_queries=20, seeds=(0,), id_points=1000)
    result = distance.run(config)
    flags = result.rows.set_index("dim")["id_sample_limited"]
    assert not flags[4] and flags[100]  # TwoNN ~ 4 at d = 4; ~ 50 at d = 100 from 1000 points
    assert any("2 log10(n) = 6" in note and "lower bound" in note for note in result.notes)


@pytest.mark.parametrize("metric", ["lp:0.01", "lp:1000", "lp:1e9"])
def test_extreme_lp_rows_are_finite_or_named_undefined(cli, metric):
    """Issue 17: lp:0.001 gave nn_dist = inf, lp:1000 an infinite contrast, lp:1e9 NaN, with numpy warnings."""
    code, out, err = cli(
        "distance",
        "--metric",
        metric,
        "--dims",
        "10",
        "--points",
        "400",
        "--queries",
        "20",
        "--seeds",
        "1",
        "--id-points",
        "0",
        "--quiet",
        "--out",
        "-",
        "--format",
        "csv",
    )
    rows = pd.read_csv(__import__("io").StringIO(out))
    assert code == 0 and err == ""
    for column in ("nn_dist", "far_dist", "mean_dist", "relative_contrast", "contrast_he", "dist_cv"):
        assert np.isfinite(rows[column]).all(), column
    if metric == "lp:1e9":
        assert rows.mean_pow_dist.isna().all()  # D^P underflows: left empty with a note, never a bare 0


def test_too_small_a_p_is_refused_with_its_range(cli):
    from tests.helpers import assert_clean_error

    code, out, err = cli("distance", "--metric", "lp:0.001", "--dims", "10", "--quiet")
    assert_clean_error(code, out, err, "--metric")
    assert "P must be at least 0.0068" in err


def test_the_covariance_root_of_wide_data_comes_from_the_thin_svd():
    # Fewer rows than columns (images: 2,000 x 150,528): R from the centred sample's thin SVD, R Rᵀ the sample
    # covariance exactly, and its rank m - 1; with more rows than columns, the eigenvector root as before.
    from dimcurse.experiments.distance.sets import covariance_root

    gen = np.random.default_rng(0)
    for m, d in ((12, 40), (60, 8)):
        sample = gen.normal(size=(m, d)) @ gen.normal(size=(d, d))
        root, rank = covariance_root(sample)
        np.testing.assert_allclose(root.numpy() @ root.numpy().T, np.cov(sample, rowvar=False), atol=1e-9)
        assert rank == min(m - 1, d)
    # With more rows than columns, the columns in eigh's ascending order, as before data.principal_axes: the same
    # seed draws the same Gaussian (reversed, the draws changed and the docs' digits table with them).
    values, vectors = np.linalg.eigh(np.cov(sample, rowvar=False))
    np.testing.assert_array_equal(covariance_root(sample)[0].numpy(), vectors * np.sqrt(np.clip(values, 0, None)))
