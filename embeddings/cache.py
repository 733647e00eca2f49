"""Embeddings cached by content hash, so unchanged text is never encoded twice."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A SQLite table of vectors keyed by (model, sha256 of text)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, PRIMARY KEY (model, key))"
        )
        self._lock = threading.Lock()

    def get_many(self, model: str, keys: list[str], dim: int | None = None) -> dict[str, np.ndarray]:
        """Cached vectors by key; with ``dim`` a float16 blob (2 bytes a value) is told from a float32 one."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                rows = self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({','.join('?' * len(part))})",
                    [model, *part],
                ).fetchall()
                found.update({k: _decode(v, dim) for k, v in rows})
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                [(model, k, np.asarray(v, dtype=np.float16).tobytes()) for k, v in items.items()],
            )
            self._db.execute("COMMIT")

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file and truncate it."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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


def _decode(blob: bytes, dim: int | None) -> np.ndarray:
    """A cached vector: float16 when it has 2 bytes per dimension, float32 (earlier caches) otherwise."""
    if dim is not None and len(blob) == 2 * dim:
        return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    return np.frombuffer(blob, dtype=np.float32)
