"""Experiment kernels, one module each, listed explicitly in ``REGISTRY``.

Each module exports ``Config`` (a frozen dataclass), ``validate(config)``,
``run(config, device=..., progress=...) -> Result`` and ``VERSION`` (bumped whenever
its maths changes, so stored results of an older version are never mixed in).
"""

from dimcurse.experiments import distance

REGISTRY = {
    "distance": distance,
}
