"""Nearest + farthest neighbour throughput of dimcurse's kernel against FAISS and scikit-learn.

    python benchmarks/bench_distance.py [--queries 1000] [--points 100000] [--dims 2,10,100,1000] [--repeats 3]

Everything is measured in one run (the machine is shared and noisy: compare ratios, not
seconds across runs). Each time is the best of --repeats. Peers, where installed:
- FAISS IndexFlatL2 (nearest) plus IndexFlatIP on [x, |x|^2] . [-2q, 1] (farthest: FAISS
  has no farthest search, so it takes a second pass);
- scikit-learn brute force: ``pairwise_distances_chunked`` reducing each chunk to its
  row min and max (one pass for both), and ``NearestNeighbors(algorithm='brute')`` for
  the nearest alone.
The matrix-multiply rate is a float32 (2048 x 2048) @ (2048 x 2048) product on the
same threads, so GFLOP/s = 2 q n d / time can be read against the machine's own limit.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dimcurse.neighbours import parse_metric, query_stats


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(repeats: int) -> float:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    seconds = best_of(lambda: torch.mm(a, b), repeats + 2)
    return 2 * 2048**3 / seconds / 1e9


def faiss_nn_far(queries: np.ndarray, points: np.ndarray):
    import faiss

    near = faiss.IndexFlatL2(points.shape[1])
    near.add(points)
    d_near, _ = near.search(queries, 1)
    augmented = np.hstack([points, (points**2).sum(1, keepdims=True)]).astype(np.float32)
    far = faiss.IndexFlatIP(augmented.shape[1])
    far.add(augmented)
    q_aug = np.hstack([-2 * queries, np.ones((len(queries), 1), np.float32)]).astype(np.float32)
    score, _ = far.search(q_aug, 1)
    return np.sqrt(np.maximum(d_near[:, 0], 0)), np.sqrt(np.maximum(score[:, 0] + (queries**2).sum(1), 0))


def sklearn_nn_far(queries: np.ndarray, points: np.ndarray):
    from sklearn.metrics import pairwise_distances_chunked

    reduce = lambda chunk, start: (chunk.min(1), chunk.max(1))  # noqa: E731
    parts = list(pairwise_distances_chunked(queries, points, reduce_func=reduce, metric="euclidean"))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def sklearn_nn(queries: np.ndarray, points: np.ndarray):
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=1, algorithm="brute").fit(points).kneighbors(queries)[0][:, 0]


def available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dims", default="2,10,100,1000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    l2 = parse_metric("l2")
    rate = matmul_gflops(args.repeats)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; matmul rate {rate:.0f} GFLOP/s (float32)")
    print("| d | dimcurse nn+far (s) | with moments (s) | GFLOP/s (% of matmul) | FAISS nn+far (s) | sklearn nn+far (s) | sklearn nn only (s) | FAISS / dimcurse | sklearn / dimcurse | max rel. diff vs sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for dim in [int(d) for d in args.dims.split(",")]:
        gen = torch.Generator().manual_seed(dim)
        points = torch.rand(args.points, dim, generator=gen)
        queries = torch.rand(args.queries, dim, generator=gen)
        ours = best_of(lambda: query_stats(queries, points, l2, moments=False), args.repeats)
        full = best_of(lambda: query_stats(queries, points, l2, moments=True), args.repeats)
        gflops = 2 * args.queries * args.points * dim / ours / 1e9
        q_np, x_np = queries.numpy(), points.numpy()
        t_faiss = best_of(lambda: faiss_nn_far(q_np, x_np), args.repeats) if available("faiss") else float("nan")
        have_sk = available("sklearn")
        t_sk = best_of(lambda: sklearn_nn_far(q_np, x_np), args.repeats) if have_sk else float("nan")
        t_sk_nn = best_of(lambda: sklearn_nn(q_np, x_np), args.repeats) if have_sk else float("nan")
        diff = float("nan")
        if have_sk:
            stats = query_stats(queries, points, l2, moments=False)
            nn, far = sklearn_nn_far(q_np.astype(np.float64), x_np.astype(np.float64))
            diff = max(np.max(np.abs(stats.nn / nn - 1)), np.max(np.abs(stats.far / far - 1)))
        print(f"| {dim} | {ours:.3f} | {full:.3f} | {gflops:.0f} ({100 * gflops / rate:.0f} %) | {t_faiss:.3f} | {t_sk:.3f} | "
              f"{t_sk_nn:.3f} | {t_faiss / ours:.2f} | {t_sk / ours:.2f} | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
