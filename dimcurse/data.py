"""Point sets: synthetic distributions of any dimension, and real data sets read offline.

Synthetic sets are drawn on the CPU from an explicit ``torch.Generator`` (see
``dimcurse.runtime``), so a seed gives the same points on every device. Real sets come
from packages that ship or generate them (scikit-learn's digits, ``mnist1d``) or from
local files read by torchvision; nothing is downloaded unless the caller asks.
"""

from __future__ import annotations

import hashlib
import functools
import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch

from dimcurse import objects, plugins, userdata
from dimcurse.errors import DimcurseError
from dimcurse.parsing import did_you_mean
from dimcurse.runtime import generator

# --------------------------------------------------------------------------- principal axes


def principal_axes(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centred sample's principal axes (d x r, one per column) and their variances (r,), largest first.

    With at least as many rows m as columns d they come from the d x d covariance (r = d). With fewer rows
    (images: m = 2,000, d = 150,528) the d x d matrix would not fit (181 GB at 150,528) and has rank m - 1 at
    most: from the centred sample's thin SVD, r = m."""
    m, d = sample.shape
    if d <= m:
        values, vectors = np.linalg.eigh(np.cov(sample, rowvar=False).reshape(d, d))
        return vectors[:, ::-1], np.clip(values[::-1], 0.0, None)
    centred = torch.from_numpy(sample - sample.mean(0))
    _, singular, vt = torch.linalg.svd(centred, full_matrices=False)
    return vt.T.numpy(), (singular**2 / max(m - 1, 1)).numpy()


# --------------------------------------------------------------------------- synthetic


@dataclass(frozen=True)
class Distribution:
    """A parsed ``--dist`` value: ``uniform``, ``gaussian``, ``sphere``, ``subspace:K`` or ``torus:K``."""

    kind: str
    k: int | None = None  # intrinsic dimension for subspace:K and torus:K

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.k}" if self.k is not None else self.kind

    def min_dim(self) -> int:
        """The smallest ambient dimension the set fits in (a torus:K needs 2K coordinates)."""
        if self.kind == "subspace":
            return self.k
        if self.kind == "torus":
            return 2 * self.k
        if self.kind == "sphere":
            return 2  # S^0 (d = 1) is two points: every set would be all duplicates
        return 1

    def intrinsic_dim(self, dim: int) -> int:
        """The dimension of the manifold the points lie on (the sphere S^(d-1) has d - 1)."""
        if self.k is not None:
            return self.k
        return dim - 1 if self.kind == "sphere" else dim


DISTRIBUTIONS = {
    "uniform": "uniform on the unit cube [0,1]^d",
    "gaussian": "standard normal N(0, I_d)",
    "sphere": "uniform on the unit sphere S^(d-1) (normalised Gaussian)",
    "subspace:K": "N(0, I_K) rotated into R^d by a random orthonormal basis (intrinsic dimension K)",
    "torus:K": "flat torus of side 1: (cos 2πu, sin 2πu)/2π for u ~ U[0,1]^K, rotated into R^d (d >= 2K)",
}


def parse_distribution(text: str, option: str = "--dist") -> Distribution:
    """Parse ``uniform``/``gaussian``/``sphere``/``subspace:K``/``torus:K``."""
    name = str(text).strip().lower()
    if name in ("uniform", "gaussian", "sphere"):
        return Distribution(name)
    kind, _, k = name.partition(":")
    if kind in ("subspace", "torus"):
        try:
            value = int(k)
        except ValueError:
            raise DimcurseError(f"{text!r} needs a positive integer K, as in {kind}:5", option) from None
        if value < 1:
            raise DimcurseError(f"{text!r} needs a positive integer K, as in {kind}:5", option)
        return Distribution(kind, value)
    known = ", ".join(DISTRIBUTIONS)
    raise DimcurseError(f"unknown distribution {text!r}{did_you_mean(text, DISTRIBUTIONS)} (known: {known})", option)


def _rotation(dim: int, k: int, seed: int) -> torch.Tensor:
    """A dim x k matrix with orthonormal columns (QR of a Gaussian matrix, sign-fixed)."""
    gaussian = torch.randn(dim, k, generator=generator(seed, "rotation", dim, k), dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r))  # sign fix makes the basis Haar-distributed


def draw(
    dist: Distribution, n_rows: int, dim: int, seed: int, dtype=torch.float32, stream: str = "points"
) -> torch.Tensor:
    """``n_rows`` i.i.d. points of ``dist`` in R^dim on the CPU.

    Points and queries come from separate streams (``stream``), so the points of a seed
    do not depend on how many queries are drawn; subspace and torus sets share their
    rotation across streams (it depends on the seed and dimension only).
    """
    if dim < dist.min_dim():
        raise DimcurseError(f"{dist.name} needs dimensions of at least {dist.min_dim()}, got {dim}", "--dims")
    gen = generator(seed, "draw", stream, dist.name, dim)
    if dist.kind == "uniform":
        x = torch.rand(n_rows, dim, generator=gen, dtype=torch.float64)
    elif dist.kind == "gaussian":
        x = torch.randn(n_rows, dim, generator=gen, dtype=torch.float64)
    elif dist.kind == "sphere":
        x = torch.randn(n_rows, dim, generator=gen, dtype=torch.float64)
        x = x / torch.linalg.vector_norm(x, dim=1, keepdim=True)
    elif dist.kind == "subspace":
        z = torch.randn(n_rows, dist.k, generator=gen, dtype=torch.float64)
        x = z @ _rotation(dim, dist.k, seed).T
    else:  # torus: each angle embedded as a circle of circumference 1, so the torus is flat
        angle = 2 * math.pi * torch.rand(n_rows, dist.k, generator=gen, dtype=torch.float64)
        z = torch.cat([torch.cos(angle), torch.sin(angle)], dim=1) / (2 * math.pi)
        x = z @ _rotation(dim, 2 * dist.k, seed).T
    return x.to(dtype)


# --------------------------------------------------------------------------- real data


@dataclass(frozen=True)
class Dataset:
    """A real data set as float arrays: ``x`` (N x D) and integer labels ``y``; ``x_test``/``y_test`` may be empty."""

    name: str
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    key: str = ""  # what seeds its subsamples (a user's data: its content hash; built-in sets: the name)
    image: tuple[int, int, int] | None = None  # (channels, height, width) of image rows; None: not images
    source: dict | None = None  # a user's file: its name, path, content hash and shape (the provenance's "data")

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    def all_x(self) -> np.ndarray:
        """Train and test rows together (distance statistics do not need the split)."""
        return np.concatenate([self.x, self.x_test]) if len(self.x_test) else self.x


@dataclass(frozen=True)
class Entry:
    """One built-in data set in the catalogue: what validation, memory estimates, ``--list-data`` and both
    kernels know of it before reading a byte."""

    name: str
    rows: int  # train and test together
    dim: int  # features per row
    about: str
    image: tuple[int, int, int] | None = None  # (channels, height, width) of image rows
    folder: bool = False  # read from the user's folder: named as NAME:DIR
    sequence: bool = False  # rows are 1-D signals of one channel (the MNIST-1D CNN takes them)
    generated: bool = False  # generated here from its parameters: named as NAME:K[:R] (objects)

    @property
    def spec(self) -> str:
        """How ``--data`` names it: ``digits``, ``mnist:DIR``, ``objects:K[:R]``."""
        if self.generated:
            return f"{self.name}:K[:R]"
        return f"{self.name}:DIR" if self.folder else self.name

    def describe(self) -> str:
        return f"{self.about} ({self.rows} x {self.dim})"


CATALOGUE = {
    entry.name: entry
    for entry in (
        Entry("digits", 1797, 64, "scikit-learn's bundled 8x8 handwritten digits", image=(1, 8, 8)),
        Entry("mnist1d", 5000, 40, "MNIST-1D (Greydanus 2020), generated offline by mnist1d.make_dataset",
              sequence=True),
        Entry("mnist", 70000, 784, "MNIST IDX files in DIR, read by torchvision; --download fetches them",
              (1, 28, 28), True),
        Entry("fashion-mnist", 70000, 784, "Fashion-MNIST IDX files in DIR, read by torchvision", (1, 28, 28), True),
        Entry(
            "cifar10", 60000, 3072, "CIFAR-10, binary version (cifar-10-batches-bin/*.bin) in DIR; never unpickled",
            (3, 32, 32), True,
        ),
        Entry(
            "objects", objects.ROWS, 3 * objects.DEFAULT_RESOLUTION**2,
            f"N rendered R x R x 3 images (R = 1..{objects.MAX_RESOLUTION}, default {objects.DEFAULT_RESOLUTION}; "
            f"N default {objects.ROWS:,}: objects:K:R:N) of one object with K = 1..{objects.MAX_K} random factors "
            "(intrinsic dimension K); target: the "
            "factors' neighbour products (approx), their deciles (overparam)",
            (3, objects.DEFAULT_RESOLUTION, objects.DEFAULT_RESOLUTION), generated=True,
        ),
    )
}  # fmt: skip
REAL_DATASETS = {entry.spec: entry.describe() for entry in CATALOGUE.values()}  # --list-data's names and words
DATASETS: dict[str, Callable] = {}  # registered by register_dataset (a session's, or a plugin's)


def register_dataset(name: str, loader: Callable) -> None:
    """Add a data set: ``loader()`` returns (x, y) or (x, y, x_test, y_test) arrays (labels integers 0..C-1)."""
    key = plugins.plugin_name(name, "data set")
    if key.split(":")[0] in CATALOGUE:
        raise DimcurseError(f"{key!r} is a built-in data set; choose another name", "--data")
    if not callable(loader):
        raise DimcurseError(f"the data set {key!r} needs a loader function", "--data")
    DATASETS[key] = loader


def registered(spec: str) -> str | None:
    """The registered name ``spec`` gives (loading the plugins first when it is no built-in), or None."""
    key = str(spec).strip().lower()
    if key.partition(":")[0] not in CATALOGUE:
        plugins.load_entry_points()
    return key if key in DATASETS else None


def _load_registered(name: str) -> tuple[np.ndarray, ...]:
    """A registered data set as (x, y, x_test, y_test) numpy arrays, checked."""
    try:
        parts = DATASETS[name]()
    except DimcurseError:
        raise
    except Exception as exc:  # a plugin's own failure: one line, not a traceback
        raise DimcurseError(f"data set {name!r}: its loader failed ({type(exc).__name__}: {exc})", "--data") from None
    if not isinstance(parts, (tuple, list)) or len(parts) not in (2, 4):
        raise DimcurseError(f"data set {name!r}: the loader must return (x, y) or (x, y, x_test, y_test)", "--data")
    arrays = [np.asarray(p) for p in parts]
    if arrays[0].ndim != 2:
        raise DimcurseError(f"data set {name!r}: x has shape {arrays[0].shape}, not n x d", "--data")
    if len(arrays) == 2:
        arrays += [np.zeros((0, arrays[0].shape[1])), np.zeros(0, dtype=np.int64)]
    return tuple(arrays)


class ObjectsSpec(NamedTuple):
    """An ``objects:K[:R[:N]]`` spec: factors, resolution and images."""

    k: int
    resolution: int
    rows: int = objects.ROWS

    @property
    def name(self) -> str:
        return objects.name(self.k, self.resolution, self.rows)


def objects_spec(spec: str) -> ObjectsSpec | None:
    """(K, R, N) of an ``objects:K[:R[:N]]`` spec (transforms aside), None for any other; a malformed one is an
    error naming the form. The first rows of a larger set are the smaller set's: the factors are drawn in order."""
    base = split_transforms(spec)[0] if "+" in str(spec) else str(spec)
    kind, _, rest = base.strip().lower().partition(":")
    if kind != "objects":
        return None
    parts = rest.split(":") if rest else []
    form = (
        f"objects:K, objects:K:R or objects:K:R:N (K = 1..{objects.MAX_K} factors, R = 1..{objects.MAX_RESOLUTION} "
        f"pixels, N = 10..{objects.MAX_ROWS:,} images)"
    )
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        raise DimcurseError(f"{spec!r}: give {form}", "--data")
    numbers = [int(p) for p in parts]
    found = ObjectsSpec(numbers[0], *(numbers[1:] or [objects.DEFAULT_RESOLUTION]))
    objects.check(found.k, found.resolution, rows=found.rows)
    return found


def catalogued(spec: str) -> Entry | None:
    """The built-in set a spec names, transforms aside (``mnist:~/d+noise:8`` -> mnist), or None."""
    base, _ = split_transforms(spec)
    return CATALOGUE.get(str(base).strip().lower().partition(":")[0])


def spec_shape(spec: str) -> tuple[int, int, tuple[int, int, int] | None] | None:
    """(rows, dim, image) of a built-in set after its transforms, before reading it; None for other data."""
    entry = catalogued(spec)
    if entry is None:
        return None
    dim, image = entry.dim, entry.image
    rows = entry.rows
    if entry.generated:
        _, res, rows = objects_spec(spec)
        dim, image = 3 * res * res, (3, res, res)
    for name, value in split_transforms(spec)[1]:
        if name == "upsample" and image is not None:
            image = (image[0], image[1] * value, image[2] * value)
            dim = image[0] * image[1] * image[2]
        elif name == "noise":
            dim, image = dim + value, None
    return rows, dim, image


def check_name(spec: str, extra: tuple[str, ...] = ()) -> None:
    """Refuse a --data name no loader takes, before anything is read: a built-in set (with its folder), a
    registered one, a user's file, or one of ``extra`` (a kernel's own task, as overparam's teacher)."""
    base, steps = split_transforms(spec)
    if steps:
        if base.partition(":")[0].lower() in extra:
            raise DimcurseError("transforms (+upsample, +noise) apply to data sets, not the teacher task", "--data")
        entry = catalogued(base)
        upsampled = any(step == "upsample" for step, _ in steps)
        if upsampled and not userdata.is_user_data(base) and (entry is None or entry.image is None):
            raise DimcurseError(
                f"{base} is not image data (its rows have no height and width): cannot upsample", "--data"
            )
        return check_name(base, extra)
    if userdata.is_user_data(spec):
        userdata.check_spec(spec)
        return
    if registered(spec):
        return
    kind, _, root = str(spec).strip().partition(":")
    kind = kind.lower()
    if objects_spec(spec) is not None:
        return
    if (kind in extra and not root) or (kind in CATALOGUE and not CATALOGUE[kind].folder and not root):
        return
    if kind in CATALOGUE and CATALOGUE[kind].folder:
        if root:
            return
        raise DimcurseError(f"{kind} needs a folder, as in {kind}:~/data", "--data")
    names = [*extra, *REAL_DATASETS]
    raise DimcurseError(
        userdata.path_problem(spec)
        or f"unknown data set {spec!r}{did_you_mean(spec, names)} (known: {', '.join(names)}, "
        f"or a file: {', '.join(userdata.SUFFIXES)})",
        "--data",
    )


def _need(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DimcurseError(f"this data set needs {module}: pip install 'dimcurse[{extra}]'", "--data") from None


@functools.lru_cache(maxsize=4)
def _digits() -> Dataset:
    datasets = _need("sklearn.datasets", "data")
    bunch = datasets.load_digits()
    x = bunch.data.astype(np.float32)
    labels = bunch.target.astype(np.int64)
    return Dataset("digits", x, labels, x[:0], labels[:0], image=CATALOGUE["digits"].image)


@functools.lru_cache(maxsize=4)
def _mnist1d() -> Dataset:
    data = _need("mnist1d.data", "data")
    # make_dataset reseeds numpy's global generator; restore it so no hidden state leaks.
    state = np.random.get_state()
    try:
        raw = data.make_dataset(data.get_dataset_args())
    finally:
        np.random.set_state(state)

    def f32(a):
        return np.asarray(a, dtype=np.float32)

    def i64(a):
        return np.asarray(a, dtype=np.int64)

    return Dataset("mnist1d", f32(raw["x"]), i64(raw["y"]), f32(raw["x_test"]), i64(raw["y_test"]))


TORCHVISION_SETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def _torchvision_set(kind: str, root: str, download: bool) -> Dataset:
    import torchvision

    folder = Path(root).expanduser()
    if not download and not folder.is_dir():
        raise DimcurseError(f"{kind}:{root}: no such folder (give --download to fetch it)", "--data")
    cls = getattr(torchvision.datasets, TORCHVISION_SETS[kind])
    try:
        train = cls(str(folder), train=True, download=download)
        test = cls(str(folder), train=False, download=download)
    except RuntimeError as exc:  # torchvision's "Dataset not found or corrupted"
        raise DimcurseError(f"{kind}:{root}: {str(exc).splitlines()[0]}", "--data") from None
    except (OSError, ValueError, IndexError, TypeError, AssertionError) as exc:
        # Truncated or malformed IDX files; torchvision checks the magic number and type with asserts.
        said = " ".join(str(exc).split()) or "not an IDX file of the expected kind"
        raise DimcurseError(f"{kind}:{root}: cannot read the IDX files ({said})", "--data") from None
    parts = [_idx_split(kind, root, split, name) for split, name in ((train, "train"), (test, "t10k"))]
    return Dataset(kind, *parts[0], *parts[1], image=CATALOGUE[kind].image)


def _idx_split(kind: str, root: str, split, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N x 784, in [0, 1]) and labels of one split, after checking what the IDX headers promised."""
    images, labels = split.data, split.targets
    where = f"{kind}:{root}: {name} files"
    if images.ndim != 3 or tuple(images.shape[1:]) != (28, 28):
        raise DimcurseError(f"{where}: images of shape {tuple(images.shape)}, expected N x 28 x 28", "--data")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DimcurseError(f"{where}: {len(images)} images but {tuple(labels.shape)} labels", "--data")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise DimcurseError(f"{where}: label {int(labels.max())} out of range 0..9", "--data")
    return images.reshape(len(images), -1).numpy().astype(np.float32) / 255.0, labels.numpy().astype(np.int64)


CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes
CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))


def _cifar10(root: str) -> Dataset:
    """CIFAR-10 from its binary distribution: plain bytes, read with numpy.

    torchvision's CIFAR10 reader unpickles the python version; a pickle from disk can
    run code, so dimcurse reads only the binary version (Krizhevsky's CIFAR-10 page, its
    "binary version" layout). ``DIR`` is the folder holding the .bin files or its parent.
    """
    folder = Path(root).expanduser()
    if (folder / "cifar-10-batches-bin").is_dir():
        folder = folder / "cifar-10-batches-bin"
    if not folder.is_dir():
        raise DimcurseError(f"cifar10:{root}: no such folder (it needs the binary version's .bin files)", "--data")

    def read(names) -> tuple[np.ndarray, np.ndarray]:
        parts = []
        for name in names:
            path = folder / name
            if not path.is_file():
                raise DimcurseError(
                    f"cifar10:{root}: {name} is missing "
                    f"(the binary version has {', '.join(CIFAR_TRAIN)}, test_batch.bin)",
                    "--data",
                )
            raw = np.fromfile(path, dtype=np.uint8)
            if raw.size == 0 or raw.size % CIFAR_RECORD:
                raise DimcurseError(
                    f"cifar10:{root}: {name} is truncated or not a CIFAR-10 binary batch ({raw.size} bytes)", "--data"
                )
            parts.append(raw.reshape(-1, CIFAR_RECORD))
        records = np.concatenate(parts)
        labels = records[:, 0].astype(np.int64)
        if labels.max() > 9:
            raise DimcurseError(f"cifar10:{root}: label {labels.max()} out of range 0..9", "--data")
        return records[:, 1:].astype(np.float32) / 255.0, labels

    x, y = read(CIFAR_TRAIN)
    xt, yt = read(("test_batch.bin",))
    return Dataset("cifar10", x, y, xt, yt, image=CATALOGUE["cifar10"].image)


TRANSFORMS = {
    "upsample:F": "images resized F times in height and width (bilinear): d grows F², the intrinsic dimension not",
    "noise:K": "K independent Gaussian coordinates appended (sd: the data's): the intrinsic dimension grows by up to K",
}


def load_dataset(spec: str, download: bool = False, need_y: bool = False, target_column: str | None = None) -> Dataset:
    """Load ``digits``, ``mnist1d``, ``mnist:DIR``, ``fashion-mnist:DIR`` or ``cifar10:DIR`` (no download unless
    asked), or a user's file or array (``dimcurse.userdata``: all rows in ``x``, no split); each may end in
    transforms, applied in order: ``digits+upsample:4``, ``digits+noise:64`` (TRANSFORMS)."""
    base, steps = split_transforms(spec)
    if steps:
        data = load_dataset(base, download, need_y, target_column)
        for name, value in steps:
            data = _transform(data, name, value)
        return data

    if userdata.is_user_data(spec):
        user = userdata.read(spec, target_column, need_y=need_y)
        empty = np.zeros((0, user.x.shape[1]))
        y = user.y if user.y is not None else np.zeros(0)
        return Dataset(user.name, user.x, y, empty, np.zeros(0), key=user.content, source=user.describe())
    key = registered(spec)
    if key is not None:
        return Dataset(key, *_load_registered(key))
    name, _, root = str(spec).strip().partition(":")
    name = name.lower()
    if (generated := objects_spec(spec)) is not None:
        return _objects(generated)
    if name == "digits" and not root:
        return _digits()
    if name == "mnist1d" and not root:
        return _mnist1d()
    if name in TORCHVISION_SETS:
        if not root:
            raise DimcurseError(f"{name} needs a folder, as in {name}:~/data", "--data")
        return _torchvision_set(name, root, download)
    if name == "cifar10":
        if not root:
            raise DimcurseError("cifar10 needs a folder, as in cifar10:~/data", "--data")
        return _cifar10(root)
    known = ", ".join(REAL_DATASETS)
    problem = userdata.path_problem(spec)
    raise DimcurseError(
        problem or f"unknown data set {spec!r} (known: {known}, or a file: {', '.join(userdata.SUFFIXES)})", "--data"
    )


OBJECTS_TEST = 0.2  # the objects set's held-out share (its last rows: the rows are i.i.d. draws)


def _objects(spec: ObjectsSpec) -> Dataset:
    """``objects:K:R[:N]`` (seed 0), its last fifth held out; labels: the target's deciles."""
    x, unit = _objects_arrays(spec)
    y = objects.classes(objects.target(unit))
    cut = int(round((1 - OBJECTS_TEST) * len(x)))
    res = spec.resolution
    return Dataset(spec.name, x[:cut], y[:cut], x[cut:], y[cut:], key=spec.name, image=(3, res, res))


def _objects_arrays(spec: ObjectsSpec) -> tuple[np.ndarray, np.ndarray]:
    """The images and factors of ``objects:K:R[:N]``, generated once per process, refused before generation
    when they would not fit in memory."""
    from dimcurse import memory  # torch: this module's import stays light

    k, res, rows = spec
    need = objects.nbytes(res, rows)
    memory.require(need, f"generating {spec.name} ({rows} images of {3 * res * res} values)", "--data")
    return _generated(k, res, rows)


@functools.lru_cache(maxsize=2)
def _generated(k: int, res: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    return objects.generate(k, res, rows)


def objects_regression(spec: str) -> userdata.UserData:
    """``objects:K[:R[:N]]`` as regression data (approx's --data): every row, the target ``objects.target``,
    after the spec's transforms (``objects:3:8+upsample:2``)."""
    parsed = objects_spec(spec)
    x, unit = _objects_arrays(parsed)
    y = objects.target(unit)
    res = parsed.resolution
    images = Dataset(parsed.name, x, y, x[:0], y[:0], image=(3, res, res))
    for name, value in split_transforms(spec)[1]:
        images = _transform(images, name, value)
    content = userdata.content_sha256(images.x, y)
    return userdata.UserData(images.name, images.x, y, content, "generated", images.image, content)


def split_transforms(spec: str) -> tuple[str, list[tuple[str, int]]]:
    """``"digits+upsample:2+noise:8"`` -> ("digits", [("upsample", 2), ("noise", 8)]); a spec naming an existing
    file is taken whole (a "+" may be part of its name)."""
    text = str(spec)
    if "+" not in text or Path(text).expanduser().exists():
        return text, []
    base, *parts = text.split("+")
    steps = []
    for part in parts:
        name, _, value = part.strip().lower().partition(":")
        if f"{name}:F" not in TRANSFORMS and f"{name}:K" not in TRANSFORMS:
            known = ", ".join(TRANSFORMS)
            raise DimcurseError(f"unknown transform {part!r} in {text!r} (known: {known})", "--data")
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise DimcurseError(f"{name} in {text!r} needs a positive integer, as in +{name}:2", "--data")
        steps.append((name, number))
    return base, steps


def _transform(data: Dataset, name: str, value: int) -> Dataset:
    label = f"{data.name}+{name}:{value}"
    key = f"{data.key or data.name}+{name}:{value}"
    if name == "upsample":
        if data.image is None:
            raise DimcurseError(
                f"{data.name} is not image data (its rows have no height and width): cannot upsample", "--data"
            )
        c, h, w = data.image

        def up(x: np.ndarray) -> np.ndarray:
            if len(x) == 0:
                return x.reshape(0, c * h * w * value * value)
            t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(-1, c, h, w)
            big = torch.nn.functional.interpolate(t, scale_factor=value, mode="bilinear", align_corners=False)
            return big.reshape(len(x), -1).numpy()

        return Dataset(label, up(data.x), data.y, up(data.x_test), data.y_test, key, (c, h * value, w * value))
    sd = float(np.asarray(data.x, dtype=np.float64).std()) or 1.0
    gen = np.random.default_rng(abs(hash_text(key)) % (1 << 63))

    def noisy(x: np.ndarray) -> np.ndarray:
        extra = gen.normal(0.0, sd, size=(len(x), value)).astype(np.float32)
        return np.concatenate([np.asarray(x, dtype=np.float32), extra], 1)

    return Dataset(label, noisy(data.x), data.y, noisy(data.x_test), data.y_test, key, None)


def hash_text(text: str) -> int:
    """A stable integer of a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def validate_finite(x: np.ndarray, name: str) -> None:
    """Data with NaN or inf would poison every statistic: refuse it with a clear error."""
    if x.size == 0:
        raise DimcurseError(f"{name} is empty", "--data")
    if not np.isfinite(x).all():
        raise DimcurseError(f"{name} contains NaN or inf values", "--data")
