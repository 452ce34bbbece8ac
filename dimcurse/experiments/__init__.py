"""Experiment kernels, one module each, listed explicitly in ``REGISTRY``.

Each module exports ``Config`` (a frozen dataclass), ``validate(config)``,
``run(config, device=..., progress=...) -> Result``, ``VERSION`` (bumped whenever
its maths changes, so stored results of an older version are never mixed in),
``KERNEL`` (its name), ``COLUMNS`` (the output contract) and ``SMOKE`` (a tiny config
for smoke tests).
"""

from dimcurse.experiments import approx, distance, overparam

REGISTRY = {
    "distance": distance,
    "approx": approx,
    "overparam": overparam,
}
