"""The vector index at scale: a synthetic clustered set of unit vectors, exact vs approximate.

Real sentence embeddings are not uniform on the sphere: they bunch into topics and
spread along a few dominant directions. The synthetic set mimics that with a
Gaussian mixture (cluster centres around a shared mean direction, anisotropic
noise with a decaying spectrum), generated in float32 batches. Queries are fresh
draws from the same mixture, not points of the set.

Run alone: ``python -m bench.vectors --n 1000000``.
"""

from __future__ import annotations

import argparse
import json
import time

import faiss
import numpy as np

from bench.common import Timer, summary_ms

DIM = 384


class Mixture:
    """A fixed random Gaussian mixture in ``dim`` dimensions; ``draw`` gives unit vectors."""

    def __init__(self, dim: int = DIM, clusters: int = 2000, seed: int = 7):
        rng = np.random.default_rng(seed)
        self.dim = dim
        mean = rng.standard_normal(dim).astype(np.float32)
        mean /= np.linalg.norm(mean)
        centres = rng.standard_normal((clusters, dim)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        self.centres = centres + 0.6 * mean  # a shared direction: every pair has a positive cosine
        rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        spectrum = (np.arange(1, dim + 1, dtype=np.float32) ** -0.6)
        spectrum *= 0.9 / np.sqrt((spectrum ** 2).sum())  # noise about as long as a centre
        self.noise_basis = (rotation.astype(np.float32) * spectrum[:, None]).astype(np.float32)
        self.weights = rng.dirichlet(np.full(clusters, 2.0))  # topics of unequal size

    def draw(self, n: int, seed: int, batch: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, batch):
            m = min(batch, n - start)
            which = rng.choice(len(self.centres), size=m, p=self.weights)
            noise = rng.standard_normal((m, self.dim), dtype=np.float32) @ self.noise_basis
            block = self.centres[which] + noise
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            out[start:start + m] = block
        return out


def recall_at(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(truth[i, :k]) & set(found[i, :k])) / k for i in range(len(truth))]))


def single_query_latency(index, queries: np.ndarray, k: int = 10) -> dict:
    """Latency of one query at a time, as the assistant searches."""
    times = []
    for q in queries:
        with Timer() as t:
            index.search(q[None, :], k)
        times.append(t.seconds)
    return summary_ms(times)


def run(n: int = 1_000_000, queries: int = 200, latency_queries: int = 50, nprobes=(16, 32, 64, 128, 256),
        hnsw_sample: int = 20_000, flat_latency_queries: int = 20) -> dict:
    from rag.store.vectors import APPROXIMATE_FROM, IVF_NPROBE, VectorIndex, ivf_lists

    mixture = Mixture()
    with Timer() as gen:
        data = mixture.draw(n, seed=1)
        query_vectors = mixture.draw(queries, seed=2)
    ids = np.arange(n, dtype=np.int64)
    result: dict = {"n": n, "dim": DIM, "queries": queries, "generate_s": round(gen.seconds, 1),
                    "approximate_from": APPROXIMATE_FROM}
    # Similarity structure, to compare with real embeddings (MiniLM: random pairs ~0.0-0.2, neighbours ~0.6-0.9).
    pairs = data[:2000] @ data[2000:4000].T
    result["cosine_random_pairs_mean"] = round(float(pairs.mean()), 3)

    # Exact baseline: the flat index the assistant uses below APPROXIMATE_FROM.
    with Timer() as t:
        exact = VectorIndex.build(ids, data, DIM, approximate_from=n + 1)
    result["flat_build_s"] = round(t.seconds, 1)
    with Timer() as t:
        truth_scores, truth = exact.search_many(query_vectors, 10)
    result["cosine_nearest_neighbour_mean"] = round(float(truth_scores[:, 0].mean()), 3)
    result["flat"] = single_query_latency(exact._index, query_vectors[:flat_latency_queries])
    del exact

    # The approximate index exactly as VectorIndex.build makes it.
    with Timer() as t:
        approx = VectorIndex.build(ids, data, DIM, approximate_from=1)
    result["ivf_build_s"] = round(t.seconds, 1)
    result["ivf_lists"] = ivf_lists(n)
    sweep = []
    for nprobe in nprobes:
        approx.nprobe = nprobe
        _scores, found = approx.search_many(query_vectors, 10)
        latency = single_query_latency(approx._index, query_vectors[:latency_queries])
        sweep.append({"nprobe": nprobe, "recall_at_10": round(recall_at(truth, found, 10), 4), **latency,
                      "p50_speedup_vs_flat": round(result["flat"]["p50_ms"] / latency["p50_ms"], 1)})
    result["ivf_sweep"] = sweep
    result["ivf_nprobe"] = IVF_NPROBE
    result["ivf"] = next(row for row in sweep if row["nprobe"] == IVF_NPROBE)
    approx.nprobe = IVF_NPROBE
    # remove in place: the point of IVF over HNSW for an index that changes
    with Timer() as t:
        removed = approx.remove(list(range(0, 1000)))
    result["ivf_remove_1000_s"] = round(t.seconds, 3)
    result["ivf_remove_supported"] = bool(removed)
    del approx

    # HNSW, the alternative: build time on a sample, to compare per vector.
    if hnsw_sample:
        sample = data[:hnsw_sample]
        hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        with Timer() as t:
            hnsw.add(sample)
        per_vector = t.seconds / hnsw_sample
        result["hnsw"] = {"sample": hnsw_sample, "build_s": round(t.seconds, 1),
                          "build_s_extrapolated_to_n": round(per_vector * n * np.log(n) / np.log(hnsw_sample), 0),
                          "M": 32, "efConstruction": 80}
        del hnsw

    # Where exact search stops being fast enough: flat latency at smaller sizes.
    scaling = []
    for size in (50_000, 100_000, 200_000):
        if size >= n:
            break
        flat = faiss.IndexFlatIP(DIM)
        flat.add(data[:size])
        scaling.append({"n": size, **single_query_latency(flat, query_vectors[:flat_latency_queries])})
        del flat
    result["flat_scaling"] = scaling
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--hnsw-sample", type=int, default=20_000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.n, hnsw_sample=args.hnsw_sample)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
