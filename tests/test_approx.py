"""The approximation kernel end to end: rates, the curse for fixed bases, trees on compositional targets."""

import numpy as np
import pandas as pd
import pytest
import torch

from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.approx import plan, schedule
from dimcurse.experiments.approx.data import check_resolvable
from dimcurse.experiments.approx.fits import FIT_COLUMNS
from dimcurse.experiments.approx.plan import MIN_SAMPLES, widths_for
from helpers import assert_clean_error, pick_one, run_cli, run_docs_example


def _fit(result, **where):
    return pick_one(result.fits, **where)


@pytest.mark.slow
def test_error_falls_with_width_on_a_smooth_one_dimensional_target():
    # cos 4x on [-2pi, 2pi] (the Poggio group's 1-d composition), seed 0, 1500 Adam steps.
    rows = approx.run(
        approx.Config(
            targets=("cos4x",),
            widths=(4, 16, 64),
            steps=1500,
            n_samples=1000,
            n_test=1000,
            seeds=(0,),
            optimizer="adam",
        )
    ).rows
    errors = rows.sort_values("width").rel_rmse.to_numpy()
    assert np.all(np.diff(errors) < 0) and errors[-1] < 0.9


@pytest.mark.slow
def test_trained_networks_keep_their_exponent_while_random_features_collapse():
    # Barron target, d = 2 and 32, widths 4..64, 3000 samples (approximation regime), seeds 0-1.
    # Measured: shallow 1.16 -> 0.29, random features 1.26 -> 0.01.
    result = approx.run(
        approx.Config(
            targets=("barron",),
            dims=(2, 32),
            widths=(4, 8, 16, 32, 64),
            steps=800,
            n_samples=3000,
            n_test=1000,
            seeds=(0, 1),
            baselines=("random-features",),
            optimizer="adam",
        )
    )
    net_32 = _fit(result, dim=32, arch="shallow").alpha
    rf_2, rf_32 = _fit(result, dim=2, arch="random-features").alpha, _fit(result, dim=32, arch="random-features").alpha
    assert rf_32 < 0.25 * rf_2  # the fixed basis's exponent collapses with d
    assert net_32 > rf_32 + 0.15 and net_32 > 0.2  # the trained network's does not
    assert _fit(result, dim=32, arch="shallow").alpha_theory == 0.5
    assert _fit(result, dim=32, arch="random-features").alpha_theory == pytest.approx(1 / 32)


@pytest.mark.slow
def test_a_tree_network_beats_a_shallow_one_at_matched_parameters_on_the_8_input_product():
    # Tree of width 8 per node: 7 * (4*8 + 1) = 231 parameters; shallow width 23: 10*23 + 1 = 231.
    # Both trained by Adam: the comparison is of architectures, so the trainer is the same.
    rows = approx.run(
        approx.Config(
            targets=("product",),
            dims=(8,),
            archs=("shallow", "tree"),
            widths=(8, 23),
            steps=800,
            n_samples=2000,
            n_test=1000,
            seeds=(0, 1),
            optimizer="adam",
        )
    ).rows
    tree = rows[(rows.arch == "tree") & (rows.params == 231)].rel_rmse
    shallow = rows[(rows.arch == "shallow") & (rows.params == 231)].rel_rmse
    assert len(tree) == len(shallow) == 2
    assert tree.max() < 0.5 * shallow.min()


@pytest.mark.slow
def test_rows_fit_table_and_determinism():
    config = approx.Config(
        targets=("kan-xy",),
        archs=("shallow", "deep"),
        widths=(4, 8, 16),
        depth=2,
        steps=100,
        n_samples=300,
        n_test=300,
        seeds=(0, 1),
        baselines=("random-features", "knn"),
    )
    first, second = approx.run(config), approx.run(config)
    rows = first.rows
    assert list(rows.columns) == approx.COLUMNS and set(rows.arch) == {"shallow", "deep", "random-features", "knn"}
    assert (rows.dim == 2).all() and not rows.diverged.any()
    assert (rows.rel_rmse > 0).all() and (rows[rows.arch == "knn"].train_rmse == 0).all()  # 1-NN interpolates
    timing = ["elapsed_s"]
    pd.testing.assert_frame_equal(rows.drop(columns=timing), second.rows.drop(columns=timing))
    assert list(first.fits.columns) == FIT_COLUMNS and len(first.fits) == 4
    deep = rows[rows.arch == "deep"]
    assert deep[deep.width == 4].params.iloc[0] == 3 * 4 + 5 * 4 + 5


@pytest.mark.parametrize(
    "overrides, option",
    [
        (dict(widths=(0,)), "--widths"),
        (dict(depth=0), "--depth"),
        (dict(targets=("nope",)), "--target"),
        (dict(targets=("kan-xy",), dims=(8,)), "--dims"),
        (dict(archs=("tree",), dims=(6,)), "--arch"),
        (dict(optimizer="sgd"), "--optimizer"),
        (dict(activation="gelu"), "--activation"),
        (dict(baselines=("svm",)), "--baselines"),
        (dict(lr=0.0), "--lr"),
        (dict(targets=("teacher",), dims=(2,)), "--teacher-k"),
        (dict(targets=("teacher",), dims=(8,), teacher_k=(0,)), "--teacher-k"),
        (dict(teacher_draws=0), "--teacher-draws"),
        (dict(optimizer="adam", gn_iters=10), "--gn-iters"),
        (dict(optimizer="lm", cg_iters=10), "--cg-iters"),
        (dict(optimizer="gn", steps=10), "--optimizer"),
        (dict(optimizer="lm", steps=10), "--steps"),
        (dict(optimizer="lm", lr=0.1), "--lr"),
        (dict(optimizer="adam", lm_iters=10), "--lm-iters"),
        (dict(optimizer="lbfgs", lm_iters=10), "--lm-iters"),
        (dict(optimizer="lm", archs=("deep",)), "--optimizer"),
        (dict(lm_iters=0), "--lm-iters"),
        (dict(n_samples=0), "--samples"),
        (dict(samples_per_param=0.0), "--samples-per-param"),
        (dict(lm_rows=-1.0), "--lm-rows"),
        (dict(lm_max_params=0), "--lm-max-params"),
    ],
)
def test_validation_names_the_option(overrides, option):
    with pytest.raises(DimcurseError) as err:
        approx.validate(approx.Config(**overrides))
    assert err.value.option == option


def test_the_diagnostics_flag_limited_points_and_the_fit_leaves_them_out():
    # Two LM iterations: optimisation-limited. 200 samples for up to 193 parameters: estimation-limited
    # (test RMSE > 1.5 x train). The tanh teacher, k = 2 at d = 4, one draw, seeds 0-1.
    short = approx.run(
        approx.Config(
            targets=("teacher-tanh",),
            dims=(4,),
            teacher_k=2,
            teacher_draws=1,
            widths=(8, 16, 32, 64),
            lm_iters=2,
            seeds=(0, 1),
        )
    )
    assert short.rows.optimisation_limited.all()
    fit = _fit(short, arch="shallow")
    assert fit.n_widths_used == 0 and np.isnan(fit.alpha)
    assert fit.excluded.startswith("optimisation-limited at params 49, 97, 193, 385")
    few = approx.run(
        approx.Config(
            targets=("teacher-tanh",),
            dims=(4,),
            teacher_k=2,
            teacher_draws=1,
            widths=(4, 8, 16, 32),
            n_samples=200,
            n_test=2000,
            lm_iters=40,
            seeds=(0, 1),
        )
    )
    limited = few.rows.groupby("width").estimation_limited.mean()
    assert limited[32] == 1.0 and limited[4] == 0.0
    fit = _fit(few, arch="shallow")
    assert "estimation-limited at params 97, 193" in fit.excluded
    assert "193" not in fit.used_params.split(",")
    assert any("estimation-limited" in note for note in few.notes)


def test_samples_scale_with_parameters_and_each_row_names_its_trainer():
    config = approx.Config(
        targets=("teacher",),
        dims=(4,),
        teacher_k=2,
        teacher_draws=1,
        widths=(4, 256),
        lm_iters=1,
        lm_max_params=1000,
        gn_iters=1,
        cg_iters=2,
        seeds=(0,),
    )
    rows = approx.run(config).rows.set_index("width")
    assert rows.loc[4, "n_samples"] == MIN_SAMPLES  # 8 x 25 parameters is below the floor
    assert rows.loc[256, "n_samples"] == 8 * 1537  # the pool: 8 samples per parameter of the largest model
    assert rows.loc[4, "optimizer"] == "lm" and rows.loc[256, "optimizer"] == "gn"  # 1537 > --lm-max-params
    assert widths_for(approx.Config(), 32) == (4, 8, 16, 32, 64)
    assert widths_for(approx.Config(), 4) == (4, 8, 16, 32, 64)


DOCS_TEACHER = "dimcurse approx --target teacher --dims 4,16 --teacher-k 2,4 --widths 4,8,16,32 --seeds 2"


@pytest.fixture(scope="module")
def docs_teacher():
    """docs/approx.md's teacher example, run once as shown for the two tests that read it."""
    with pytest.MonkeyPatch.context() as patch:
        return run_docs_example(run_cli, patch, DOCS_TEACHER)


@pytest.mark.slow
@pytest.mark.xdist_group("docs-teacher")  # one worker runs both readers of the fixture
def test_at_a_small_budget_the_teacher_exponent_follows_k_not_d(docs_teacher):
    """docs/approx.md's example, run as shown (tests/test_readme.py leaves it here: 80 s), its first line checked
    against the page. Measured on the AMD machine with seeds 0,1 / 2,3 / 4,5 (3 draws each, 6 replicates):
    k = 2: 0.99 / 0.90 / 1.01 at d = 4, 0.94 / 0.84 / 0.93 at d = 16; k = 4: 0.55 / 0.55 / 0.56 and
    0.47 / 0.51 / 0.43. The k gap was 0.33 at least (asserted: 0.15); the d gap 0.12 at most (asserted: 0.35,
    as the single-seed sets of the earlier d = 4 / 8 test spread up to 0.38 on two machines)."""
    fits = docs_teacher.analysis.set_index(["dim", "teacher_k"]).alpha
    for d in (4, 16):
        assert fits[(d, 2)] > fits[(d, 4)] + 0.15, fits
    for k in (2, 4):
        assert abs(fits[(4, k)] - fits[(16, k)]) < 0.35, fits


def test_fewer_than_three_widths_print_no_empty_fit_table(cli):
    code, out, err = cli(
        "approx", "--width", "8", "--dims", "2", "--lm-iters", "5", "--seeds", "2", "--test-samples", "200", "--quiet"
    )
    assert code == 0 and "exponent fits" not in out
    assert "no exponent: a fit needs at least 3 widths and this run has 1" in " ".join(out.split())


def test_a_target_constant_to_float64_is_refused_before_training(cli):
    """Issue: --q-power-k 30 trained on zeros and reported rel_rmse = inf for every width."""
    from tests.helpers import assert_clean_error

    code, out, err = cli("approx", "--target", "q-power", "--q-power-k", "30", "--quiet")
    assert_clean_error(code, out, err, "--q-power-k")
    assert "must be 1..10" in err
    with pytest.raises(DimcurseError, match="constant to float64 precision"):
        check_resolvable(torch.zeros(2, 50), "target x", "--target")
    with pytest.raises(DimcurseError, match="constant to float64 precision"):
        check_resolvable(torch.full((1, 50), 3.0) + 1e-15 * torch.arange(50.0), "target x", "--target")
    check_resolvable(torch.linspace(0, 1e-30, 50)[None], "target x", "--target")  # tiny but resolvable


def test_the_zero_sphere_is_refused(cli):
    from tests.helpers import assert_clean_error

    code, out, err = cli("distance", "--dist", "sphere", "--dims", "1", "--quiet")
    assert_clean_error(code, out, err, "--dims")
    assert "sphere needs dimensions of at least 2" in err


@pytest.mark.parametrize(
    "args, option",
    [
        (("--target", "teacher", "--dims", "4", "--teacher-k", "6"), "--teacher-k"),
        (("--target", "teacher", "--dims", "4", "--teacher-k", "0"), "--teacher-k"),
        (("--target", "teacher", "--dims", "4", "--teacher-draws", "0"), "--teacher-draws"),
        (("--threads", "0"), "--threads"),
        (("--optimizer", "adam", "--gn-iters", "5"), "--gn-iters"),
        (("--optimizer", "lbfgs", "--cg-iters", "5"), "--cg-iters"),
        (("--optimizer", "gn", "--lr", "0.1"), "--optimizer"),
        (("--verdict-tolerance", "1"), "--verdict-tolerance"),  # a share of the theory's exponent: inside (0, 1)
        (("--verdict-tolerance", "0"), "--verdict-tolerance"),
        (("--verdict-tolerance", "-0.3"), "--verdict-tolerance"),
        (("--verdict-tolerance", "nan"), "--verdict-tolerance"),
        (("--samples", "1"), "--samples"),  # one sample size of 1: no model learns from it
    ],
)
def test_bad_teacher_trainer_and_thread_options_get_one_line(cli, args, option):
    code, out, err = cli("approx", *args, "--quiet")
    assert code == 2 and option in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_more_threads_than_cores_is_a_warning_not_an_error(cli):
    from dimcurse.runtime import available_cores

    code, out, err = cli(
        "approx", "--dims", "2", "--widths", "4,8", "--lm-iters", "2", "--seeds", "1", "--samples", "64",
        "--test-samples", "64", "--threads", str(available_cores() + 1), "--quiet",
    )  # fmt: skip
    assert code == 0 and "warning: --threads" in err


def test_the_progress_callback_sums_to_the_whole_and_only_grows():
    # Issue: the bar reached 100 % after one width's share of the work. Two k, LM and Gauss–Newton widths,
    # and a baseline: every fraction is positive and they add up to 1.
    fractions = []
    config = approx.Config(
        targets=("teacher",),
        dims=(4,),
        teacher_k=(2, 3),
        teacher_draws=1,
        widths=(4, 8, 128),
        lm_max_params=200,
        lm_iters=3,
        gn_iters=3,
        cg_iters=3,
        seeds=(0,),
        n_samples=300,
        n_test=100,
        baselines=("knn",),
    )
    approx.run(config, progress=fractions.append)
    assert all(f > 0 for f in fractions) and sum(fractions) == pytest.approx(1.0, abs=1e-12)
    # Each job's share is its estimated work: k-NN, the last planned job, is one step of its own small share (the
    # bar jumped from 50 % to 100 % when every architecture and baseline had an equal share). A retry of the
    # capped widths may follow it (its work joins the total when it starts).
    jobs = schedule.jobs(plan.make(config))
    share = jobs[-1].work / sum(job.work for job in jobs)
    assert jobs[-1].name == "knn" and share < 0.01
    assert any(f == pytest.approx(share, rel=1e-9) for f in fractions)


def test_a_learning_curves_bar_counts_every_n_and_width_and_only_grows():
    # Issue: in learning-curve mode the bar ran at half speed and jumped from 50 % to 100 % (k-NN had half of
    # it). Every pass of every n and width is in the total: the fraction shown when a pass ends is the share of
    # the estimated work done, and the bar never goes back.
    from dimcurse.experiments.approx import training

    seen, marks = [], []
    config = approx.Config(
        targets=("teacher",), dims=(4,), teacher_k=(2,), teacher_draws=1, widths=(4, 8, 16), lm_iters=5,
        seeds=(0, 1), n_samples=(100, 200, 400), n_test=100, baselines=("knn",),
    )  # fmt: skip
    finish = training.Meter.finish

    def mark(meter):
        finish(meter)
        marks.append((sum(seen), meter.work))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training.Meter, "finish", mark)
        result = approx.run(config, progress=seen.append)
    assert all(f > 0 for f in seen) and sum(seen) == pytest.approx(1.0, abs=1e-12)
    shown = [at for at, _ in marks]
    assert shown == sorted(shown)  # monotone
    jobs = schedule.jobs(plan.make(config))  # one per n for the network, one for k-NN (all its n at once)
    assert [work for _, work in marks] == pytest.approx([job.work for job in jobs], rel=1e-12)
    assert len(jobs) == 4 and result.rows[result.rows.arch == "shallow"].width.max() == 16  # no extension here
    np.testing.assert_allclose(shown, np.cumsum([job.work for job in jobs]) / sum(job.work for job in jobs), 1e-9)


def test_teacher_rows_carry_k_and_draw_and_the_fit_pools_draws_and_seeds():
    config = approx.Config(
        targets=("teacher", "barron"), dims=(4,), teacher_k=(2, 3), teacher_draws=2, widths=(4, 8, 16),
        lm_iters=3, seeds=(0, 1), n_samples=300, n_test=100,
    )  # fmt: skip
    result = approx.run(config)
    rows = result.rows
    teacher = rows[rows.target == "teacher"]
    assert sorted(teacher.teacher_k.unique()) == [2, 3] and sorted(teacher.draw.unique()) == [0, 1]
    assert len(teacher) == 2 * 2 * 2 * 3  # k x draws x seeds x widths
    barron = rows[rows.target == "barron"]
    assert barron.teacher_k.isna().all() and (barron.draw == 0).all() and len(barron) == 2 * 3
    fits = result.analysis.set_index(["target", "teacher_k"], drop=False)
    assert fits.loc[("teacher", 2.0), "alpha_theory"] == 1.0 and fits.loc[("teacher", 3.0), "alpha_theory"] == 2 / 3


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.xdist_group("docs-teacher")
def test_one_and_two_threads_give_exponents_within_their_intervals(docs_teacher):
    # Not bitwise: the order of sums in a product changes with the threads, and training amplifies it.
    # Asserted: the two runs' 95 % t intervals (over 3 draws x 2 seeds) overlap. Before the t interval,
    # 1 and 2 threads gave 0.93 [0.91, 0.93] and 1.26 [1.00, 1.42] for one command (shared/PERFORMANCE.md).
    # One thread: the docs example's d = 4, k = 2 setting (its rows are those of that setting alone).
    from dimcurse import api

    options = dict(target="teacher", dims="4", teacher_k="2", widths="4,8,16,32", seeds=2, teacher_draws=3)
    fits = docs_teacher.analysis
    one = fits[(fits.dim == 4) & (fits.teacher_k == 2) & (fits.axis == "params")].iloc[0]
    two = api.approx(threads=2, **options).analysis.iloc[0]
    assert max(one.alpha_lo, two.alpha_lo) <= min(one.alpha_hi, two.alpha_hi), (one, two)


def test_rows_stored_before_version_3_still_fit():
    # VERSION 2 rows had no teacher_k and no draw: report and plot read them as draw 0, k empty.
    from dimcurse.results import Result

    config = approx.Config(dims=(2,), widths=(4, 8, 16), lm_iters=5, seeds=(0, 1), n_samples=200, n_test=100)
    rows = approx.run(config).rows.drop(columns=["teacher_k", "draw"])
    old = Result(kernel="approx", rows=rows, provenance={}, group_by=approx.GROUP_BY, show=approx.SHOW)
    fits = approx.analysis(old, config).analysis
    assert len(fits) == 1 and fits.teacher_k.isna().all() and fits.n_replicates.iloc[0] in (0, 2)
    assert (old.rows.draw == 0).all()


def test_a_files_constant_target_is_one_line_not_a_fit(cli, tmp_path):
    # A user's file whose y is constant: nothing to approximate, refused before training with exit code 2.
    path = tmp_path / "flat.csv"
    x = np.random.default_rng(0).uniform(size=(300, 3))
    pd.DataFrame(np.c_[x, np.full(300, 2.5)], columns=["a", "b", "c", "y"]).to_csv(path, index=False)
    code, out, err = cli("approx", "--data", str(path), "--quiet")
    assert_clean_error(code, out, err, "--data")
    assert "constant to float64 precision" in err


def test_the_verdicts_and_their_rule_are_the_docs(cli):
    # Public names: the verdict's values and the option are read from docs/approx.md, so the two cannot drift.
    from pathlib import Path

    from dimcurse.experiments.approx.verdict import KINDS, VERDICTS

    page = (Path(__file__).parents[1] / "docs" / "approx.md").read_text()
    rule = page[page.index("### The verdict") :]
    for word in VERDICTS + KINDS:
        assert f"`{word}`" in rule, word
    assert "`--verdict-tolerance`" in rule and "(0.3)" in rule
    assert approx.Config().verdict_tolerance == 0.3


@pytest.mark.parametrize(
    "args, option",
    [
        (("--target", "barron", "--teacher-k", "2"), "--teacher-k"),
        (("--target", "barron,product", "--teacher-draws", "5"), "--teacher-draws"),
        (("--target", "teacher", "--q-power-k", "3"), "--q-power-k"),
        (("--data", "objects:2:4", "--teacher-k", "2"), "--teacher-k"),
    ],
)
def test_an_option_of_another_target_is_refused_naming_the_targets_that_take_it(cli, args, option):
    # Issue 33: --teacher-k with barron was accepted and changed nothing.
    code, out, err = cli("approx", *args)
    assert_clean_error(code, out, err, option)
    assert "would change nothing" in err and ("teacher" in err or "q-power" in err)


def test_options_of_a_target_in_the_run_are_taken():
    approx.validate(approx.Config(targets=("barron", "teacher"), teacher_k=(2,), teacher_draws=2))
    approx.validate(approx.Config(targets=("q-power",), q_power_k=3))
