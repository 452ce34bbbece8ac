"""Approximation error against width (``dimcurse approx``; docs/approx.md).

Every kernel package has the same shape (docs/architecture.md). Here:

- ``kernel``: the contract (validate, prepare, estimate_bytes, run, the columns), through
  ``experiments.contract``;
- the plan: ``plan`` (one ``Plan`` per run: settings, widths, samples, trainers, replicates, inputs,
  each stage's estimated work), ``schedule`` (the jobs in order, a learning curve's extensions),
  ``data`` (samples, a user's file, splits), ``inputs`` (--inputs point sets), ``targets``
  (the function classes) and ``registered`` (a user's targets);
- the compute: ``networks`` (the batched regressors, Adam and LBFGS), ``lm`` (Levenberg–Marquardt and
  the damped iteration it shares with ``gn``, matrix-free Gauss–Newton), ``training`` (a sweep's
  trainers, the baselines, progress), ``convergence`` (when a model has trained enough),
  ``baselines`` (random features, k-NN) and ``bridge`` (the inputs' measured intrinsic dimension);
- the fits: ``fits`` (the fit table, its limits and notes), ``fitting`` (the exponent and its
  interval), ``verdict`` (agrees, disagrees, inconclusive);
- ``theory`` (the rate exponents) and ``figure``.

The package re-exports the kernel's contract, so ``dimcurse.experiments.approx.run(Config(...))``
works; the registry holds the ``kernel`` module itself.
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
