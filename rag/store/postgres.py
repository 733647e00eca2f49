"""The chunk store in PostgreSQL: pgvector (HNSW, cosine) for dense search, full-text search for words.

Why a database: several ``rag serve`` processes (and ingest jobs) share one
library. Each write is one transaction that also bumps the ``generation``
row; readers compare the generation before each query, so an upload through
one server is found through every other without a restart. Two syncing
processes take turns on an advisory lock (``exclusive``), and row writes
lock the generation row, so concurrent ingestion never interleaves a
document.

The schema is created on first use (``MIGRATIONS``; the applied version is
kept in ``schema_version``). The lexical side stores, per chunk, the tokens
SQLite's FTS5 index would hold (``lex``: Porter-stemmed, case and diacritics
folded, with positions; GIN-indexed), so a question matches the same passages
in either store; PostgreSQL ranks them itself (``rag.store.postgres_fulltext``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from rag.core.errors import StoreUnreachable
from rag.core.records import Chunk, Document
from rag.store.lexical import analyzer, body as lexical_body, overflow, tsvector
from rag.store.postgres_fulltext import PgFullText
from rag.store.protocol import redact
from rag.store.reads import SentenceReads

LOCK_SYNC = 0x7261_6701  # advisory lock ids ("rag" + n): one sync at a time, one migration at a time
LOCK_MIGRATE = 0x7261_6702
HNSW_EF_SEARCH_MAX = 1000  # pgvector's ceiling; larger candidate pools scan exactly
CONNECT_TIMEOUT_S = 5

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, title TEXT, date TEXT, lang TEXT,
    text TEXT NOT NULL, ingested_at TIMESTAMPTZ DEFAULT now()
);
CREATE TABLE chunks (
    id BIGSERIAL PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, text TEXT NOT NULL, text_en TEXT,
    section TEXT NOT NULL DEFAULT '', body_tsv TSVECTOR NOT NULL, vector VECTOR NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id);
CREATE INDEX chunks_tsv ON chunks USING gin(body_tsv);
CREATE TABLE sentences (
    id BIGSERIAL PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, kind TEXT NOT NULL DEFAULT 'sentence',
    vector_ml BYTEA
);
CREATE INDEX sentences_doc ON sentences(doc_id, start_at);
CREATE TABLE translations (key TEXT PRIMARY KEY, text_en TEXT NOT NULL);
INSERT INTO manifest VALUES ('generation', '0');
"""),
    # The lexical side ranks with rag.store.lexical, on the tokens SQLite's FTS5 index holds (``lex``, positions
    # from 1) and each chunk's length in tokens; the per-language tsvector it replaces is dropped.
    (2, """
ALTER TABLE chunks ADD COLUMN lex TSVECTOR, ADD COLUMN lex_len INTEGER, ADD COLUMN lex_many JSONB;
DROP INDEX IF EXISTS chunks_tsv;
ALTER TABLE chunks DROP COLUMN body_tsv;
CREATE INDEX chunks_lex ON chunks USING gin(lex);
"""),
]


class PgStore(SentenceReads, PgFullText):
    """Documents, chunks and sentences of one library in PostgreSQL (a ``rag.store.protocol.Store``)."""

    native_vectors = True
    _start, _end, _placeholder = "start_at", "end_at", "%s"  # for SentenceReads

    def __init__(self, url: str):
        try:
            import psycopg
            from pgvector.psycopg import register_vector
        except ImportError:
            raise StoreUnreachable("a postgresql:// store needs the scale extra: pip install 'cited-rag[scale]' "
                                   "(psycopg, pgvector)") from None
        self.url = url
        self._psycopg = psycopg
        self._lock = threading.RLock()
        self._conn = _connect(url)
        try:
            self._migrate()
            register_vector(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def _fetch(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- schema -------------------------------------------------------------------

    def _migrate(self) -> None:
        """Create the extension and tables on first use; newer migrations apply in order, once."""
        errors = self._psycopg.errors
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_MIGRATE,))
            try:
                with self._conn.transaction():
                    self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except (errors.UndefinedFile, errors.FeatureNotSupported, errors.InsufficientPrivilege) as exc:
                raise StoreUnreachable(
                    f"the database at {redact(self.url)} has no pgvector extension ({_first_line(exc)}): install "
                    "pgvector on the server (e.g. apt-get install postgresql-16-pgvector) or have an admin run "
                    "CREATE EXTENSION vector") from None
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                               "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())")
            applied = {row[0] for row in self._conn.execute("SELECT version FROM schema_version")}
            for version, sql in MIGRATIONS:
                if version not in applied:
                    self._conn.execute(sql)
                    self._conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
            self._fill_lexical()

    def _fill_lexical(self) -> None:
        """Analyse the chunks written before migration 2 (inside the migration's transaction)."""
        rows = self._conn.execute("SELECT c.id, d.title, c.section, c.text, c.text_en FROM chunks c "
                                  "JOIN documents d USING (doc_id) WHERE c.lex IS NULL").fetchall()
        if not rows:
            return
        analysed = analyzer().offsets([lexical_body(*row[1:]) for row in rows])
        with self._conn.cursor() as cur:
            cur.executemany("UPDATE chunks SET lex = %s::tsvector, lex_len = %s, lex_many = %s WHERE id = %s",
                            [(tsvector(found), _length(found), _json(overflow(found)), row[0])
                             for row, found in zip(rows, analysed)])

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT max(version) FROM schema_version").fetchone()[0])

    def _ensure_dim(self, dim: int) -> None:
        """Fix the vector column's dimension and build the HNSW index with the first document (inside its transaction)."""
        row = self._conn.execute("SELECT value FROM manifest WHERE key = 'vector_dim' FOR UPDATE").fetchone()
        if row is not None:
            if int(row[0]) != dim:
                raise ValueError(f"the store holds {row[0]}-dimensional vectors, not {dim}: use another database "
                                 "or rebuild it with `rag ingest --rebuild`")
            return
        self._conn.execute(f"ALTER TABLE chunks ALTER COLUMN vector TYPE vector({int(dim)})")
        self._conn.execute("CREATE INDEX IF NOT EXISTS chunks_hnsw ON chunks USING hnsw (vector vector_cosine_ops)")
        self._conn.execute("INSERT INTO manifest VALUES ('vector_dim', %s)", (str(dim),))

    # -- manifest -----------------------------------------------------------------

    def manifest(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM manifest").fetchall())

    def set_manifest(self, values: dict[str, object]) -> None:
        import json

        with self.transaction() as conn:
            for key, value in values.items():
                conn.execute("INSERT INTO manifest VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             (key, value if isinstance(value, str) else json.dumps(value)))

    def generation(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM manifest WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # -- writing ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator:
        with self._lock, self._conn.transaction():
            yield self._conn

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """A session advisory lock on its own connection: one syncing process at a time, across machines."""
        conn = _connect(self.url)
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_SYNC,))
            yield
        finally:
            conn.close()  # closing the session releases the lock, also after an error

    def put_document(self, doc: Document, chunks: list[Chunk], chunk_vectors: np.ndarray,
                     units: list[tuple[int, int, str]], multilingual_vectors: np.ndarray | None = None) -> list[int]:
        """Replace one document and everything derived from it, in one transaction; the new chunk ids."""
        analysed = analyzer().offsets([lexical_body(doc.title, c.section, c.text, c.text_en) for c in chunks])
        ids: list[int] = []
        with self.transaction() as conn:
            self._bump_generation(conn)  # first: the row lock orders concurrent writers
            if len(chunks):
                self._ensure_dim(int(np.asarray(chunk_vectors).shape[1]))
            conn.execute("DELETE FROM documents WHERE doc_id = %s", (doc.doc_id,))
            conn.execute("INSERT INTO documents (doc_id, sha256, title, date, lang, text) VALUES (%s, %s, %s, %s, %s, %s)",
                         (doc.doc_id, doc.sha256, doc.title, doc.date, doc.lang, doc.text))
            # one statement per table (rows from arrays): a round trip per row made writes server-latency bound
            if chunks:
                many = [overflow(found) for found in analysed]
                rows = conn.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, start_at, end_at, text, text_en, section, lex, lex_len, "
                    "lex_many, vector) SELECT c, %s, s, e, t, te, sec, l::tsvector, ll, lm::jsonb, v::vector "
                    "FROM unnest(%s::text[], %s::int[], %s::int[], %s::text[], %s::text[], %s::text[], %s::text[], "
                    "%s::int[], %s::text[], %s::text[]) WITH ORDINALITY AS u(c, s, e, t, te, sec, l, ll, lm, v, n) "
                    "ORDER BY n RETURNING id, chunk_id",
                    (doc.doc_id, [c.chunk_id for c in chunks], [c.start for c in chunks], [c.end for c in chunks],
                     [c.text for c in chunks], [c.text_en for c in chunks], [c.section for c in chunks],
                     [tsvector(found) for found in analysed], [_length(found) for found in analysed],
                     [None if m is None else json.dumps(m) for m in many],
                     [_vector_text(v) for v in np.asarray(chunk_vectors, dtype=np.float32)[:len(chunks)]])).fetchall()
                by_chunk = {chunk_id: int(row) for row, chunk_id in rows}
                ids = [by_chunk[c.chunk_id] for c in chunks]
            if units:
                ml = multilingual_vectors if multilingual_vectors is not None else [None] * len(units)
                conn.execute(
                    "INSERT INTO sentences (doc_id, start_at, end_at, kind, vector_ml) SELECT %s, s, e, k, m "
                    "FROM unnest(%s::int[], %s::int[], %s::text[], %s::bytea[]) AS u(s, e, k, m)",
                    (doc.doc_id, [u[0] for u in units], [u[1] for u in units], [u[2] for u in units],
                     [None if m is None else np.asarray(m, dtype=np.float16).tobytes() for m in ml]))
        return ids

    def delete_document(self, doc_id: str) -> list[int]:
        with self.transaction() as conn:
            self._bump_generation(conn)
            ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE doc_id = %s", (doc_id,))]
            conn.execute("DELETE FROM documents WHERE doc_id = %s", (doc_id,))  # chunks and sentences cascade
        return ids

    def clear(self) -> None:
        """Forget every document (``rag ingest --rebuild``); the schema and translations stay."""
        with self.transaction() as conn:
            self._bump_generation(conn)
            conn.execute("DELETE FROM documents")
            conn.execute("DELETE FROM manifest WHERE key NOT IN ('generation', 'vector_dim')")

    @staticmethod
    def _bump_generation(conn) -> None:
        conn.execute("UPDATE manifest SET value = (value::bigint + 1)::text WHERE key = 'generation'")

    # -- translations cache ---------------------------------------------------------

    def cached_translation(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT text_en FROM translations WHERE key = %s", (key,)).fetchone()
        return row[0] if row else None

    def cache_translation(self, key: str, text_en: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO translations VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET text_en = excluded.text_en",
                         (key, text_en))

    # -- reading ------------------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT doc_id, sha256 FROM documents").fetchall())

    def documents(self) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT d.doc_id, d.title, d.date, d.lang, length(d.text), d.sha256, "
                "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) FROM documents d ORDER BY d.doc_id COLLATE \"C\""
            ).fetchall()
        keys = ("doc_id", "title", "date", "lang", "chars", "sha256", "chunks")
        return [dict(zip(keys, row)) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            row = self._conn.execute("SELECT doc_id, sha256, title, date, lang, text FROM documents WHERE doc_id = %s",
                                     (doc_id,)).fetchone()
        return Document(*row) if row else None

    def chunks_by_ids(self, ids: Iterable[int]) -> dict[int, Chunk]:
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        with self._lock:
            rows = self._conn.execute("SELECT id, chunk_id, doc_id, start_at, end_at, text, text_en, section "
                                      "FROM chunks WHERE id = ANY(%s)", (ids,)).fetchall()
        return {r[0]: Chunk(r[1], r[2], r[3], r[4], r[5], r[6], r[7] or "") for r in rows}

    def _vector(self, stored, dim: int) -> np.ndarray:
        return _array(stored)

    def all_vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            rows = self._conn.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((0, dim), dtype=np.float32)
        return ids, np.stack([_array(r[1]) for r in rows])

    def vector_search(self) -> "PgVectors":
        return PgVectors(self)

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) best first: HNSW up to ``HNSW_EF_SEARCH_MAX`` candidates, an exact scan beyond."""
        query = np.asarray(vector, dtype=np.float32)
        with self.transaction() as conn:
            if k > HNSW_EF_SEARCH_MAX:
                conn.execute("SET LOCAL enable_indexscan = off")
            else:
                conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, int(k))}")
            rows = conn.execute("SELECT id, 1 - (vector <=> %s) FROM chunks ORDER BY vector <=> %s LIMIT %s",
                                (query, query, int(k))).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def reconstruct(self, row: int) -> np.ndarray:
        with self._lock:
            found = self._conn.execute("SELECT vector FROM chunks WHERE id = %s", (int(row),)).fetchone()
        if found is None:
            raise KeyError(row)
        return _array(found[0])

    def multilingual_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.id, s.vector_ml FROM sentences s JOIN chunks c "
                "ON c.doc_id = s.doc_id AND c.start_at <= s.start_at AND s.end_at <= c.end_at "
                "WHERE s.vector_ml IS NOT NULL ORDER BY c.id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float16) for r in rows]).astype(np.float32)

    def text_span(self, doc_id: str, start: int, end: int) -> str:
        with self._lock:
            row = self._conn.execute("SELECT substr(text, %s + 1, %s - %s) FROM documents WHERE doc_id = %s",
                                     (start, end, start, doc_id)).fetchone()
        return row[0] if row else ""

    def mentions(self, doc_ids: list[str], terms: list[str]) -> dict[str, int]:
        if not doc_ids or not terms:
            return {d: 0 for d in doc_ids}
        found = " + ".join("(strpos(lower(text), %s) > 0)::int" for _ in terms)
        with self._lock:
            rows = self._conn.execute(f"SELECT doc_id, {found} FROM documents WHERE doc_id = ANY(%s)",
                                      (*terms, list(doc_ids))).fetchall()
        return {doc_id: int(count) for doc_id, count in rows}

    def counts(self) -> dict[str, int]:
        with self._lock:
            docs = self._conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            chunks = self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return {"documents": int(docs), "chunks": int(chunks)}

    def size_bytes(self) -> int:
        """Bytes on disk of this project's tables and their indexes."""
        with self._lock:
            row = self._conn.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' AND c.relname = ANY(%s)",
                (["manifest", "documents", "chunks", "sentences", "translations", "schema_version"],)).fetchone()
        return int(row[0] or 0)

    def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL's write-ahead log is the server's business."""

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PgVectors:
    """The store's HNSW index seen as a ``rag.store.protocol.VectorSearch`` (what retrieval calls ``index.vectors()``)."""

    kind = "hnsw"

    def __init__(self, store: PgStore):
        self._store = store

    @property
    def size(self) -> int:
        return self._store.counts()["chunks"]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self._store.dense_search(vector, k)

    def reconstruct(self, row: int) -> np.ndarray:
        return self._store.reconstruct(row)


def _json(value):
    from psycopg.types.json import Jsonb

    return None if value is None else Jsonb(value)


def _vector_text(vector: np.ndarray) -> str:
    """pgvector's text form; float32's shortest repr, so the stored value is the same float32."""
    return "[" + ",".join(map(repr, vector.tolist())) + "]"


def _length(found: dict[str, list[int]]) -> int:
    """A chunk's length in tokens, as FTS5 counts it."""
    return sum(len(offsets) for offsets in found.values())


def _array(value) -> np.ndarray:
    """pgvector's ``Vector`` (or a plain sequence) as float32."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def _connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise StoreUnreachable(
            f"cannot reach the PostgreSQL store at {redact(url)} ({_first_line(exc)}): start the server or fix "
            "--store / RAG_STORE (postgresql://USER:PASSWORD@HOST:PORT/DATABASE), or unset it for the embedded index"
        ) from None
    except psycopg.ProgrammingError as exc:  # a URL psycopg cannot parse
        raise StoreUnreachable(f"bad store URL {redact(url)} ({_first_line(exc)}): "
                               "use postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines and lines[0].startswith("connection failed") and len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
    return text if len(text) <= 160 else text[:159] + "…"
