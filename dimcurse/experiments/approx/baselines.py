"""Fixed-basis baselines for ``dimcurse approx``: random features and k-nearest-neighbour regression.

Both see the same samples as the trained networks. Their exponents are the point of
comparison: a fixed basis of n functions cannot beat RMSE ~ n^(-1/d) on the Barron
class (Barron 1993), while a trained network reaches n^(-1/2) whatever d is.
"""

from __future__ import annotations

import torch

from dimcurse.experiments.approx.networks import Shallow


def random_features(seeds, dim: int, widths, activation: str, *, x_train, y_train, x_test):
    """Frozen random first layer (the shallow network's initialisation), readout by least squares.

    Inputs are stacked over seeds: (S, n, d) and (S, n). Returns (train_pred, test_pred),
    each (S, n, M), from min-norm least squares (float64, with a bias column).
    """
    frozen = Shallow(seeds, dim, widths, activation, dtype=torch.float64).to(x_train.device)
    preds_train, preds_test = [], []
    with torch.no_grad():
        h_train = frozen.act(torch.baddbmm(frozen.b1, x_train.double(), frozen.w1))
        h_test = frozen.act(torch.baddbmm(frozen.b1, x_test.double(), frozen.w1))
    for s in range(len(seeds)):
        cols_train, cols_test = [], []
        for block in frozen.blocks:
            a = torch.cat([h_train[s][:, block], torch.ones_like(h_train[s][:, :1])], 1)
            b = torch.cat([h_test[s][:, block], torch.ones_like(h_test[s][:, :1])], 1)
            # gelsd (SVD, min-norm for rank-deficient features) exists on the CPU only; the system is small.
            coef = torch.linalg.lstsq(a.cpu(), y_train[s].double()[:, None].cpu(), driver="gelsd").solution.to(a.device)
            cols_train.append(a @ coef)
            cols_test.append(b @ coef)
        preds_train.append(torch.cat(cols_train, 1))
        preds_test.append(torch.cat(cols_test, 1))
    return torch.stack(preds_train), torch.stack(preds_test)


def knn_sizes(shallow_params, dim: int, n_samples: int) -> list[int]:
    """Training-set sizes for k-NN matched to the networks' sizes: n stored points hold n (d + 1) numbers."""
    sizes = sorted({min(n_samples, max(2, round(p / (dim + 1)))) for p in shallow_params})
    return sizes


def knn_regression(x_train, y_train, x_test, sizes, k: int = 1):
    """k-NN regression on the first n training points for each n in ``sizes``: (S, n_test, len(sizes)), and the
    train predictions."""
    tests, trains = [], []
    for n in sizes:
        kk = min(k, n)
        d_test = torch.cdist(x_test.double(), x_train[:, :n].double())
        idx = torch.topk(d_test, kk, dim=2, largest=False).indices
        tests.append(torch.gather(y_train[:, None, :n].double().expand(-1, x_test.shape[1], -1), 2, idx).mean(2))
        # Training error of the n-point model on its own points (0 for k = 1, the interpolating case).
        d_self = torch.cdist(x_train[:, :n].double(), x_train[:, :n].double())
        idx_self = torch.topk(d_self, kk, dim=2, largest=False).indices
        trains.append(torch.gather(y_train[:, None, :n].double().expand(-1, n, -1), 2, idx_self).mean(2))
    return trains, torch.stack(tests, 2)
