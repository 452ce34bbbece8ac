"""The verdict beside every exponent fit: does the measured interval agree with the theory's exponent?

One rule for every fit (a width sweep, a teacher's k, a learning curve, k-NN, the bridge), applied to the
fit's 95 % t interval [lo, hi] and the theory's exponent T, with ``tolerance`` (``--verdict-tolerance``,
0.3 by default):

- a **prediction** (a scaling law claimed for the class: 2/k, 2/ID, 1/ID for k-NN):
  ``disagrees`` when the interval excludes T; ``agrees`` when it contains T and its half-width is at most
  tolerance x T (it can tell T from T x (1 ± tolerance)); ``inconclusive`` when it contains T but is wider;
- a **bound** (a worst case over the class that a given target may beat: Barron's 1/2 for a network):
  ``disagrees`` when the whole interval lies below T; ``agrees`` when it lies at or above T, or contains T
  and is narrow as above; ``inconclusive`` otherwise;
- a **ceiling** (a rate the class cannot beat, e.g. a fixed basis's n^(-1/d) at best): the mirror image;
- ``no theory`` where the fit has no theory exponent; a fit without an exponent or without an interval
  (under 2 replicates) is ``inconclusive``.
"""

from __future__ import annotations

import math

VERDICTS = ("agrees", "disagrees", "inconclusive", "no theory")
KINDS = ("prediction", "bound", "ceiling")
DEFAULT_TOLERANCE = 0.3  # agrees: an interval narrower than +-30 % of the theory's exponent


def verdict(lo: float, hi: float, theory: float, kind: str = "prediction", tolerance: float = DEFAULT_TOLERANCE):
    """One of VERDICTS for the interval [lo, hi] against the theory's exponent (rule: the module's docstring)."""
    if not math.isfinite(theory):
        return "no theory"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    narrow = (hi - lo) / 2 <= tolerance * abs(theory)
    inside = lo <= theory <= hi
    if kind == "bound":
        below, beyond = hi < theory, lo >= theory
    elif kind == "ceiling":
        below, beyond = lo > theory, hi <= theory
    else:
        below, beyond = not inside, False
    if below:
        return "disagrees"
    return "agrees" if beyond or (inside and narrow) else "inconclusive"


def consistent_dimensions(lo: float, hi: float, scale: float) -> tuple[float, float]:
    """The dimensions m whose exponent scale / m lies in [lo, hi]: (scale / hi, scale / lo), inf where lo <= 0."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= 0:
        return math.nan, math.nan
    return scale / hi, (scale / lo if lo > 0 else math.inf)
