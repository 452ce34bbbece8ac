"""Approximation error against width (``dimcurse approx``).

Modules: kernel (the registry entry), targets (the function classes), theory (their rate
exponents), fitting (the exponent fit), baselines (random features, k-NN) and lm
(the Levenberg-Marquardt trainer).

The package re-exports the kernel's contract, so ``dimcurse.experiments.approx.run(Config(...))``
works as before the move; the registry holds the ``kernel`` module itself.
"""

from dimcurse.experiments.approx.kernel import (  # noqa: F401  (the contract, for users)
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
