"""Theory of ``dimcurse approx``: the rate exponent alpha of RMSE ~ size^-alpha per target and architecture.

Each function takes (dim, TargetOptions, arch) and returns (alpha, source[, kind]) or None where
no rate is claimed. The kind (``verdict.KINDS``) says what the exponent is: "prediction" (the default: a
scaling law for generic members of the class), "bound" (a worst case over the class that a given target may
beat: alpha at least this) or "ceiling" (a rate the class cannot beat: alpha at most this for its worst
member).
The targets themselves are in ``targets``.
"""

from __future__ import annotations


def barron_theory(dim, opts, arch):
    if arch in ("shallow", "deep"):
        return 0.5, "Barron 1993: RMSE ~ width^-1/2 for any d", "bound"
    if arch == "random-features":
        return 1.0 / dim, "Barron 1993: fixed bases cannot beat RMSE ~ n^-1/d", "ceiling"
    if arch == "knn":
        return 1.0 / dim, "1-NN on a smooth target of d inputs: RMSE ~ n^-1/d (Kpotufe 2011, noiseless)"
    return None


def teacher_theory(dim, opts, arch):
    if arch in ("shallow", "deep"):
        return 2.0 / opts.teacher_k, "Sharma & Kaplan 2020: RMSE ~ N^-2/k (ReLU, smooth f of k coordinates)"
    return _fixed_basis(dim, arch)


def _fixed_basis(dim, arch):
    """A fixed basis on inputs of dimension d (the cube's): random features at best, k-NN exactly n^-1/d."""
    if arch == "random-features":
        return 1.0 / dim, "fixed basis on inputs of dimension d: RMSE ~ n^-1/d at best", "ceiling"
    if arch == "knn":
        return 1.0 / dim, "1-NN on a smooth target of d inputs: RMSE ~ n^-1/d (Kpotufe 2011, noiseless)"
    return None


def ridge_teacher_theory(dim, opts, arch):
    """A sum of m ridge functions: a shallow ReLU network approximates each one-dimensional profile by
    piecewise-linear pieces, so RMSE ~ N^-2 once N covers the m ridges, whatever k is; 2/k is a lower
    bound for it (it is also a smooth function of k coordinates)."""
    if arch in ("shallow", "deep"):
        return 2.0 / opts.teacher_k, "Sharma & Kaplan 2020: 2/k; a sum of 32 ridges can beat it (up to 2)", "bound"
    return _fixed_basis(dim, arch)


def tree_theory(dim, opts, arch):
    if arch == "tree":
        return 1.0, "Poggio et al. 2017 + Sharma & Kaplan: 2-input nodes, RMSE ~ N^-2/2 (ReLU)"
    if arch in ("shallow", "deep"):
        # A worst case over the d-input class: a compositional member may be easier (alpha at least 2/d).
        return 2.0 / dim, "Poggio et al. 2017 Thm 1 / Sharma & Kaplan: generic d-input, RMSE ~ N^-2/d (ReLU)", "bound"
    return None
