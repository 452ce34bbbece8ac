"""Training curves out of a result: ``--curves-out FILE`` and ``--tensorboard DIR``.

A kernel that records curves (``--record-every``) puts them in ``result.tables["curves"]``:
one row per (setting, width, seed, step) with the measured values. TensorBoard gets one run
per (setting, width, seed) under DIR, named by its settings, with a scalar per value, so
the curves open in the tool people already use (``tensorboard --logdir DIR``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dimcurse.errors import DimcurseError

STEP_COLUMNS = ("step", "epoch")  # approx counts optimiser steps, overparam epochs
VALUES = ("train_rmse", "test_rmse", "rel_rmse", "train_loss", "train_error", "test_loss", "test_error")


def check_tensorboard(option: str = "--tensorboard"):
    """The SummaryWriter, or a one-line error naming the extra (checked before any work)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise DimcurseError(
            "TensorBoard files need the tensorboard package: pip install 'dimcurse[tensorboard]'", option
        ) from None
    return SummaryWriter


def curves_of(result, option: str) -> pd.DataFrame:
    """The result's curves table, or an error saying how to record one."""
    curves = result.tables.get("curves")
    if curves is None or not len(curves):
        raise DimcurseError("this run recorded no training curves; add --record-every N", option)
    return curves


def write_tensorboard(curves: pd.DataFrame, folder: str | Path) -> int:
    """Event files, one run per (setting, width, seed); returns how many runs were written."""
    writer_class = check_tensorboard()
    step = next(c for c in STEP_COLUMNS if c in curves)
    values = [c for c in VALUES if c in curves and curves[c].notna().any()]
    keys = [c for c in curves.columns if c not in values and c not in (step, "trainer")]
    runs = 0
    for key, group in curves.groupby(keys, sort=False, dropna=False):  # teacher_k is empty off the teachers
        pairs = zip(keys, key if isinstance(key, tuple) else (key,))
        name = ",".join(f"{k}={v}" for k, v in pairs if not pd.isna(v))  # an empty setting is left out
        writer = writer_class(log_dir=str(Path(folder) / name))
        for _, row in group.sort_values(step).iterrows():
            for value in values:
                if pd.notna(row[value]):
                    writer.add_scalar(value, float(row[value]), global_step=int(round(float(row[step]))))
        writer.close()
        runs += 1
    return runs
