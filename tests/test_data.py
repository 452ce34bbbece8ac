"""Synthetic distributions and the offline real-data loaders."""

import gzip
import struct

import numpy as np
import pytest
import torch

from dimcurse.data import draw, load_dataset, parse_distribution, validate_finite
from dimcurse.errors import DimcurseError


def test_distributions_have_the_right_support():
    assert draw(parse_distribution("uniform"), 100, 5, 0).min() >= 0
    sphere = draw(parse_distribution("sphere"), 100, 5, 0, torch.float64)
    torch.testing.assert_close(sphere.norm(dim=1), torch.ones(100, dtype=torch.float64))
    sub = draw(parse_distribution("subspace:3"), 200, 40, 0, torch.float64)
    assert torch.linalg.matrix_rank(sub).item() == 3
    torus = draw(parse_distribution("torus:2"), 200, 10, 0, torch.float64)
    assert torch.linalg.matrix_rank(torus).item() == 4  # two circles span 4 directions


def test_draw_is_deterministic_and_prefix_stable():
    dist = parse_distribution("subspace:2")
    a = draw(dist, 50, 8, 3)
    torch.testing.assert_close(a, draw(dist, 50, 8, 3), rtol=0, atol=0)
    assert not torch.equal(draw(dist, 50, 8, 4), a)
    queries = draw(dist, 20, 8, 3, torch.float64, stream="queries")
    assert not torch.equal(queries, a[:20])
    # Points and queries of a subspace set share one subspace: together they still have rank 2.
    assert torch.linalg.matrix_rank(torch.cat([draw(dist, 50, 8, 3, torch.float64), queries])).item() == 2


@pytest.mark.parametrize("text", ["normal", "subspace", "subspace:0", "torus:x", ""])
def test_unknown_distributions(text):
    with pytest.raises(DimcurseError, match="--dist"):
        parse_distribution(text)


def test_subspace_larger_than_dimension_is_refused():
    with pytest.raises(DimcurseError, match="--dims"):
        draw(parse_distribution("subspace:10"), 5, 4, 0)


def test_digits_and_mnist1d_load_offline():
    digits = load_dataset("digits")
    assert digits.x.shape == (1797, 64)
    m1 = load_dataset("mnist1d")
    assert m1.x.shape == (4000, 40) and m1.x_test.shape == (1000, 40)
    from dimcurse import data as data_module

    state = np.random.get_state()[1].copy()
    again = data_module._mnist1d.__wrapped__()  # regenerate: deterministic for its seed
    np.testing.assert_array_equal(again.x, m1.x)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # numpy's global state untouched


def _write_idx(folder, prefix, n, rows=28, cols=28):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    with open(folder / f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes())
    with open(folder / f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())
    return images


def test_torchvision_reads_idx_files_written_here(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = _write_idx(raw, "train", 30)
    _write_idx(raw, "t10k", 10)
    data = load_dataset(f"mnist:{tmp_path}")
    assert data.x.shape == (30, 784) and data.x_test.shape == (10, 784)
    np.testing.assert_allclose(data.x[0], images[0].ravel() / 255.0, rtol=1e-6)


def test_missing_or_corrupt_folders_are_clear_errors(tmp_path):
    with pytest.raises(DimcurseError, match="no such folder"):
        load_dataset(f"mnist:{tmp_path / 'nowhere'}")
    with pytest.raises(DimcurseError, match="--data"):
        load_dataset(f"fashion-mnist:{tmp_path}")  # exists but holds no files: never a download
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw, "train", 30)
    _write_idx(raw, "t10k", 10)
    with open(raw / "train-images-idx3-ubyte", "r+b") as f:
        f.truncate(100)  # a truncated IDX file
    with pytest.raises(DimcurseError, match="--data"):
        load_dataset(f"mnist:{tmp_path}")


@pytest.mark.parametrize("spec", ["cifar", "mnist", "digits:x"])
def test_unknown_data_sets(spec):
    with pytest.raises(DimcurseError, match="--data"):
        load_dataset(spec)


def test_non_finite_data_is_refused():
    with pytest.raises(DimcurseError, match="NaN"):
        validate_finite(np.array([[1.0, np.nan]]), "x")
