"""Lexical search alone on the 10k real passages: FTS5's own bm25() query (the SQLite store before
rag.store.lexical) against rag.store.lexical's shared ranking on the same store, at the same moment.

``python -m bench.scale_lexical`` (after ``bench.scale_large --embed``, which caches the chunked
passages); writes ``"lexical_10000"`` into bench/scale/results.json.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.scale import OUT, percentiles
from bench.scale_large import CACHE, PROBES, queries


def main() -> None:
    from rag.store.lexical import fts_terms
    from rag.store.sqlite import ChunkStore

    with CACHE.open("rb") as handle:
        docs = pickle.load(handle)["docs"]
    questions, _ = queries(docs)
    probe = questions[:PROBES]
    with tempfile.TemporaryDirectory() as tmp:
        store = ChunkStore(Path(tmp) / "chunks.sqlite")
        for doc, chunks, units in docs:
            store.put_document(doc, chunks, np.zeros((len(chunks), 384), dtype=np.float32), units)

        def fts5(question: str, limit: int = 30):
            expr = " OR ".join(f'"{t}"' for t in fts_terms(question))
            return store._db.execute("SELECT rowid, -bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? "
                                     "ORDER BY bm25(chunks_fts) LIMIT ?", (expr, limit)).fetchall()

        timings: dict[str, list[float]] = {"fts5_bm25_query": [], "rag_lexical": []}
        same = 0
        for question in probe:
            for name, search in (("fts5_bm25_query", fts5), ("rag_lexical", lambda q: store.lexical_search(q, 30))):
                started = time.perf_counter()
                found = search(question)
                timings[name].append(time.perf_counter() - started)
                if name == "fts5_bm25_query":
                    old = [r for r, _ in found]
                else:
                    same += old == [r for r, _ in found]
        result = {name: percentiles(samples) for name, samples in timings.items()}
        result.update({"passages": store.counts()["chunks"], "questions": len(probe), "same_top30_ids": same,
                       "note": "same SQLite store; rag.store.lexical caps candidates at 1000 (exact BM25 below the cap)"})
        store.close()
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    previous["lexical_10000"] = result
    OUT.write_text(json.dumps(previous, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
