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
    optional = getattr(kernel, "OPTIONAL", ())  # columns a kernel documents as NaN where not applicable or never reached
    measured = [c for c in first.rows.select_dtypes("number").columns if not c.startswith("theory_") and c not in optional]
    assert np.isfinite(first.rows[measured].to_numpy(dtype=float)).all()
    assert set(first.provenance["config"]) == {f.name for f in dataclasses.fields(kernel.Config)}
