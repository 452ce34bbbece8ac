"""approx's trainers against the loop a user would write, in one run: speed at equal work, error at equal time.

    python benchmarks/bench_approx.py [--steps 2000] [--samples 2000] [--dim 8] [--seeds 3] [--device cpu]
                                      [--part all|speed|trainers] [--lm-iters 150]

Part "speed" (issue 12's goal: batched >= 3x the loop at equal or better test error): the
kernel's old default work, the Barron target at d = 8, widths 8..256, 3 seeds, 2,000
samples, 2,000 full-batch Adam steps with cosine decay to 1 %. The baseline is a plain
loop of ``nn.Sequential(Linear, ReLU, Linear)`` + ``torch.optim.Adam`` +
``CosineAnnealingLR``, one model at a time, started from the same weights as the batched
models (so equal work means equal arithmetic on the same problem). The agreement check
requires the batched test RMSE per width (median over seeds) to be at most 2 % above the
loop's, and the final training losses to agree (median relative difference < 1e-2).

Part "trainers": widths 8..128 on 8 samples per parameter of the widest (10,248; the
approximation regime, where test error measures the fit and not the sample size),
batched Levenberg–Marquardt (the kernel's default for shallow networks) for
``--lm-iters`` iterations; then Adam and per-model LBFGS each given the same wall time
(their step counts calibrated from short timed runs); train and test RMSE per width.

Every part reports wall, user and system time (``resource.getrusage``); system time
above 10 % of CPU time means the allocator is handing pages back (dimcurse/allocator.py).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from dimcurse.experiments.approx import lm
from dimcurse.experiments.approx.networks import Shallow, train_adam, train_lbfgs
from dimcurse.experiments.approx.targets import TargetOptions, get_target


class Clock:
    """Wall, user and system seconds of a block (user + system over both cores)."""

    def __enter__(self):
        self.wall, self.usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        return self

    def __exit__(self, *exc):
        now = resource.getrusage(resource.RUSAGE_SELF)
        self.wall = time.perf_counter() - self.wall
        self.user, self.system = now.ru_utime - self.usage.ru_utime, now.ru_stime - self.usage.ru_stime

    def line(self, name: str) -> str:
        cpu = self.user + self.system
        return (
            f"{name}: wall {self.wall:.2f} s, user {self.user:.2f} s, system {self.system:.2f} s "
            f"({100 * self.system / max(cpu, 1e-9):.1f} % of CPU time)"
        )


def make_data(dim: int, n: int, n_test: int, seeds: list[int], device):
    target = get_target("barron")
    f = target.build(dim, TargetOptions())
    x = torch.stack([target.sample(n, dim, s, "train") for s in seeds])
    xt = torch.stack([target.sample(n_test, dim, s, "test") for s in seeds])
    y, yt = f(x.reshape(-1, dim)).reshape(len(seeds), -1), f(xt.reshape(-1, dim)).reshape(len(seeds), -1)
    mean, sd = y.mean(1, keepdim=True), y.std(1, keepdim=True)

    def standard(t):
        return ((t - mean) / sd).float().to(device)

    return x.float().to(device), standard(y), xt.float().to(device), standard(yt)


def plain_loop(seeds, widths, dim, *, x, y, xt, yt, steps, lr):
    """One nn.Sequential + Adam + cosine decay per (seed, width), as a user would write it: (train MSE, test RMSE)."""
    train, test = np.zeros((len(seeds), len(widths))), np.zeros((len(seeds), len(widths)))
    for si, seed in enumerate(seeds):
        for j, width in enumerate(widths):
            ref = Shallow([seed], dim, [width], "relu")
            net = torch.nn.Sequential(torch.nn.Linear(dim, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))
            net = net.to(x.device)
            with torch.no_grad():  # the batched model's initial weights
                net[0].weight.copy_(ref.w1[0].T)
                net[0].bias.copy_(ref.b1[0, 0])
                net[2].weight.copy_(ref.v[0][None])
                net[2].bias.copy_(ref.c[0, 0])
            opt = torch.optim.Adam(net.parameters(), lr=lr)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 100)
            for _ in range(steps):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(x[si])[:, 0], y[si])
                loss.backward()
                opt.step()
                schedule.step()
            with torch.no_grad():
                train[si, j] = float(torch.nn.functional.mse_loss(net(x[si])[:, 0], y[si]))
                test[si, j] = float(torch.nn.functional.mse_loss(net(xt[si])[:, 0], yt[si]).sqrt())
    return train, test


def shallow_test_rmse(model: Shallow, xt, yt) -> np.ndarray:
    with torch.no_grad():
        return ((model(xt) - yt[:, :, None]) ** 2).mean(1).sqrt().double().cpu().numpy()


def lone_rmse(models: dict, x, y, widths, seeds) -> np.ndarray:
    """RMSE (S, M) of single models keyed by (seed index, width index)."""
    with torch.no_grad():
        return np.array(
            [
                [float(((models[(s, j)](x[s : s + 1])[0, :, 0] - y[s]) ** 2).mean().sqrt()) for j in range(len(widths))]
                for s in range(len(seeds))
            ]
        )


def speed(args, device) -> None:
    seeds, widths = list(range(args.seeds)), [8 * 2**i for i in range(6)]
    x, y, xt, yt = make_data(args.dim, args.samples, args.test_samples, seeds, device)
    train_adam(Shallow([0], args.dim, [8], "relu").to(device), x[:1], y[:1], 5, 3e-3)  # warm-up
    with Clock() as batched_clock:
        model = Shallow(seeds, args.dim, widths, "relu").to(device)
        batched = train_adam(model, x, y, args.steps, 3e-3)
    batched_test = shallow_test_rmse(model, xt, yt)
    with Clock() as loop_clock:
        loop_train, loop_test = plain_loop(seeds, widths, args.dim, x=x, y=y, xt=xt, yt=yt, steps=args.steps, lr=3e-3)
    rel = np.abs(batched.train_mse / loop_train - 1)
    worst = np.max(np.median(batched_test, 0) / np.median(loop_test, 0))
    print(
        f"speed: barron d = {args.dim}, widths {widths[0]}..{widths[-1]}, {len(seeds)} seeds, {args.steps} Adam "
        f"steps, {args.samples} samples"
    )
    print("  " + batched_clock.line("batched (dimcurse)"))
    print("  " + loop_clock.line("loop (nn.Sequential + Adam)"))
    print(f"  speed-up {loop_clock.wall / batched_clock.wall:.2f}x")
    print(f"  test RMSE per width, batched: {np.median(batched_test, 0).round(4).tolist()}")
    print(f"  test RMSE per width, loop:    {np.median(loop_test, 0).round(4).tolist()}")
    print(
        f"  worst batched / loop test RMSE {worst:.4f} (tolerance 1.02); train MSE relative difference "
        f"median {np.median(rel):.1e} (tolerance 1e-2)"
    )
    if not (worst <= 1.02 and np.median(rel) < 1e-2):
        raise SystemExit("batched and loop training disagree")


def trainers(args, device) -> None:
    seeds, widths = list(range(args.seeds)), [8 * 2**i for i in range(5)]
    n = 8 * ((args.dim + 2) * widths[-1] + 1)  # 8 samples per parameter of the widest
    x, y, xt, yt = make_data(args.dim, n, args.test_samples, seeds, device)
    with Clock() as lm_clock:
        model = Shallow(seeds, args.dim, widths, "relu").to(device)
        for j, w in enumerate(widths):
            # The kernel's default matrix: lm_rows = 1 sample per parameter, at least 3,000.
            rows = max(3000, model.flat(j).shape[1])
            out = lm.train_lm(model.flat(j), x, y, args.dim, w, args.lm_iters, rows=rows)
            model.load_flat(j, out.theta)
    lm_test, lm_train = shallow_test_rmse(model, xt, yt), shallow_test_rmse(model, x, y)
    budget = lm_clock.wall
    # Adam: steps per second from a short timed run, then as many steps as LM's wall time allows.
    probe = 100
    with Clock() as c:
        train_adam(Shallow(seeds, args.dim, widths, "relu").to(device), x, y, probe, 3e-3)
    adam_steps = max(probe, int(probe * budget / c.wall))
    with Clock() as adam_clock:
        model = Shallow(seeds, args.dim, widths, "relu").to(device)
        train_adam(model, x, y, adam_steps, 3e-3)
    adam_test, adam_train = shallow_test_rmse(model, xt, yt), shallow_test_rmse(model, x, y)

    def make(s, w):
        return Shallow(s, args.dim, w, "relu").to(device)

    with Clock() as c:
        train_lbfgs(make, seeds, widths, x, y, steps=20, lr=1.0)
    lbfgs_iters = max(20, int(20 * budget / c.wall))
    with Clock() as lbfgs_clock:
        models, _ = train_lbfgs(make, seeds, widths, x, y, steps=lbfgs_iters, lr=1.0)
    lbfgs_test, lbfgs_train = lone_rmse(models, xt, yt, widths, seeds), lone_rmse(models, x, y, widths, seeds)
    print(
        f"trainers at equal wall time: barron d = {args.dim}, widths {widths[0]}..{widths[-1]}, {len(seeds)} seeds, "
        f"{n} samples"
    )
    for name, clock, train, test in (
        (f"LM, {args.lm_iters} iterations", lm_clock, lm_train, lm_test),
        (f"Adam, {adam_steps} steps", adam_clock, adam_train, adam_test),
        (f"LBFGS, {lbfgs_iters} iterations per model", lbfgs_clock, lbfgs_train, lbfgs_test),
    ):
        print("  " + clock.line(name))
        print(f"    train RMSE per width (median over seeds): {np.median(train, 0).round(5).tolist()}")
        print(f"    test RMSE per width (median over seeds):  {np.median(test, 0).round(5).tolist()}")
    ratio = np.median(adam_test, 0) / np.median(lm_test, 0)
    print(f"  Adam / LM test RMSE per width: {ratio.round(2).tolist()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--test-samples", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lm-iters", type=int, default=200)
    parser.add_argument("--part", choices=["all", "speed", "trainers"], default="all")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"allocator tuned: {__import__('dimcurse').allocator.tune()}"
    )
    if args.part in ("all", "speed"):
        speed(args, device)
    if args.part in ("all", "trainers"):
        trainers(args, device)


if __name__ == "__main__":
    main()
