"""A user's own data: files (.npy .npz .csv .tsv .parquet) and in-memory arrays, checked once.

Every kernel takes them through ``--data PATH`` (or ``data=`` in Python):

- points (distance): every numeric column, or the whole array; ``.npz`` key ``x``;
- regression (approx) and classification (overparam): the target is the column ``y``
  (``--target-column`` names another), the ``.npz`` key ``y`` beside ``x``, or the last
  column of a ``.npy``; labels must be integers 0..C-1;
- images (``.npz`` with x of shape n x C x H x W) are flattened for the models that take
  vectors.

Pickles are never loaded (``allow_pickle=False``): an object-dtype ``.npy`` is refused.
A ``.npy`` is memory-mapped and checked for NaN and inf in row blocks, so only the rows a
kernel uses are read whole. Every problem is one ``DimcurseError`` naming ``--data``.
In-memory arrays (the Python API) are registered under ``array:<hash>`` so configs stay
plain strings and provenance names their content hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dimcurse.errors import DimcurseError

SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet")
ARRAY_PREFIX = "array:"
CHECK_ROWS = 65536  # rows per block when scanning a memory-mapped array for NaN / inf
_ARRAYS: dict[str, "UserData"] = {}
_FILES: dict[tuple, "UserData"] = {}  # the last file read, keyed by path, options, mtime and size


@dataclass(frozen=True)
class UserData:
    """Features ``x`` (n, d; possibly memory-mapped), an optional target ``y`` (n,), and where they came from."""

    name: str
    x: np.ndarray
    y: np.ndarray | None
    sha256: str  # of the file's bytes (what provenance records)
    source: str
    image_shape: tuple[int, ...] | None = None
    content: str = ""  # of the values as float64: the same array in any format draws the same samples

    def describe(self) -> dict:
        """What provenance records about the data."""
        out = {
            "name": self.name,
            "source": self.source,
            "sha256": self.sha256,
            "content_sha256": self.content,
            "rows": int(self.x.shape[0]),
            "columns": int(self.x.shape[1]),
        }
        if self.image_shape:
            out["image_shape"] = list(self.image_shape)
        return out


def path_problem(spec: str) -> str | None:
    """For a --data value that is neither a known set nor a data file: what is wrong, if it names a path."""
    path = Path(str(spec)).expanduser()
    if path.is_dir():
        return f"{spec}: is a folder, not a data file ({', '.join(SUFFIXES)})"
    if path.is_file():
        return f"{spec}: unknown data file type (use {', '.join(SUFFIXES)})"
    if "/" in str(spec) or path.suffix:
        return f"{spec}: no such data set or file (files: {', '.join(SUFFIXES)})"
    return None


def is_user_data(spec: str | None) -> bool:
    """A path with a data-file suffix, or an array registered from Python."""
    if spec is None:
        return False
    text = str(spec)
    return text.startswith(ARRAY_PREFIX) or Path(text).suffix.lower() in SUFFIXES


def register_array(x, y=None, name: str | None = None) -> str:
    """Keep an in-memory (x, y) for this process; returns its ``array:<hash>`` spec."""
    x = _as_matrix(_to_numpy(x, "data"), "data")
    y = None if y is None else _to_numpy(y, "y").reshape(-1)
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes())
    if y is not None:
        digest.update(np.ascontiguousarray(y).tobytes())
    sha = digest.hexdigest()[:16]
    spec = f"{ARRAY_PREFIX}{sha}"
    _ARRAYS[spec] = UserData(name or "array", x, y, sha, "array", content=content_sha256(x, y))
    return spec


def content_sha256(x: np.ndarray, y: np.ndarray | None) -> str:
    """A hash of the values (float64, row blocks), independent of the file format that held them."""
    digest = hashlib.sha256()
    for start in range(0, x.shape[0], CHECK_ROWS):
        digest.update(np.ascontiguousarray(x[start : start + CHECK_ROWS], dtype=np.float64).tobytes())
    if y is not None and np.asarray(y).dtype.kind in "biuf":
        digest.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    elif y is not None:
        digest.update("\x1f".join(map(str, y)).encode())
    return digest.hexdigest()[:16]


def _to_numpy(value, what: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "to_numpy"):  # a pandas DataFrame or Series
        value = value.to_numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise DimcurseError(f"{what} is not an array ({exc})", "--data") from None
    if array.dtype == object:
        raise DimcurseError(f"{what} holds Python objects, not numbers", "--data")
    return array


# --------------------------------------------------------------------------- loading


def load(spec: str, need_y: bool = False, target_column: str | None = None, option: str = "--data") -> UserData:
    """Read and check ``spec``; ``need_y`` for the kernels that learn a target."""
    if str(spec).startswith(ARRAY_PREFIX):
        check_spec(spec, option)
        data = _ARRAYS[spec]
    else:
        path = Path(str(spec)).expanduser()
        check_spec(str(path), option)
        stat = path.stat()
        key = (str(path.resolve()), need_y, target_column, stat.st_mtime_ns, stat.st_size)
        if key not in _FILES:  # one run reads (and hashes) a file once, however many steps ask for it
            _FILES.clear()
            _FILES[key] = _read_file(path, need_y, target_column, option)
        data = _FILES[key]
    if need_y and data.y is None:
        raise DimcurseError(
            f"{data.name}: no target: give a column named y, --target-column NAME, or an .npz with keys x and y", option
        )
    if data.y is not None and len(data.y) != data.x.shape[0]:
        raise DimcurseError(f"{data.name}: y has {len(data.y)} values for {data.x.shape[0]} rows", option)
    check_finite(data.x, data.name, option)
    if data.y is not None and np.asarray(data.y).dtype.kind in "biuf":  # text labels: check_labels says what to do
        check_finite(np.asarray(data.y, dtype=float)[:, None], f"{data.name} (y)", option)
    return data


def read(spec: str, target_column: str | None = None, *, need_y: bool = True) -> UserData:
    """The kernels' one checked read of a user's file: refused first when reading it whole would not fit in
    memory, then loaded and checked (``load``). Each run reads its file once, through here."""
    from dimcurse import memory  # torch: this module stays importable at --help

    memory.require(estimate_bytes(spec), f"reading {spec}", "--data")
    return load(spec, need_y=need_y, target_column=target_column)


def check_spec(spec: str, option: str = "--data") -> None:
    """Before any work: the file exists, is a file, has a known suffix (or the array is registered)."""
    if str(spec).startswith(ARRAY_PREFIX):
        if spec not in _ARRAYS:
            raise DimcurseError(f"{spec}: no such array in this process (arrays come from the Python API)", option)
        return
    path = Path(str(spec)).expanduser()
    if path.is_dir():
        raise DimcurseError(f"{path}: is a folder, not a data file ({', '.join(SUFFIXES)})", option)
    if not path.is_file():
        raise DimcurseError(f"{path}: no such file", option)
    if path.suffix.lower() not in SUFFIXES:
        raise DimcurseError(f"{path}: unknown data file type (use {', '.join(SUFFIXES)})", option)


def _read_file(path: Path, need_y: bool, target_column: str | None, option: str) -> UserData:
    """The file behind ``load`` (which has checked the path already)."""
    suffix = path.suffix.lower()
    sha = file_sha256(path)
    reader = {".npy": _npy, ".npz": _npz, ".csv": _table, ".tsv": _table, ".parquet": _table}[suffix]
    x, y, shape = reader(path, need_y, target_column, option)
    # the name is the file's stem: the same array saved as .npy, .csv or .parquet gives the same rows
    return UserData(path.stem, x, y, sha, str(path), shape, content_sha256(x, y))


def file_sha256(path: Path) -> str:
    """The content hash provenance records (first 16 hex digits), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _npy(path: Path, need_y: bool, target_column: str | None, option: str):
    array = _open_npy(path, option)
    if target_column is not None:
        raise DimcurseError(f"{path.name}: an .npy has no column names; its last column is y", "--target-column")
    if need_y:
        matrix = _as_matrix(array, path.name, option)
        if matrix.shape[1] < 2:
            raise DimcurseError(f"{path.name}: one column: the last column is y, so there are no features", option)
        return matrix[:, :-1], np.asarray(matrix[:, -1]), None
    return _as_matrix(array, path.name, option), None, None


def _open_npy(path: Path, option: str) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle, which is never allowed
        raise DimcurseError(
            f"{path.name}: cannot read without unpickling ({_first_line(exc)}); "
            "save numbers with numpy.save, not Python objects",
            option,
        ) from None
    except (OSError, EOFError) as exc:
        raise DimcurseError(f"{path.name}: not a readable .npy file ({_first_line(exc)})", option) from None
    _check_numeric(array, path.name, option)
    return array


def _npz(path: Path, need_y: bool, target_column: str | None, option: str):
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DimcurseError(f"{path.name}: not a readable .npz file ({_first_line(exc)})", option) from None
    with archive:
        keys = list(archive.keys())
        if "x" not in keys:
            raise DimcurseError(
                f"{path.name}: no array x (it has: {', '.join(keys) or 'nothing'}); "
                "save features as x and targets as y",
                option,
            )
        ykey = target_column or "y"
        if target_column is not None and ykey not in keys:
            raise DimcurseError(f"{path.name}: no array {ykey!r} (it has: {', '.join(keys)})", "--target-column")
        try:
            x = archive["x"]
            y = archive[ykey] if ykey in keys else None
        except ValueError as exc:
            raise DimcurseError(f"{path.name}: cannot read without unpickling ({_first_line(exc)})", option) from None
    _check_numeric(x, f"{path.name} (x)", option)
    if y is not None:
        _check_numeric(y, f"{path.name} ({ykey})", option)
        y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
        if y.ndim != 1:
            raise DimcurseError(f"{path.name}: {ykey} has shape {y.shape}; one value per row expected", option)
    shape = tuple(int(s) for s in x.shape[1:]) if x.ndim == 4 else None
    if x.ndim == 4:  # images n x C x H x W: flattened for the models that take vectors
        x = x.reshape(x.shape[0], -1)
    return _as_matrix(x, path.name, option), y, shape


def _table(path: Path, need_y: bool, target_column: str | None, option: str):
    frame = _read_frame(path, option)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DimcurseError(f"{path.name}: empty (no rows or no columns)", option)
    ycol = target_column or ("y" if "y" in frame.columns else None)
    if target_column is not None and target_column not in frame.columns:
        raise DimcurseError(
            f"{path.name}: no column {target_column!r} (columns: {', '.join(map(str, frame.columns))})",
            "--target-column",
        )
    y = None
    if ycol is not None and (need_y or target_column is not None):
        y = frame[ycol].to_numpy()
        frame = frame.drop(columns=[ycol])
    elif ycol is not None:
        frame = frame.drop(columns=[ycol])  # a target is not a coordinate of the points
    bad = [str(c) for c in frame.columns if not _numeric_column(frame[c])]
    if bad:
        # distance has no target: only a learning kernel can take one of them as --target-column
        hint = (
            "drop them, or name the target with --target-column"
            if need_y
            else "drop them; a column named y is left out"
        )
        raise DimcurseError(
            f"{path.name}: non-numeric column(s) {', '.join(bad[:5])}{' …' if len(bad) > 5 else ''} ({hint})", option
        )
    if frame.shape[1] == 0:
        raise DimcurseError(f"{path.name}: no feature columns besides {ycol!r}", option)
    return frame.to_numpy(dtype=np.float64), y, None


def _read_frame(path: Path, option: str):
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise DimcurseError("reading .parquet needs pyarrow: pip install 'dimcurse[parquet]'", option) from None
            return pd.read_parquet(path)
        # The exact float a writer printed, so a CSV gives the same values as the .npy it came from:
        # pandas 3 parses that way by default (and deprecates the option); older pandas needs round_trip.
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", **exact)
    except DimcurseError:
        raise
    except pd.errors.EmptyDataError:
        raise DimcurseError(f"{path.name}: empty file", option) from None
    except pd.errors.ParserError as exc:
        raise DimcurseError(f"{path.name}: ragged or malformed table ({_first_line(exc)})", option) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DimcurseError(f"{path.name}: cannot read ({type(exc).__name__}: {_first_line(exc)})", option) from None


def _numeric_column(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _check_numeric(array: np.ndarray, name: str, option: str) -> None:
    if array.dtype.kind not in "biuf":
        raise DimcurseError(f"{name}: dtype {array.dtype} is not numeric", option)


def _as_matrix(array: np.ndarray, name: str, option: str = "--data") -> np.ndarray:
    """Rows are points: a 1-D array is refused (one point or one coordinate? reshape it yourself)."""
    if array.ndim != 2:
        raise DimcurseError(
            f"{name}: an array of shape {tuple(array.shape)}; points need rows and columns "
            "(n x d; reshape a 1-D array to (-1, 1) for one coordinate)",
            option,
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DimcurseError(f"{name}: empty, shape {tuple(array.shape)}", option)
    return array


def check_finite(x: np.ndarray, name: str, option: str = "--data") -> None:
    """No NaN or inf anywhere: the first bad cell is named by row and column; scanned in row blocks."""
    for start in range(0, x.shape[0], CHECK_ROWS):
        block = np.asarray(x[start : start + CHECK_ROWS], dtype=np.float64)
        bad = ~np.isfinite(block)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DimcurseError(
                f"{name}: {block[row, col]} at row {start + row}, column {col} (rows and columns count from 0)", option
            )


def check_labels(y: np.ndarray, name: str, option: str = "--data") -> np.ndarray:
    """Class labels must be the integers 0..C-1 (each present); otherwise say so, with the mapping to use."""
    values = np.unique(y)
    numeric = y.dtype.kind in "iuf"
    if len(values) == 1:  # every error would be 0 and every model interpolate: no threshold to find
        raise DimcurseError(
            f"{name}: every label is {_plain(values[0])}; a classifier needs at least 2 classes", option
        )
    if numeric and np.array_equal(values, np.arange(len(values))):
        return np.asarray(y, dtype=np.int64)
    listed = ", ".join(_plain(v) for v in values[:6]) + (" …" if len(values) > 6 else "")
    if numeric and not np.all(values == np.round(values)):
        raise DimcurseError(
            f"{name}: labels must be the integers 0..C-1; found {len(values)} distinct values, not "
            f"whole numbers ({listed}): a continuous target belongs to approx",
            option,
        )
    mapping = ", ".join(
        f"{_plain(v)!r}: {i}" if not numeric else f"{_plain(v)}: {i}" for i, v in enumerate(values[:6])
    ) + (", …" if len(values) > 6 else "")
    raise DimcurseError(
        f"{name}: labels must be the integers 0..C-1; found {len(values)} distinct values "
        f"({listed}); map them first, e.g. {{{mapping}}}",
        option,
    )


def check_numeric_target(y: np.ndarray, name: str, option: str = "--data") -> np.ndarray:
    """A regression target must be numbers."""
    if np.asarray(y).dtype.kind not in "biuf":
        raise DimcurseError(
            f"{name}: the target holds text; a regression needs numbers "
            "(class labels go to overparam, as integers 0..C-1)",
            option,
        )
    return np.asarray(y, dtype=np.float64)


def _plain(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def estimate_bytes(spec: str) -> float:
    """Peak bytes of reading ``spec`` whole as float64 (before it is read): 3x the array for
    tables (pandas' parse), the array itself for a memory-mapped .npy."""
    if str(spec).startswith(ARRAY_PREFIX):
        return 0.0
    path = Path(str(spec)).expanduser()
    if not path.is_file():
        return 0.0
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            return float(np.prod(array.shape)) * 8
        except (ValueError, OSError, EOFError):
            return 0.0  # load() says what is wrong with it
    return 3.0 * 8 * path.stat().st_size / 2  # text: at least 2 bytes per number (a digit and a comma)


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]
