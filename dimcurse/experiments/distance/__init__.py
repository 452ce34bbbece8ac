"""Distance concentration (``dimcurse distance``).

Modules: kernel (the registry entry), neighbours (exact k-NN and query statistics), estimators
(TwoNN, Levina-Bickel, hubness) and theory (closed forms of the moments, Francois's limit).

The package re-exports the kernel's contract, so ``dimcurse.experiments.distance.run(Config(...))``
works as before the move; the registry holds the ``kernel`` module itself.
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
