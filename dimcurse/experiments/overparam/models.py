"""The runners of ``dimcurse overparam``: the linear model, random features and the trained nets.

Each returns one row per (seed, width[, epoch]); the closed-form models solve min-norm or
ridge least squares in float64, the mlp and cnn train every (seed, width) as one batched
computation.
"""

from __future__ import annotations


import math
import time
from typing import Callable

import numpy as np
import torch

from dimcurse.configs import OverparamConfig as Config
from dimcurse.experiments.overparam.cnn import CNN1DClassifier, CNN2DClassifier, crop_and_flip
from dimcurse.experiments.overparam.classifier import MLPClassifier, train_classifier
from dimcurse.experiments.overparam import gd
from dimcurse.experiments.overparam.ridge import RidgePath
from dimcurse.experiments.overparam.task import (
    INTERPOLATION_RTOL,
    TRAINED,
    Task,
    image_shape,
    n_of,
    widths_for,
)
from dimcurse.experiments.overparam.theory import hastie_risk, minnorm_risk_exact
from dimcurse.runtime import generator, resolve_dtype


# --------------------------------------------------------------------------- models


def _metrics(pred: torch.Tensor, onehot: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Squared loss (summed over classes, mean over samples) and error rate of one-hot regression."""
    loss = float(((pred - onehot) ** 2).sum(1).mean())
    return loss, float((pred.argmax(1) != labels).double().mean())


def _interpolates(train_mse: float, targets: torch.Tensor) -> bool:
    return train_mse <= INTERPOLATION_RTOL * float((targets.double() ** 2).sum(1).mean())


def run_random_features(config: Config, task: Task, device) -> list[dict]:
    """Nested random ReLU features (the first N of one draw per seed), readout by min-norm / ridge."""
    widths = widths_for(config)
    n, d = task.x.shape[1], task.x.shape[2]
    onehot = torch.nn.functional.one_hot(task.y, task.classes).double()
    onehot_test = torch.nn.functional.one_hot(task.y_test, task.classes).double().to(device)
    labels_test = task.y_test.to(device)
    rows = []
    for si, seed in enumerate(config.seeds):
        features = feature_map_of(config.feature_map, d, max(widths), seed, device)
        phi, phi_test = features(task.x[si].to(device)), features(task.x_test.to(device))
        y, labels = onehot[si].to(device), task.y[si].to(device)
        for width in widths:
            t0 = time.perf_counter()
            path = RidgePath.fit(phi[:, :width], y)
            for ridge in config.ridge:
                coef = path.coef(ridge)
                train_loss, train_error = _metrics(phi[:, :width] @ coef, y, labels)
                test_loss, test_error = _metrics(phi_test[:, :width] @ coef, onehot_test, labels_test)
                rows.append(
                    _row(
                        config,
                        data=task.name,
                        seed=seed,
                        width=width,
                        params=width * task.classes,
                        n=n,
                        ridge=ridge,
                        train_loss=train_loss,
                        train_error=train_error,
                        test_loss=test_loss,
                        test_error=test_error,
                        weight_norm=float(coef.norm()),
                        interpolates=_interpolates(train_loss, y),
                        chance_error=task.chance_error,
                        elapsed_s=time.perf_counter() - t0,
                    )
                )
    return rows


def run_knn(config: Config, task: Task, device) -> list[dict]:
    """A k-nearest-neighbour classifier (Euclidean, on the standardised inputs), k = each width: the
    nonparametric baseline of a learning curve. Votes are the neighbours' one-hot labels averaged, so the
    squared loss is that of the vote shares; a tie goes to the smallest class. Train error counts each point
    among its own neighbours (1-NN: 0). Its size is the n x d numbers it stores."""
    rows = []
    x_test, labels_test = task.x_test.to(device), task.y_test.to(device)
    onehot_test = torch.nn.functional.one_hot(labels_test, task.classes).double()
    n, d = task.x.shape[1], task.x.shape[2]
    for si, seed in enumerate(config.seeds):
        x, labels = task.x[si].to(device), task.y[si].to(device)
        onehot = torch.nn.functional.one_hot(labels, task.classes).double()
        for k in widths_for(config):
            t0 = time.perf_counter()
            kk = min(k, n)
            votes = [onehot[_nearest(x, q, kk)].mean(1) for q in (x, x_test)]
            train_loss, train_error = _metrics(votes[0], onehot, labels)
            test_loss, test_error = _metrics(votes[1], onehot_test, labels_test)
            rows.append(
                _row(
                    config, data=task.name, seed=seed, width=k, params=n * d, n=n,
                    train_loss=train_loss, train_error=train_error, test_loss=test_loss, test_error=test_error,
                    interpolates=train_error == 0.0, chance_error=task.chance_error, elapsed_s=time.perf_counter() - t0,
                )
            )  # fmt: skip
    return rows


def _nearest(points: torch.Tensor, queries: torch.Tensor, k: int, block: int = 2048) -> torch.Tensor:
    """Indices (m, k) of each query's k nearest points, in blocks of queries (ties: the lower index)."""
    out = []
    for start in range(0, queries.shape[0], block):
        dist = torch.cdist(queries[start : start + block].double(), points.double())
        out.append(torch.topk(dist, k, dim=1, largest=False, sorted=True).indices)
    return torch.cat(out)


FEATURE_MAPS = ("relu", "fourier")


def feature_map_of(kind: str, d: int, width: int, seed: int, device) -> Callable[[torch.Tensor], torch.Tensor]:
    """The first ``width`` random features of one draw per seed (nested: N features are the first N).

    relu: max(0, w.x + b), w ~ N(0, I/d) (unit-variance pre-activations on standardised inputs),
    b ~ N(0, 1). fourier: cos(w_k.x), sin(w_k.x) in pairs, k = 1..ceil(N/2), w_k ~ N(0, I/d): random
    Fourier features of the Gaussian kernel exp(-|x - y|^2 / 2d) (Rahimi & Recht 2007), the map
    Belkin et al. 2019 used; N counts real features, so the threshold is N = n as for relu."""
    gen = generator(seed, "random-features", d) if kind == "relu" else generator(seed, "fourier", d)
    if kind == "relu":
        w = torch.randn(d, width, generator=gen, dtype=torch.float64).to(device) / math.sqrt(d)
        b = torch.randn(1, width, generator=gen, dtype=torch.float64).to(device)
        return lambda x: torch.relu(x @ w + b)
    # Drawn in fixed blocks of 64 frequencies (torch's normal sampler depends on the tensor's size), so
    # any N's features are exactly the first N of a wider draw.
    pairs, block = (width + 1) // 2, 64
    w = torch.cat([torch.randn(block, d, generator=gen, dtype=torch.float64) for _ in range(-(-pairs // block))])
    w = w[:pairs].T.to(device) / math.sqrt(d)

    def fourier(x: torch.Tensor) -> torch.Tensor:
        phase = x @ w
        pairs = torch.stack([torch.cos(phase), torch.sin(phase)], dim=2)  # (n, k, 2): cos_1, sin_1, cos_2 ...
        return pairs.reshape(x.shape[0], -1)[:, :width]

    return fourier


def _theory_risk(n: int, p: int, config: Config, ridge: float) -> float:
    """The expected excess risk: exact at this n and p for min-norm (an inverse-Wishart mean,
    docs/references.md, Double descent), and Hastie et al.'s large-n limit for a ridge, where no finite-n
    closed form exists (the row's theory_risk_limit says so). NaN where the expectation is
    infinite (|p - n| <= 1 with noise): undefined, with a note (theory_notes)."""
    if ridge > 0:
        risk = hastie_risk(p / n, config.signal_var, config.noise_var, ridge)
    else:
        risk = minnorm_risk_exact(n, p, config.signal_var, config.noise_var)
    return risk if math.isfinite(risk) else math.nan


def run_linear(config: Config, device) -> list[dict]:
    """Min-norm / ridge least squares, x ~ N(0, I_p), y = x.beta + N(0, sigma^2), ||beta||^2 = r^2; with --steps,
    gradient descent from zero instead (run_linear_gd)."""
    if config.steps is not None:
        return run_linear_gd(config)
    n, rows = n_of(config), []
    for seed in config.seeds:
        for p in widths_for(config):
            t0 = time.perf_counter()
            gen = generator(seed, "linear", p)
            beta = torch.randn(p, generator=gen, dtype=torch.float64)
            beta = beta * math.sqrt(config.signal_var) / beta.norm().clamp_min(1e-300)

            def draw(m):
                return torch.randn(m, p, generator=gen, dtype=torch.float64)

            x, x_test = draw(n), draw(config.n_test)
            noise = math.sqrt(config.noise_var)
            y = x @ beta + noise * torch.randn(n, generator=gen, dtype=torch.float64)
            y_test = x_test @ beta + noise * torch.randn(config.n_test, generator=gen, dtype=torch.float64)
            x, y, x_test, y_test, beta = (t.to(device) for t in (x, y, x_test, y_test, beta))
            path = RidgePath.fit(x, y[:, None])
            for ridge in config.ridge:
                coef = path.coef(ridge)[:, 0]
                train_loss = float(((x @ coef - y) ** 2).mean())
                rows.append(
                    _row(
                        config,
                        data="gaussian",
                        seed=seed,
                        width=p,
                        params=p,
                        n=n,
                        ridge=ridge,
                        train_loss=train_loss,
                        test_loss=float(((x_test @ coef - y_test) ** 2).mean()),
                        weight_norm=float(coef.norm()),
                        interpolates=_interpolates(train_loss, y[:, None]),
                        excess_risk=float(((coef - beta) ** 2).sum()),
                        theory_risk=_theory_risk(n, p, config, ridge),
                        theory_risk_limit=ridge > 0,
                        elapsed_s=time.perf_counter() - t0,
                    )
                )
    return rows


def run_linear_gd(config: Config) -> list[dict]:
    """Full-batch gradient descent from zero on least squares with features at --feature-scales, every seed
    at once, recorded over steps; beside each record the exact expected excess risk given the seed's inputs
    (gd.Path). On the CPU in float64: the closed form and the iteration agree to rounding."""
    n, rows = n_of(config), []
    steps = gd.record_steps(config.steps, config.record_every)
    for p in widths_for(config):
        problems = [
            gd.draw(seed, n, config.n_test, p, scales=config.feature_scales, signal_var=config.signal_var,
                    noise_var=config.noise_var)
            for seed in config.seeds
        ]  # fmt: skip
        for mode in config.group_steps:
            t0 = time.perf_counter()
            paths = [gd.Path.of(problem, mode, config.lr) for problem in problems]
            thetas = gd.simulate(paths, steps)
            label = "scales " + ",".join(f"{s:g}" for s in config.feature_scales)
            label += ", equalised steps" if mode == "equalised" else ""
            elapsed = (time.perf_counter() - t0) / len(problems)
            for seed, path, theta in zip(config.seeds, paths, thetas):
                rows += _gd_rows(config, path, theta, steps, seed=seed, label=label, elapsed=elapsed)
    return rows


def _gd_rows(config: Config, path, theta: torch.Tensor, steps, *, seed: int, label: str, elapsed: float) -> list:
    """One seed's records: losses of the iterates, the measured excess risk and its expectation (theory)."""
    pb, n = path.problem, path.problem.x.shape[0]
    train = ((theta @ pb.x.T - pb.y) ** 2).mean(1)
    test = ((theta @ pb.x_test.T - pb.y_test) ** 2).mean(1)
    excess = (((theta - pb.beta) * pb.sd) ** 2).sum(1)
    expected = path.expected_excess(steps)
    out = []
    for i, t in enumerate(steps):
        out.append(
            _row(
                config, data="gaussian", seed=seed, width=theta.shape[1], params=theta.shape[1], n=n, epoch=float(t),
                train_loss=float(train[i]), test_loss=float(test[i]), weight_norm=float(theta[i].norm()),
                interpolates=_interpolates(float(train[i]), pb.y[:, None]), excess_risk=float(excess[i]),
                theory_risk=float(expected[i]), theory_risk_limit=False, elapsed_s=elapsed, feature_map=label,
            )
        )  # fmt: skip
    return out


def run_mlp(config: Config, task: Task, device, progress, resume=None) -> list[dict]:
    """All widths x seeds as one batched network (an MLP, or the CNN), trained by mini-batch AdamW/SGD;
    ``resume`` (classifier.Resume): where its training state is kept, to go on from after a kill."""
    widths, dtype = widths_for(config), resolve_dtype(config.dtype)
    S, n, d = task.x.shape
    image = image_shape(config)
    if config.model == "cnn" and image is not None:
        model = CNN2DClassifier(list(config.seeds), image, widths, task.classes, dtype).to(device)
    elif config.model == "cnn":
        model = CNN1DClassifier(list(config.seeds), d, widths, task.classes, dtype).to(device)
    else:
        model = MLPClassifier(
            list(config.seeds), d, widths, task.classes, depth=config.depth, activation=config.activation, dtype=dtype
        ).to(device)
    sizes = model.params_per_model(d)
    x = task.x.to(dtype).to(device)
    x_test = task.x_test.to(dtype).to(device)[None].expand(S, -1, -1)
    y_test = task.y_test.to(device)[None].expand(S, -1)
    lr = config.lr or (1e-3 if config.optimizer == "adam" else 0.05)
    t0 = time.perf_counter()
    trained = train_classifier(
        model,
        x,
        task.y.to(device),
        x_test,
        y_test,
        list(config.seeds),
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=lr,
        optimizer=config.optimizer,
        weight_decay=config.weight_decay,
        loss=config.loss,
        record_every=config.record_every,
        steps=config.steps,
        progress=progress,
        augment=crop_and_flip(image, list(config.seeds)) if config.augment else None,
        resume=resume,
    )
    elapsed = time.perf_counter() - t0
    rows = []
    for record in trained.records:
        for si, seed in enumerate(config.seeds):
            for j, width in enumerate(widths):
                dead = bool(trained.diverged[si, j])
                first = record["first_zero"][si, j]
                rows.append(
                    _row(
                        config,
                        data=task.name,
                        seed=seed,
                        width=width,
                        params=sizes[j],
                        n=n,
                        epoch=record["epoch"],
                        train_loss=record["train_loss"][si, j],
                        train_error=record["train_error"][si, j],
                        test_loss=record["test_loss"][si, j],
                        test_error=record["test_error"][si, j],
                        weight_norm=float("nan") if dead else record["weight_norm"][si, j],
                        interpolates=bool(first <= record["epoch"]),
                        epochs_to_interpolate=first,
                        chance_error=task.chance_error,
                        diverged=dead,
                        elapsed_s=elapsed,
                    )
                )
    return rows


def _solver(config: Config) -> str:
    """How an untrained model's coefficients came: none (k-NN), gd (linear with --steps), closed-form."""
    return "none" if config.model == "knn" else "gd" if config.steps is not None else "closed-form"


def _row(config: Config, *, data: str, seed: int, width: int, params: int, n: int, **values) -> dict:
    row = {
        "model": config.model,
        "feature_map": config.feature_map if config.model == "random-features" else "none",
        "data": data,
        "augment": config.augment,
        "label_noise": values.pop("label_noise", 0.0),
        "ridge": values.pop("ridge", 0.0),
        "weight_decay": config.weight_decay,
        "width": int(width),
        "params": int(params),
        "params_per_sample": params / n,
        "epoch": float(values.pop("epoch", 0.0)),
        "seed": seed,
        "n_train": n,
        "train_loss": math.nan,
        "train_error": math.nan,
        "test_loss": math.nan,
        "test_error": math.nan,
        "weight_norm": math.nan,
        "interpolates": False,
        "epochs_to_interpolate": math.nan,
        "excess_risk": math.nan,
        "theory_risk": math.nan,
        "theory_risk_limit": False,
        "chance_error": math.nan,
        "diverged": False,
        "elapsed_s": 0.0,
    }
    row.update({k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in values.items()})
    row["elapsed_s"] = round(row["elapsed_s"], 4)
    trained = config.model in TRAINED
    row.update(
        {
            "depth": config.depth if config.model == "mlp" else 0,
            "optimizer": config.optimizer if trained else _solver(config),
            "loss": config.loss if trained else "mse",
            "dtype": config.dtype if trained else "float64",
        }
    )
    return row
