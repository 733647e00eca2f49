"""Open the store a path or URL names: the one place that knows both backends.

Kept apart from the protocol, which both backends import, so that neither
backend imports the other and the protocol imports neither.
"""

from __future__ import annotations

from pathlib import Path

from rag.core.errors import StoreUnreachable
from rag.store.postgres import PgStore
from rag.store.protocol import Store, is_url, redact
from rag.store.sqlite import ChunkStore


def open_store(location: str | Path) -> Store:
    """The store at ``location``: a ``postgresql://`` URL, or an SQLite file (or the folder holding chunks.sqlite)."""
    if is_url(location):
        return PgStore(str(location))
    if isinstance(location, str) and "://" in location:
        raise StoreUnreachable(f"unsupported store URL {redact(location)}: use postgresql://USER@HOST:PORT/DB "
                               "or a folder for the embedded SQLite index")
    path = Path(location)
    return ChunkStore(path / "chunks.sqlite" if path.suffix != ".sqlite" else path)
