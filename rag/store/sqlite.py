"""The chunk store: documents, chunks, sentences and their vectors in SQLite.

SQLite is the source of truth of an index. Each document is written in one
transaction, so a crash leaves every earlier document intact; the FAISS file
is derived from the vectors stored here and is rebuilt when it is missing,
stale or damaged. FTS5 gives BM25 over the original text and its English
rendering.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np

from rag.core.errors import DiskFull, IndexDamaged, IndexUnusable
from rag.core.records import Chunk, Document
from rag.store.lexical import body as lexical_body
from rag.store.locking import writer_lock
from rag.store.reads import SentenceReads
from rag.store.sqlite_fulltext import SqliteFullText

SCHEMA_VERSION = "3"
BUSY_SECONDS = 60.0  # how long a statement waits for another process's write before failing
INDEXED_TABLES = ("chunks_fts", "sentences", "chunks", "documents")  # what a rebuild forgets (children first)

SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, title TEXT, date TEXT, lang TEXT,
    text TEXT NOT NULL, ingested_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL, text_en TEXT, vector BLOB NOT NULL,
    section TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL, end INTEGER NOT NULL,
    kind TEXT NOT NULL DEFAULT 'sentence',  -- sentence | heading | code | row
    vector_ml BLOB  -- multilingual vector (float16), for non-English documents; English vectors are made when used
);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id, start);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(body, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, text_en TEXT NOT NULL);
"""


def _detail(exc: Exception) -> str:
    detail = " ".join(str(exc).split())  # one line, even when SQLite quotes a damaged text
    return detail if len(detail) <= 100 else detail[:99] + "…"


def _damaged(path: Path, exc: Exception) -> IndexDamaged:
    return IndexDamaged(f"the index at {path.parent} is damaged ({_detail(exc)})")


def _refusal(exc: Exception) -> str:
    """What SQLite's "disk I/O error" for a refused write means here."""
    if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc):
        return "no space left on the device"
    return "the file system refused a write: no space left, or a file size limit reached"


def _is_full(exc: Exception) -> bool:
    """A write refused for space (SQLITE_FULL) or by the file system (a write or file-size error)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE") or (
        isinstance(exc, sqlite3.OperationalError) and "database or disk is full" in str(exc))


def _is_corruption(exc: Exception) -> bool:
    """Damage, as opposed to a busy database or a programming error."""
    # "database disk image is malformed", "file is not a database", or a message too garbled to decode
    if type(exc) is sqlite3.DatabaseError or isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc) for word in ("malformed", "decode", "corrupt", "not a database")
    )


class ChunkStore(SentenceReads, SqliteFullText):
    """Documents, chunks and sentences of one index, in one SQLite file (a ``rag.store.protocol.Store``)."""

    native_vectors = False  # dense search is the FAISS file the index derives from ``all_vectors``

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_SECONDS)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._db.execute("SELECT count(*) FROM chunks").fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # a garbled error message cannot even decode
            raise _damaged(path, exc) from None
        self._lock = threading.RLock()

    @contextmanager
    def _use(self) -> Iterator[None]:
        """Hold the lock; corruption found only when a page is read becomes ``IndexUnusable`` too."""
        with self._lock:
            try:
                yield
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                if _is_full(exc):
                    raise DiskFull.writing(self.path.parent, _refusal(exc)) from None
                if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                    raise IndexUnusable(f"the index at {self.path.parent} stayed busy for {BUSY_SECONDS:.0f} s "
                                        "(another process is writing it); try again when it has finished") from None
                if not _is_corruption(exc):
                    raise
                raise _damaged(self.path, exc) from None

    def _fetch(self, sql: str, params: tuple) -> list[tuple]:
        with self._use():
            return self._db.execute(sql, params).fetchall()

    # -- manifest -----------------------------------------------------------------

    def manifest(self) -> dict[str, str]:
        with self._use():
            return dict(self._db.execute("SELECT key, value FROM manifest").fetchall())

    def set_manifest(self, values: dict[str, object]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO manifest VALUES (?, ?)",
                [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()],
            )

    def generation(self) -> int:
        return int(self.manifest().get("generation", "0"))

    # -- writing ------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The writer lock (``rag.store.locking``): processes changing one index take turns."""
        with writer_lock(lock_path(self.path)):
            yield

    def try_exclusive(self) -> AbstractContextManager[bool]:
        """The writer lock if no one else holds it (True), else nothing (False): for optional writes."""
        return writer_lock(lock_path(self.path), wait=False)

    def clear(self) -> None:
        """Forget every document in place, in one transaction (``rag ingest --rebuild``).

        The file is never deleted: another process may hold it open, and a new file
        beside its old write-ahead log would be a damaged index. The generation only
        grows, so every reader notices; the translations (keyed by content) stay.
        """
        with self.transaction() as db:
            for table in INDEXED_TABLES:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _statements(SCHEMA):
                db.execute(statement)
            db.execute("DELETE FROM manifest WHERE key != 'generation'")
            self._bump_generation(db)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._use():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back itself after a full disk
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put_document(
        self,
        doc: Document,
        chunks: list[Chunk],
        chunk_vectors: np.ndarray,
        units: list[tuple[int, int, str]],
        multilingual_vectors: np.ndarray | None = None,
    ) -> list[int]:
        """Replace one document and everything derived from it, atomically.

        ``multilingual_vectors`` are one per unit (non-English documents only).
        Returns the row ids of the new chunks (the ids used in the vector index).
        """
        with self.transaction() as db:
            self._delete(db, doc.doc_id)
            db.execute(
                "INSERT INTO documents (doc_id, sha256, title, date, lang, text) VALUES (?, ?, ?, ?, ?, ?)",
                (doc.doc_id, doc.sha256, doc.title, doc.date, doc.lang, doc.text),
            )
            ids = []
            for chunk, vector in zip(chunks, chunk_vectors):
                cur = db.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, start, end, text, text_en, vector, section) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (chunk.chunk_id, chunk.doc_id, chunk.start, chunk.end, chunk.text, chunk.text_en,
                     _blob(vector), chunk.section),
                )
                ids.append(int(cur.lastrowid))
                body = lexical_body(doc.title, chunk.section, chunk.text, chunk.text_en)
                db.execute("INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)", (cur.lastrowid, body))
            ml = multilingual_vectors if multilingual_vectors is not None else [None] * len(units)
            db.executemany(
                "INSERT INTO sentences (doc_id, start, end, kind, vector_ml) VALUES (?, ?, ?, ?, ?)",
                [(doc.doc_id, s, e, kind, None if m is None else np.asarray(m, dtype=np.float16).tobytes())
                 for (s, e, kind), m in zip(units, ml)],
            )
            self._bump_generation(db)
        return ids

    def delete_document(self, doc_id: str) -> list[int]:
        """Remove a document; returns the row ids of the chunks that went with it."""
        with self.transaction() as db:
            ids = self._delete(db, doc_id)
            self._bump_generation(db)
        return ids

    def _delete(self, db: sqlite3.Connection, doc_id: str) -> list[int]:
        ids = [r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
        db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        db.execute("DELETE FROM sentences WHERE doc_id = ?", (doc_id,))
        db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return ids

    @staticmethod
    def _bump_generation(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO manifest VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- translations cache ---------------------------------------------------------

    def cached_translation(self, key: str) -> str | None:
        with self._use():
            row = self._db.execute("SELECT text_en FROM translations WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def cache_translation(self, key: str, text_en: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO translations VALUES (?, ?)", (key, text_en))

    # -- reading ------------------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        with self._use():
            return dict(self._db.execute("SELECT doc_id, sha256 FROM documents").fetchall())

    def documents(self) -> list[dict]:
        """Every document with its chunk count, for listings."""
        with self._use():
            rows = self._db.execute(
                "SELECT d.doc_id, d.title, d.date, d.lang, length(d.text), d.sha256, "
                "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) "
                "FROM documents d ORDER BY d.doc_id"
            ).fetchall()
        keys = ("doc_id", "title", "date", "lang", "chars", "sha256", "chunks")
        return [dict(zip(keys, row)) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        with self._use():
            row = self._db.execute(
                "SELECT doc_id, sha256, title, date, lang, text FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
        return Document(*row) if row else None

    def chunks_by_ids(self, ids: Iterable[int]) -> dict[int, Chunk]:
        ids = list(ids)
        if not ids:
            return {}
        with self._use():
            rows = self._db.execute(
                f"SELECT id, chunk_id, doc_id, start, end, text, text_en, section FROM chunks "
                f"WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        return {r[0]: Chunk(r[1], r[2], r[3], r[4], r[5], r[6], r[7] or "") for r in rows}

    def _vector(self, stored, dim: int) -> np.ndarray:
        return vector_from_blob(stored, dim)

    def all_vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every chunk, for rebuilding the vector index."""
        return self.vectors_at(dim)[1:]

    def vectors_at(self, dim: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(generation, ids, vectors) read in one transaction, so the vectors are exactly that generation's."""
        with self._use():
            self._db.execute("BEGIN")
            try:
                row = self._db.execute("SELECT value FROM manifest WHERE key = 'generation'").fetchone()
                rows = self._db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
            finally:
                self._db.execute("COMMIT")
        generation = int(row[0]) if row else 0
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return generation, ids, np.zeros((0, dim), dtype=np.float32)
        return generation, ids, np.stack([vector_from_blob(r[1], dim) for r in rows])

    def multilingual_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk id, multilingual vector) of every sentence that has one, once per chunk it is in."""
        with self._use():
            rows = self._db.execute(
                "SELECT c.id, s.vector_ml FROM sentences s JOIN chunks c "
                "ON c.doc_id = s.doc_id AND c.start <= s.start AND s.end <= c.end "
                "WHERE s.vector_ml IS NOT NULL ORDER BY c.id"
            ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float16) for r in rows]).astype(np.float32)

    def mentions(self, doc_ids: list[str], terms: list[str]) -> dict[str, int]:
        """How many of ``terms`` (lower case) each document's text contains."""
        if not doc_ids or not terms:
            return {d: 0 for d in doc_ids}
        found = " + ".join("(instr(lower(text), ?) > 0)" for _ in terms)
        with self._lock:
            rows = self._db.execute(
                f"SELECT doc_id, {found} FROM documents WHERE doc_id IN ({','.join('?' * len(doc_ids))})",
                [*terms, *doc_ids],
            ).fetchall()
        return {doc_id: int(count) for doc_id, count in rows}

    def text_span(self, doc_id: str, start: int, end: int) -> str:
        """``document.text[start:end]`` without loading the whole document."""
        with self._lock:
            row = self._db.execute(
                "SELECT substr(text, ? + 1, ? - ?) FROM documents WHERE doc_id = ?", (start, end, start, doc_id)
            ).fetchone()
        return row[0] if row else ""

    def counts(self) -> dict[str, int]:
        with self._use():
            docs = self._db.execute("SELECT count(*) FROM documents").fetchone()[0]
            chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return {"documents": docs, "chunks": chunks}

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file and truncate it."""
        with self._use():
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._use():
            self._db.close()


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script`` one by one (``executescript`` would commit the transaction first)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def set_aside(database: Path) -> Path:
    """Rename a damaged database (its log and shared memory first) to ``NAME.damaged-TIME``; returns the new name.

    Renamed, not deleted: a process that still has it open keeps a valid handle,
    and no later file of the same name can meet the damaged one's log.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for suffix in ("-wal", "-shm", ""):
        source = database.with_name(database.name + suffix)
        if source.exists():
            os.replace(source, database.with_name(f"{database.name}.damaged-{stamp}{suffix}"))
    return database.with_name(f"{database.name}.damaged-{stamp}")


def _blob(vector: np.ndarray) -> bytes:
    """A chunk vector as stored: float16 (half the bytes; cosines move by about 1e-3)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def vector_from_blob(blob: bytes, dim: int) -> np.ndarray:
    """A stored vector as float32, whether written as float16 or (by earlier versions) float32."""
    dtype = np.float16 if len(blob) == 2 * dim else np.float32
    vector = np.frombuffer(blob, dtype=dtype)
    if len(vector) != dim:
        raise ValueError(f"stored vector has {len(vector)} values, expected {dim}")
    return vector.astype(np.float32)
