"""The FAISS vector index over chunk vectors, saved atomically.

Vectors are unit length, so inner product is cosine similarity. Small
corpora use exact search; past ``APPROXIMATE_FROM`` vectors an HNSW graph
keeps search fast while staying close to exact recall.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

APPROXIMATE_FROM = 200_000  # vectors; below this exact search is fast enough (< 20 ms)
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


class VectorIndex:
    """Chunk row ids and their vectors, searchable by cosine similarity."""

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int, approximate_from: int = APPROXIMATE_FROM) -> "VectorIndex":
        """An exact index for small sets, HNSW for large ones."""
        if len(ids) >= approximate_from:
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            index = cls(dim, faiss.IndexIDMap2(hnsw))
        else:
            index = cls(dim)
        index.add(ids, vectors)
        return index

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def exact(self) -> bool:
        return isinstance(faiss.downcast_index(self._index.index), faiss.IndexFlat)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> bool:
        """Remove vectors; returns False where the index type cannot (the caller rebuilds)."""
        if not ids:
            return True
        if not self.exact:
            return False
        self._index.remove_ids(np.asarray(ids, dtype=np.int64))
        return True

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(id, cosine) of the ``k`` nearest vectors, best first."""
        if self.size == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(query, min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def reconstruct(self, row: int) -> np.ndarray:
        """The stored vector of one id (exact indexes keep them; HNSW too via IndexIDMap2)."""
        return self._index.reconstruct(int(row))

    def save(self, path: Path) -> None:
        """Write to a temporary file and rename it over ``path``: readers never see half a file."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int) -> "VectorIndex":
        index = faiss.read_index(str(path))
        if index.d != dim:
            raise ValueError(f"vector index has dimension {index.d}, expected {dim}")
        return cls(dim, index)
