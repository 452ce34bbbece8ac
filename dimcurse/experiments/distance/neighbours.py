"""Chunked query-to-point distance statistics with exact extremes.

For every query the engine streams over the points in chunks on the device and keeps,
per query, the k smallest and k largest distances seen so far plus running sums for
the mean, spread and power moments; no q x n matrix is ever held.

Exactness (docs/references.md, "Numerical traps"): L2 and cosine use a matrix product
(``|x|^2 + |y|^2 - 2 x.y`` on centred data, or ``1 - x^.y^``), which can be wrong by
far more than float32's 1e-7 for near-duplicates or for many points in low dimension.
So the k candidates of each extreme are recomputed exactly (direct differences in
float64), and the result is *certified*: if the best exact candidate does not beat
the k-th approximate value by the rounding bound, the query is recomputed exactly
against all points. L1, Lp and L-infinity are computed directly (no cancellation) and
their selected extremes are also recomputed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from dimcurse.errors import DimcurseError
from dimcurse.parsing import did_you_mean
from dimcurse.memory import OUT_OF_MEMORY

# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    """A parsed ``--metric``: ``l2``, ``l1``, ``linf``, ``lp:P`` (any P > 0) or ``cosine``."""

    kind: str
    p: float | None = None

    @property
    def name(self) -> str:
        return f"lp:{self.p:g}" if self.kind == "lp" else self.kind

    @property
    def power(self) -> float | None:
        """The exponent of the power moments: D^2 for l2, D for l1 and cosine, D^p for lp; none for linf."""
        return {"l2": 2.0, "l1": 1.0, "cosine": 1.0, "lp": self.p}.get(self.kind)

    @property
    def uses_matmul(self) -> bool:
        return self.kind in ("l2", "cosine")

    @property
    def norm_order(self) -> float | None:
        """The p of the L_p norm (inf for linf); None for cosine, which is not a norm."""
        return {"l2": 2.0, "l1": 1.0, "linf": math.inf, "lp": self.p}.get(self.kind)


METRICS = {
    "l2": "Euclidean distance",
    "l1": "Manhattan distance",
    "linf": "Chebyshev distance max_i |x_i - y_i|",
    "lp:P": "Minkowski (sum_i |x_i - y_i|^P)^(1/P), any P > 0 (P < 1 is a quasi-norm)",
    "cosine": "1 - cos(angle) = |x/|x| - y/|y||^2 / 2",
}


def parse_metric(text: str, option: str = "--metric") -> Metric:
    """Parse a metric name; ``lp:2``, ``lp:1`` and ``lp:inf`` become l2, l1 and linf."""
    name = str(text).strip().lower()
    if name in ("l2", "l1", "linf", "cosine"):
        return Metric(name)
    kind, _, value = name.partition(":")
    if kind == "lp":
        try:
            p = float(value)
        except ValueError:
            raise DimcurseError(f"{text!r} needs a number P > 0, as in lp:0.5", option) from None
        if not p > 0 or math.isnan(p):
            raise DimcurseError(f"{text!r} needs a number P > 0, as in lp:0.5", option)
        if math.isinf(p):
            return Metric("linf")
        return {1.0: Metric("l1"), 2.0: Metric("l2")}.get(p, Metric("lp", p))
    raise DimcurseError(f"unknown metric {text!r}{did_you_mean(text, METRICS)} (known: {', '.join(METRICS)})", option)


# --------------------------------------------------------------------------- exact distances


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm; a zero row stays zero (cosine distance 1 to everything)."""
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)


def exact_distances(a: torch.Tensor, b: torch.Tensor, metric: Metric) -> torch.Tensor:
    """Distances between matching rows of ``a`` and ``b`` (broadcast), by direct differences in float64."""
    a, b = a.double(), b.double()
    if metric.kind == "cosine":
        # |a^ - b^|^2 / 2 equals 1 - cos without the cancellation of 1 - a^.b^.
        return torch.sum((_unit_rows(a) - _unit_rows(b)) ** 2, dim=-1) / 2
    diff = (a - b).abs()
    if metric.kind == "linf":
        return diff.amax(dim=-1)
    if metric.kind == "l1":
        return diff.sum(dim=-1)
    if metric.kind == "l2":
        return torch.sqrt(torch.sum(diff * diff, dim=-1))
    if not LP_DIRECT[0] <= metric.p <= LP_DIRECT[1]:
        return _lp_scaled(diff, metric.p)
    return torch.sum(diff**metric.p, dim=-1) ** (1.0 / metric.p)


# Inside this range of P the direct (sum |d|^P)^(1/P) is exact in float64 for the data here; outside it
# |d|^P underflows (large P) or the root overflows (small P), so distances are scaled by the largest term.
LP_DIRECT = (0.05, 16.0)
LP_BLOCK = 1 << 22  # elements of one block of |q - x| differences on the scaled path (32 MiB in float64)


def _lp_scaled(diff: torch.Tensor, p: float) -> torch.Tensor:
    """(sum_i d_i^p)^(1/p) as m (sum_i (d_i / m)^p)^(1/p), m = max_i d_i: the sum lies in [1, d], so no
    term underflows for large p and the root is at most d^(1/p) times m for small p (float64)."""
    top = diff.amax(dim=-1, keepdim=True)
    scaled = torch.where(top > 0, diff / top.clamp_min(torch.finfo(diff.dtype).tiny), torch.zeros_like(diff))
    return top[..., 0] * torch.sum(scaled**p, dim=-1) ** (1.0 / p)


def lp_chunk(q: torch.Tensor, x: torch.Tensor, p: float) -> torch.Tensor:
    """The q x c matrix of lp distances on the scaled path, in row blocks of at most LP_BLOCK differences."""
    out = torch.empty(q.shape[0], x.shape[0], dtype=torch.float64, device=q.device)
    rows = max(1, LP_BLOCK // max(1, x.shape[0] * x.shape[1]))
    xd = x.double()
    for start in range(0, q.shape[0], rows):
        diff = (q[start : start + rows, None, :].double() - xd[None]).abs()
        out[start : start + rows] = _lp_scaled(diff, p)
    return out


def lp_range(dim: int) -> float:
    """The smallest P whose distances stay inside float64 at dimension ``dim``: D <= d^(1/P) max|d_i|, and
    D^2 (for the spread) must stay below ~1e154, so (1/P) ln d <= 340 (leaving room for coordinates ~1e6)."""
    return math.log(dim) / 340.0 if dim > 1 else 0.0


# --------------------------------------------------------------------------- chunk plan


class ChunkPlan:
    """The block of distances held at once (elements), halved whenever the device runs out of memory.

    One plan can be shared by every call of a run, so a size that failed once is not tried again.
    ``halvings`` counts the halvings; ``elems`` is the size in use now.
    """

    def __init__(self, elems: int):
        self.elems = self.first = int(elems)
        self.halvings = 0

    def width(self, q_block: int) -> int:
        """Points per chunk for a block of ``q_block`` queries."""
        return max(1, self.elems // q_block)

    def scan(self, n_points: int, q_block: int, step: Callable[[slice], Callable[[], None]]) -> None:
        """Call ``step`` on consecutive point slices; it computes and returns a commit, run only on success.

        On out-of-memory the slice is retried at half the width (the failed step's partial work
        is discarded with it); at a width of one point the error is raised.
        """
        start = 0
        while start < n_points:
            width = self.width(q_block)
            part = slice(start, min(n_points, start + width))
            try:
                commit = step(part)
            except OUT_OF_MEMORY:
                if width == 1:
                    raise
                failed = True
            else:
                failed = False
            if failed:  # outside the except block, so the failed step's tensors are already freed
                self.elems = (width // 2) * q_block
                self.halvings += 1
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            commit()
            start = part.stop


# --------------------------------------------------------------------------- chunked engine


@dataclass
class _Prepared:
    """Working copies for the chunk loop.

    l2: queries centred on the points' mean; each point chunk is centred as it is read
    (no second copy of the points), and the largest centred squared norm seen is kept
    for the rounding bound. cosine: unit-norm rows.
    """

    queries: torch.Tensor
    points: torch.Tensor
    gamma: float  # relative rounding bound of one length-d dot product
    centre: torch.Tensor | None = None
    q_sq: torch.Tensor | None = None
    p_sq_max: float = 0.0

    def rounding(self, metric: Metric) -> torch.Tensor:
        """Per-query bound on |approximate key - exact key| (float64)."""
        if metric.kind == "l2":
            return self.gamma * 2 * (self.q_sq.double() + self.p_sq_max)
        return torch.full((self.queries.shape[0],), 2 * self.gamma, dtype=torch.float64, device=self.queries.device)


def _prepare(queries: torch.Tensor, points: torch.Tensor, metric: Metric) -> _Prepared:
    dim = points.shape[1]
    unit = torch.finfo(points.dtype).eps / 2
    # Probabilistic bound on the rounding of a length-d dot product (Higham & Mary 2019:
    # ~ lambda * sqrt(d) * u), with lambda = 8 so a violation is practically impossible.
    gamma = (8.0 * math.sqrt(dim) + 8.0) * unit
    if metric.kind == "l2":
        # Centring cuts the expansion's error 3-4x; any nearby centre does, so the mean of
        # the first 64k points (no float64 copy of all points) is enough.
        centre = points[:65536].mean(dim=0)
        q = queries - centre
        return _Prepared(q, points, gamma, centre=centre, q_sq=(q * q).sum(1))
    if metric.kind == "cosine":
        return _Prepared(_unit_rows(queries), _unit_rows(points), gamma)
    if metric.kind == "lp" and not LP_DIRECT[0] <= metric.p <= LP_DIRECT[1]:
        return _Prepared(queries.double(), points.double(), gamma)  # the scaled path runs in float64
    if metric.kind == "lp" and metric.p < 1 and points.dtype == torch.float32:
        # (sum |d|^p)^(1/p) overflows float32 for small p (torch.cdist does): work in float64.
        return _Prepared(queries.double(), points.double(), gamma)
    return _Prepared(queries, points, gamma)


def _chunk_keys(prep: _Prepared, q_slice: slice, p_slice: slice, metric: Metric) -> torch.Tensor:
    """The q x c matrix of keys: squared distance for l2, the distance itself otherwise."""
    q, x = prep.queries[q_slice], prep.points[p_slice]
    if metric.kind == "l2":
        x = x - prep.centre  # cache-sized chunk: cheaper than a centred copy of all points
        x_sq = (x * x).sum(1)
        prep.p_sq_max = max(prep.p_sq_max, float(x_sq.max()))
        keys = torch.addmm(x_sq, q, x.T, alpha=-2.0)
        return keys.add_(prep.q_sq[q_slice, None]).clamp_min_(0.0)
    if metric.kind == "cosine":
        return torch.addmm(torch.ones((), dtype=q.dtype, device=q.device), q, x.T, alpha=-1.0).clamp_min_(0.0)
    if metric.kind == "lp" and not LP_DIRECT[0] <= metric.p <= LP_DIRECT[1]:
        return lp_chunk(q, x, metric.p)
    p = math.inf if metric.kind == "linf" else metric.norm_order
    # cdist's p-norm path computes differences directly (no matrix-product cancellation).
    return torch.cdist(q, x, p=p, compute_mode="donot_use_mm_for_euclid_dist")


def _merge_top(vals, idx, keys: torch.Tensor, offset: int, k: int, largest: bool):
    """Keep the k smallest (or largest) of the running candidates and a chunk's keys.

    The chunk is reduced to its own top k first, so only q x 2k values are ever merged
    (no q x c index matrix is materialised).
    """
    k_chunk = min(k, keys.shape[1])
    new_vals, pos = torch.topk(keys, k_chunk, dim=1, largest=largest, sorted=vals is None)
    new_idx = pos + offset
    if vals is None:
        return new_vals, new_idx
    both_vals, both_idx = torch.cat([vals, new_vals], 1), torch.cat([idx, new_idx], 1)
    top_vals, where = torch.topk(both_vals, min(k, both_vals.shape[1]), dim=1, largest=largest, sorted=True)
    return top_vals, torch.gather(both_idx, 1, where)


@dataclass
class QueryStats:
    """Per-query results (float64 numpy arrays of length q) and pooled power moments.

    ``nn``/``far``: exact nearest and farthest distances and their point indices.
    ``mean``/``sd``: mean and standard deviation of each query's n distances.
    ``pow_mean``/``pow_var``: mean and variance of D^power over all q x n pairs
    (``Metric.power``; NaN for linf). ``n_exact_fallback``: queries whose candidates
    could not be certified and were recomputed exactly against all points.
    """

    nn: np.ndarray
    nn_index: np.ndarray
    far: np.ndarray
    far_index: np.ndarray
    mean: np.ndarray | None
    sd: np.ndarray | None
    pow_mean: float
    pow_var: float
    n_exact_fallback: int


class _Sums:
    """Running float64 sums per query: D, D^2, D^power, D^(2 power)."""

    def __init__(self, n_queries: int, device):

        def zeros():
            return torch.zeros(n_queries, dtype=torch.float64, device=device)

        self.d, self.d2, self.pw, self.pw2 = zeros(), zeros(), zeros(), zeros()

    @staticmethod
    def parts(keys: torch.Tensor, metric: Metric) -> tuple:
        """One chunk's row sums (D, D^2, D^power, D^(2 power); None where not kept), not yet added.

        Row sums in the working dtype (pairwise-accurate), accumulated across chunks in float64.
        """

        def total(t):
            return t.sum(dim=1, dtype=torch.float64)

        if metric.kind == "l2":
            d2 = total(keys)
            return total(torch.sqrt(keys)), d2, d2, total(keys * keys)
        d, d2 = total(keys), total(keys * keys)
        if metric.kind == "lp":
            powered = keys.double() ** metric.p
            # D^P leaves float64 for extreme P (0 for D < 1 and P ~ 1e9, inf for D > 2 and P ~ 1e3): undefined
            lost = ~torch.isfinite(powered) | ((powered == 0) & (keys > 0)) | ~torch.isfinite(powered * powered)
            if bool(lost.any()):
                nan = torch.full_like(d, float("nan"))
                return d, d2, nan, nan
            return d, d2, total(powered), total(powered * powered)
        if metric.power == 1.0:
            return d, d2, d, d2
        return d, d2, None, None

    def commit(self, q_slice: slice, parts: tuple) -> None:
        for running, part in zip((self.d, self.d2, self.pw, self.pw2), parts):
            if part is not None:
                running[q_slice] += part


def _row_extremes(keys: torch.Tensor):
    """Per row: (min, its column, second smallest) and (max, its column, second largest).

    On the CPU numpy's SIMD argmin/min are about 10x faster than torch.topk here, and
    this reduction, not the matrix product, dominated the kernel at d <= 100.
    """
    if keys.shape[1] == 1:
        inf = torch.full_like(keys[:, 0], math.inf)
        zero = torch.zeros_like(keys[:, 0], dtype=torch.long)
        return (keys[:, 0], zero, inf), (keys[:, 0], zero, -inf)
    if keys.device.type != "cpu":
        lo_v, lo_i = torch.topk(keys, 2, dim=1, largest=False)
        hi_v, hi_i = torch.topk(keys, 2, dim=1, largest=True)
        return (lo_v[:, 0], lo_i[:, 0], lo_v[:, 1]), (hi_v[:, 0], hi_i[:, 0], hi_v[:, 1])
    a = keys.contiguous().numpy()
    rows = np.arange(a.shape[0])
    out = []
    for pick, fill, reduce in ((np.argmin, np.inf, np.min), (np.argmax, -np.inf, np.max)):
        col = pick(a, axis=1)
        best = a[rows, col]  # fancy indexing copies
        a[rows, col] = fill  # hide the best to read the runner-up, then put it back
        second = reduce(a, axis=1)
        a[rows, col] = best
        out.append((torch.from_numpy(best), torch.from_numpy(col), torch.from_numpy(second)))
    return out[0], out[1]


class _Extremes:
    """Running candidates of one query block: the best k chunk-winners for each extreme, and a bound.

    Each chunk contributes its best point (a candidate) and its runner-up value; a point
    that is not a candidate is no better than the best runner-up seen or the best
    winner dropped from the k kept. That bound is what certification compares with.
    """

    def __init__(self, k: int):
        self.k = k
        self.state = {False: None, True: None}  # largest -> (vals, idx, bound)

    def merged(self, keys: torch.Tensor, offset: int) -> dict:
        """The state after one more chunk, without changing this one (a chunk that fails leaves no trace)."""
        lo, hi = _row_extremes(keys)
        return {False: self._merge(lo, offset, largest=False), True: self._merge(hi, offset, largest=True)}

    def _merge(self, chunk, offset: int, largest: bool):
        best, col, second = chunk
        vals, idx = best[:, None], (col + offset)[:, None].to(torch.long)
        bound = second.double()
        if self.state[largest] is not None:
            old_vals, old_idx, old_bound = self.state[largest]
            vals, idx = torch.cat([old_vals, vals], 1), torch.cat([old_idx, idx], 1)
            bound = torch.maximum(old_bound, bound) if largest else torch.minimum(old_bound, bound)
        if vals.shape[1] > self.k:
            vals, order = torch.sort(vals, dim=1, descending=largest)
            idx = torch.gather(idx, 1, order)
            dropped = vals[:, self.k].double()
            bound = torch.maximum(bound, dropped) if largest else torch.minimum(bound, dropped)
            vals, idx = vals[:, : self.k], idx[:, : self.k]
        return vals, idx, bound

    def result(self):
        return self.state[False], self.state[True]


def query_stats(
    queries: torch.Tensor,
    points: torch.Tensor,
    metric: Metric,
    *,
    moments: bool = True,
    chunk_elems: int | ChunkPlan = 1 << 20,
    candidates: int = 8,
    progress: Callable[[float], None] | None = None,
) -> QueryStats:
    """Nearest, farthest, mean and spread of the distances from each query to all points.

    ``chunk_elems`` bounds the q x c block held at once (elements; the default 1M float32
    is 4 MiB per temporary, small enough to stay in cache while it is reduced); a
    ``ChunkPlan`` instead lets several calls share one size that halves on out-of-memory
    (a plain number gets its own plan).
    ``candidates`` is how many chunk winners per extreme are recomputed exactly.
    ``moments=False`` skips the mean, spread and power sums (nearest and farthest only).
    ``progress`` is called with the fraction of the work done by each chunk.
    """
    n_q, n_p = queries.shape[0], points.shape[0]
    if n_q == 0 or n_p == 0:
        raise DimcurseError("need at least one query and one point")
    plan = chunk_elems if isinstance(chunk_elems, ChunkPlan) else ChunkPlan(max(2, chunk_elems))
    prep = _prepare(queries, points, metric)
    q_block = min(n_q, 4096)
    sums = _Sums(n_q, points.device) if moments else None
    blocks = []
    for q0 in range(0, n_q, q_block):
        qs = slice(q0, min(n_q, q0 + q_block))
        extremes = _Extremes(candidates)

        def step(ps: slice, qs=qs, extremes=extremes):
            keys = _chunk_keys(prep, qs, ps, metric)
            parts = sums.parts(keys, metric) if sums is not None else None
            state = extremes.merged(keys, ps.start)

            def commit():
                if parts is not None:
                    sums.commit(qs, parts)
                extremes.state = state
                if progress is not None:
                    progress((qs.stop - qs.start) * (ps.stop - ps.start) / (n_q * n_p))

            return commit

        plan.scan(n_p, q_block, step)
        blocks.append(extremes.result())
    lo = [torch.cat(parts) for parts in zip(*(b[0] for b in blocks))]
    hi = [torch.cat(parts) for parts in zip(*(b[1] for b in blocks))]
    nn, nn_idx, far, far_idx, n_fallback = _exact_extremes(queries, points, metric, prep, lo, hi)
    mean = sd = None
    pow_mean = pow_var = float("nan")
    if sums is not None:
        mean = sums.d / n_p
        sd = torch.sqrt(torch.clamp(sums.d2 / n_p - mean * mean, min=0.0))
        if metric.power is not None and bool(torch.isfinite(sums.pw2).all()):  # else D^P overflowed: undefined
            pow_mean = float(sums.pw.sum() / (n_q * n_p))
            pow_var = max(float(sums.pw2.sum() / (n_q * n_p)) - pow_mean**2, 0.0)
        mean, sd = mean.cpu().numpy(), sd.cpu().numpy()
    return QueryStats(nn, nn_idx, far, far_idx, mean, sd, pow_mean, pow_var, n_fallback)


def _key_of(distance: torch.Tensor, metric: Metric) -> torch.Tensor:
    """Exact distance in the engine's key units (squared for l2)."""
    return distance * distance if metric.kind == "l2" else distance


def _exact_extremes(queries, points, metric, prep, lo, hi):
    """Recompute the candidates exactly, certify them, and fall back to a full exact scan where needed.

    ``lo``/``hi`` are (approximate values, indices, bound on every other point's
    approximate value). With a matrix-product metric the approximations may be off by
    the rounding bound, so the best exact candidate is certified only if it beats the
    bound by that much; otherwise the query is scanned exactly.
    """
    (_, lo_i, lo_bound), (_, hi_i, hi_bound) = lo, hi
    exact_lo = _exact_rows(queries, points, lo_i, metric)
    exact_hi = _exact_rows(queries, points, hi_i, metric)
    nn, nn_pos = exact_lo.min(dim=1)
    far, far_pos = exact_hi.max(dim=1)
    nn_idx = torch.gather(lo_i, 1, nn_pos[:, None])[:, 0]
    far_idx = torch.gather(hi_i, 1, far_pos[:, None])[:, 0]
    uncertain = torch.zeros_like(nn, dtype=torch.bool)
    if metric.uses_matmul:
        bound = prep.rounding(metric)
        # Any point outside the candidates has an exact key >= its approximate key - bound.
        uncertain |= _key_of(nn, metric) > lo_bound - bound
        uncertain |= _key_of(far, metric) < hi_bound + bound
    todo = torch.nonzero(uncertain).flatten().tolist()
    for row in todo:
        nn[row], nn_idx[row], far[row], far_idx[row] = _full_exact_scan(queries[row], points, metric)

    def as_np(t):
        return t.cpu().numpy()

    return as_np(nn), as_np(nn_idx), as_np(far), as_np(far_idx), len(todo)


def _exact_rows(queries, points, idx, metric, block: int = 1 << 21) -> torch.Tensor:
    """Exact distances from each query to its candidate points (q x k), in query blocks of bounded size.

    Each block's result goes straight into one preallocated output: a list of small results kept between
    the blocks' large float64 temporaries split the freed space, and the process's memory grew by about 10 MB
    a block (2.7 GB over 1,000 images of 12,288 values; over 24 GB at 150,528)."""
    n_q, k = idx.shape
    step = max(1, block // max(1, k * points.shape[1]))
    out = torch.empty(n_q, k, dtype=torch.float64, device=points.device)
    for s in range(0, n_q, step):
        out[s : s + step] = exact_distances(queries[s : s + step, None, :], points[idx[s : s + step]], metric)
    return out


def exact_row(query, points, metric, block: int = 1 << 21, out: torch.Tensor | None = None) -> torch.Tensor:
    """Exact float64 distances from one query to every point (n,), in point blocks of about ``block``
    elements, into one preallocated output (``out`` when given), as ``_exact_rows``."""
    step = max(1, block // points.shape[1])
    dists = torch.empty(len(points), dtype=torch.float64, device=points.device) if out is None else out
    for s in range(0, len(points), step):
        dists[s : s + step] = exact_distances(query[None, :], points[s : s + step], metric)
    return dists


def _full_exact_scan(query, points, metric, block: int = 1 << 21):
    """Exact nearest and farthest of one query against all points (float64, chunked)."""
    dists = exact_row(query, points, metric, block)
    lo, hi = torch.argmin(dists), torch.argmax(dists)
    return dists[lo], lo, dists[hi], hi


# --------------------------------------------------------------------------- k nearest neighbours


def knn(
    points: torch.Tensor, metric: Metric, k: int, chunk_elems: int | ChunkPlan = 1 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other points of every point: exact float64 distances (m x k, ascending) and indices.

    Candidates are chosen with the chunked keys (2k of them for the matrix-product
    metrics, to absorb their rounding) and then recomputed exactly and re-sorted.
    ``chunk_elems`` as in ``query_stats``.
    """
    m = points.shape[0]
    if k >= m:
        raise DimcurseError(f"k = {k} neighbours needs more than {k} points, got {m}", "--k")
    plan = chunk_elems if isinstance(chunk_elems, ChunkPlan) else ChunkPlan(chunk_elems)
    prep = _prepare(points, points, metric)
    keep = min(m - 1, 2 * k if metric.uses_matmul else k + 1)  # one past k: a tie at the k-th shows
    q_block = min(m, 4096)
    rows = []
    for q0 in range(0, m, q_block):
        qs = slice(q0, min(m, q0 + q_block))
        best = [None, None]  # running (values, indices)

        def step(ps: slice, qs=qs, best=best):
            keys = _chunk_keys(prep, qs, ps, metric)
            _mask_self(keys, qs, ps)
            merged = _merge_top(best[0], best[1], keys, ps.start, keep, largest=False)
            return lambda: best.__setitem__(slice(None), merged)

        plan.scan(m, q_block, step)
        rows.append(best[1])
    idx = torch.cat(rows)
    exact, idx = _by_distance_then_index(_exact_rows(points, points, idx, metric), idx)
    if keep < m - 1:
        # TIE RULE: equally distant neighbours rank by the lower point index. A row whose candidate
        # list ends tied with its k-th distance may have tied points outside it: rescan it exactly.
        for row in torch.nonzero(exact[:, keep - 1] == exact[:, k - 1]).flatten().tolist():
            exact[row, :k], idx[row, :k] = _knn_exact_row(points, row, metric, k)
    return exact[:, :k].cpu().numpy(), idx[:, :k].cpu().numpy()


def _by_distance_then_index(dist: torch.Tensor, idx: torch.Tensor):
    """Each row ordered by distance, equal distances by the lower point index (stable sort)."""
    idx, order = torch.sort(idx, dim=1)
    dist, order = torch.sort(torch.gather(dist, 1, order), dim=1, stable=True)
    return dist, torch.gather(idx, 1, order)


def _knn_exact_row(points: torch.Tensor, row: int, metric: Metric, k: int, block: int = 1 << 21):
    """The k nearest other points of one point from all exact distances, under the tie rule."""
    step = max(1, block // points.shape[1])
    query = points[row][None, :]
    dists = torch.cat([exact_distances(query, points[s : s + step], metric) for s in range(0, len(points), step)])
    dists[row] = math.inf
    dists, order = torch.sort(dists, stable=True)  # indices ascend already: ties keep the lower index
    return dists[:k], order[:k]


def _mask_self(keys: torch.Tensor, qs: slice, ps: slice) -> None:
    """Exclude each point from its own neighbours (set its key to +inf)."""
    lo, hi = max(qs.start, ps.start), min(qs.stop, ps.stop)
    if lo < hi:
        rows = torch.arange(lo, hi, device=keys.device)
        keys[rows - qs.start, rows - ps.start] = math.inf
