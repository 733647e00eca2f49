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

Connections come from a pool (``rag.store.postgres_pool``): serving threads read
side by side, a database restart costs the requests it meets one line each
(``DatabaseUnavailable``) and the store reconnects by itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext

import numpy as np

from rag.core.errors import StoreUnreachable
from rag.core.records import Chunk, Document
from rag.store.lexical import analyzer, body as lexical_body, overflow, tsvector
from rag.store.postgres_fulltext import PgFullText
from rag.store.postgres_pool import Pool, PooledReads, connect, first_line, split_url
from rag.store.protocol import redact
from rag.store.reads import SentenceReads

LOCK_SYNC = 0x7261_6701  # advisory lock ids ("rag" + n): one sync at a time, one migration at a time
LOCK_MIGRATE = 0x7261_6702
HNSW_EF_SEARCH_MAX = 1000  # pgvector's ceiling; larger candidate pools scan exactly
HNSW_EF_SEARCH = 150  # smallest with recall@10 >= 0.95 on 100k real vectors (0.958; 100 gave 0.942): bench.vectors --real

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
    # Each lexeme's document frequency, kept by statement triggers on every write path (put, delete,
    # cascades, COPY), so a search reads a question's idf from here instead of counting GIN matches.
    (3, """
CREATE TABLE lexeme_df (lexeme TEXT PRIMARY KEY, df INTEGER NOT NULL);
INSERT INTO lexeme_df SELECT lexeme, count(*) FROM chunks, unnest(tsvector_to_array(lex)) AS lexeme GROUP BY lexeme;
CREATE FUNCTION lexeme_df_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE lexeme_df d SET df = d.df - o.n FROM (SELECT lexeme, count(*) AS n FROM old_rows,
            unnest(tsvector_to_array(lex)) AS lexeme GROUP BY lexeme) o WHERE d.lexeme = o.lexeme;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO lexeme_df SELECT lexeme, count(*) FROM new_rows, unnest(tsvector_to_array(lex)) AS lexeme
            GROUP BY lexeme ORDER BY lexeme ON CONFLICT (lexeme) DO UPDATE SET df = lexeme_df.df + excluded.df;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER chunks_df_insert AFTER INSERT ON chunks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lexeme_df_count();
CREATE TRIGGER chunks_df_delete AFTER DELETE ON chunks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lexeme_df_count();
CREATE TRIGGER chunks_df_update AFTER UPDATE ON chunks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lexeme_df_count();
"""),
]


class PgStore(SentenceReads, PgFullText):
    """Documents, chunks and sentences of one library in PostgreSQL (a ``rag.store.protocol.Store``)."""

    native_vectors = True
    _start, _end, _placeholder = "start_at", "end_at", "%s"  # for SentenceReads

    def __init__(self, url: str):
        try:
            import psycopg
            import psycopg_pool  # noqa: F401 - checked here, used by rag.store.postgres_pool
            from pgvector.psycopg import register_vector
        except ImportError:
            raise StoreUnreachable("a postgresql:// store needs the scale extra: pip install 'cited-rag[scale]' "
                                   "(psycopg, psycopg-pool, pgvector)") from None
        self.url = url
        self._psycopg = psycopg
        libpq_url, options = split_url(url)
        with connect(libpq_url) as conn:  # its own connection: a clear error if the server is not there
            self._migrate(conn)
        self._pool = Pool(libpq_url, options, register_vector)
        # PgFullText reads through ``self._conn`` under ``self._lock``: each of those reads is now a pooled,
        # bounded, retried read of its own, so readers need no lock between them.
        self._conn = PooledReads(self._pool)
        self._lock = nullcontext()

    def _fetch(self, sql: str, params: tuple) -> list[tuple]:
        return self._pool.run(lambda conn: conn.execute(sql, params).fetchall())

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        rows = self._fetch(sql, params)
        return rows[0] if rows else None

    # -- schema -------------------------------------------------------------------

    def _migrate(self, conn) -> None:
        """Create the extension and tables on first use; newer migrations apply in order, once."""
        errors = self._psycopg.errors
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_MIGRATE,))
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except (errors.UndefinedFile, errors.FeatureNotSupported, errors.InsufficientPrivilege) as exc:
                raise StoreUnreachable(
                    f"the database at {redact(self.url)} has no pgvector extension ({first_line(exc)}): install "
                    "pgvector on the server (e.g. apt-get install postgresql-16-pgvector) or have an admin run "
                    "CREATE EXTENSION vector") from None
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                         "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())")
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            for version, sql in MIGRATIONS:
                if version not in applied:
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
            self._fill_lexical(conn)

    @staticmethod
    def _fill_lexical(conn) -> None:
        """Analyse the chunks written before migration 2 (inside the migration's transaction)."""
        rows = conn.execute("SELECT c.id, d.title, c.section, c.text, c.text_en FROM chunks c "
                            "JOIN documents d USING (doc_id) WHERE c.lex IS NULL").fetchall()
        if not rows:
            return
        analysed = analyzer().offsets([lexical_body(*row[1:]) for row in rows])
        with conn.cursor() as cur:
            cur.executemany("UPDATE chunks SET lex = %s::tsvector, lex_len = %s, lex_many = %s WHERE id = %s",
                            [(tsvector(found), _length(found), _json(overflow(found)), row[0])
                             for row, found in zip(rows, analysed)])

    @property
    def schema_version(self) -> int:
        return int(self._one("SELECT max(version) FROM schema_version")[0])

    @staticmethod
    def _ensure_dim(conn, dim: int) -> None:
        """Fix the vector column's dimension and build the HNSW index with the first document (inside its transaction)."""
        row = conn.execute("SELECT value FROM manifest WHERE key = 'vector_dim' FOR UPDATE").fetchone()
        if row is not None:
            if int(row[0]) != dim:
                raise ValueError(f"the store holds {row[0]}-dimensional vectors, not {dim}: use another database "
                                 "or rebuild it with `rag ingest --rebuild`")
            return
        conn.execute(f"ALTER TABLE chunks ALTER COLUMN vector TYPE vector({int(dim)})")
        conn.execute("CREATE INDEX IF NOT EXISTS chunks_hnsw ON chunks USING hnsw (vector vector_cosine_ops)")
        conn.execute("INSERT INTO manifest VALUES ('vector_dim', %s)", (str(dim),))

    # -- manifest -----------------------------------------------------------------

    def manifest(self) -> dict[str, str]:
        return dict(self._fetch("SELECT key, value FROM manifest", ()))

    def set_manifest(self, values: dict[str, object]) -> None:
        with self.transaction() as conn:
            for key, value in values.items():
                conn.execute("INSERT INTO manifest VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             (key, value if isinstance(value, str) else json.dumps(value)))

    def generation(self) -> int:
        row = self._one("SELECT value FROM manifest WHERE key = 'generation'")
        return int(row[0]) if row else 0

    # -- writing ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator:
        with self._pool.transaction() as conn:
            yield conn

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """A session advisory lock on its own connection: one syncing process at a time, across machines."""
        conn = connect(self._pool.url)
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
                self._ensure_dim(conn, int(np.asarray(chunk_vectors).shape[1]))
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
        row = self._one("SELECT text_en FROM translations WHERE key = %s", (key,))
        return row[0] if row else None

    def cache_translation(self, key: str, text_en: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO translations VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET text_en = excluded.text_en",
                         (key, text_en))

    # -- reading ------------------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        return dict(self._fetch("SELECT doc_id, sha256 FROM documents", ()))

    def documents(self) -> list[dict]:
        rows = self._fetch(
            "SELECT d.doc_id, d.title, d.date, d.lang, length(d.text), d.sha256, "
            "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) FROM documents d ORDER BY d.doc_id COLLATE \"C\"",
            ())
        keys = ("doc_id", "title", "date", "lang", "chars", "sha256", "chunks")
        return [dict(zip(keys, row)) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self._one("SELECT doc_id, sha256, title, date, lang, text FROM documents WHERE doc_id = %s", (doc_id,))
        return Document(*row) if row else None

    def chunks_by_ids(self, ids: Iterable[int]) -> dict[int, Chunk]:
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        rows = self._fetch("SELECT id, chunk_id, doc_id, start_at, end_at, text, text_en, section "
                           "FROM chunks WHERE id = ANY(%s)", (ids,))
        return {r[0]: Chunk(r[1], r[2], r[3], r[4], r[5], r[6], r[7] or "") for r in rows}

    def _vector(self, stored, dim: int) -> np.ndarray:
        return _array(stored)

    def all_vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._bulk("SELECT id, vector FROM chunks ORDER BY id")
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((0, dim), dtype=np.float32)
        return ids, np.stack([_array(r[1]) for r in rows])

    def vector_search(self) -> "PgVectors":
        return PgVectors(self)

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) best first: HNSW up to ``HNSW_EF_SEARCH_MAX`` candidates, an exact scan beyond."""
        query = np.asarray(vector, dtype=np.float32)

        def search(conn) -> list[tuple]:
            with conn.transaction():
                if k > HNSW_EF_SEARCH_MAX:
                    conn.execute("SET LOCAL enable_indexscan = off")
                else:
                    conn.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, int(k))}")
                return conn.execute("SELECT id, 1 - (vector <=> %s) FROM chunks ORDER BY vector <=> %s LIMIT %s",
                                    (query, query, int(k))).fetchall()

        rows = self._pool.run(search)
        return [(int(r[0]), float(r[1])) for r in rows]

    def reconstruct(self, row: int) -> np.ndarray:
        found = self._one("SELECT vector FROM chunks WHERE id = %s", (int(row),))
        if found is None:
            raise KeyError(row)
        return _array(found[0])

    def multilingual_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self._bulk("SELECT c.id, s.vector_ml FROM sentences s JOIN chunks c "
                          "ON c.doc_id = s.doc_id AND c.start_at <= s.start_at AND s.end_at <= c.end_at "
                          "WHERE s.vector_ml IS NOT NULL ORDER BY c.id")
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float16) for r in rows]).astype(np.float32)

    def text_span(self, doc_id: str, start: int, end: int) -> str:
        row = self._one("SELECT substr(text, %s + 1, %s - %s) FROM documents WHERE doc_id = %s",
                        (start, end, start, doc_id))
        return row[0] if row else ""

    def mentions(self, doc_ids: list[str], terms: list[str]) -> dict[str, int]:
        if not doc_ids or not terms:
            return {d: 0 for d in doc_ids}
        found = " + ".join("(strpos(lower(text), %s) > 0)::int" for _ in terms)
        rows = self._fetch(f"SELECT doc_id, {found} FROM documents WHERE doc_id = ANY(%s)", (*terms, list(doc_ids)))
        return {doc_id: int(count) for doc_id, count in rows}

    def counts(self) -> dict[str, int]:
        docs, chunks = self._one("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)")
        return {"documents": int(docs), "chunks": int(chunks)}

    def size_bytes(self) -> int:
        """Bytes on disk of this project's tables and their indexes."""
        row = self._one(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' AND c.relname = ANY(%s)",
            (["manifest", "documents", "chunks", "sentences", "translations", "schema_version"],))
        return int(row[0] or 0)

    def checkpoint(self) -> None:
        """Nothing to fold: PostgreSQL's write-ahead log is the server's business."""

    def _bulk(self, sql: str) -> list[tuple]:
        """A whole-table read (loaded once per generation), free of the question path's statement timeout."""
        return self._pool.run(lambda conn: conn.execute(sql).fetchall(), bounded=False)

    def close(self) -> None:
        self._pool.close()


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
