"""The chunk store in PostgreSQL: pgvector (HNSW, cosine) for dense search, full-text search for words.

Why a database: several ``rag serve`` processes (and ingest jobs) share one
library. Each write is one transaction that also bumps the ``generation``
row; readers compare the generation before each query, so an upload through
one server is found through every other without a restart. Two syncing
processes take turns on an advisory lock (``exclusive``), and row writes
lock the generation row, so concurrent ingestion never interleaves a
document.

The schema is created on first use (``MIGRATIONS``; the applied version is
kept in ``schema_version``). The lexical side indexes each chunk with the
text-search configuration of its document's language (english, dutch,
german, french, spanish, else simple) and queries all of them at once, so a
question matches stemmed forms in every language the library holds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from rag.records import Chunk, Document
from rag.storage import StoreUnreachable, redact
from rag.store import StoredSentence, fts_terms

TEXT_SEARCH_CONFIGS = {"en": "english", "nl": "dutch", "de": "german", "fr": "french", "es": "spanish"}
QUERY_CONFIGS = ("english", "dutch", "german", "french", "spanish", "simple")
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
]


def text_search_config(lang: str | None) -> str:
    return TEXT_SEARCH_CONFIGS.get(lang or "", "simple")


class PgStore:
    """Documents, chunks and sentences of one library in PostgreSQL (a ``rag.storage.Store``)."""

    native_vectors = True

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
        config = text_search_config(doc.lang)
        ids: list[int] = []
        with self.transaction() as conn:
            self._bump_generation(conn)  # first: the row lock orders concurrent writers
            if len(chunks):
                self._ensure_dim(int(np.asarray(chunk_vectors).shape[1]))
            conn.execute("DELETE FROM documents WHERE doc_id = %s", (doc.doc_id,))
            conn.execute("INSERT INTO documents (doc_id, sha256, title, date, lang, text) VALUES (%s, %s, %s, %s, %s, %s)",
                         (doc.doc_id, doc.sha256, doc.title, doc.date, doc.lang, doc.text))
            with conn.cursor() as cur:
                for chunk, vector in zip(chunks, chunk_vectors):
                    body = "\n".join(part for part in (doc.title, chunk.section, chunk.text, chunk.text_en) if part)
                    cur.execute(
                        "INSERT INTO chunks (chunk_id, doc_id, start_at, end_at, text, text_en, section, body_tsv, vector) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, to_tsvector(%s::regconfig, %s), %s) RETURNING id",
                        (chunk.chunk_id, chunk.doc_id, chunk.start, chunk.end, chunk.text, chunk.text_en,
                         chunk.section, config, body, np.asarray(vector, dtype=np.float32)))
                    ids.append(int(cur.fetchone()[0]))
                ml = multilingual_vectors if multilingual_vectors is not None else [None] * len(units)
                cur.executemany(
                    "INSERT INTO sentences (doc_id, start_at, end_at, kind, vector_ml) VALUES (%s, %s, %s, %s, %s)",
                    [(doc.doc_id, s, e, kind, None if m is None else np.asarray(m, dtype=np.float16).tobytes())
                     for (s, e, kind), m in zip(units, ml)])
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

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[StoredSentence]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT s.start_at, s.end_at, s.kind, s.vector_ml, substr(d.text, s.start_at + 1, s.end_at - s.start_at) "
                "FROM sentences s JOIN documents d USING (doc_id) "
                "WHERE s.doc_id = %s AND s.start_at >= %s AND s.end_at <= %s ORDER BY s.start_at",
                (doc_id, start, end)).fetchall()
        return [StoredSentence(doc_id, s, e, text, None, None,
                               None if m is None else np.frombuffer(m, dtype=np.float16).astype(np.float32), kind)
                for s, e, kind, m, text in rows]

    def sentence_beside(self, doc_id: str, position: int, after: bool) -> StoredSentence | None:
        query = ("SELECT start_at, end_at FROM sentences WHERE doc_id = %s AND start_at >= %s ORDER BY start_at LIMIT 1"
                 if after else
                 "SELECT start_at, end_at FROM sentences WHERE doc_id = %s AND end_at <= %s ORDER BY end_at DESC LIMIT 1")
        with self._lock:
            row = self._conn.execute(query, (doc_id, position)).fetchone()
        if row is None:
            return None
        found = self.sentences_in(doc_id, row[0], row[1])
        return found[0] if found else None

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

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, ts_rank_cd) best first; any query word, stemmed by every language's configuration."""
        terms = fts_terms(query)
        if not terms:
            return []
        expression = " | ".join(f"'{t}'" for t in terms)  # \w+ words: no quote or operator inside
        tsquery = " || ".join(f"to_tsquery('{config}', %(q)s)" for config in QUERY_CONFIGS)
        with self._lock:
            rows = self._conn.execute(
                f"WITH q AS (SELECT {tsquery} AS query) "
                "SELECT id, ts_rank_cd(body_tsv, q.query) AS rank FROM chunks, q WHERE body_tsv @@ q.query "
                "ORDER BY rank DESC, id LIMIT %(limit)s", {"q": expression, "limit": int(limit)}).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    def term_document_frequency(self, terms: Iterable[str], chunk_ids: Iterable[str] | None = None) -> dict[str, int]:
        """In how many passages each term (a phrase if it has several words) occurs, stemmed as indexed."""
        within = list(chunk_ids) if chunk_ids is not None else None
        tsquery = " || ".join(f"phraseto_tsquery('{config}', %(p)s)" for config in QUERY_CONFIGS)
        where = "" if within is None else " AND chunk_id = ANY(%(within)s)"
        counts: dict[str, int] = {}
        with self._lock:
            for term in terms:
                tokens = re.findall(r"\w+", term.lower().replace("_", " "))
                if not tokens or within == []:
                    counts[term] = 0
                    continue
                row = self._conn.execute(f"SELECT count(*) FROM chunks WHERE body_tsv @@ ({tsquery}){where}",
                                         {"p": " ".join(tokens), "within": within}).fetchone()
                counts[term] = int(row[0])
        return counts

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
    """The store's HNSW index seen as a ``rag.storage.VectorSearch`` (what retrieval calls ``index.vectors()``)."""

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
