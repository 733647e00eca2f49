"""Search and store costs at 100k and 1M passages, built from the real passages of ``bench.real_vectors``.

The passages are Debian documentation chunked by the project's pipeline and encoded once with the
default encoder (``make bench-vectors``, cached in var/bench/real100k/). A size up to the number
encoded takes that many of them: the cache's order is a seeded shuffle, so any prefix is a uniform
sample of the corpus. Larger sizes (1M) reuse them: replica ``r`` of a document keeps its text
(its ids get an "r<r>/" prefix) and each passage's vector gets a small deterministic Gaussian
perturbation (``NOISE`` per dimension, from a generator seeded with r), renormalised, so that no two
vectors are equal and an ANN index faces near-duplicates rather than exact ties; the result records
how many passages were real. Questions: the opening words of held-out passages (documents not in
the set), encoded with the same encoder. What this measures: index build, size on disk, dense
latency and recall@10 against an exact scan, hybrid lexical latency and serving memory at that many
rows. What it does not: ingest throughput, which is extrapolated from the measured per-stage rates at 10k.

``python -m bench.scale_large --passages 100000``  measure one size, merge into results.json
``python -m bench.scale_large --chunk-10k``        chunk bench.scale's 10k postgresql-doc passages
                                                   (``CACHE``, read by bench.scale_lexical)
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from pathlib import Path

import numpy as np

from bench.common import record
from bench import real_vectors
from bench.scale import WORK, chunk_files, corpus_files, log
from bench.vectors import scratch_postgres

CACHE = WORK / "real-10000.pkl"  # bench.scale's 10k chunked passages (text only), for bench.scale_lexical
NOISE = 0.02  # per dimension, before renormalising: a replica keeps cosine ~0.93 with its original


def chunk_10k(target: int = 10_000) -> list:
    """[(doc, chunks, units)] of bench.scale's postgresql-doc passages, chunked once into ``CACHE``."""
    if CACHE.exists():
        with CACHE.open("rb") as handle:
            return pickle.load(handle)["docs"]
    from rag import Settings

    docs, chunk_s, used = chunk_files(corpus_files(), Settings(generator="none"), target)
    log(f"chunked {sum(len(c) for _, c, _ in docs)} passages from {used} files in {chunk_s:.1f} s")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("wb") as handle:
        pickle.dump({"docs": docs, "chunk_s": chunk_s}, handle)
    return docs


QUERY_CACHE = WORK / "queries-200.npz"
PROBES = 50  # hybrid retrieve questions per store


def queries(docs: list) -> tuple[list[str], np.ndarray]:
    """The 200 questions of ``bench.scale`` (opening words of sampled passages, seed 7) and their vectors;
    bench.scale_lexical asks them of ``CACHE``'s passages."""
    import random

    from bench.scale import QUERIES

    rng = random.Random(7)
    sample = rng.sample([c for _, chunks, _ in docs for c in chunks], QUERIES)
    questions = [" ".join(c.text.split()[:12]) for c in sample]
    if QUERY_CACHE.exists():
        cached = np.load(QUERY_CACHE, allow_pickle=False)
        if list(cached["questions"]) == questions:
            return questions, cached["vectors"]
    from embeddings import load_encoder
    from rag import Settings

    vectors = np.asarray(load_encoder(Settings().embedding_model).encode(questions), dtype=np.float32)
    np.savez(QUERY_CACHE, questions=np.array(questions), vectors=vectors)
    return questions, vectors


def replicate(docs: list, vectors: np.ndarray, n: int, noise: float = NOISE, texts: bool = True) -> tuple[list, np.ndarray]:
    """``n`` passages: the real ones, then replicas of whole documents (replica r: ids prefixed "r<r>/",
    the same text, each vector plus ``noise`` x N(0, 1) per dimension from a generator seeded with r, renormalised).

    ``vectors`` are the real passages' vectors, in the order of ``docs``' chunks.
    """
    from dataclasses import replace

    out_docs, blocks, total, r = [], [], 0, 0
    while total < n:
        rng = np.random.default_rng(r)
        base = vectors if r == 0 else vectors + noise * rng.standard_normal(vectors.shape, dtype=np.float32)
        if r:
            base /= np.linalg.norm(base, axis=1, keepdims=True)
        row = 0
        for doc, chunks, units in docs:
            if total >= n:
                break
            if r and texts:
                doc_id = f"r{r}/{doc.doc_id}"
                doc = replace(doc, doc_id=doc_id, sha256=f"{doc.sha256}-r{r}")
                chunks = [replace(c, chunk_id=f"r{r}/{c.chunk_id}", doc_id=doc_id) for c in chunks]
            if texts:
                out_docs.append((doc, chunks, units))
            blocks.append(base[row:row + len(chunks)])
            row += len(chunks)
            total += len(chunks)
        r += 1
    return out_docs, np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)


def exact_top(matrix: np.ndarray, query_vectors: np.ndarray, k: int) -> list[np.ndarray]:
    """Row numbers of the exact top ``k`` by inner product, per query (numpy, in batches)."""
    out = []
    for start in range(0, len(query_vectors), 25):
        scores = query_vectors[start:start + 25] @ matrix.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        out.extend(top)
    return out


FAISS_PROBE = """
import json, sys, numpy as np, psutil
from embeddings import load_encoder
from rag import Settings
from rag.store.vectors import VectorIndex
index = VectorIndex.load(__import__("pathlib").Path(sys.argv[1]), 384)
encoder = load_encoder(Settings().embedding_model)
for q in json.loads(sys.argv[2]):
    index.search(np.asarray(encoder.encode([q])[0], dtype=np.float32), 10)
print(psutil.Process().memory_info().rss)
"""


def faiss_serving_rss(path: Path, questions: list[str]) -> int:
    """Resident bytes of a process holding the encoder and this FAISS file, after 20 searches (no store)."""
    import json
    import os
    import subprocess
    import sys

    from bench.scale import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", FAISS_PROBE, str(path), json.dumps(questions)],
                         capture_output=True, text=True, env=env, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def measure(n: int, stores: bool, pgdata: Path, rss: bool = True) -> dict:
    """One size: FAISS flat and IVF always; SQLite and PostgreSQL (bulk load, then HNSW) when ``stores``."""
    import tempfile

    from bench.common import machine
    from bench.scale import K, QUERIES, dense_bench
    from rag.store.vectors import VectorIndex, ivf_lists

    real_docs, real_matrix = real_vectors.load_documents(n)
    questions, query_vectors = real_vectors.load_queries()
    questions, query_vectors = questions[:QUERIES], query_vectors[:QUERIES]
    started = time.perf_counter()
    docs, matrix = replicate(real_docs, real_matrix, n, texts=stores)
    n = len(matrix)
    real_n = len(real_matrix)
    result: dict = {"machine": machine(), "source": "bench.scale_large", "passages": n,
                    "built_from": {"real_passages": real_n, "corpus": "bench.real_vectors (Debian documentation)",
                                   "replicas": -(-n // real_n), "questions": "held-out passages' opening words",
                                   "noise_per_dimension": NOISE, "build_s": round(time.perf_counter() - started, 1)},
                    "raw_vectors_bytes": int(matrix.nbytes)}
    log(f"{n} passages ({result['built_from']})")
    truth = [set(t.tolist()) for t in exact_top(matrix, query_vectors, K)]
    ids = np.arange(n, dtype=np.int64)
    result["dense"], result["build_s"], result["size_bytes"], result["serving_rss_bytes"] = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, approximate_from in (("faiss_flat", n + 1), ("faiss_ivf", 0)):
            started = time.perf_counter()
            index = VectorIndex.build(ids, matrix, matrix.shape[1], approximate_from=approximate_from)
            result["build_s"][name] = round(time.perf_counter() - started, 2)
            index.save(tmp / f"{name}.faiss")
            result["size_bytes"][name] = (tmp / f"{name}.faiss").stat().st_size
            extra = {"nprobe": index.nprobe, "nlist": ivf_lists(n)} if name == "faiss_ivf" else {}
            result["dense"][name] = {**dense_bench(name, index.search, query_vectors, truth), **extra}
            del index
            if name == "faiss_flat" and not stores and rss:  # with stores, the serving process below holds the flat file
                result["serving_rss_bytes"]["faiss_flat_encoder_and_index_only"] = \
                    faiss_serving_rss(tmp / f"{name}.faiss", questions[:20])
            log(f"{name}: build {result['build_s'][name]} s, rss {result['serving_rss_bytes']}")
        if stores:
            result.update(store_costs(docs, matrix, query_vectors, truth, questions, tmp, pgdata, rss))
    return result


def bulk_load(pg, docs: list, vectors: np.ndarray) -> None:
    """COPY documents, chunks (with rag.store.lexical's tokens) and sentences into PostgreSQL in one transaction.

    Not the product path (``put_document``: a transaction per document, measured separately); what a
    bulk import of a large library would do before ``CREATE INDEX``.
    """
    import json

    from rag.store.lexical import analyzer, body, overflow, tsvector
    from rag.store.postgres import _length, _vector_text

    with pg.transaction() as conn, conn.cursor() as cur:
        with cur.copy("COPY documents (doc_id, sha256, title, date, lang, text) FROM STDIN") as copy:
            for doc, _, _ in docs:
                copy.write_row((doc.doc_id, doc.sha256, doc.title, doc.date, doc.lang, doc.text))
        row = 0
        with cur.copy("COPY chunks (chunk_id, doc_id, start_at, end_at, text, text_en, section, lex, lex_len, "
                      "lex_many, vector) FROM STDIN") as copy:
            for doc, chunks, _ in docs:
                analysed = analyzer().offsets([body(doc.title, c.section, c.text, c.text_en) for c in chunks])
                for c, found in zip(chunks, analysed):
                    many = overflow(found)
                    copy.write_row((c.chunk_id, c.doc_id, c.start, c.end, c.text, c.text_en, c.section, tsvector(found),
                                    _length(found), None if many is None else json.dumps(many), _vector_text(vectors[row])))
                    row += 1
        with cur.copy("COPY sentences (doc_id, start_at, end_at, kind) FROM STDIN") as copy:
            for doc, _, units in docs:
                for start, end, kind in units:
                    copy.write_row((doc.doc_id, start, end, kind))
        conn.execute("UPDATE manifest SET value = (value::bigint + 1)::text WHERE key = 'generation'")


def lexical_bench(store, questions: list[str]) -> dict:
    from bench.scale import percentiles

    store.lexical_search("warm up the caches", 30)
    latencies = []
    for question in questions:
        started = time.perf_counter()
        store.lexical_search(question, 30)
        latencies.append(time.perf_counter() - started)
    return percentiles(latencies)


def store_costs(docs, matrix, query_vectors, truth, questions, tmp: Path, pgdata: Path, rss: bool = True) -> dict:
    """SQLite + FAISS flat and PostgreSQL + pgvector HNSW holding ``docs``: writes, sizes, latency, memory."""
    bulk = len(matrix) > 20_000  # put_document's rate is measured at 10k; larger loads use COPY
    from bench.scale import K, dense_bench, dir_bytes, empty_database, hybrid_bench, serving_memory, write_store
    from rag import Settings
    from rag.retrieval.index import Index
    from rag.store.postgres import HNSW_EF_SEARCH, PgStore
    from rag.store.sqlite import ChunkStore
    from rag.store.vectors import VectorIndex

    n = len(matrix)
    out: dict = {"write": {}, "store_size_bytes": {}}
    settings = Settings(generator="none")
    sqlite_dir = tmp / "sqlite"
    store = ChunkStore(sqlite_dir / "chunks.sqlite")
    seconds = write_store(store, docs, matrix)
    out["write"]["sqlite_passages_per_s"] = round(n / seconds, 1)
    row_ids, _ = store.all_vectors(matrix.shape[1])
    store.checkpoint()
    store.close()
    VectorIndex.build(row_ids, matrix, matrix.shape[1], approximate_from=n + 1).save(sqlite_dir / "vectors.faiss")
    out["store_size_bytes"]["sqlite_chunks_db"] = dir_bytes(sqlite_dir, ("chunks.sqlite",))
    log(f"sqlite: {out['write']['sqlite_passages_per_s']}/s, {out['store_size_bytes']['sqlite_chunks_db']} bytes")

    url = empty_database(pgdata, "bench_large")
    pg = PgStore(url)
    first_doc, first_chunks, first_units = docs[0]
    pg.put_document(first_doc, first_chunks, matrix[:len(first_chunks)], first_units)  # fixes the dimension
    with pg.transaction() as conn:
        conn.execute("DROP INDEX chunks_hnsw")  # load first, index after: the plan for bulk loads
    rest = matrix[len(first_chunks):]
    if bulk:
        started = time.perf_counter()
        bulk_load(pg, docs[1:], rest)
        out["write"]["postgres_copy_no_index_passages_per_s"] = round(len(rest) / (time.perf_counter() - started), 1)
    else:
        seconds = write_store(pg, docs[1:], rest)
        out["write"]["postgres_no_index_passages_per_s"] = round(len(rest) / seconds, 1)
    started = time.perf_counter()
    with pg.transaction() as conn:
        conn.execute("SET LOCAL maintenance_work_mem = '4GB'")
        conn.execute("CREATE INDEX chunks_hnsw ON chunks USING hnsw (vector vector_cosine_ops)")
    out["write"]["postgres_hnsw_build_s"] = round(time.perf_counter() - started, 1)
    with pg.transaction() as conn:
        conn.execute("ANALYZE chunks")
        pg_ids = np.array([r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")], dtype=np.int64)
    out["store_size_bytes"]["postgres_tables_and_indexes"] = pg.size_bytes()
    log(f"postgres: {out['write']}, {out['store_size_bytes']}")
    pg_truth = [{int(pg_ids[i]) for i in t} for t in truth]  # one writer: ids follow the load order
    out["dense_pgvector_hnsw"] = {**dense_bench("pgvector hnsw", pg.dense_search, query_vectors, pg_truth),
                                  "ef_search": HNSW_EF_SEARCH, "m": 16, "ef_construction": 64}
    probe = questions[:PROBES]
    sqlite_index = Index(settings.replace(index_dir=sqlite_dir))
    pg_index = Index(settings.replace(index_dir=tmp / "pgindex", store=url))
    out["hybrid_retrieve"] = {"sqlite_faiss_flat": hybrid_bench(sqlite_index, probe),
                              "postgresql_pgvector": hybrid_bench(pg_index, probe),
                              "note": "retrieve(k=5) of a new question: encoding, dense + lexical (each engine's own "
                                      "ranking: FTS5 bm25(); PostgreSQL idf-weighted ts_rank over the rarest terms' "
                                      "candidates) + fusion, chunk reads"}
    log(f"hybrid: {out['hybrid_retrieve']}")
    out["lexical_search"] = {"sqlite": lexical_bench(sqlite_index.store, probe), "postgresql": lexical_bench(pg, probe),
                             "note": "store.lexical_search(question, 30) alone, the engine's own ranking"}
    log(f"lexical: {out['lexical_search']}")
    sqlite_index.close()
    pg_index.close()
    if rss:
        out["serving_rss_bytes"] = {"sqlite_faiss_flat": serving_memory(sqlite_dir, "", probe[:20]),
                                    "postgresql_pgvector": serving_memory(tmp / "pgindex", url, probe[:20])}
    pg.close()
    return out


def main() -> None:
    import json

    from bench.scale import OUT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-10k", action="store_true", help="only chunk bench.scale's 10k passages (CACHE)")
    parser.add_argument("--passages", type=int, help="measure this many passages")
    parser.add_argument("--no-stores", action="store_true", help="FAISS only (no SQLite / PostgreSQL)")
    parser.add_argument("--no-rss", action="store_true", help="skip the serving-memory probes (each loads the encoder)")
    args = parser.parse_args()
    if args.chunk_10k or not args.passages:
        docs = chunk_10k()
        log(f"{sum(len(c) for _, c, _ in docs)} chunked passages in {CACHE}")
        return
    log(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    started = time.perf_counter()
    with scratch_postgres() as pgdata:
        result = measure(args.passages, not args.no_stores, pgdata, not args.no_rss)
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    record(OUT, str(args.passages) if args.passages != 10_000 else "10000-shared-bm25", result)


if __name__ == "__main__":
    main()
