"""Lexical against dense search on the 10k real passages, in one run and question by question.

Each store ranks the lexical side with its own engine (SQLite: FTS5's ``bm25()``; PostgreSQL:
idf-weighted ``ts_rank`` over the GIN-indexed ``lex``), ``LIMIT 30``. For every probe question,
back to back so that load hits all of them alike: the lexical search alone, the dense search alone
(the question's vector against FAISS flat / pgvector HNSW, k = 30 as ``retrieve`` asks), the
question's encoding alone, and a whole hybrid ``retrieve`` of a new question (encoding, both
searches, fusion, chunk reads).

``python -m bench.scale_lexical [--no-postgres]``: the passages are the ones ``bench.scale_large``
chunks (``postgresql-doc-15``, fetched with ``apt-get download`` on first use). Passages without a
real vector (``bench.scale_large --embed`` encodes them) get a seeded random unit vector: a flat
scan costs the same whatever the values, so the dense timing holds, but hybrid rankings are then
not meaningful (the result says how many vectors were real). Writes ``"lexical_10000"`` into
bench/scale/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import real_vectors
from bench.common import record
from bench.scale import OUT, empty_database, log, percentiles, write_store
from bench.scale_large import PROBES, queries

LIMIT = 30  # what retrieve asks of each side (Settings.candidates)


def vectors_for(count: int, encoded: np.ndarray, dim: int = 384) -> np.ndarray:
    """The real vectors where encoded, seeded random unit vectors for the rest."""
    rest = np.random.default_rng(10_000).standard_normal((max(count - len(encoded), 0), dim), dtype=np.float32)
    rest /= np.linalg.norm(rest, axis=1, keepdims=True)
    return np.ascontiguousarray(np.concatenate([encoded[:count], rest]), dtype=np.float32)


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def side_by_side(index, questions: list[str], query_vectors: np.ndarray) -> dict:
    """p50 / p95 of lexical, dense and hybrid retrieve over the same questions, interleaved."""
    from rag.retrieval.lexicon import encode_multilingual
    from rag.retrieval.retrieve import encode_question, retrieve

    store, dense, encoder = index.store, index.vectors(), index.encoder.encoder
    retrieve(index, "warm up the caches")
    samples: dict[str, list[float]] = {"lexical": [], "dense": [], "encode_question": [], "hybrid_retrieve": []}
    for question, vector in zip(questions, query_vectors):
        samples["lexical"].append(timed(lambda: store.lexical_search(question, LIMIT)))
        samples["dense"].append(timed(lambda: dense.search(vector, LIMIT)))
        samples["encode_question"].append(timed(lambda: encoder.encode([question])))  # what hybrid spends first
        encode_question.cache_clear()  # a new question: encoded again, as the first time
        encode_multilingual.cache_clear()
        samples["hybrid_retrieve"].append(timed(lambda: retrieve(index, question, k=5)))
    result = {name: percentiles(values) for name, values in samples.items()}
    result["lexical_over_dense_p50"] = round(result["lexical"]["p50_ms"] / max(result["dense"]["p50_ms"], 1e-9), 2)
    return result


def main() -> None:
    from bench.common import machine
    from rag import Settings
    from rag.retrieval.index import Index
    from rag.store.sqlite import ChunkStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-postgres", action="store_true", help="SQLite + FAISS only")
    args = parser.parse_args()
    docs, encoded = real_vectors.load_documents(10_000)  # the first 10k real passages of `make bench-vectors`
    count = sum(len(chunks) for _, chunks, _ in docs)
    matrix = vectors_for(count, encoded)
    questions, query_vectors = queries(docs)
    probe, probe_vectors = questions[:PROBES], query_vectors[:PROBES]
    result: dict = {"machine": machine(), "passages": count, "real_vectors": int(min(len(encoded), count)),
                    "questions": len(probe), "limit": LIMIT, "load_average_before": list(os.getloadavg())}
    settings = Settings(generator="none")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = ChunkStore(tmp / "sqlite" / "chunks.sqlite")
        write_store(store, docs, matrix)
        store.close()
        index = Index(settings.replace(index_dir=tmp / "sqlite"))
        result["sqlite_faiss_flat"] = side_by_side(index, probe, probe_vectors)
        index.close()
        log(f"sqlite: {result['sqlite_faiss_flat']}")
        if not args.no_postgres:
            url = empty_database(tmp / "pgdata", "bench_lexical")
            index = Index(settings.replace(index_dir=tmp / "pgindex", store=url))
            write_store(index.store, docs, matrix)
            with index.store.transaction() as conn:
                conn.execute("ANALYZE chunks")
            result["postgresql_pgvector_hnsw"] = side_by_side(index, probe, probe_vectors)
            index.close()
            log(f"postgresql: {result['postgresql_pgvector_hnsw']}")
    result["load_average_after"] = list(os.getloadavg())
    record(OUT, "lexical_10000", result)


if __name__ == "__main__":
    main()
