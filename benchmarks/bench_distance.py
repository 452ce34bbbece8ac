"""Nearest + farthest neighbour throughput of dimcurse's kernel against FAISS and scikit-learn.

    python benchmarks/bench_distance.py [--queries 1000] [--points 100000] [--dims 2,10,100,1000] [--repeats 3]
        [--device cpu] [--chunks 1048576]

Everything is measured in one run (the machine is shared and noisy: compare ratios, not
seconds across runs). Each time is the best of --repeats. Peers, where installed:
- FAISS IndexFlatL2 (nearest) plus IndexFlatIP on [x, |x|^2] . [-2q, 1] (farthest: FAISS
  has no farthest search, so it takes a second pass);
- scikit-learn brute force: ``pairwise_distances_chunked`` reducing each chunk to its
  row min and max (one pass for both), and ``NearestNeighbors(algorithm='brute')`` for
  the nearest alone.
The matrix-multiply rate is a float32 (2048 x 2048) @ (2048 x 2048) product on the
same threads, so GFLOP/s = 2 q n d / time can be read against the machine's own limit.
With ``--device cuda`` the kernel runs on the GPU (times include the synchronisation),
the rate is that of an (8192 x 8192) float32 product on the GPU (TF32 off, as in the
kernel), and the CPU peers are not timed; the check against scikit-learn stays (on the
first 256 queries). ``--chunks`` times the kernel at several chunk sizes (elements of the
query x point block held at once; the peers are timed once per d).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dimcurse.experiments.distance.neighbours import parse_metric, query_stats


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(repeats: int, device: torch.device) -> float:
    size = 8192 if device.type == "cuda" else 2048
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    seconds = best_of(lambda: torch.mm(a, b), repeats + 2)
    return 2 * size**3 / seconds / 1e9


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

    def reduce(chunk, start):
        return (chunk.min(1), chunk.max(1))

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
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--chunks", default=str(1 << 20))
    args = parser.parse_args()
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    l2 = parse_metric("l2")
    rate = matmul_gflops(args.repeats, device)
    where = torch.cuda.get_device_name(device) if on_gpu else f"threads {torch.get_num_threads()}"
    print(f"torch {torch.__version__}, {device} ({where}); matmul rate {rate:.0f} GFLOP/s (float32)")
    chunks = [int(c) for c in args.chunks.split(",")]
    print(
        "| d | chunk | dimcurse nn+far (s) | with moments (s) | GFLOP/s (% of matmul) | FAISS nn+far (s) "
        "| sklearn nn+far (s) | sklearn nn only (s) | FAISS / dimcurse | sklearn / dimcurse "
        "| max rel. diff vs sklearn |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for dim in [int(d) for d in args.dims.split(",")]:
        gen = torch.Generator().manual_seed(dim)
        points = torch.rand(args.points, dim, generator=gen)
        queries = torch.rand(args.queries, dim, generator=gen)
        q_np, x_np = queries.numpy(), points.numpy()
        points, queries = points.to(device), queries.to(device)

        def peer(name):  # the peers run on the CPU
            return available(name) and not on_gpu

        t_faiss = best_of(lambda: faiss_nn_far(q_np, x_np), args.repeats) if peer("faiss") else float("nan")
        have_sk = available("sklearn")
        t_sk = best_of(lambda: sklearn_nn_far(q_np, x_np), args.repeats) if peer("sklearn") else float("nan")
        t_sk_nn = best_of(lambda: sklearn_nn(q_np, x_np), args.repeats) if peer("sklearn") else float("nan")
        reference = sklearn_nn_far(q_np[:256].astype(np.float64), x_np.astype(np.float64)) if have_sk else None
        for chunk in chunks:
            ours = best_of(lambda: query_stats(queries, points, l2, moments=False, chunk_elems=chunk), args.repeats)
            full = best_of(lambda: query_stats(queries, points, l2, moments=True, chunk_elems=chunk), args.repeats)
            gflops = 2 * args.queries * args.points * dim / ours / 1e9
            diff = float("nan")
            if reference is not None:
                stats = query_stats(queries[:256], points, l2, moments=False, chunk_elems=chunk)
                diff = max(np.max(np.abs(stats.nn / reference[0] - 1)), np.max(np.abs(stats.far / reference[1] - 1)))
            print(
                f"| {dim} | {chunk} | {ours:.3f} | {full:.3f} | {gflops:.0f} ({100 * gflops / rate:.0f} %) "
                f"| {t_faiss:.3f} | "
                f"{t_sk:.3f} | {t_sk_nn:.3f} | {t_faiss / ours:.2f} | {t_sk / ours:.2f} | {diff:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
