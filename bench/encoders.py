"""Encoding throughput, full ingest and retrieval quality/latency for each encoder backend.

Every figure is measured in the same run as its baseline, plain sentence-transformers
fp32 (``torch``), and reported as a ratio to it. Throughput rounds are interleaved
(each backend encodes the same slice of texts in turn), so a change in machine load
during the run affects every backend alike.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bench.common import DEV_QUESTIONS, QUESTIONS, Timer, corpus_chunk_texts, summary_ms, temp_home, varied_texts

BASELINE = "torch"


@contextmanager
def backend_env(backend: str):
    """``RAG_ENCODER_BACKEND`` set for the code inside (rag's Index reads it through load_encoder)."""
    old = os.environ.get("RAG_ENCODER_BACKEND")
    os.environ["RAG_ENCODER_BACKEND"] = backend
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RAG_ENCODER_BACKEND", None)
        else:
            os.environ["RAG_ENCODER_BACKEND"] = old


def throughput(backends: list[str], count: int, budget_s: float, round_size: int = 128, batch_size: int = 32) -> dict:
    """chunks/s and MB/s of each backend on ``count`` varied real chunk texts (or as many as fit the budget)."""
    from embeddings import load_encoder

    base_texts = corpus_chunk_texts()
    texts = varied_texts(base_texts, count)
    variants: dict[str, tuple[str, bool]] = {b: (b, True) for b in backends}
    if "onnx-int8" in backends:
        variants["onnx-int8 (no length sort)"] = ("onnx-int8", False)
    encoders, loads = {}, {}
    for label, (backend, _sort) in variants.items():
        with Timer() as t:
            encoders[label] = load_encoder("default", backend)
        loads.setdefault(backend, round(t.seconds, 2))
        encoders[label].encode(texts[:batch_size])  # warm up
    seconds = {label: 0.0 for label in variants}
    vectors: dict[str, list[np.ndarray]] = {label: [] for label in variants}
    done = 0
    started = time.perf_counter()
    while done < len(texts) and (done == 0 or time.perf_counter() - started < budget_s):
        part = texts[done:done + round_size]
        for label, (backend, sort) in variants.items():
            encoder = encoders[label]
            impl = encoder._impl
            if hasattr(impl, "sort_by_length"):
                impl.sort_by_length = sort
            with Timer() as t:
                vectors[label].append(encoder.encode(part, batch_size=batch_size))
            if hasattr(impl, "sort_by_length"):
                impl.sort_by_length = True
            seconds[label] += t.seconds
        done += len(part)
    used = texts[:done]
    megabytes = sum(len(t.encode("utf-8")) for t in used) / 1e6
    reference = np.concatenate(vectors[BASELINE])
    rows = {}
    for label in variants:
        matrix = np.concatenate(vectors[label])
        cosine = (matrix * reference).sum(axis=1)
        rows[label] = {
            "backend": variants[label][0],
            "chunks_per_s": round(done / seconds[label], 1),
            "mb_per_s": round(megabytes / seconds[label], 3),
            "seconds": round(seconds[label], 2),
            "speedup_vs_torch": round(seconds[BASELINE] / seconds[label], 2),
            "cosine_to_torch_mean": round(float(cosine.mean()), 5),
            "cosine_to_torch_min": round(float(cosine.min()), 5),
            "load_s": loads[variants[label][0]],
        }
    return {"texts": done, "distinct_source_chunks": len(base_texts), "megabytes": round(megabytes, 3),
            "mean_chars": round(float(np.mean([len(t) for t in used])), 1), "batch_size": batch_size,
            "backends": rows}


def full_ingest(backends: list[str], repeats: int = 1) -> dict:
    """``Index.sync`` of the bundled corpus with translation off, timed per backend (models loaded first)."""
    from embeddings import load_encoder
    from rag import Settings
    from rag.retrieval.index import Index

    _warm_multilingual()
    for backend in backends:
        load_encoder("default", backend)
    warm = Index(Settings(home=temp_home("ingest-warm-up"), translate=False))
    warm.sync()  # first use of the sentence splitter, language detector etc. is not charged to a backend
    warm.close()
    rows: dict[str, dict] = {}
    for backend in backends:
        times, chunks = [], 0
        for _ in range(repeats):
            home = temp_home(f"ingest-{backend}")
            with backend_env(backend):
                index = Index(Settings(home=home, translate=False))
                index.encoder  # noqa: B018 - the encoder is loaded (cached per process) before the clock starts
                with Timer() as t:
                    report = index.sync()
                index.close()
            times.append(t.seconds)
            chunks = report.chunks
        best = min(times)
        rows[backend] = {"chunks": chunks, "seconds": round(best, 2),
                         "chunks_per_s": round(chunks / best, 1)}
    for row in rows.values():
        row["speedup_vs_torch"] = round(rows[BASELINE]["seconds"] / row["seconds"], 2)
    return rows


def _warm_multilingual() -> None:
    try:
        from embeddings.multilingual import load_multilingual
    except ImportError:
        return
    load_multilingual().encode(["warm up"])


def build_indexes(backends: list[str]) -> dict:
    """An index of the bundled corpus with the default settings (translation on) per backend.

    The first build translates; the others reuse its translations (seeded into their
    stores), so every index holds the same English text and only the encoder differs.
    """
    from embeddings import load_encoder
    from rag import Settings
    from rag.retrieval.index import Index

    homes, timings = {}, {}
    translations: list[tuple[str, str]] = []
    for backend in backends:
        load_encoder("default", backend)
        home = temp_home(f"index-{backend}")
        with backend_env(backend):
            index = Index(Settings(home=home))
            index.encoder  # noqa: B018
            for key, text in translations:
                index.store.cache_translation(key, text)
            with Timer() as t:
                report = index.sync()
            index.close()
        if not translations:
            db = sqlite3.connect(str(home / "index" / "chunks.sqlite"))
            translations = db.execute("SELECT key, text_en FROM translations").fetchall()
            db.close()
        homes[backend] = home
        timings[backend] = {"seconds": round(t.seconds, 2), "chunks": report.chunks,
                            "translated": not timings}
    return {"homes": homes, "timings": timings, "translations": len(translations)}


def dev_questions() -> list[dict]:
    if not DEV_QUESTIONS.exists():
        return []
    rows = [json.loads(line) for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("answerable")]


def _contains_all(text: str, groups: list[list[str]]) -> bool:
    low = text.lower()
    return all(any(alt.lower() in low for alt in group) for group in groups)


def quality_and_latency(homes: dict[str, Path], repeats: int = 3) -> dict:
    """hit@5 on the answerable dev questions and retrieval latency on the bench questions, per backend."""
    from rag import Settings
    from rag.retrieval.index import Index
    from rag.retrieval.retrieve import retrieve

    questions = dev_questions()
    rows: dict[str, dict] = {}
    indexes = {}
    for backend, home in homes.items():
        with backend_env(backend):
            index = Index(Settings(home=home))
            index.encoder  # noqa: B018
            index.vectors()
        indexes[backend] = index
        for question in QUESTIONS[:3]:
            retrieve(index, question)  # warm up
    latencies: dict[str, list[float]] = {b: [] for b in homes}
    for _ in range(repeats):  # interleaved: each question asked of every backend in turn
        for question in QUESTIONS:
            for backend, index in indexes.items():
                with Timer() as t:
                    retrieve(index, question)
                latencies[backend].append(t.seconds)
    for backend, index in indexes.items():
        doc_hits = answer_hits = dense_hits = 0
        reciprocal = 0.0
        for q in questions:
            hits = retrieve(index, q["question"], k=5).hits
            docs = [h.chunk.doc_id for h in hits]
            sources = set(q.get("sources") or [])
            doc_hits += bool(sources & set(docs))
            rank = next((i for i, d in enumerate(docs) if d in sources), None)
            reciprocal += 0.0 if rank is None else 1.0 / (rank + 1)
            window = " ".join(f"{h.chunk.text} {h.chunk.text_en or ''}" for h in hits)
            answer_hits += _contains_all(window, q.get("must_include") or [])
            vector = index.encoder.encoder.encode_one(q["question"])
            dense = index.store.chunks_by_ids([row for row, _ in index.vectors().search(vector, 5)])
            dense_window = " ".join(f"{c.text} {c.text_en or ''}" for c in dense.values())
            dense_hits += _contains_all(dense_window, q.get("must_include") or [])
        n = max(len(questions), 1)
        rows[backend] = {
            "questions": len(questions),
            "doc_hit_at_5": round(doc_hits / n, 3),
            "answer_hit_at_5": round(answer_hits / n, 3),
            "dense_answer_hit_at_5": round(dense_hits / n, 3),
            "mrr_doc": round(reciprocal / n, 3),
            "retrieval": summary_ms(latencies[backend]),
            "index_kind": index.vectors().kind,
        }
        index.close()
    base = rows[BASELINE]["retrieval"]["p50_ms"]
    for row in rows.values():
        row["retrieval"]["p50_speedup_vs_torch"] = round(base / row["retrieval"]["p50_ms"], 2)
    return rows
