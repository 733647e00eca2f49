"""Embeddings cached by content hash, so unchanged text is never encoded twice."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder

LOG = logging.getLogger("embeddings.cache")
BUSY_SECONDS = 60.0  # how long a write waits for another process's write to the cache


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A SQLite table of vectors keyed by (model, sha256 of text).

    It is only a cache, shared by every process on a home: a read or write it
    cannot make (a full disk, a damaged page) costs an encoding, never an answer.
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_SECONDS)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, PRIMARY KEY (model, key))"
        )
        self._lock = threading.Lock()
        self._warned = False

    @classmethod
    def open(cls, path: Path) -> "EmbeddingCache":
        """The cache at ``path``. A damaged file is renamed aside for a fresh one (never deleted: another
        process may hold it open); one that cannot be opened for another reason is replaced by a cache in memory."""
        try:
            return cls(path)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if not _is_damage(exc):
                LOG.warning("the embedding cache at %s cannot be opened (%s); encoding without it", path, exc)
                return cls(Path(":memory:"))
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two processes finding it damaged set it aside once
            try:
                return cls(path)  # another process has replaced it meanwhile
            except (sqlite3.DatabaseError, UnicodeDecodeError):
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
                for suffix in ("-wal", "-shm", ""):  # the log first: a new file must never meet the old log
                    source = path.with_name(path.name + suffix)
                    if source.exists():
                        os.replace(source, path.with_name(f"{path.name}.damaged-{stamp}{suffix}"))
                LOG.warning("the embedding cache at %s was damaged; set it aside and started a new one", path)
                return cls(path)

    def _skip(self, exc: sqlite3.Error) -> None:
        """Say once that the cache is not working, and carry on without it."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        if not self._warned:  # damage is worth a line; a full disk or a busy file is said by the index's own write
            self._warned = True
            LOG.log(logging.WARNING if _is_damage(exc) else logging.INFO,
                    "the embedding cache at %s failed (%s); encoding without it", self.path, exc)

    def get_many(self, model: str, keys: list[str], dim: int | None = None) -> dict[str, np.ndarray]:
        """Cached vectors by key; with ``dim`` a float16 blob (2 bytes a value) is told from a float32 one."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    part = keys[i : i + 500]
                    rows = self._db.execute(
                        f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({','.join('?' * len(part))})",
                        [model, *part],
                    ).fetchall()
                    found.update({k: _decode(v, dim) for k, v in rows})
            except (sqlite3.Error, UnicodeDecodeError) as exc:
                self._skip(exc)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                    [(model, k, np.asarray(v, dtype=np.float16).tobytes()) for k, v in items.items()],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._skip(exc)

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file and truncate it."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                self._skip(exc)

    def close(self) -> None:
        self._db.close()


class CachedEncoder:
    """An ``Encoder`` that looks every text up in an ``EmbeddingCache`` first."""

    def __init__(self, encoder: Encoder, cache: EmbeddingCache):
        self.encoder = encoder
        self.cache = cache
        self.name = encoder.name
        self.dim = encoder.dim
        self.encoded = 0  # texts actually run through the model, for tests and progress reports

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        known = self.cache.get_many(self.name, sorted(set(keys)), self.dim)
        missing = {k: t for k, t in zip(keys, texts) if k not in known}
        if missing:
            fresh = self.encoder.encode(list(missing.values()), batch_size=batch_size, progress=progress)
            # as the cache keeps them (float16), so a text gets the same vector fresh or cached
            new = {k: np.asarray(v, dtype=np.float16).astype(np.float32) for k, v in zip(missing.keys(), fresh)}
            self.cache.put_many(self.name, new)
            known.update(new)
            self.encoded += len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)


def _is_damage(exc: Exception) -> bool:
    """"file is not a database", "malformed", or a message too garbled to decode; not a busy or missing file."""
    return type(exc) is sqlite3.DatabaseError or isinstance(exc, UnicodeDecodeError) or any(
        word in str(exc) for word in ("malformed", "not a database", "corrupt"))


def _decode(blob: bytes, dim: int | None) -> np.ndarray:
    """A cached vector: float16 when it has 2 bytes per dimension, float32 (earlier caches) otherwise."""
    if dim is not None and len(blob) == 2 * dim:
        return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    return np.frombuffer(blob, dtype=np.float32)
