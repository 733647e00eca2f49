"""The FAISS vector index over chunk vectors, saved atomically.

Vectors are unit length, so inner product is cosine similarity. Below
``APPROXIMATE_FROM`` vectors the index is exact (a flat scan). From there on
it is an inverted file (IVF): k-means cells over the vectors, and a query
scans only the cells nearest to it (``ivf_nprobe`` of them, measured on real vectors).

Why IVF and not HNSW: measured on this project's 2-core machine with a
clustered synthetic set of 1,000,000 384-dim vectors (``python -m bench.vectors``,
numbers in docs/benchmarks.md), IVF builds in minutes where HNSW would need
far longer, reaches recall@10 >= 0.95 against exact search with a p50 of a
few milliseconds, keeps every vector (so ``reconstruct`` works), and can
remove vectors in place (HNSW cannot).
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import faiss
import numpy as np

from rag.core.errors import DiskFull

VECTORS_FILE = "vectors.faiss"  # in the index folder, beside chunks.sqlite
APPROXIMATE_FROM = 200_000  # vectors; below this a flat scan answers in < 20 ms on 2 cores
IVF_PROBE_FACTOR = 3.0  # nprobe = this x sqrt(cells): fits the real-vector curve, see ivf_nprobe
IVF_TRAIN_PER_LIST = 40  # k-means training points per cell (FAISS warns below 39)
IVF_TRAIN_ITERATIONS = 10
HNSW_EF_SEARCH = 128  # for HNSW files written by earlier versions
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
NO_ROOM_WORDS = ("No space left", "quota exceeded", "File too large")  # as FAISS quotes strerror


def ivf_nprobe(nlist: int) -> int:
    """Cells scanned per query in an index of ``nlist`` cells: ``IVF_PROBE_FACTOR`` x sqrt(nlist).

    Measured on real MiniLM vectors of Debian documentation, queried with held-out passages'
    opening words (``python -m bench.vectors --real``, docs/scaling.md): the smallest nprobe with
    recall@10 >= 0.95 was 32 of 150 cells at 6k vectors, 48 of 300 at 12k, 64 of 500 at 20k and 64 of
    512 at 30k, within 3 x sqrt(cells) each time, a falling share. Beyond 512 cells (the 200k+ sizes
    that use IVF) this is an extrapolation of that curve. The earlier fixed 64 was chosen on synthetic vectors.
    """
    return max(1, min(nlist, math.ceil(IVF_PROBE_FACTOR * math.sqrt(nlist))))


def ivf_lists(n: int) -> int:
    """Number of IVF cells for ``n`` vectors: about 4·sqrt(n), a power of two (1M -> 4096)."""
    return int(min(65536, max(64, 2 ** round(math.log2(4 * math.sqrt(max(n, 1)))))))


class VectorIndex:
    """Chunk row ids and their vectors, searchable by cosine similarity."""

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._configure()

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int, approximate_from: int = APPROXIMATE_FROM,
              nprobe: int | None = None) -> "VectorIndex":
        """An exact index for small sets, IVF for large ones (``nprobe`` default: ``ivf_nprobe``)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(ids) >= approximate_from:
            index = cls(dim, _train_ivf(vectors, dim, ivf_lists(len(ids))))
            if nprobe is not None:
                index.nprobe = nprobe
        else:
            index = cls(dim)
        index.add(ids, vectors)
        return index

    def _configure(self) -> None:
        """Settings FAISS does not keep in the file (or that older files lack)."""
        inner = self._inner
        if isinstance(inner, faiss.IndexIVF):
            inner.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
            inner.nprobe = max(inner.nprobe, ivf_nprobe(inner.nlist))  # older files (nprobe 64) get no less
        elif isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = max(inner.hnsw.efSearch, HNSW_EF_SEARCH)

    @property
    def _inner(self) -> faiss.Index:
        """The index that holds the vectors (unwrapping the id map of exact indexes)."""
        index = faiss.downcast_index(self._index)
        if isinstance(index, faiss.IndexIDMap):
            index = faiss.downcast_index(index.index)
        return index

    @property
    def kind(self) -> str:
        """"flat" (exact), "ivf" or "hnsw"."""
        inner = self._inner
        if isinstance(inner, faiss.IndexFlat):
            return "flat"
        if isinstance(inner, faiss.IndexIVF):
            return "ivf"
        return "hnsw"

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def exact(self) -> bool:
        return self.kind == "flat"

    @property
    def nprobe(self) -> int | None:
        inner = self._inner
        return int(inner.nprobe) if isinstance(inner, faiss.IndexIVF) else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        inner = self._inner
        if isinstance(inner, faiss.IndexIVF):
            inner.nprobe = int(max(1, min(value, inner.nlist)))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> bool:
        """Remove vectors; returns False where the index type cannot (the caller rebuilds)."""
        if not ids:
            return True
        if self.kind == "hnsw":
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

    def search_many(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids (-1 where fewer than ``k``) for a batch of queries."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        return self._index.search(queries, k)

    def reconstruct(self, row: int) -> np.ndarray:
        """The stored vector of one id (every index type here keeps them)."""
        return self._index.reconstruct(int(row))

    def save(self, path: Path) -> None:
        """Write a temporary file, fsync it and rename it over ``path``: readers never see half a file.

        The caller holds the index's writer lock, so the one temporary name is never
        written by two processes; a failed write leaves the previous file in place
        and raises ``DiskFull`` when the file system ran out of room.
        """
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.unlink(missing_ok=True)  # left by a process killed while writing
            faiss.write_index(self._index, str(tmp))
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)  # the rename itself survives a power cut
            finally:
                os.close(directory)
        except (OSError, RuntimeError) as exc:
            tmp.unlink(missing_ok=True)
            if getattr(exc, "errno", None) in NO_ROOM or any(word in str(exc) for word in NO_ROOM_WORDS):
                raise DiskFull.writing(path.parent, exc) from None
            raise

    @classmethod
    def load(cls, path: Path, dim: int) -> "VectorIndex":
        index = faiss.read_index(str(path))
        if index.d != dim:
            raise ValueError(f"vector index has dimension {index.d}, expected {dim}")
        return cls(dim, index)


def _train_ivf(vectors: np.ndarray, dim: int, nlist: int) -> faiss.IndexIVFFlat:
    """An empty IVF index whose cells are k-means centroids of a fixed sample of ``vectors``."""
    nlist = min(nlist, max(1, len(vectors) // IVF_TRAIN_PER_LIST))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
    index.cp.seed = 1234
    sample = vectors
    if len(vectors) > nlist * IVF_TRAIN_PER_LIST:
        rows = np.random.default_rng(1234).choice(len(vectors), nlist * IVF_TRAIN_PER_LIST, replace=False)
        sample = vectors[np.sort(rows)]
    index.train(sample)
    index.own_fields = True
    quantizer.this.disown()  # the IVF index owns its quantizer now
    return index
