"""Small helpers shared by the test modules."""

import numpy as np


def pick_one(frame, **where):
    """The single row of ``frame`` matching every column=value in ``where`` (asserts there is exactly one)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= frame[column] == value
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]
