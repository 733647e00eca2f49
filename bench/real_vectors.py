"""100,000 real passages encoded once: the vectors the ANN recall measurements need.

Synthetic or perturbed vectors say nothing about how IVF or HNSW behave on sentence
embeddings (issue 30), so this builds a cache of real ones, outside git:

1. Corpus: the HTML/text manuals of Debian documentation packages (``PACKAGES``), fetched
   with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into var/bench/real100k/.
2. Each package is read, split and chunked by the project's own pipeline (``rag.ingest``),
   English documents only, and pickled per package (resumable: a chunked package is kept).
3. The passages are deduplicated on their encoder text, documents are split into an
   indexed set and a held-out set (about 1 % of documents, by a hash of the document id),
   and the indexed passages are put in a seeded random order, so any encoded prefix is a
   uniform sample of the whole corpus. ``plan.json`` fixes that order once.
4. Queries: the opening words of sampled held-out passages (never vectors of the indexed set).
5. Encoding: shards of ``SHARD`` passages, each saved atomically as ``NNNNN.npy`` in the backend's
   own folder (``vectors_dir``: an fp32 and an int8 cache are never mixed); a killed run continues
   at the first missing shard. The encoder is the default MiniLM run by ONNX Runtime: ``onnx``
   (fp32, the same vectors as torch to ~1e-6) or, the default since fp32 on one thread could not
   encode 100k on the shared machine in a session, ``onnx-int8`` (dynamic int8 quantization of the
   same export, made locally); ``--int8-vs-fp32 N`` measures how far int8 moves the vectors.

``python -m bench.real_vectors [--backend onnx-int8] [--threads 2]``  (``make bench-vectors``; run it under ``nice -n 19``)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.common import REPO
from embeddings.encoder import Encoder
from rag import Settings
from rag.ingest.chunk import chunk_sentences, split_units
from rag.ingest.prepare import search_text
from rag.ingest.read import IngestError, read_document

ROOT = REPO / "var" / "bench" / "real100k"
# Debian bookworm documentation packages, smallest first; chunked in this order until TARGET passages.
PACKAGES = ("debian-faq", "nginx-doc", "postfix-doc", "sphinx-doc", "git-doc", "apache2-doc", "vim-doc",
            "debian-handbook", "postgresql-doc-15", "python-django-doc", "python3.11-doc", "erlang-doc")
SUFFIXES = {".html", ".htm", ".txt", ".md"}
TARGET = 100_000
SHARD = 2_000
HELDOUT_PERCENT = 1  # documents whose id hashes into this percentile give the queries
QUERIES = 500
QUERY_WORDS = 12  # like bench.scale: the opening words of a passage, a short question-like text
SEED = 30
BACKEND = "onnx-int8"  # ``--backend``; each backend keeps its own vectors folder, never mixed
DIM = 384


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: a killed run leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# -- corpus -------------------------------------------------------------------------------

def unpack(package: str) -> Path:
    """The package's files, downloaded and unpacked once (Debian's archive, the ordinary apt client)."""
    root, debs = ROOT / "packages" / package, ROOT / "debs"
    if not root.exists():
        debs.mkdir(parents=True, exist_ok=True)
        root.parent.mkdir(exist_ok=True)
        if not any(debs.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
        deb = next(debs.glob(f"{package}_*.deb"))
        with tempfile.TemporaryDirectory(dir=ROOT, ignore_cleanup_errors=True) as tmp:
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
            os.replace(tmp, root)
    return root


def chunk_package(package: str, limit: int | None = None) -> list:
    """[(doc, chunks, units)] of the package's English documents, chunked once and pickled.

    With ``limit``, files are taken in a seeded random order until that many passages: a sample
    of the whole package, for the last one needed to reach the target (its pickle keeps the sample).
    """
    cache = ROOT / "chunks" / f"{package}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    root = unpack(package)
    settings = Settings(generator="none")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file() and not p.is_symlink())
    files = [p for p in files if not _translation(p.relative_to(root))]
    html = {p.with_suffix("") for p in files if p.suffix.lower() in (".html", ".htm")}
    files = [p for p in files if p.suffix.lower() != ".txt" or p.with_suffix("") not in html]  # one format per page
    if limit is not None:
        random.Random(SEED).shuffle(files)
    docs, started = [], time.perf_counter()
    for path in files:
        if limit is not None and sum(len(c) for _, c, _ in docs) >= limit:
            break
        doc_id = f"{package}/{path.relative_to(root).as_posix()}"
        try:
            doc = read_document(path, doc_id)
        except IngestError:
            continue
        if doc.lang != "en":
            continue
        units = split_units(doc.text, doc.blocks, doc.lang)
        if not units:
            continue
        doc = replace(doc, blocks=())  # layout blocks are not stored; they would only bloat the cache
        chunks = chunk_sentences(doc, units, settings.chunk_chars, settings.chunk_overlap_sentences)
        docs.append((doc, chunks, [(u.start, u.end, u.kind) for u in units]))
    seconds = time.perf_counter() - started
    passages = sum(len(c) for _, c, _ in docs)
    log(f"{package}: {passages} passages from {len(docs)} English documents of {len(files)} files in {seconds:.0f} s")
    _atomic(cache, lambda tmp: tmp.write_bytes(pickle.dumps(docs)))
    return docs


def _translation(path: Path) -> bool:
    """A file in a non-English locale folder (debian-handbook's "de-DE/", ...): skipped before it is read,
    where the language check after extraction would reject it anyway at the cost of extracting it."""
    return any(re.fullmatch(r"[a-z]{2}[-_][A-Z]{2}", part) and not part.startswith("en") for part in path.parts[:-1])


def heldout(doc_id: str) -> bool:
    return int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 100 < HELDOUT_PERCENT


@dataclass(frozen=True)
class Plan:
    """Which passage is encoded in which row: (package, document, chunk) per row, and the queries."""

    packages: list[str]
    rows: np.ndarray  # (n, 3) int32: package index, document index, chunk index; the encoding order
    query_rows: np.ndarray  # (q, 3): held-out passages whose opening words are the queries
    stats: dict


def plan(target: int = TARGET) -> Plan:
    """The encoding order, made once from the chunked packages and then read back (it must not change)."""
    path = ROOT / "plan.npz"
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        return Plan(list(saved["packages"]), saved["rows"], saved["query_rows"], json.loads(str(saved["stats"])))
    seen: set[bytes] = set()
    indexed, held, used, duplicates = [], [], [], 0
    for package in PACKAGES:
        if len(indexed) >= target * 1.02:  # a little over: the shuffled prefix keeps every package's share
            break
        p = len(used)
        used.append(package)
        for d, (doc, chunks, _) in enumerate(chunk_package(package, int(target * 1.05) - len(indexed))):
            out = held if heldout(doc.doc_id) else indexed
            for c, chunk in enumerate(chunks):
                key = hashlib.blake2b(search_text(doc, chunk).encode(), digest_size=16).digest()
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                out.append((p, d, c))
    rng = random.Random(SEED)
    rng.shuffle(indexed)
    queries = rng.sample(held, min(QUERIES, len(held)))
    rows = np.array(indexed[:target], dtype=np.int32)
    stats = {"packages": used, "unique_indexed_passages": len(indexed), "heldout_passages": len(held),
             "duplicates_dropped": duplicates, "rows": len(rows), "queries": len(queries)}
    result = Plan(used, rows, np.array(queries, dtype=np.int32), stats)
    _atomic(path, lambda tmp: np.savez(tmp.open("wb"), packages=np.array(used), rows=result.rows,
                                       query_rows=result.query_rows, stats=json.dumps(stats)))
    log(f"plan: {stats}")
    return result


class Corpus:
    """The chunked packages of a plan, loaded once; the texts of plan rows."""

    def __init__(self, packages: list[str]):
        self.docs = [chunk_package(p) for p in packages]

    def passage(self, row) -> tuple:
        doc, chunks, _ = self.docs[row[0]][row[1]]
        return doc, chunks[row[2]]

    def texts(self, rows: np.ndarray) -> list[str]:
        return [search_text(*self.passage(r)) for r in rows]

    def questions(self, rows: np.ndarray) -> list[str]:
        return [" ".join(self.passage(r)[1].text.split()[:QUERY_WORDS]) for r in rows]


# -- encoding ------------------------------------------------------------------------------

def vectors_dir(backend: str = BACKEND) -> Path:
    """fp32 ``onnx`` vectors in ``vectors/`` (the previous layout), any other backend's beside it."""
    return ROOT / ("vectors" if backend == "onnx" else f"vectors-{backend}")


def shard_path(i: int, backend: str = BACKEND) -> Path:
    return vectors_dir(backend) / f"{i:05d}.npy"


def encode(minutes: float | None = None, backend: str = BACKEND, threads: int = 1) -> dict:
    """Encode the missing shards in plan order (and the queries first); returns the progress record."""
    the_plan = plan()
    corpus = Corpus(the_plan.packages)
    encoder = Encoder(backend=backend, threads=threads)
    queries_file = vectors_dir(backend) / "queries.npz"
    if not queries_file.exists():
        questions = corpus.questions(the_plan.query_rows)
        vectors = encoder.encode(questions)
        _atomic(queries_file, lambda tmp: np.savez(tmp.open("wb"), questions=np.array(questions), vectors=vectors))
    progress_file = vectors_dir(backend) / "progress.json"
    progress = json.loads(progress_file.read_text()) if progress_file.exists() else {"shards": {}}
    started = time.perf_counter()
    shards = -(-len(the_plan.rows) // SHARD)
    for i in range(shards):
        if shard_path(i, backend).exists():
            continue
        if minutes is not None and time.perf_counter() - started > minutes * 60:
            break
        rows = the_plan.rows[i * SHARD:(i + 1) * SHARD]
        t0 = time.perf_counter()
        vectors = encoder.encode(corpus.texts(rows))
        seconds = time.perf_counter() - t0
        _atomic(shard_path(i, backend), lambda tmp: np.save(tmp.open("wb"), vectors))
        progress["shards"][str(i)] = {"passages": len(rows), "seconds": round(seconds, 1), "threads": threads,
                                      "load_average": [round(x, 2) for x in os.getloadavg()]}
        progress.update(encoder=encoder.name, backend=backend, shard=SHARD)
        _atomic(progress_file, lambda tmp: tmp.write_text(json.dumps(progress, indent=1)))
        log(f"shard {i + 1}/{shards}: {len(rows) / seconds:.1f} passages/s, load {os.getloadavg()[0]:.2f}")
    return progress


def encoded_rate(progress: dict) -> dict:
    """Passages per second over the encoded shards (encoding time only, one thread)."""
    shards = progress.get("shards", {}).values()
    passages = sum(s["passages"] for s in shards)
    seconds = sum(s["seconds"] for s in shards)
    return {"passages": passages, "seconds": round(seconds, 1),
            "passages_per_s": round(passages / seconds, 1) if seconds else None}


def load(limit: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """The encoded prefix (consecutive shards from 0) and the query vectors, plus what they are."""
    blocks = []
    i = 0
    while shard_path(i).exists() and (limit is None or sum(len(b) for b in blocks) < limit):
        blocks.append(np.load(shard_path(i)))
        i += 1
    if not blocks:
        raise SystemExit(f"no cached vectors in {ROOT}: run `make bench-vectors` first")
    vectors = np.ascontiguousarray(np.concatenate(blocks)[:limit], dtype=np.float32)
    _, queries = load_queries()
    the_plan = plan()
    progress = json.loads((vectors_dir() / "progress.json").read_text())
    info = {"source": "bench.real_vectors", "encoded_passages": len(vectors), "planned_passages": len(the_plan.rows),
            "queries": len(queries), "encoder": progress.get("encoder"), "backend": progress.get("backend"),
            "encode_rate": encoded_rate(progress), "corpus": the_plan.stats}
    return vectors, queries, info


def load_queries() -> tuple[list[str], np.ndarray]:
    """The held-out questions (opening words of passages not in the indexed set) and their vectors."""
    saved = np.load(vectors_dir() / "queries.npz", allow_pickle=False)
    return [str(q) for q in saved["questions"]], np.ascontiguousarray(saved["vectors"], dtype=np.float32)


def load_documents(limit: int | None = None) -> tuple[list, np.ndarray]:
    """The encoded passages as stores take them: [(doc, chunks, units)] with each document's encoded
    chunks in text order (documents in order of first appearance), and their vectors in that order."""
    vectors, _, _ = load(limit)
    the_plan = plan()
    corpus = Corpus(the_plan.packages)
    rows = the_plan.rows[:len(vectors)]
    by_doc: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for i, (p, d, c) in enumerate(rows.tolist()):
        by_doc.setdefault((p, d), []).append((c, i))
    docs, order = [], []
    for (p, d), members in by_doc.items():
        doc, chunks, units = corpus.docs[p][d]
        members.sort()
        docs.append((doc, [chunks[c] for c, _ in members], units))
        order.extend(i for _, i in members)
    return docs, np.ascontiguousarray(vectors[order])


def int8_against_fp32(n: int = 1_000, k: int = 10) -> dict:
    """How far the int8 cache is from fp32: the first ``n`` planned passages and all queries encoded again
    with fp32 ``onnx``. Cosine per passage and per query; recall@k, against the fp32 questions' exact
    top k in the fp32 vectors, of int8 questions searched in the fp32 vectors and in the int8 ones."""
    int8, int8_queries, _ = load(n)
    the_plan = plan()
    corpus = Corpus(the_plan.packages)
    encoder = Encoder(backend="onnx", threads=2)
    fp32 = encoder.encode(corpus.texts(the_plan.rows[:len(int8)]))
    fp32_queries = encoder.encode(load_queries()[0])

    def top(queries: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        return np.argsort(-(queries @ matrix.T), axis=1)[:, :k]

    truth = top(fp32_queries, fp32)

    def recall(found: np.ndarray) -> float:
        return round(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)])), 4)

    passage_cos, query_cos = np.sum(int8 * fp32, axis=1), np.sum(int8_queries * fp32_queries, axis=1)
    result = {"passages": len(int8), "queries": len(fp32_queries), "k": k,
              "passage_cosine_mean": round(float(passage_cos.mean()), 5), "passage_cosine_min": round(float(passage_cos.min()), 5),
              "query_cosine_mean": round(float(query_cos.mean()), 5), "query_cosine_min": round(float(query_cos.min()), 5),
              f"recall_at_{k}_int8_queries_fp32_passages": recall(top(int8_queries, fp32)),
              f"recall_at_{k}_int8_queries_int8_passages": recall(top(int8_queries, int8))}
    _atomic(vectors_dir() / "int8_vs_fp32.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, help="stop starting new shards after this long")
    parser.add_argument("--plan-only", action="store_true", help="chunk the packages and fix the order, no encoding")
    parser.add_argument("--backend", default=BACKEND, choices=("onnx", "onnx-int8"))
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (2 only at nice 19)")
    parser.add_argument("--int8-vs-fp32", type=int, metavar="N", help="compare the int8 cache's first N with fp32")
    args = parser.parse_args(argv)
    if args.int8_vs_fp32:
        log(f"int8 against fp32: {int8_against_fp32(args.int8_vs_fp32)}")
        return 0
    if args.plan_only:
        plan()
        return 0
    progress = encode(args.minutes, args.backend, args.threads)
    log(f"encoded: {encoded_rate(progress)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
