"""What the index needs from a store (``rag.store.open`` opens one from a path or a URL).

Two stores implement it: ``rag.store.sqlite.ChunkStore`` (SQLite, one file, the
embedded default; dense search is the FAISS file ``rag.retrieval.index`` derives from
it) and ``rag.store.postgres.PgStore`` (PostgreSQL: pgvector HNSW for dense search,
built-in full-text search for the lexical side, shared by several servers).
The index and retrieval code talk only to this protocol, so a served library
can move from a laptop to a database without other changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.core.records import Chunk, Document

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@runtime_checkable
class VectorSearch(Protocol):
    """Dense search over chunk vectors: the part of ``rag.store.vectors.VectorIndex`` retrieval uses."""

    @property
    def size(self) -> int: ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def reconstruct(self, row: int) -> np.ndarray: ...


@runtime_checkable
class Store(Protocol):
    """Documents, chunks, sentences and vectors of one library's index.

    Every write is one transaction and bumps ``generation``: a reader that
    sees the same generation sees the same index, so caches keyed by it stay
    right even when another process wrote.
    """

    # True when the store answers dense queries itself (``vector_search``); False when the
    # index builds a FAISS file from ``all_vectors``.
    native_vectors: bool

    def manifest(self) -> dict[str, str]: ...
    def set_manifest(self, values: dict[str, object]) -> None: ...
    def generation(self) -> int: ...

    def put_document(self, doc: Document, chunks: list[Chunk], chunk_vectors: np.ndarray,
                     units: list[tuple[int, int, str]], multilingual_vectors: np.ndarray | None = None) -> list[int]: ...
    def delete_document(self, doc_id: str) -> list[int]: ...
    def exclusive(self) -> AbstractContextManager[None]:
        """Held while one process syncs the library, so two ingesting processes never interleave."""
        ...

    def document_hashes(self) -> dict[str, str]: ...
    def documents(self) -> list[dict]: ...
    def document(self, doc_id: str) -> Document | None: ...
    def chunks_by_ids(self, ids: Iterable[int]) -> dict[int, Chunk]: ...
    def all_vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]: ...
    def sample_vectors(self, dim: int, size: int, seed: int = 0) -> np.ndarray: ...
    def multilingual_vectors(self) -> tuple[np.ndarray, np.ndarray]: ...
    def sentences_in(self, doc_id: str, start: int, end: int) -> list: ...
    def sentence_beside(self, doc_id: str, position: int, after: bool): ...
    def text_span(self, doc_id: str, start: int, end: int) -> str: ...
    def mentions(self, doc_ids: list[str], terms: list[str]) -> dict[str, int]: ...
    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]: ...
    def term_document_frequency(self, terms: Iterable[str], chunk_ids: Iterable[str] | None = None) -> dict[str, int]: ...
    def counts(self) -> dict[str, int]: ...
    def cached_translation(self, key: str) -> str | None: ...
    def cache_translation(self, key: str, text_en: str) -> None: ...

    def checkpoint(self) -> None: ...
    def close(self) -> None: ...


def is_url(location: str | Path | None) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
