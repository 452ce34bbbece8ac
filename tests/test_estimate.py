"""The time estimate said before an approx run, against a synthetic cost model, and --budget's plans."""

import dataclasses

import pytest

from dimcurse.configs import ApproxConfig
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx import estimate, gn, plan
from dimcurse.parsing import format_duration, parse_duration
from tests.helpers import run_cli

# A machine of 1 GFLOP/s on every product, no overheads, LM converging in 10 iterations.
SYNTHETIC = plan.Costs(
    matmul=1e9, stream=1e9, lm_overhead=0.0, gn_overhead=0.0, adam_overhead=0.0, typical={"lm": 10, "gn": 20}
)
TEACHER = ApproxConfig(targets=("teacher",), dims=(8,), teacher_k=(2,), widths=(4, 8, 16, 32, 64), lm_max_params=2500)


def _lm_seconds(config, dim, width, n_models, iters):
    """One LM width by the formula in plan.stage_work: JᵀJ on m rows and its factorisation, the gradient and the
    candidate's loss (1.5 product pairs of 4 n P FLOP) and the held-out loss (half a pair)."""
    P = plan.shallow_params(dim, width)
    n = plan.samples_for(config, P)
    m = min(n, plan.lm_rows(config, P))
    return n_models * iters * (1.5 * m * P * P + P**3 + 6 * n * P + 2 * config.n_test * P) / 1e9


def test_the_estimate_is_the_cost_model_s_sum_over_widths_and_replicates():
    run = plan.make(TEACHER)
    guess = estimate.estimate(run, SYNTHETIC)
    replicates = 9  # 3 draws x 3 seeds
    typical = sum(_lm_seconds(TEACHER, 8, w, replicates, 10) for w in TEACHER.widths)
    caps = sum(_lm_seconds(TEACHER, 8, w, replicates, plan.DEFAULT_LM_ITERS) for w in TEACHER.widths)
    assert guess.typical == pytest.approx(typical, rel=1e-12)
    assert guess.at_caps == pytest.approx(caps, rel=1e-12)


def test_gauss_newton_s_estimate_counts_its_curvature_window():
    config = dataclasses.replace(TEACHER, optimizer="gn", widths=(64,), teacher_draws=1, seeds=(0,))
    P = plan.shallow_params(8, 64)
    n = plan.samples_for(config, P)
    m = min(n, plan.lm_rows(config, P))
    cg = gn.DEFAULT_CG_ITERS * estimate.CG_SHARE
    per_step = (4 * cg * m * P + plan.GN_PASSES * 4 * n * P + 2 * config.n_test * P) / 1e9
    model = dataclasses.replace(SYNTHETIC, cg_share=estimate.CG_SHARE)
    assert estimate.estimate(plan.make(config), model).typical == pytest.approx(20 * per_step, rel=1e-12)


@pytest.mark.parametrize("budget", [5.0, 12.0, 30.0, 60.0, 120.0, 400.0, 1e4])
def test_a_budget_never_plans_more_than_it_allows(budget):
    run = plan.make(TEACHER)
    full = estimate.estimate(run, SYNTHETIC).typical
    try:
        chosen, note = estimate.within(run, budget, SYNTHETIC)
    except DimcurseError as error:
        assert error.option == "--budget" and "too small" in str(error)
        smallest = plan.make(dataclasses.replace(TEACHER, widths=(4, 8, 16), seeds=(0, 1), teacher_draws=2))
        assert estimate.estimate(smallest, SYNTHETIC).typical > budget
        return
    assert estimate.estimate(chosen, SYNTHETIC).typical <= budget
    assert len(chosen.settings[0].widths) >= 3 and len(chosen.settings[0].replicates) >= 4
    if full <= budget:
        assert chosen is run and "fits" in note[0]
    else:
        assert "--budget" in note[0] and format_duration(budget) in note[0]


def test_a_budget_gives_up_the_widest_widths_first_then_replicates():
    run = plan.make(TEACHER)
    steps = list(estimate._smaller(run))
    widths = [tuple(s.settings[0].widths) for s in steps]
    replicates = [len(s.settings[0].replicates) for s in steps]
    assert widths[0] == (4, 8, 16, 32) and replicates[0] == 9
    assert widths[-1] == (4, 8, 16) and replicates[-1] == 4
    assert [estimate.estimate(s, SYNTHETIC).typical for s in steps] == sorted(
        (estimate.estimate(s, SYNTHETIC).typical for s in steps), reverse=True
    )


@pytest.mark.parametrize(
    "text, seconds", [("300", 300), ("90s", 90), ("5m", 300), ("1.5h", 5400), ("1h30m", 5400), ("5 min", 300)]
)
def test_durations_parse(text, seconds):
    assert parse_duration(text, "--budget") == seconds
    assert ApproxConfig(budget=text).budget == seconds


@pytest.mark.parametrize("text", ["0", "-5m", "5 parsecs", "m", "0s"])
def test_a_bad_budget_is_one_line_and_exit_2(text):
    code, _, err = run_cli("approx", f"--budget={text}")
    assert code == 2, err
    assert err.strip().startswith("error: --budget") and len(err.strip().splitlines()) == 1


def test_a_budget_too_small_for_three_widths_says_what_would_fit():
    code, _, err = run_cli("approx", "--target", "teacher", "--dims", "32", "--teacher-k", "2", "--budget", "1s")
    assert code == 2, err
    line = err.strip()
    assert len(line.splitlines()) == 1 and "too small for 3 widths" in line and "give --budget" in line


def test_a_measured_pair_time_replaces_the_flop_count():
    # The machine's model (estimate.costs) times the product pair at each (d, w): seconds per sample and model.
    config = dataclasses.replace(TEACHER, optimizer="gn", widths=(512,), teacher_draws=1, seeds=(0,))
    shapes = []

    def pair_time(dim, width):
        shapes.append((dim, width))
        return 1e-6

    model = dataclasses.replace(SYNTHETIC, pair_time=pair_time, cg_share=0.5)
    P = plan.shallow_params(8, 512)
    n = plan.samples_for(config, P)
    m = min(n, plan.lm_rows(config, P))
    expected = 20 * (gn.DEFAULT_CG_ITERS * 0.5 * m + plan.GN_PASSES * n + 0.5 * config.n_test) * 1e-6
    assert estimate.estimate(plan.make(config), model).typical == pytest.approx(expected, rel=1e-12)
    assert set(shapes) == {(8, 512)}


def test_a_run_already_at_its_smallest_is_refused_in_one_line():
    # Nothing to give up (one width, two seeds; barron has no teacher draws): the budget's error, not an internal
    # one. (--teacher-draws 2 was given here too: with barron it changed nothing, and is refused now.)
    code, _, err = run_cli("approx", "--width", "512", "--seeds", "2", "--budget", "1s")
    assert code == 2 and err.strip().startswith("error: --budget") and "widths 512, 2 seeds" in err, err
