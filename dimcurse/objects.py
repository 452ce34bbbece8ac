"""Rendered images of one object whose K latent factors are drawn at random: a data set whose intrinsic
dimension is known (K) at any resolution up to ImageNet's input size, 224 x 224 x 3 = 150,528 values.

The object is a soft ellipse (a Gaussian of aspect 2:1) on a black ground. Its factors, in the order K takes
them: horizontal and vertical position, size, brightness, rotation and hue; the factors past K stay at the
middle of their range. Each image is a smooth, one-to-one function of its K factors, so the images lie on a
K-dimensional manifold in pixel space, whatever the resolution.

The regression target (``target``) is a smooth function of the factors chosen so that a linear model on the
pixels cannot fit it. A smooth function of the position alone would not do: each pixel is a bump of the
position, so a weighted sum of pixels is a smoothed field evaluated at the position, and least squares finds
the field. Every linear functional of an image scales with its brightness, though (the image is brightness x
shape), and its dependence on the size is fixed by the bump's width. The target couples the factors in
products the pixels cannot add up to: tests/test_objects.py holds least squares on the pixels above a relative
RMSE of 0.45 at K = 3 (measured 0.54), where a shallow network reached 0.16 (docs/data.md; 3.4x, on only 4,000
rows). With K <= 2 (position only) no target escapes a linear readout (0.05 at K = 2): the claim needs K >= 3.

Generation is chunked: rows are rendered a block at a time into the one output array, so the peak memory is
the set plus one block (tests/test_objects.py: 200 rows of 150,528 values within twice their size).
"""

from __future__ import annotations

import math

import numpy as np

FACTORS = ("x", "y", "size", "brightness", "rotation", "hue")  # in the order K takes them
RANGES = {  # each factor's range; the image spans [0, 1] in both directions
    "x": (0.3, 0.7),
    "y": (0.3, 0.7),
    "size": (0.07, 0.14),  # the ellipse's major standard deviation, in image widths
    "brightness": (0.4, 1.0),
    "rotation": (0.0, math.pi),  # the 2:1 ellipse repeats after half a turn
    "hue": (0.0, 1.0),
}
MAX_K = len(FACTORS)
MAX_RESOLUTION = 224  # ImageNet's input: 224 x 224 x 3 = 150,528 values
DEFAULT_RESOLUTION = 16  # 768 values: a wide input that approx's networks can still train on
ROWS = 5000  # images in the set unless its spec names a count (objects:K:R:N)
MAX_ROWS = 100_000
CLASSES = 10  # overparam's classes: the target's deciles
BLOCK_VALUES = 1 << 23  # values rendered per block (32 MiB of float32)


def check(k: int, resolution: int, option: str = "--data", rows: int = ROWS) -> None:
    """Refuse factors, a resolution or a row count the set cannot have, in one line."""
    from dimcurse.errors import DimcurseError

    if not 1 <= k <= MAX_K:
        raise DimcurseError(f"objects has 1 to {MAX_K} factors ({', '.join(FACTORS)}), got {k}", option)
    if not 1 <= resolution <= MAX_RESOLUTION:
        raise DimcurseError(f"objects' resolution must be 1 to {MAX_RESOLUTION} pixels, got {resolution}", option)
    if not 10 <= rows <= MAX_ROWS:
        raise DimcurseError(f"objects has 10 to {MAX_ROWS:,} images, got {rows}", option)


def name(k: int, resolution: int, rows: int = ROWS) -> str:
    """The set's spec, its row count only where it is not the default: objects:3:8, objects:3:8:20000."""
    return f"objects:{k}:{resolution}" + (f":{rows}" if rows != ROWS else "")


def factors(rows: int, k: int, seed: int) -> np.ndarray:
    """(rows, k) factors in [0, 1] (each scaled to its range when rendered), float64, from ``seed``."""
    return np.random.default_rng(seed).random((rows, k))


def values(unit: np.ndarray) -> dict[str, np.ndarray]:
    """Every factor's value in its range: the drawn ones from ``unit`` (rows, k), the others mid-range."""
    out = {}
    for i, name in enumerate(FACTORS):
        lo, hi = RANGES[name]
        share = unit[:, i] if i < unit.shape[1] else np.full(unit.shape[0], 0.5)
        out[name] = lo + (hi - lo) * share
    return out


def render(unit: np.ndarray, resolution: int, out: np.ndarray | None = None) -> np.ndarray:
    """Images (rows, 3 x resolution x resolution), channels first, float32 in [0, 1], of the factors ``unit``
    (rows, k) in [0, 1]; written into ``out`` when given."""
    rows = unit.shape[0]
    f = values(unit)
    centres = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution
    dx = centres[None, None, :] - f["x"].astype(np.float32)[:, None, None]  # (rows, 1, res): columns
    dy = centres[None, :, None] - f["y"].astype(np.float32)[:, None, None]  # (rows, res, 1): rows
    cos, sin = (np.cos(f["rotation"]).astype(np.float32), np.sin(f["rotation"]).astype(np.float32))
    major = cos[:, None, None] * dx + sin[:, None, None] * dy
    minor = -sin[:, None, None] * dx + cos[:, None, None] * dy
    s = f["size"].astype(np.float32)[:, None, None]
    shape = np.exp(-0.5 * ((major / s) ** 2 + (2 * minor / s) ** 2))  # (rows, res, res)
    colour = _colour(f["hue"]) * f["brightness"][:, None]  # (rows, 3)
    images = colour.astype(np.float32)[:, :, None, None] * shape[:, None, :, :]
    if out is None:
        return images.reshape(rows, -1)
    out[...] = images.reshape(rows, -1)
    return out


def _colour(hue: np.ndarray) -> np.ndarray:
    """RGB of a hue in [0, 1]: three raised cosines a third of a turn apart, each in [0.25, 1]."""
    phases = np.array([0.0, 1.0, 2.0]) / 3.0
    return 0.625 + 0.375 * np.cos(2 * np.pi * (hue[:, None] - phases[None, :]))


def target(unit: np.ndarray) -> np.ndarray:
    """The regression target of factors (rows, k) in [0, 1], float64: with z = 2 unit - 1 in [-1, 1], the sum of
    neighbouring products y = Σ_i z_i z_(i+1 mod k) (k = 1: z²; k = 2: 2 z_1 z_2). A quadratic a network
    learns easily; from k = 3 no weighted sum of pixels reproduces it (the module's docstring): least squares
    on 8 x 8 x 3 pixels leaves a relative RMSE of 0.54 at k = 3 and 0.89 at k = 4, against 0.05 at k = 2."""
    z = 2.0 * unit - 1.0
    k = z.shape[1]
    return sum(z[:, i] * z[:, (i + 1) % k] for i in range(k))


def classes(y: np.ndarray) -> np.ndarray:
    """Labels 0..CLASSES-1: the target's deciles over the set (overparam's classification task)."""
    edges = np.quantile(y, np.linspace(0, 1, CLASSES + 1)[1:-1])
    return np.searchsorted(edges, y).astype(np.int64)


def generate(k: int, resolution: int, rows: int = ROWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (rows, 3 r²) float32, factors (rows, k) in [0, 1]): the set, rendered a block at a time into
    one array (its peak: the set plus one block)."""
    check(k, resolution, rows=rows)
    unit = factors(rows, k, seed)
    dim = 3 * resolution * resolution
    x = np.empty((rows, dim), dtype=np.float32)
    block = max(1, BLOCK_VALUES // (4 * dim))  # a block's temporaries: about four arrays of its size
    for start in range(0, rows, block):
        stop = min(rows, start + block)
        render(unit[start:stop], resolution, out=x[start:stop])
    return x, unit


def nbytes(resolution: int, rows: int = ROWS) -> int:
    """Bytes of the set's images (float32)."""
    return rows * 3 * resolution * resolution * 4
