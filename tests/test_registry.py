"""Conformance of every registered kernel: interface, schema, determinism, finite values."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from dimcurse.experiments import REGISTRY
from dimcurse.results import Result

KERNELS = sorted(REGISTRY)


@pytest.mark.parametrize("name", KERNELS)
def test_interface(name):
    kernel = REGISTRY[name]
    assert kernel.KERNEL == name and isinstance(kernel.VERSION, int)
    assert dataclasses.is_dataclass(kernel.Config) and kernel.Config.__dataclass_params__.frozen
    kernel.validate(kernel.Config())  # the defaults are valid
    for name_, _ in kernel.SHOW:
        assert name_ in kernel.COLUMNS


@pytest.mark.parametrize("name", KERNELS)
def test_smoke_run_schema_and_determinism(name):
    kernel = REGISTRY[name]
    first, second = kernel.run(kernel.SMOKE), kernel.run(kernel.SMOKE)
    assert isinstance(first, Result) and list(first.rows.columns) == kernel.COLUMNS
    assert len(first.rows) > 0 and first.provenance["kernel_version"] == kernel.VERSION
    timing = [c for c in first.rows.columns if c.endswith("_s")]  # wall times differ run to run
    pd.testing.assert_frame_equal(first.rows.drop(columns=timing), second.rows.drop(columns=timing))
    assert first.nullable == kernel.NULLABLE  # the run hands its contract to the result layer, which checks it
    defined = [c for c in first.rows.select_dtypes("number").columns if c not in kernel.NULLABLE]
    assert np.isfinite(first.rows[defined].to_numpy(dtype=float)).all()
    assert set(first.provenance["config"]) == {f.name for f in dataclasses.fields(kernel.Config)}


# --------------------------------------------------------------------------- the sealed contract


def _toy_kernel():
    """A fourth kernel defined here: the mean of n uniform draws, against its theory 1/2."""
    import types

    import torch

    from dimcurse.provenance import provenance

    @dataclasses.dataclass(frozen=True)
    class ToyConfig:
        n: int = 100
        seeds: tuple[int, ...] = (0, 1, 2)

    module = types.ModuleType("toy")

    def run(config, device="cpu", progress=None):
        rows = []
        for seed in config.seeds:
            gen = torch.Generator().manual_seed(seed)
            draws = torch.rand(config.n, generator=gen, dtype=torch.float64)
            rows.append(
                {
                    "n": config.n,
                    "seed": seed,
                    "mean": float(draws.mean()),
                    "theory_mean": 0.5,
                    "kernel_version": module.VERSION,
                }
            )
        return Result(
            kernel="toy",
            rows=pd.DataFrame(rows, columns=module.COLUMNS),
            provenance=provenance("toy", module.VERSION, config, device),
            group_by=module.GROUP_BY,
            show=module.SHOW,
            nullable=module.NULLABLE,
        )

    def figure(result):
        from dimcurse import plot

        fig, ax = plot.pyplot().subplots()
        ax.plot(result.rows["seed"], result.rows["mean"], label="mean")
        return fig

    module.__dict__.update(
        KERNEL="toy",
        VERSION=1,
        Config=ToyConfig,
        SMOKE=ToyConfig(n=10, seeds=(0,)),
        run=run,
        figure=figure,
        validate=lambda config: None,
        estimate_bytes=lambda config, device="cpu": (8.0 * config.n, "n"),
        COLUMNS=["n", "seed", "mean", "theory_mean", "kernel_version"],
        SHOW=[("mean", "theory_mean")],
        GROUP_BY=["n"],
        SETTINGS=["n", "kernel_version"],
        NULLABLE={},
    )
    return module


@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_keeps_the_contract(name):
    from dimcurse.experiments import Kernel, missing_members

    assert missing_members(REGISTRY[name]) == [] and isinstance(REGISTRY[name], Kernel)


def test_a_fourth_kernel_runs_reports_compares_and_plots_with_no_change_to_dimcurse(cli, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from dimcurse.experiments import missing_members

    toy = _toy_kernel()
    assert missing_members(toy) == []
    monkeypatch.setitem(REGISTRY, "toy", toy)  # the one registry entry
    sweep = tmp_path / "toy.toml"
    sweep.write_text(
        '[[experiment]]\nname = "toy"\nkernel = "toy"\n[experiment.grid]\nn = [10, 1000]\nseeds = [0, 1, 2]\n'
    )
    for store in ("a", "b"):
        code, out, err = cli("batch", str(sweep), "--store", str(tmp_path / store), "--quiet", "--device", "cpu")
        assert code == 0, err
    code, out, err = cli("report", str(tmp_path / "a"))
    assert code == 0 and "dimcurse toy" in out and "0.5" in out  # the theory value under the means
    code, out, err = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--fail-if", "mean:ratio>1.0001")
    assert code == 0 and "B / A" in out
    code, out, err = cli("plot", str(tmp_path / "a"), "--out", str(tmp_path / "toy.png"))
    assert code == 0 and (tmp_path / "toy.png").stat().st_size > 1000
    code, out, err = cli("report", str(tmp_path / "a"), "--rows", "--out", str(tmp_path / "rows.csv"))
    assert code == 0 and len(pd.read_csv(tmp_path / "rows.csv")) == 6


# --------------------------------------------------------------------------- the nullable contract


@pytest.mark.parametrize("name", KERNELS)
def test_nullable_columns_are_real_columns_with_reasons(name):
    kernel = REGISTRY[name]
    for column, entry in kernel.NULLABLE.items():
        reason, flag = (entry, None) if isinstance(entry, str) else entry
        assert column in kernel.COLUMNS and len(reason) > 5
        assert flag is None or flag in kernel.COLUMNS


def _rows(**values):
    return pd.DataFrame({"n": [10, 20], "seed": [0, 1], **values})


def test_a_value_outside_the_contract_raises_under_strict(monkeypatch):
    from dimcurse.results import UndefinedValue

    monkeypatch.setenv("DIMCURSE_STRICT", "1")
    with pytest.raises(UndefinedValue, match="mean"):
        Result(kernel="toy", rows=_rows(mean=[1.0, np.inf]), provenance={}, nullable={})
    with pytest.raises(UndefinedValue, match="mean"):
        Result(kernel="toy", rows=_rows(mean=[1.0, np.nan]), provenance={}, nullable={})
    with pytest.raises(UndefinedValue):  # nullable allows NaN, never inf
        Result(kernel="toy", rows=_rows(mean=[1.0, -np.inf]), provenance={}, nullable={"mean": "a reason"})
    with pytest.raises(UndefinedValue):  # a flagged entry allows NaN only where its flag is set
        Result(
            kernel="toy",
            rows=_rows(mean=[np.nan, 1.0], dead=[False, True]),
            provenance={},
            nullable={"mean": ("diverged", "dead")},
        )
    Result(
        kernel="toy",
        rows=_rows(mean=[1.0, np.nan], dead=[False, True]),
        provenance={},
        nullable={"mean": ("diverged", "dead")},
    )
    Result(kernel="toy", rows=_rows(mean=[1.0, np.nan]), provenance={}, nullable={"mean": "a reason"})
    Result(kernel="toy", rows=_rows(mean=[1.0, np.inf]), provenance={})  # rows read from a file: not a kernel's run


def test_in_use_a_value_outside_the_contract_is_blanked_flagged_and_noted(monkeypatch):
    monkeypatch.delenv("DIMCURSE_STRICT", raising=False)
    result = Result(kernel="toy", rows=_rows(mean=[1.0, np.inf], sd=[np.nan, 2.0]), provenance={}, nullable={})
    assert np.isnan(result.rows["mean"][1]) and result.rows["mean"][0] == 1.0
    assert list(result.rows["undefined"]) == ["sd", "mean"]
    assert "mean (1 row(s))" in result.notes[0] and "bug" in result.notes[0]


def test_the_suite_runs_strict():
    import os

    assert os.environ.get("DIMCURSE_STRICT") == "1"  # set in conftest, so no kernel's inf or NaN goes unnoticed


# The modules that speak for kernels by name: the commands, the tour's story and the Python API.
NAMES_KERNELS = {"cli.py", "tour.py", "api.py", "__init__.py", "__main__.py"}


def test_no_generic_module_imports_a_kernel():
    """plot, render, report, store … reach a kernel only through REGISTRY (issue 26): its figure, its
    targets table and its summary live in its own package, experiments/<kernel>/."""
    import ast
    from pathlib import Path

    import dimcurse

    offenders = []
    for path in sorted(Path(dimcurse.__file__).parent.glob("*.py")):
        if path.name in NAMES_KERNELS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("dimcurse.experiments.")]
    assert not offenders, offenders
