"""Crashes and damage: kill -9 during ingestion, then damaged index files.

SQLite is the source of truth and each document is one transaction, so after
any kill the index must open, hold complete documents only (every chunk,
sentence and vector of each), keep what was committed before, and a re-run
must finish the rest. A damaged vectors.faiss is rebuilt silently; a damaged
chunks.sqlite gives one clear line and `rag ingest --rebuild` recovers.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag import Assistant, Settings
from rag.ingest.chunk import chunk_sentences, split_sentences
from rag.store.vectors import VECTORS_FILE
from rag.ingest.read import sha256_bytes
from rag.core.records import Document
from rag.store.sqlite import IndexUnusable, vector_from_blob

ROOT = Path(__file__).resolve().parents[1]
KILLS = 20
WORDS = (
    "harbour council river bridge tram station budget school hospital market farmer miner engineer festival "
    "library museum factory railway airport tunnel canal orchard vineyard bakery brewery lighthouse island "
    "valley glacier forest desert village province minister mayor union court report survey storm flood"
).split()


def _sentence(rng: random.Random, tag: str) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
    words.insert(rng.randrange(len(words)), tag)
    return "The " + " ".join(words) + f" in {rng.randint(1950, 2024)}."


def _article(rng: random.Random, n: int, version: int) -> str:
    tag = f"Zorbix{n}"
    lines = [f"Report {n} on the {rng.choice(WORDS)} of {tag}", ""]
    lines += [" ".join(_sentence(rng, tag) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(2, 4))]
    lines += [f"Revision {version} of {tag} mentions the {rng.choice(WORDS)} {rng.choice(WORDS)}."] * (version > 0)
    return "\n".join(lines) + "\n"


class Library:
    """Generated small articles, with every version ever written remembered (sha256 -> text)."""

    def __init__(self, folder: Path, seed: int):
        self.folder = folder
        self.rng = random.Random(seed)
        self.versions: dict[str, dict[str, str]] = {}
        self.next = 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, n: int, version: int = 0) -> None:
        text = _article(self.rng, n, version)
        name = f"doc{n:03d}.txt"
        (self.folder / name).write_text(text, encoding="utf-8")
        self.versions.setdefault(name, {})[sha256_bytes(text.encode())] = text

    def add(self, count: int) -> None:
        for _ in range(count):
            self.write(self.next)
            self.next += 1

    def mutate(self, round_no: int) -> None:
        """Change, add and sometimes delete files, so each run has fresh work to be killed in."""
        present = self.present()
        for name in self.rng.sample(present, min(3, len(present))):
            self.write(int(name[3:6]), round_no)
        self.add(2)
        if round_no % 4 == 3 and len(present) > 10:
            (self.folder / self.rng.choice(present)).unlink()

    def present(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.txt"))


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_TRANSLATE": "0", "RAG_GENERATOR": "none",
            "TOKENIZERS_PARALLELISM": "false", "RAG_TORCH_THREADS": "1", "PYTHONPATH": str(ROOT)}


def rag(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args, "--home", str(home)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _generation(db_path: Path) -> int:
    """The committed generation, read the way another process would (0 while there is no index)."""
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT value FROM manifest WHERE key = 'generation'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def ingest_and_kill(home: Path, rng: random.Random, rebuild: bool) -> bool:
    """Run `rag ingest`, kill -9 it after a random number of commits plus a random delay; True if killed."""
    db_path = home / "index" / "chunks.sqlite"
    start_generation = 0 if rebuild else _generation(db_path)
    commits = rng.randint(0, 6)
    args = [sys.executable, "-m", "rag", "ingest", "--home", str(home)] + ["--rebuild"] * rebuild
    proc = subprocess.Popen(args, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while proc.poll() is None and _generation(db_path) < start_generation + commits:
        assert time.monotonic() < deadline, "ingestion made no progress"
        time.sleep(0.01)
    time.sleep(rng.uniform(0, 0.4))
    if proc.poll() is not None:
        assert proc.returncode == 0, proc.stderr.read().decode()
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    return True


def check_index(home: Path, library: Library, must_keep: dict[str, str]) -> dict[str, str]:
    """Open the index after a crash and check every stored document is whole; returns doc_id -> sha256."""
    assistant = Assistant(Settings(home=home, translate=False, generator="none"))
    try:
        stored = {d["doc_id"]: d for d in assistant.documents()}
        present = set(library.present())
        for doc_id, sha in must_keep.items():
            if doc_id in present:
                assert doc_id in stored, f"{doc_id} was committed before the kill and is gone"
        db = sqlite3.connect(f"file:{home / 'index' / 'chunks.sqlite'}?mode=ro", uri=True)
        vectors = assistant.index.vectors()
        total_chunks = 0
        for doc_id, meta in stored.items():
            assert meta["sha256"] in library.versions[doc_id], f"{doc_id} holds a version never written"
            doc = assistant.document(doc_id)
            assert doc.text == library.versions[doc_id][meta["sha256"]]
            spans = split_sentences(doc.text, doc.lang)
            expected = [(c.start, c.end) for c in chunk_sentences(doc, spans, assistant.settings.chunk_chars,
                                                                  assistant.settings.chunk_overlap_sentences)]
            rows = db.execute("SELECT id, start, end, text, vector FROM chunks WHERE doc_id = ? ORDER BY start, end",
                              (doc_id,)).fetchall()
            assert [(s, e) for _, s, e, _, _ in rows] == expected, f"{doc_id} has missing or extra chunks"
            sentences = db.execute("SELECT count(*) FROM sentences WHERE doc_id = ?", (doc_id,)).fetchone()[0]
            assert sentences == len(spans), f"{doc_id} has {sentences} of {len(spans)} sentences"
            for row, start, end, text, blob in rows:
                assert text == doc.text[start:end]
                vector = vector_from_blob(blob, vectors.dim)
                assert np.allclose(vectors.reconstruct(row), vector), f"vector of {doc_id} chunk {row} differs"
                best = vectors.search(vector, 1)
                assert best and best[0][1] > 0.999, f"{doc_id} chunk {row} is not searchable"
            total_chunks += len(rows)
        db.close()
        assert vectors.size == total_chunks == assistant.index.store.counts()["chunks"]
        assistant.search("Zorbix1 harbour report")  # the whole question path works
        return {doc_id: meta["sha256"] for doc_id, meta in stored.items()}
    finally:
        assistant.close()


@pytest.mark.slow
def test_kill_9_during_ingestion_never_loses_committed_documents(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20240611")))
    home = tmp_path / "home"
    library = Library(home / "library", seed=rng.randrange(10**6))
    library.add(16)
    committed: dict[str, str] = {}
    kills = rounds = 0
    while kills < KILLS:
        rounds += 1
        assert rounds <= KILLS + 10, f"only {kills} of {rounds} runs were killed before finishing"
        rebuild = rounds in (7, 15)
        kills += ingest_and_kill(home, rng, rebuild)
        committed = check_index(home, library, {} if rebuild else committed)
        library.mutate(rounds)
    final = rag("ingest", home=home)
    assert final.returncode == 0, final.stderr
    stored = check_index(home, library, committed)
    expected = {p.name: sha256_bytes(p.read_bytes()) for p in library.folder.glob("*.txt")}
    assert stored == expected, "the re-run did not finish the library"


# -- damaged files -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_home(tmp_path_factory) -> Path:
    """A built index of a few generated articles (in process: no subprocess start-up)."""
    home = tmp_path_factory.mktemp("damage") / "home"
    Library(home / "library", seed=7).add(5)
    assistant = Assistant(Settings(home=home, translate=False, generator="none"))
    assert len(assistant.ingest().added) == 5
    assistant.close()
    return home


def _copy(home: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "home"
    shutil.copytree(home, target)
    return target


def _flip(data: bytes, seed: int, count: int, skip: int = 0) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(skip, len(out))] ^= 0xFF
    return bytes(out)


VECTOR_DAMAGE = {
    "missing": None,
    "empty": lambda b: b"",
    "truncated": lambda b: b[: len(b) // 2],
    "one byte short": lambda b: b[:-1],
    "garbage": lambda b: os.urandom(len(b)),
    "flipped bytes": lambda b: _flip(b, 1, 3, skip=100),
}


@pytest.mark.parametrize("damage", VECTOR_DAMAGE)
def test_damaged_vector_file_is_rebuilt_silently(small_home: Path, tmp_path: Path, damage: str) -> None:
    home = _copy(small_home, tmp_path)
    settings = Settings(home=home, translate=False, generator="none")
    before = [(h.chunk.chunk_id, round(h.score, 6)) for h in Assistant(settings).search("Zorbix2 harbour bridge")]
    path = home / "index" / VECTORS_FILE
    if VECTOR_DAMAGE[damage] is None:
        path.unlink()
    else:
        path.write_bytes(VECTOR_DAMAGE[damage](path.read_bytes()))
    assistant = Assistant(settings)
    after = [(h.chunk.chunk_id, round(h.score, 6)) for h in assistant.search("Zorbix2 harbour bridge")]
    assert after == before
    assert assistant.index.vectors().size == assistant.index.store.counts()["chunks"]
    reopened = Assistant(settings)  # the rebuilt file was saved and now loads as it is
    assert reopened.index.store.manifest()["vectors_generation"] == str(reopened.index.generation)
    assert [(h.chunk.chunk_id, round(h.score, 6)) for h in reopened.search("Zorbix2 harbour bridge")] == before


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("rag: "), result.stderr
    return lines[0]


SQLITE_DAMAGE = {
    "garbage": lambda b: os.urandom(len(b)),
    "truncated": lambda b: b[: len(b) // 3],
}


@pytest.mark.parametrize("damage", SQLITE_DAMAGE)
def test_damaged_sqlite_gives_one_line_and_ingest_rebuilds(small_home: Path, tmp_path: Path, damage: str) -> None:
    """A reading command says what is wrong in one line; `rag ingest` sets the file aside and rebuilds, saying so."""
    home = _copy(small_home, tmp_path)
    path = home / "index" / "chunks.sqlite"
    path.write_bytes(SQLITE_DAMAGE[damage](path.read_bytes()))
    line = _one_line_error(rag("info", home=home))
    assert "damaged" in line and "rag ingest --rebuild" in line, line
    rebuilt = rag("ingest", home=home)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "added 5" in rebuilt.stdout
    said = [line for line in rebuilt.stderr.splitlines() if "damaged" in line]
    assert len(said) == 1 and "rebuilding it from the library" in said[0], rebuilt.stderr
    assert "Traceback" not in rebuilt.stderr
    assert list(path.parent.glob("chunks.sqlite.damaged-*")), "the damaged file was not kept aside"
    assistant = Assistant(Settings(home=home, translate=False, generator="none"))
    assert assistant.search("Zorbix3")[0].chunk.doc_id == "doc003.txt"


@pytest.mark.parametrize("seed", range(12))
def test_flipped_bytes_in_sqlite_give_results_or_index_unusable(small_home: Path, tmp_path: Path, seed: int) -> None:
    """Damage SQLite notices only when it reads a page must still surface as IndexUnusable, never raw errors."""
    home = _copy(small_home, tmp_path)
    path = home / "index" / "chunks.sqlite"
    path.write_bytes(_flip(path.read_bytes(), seed, 40, skip=100))
    assistant = Assistant(Settings(home=home, translate=False, generator="none"))
    try:
        for question in ("Zorbix1 harbour", "Zorbix4 river bridge", "budget minister"):
            assistant.ask(question)
        assistant.documents()
        for doc in assistant.documents():
            assistant.document(doc["doc_id"])
    except IndexUnusable as exc:
        assert "rag ingest --rebuild" in str(exc) and "\n" not in str(exc)
    assert assistant.ingest(rebuild=True).added  # and the library rebuilds it
    assert assistant.search("Zorbix3")[0].chunk.doc_id == "doc003.txt"


def test_damaged_embedding_cache_is_started_afresh(small_home: Path, tmp_path: Path) -> None:
    """embeddings.sqlite is only a cache: damage must not block search, ingestion or --rebuild."""
    home = _copy(small_home, tmp_path)
    for name in ("embeddings.sqlite-wal", "embeddings.sqlite-shm"):
        (home / "index" / name).unlink(missing_ok=True)
    (home / "index" / "embeddings.sqlite").write_bytes(os.urandom(8192))
    assistant = Assistant(Settings(home=home, translate=False, generator="none"))
    assert assistant.search("Zorbix1")[0].chunk.doc_id == "doc001.txt"
    assert len(assistant.ingest(rebuild=True).added) == 5
