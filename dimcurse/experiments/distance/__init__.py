"""Distance concentration (``dimcurse distance``; docs/distance.md).

Every kernel package has the same shape (docs/architecture.md). Here:

- ``kernel``: the contract (validate, prepare, estimate_bytes, run, the columns), through
  ``experiments.contract``;
- the data: ``sets`` (synthetic draws, a real set's points and queries, its matched Gaussian);
- the compute: ``neighbours`` (exact chunked distances, the certified nearest and farthest, the
  k-NN graph), ``estimators`` (TwoNN, Levina–Bickel, hubness) and ``intrinsic`` (the ID measure
  approx's bridge shares);
- the summary: ``summary`` (a set's row per metric, its histogram, the notes);
- ``theory`` (closed forms of the moments, Francois's limit) and ``figure``.

The package re-exports the kernel's contract, so ``dimcurse.experiments.distance.run(Config(...))``
works; the registry holds the ``kernel`` module itself.
"""

from dimcurse.experiments.distance.kernel import (  # noqa: F401  (the contract, for users)
    COLUMNS,
    GROUP_BY,
    KERNEL,
    NULLABLE,
    SETTINGS,
    SHOW,
    SMOKE,
    VERSION,
    Config,
    estimate_bytes,
    run,
    validate,
)
