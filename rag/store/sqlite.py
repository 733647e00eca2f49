"""The chunk store: documents, chunks, sentences and their vectors in SQLite.

SQLite is the source of truth of an index. Each document is written in one
transaction, so a crash leaves every earlier document intact; the FAISS file
is derived from the vectors stored here and is rebuilt when it is missing,
stale or damaged. FTS5 gives BM25 over the original text and its English
rendering.
"""

from __future__ import annotations

import fcntl
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import lang
from rag.store.crosslingual import fixed_sample
from rag.store.lexical import body as lexical_body
from rag.core.records import Chunk, Document

SCHEMA_VERSION = "3"

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


class IndexUnusable(Exception):
    """The index cannot be used as it is; the message says how to recover."""


def _damaged(path: Path, exc: Exception) -> IndexUnusable:
    detail = " ".join(str(exc).split())  # one line, even when SQLite quotes a damaged text
    detail = detail if len(detail) <= 100 else detail[:99] + "…"
    return IndexUnusable(f"the index at {path.parent} is damaged ({detail}); rebuild it with `rag ingest --rebuild`")


def _is_corruption(exc: Exception) -> bool:
    """Damage, as opposed to a busy database or a programming error."""
    # "database disk image is malformed", "file is not a database", or a message too garbled to decode
    if type(exc) is sqlite3.DatabaseError or isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc) for word in ("malformed", "decode", "corrupt", "not a database")
    )


@dataclass(frozen=True)
class StoredSentence:
    doc_id: str
    start: int
    end: int
    text: str
    text_en: str | None
    vector: np.ndarray | None  # English encoder, of text_en or text (filled in by ``Index.sentences_in``)
    vector_ml: np.ndarray | None  # multilingual encoder, of the original text (non-English only)
    kind: str = "sentence"


SAMPLE_BATCH = 900  # ids per query when reading a sample (below SQLite's default limit of 999 parameters)


class SentenceReads:
    """``sentences_in`` and ``sentence_beside`` for both stores: the same SQL but for the offset columns'
    names (``start``/``end`` in SQLite, ``start_at``/``end_at`` in PostgreSQL) and the placeholder."""

    _start, _end, _placeholder = "start", "end", "?"

    def _fetch(self, sql: str, params: tuple) -> list[tuple]:
        raise NotImplementedError

    def _vector(self, stored, dim: int) -> np.ndarray:
        """A chunk vector as the store returns it, decoded."""
        raise NotImplementedError

    def sample_vectors(self, dim: int, size: int, seed: int = 0) -> np.ndarray:
        """Up to ``size`` chunk vectors, a fixed sample of the library: statistics of a large library (its mean
        vector and covariance) without reading every vector."""
        ids = [row[0] for row in self._fetch("SELECT id FROM chunks ORDER BY id", ())]
        ids = [ids[i] for i in fixed_sample(len(ids), size, seed)]
        vectors = []
        for at in range(0, len(ids), SAMPLE_BATCH):
            batch = tuple(ids[at:at + SAMPLE_BATCH])
            marks = ",".join([self._placeholder] * len(batch))
            vectors += [self._vector(row[0], dim) for row in
                        self._fetch(f"SELECT vector FROM chunks WHERE id IN ({marks}) ORDER BY id", batch)]
        return np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[StoredSentence]:
        """The units inside ``[start, end)`` with their text; vectors are left to the caller."""
        s, e, p = self._start, self._end, self._placeholder
        rows = self._fetch(
            f"SELECT s.{s}, s.{e}, s.kind, s.vector_ml, substr(d.text, s.{s} + 1, s.{e} - s.{s}) "
            f"FROM sentences s JOIN documents d USING (doc_id) "
            f"WHERE s.doc_id = {p} AND s.{s} >= {p} AND s.{e} <= {p} ORDER BY s.{s}", (doc_id, start, end))
        return [StoredSentence(doc_id, a, b, text, None, None,
                               None if m is None else np.frombuffer(m, dtype=np.float16).astype(np.float32), kind)
                for a, b, kind, m, text in rows]

    def sentence_beside(self, doc_id: str, position: int, after: bool) -> StoredSentence | None:
        """The sentence that starts first at or after ``position`` (``after``), or ends last before it."""
        s, e, p = self._start, self._end, self._placeholder
        query = (f"SELECT {s}, {e} FROM sentences WHERE doc_id = {p} AND {s} >= {p} ORDER BY {s} LIMIT 1" if after
                 else f"SELECT {s}, {e} FROM sentences WHERE doc_id = {p} AND {e} <= {p} ORDER BY {e} DESC LIMIT 1")
        rows = self._fetch(query, (doc_id, position))
        if not rows:
            return None
        found = self.sentences_in(doc_id, rows[0][0], rows[0][1])
        return found[0] if found else None


class ChunkStore(SentenceReads):
    """Documents, chunks and sentences of one index, in one SQLite file (a ``rag.store.protocol.Store``)."""

    native_vectors = False  # dense search is the FAISS file the index derives from ``all_vectors``

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
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
        """A file lock beside the database: two processes syncing one library take turns."""
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._use():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
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
        with self._use():
            rows = self._db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((0, dim), dtype=np.float32)
        return ids, np.stack([vector_from_blob(r[1], dim) for r in rows])

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

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk row id, BM25 score) best first; the score is positive, higher is better (``rag.store.lexical``)."""
        from rag.store import lexical

        return lexical.search(self, query, limit)

    # -- the full-text index, for ``rag.store.lexical`` (FTS5's own tokens: no query is re-analysed) ------

    def _vocab(self) -> None:
        """fts5vocab views of the full-text index, in this connection's temp schema (nothing is written to the file)."""
        if not getattr(self, "_vocab_ready", False):
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_fts_rows USING fts5vocab(main, 'chunks_fts', 'row')")
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_fts_instances "
                             "USING fts5vocab(main, 'chunks_fts', 'instance')")
            self._vocab_ready = True

    def lexical_totals(self) -> tuple[int, int]:
        """(rows, tokens) from FTS5's own averages record, as its ``bm25()`` reads them."""
        from rag.store.lexical import sqlite_varints

        with self._use():
            row = self._db.execute("SELECT block FROM chunks_fts_data WHERE id = 1").fetchone()
        if row is None or not row[0]:
            return 0, 0
        values = sqlite_varints(row[0])
        return values[0], (values[1] if len(values) > 1 else 0)

    def lexical_frequency(self, terms: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
        terms = list(terms)
        single = [t[0] for t in terms if len(t) == 1]
        with self._use():
            self._vocab()
            found = dict(self._db.execute(
                f"SELECT term, doc FROM temp.chunks_fts_rows WHERE term IN ({','.join('?' * len(single))})", single
            ).fetchall()) if single else {}
            for term in terms:
                if len(term) > 1:
                    found[term] = self._db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                                   (_phrase(term),)).fetchone()[0]
        return {t: int(found.get(t[0] if len(t) == 1 else t, 0)) for t in terms}

    def lexical_rows(self, terms: Iterable[tuple[str, ...]], limit: int) -> list[int]:
        terms = list(terms)
        single = [t[0] for t in terms if len(t) == 1]
        rows: set[int] = set()
        with self._use():
            self._vocab()
            if single:
                rows.update(r[0] for r in self._db.execute(
                    f"SELECT DISTINCT doc FROM temp.chunks_fts_instances WHERE term IN ({','.join('?' * len(single))}) "
                    "ORDER BY doc LIMIT ?", (*single, int(limit))))
            for term in terms:
                if len(term) > 1:
                    rows.update(r[0] for r in self._db.execute(
                        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid LIMIT ?",
                        (_phrase(term), int(limit))))
        return sorted(int(r) for r in rows)[:limit]

    def lexical_positions(self, ids: Iterable[int], tokens: Iterable[str]) -> tuple[dict[int, dict[str, set[int]]], dict[int, int], dict]:
        from rag.store.lexical import sqlite_varints

        ids, tokens = [int(i) for i in ids], list(tokens)
        if not ids:
            return {}, {}, {}
        found: dict[int, dict[str, set[int]]] = {}
        with self._use():
            self._vocab()
            if tokens:  # the vocabulary table walks each term's whole posting list; SQLite drops other rows
                for doc, term, offset in self._db.execute(
                        f"SELECT doc, term, offset FROM temp.chunks_fts_instances WHERE term IN ({','.join('?' * len(tokens))}) "
                        f"AND doc IN ({','.join('?' * len(ids))})", (*tokens, *ids)):
                    found.setdefault(doc, {}).setdefault(term, set()).add(offset)
            sizes = self._db.execute(
                f"SELECT id, sz FROM chunks_fts_docsize WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        return found, {int(i): sqlite_varints(sz)[0] for i, sz in sizes if sz}, {}

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

    # -- corpus statistics (for the answer layer) -------------------------------------

    def term_document_frequency(self, terms: Iterable[str], chunk_ids: Iterable[str] | None = None) -> dict[str, int]:
        """In how many passages each term occurs (only among ``chunk_ids`` if given), as the full-text index matches.

        The FTS5 tokenizer stems (porter), folds case and drops diacritics, so
        "Miners" counts "miner" and "Käufer" counts "kaufer". A term of several
        tokens ("max_workers", "3,000") counts as a phrase.
        """
        within = list(chunk_ids) if chunk_ids is not None else None
        where = "" if within is None else \
            f" AND rowid IN (SELECT id FROM chunks WHERE chunk_id IN ({','.join('?' * len(within))}))"
        counts: dict[str, int] = {}
        with self._use():
            for term in terms:
                tokens = re.findall(r"\w+", term.lower().replace("_", " "))
                if not tokens or within == []:
                    counts[term] = 0
                    continue
                phrase = '"' + " ".join(tokens) + '"'
                row = self._db.execute(f"SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?{where}",
                                       (phrase, *(within or []))).fetchone()
                counts[term] = int(row[0])
        return counts


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


def _phrase(tokens: tuple[str, ...]) -> str:
    """An FTS5 phrase of analysed tokens (Porter stems are their own stems, so matching them again finds the same)."""
    return '"' + " ".join(tokens) + '"'


def fts_terms(text: str) -> list[str]:
    """Distinct content words of ``text`` in a form safe for an FTS5 query."""
    words = re.findall(r"\w+", text.lower())
    stopwords = lang.for_text(text).stopwords
    seen: dict[str, None] = {}
    for word in words:
        if word not in stopwords and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)[:64]
