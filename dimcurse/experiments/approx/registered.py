"""Targets a user adds (``dimcurse.register_target``, or a plugin's ``dimcurse.targets`` entry point),
and the table ``dimcurse approx --list-targets`` prints."""

from __future__ import annotations

import textwrap

from typing import Callable

import torch

from dimcurse import layout
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx.plan import DEFAULT_DIM
from dimcurse.experiments.approx.targets import TARGETS, Target, TargetOptions
from dimcurse.experiments.approx.verdict import KINDS
from dimcurse.plugins import load_entry_points, plugin_name


def register_target(
    name: str,
    fn: Callable,
    *,
    dim: int | None = None,
    domain: tuple[float, float] = (-1.0, 1.0),
    formula: str = "",
    source: str = "",
    theory=None,
) -> None:
    """Add a target function. ``theory``: an exponent, ``(exponent, source)`` or ``(exponent, source,
    "prediction"|"bound"|"ceiling")`` for the fit table and its verdict (docs/approx.md), or a callable
    ``(dim, arch) -> one of those or None``."""
    key = plugin_name(name, "target")
    if key in TARGETS and not getattr(TARGETS[key], "registered", False):
        raise DimcurseError(f"{key!r} is a built-in target; choose another name", "--target")
    if not callable(fn):
        raise DimcurseError(f"the target {key!r} needs a function of an (n, d) tensor", "--target")
    low, high = (float(v) for v in domain)
    if not low < high:
        raise DimcurseError(f"the domain of {key!r} must be (low, high) with low < high, got {domain}", "--target")
    target = Target(
        key,
        formula or "a registered function",
        source or "registered with dimcurse.register_target",
        low,
        high,
        dim,
        lambda d, opts: _checked(fn, key),
        theory=_theory(theory, key),
    )
    object.__setattr__(target, "registered", True)
    TARGETS[key] = target


def _checked(fn: Callable, name: str) -> Callable:
    """The user's function, with its output checked: one value per row, finite."""

    def target(x: torch.Tensor) -> torch.Tensor:
        try:
            y = torch.as_tensor(fn(x), dtype=torch.float64)
        except Exception as exc:
            raise DimcurseError(
                f"target {name!r} failed on an input of shape {tuple(x.shape)} ({type(exc).__name__}: {exc})",
                "--target",
            ) from None
        if y.shape != (x.shape[0],):
            raise DimcurseError(
                f"target {name!r} returned shape {tuple(y.shape)} for {x.shape[0]} points; "
                f"it must return one value per row",
                "--target",
            )
        if not torch.isfinite(y).all():
            raise DimcurseError(f"target {name!r} returned NaN or inf", "--target")
        return y

    return target


def _theory(theory, name: str):
    """The Target.theory callable (dim, opts, arch) -> (exponent, source[, kind]) | None."""
    if theory is None:
        return lambda d, o, a: None
    if callable(theory):
        return lambda d, o, a: _theory_tuple(theory(d, a), name)
    fixed = _theory_tuple(theory, name)
    return lambda d, o, a: fixed if a in ("shallow", "deep", "tree") else None


def _theory_tuple(value, name: str):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (float(value), f"given with register_target({name!r})", "prediction")
    value = tuple(value)
    if len(value) == 2:
        return (float(value[0]), str(value[1]), "prediction")
    if str(value[2]) not in KINDS:
        raise DimcurseError(
            f"the theory of {name!r} has kind {value[2]!r}; a kind is one of {', '.join(KINDS)}", "--target"
        )
    return (float(value[0]), str(value[1]), str(value[2]))


def targets_table() -> layout.Grid:
    """What ``dimcurse approx --list-targets`` prints, one table (formulas wrapped, sources as footnotes), with
    each target's theoretical exponent for shallow networks at its default d and options; plugins' targets
    included."""
    load_entry_points()
    rows, sources = [], []
    for t in TARGETS.values():
        if t.source not in sources:
            sources.append(t.source)
        dim = str(t.fixed_dim) if t.fixed_dim else ("2^m (tree)" if t.tree else "any")
        rows.append(
            [
                layout.Cell([t.name]),
                layout.Cell([dim]),
                layout.Cell([f"[{t.low:.3g}, {t.high:.3g}]^d"]),
                layout.Cell([_exponent(t)]),
                layout.Cell(textwrap.wrap(t.formula, FORMULA_WIDTH) or [""]),
                layout.Cell([f"[{sources.index(t.source) + 1}]"]),
            ]
        )
    headers = ["name", "d", "domain", f"alpha (shallow, d = {DEFAULT_DIM} if any)", "formula", "source"]
    return layout.Grid("dimcurse approx targets", headers, rows, n_keys=1, footnotes=sources)


FORMULA_WIDTH = 40  # a formula's lines: the table fits 120 columns in one part


def _exponent(target) -> str:
    """The theory's exponent for a shallow network at the target's default d and options: "0.5 (bound)"."""
    try:
        theory = target.theory(target.fixed_dim or DEFAULT_DIM, TargetOptions(), "shallow")
    except Exception:  # a plugin's theory hook may not take the defaults; the listing must still print
        return "?"
    if not theory:
        return ""
    kind = theory[2] if len(theory) > 2 else "prediction"
    return f"{theory[0]:.3g} ({kind})"
