"""Overparameterisation and double descent (``dimcurse overparam``; docs/overparam.md).

Every kernel package has the same shape (docs/architecture.md). Here:

- ``kernel``: the contract (validate, prepare, estimate_bytes, run, the columns), through
  ``experiments.contract``;
- the data: ``task`` (the sweep's sizes, the data, each seed's subset and label noise);
- the compute: ``models`` (the linear, random-features, k-NN and trained runners), ``classifier``
  (the batched MLP classifiers and the mini-batch trainer), ``cnn`` (the batched convolutional nets),
  ``ridge`` (the min-norm / ridge solver) and ``gd`` (gradient descent on least squares in closed form);
- the summary: ``summary`` (the per-width summary and the notes);
- ``theory`` (Hastie et al.'s closed forms) and ``figure``.

The package re-exports the kernel's contract, so ``dimcurse.experiments.overparam.run(Config(...))``
works; the registry holds the ``kernel`` module itself.
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
