"""Overparameterisation and double descent (``dimcurse overparam``).

Modules: kernel (the registry entry), task (data, subsets and label noise), models (the
linear, random-features and trained runners), summary (the per-width summary and notes),
ridge (the min-norm / ridge solver), theory (Hastie et al.'s closed forms) and cnn
(the batched convolutional nets).

The package re-exports the kernel's contract, so ``dimcurse.experiments.overparam.run(Config(...))``
works as before the move; the registry holds the ``kernel`` module itself.
"""

from dimcurse.experiments.overparam.kernel import (  # noqa: F401  (the contract, for users)
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
