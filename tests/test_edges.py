"""Numbers at the edges (issue 17): ties, duplicates in drawn sets, scale, degenerate labels, warnings.

Each test states the edge it holds: a valid input whose answer used to be inf, NaN, a raw warning
or a value that depended on the chunk size.
"""

from __future__ import annotations

import io
import math
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dimcurse.experiments.distance.neighbours import exact_distances, knn, parse_metric
from tests.helpers import assert_clean_error

# --------------------------------------------------------------------------- the tie rule


def _lexicographic_knn(points: torch.Tensor, metric: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force under the documented rule: by exact float64 distance, then by the lower point index."""
    d = exact_distances(points[:, None, :], points[None, :, :], parse_metric(metric)).numpy()
    np.fill_diagonal(d, np.inf)
    order = np.stack([np.lexsort((np.arange(len(points)), row))[:k] for row in d])
    return np.take_along_axis(d, order, 1), order


@pytest.mark.parametrize("metric", ["l2", "l1", "linf", "cosine", "lp:0.5"])
@pytest.mark.parametrize("chunk", [1 << 8, 1 << 20])
def test_ties_at_the_kth_neighbour_go_to_the_lower_index_whatever_the_chunk(metric, chunk):
    # A 3-level lattice in 3-d: almost every point has many neighbours at exactly its k-th distance.
    gen = torch.Generator().manual_seed(0)
    points = torch.randint(1, 4, (300, 3), generator=gen).float()
    points = points[torch.from_numpy(np.unique(points.numpy(), axis=0, return_index=True)[1])]  # distinct
    points = torch.cat([points, points + 3.0, points + 6.0])  # 81 distinct points, ties everywhere
    dist, idx = knn(points, parse_metric(metric), 5, chunk)
    ref_dist, ref_idx = _lexicographic_knn(points, metric, 5)
    assert (idx == ref_idx).all()
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)


def test_the_tie_rule_is_documented():
    page = (Path(__file__).parents[1] / "docs" / "distance.md").read_text()  # its Theory and exactness
    assert "lower point index" in page


# --------------------------------------------------------------------------- duplicates in drawn sets


def test_a_drawn_set_rounded_to_float32_drops_its_copies(cli):
    """Issue 17: 3M uniform points in d = 1 rounded to float32 hold ~170k copies; a query equal to a
    point made the relative contrast inf. They are now counted, dropped and the contrast finite."""
    from dimcurse.data import parse_distribution
    from dimcurse.experiments.distance.sets import drawn_set

    pset = drawn_set(parse_distribution("uniform"), 1, 200_000, 100, 0, dtype=torch.float16, device="cpu")
    assert pset.duplicates > 100_000 and pset.points.shape[0] == 200_000 - pset.duplicates
    assert len(np.unique(pset.points.numpy(), axis=0)) == pset.points.shape[0]
    assert not np.isin(pset.queries.numpy().ravel(), pset.points.numpy().ravel()).any()
    code, out, err = cli(
        "distance",
        "--dims",
        "1",
        "--points",
        "100000",
        "--queries",
        "50",
        "--dtype",
        "float32",
        "--seeds",
        "1",
        "--id-points",
        "0",
        "--metric",
        "l2",
        "--quiet",
        "--out",
        "-",
        "--format",
        "csv",
    )
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert code == 0 and row.duplicates > 0 and math.isfinite(row.relative_contrast) and row.nn_dist > 0


def test_copies_are_looked_for_only_where_rounding_can_make_them():
    from dimcurse.experiments.distance.sets import may_collide

    assert may_collide(10_100, 1, torch.float32) and may_collide(10_100, 2, torch.float32)
    assert not may_collide(10_100, 3, torch.float32) and not may_collide(10**6, 10, torch.float32)
    assert may_collide(10**6, 3, torch.float32)  # 10^12 pairs against 2^-69: about 1e-9 expected copies


# --------------------------------------------------------------------------- scale


def test_distances_of_a_set_in_huge_or_tiny_units_are_its_unit_set_times_the_unit(tmp_path, monkeypatch, cli):
    """float32 holds 1e-38..3e38: data in units of 1e150 overflowed (inf) and of 1e-150 underflowed (0).
    The set is measured over a power of 2 (exact) and its lengths scaled back."""
    from dimcurse.experiments.distance import sets

    monkeypatch.setattr(sets, "numpy_rng", lambda seed, *keys: np.random.default_rng(seed))  # one subsample
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 5))
    frames = {}
    for name, factor in (("one", 1.0), ("huge", 2.0**500), ("tiny", 2.0**-500)):
        np.save(tmp_path / f"{name}.npy", x * factor)
        code, out, err = cli(
            "distance",
            "--data",
            str(tmp_path / f"{name}.npy"),
            "--points",
            "250",
            "--queries",
            "20",
            "--id-points",
            "100",
            "--seeds",
            "1",
            "--metric",
            "l2,l1,cosine",
            "--quiet",
            "--out",
            "-",
            "--format",
            "csv",
        )
        assert code == 0, err
        frames[name] = pd.read_csv(io.StringIO(out)).query("dist == @name")
    one = frames["one"].reset_index(drop=True)
    for name, factor in (("huge", 2.0**500), ("tiny", 2.0**-500)):
        other = frames[name].reset_index(drop=True)
        for column in ("relative_contrast", "contrast_he", "dist_cv", "twonn_id", "mle_id", "hubness"):
            np.testing.assert_allclose(other[column], one[column], rtol=1e-5, err_msg=column)
        lengths = other.metric != "cosine"
        for column in ("nn_dist", "far_dist", "mean_dist"):
            np.testing.assert_allclose(other[column][lengths] / factor, one[column][lengths], rtol=1e-5)
            np.testing.assert_allclose(other[column][~lengths], one[column][~lengths], rtol=1e-5)


def test_unit_of_is_a_power_of_two():
    from dimcurse.experiments.distance.sets import unit_of

    assert unit_of(np.array([[3e150]])) == 2.0 ** round(math.log2(3e150))
    assert unit_of(np.zeros((3, 2))) == 1.0 and unit_of(np.array([[0.7]])) == 1.0 == unit_of(np.array([[4e9]]))
    assert unit_of(np.array([[1e19]])) == 2.0**63


@pytest.mark.slow
def test_approx_errors_of_a_target_in_huge_or_tiny_units_scale_with_it(tmp_path, cli, monkeypatch):
    """The RMSE was taken in the target's units: (1e200)^2 overflowed and every row was inf. It is
    taken standardised and times the sd now, so rel_rmse does not see the unit."""

    from dimcurse.experiments.approx import plan as approx_plan  # the module that splits a user's file

    monkeypatch.setattr(approx_plan, "numpy_rng", lambda seed, *keys: np.random.default_rng(seed))  # one split for all
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(600, 2))
    y = np.sin(2 * x[:, 0]) * x[:, 1]
    results = {}
    for name, factor in (("one", 1.0), ("huge", 1e200), ("tiny", 1e-200)):
        pd.DataFrame(x, columns=["a", "b"]).assign(y=factor * y).to_csv(tmp_path / f"{name}.csv", index=False)
        code, out, err = cli(
            "approx",
            "--data",
            str(tmp_path / f"{name}.csv"),
            "--widths",
            "2,4,8",
            "--seeds",
            "2",
            "--dtype",
            "float64",
            "--quiet",
            "--out",
            "-",
            "--format",
            "csv",
        )
        assert code == 0, err
        results[name] = pd.read_csv(io.StringIO(out)).query("arch == 'shallow'").reset_index(drop=True)
    for name, factor in (("huge", 1e200), ("tiny", 1e-200)):
        np.testing.assert_allclose(results[name].rel_rmse, results["one"].rel_rmse, rtol=1e-6)
        np.testing.assert_allclose(results[name].test_rmse / factor, results["one"].test_rmse, rtol=1e-6)


# --------------------------------------------------------------------------- degenerate labels and tasks


def test_a_single_class_is_refused(cli, tmp_path):
    x = np.random.default_rng(0).normal(size=(100, 3))
    np.savez(tmp_path / "one.npz", x=x, y=np.zeros(100, dtype=int))
    code, out, err = cli(
        "overparam",
        "--model",
        "mlp",
        "--data",
        str(tmp_path / "one.npz"),
        "--train-samples",
        "60",
        "--test-samples",
        "20",
        "--epochs",
        "1",
        "--quiet",
    )
    assert_clean_error(code, out, err, "--data")
    assert "at least 2 classes" in err


def test_one_test_sample_is_refused_rel_rmse_needs_a_spread(cli):
    code, out, err = cli("approx", "--test-samples", "1", "--quiet")
    assert_clean_error(code, out, err, "--test-samples")


def test_the_infinite_min_norm_expectation_is_blank_with_a_note(cli):
    code, out, err = cli(
        "overparam",
        "--model",
        "linear",
        "--train-samples",
        "30",
        "--widths",
        "10,30,60",
        "--seeds",
        "1",
        "--out",
        "-",
        "--format",
        "csv",
    )
    rows = pd.read_csv(io.StringIO(out))
    assert code == 0 and rows.set_index("width").theory_risk.isna().tolist() == [False, True, False]
    code, out, err = cli(
        "overparam", "--model", "linear", "--train-samples", "30", "--widths", "10,30,60", "--seeds", "1"
    )
    assert "theory_risk is blank at p = 30" in " ".join(out.split())


# --------------------------------------------------------------------------- warnings are errors


def test_the_suite_turns_dimcurse_warnings_into_errors():
    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "error:::dimcurse(\\..*)?$" in config["tool"]["pytest"]["ini_options"]["filterwarnings"]
    with pytest.raises(RuntimeWarning):
        warnings.warn_explicit(
            "x", RuntimeWarning, "neighbours.py", 1, module="dimcurse.experiments.distance.neighbours"
        )
    with pytest.raises(RuntimeWarning):  # numpy's own warnings raised inside dimcurse's code count too
        warnings.warn_explicit(
            "invalid value encountered in divide",
            RuntimeWarning,
            "distance.py",
            1,
            module="dimcurse.experiments.distance",
        )
    with warnings.catch_warnings(record=True):  # another package's warning is not ours to fail on
        warnings.warn_explicit("x", RuntimeWarning, "other.py", 1, module="othermodule")


def test_a_warning_inside_a_run_becomes_a_note_in_use_and_fails_under_strict(monkeypatch):
    from dimcurse.experiments import EscapedWarning, distance, run_kernel

    real = distance.run

    def noisy(config, device="cpu", progress=None):
        np.float64(1.0) / np.float64(0.0)  # numpy's divide warning, raised from this (non-dimcurse) module
        return real(config, device=device, progress=progress)

    monkeypatch.setattr(distance, "run", noisy)
    with pytest.raises(EscapedWarning, match="divide by zero"):
        run_kernel(distance, distance.SMOKE, "cpu")
    monkeypatch.delenv("DIMCURSE_STRICT")
    result = run_kernel(distance, distance.SMOKE, "cpu")
    assert any("divide by zero" in note and "bug" in note for note in result.notes)
