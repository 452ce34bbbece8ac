"""Shared fixtures. Tests run torch on one thread: small operations stall on two under load."""

from __future__ import annotations

import contextlib
import io
import os

import pytest
import torch

torch.set_num_threads(1)
# pytest-xdist's workers (python -m pytest runs on both cores: pyproject.toml's addopts) get COLUMNS=80 and
# LINES=24 from execnet; a serial run has neither, and the tables fit 120 columns then (render.console).
if os.environ.get("PYTEST_XDIST_WORKER"):
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
# A kernel's non-finite value outside its NULLABLE contract raises here (in use it is blanked and
# flagged): results.check_defined. Subprocesses the tests start inherit it.
os.environ["DIMCURSE_STRICT"] = "1"


@pytest.fixture
def cli():
    """Run ``dimcurse ARGS`` in-process like a user: returns (exit code, stdout, stderr)."""
    from dimcurse.cli import main

    def invoke(*args: str):
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, out.getvalue(), err.getvalue()

    return invoke


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
