"""Tables stay whole in 80, 100 and 120 column terminals: no value cut, no line too long."""

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from dimcurse import layout, render
from dimcurse.experiments.distance import kernel as distance
from dimcurse.results import Result, aggregate, fmt, mean_sd

WIDTHS = (80, 100, 120)


def _printed(result_or_grid, width: int) -> str:
    buffer = io.StringIO()
    con = Console(file=buffer, width=width, color_system=None)
    if isinstance(result_or_grid, Result):
        render.print_result(result_or_grid, con)
    else:
        render.print_grid(result_or_grid, con)
    return buffer.getvalue()


def _expected_cells(result: Result) -> list[str]:
    """Every value of the aggregated table, as the table formats it."""
    summary = aggregate(result)
    values = []
    for _, row in summary.iterrows():
        for measured, theory in result.show:
            if summary[f"{measured}_mean"].notna().any():
                values.append(mean_sd(row[f"{measured}_mean"], row[f"{measured}_sd"]))
            if theory and not pd.isna(row[theory]):
                values.append(fmt(row[theory]))
        values += [fmt(row[k]) for k in result.group_by]
    return [v for v in values if v]


@pytest.fixture(scope="module")
def distance_result():
    config = distance.Config(
        dims=(2, 10, 100),
        dists=("uniform", "gaussian"),
        metrics=("l2", "lp:0.5"),
        n_points=400,
        n_queries=40,
        seeds=(0, 1),
        id_points=200,
    )
    return distance.run(config)


@pytest.mark.parametrize("width", WIDTHS)
def test_distance_table_whole_at_every_width(distance_result, width):
    out = _printed(distance_result, width)
    assert max(len(line) for line in out.splitlines()) <= width
    for value in _expected_cells(distance_result):
        assert value in out, f"{value!r} cut at {width} columns"
    # the lp:0.5 cv theory is the Francois limit: marked, and the caption says what the mark means
    assert "≈ " in out and "≈ a large-d limit" in out


def test_constant_settings_move_to_the_caption(distance_result):
    one_metric = Result(
        kernel="distance",
        rows=distance_result.rows[distance_result.rows.metric == "l2"],
        provenance={},
        group_by=distance.GROUP_BY,
        show=distance.SHOW,
    )
    out = _printed(one_metric, 120)
    assert "metric = l2" in out.splitlines()[2] or any(line.startswith("metric = l2") for line in out.splitlines())
    assert "┃ metric" not in out


def test_wide_table_stacks_into_panels_and_narrow_turns_vertical():
    headers = ["key"] + [f"measured column {i}" for i in range(8)]
    rows = [[layout.cell(f"k{r}")] + [layout.cell(f"{r}.{i}23456 ± 0.0{i}1") for i in range(8)] for r in range(3)]
    grid = layout.Grid("wide", headers, rows, n_keys=1, numeric=set(range(1, 9)))
    wide = _printed(grid, 80)
    assert "(part 1 of" in wide and max(len(line) for line in wide.splitlines()) <= 80
    narrow = _printed(grid, 24)
    assert "key = k2" in narrow and "(part" not in narrow
    for r in range(3):
        for i in range(8):
            assert f"{r}.{i}23456 ± 0.0{i}1" in wide
            assert f"{r}.{i}23456 ± 0.0{i}1" in narrow


def test_long_text_becomes_numbered_footnotes():
    frame = pd.DataFrame(
        {
            "target": ["a", "b"],
            "alpha": [0.5, 0.7],
            "alpha_lo": [0.4, 0.6],
            "alpha_hi": [0.6, 0.8],
            "theory_source": ["Barron 1993: RMSE ~ width^-1/2 for any d"] * 2,
            "caveat": ["", "pre-asymptotic: alpha over the wider half differs"],
        }
    )
    out = _printed(render.frame_grid(frame, "fits", keys=("target",)), 80)
    assert "0.5 [0.4, 0.6]" in out and "0.7 [0.6, 0.8]" in out
    # constant over the rows: said once, in the caption; other long text is a numbered footnote
    assert out.count("theory source = Barron 1993: RMSE ~ width^-1/2 for any d") == 1
    assert "[1] pre-asymptotic: alpha over the wider half differs" in out and "│ [1]" in out


def test_approx_fit_table_fits_80_columns():
    from dimcurse.experiments.approx import kernel as approx
    from dimcurse.experiments.approx.fits import fit_table

    rows = []
    rng = np.random.default_rng(0)
    for target in ("barron", "teacher"):
        for width, params in ((4, 25), (8, 49), (16, 97), (32, 193)):
            for seed in (0, 1):
                err = params**-0.5 * (1 + 0.1 * rng.standard_normal())
                rows.append(
                    {c: 0 for c in approx.COLUMNS}
                    | {
                        "target": target,
                        "inputs": "cube",
                        "val_rmse": np.nan,
                        "dim": 8,
                        "arch": "shallow",
                        "width": width,
                        "seed": seed,
                        "params": params,
                        "rel_rmse": err,
                        "train_rmse": err,
                        "test_rmse": err,
                        "diverged": False,
                        "optimizer": "lm",
                        "optimisation_limited": False,
                        "estimation_limited": False,
                        "precision_limited": False,
                    }
                )
    table = pd.DataFrame(rows, columns=approx.COLUMNS)
    fits = fit_table(table, approx.Config())
    result = Result(
        kernel="approx",
        rows=table,
        provenance={},
        group_by=approx.GROUP_BY,
        show=approx.SHOW,
        analysis=fits,
        analysis_title="fits",
        analysis_keys=approx.ANALYSIS_KEYS,
        analysis_hidden=approx.ANALYSIS_HIDDEN,
    )
    for width in WIDTHS:
        out = _printed(result, width)
        assert max(len(line) for line in out.splitlines()) <= width
        for _, fit in fits.iterrows():
            assert f"{fmt(fit.alpha)} [{fmt(fit.alpha_lo, 3)}, {fmt(fit.alpha_hi, 3)}]" in out
            assert fit.theory_source in out
        assert "theil" not in out  # the kernel keeps its robust slope in the files, off screen


def _text(grid: layout.Grid, width: int, colour: bool) -> str:
    console = Console(file=io.StringIO(), width=width, color_system="standard" if colour else None)
    render.print_grid(grid, console)
    return console.file.getvalue()


def test_a_one_row_table_that_would_split_prints_as_one_list_and_empty_columns_are_left_out():
    # Issue 33: a one-row fit table split into 2-3 parts at 120 columns, carrying columns empty in every row.
    frame = pd.DataFrame(
        [{"target": "barron", "teacher_k": np.nan, "alpha": 0.61, "alpha_lo": 0.4, "alpha_hi": 0.8, "caveat": ""}
         | {f"quantity_{i}": 1.0 + i for i in range(12)}]
    )  # fmt: skip
    grid = render.frame_grid(frame, "exponent fits", keys=("target",))
    printed = _text(grid, 80, colour=False)
    assert "part 1" not in printed and "teacher" not in printed and "caveat" not in printed
    assert "  alpha [95%]" in printed and "0.61 [0.4, 0.8]" in printed and "quantity 11" in printed
    assert max(len(line) for line in printed.splitlines()) <= 80
    other = frame.assign(target="teacher", **{f"quantity_{i}": 20.0 + i for i in range(12)})
    two = render.frame_grid(pd.concat([frame, other]), "fits", keys=("target",))
    assert "(part 1 of" in _text(two, 80, colour=False)  # many rows still split into parts, as before
    assert "teacher" in frame.columns.str.cat()  # the frame (what files get) keeps every column


def test_theory_lines_keep_their_meaning_without_colour():
    result = distance.run(distance.Config(dims=(2,), n_points=200, n_queries=10, seeds=(0,), id_points=0))
    grid = render.result_grid(result)
    plain, coloured = _text(grid, 120, colour=False), _text(grid, 120, colour=True)
    assert "in parentheses: theory" in plain and "(0.5214)" in plain
    assert "in cyan: theory" in coloured and "(0.5214)" not in coloured


def test_the_targets_list_is_one_table_with_each_exponent():
    from dimcurse.experiments.approx.registered import targets_table

    printed = _text(targets_table(), 120, colour=False)
    assert "part 1" not in printed and "0.5 (bound)" in printed and "[1] Barron 1993" in printed
